"""From a solver's answer to a plan a planner can check: sites, services, coverage, cost.

Every figure here is recomputed from the open outlets and the original (unaggregated) coverage
alone, independently of the model, and the objective of each stage is compared with what the
solver reported; the summary shows both. Outlets that add nothing (possible when several
optimal plans exist) are removed, so money is never spent for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from siting.model import ObjectiveSpec, SitingModel
from siting.problem import FULL_CREDIT, MUST, SitingProblem
from siting.solvers.base import SolveResult, Status, relative_gap

VERIFY_TOLERANCE = 1e-6
STATUS_ORDER = (
    Status.OPTIMAL,
    Status.FEASIBLE,
    Status.TIME_LIMIT,
    Status.NO_SOLUTION,
    Status.INFEASIBLE,
    Status.ERROR,
)


@dataclass(frozen=True)
class ServiceOutcome:
    """Coverage of one service before and after the plan, in its target segment's residents.

    With distance decay, ``covered_*`` count credited residents (a resident 70 % credited
    counts 0.7) and ``fully_covered_after`` those within the full-credit threshold.
    """

    key: str
    name: str
    segment: str
    walk_minutes: float
    total_population: float
    covered_before: float
    covered_after: float
    fully_covered_after: float
    new_outlets: int
    target_share: float | None = None

    @property
    def coverage_pct_before(self) -> float:
        """Share of the segment covered by existing outlets, in percent."""
        return _pct(self.covered_before, self.total_population)

    @property
    def coverage_pct(self) -> float:
        """Share of the segment covered after the plan, in percent."""
        return _pct(self.covered_after, self.total_population)

    @property
    def gained(self) -> float:
        """Residents of the segment who gain coverage."""
        return self.covered_after - self.covered_before


@dataclass(frozen=True)
class SelectedSite:
    """A site the plan uses, the services it opens there and what that costs."""

    index: int
    site_id: str
    services: tuple[str, ...]
    fixed_cost: float
    fit_out_cost: float
    kind: str = "property"

    @property
    def cost(self) -> float:
        """Fixed plus fit-out cost at this site."""
        return self.fixed_cost + self.fit_out_cost


@dataclass(frozen=True)
class StageOutcome:
    """One objective of a staged question, in natural units (cost in money, shares 0-1)."""

    name: str
    status: Status
    objective: float | None
    bound: float | None
    solver_objective: float | None

    @property
    def gap(self) -> float | None:
        """Relative gap between bound and objective."""
        if self.objective is None or self.bound is None:
            return None
        if self.name == "cost":
            return relative_gap(-self.objective, -self.bound)
        return relative_gap(self.objective, self.bound)


@dataclass(frozen=True)
class Measures:
    """Everything a plan achieves, recomputed from the plan itself.

    Attributes
    ----------
    credit
        (n, K) credit in [0, 1] of each demand point for each service after the plan.
    covered
        (n, K) full-credit coverage after the plan (existing outlets included).
    circle_before, circle_after
        (n,) True where the point reaches every bundle service at full credit.
    """

    credit: NDArray[np.float64]
    covered: NDArray[np.bool_]
    circle_before: NDArray[np.bool_]
    circle_after: NDArray[np.bool_]


def measure_plan(problem: SitingProblem, opened: NDArray[np.bool_]) -> Measures:
    """Credit, coverage and complete circle of a plan, from the original coverage matrices.

    Demand i gets the best credit for k among the existing outlets and the open outlets of k
    that reach it.
    """
    credit = problem.credit_before.copy()
    for k, reach in enumerate(problem.coverage):
        sites = np.flatnonzero(opened[:, k])
        if sites.size:
            best = reach[:, sites].max(axis=1).toarray().ravel()
            credit[:, k] = np.maximum(credit[:, k], best)
    covered = credit >= FULL_CREDIT
    bundle = list(problem.circle)
    return Measures(
        credit=credit,
        covered=covered,
        circle_before=np.asarray(problem.served_before[:, bundle].all(axis=1)),
        circle_after=np.asarray(covered[:, bundle].all(axis=1)),
    )


def covered_by_plan(problem: SitingProblem, opened: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(n, K) full-credit coverage after opening ``opened`` (existing outlets included)."""
    return measure_plan(problem, opened).covered


def plan_cost(problem: SitingProblem, opened: NDArray[np.bool_]) -> float:
    """Fixed cost of every used site (and every must-use site) plus every outlet's fit-out."""
    used = opened.any(axis=1) | (problem.site_decision == MUST)
    return float(problem.site_fixed_cost[used].sum() + problem.fit_out_cost[opened].sum())


