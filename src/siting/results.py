"""From a solver's answer to a plan a planner can check: sites, services, coverage, cost.

Coverage is recomputed here from the original (unaggregated) coverage matrices and the open
outlets alone, independently of the model, and compared with the solver's objective; the
summary reports both. Outlets that add no coverage (possible when several optimal plans
exist) are removed, so money is never spent for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from siting.model import SitingModel, SitingProblem
from siting.solvers.base import SolveResult, Status, relative_gap

VERIFY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ServiceOutcome:
    """Coverage of one service before and after the plan, in its target segment's residents."""

    key: str
    name: str
    segment: str
    walk_minutes: float
    total_population: float
    covered_before: float
    covered_after: float
    new_outlets: int

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

    @property
    def cost(self) -> float:
        """Fixed plus fit-out cost at this site."""
        return self.fixed_cost + self.fit_out_cost


@dataclass(frozen=True)
class SitingResult:
    """The plan and its proof, as immutable values.

    Attributes
    ----------
    status
        How the solve ended (:class:`~siting.solvers.Status`).
    objective
        Weighted residents newly covered by the plan, recomputed from the plan itself.
    bound
        Best proven upper bound on the objective from the solver.
    solver_objective
        The objective the solver reported, for verification.
    opened
        (m, K) True where service k opens at site j.
    covered
        (n, K) True where demand i is covered after the plan (existing outlets included).
    services
        Per-service outcome.
    selected
        Sites used, in site order.
    solver, solver_message, solver_runtime_s
        Backend detail.
    mip_gap_tolerance
        The relative gap the solver was allowed to stop at.
    model_stats
        Model sizes after reductions.
    """

    status: Status
    objective: float | None
    bound: float | None
    solver_objective: float | None
    opened: NDArray[np.bool_]
    covered: NDArray[np.bool_]
    services: tuple[ServiceOutcome, ...]
    selected: tuple[SelectedSite, ...]
    budget: float | None
    solver: str
    solver_message: str
    solver_runtime_s: float
    mip_gap_tolerance: float
    model_stats: dict[str, int] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap between ``bound`` and ``objective``."""
        return relative_gap(self.objective, self.bound)

    @property
    def total_cost(self) -> float:
        """Money the plan spends: fixed plus fit-out costs."""
        return float(sum(s.cost for s in self.selected))

    @property
    def verified(self) -> bool:
        """True if the recomputed objective matches the solver's (or there is no plan)."""
        if self.solver_objective is None or self.objective is None:
            return True
        scale = max(1.0, abs(self.solver_objective))
        return self.objective >= self.solver_objective - VERIFY_TOLERANCE * scale

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` fields (without timings and scenario name)."""
        return {
            "status": str(self.status),
            "proven_optimal": self.status is Status.OPTIMAL and (self.gap or 0.0) <= 1e-9,
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
                    "new_outlets": s.new_outlets,
                }
                for s in self.services
            },
            "selected": [
                {
                    "site_id": s.site_id,
                    "services": list(s.services),
                    "cost": _round(s.cost),
                    "fixed_cost": _round(s.fixed_cost),
                    "fit_out_cost": _round(s.fit_out_cost),
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


def covered_by_plan(problem: SitingProblem, opened: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(n, K) coverage after opening ``opened``, from the original coverage matrices.

    Demand i is covered for k if an existing outlet covers it or any open site reaches it.
    """
    covered = problem.served_before.copy()
    for k, reach in enumerate(problem.coverage):
        sites = np.flatnonzero(opened[:, k])
        if sites.size:
            covered[:, k] |= reach[:, sites].sum(axis=1) > 0
    return covered


def plan_value(problem: SitingProblem, opened: NDArray[np.bool_]) -> float:
    """Weighted residents newly covered: ``sum_k priority_k * w[i, k]`` over newly covered i."""
    newly = covered_by_plan(problem, opened) & ~problem.served_before
    priority = np.array([s.priority for s in problem.services])
    return float(((problem.weights * newly).sum(axis=0) * priority).sum())


def plan_cost(problem: SitingProblem, opened: NDArray[np.bool_]) -> float:
    """Fixed cost of every used site plus fit-out cost of every open outlet."""
    used = opened.any(axis=1)
    return float(problem.site_fixed_cost[used].sum() + problem.fit_out_cost[opened].sum())


def prune_redundant(problem: SitingProblem, opened: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Close open outlets that cover no one another outlet does not, most expensive first.

    The plan's coverage is unchanged and its cost can only fall; minimum counts per service
    are respected. Work is proportional to the coverage entries of the open outlets.
    """
    opened = opened.copy()
    costs = problem.outlet_costs()
    for k, service in enumerate(problem.services):
        by_site = problem.coverage[k].tocsc()
        count = problem.coverage[k] @ opened[:, k].astype(np.int64)
        gains = problem.weights[:, k] * ~problem.served_before[:, k]
        for j in sorted(np.flatnonzero(opened[:, k]), key=lambda j: -costs[j, k]):
            if opened[:, k].sum() <= service.min_new:
                break
            rows = by_site.indices[by_site.indptr[j] : by_site.indptr[j + 1]]
            if not (gains[rows][count[rows] == 1] > 0).any():
                opened[j, k] = False
                count[rows] -= 1
    return opened


def result_from_solve(
    model: SitingModel, solved: SolveResult, *, mip_gap_tolerance: float = 0.0
) -> SitingResult:
    """Decode, prune and independently verify a backend's answer."""
    problem = model.problem
    K = len(problem.services)
    if solved.values is None:
        opened = np.zeros((problem.num_sites, K), dtype=bool)
    else:
        opened = prune_redundant(problem, model.open_matrix(solved.values))
    covered = covered_by_plan(problem, opened)
    objective = plan_value(problem, opened) if solved.status.has_solution else None
    bound = solved.bound
    if bound is None and solved.status.has_solution:
        bound = model.coverage_bound  # the solver proved nothing tighter before it stopped
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
                covered_before=float(w[problem.served_before[:, k]].sum()),
                covered_after=float(w[covered[:, k]].sum()),
                new_outlets=int(opened[:, k].sum()),
            )
        )
    selected = tuple(
        SelectedSite(
            index=int(j),
            site_id=str(problem.site_ids[j]),
            services=tuple(problem.services[k].key for k in np.flatnonzero(opened[j])),
            fixed_cost=float(problem.site_fixed_cost[j]),
            fit_out_cost=float(problem.fit_out_cost[j, opened[j]].sum()),
        )
        for j in np.flatnonzero(opened.any(axis=1))
    )
    return SitingResult(
        status=solved.status,
        objective=objective,
        bound=bound,
        solver_objective=solved.objective,
        opened=opened,
        covered=covered,
        services=tuple(outcomes),
        selected=selected,
        budget=problem.budget,
        solver=solved.solver,
        solver_message=solved.message,
        solver_runtime_s=solved.runtime_s,
        mip_gap_tolerance=mip_gap_tolerance,
        model_stats=dict(model.stats),
    )


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)