def community_shares(problem: SitingProblem, credit: NDArray[np.float64]) -> NDArray[np.float64]:
    """(communities, K) covered share of each community's segment residents (NaN if none)."""
    if problem.equity is None:
        return np.empty((0, len(problem.services)))
    groups, C = problem.equity.groups, len(problem.equity.names)
    inside = groups >= 0
    covered = np.stack(
        [
            np.bincount(groups[inside], weights=(problem.weights * credit)[inside, k], minlength=C)
            for k in range(len(problem.services))
        ],
        axis=1,
    )
    total = np.stack(
        [
            np.bincount(groups[inside], weights=problem.weights[inside, k], minlength=C)
            for k in range(len(problem.services))
        ],
        axis=1,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, covered / total, np.nan)


def stage_value(problem: SitingProblem, spec: ObjectiveSpec, opened: NDArray[np.bool_]) -> float:
    """A stage's objective for a plan (maximised form: cost enters negatively)."""
    measures = measure_plan(problem, opened)
    gained = (measures.credit - problem.credit_before) * problem.weights
    value = float((gained.sum(axis=0) * np.asarray(spec.service_weights)).sum())
    if spec.circle_weight:
        newly = measures.circle_after & ~measures.circle_before
        value += spec.circle_weight * float(problem.population[newly].sum())
    if spec.cost_weight:
        value += spec.cost_weight * plan_cost(problem, opened)
    if spec.share_weight:
        shares = community_shares(problem, measures.credit)
        if problem.equity is not None and problem.equity.services:
            relevant = shares[:, list(problem.equity.services)]
            relevant = relevant[np.isfinite(relevant)]
            value += spec.share_weight * (float(relevant.min()) if relevant.size else 1.0)
    return value


def plan_value(problem: SitingProblem, opened: NDArray[np.bool_]) -> float:
    """Weighted residents newly credited: ``sum_k priority_k * w[i, k] * credit gain``."""
    weights = tuple(float(p) for p in problem.priorities)
    return stage_value(problem, ObjectiveSpec(weights), opened)


def prune_redundant(problem: SitingProblem, opened: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Close outlets that add no credit to anyone, most expensive first.

    An outlet is closed when every resident it reaches (who counts for its service or for the
    complete circle) gets at least as much credit from another open outlet. Coverage, complete
    circle and community shares are unchanged and the cost can only fall; minimum counts per
    service are respected, and nothing is closed when communities have outlet minimums.
    """
    if problem.min_new_per_group > 0:
        return opened
    opened = opened.copy()
    costs = problem.outlet_costs()
    circle_matters = problem.circle_weight > 0 or problem.mode == "complete_circle"
    for k, service in enumerate(problem.services):
        reach = problem.coverage[k]
        by_site = reach.tocsc()
        relevant = problem.weights[:, k] > 0
        if circle_matters and k in problem.circle:
            relevant |= problem.population > 0
        relevant &= problem.credit_before[:, k] < FULL_CREDIT
        for j in sorted(np.flatnonzero(opened[:, k]), key=lambda j: -costs[j, k]):
            if opened[:, k].sum() <= service.min_new:
                break
            span = slice(by_site.indptr[j], by_site.indptr[j + 1])
            rows, mine = by_site.indices[span], by_site.data[span]
            rows, mine = rows[relevant[rows]], mine[relevant[rows]]
            others = np.flatnonzero(opened[:, k])
            others = others[others != j]
            best = np.zeros(rows.size)
            if rows.size and others.size:
                best = reach[rows][:, others].max(axis=1).toarray().ravel()
            best = np.maximum(best, problem.credit_before[rows, k])
            if (mine <= best + 1e-12).all():
                opened[j, k] = False
    return opened


@dataclass(frozen=True)
class SitingResult:
    """The plan and its proof, as immutable values.

    Attributes
    ----------
    status
        How the solve ended; for staged questions, the weakest stage's status.
    objective
        The first stage's objective recomputed from the plan, in natural units: weighted
        residents newly covered, money (``min_cost``), residents gaining the complete circle
        or the worst community share (0-1).
    objective_name
        ``"coverage"``, ``"cost"``, ``"circle"``, ``"min_share"`` or ``"stage 1"``.
    bound
        The solver's best proven bound on that objective (an upper bound; a lower bound for
        cost).
    stages
        Every stage's outcome, in order.
    opened
        (m, K) True where service k opens at site j.
    covered, credit
        (n, K) full coverage and credit after the plan (existing outlets included).
    circle_before, circle_after
        (n,) complete circle before and after.
    services
        Per-service outcome.
    selected
        Sites used, in site order.
    """

    status: Status
    objective: float | None
    objective_name: str
    bound: float | None
    stages: tuple[StageOutcome, ...]
    opened: NDArray[np.bool_]
    covered: NDArray[np.bool_]
    credit: NDArray[np.float64]
    circle_before: NDArray[np.bool_]
    circle_after: NDArray[np.bool_]
    services: tuple[ServiceOutcome, ...]
    selected: tuple[SelectedSite, ...]
    problem: SitingProblem
    budget: float | None
    solver: str
    solver_message: str
    solver_runtime_s: float
    mip_gap_tolerance: float
    model_stats: dict[str, int] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap between ``bound`` and ``objective`` of the first stage."""
        return self.stages[0].gap if self.stages else None

    @property
    def solver_objective(self) -> float | None:
        """The first stage's objective as the solver reported it (natural units)."""
        return self.stages[0].solver_objective if self.stages else None

    @property
    def total_cost(self) -> float:
        """Money the plan spends: fixed plus fit-out costs."""
        return float(sum(s.cost for s in self.selected))

    @property
    def verified(self) -> bool:
        """True if every stage's recomputed objective matches the solver's (or has no plan)."""
        for stage in self.stages:
            if stage.solver_objective is None or stage.objective is None:
                continue
            scale = max(1.0, abs(stage.solver_objective))
            better = (
                stage.objective <= stage.solver_objective
                if stage.name == "cost"
                else (stage.objective >= stage.solver_objective)
            )
            if (
                not better
                and abs(stage.objective - stage.solver_objective) > VERIFY_TOLERANCE * scale
            ):
                return False
        return True

    @property
    def circle_population(self) -> tuple[float, float, float]:
        """Residents with the complete circle: (before, after, total)."""
        population = self.problem.population
        return (
            float(population[self.circle_before].sum()),
            float(population[self.circle_after].sum()),
            float(population.sum()),
        )

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` fields (without timings and scenario name)."""
        before, after, total = self.circle_population
        problem = self.problem
        summary: dict[str, Any] = {
            "status": str(self.status),
            "proven_optimal": self.status is Status.OPTIMAL and (self.gap or 0.0) <= 1e-9,
            "mode": problem.mode,
            "objective_name": self.objective_name,
            "objective": _round(self.objective),
            "bound": _round(self.bound),
            "gap": _round(self.gap, 9),
            "mip_gap_tolerance": self.mip_gap_tolerance,
            "solver": self.solver,
            "solver_status": self.solver_message,
            "solver_runtime_s": round(self.solver_runtime_s, 4),
            "total_cost": _round(self.total_cost),
            "budget": self.budget,
            "cost_breakdown": {
                "fixed": _round(sum(s.fixed_cost for s in self.selected)),
                "fit_out": _round(sum(s.fit_out_cost for s in self.selected)),
            },
            "sites_used": len(self.selected),
            "new_outlets": int(self.opened.sum()),
            "services": {
                s.key: {
                    "name": s.name,
                    "segment": s.segment,
                    "walk_minutes": s.walk_minutes,
                    "covered_population": _round(s.covered_after),
                    "total_population": _round(s.total_population),
                    "coverage_pct": round(s.coverage_pct, 4),
                    "covered_population_before": _round(s.covered_before),
                    "coverage_pct_before": round(s.coverage_pct_before, 4),
                    "gained_population": _round(s.gained),
                    "fully_covered_population": _round(s.fully_covered_after),
                    "new_outlets": s.new_outlets,
                    "target_pct": None if s.target_share is None else 100 * s.target_share,
                }
                for s in self.services
            },
            "complete_circle": {
                "services": [problem.services[k].key for k in problem.circle],
                "population_before": _round(before),
                "population_after": _round(after),
                "total_population": _round(total),
                "pct_before": round(_pct(before, total), 4),
                "pct_after": round(_pct(after, total), 4),
            },
            "stages": [
                {
                    "name": stage.name,
                    "status": str(stage.status),
                    "objective": _round(stage.objective),
                    "bound": _round(stage.bound),
                    "gap": _round(stage.gap, 9),
                }
                for stage in self.stages
            ],
            "selected": [
                {
                    "site_id": s.site_id,
                    "services": list(s.services),
                    "cost": _round(s.cost),
                    "fixed_cost": _round(s.fixed_cost),
                    "fit_out_cost": _round(s.fit_out_cost),
                    "kind": s.kind,
                }
                for s in self.selected
            ],
            "verification": {
                "objective_recomputed": _round(self.objective),
                "objective_solver": _round(self.solver_objective),
                "ok": self.verified,
            },
            "model": dict(self.model_stats),
        }
        if problem.equity is not None:
            summary["communities"] = self.community_table()
        return summary

    def community_table(self) -> dict[str, dict[str, dict[str, float | None]]]:
        """Per community and service: coverage share before and after, in percent."""
        problem = self.problem
        if problem.equity is None:
            return {}
        before = community_shares(problem, problem.credit_before)
        after = community_shares(problem, self.credit)
        return {
            name: {
                service.key: {
                    "pct_before": _pct_or_none(before[c, k]),
                    "pct_after": _pct_or_none(after[c, k]),
                }
                for k, service in enumerate(problem.services)
            }
            for c, name in enumerate(problem.equity.names)
        }


def result_from_stages(
    model: SitingModel, solved: list[SolveResult], *, mip_gap_tolerance: float = 0.0
) -> SitingResult:
    """Decode, prune and independently verify the answers of a staged solve."""
    problem = model.problem
    K = len(problem.services)
    final = next((s for s in reversed(solved) if s.values is not None), None)
    if final is None or final.values is None:
        opened = np.zeros((problem.num_sites, K), dtype=bool)
    else:
        opened = prune_redundant(problem, model.open_matrix(final.values))
    has_plan = final is not None
    stages = []
    for number, spec in enumerate(model.stages):
        answer = solved[number] if number < len(solved) else None
        sign = -1.0 if spec.name == "cost" else 1.0
        value = stage_value(problem, spec, opened) if has_plan else None
        bound = answer.bound if answer is not None else None
        if (
            answer is not None
            and bound is None
            and answer.status.has_solution
            and spec.name != "cost"
        ):
            bound = float(np.maximum(model.objective_vector(spec), 0.0).sum())
        stages.append(
            StageOutcome(
                name=spec.name,
                status=answer.status if answer is not None else Status.NO_SOLUTION,
                objective=None if value is None else sign * value,
                bound=None if bound is None else sign * bound,
                solver_objective=(
                    None if answer is None or answer.objective is None else sign * answer.objective
                ),
            )
        )
    status = max((s.status for s in stages), key=STATUS_ORDER.index)
    if not has_plan:
        status = solved[-1].status if solved else Status.NO_SOLUTION
    measures = measure_plan(problem, opened)
    outcomes = []
    for k, service in enumerate(problem.services):
        w = problem.weights[:, k]
        outcomes.append(
            ServiceOutcome(
                key=service.key,
                name=service.label,
                segment=service.segment,
                walk_minutes=service.walk_minutes,
                total_population=float(w.sum()),
                covered_before=float((w * problem.credit_before[:, k]).sum()),
                covered_after=float((w * measures.credit[:, k]).sum()),
                fully_covered_after=float(w[measures.covered[:, k]].sum()),
                new_outlets=int(opened[:, k].sum()),
                target_share=None
                if not np.isfinite(problem.targets[k])
                else float(problem.targets[k]),
            )
        )
    used = opened.any(axis=1) | (problem.site_decision == MUST)
    selected = tuple(
        SelectedSite(
            index=int(j),
            site_id=str(problem.site_ids[j]),
            services=tuple(problem.services[k].key for k in np.flatnonzero(opened[j])),
            fixed_cost=float(problem.site_fixed_cost[j]),
            fit_out_cost=float(problem.fit_out_cost[j, opened[j]].sum()),
            kind=str(problem.site_kind[j]) if len(problem.site_kind) else "property",
        )
        for j in np.flatnonzero(used)
    )
    last = solved[-1] if solved else None
    return SitingResult(
        status=status,
        objective=stages[0].objective if stages else None,
        objective_name=model.stages[0].name,
        bound=stages[0].bound if stages else None,
        stages=tuple(stages),
        opened=opened,
        covered=measures.covered,
        credit=measures.credit,
        circle_before=measures.circle_before,
        circle_after=measures.circle_after,
        services=tuple(outcomes),
        selected=selected,
        problem=problem,
        budget=problem.budget,
        solver=last.solver if last else "",
        solver_message="; ".join(s.message for s in solved),
        solver_runtime_s=float(sum(s.runtime_s for s in solved)),
        mip_gap_tolerance=mip_gap_tolerance,
        model_stats=dict(model.stats),
    )


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def _pct_or_none(share: float) -> float | None:
    return None if not np.isfinite(share) else round(100.0 * float(share), 4)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)
