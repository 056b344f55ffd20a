r"""LP first: interior-point relaxation, LP-guided incumbent, reduced-cost fixing, then MIP.

Maximal covering LPs are often integral or nearly so, and HiGHS's branch-and-cut spends most of
its time on a degenerate simplex root. :func:`solve_lp_first` instead

1. solves the LP relaxation with the interior-point method and crossover (several times faster
   than dual simplex on these models);
2. stops with a proof when the LP optimum is integral in the outlet and site columns;
3. otherwise builds an incumbent: greedy improved by iterated local search
   (:mod:`siting.localsearch`), then the MIP restricted to the columns in the LP's support plus
   that plan's, warm-started and time-boxed, then polished by swap local search;
4. fixes columns by reduced cost. For any row multipliers :math:`\pi` of the right signs,
   weak duality gives :math:`z(v) \le U(\pi) = \sum_r \pi_r b_r + \sum_j \max(0, d_j)` with
   :math:`d = c - A^\top\pi`, and forcing column *j* against the sign of :math:`d_j` lowers the
   bound by :math:`|d_j|`. Any column whose forced bound falls below the incumbent (by at
   least one unit when the objective is integral) keeps its value in every better plan. The
   multipliers are HiGHS's row duals, clipped to valid signs, so the bound and the fixings are
   rigorous whatever the solver's tolerances;
5. solves the reduced MIP with HiGHS, warm-started with the incumbent, for the time left. Its
   bound is valid for the full model once combined with the incumbent:
   :math:`z^* \le \max(B_\text{reduced}, z_\text{inc})`.

The result is a :class:`~siting.solvers.SolveResult` for the model passed in, with the status,
objective, bound and a ``message`` that records each stage.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import SolverCapabilityError
from siting.solvers.base import SolveOptions, Solver, SolveResult, Status
from siting.solvers.highs import highs_with

if TYPE_CHECKING:
    from siting.model import MilpArrays, SitingModel
    from siting.problem import SitingProblem

INTEGRAL_TOL = 1e-6


def _highs(milp: MilpArrays, *, integer: bool, options: dict[str, Any]) -> Any:
    """HiGHS holding ``milp`` (its LP relaxation unless ``integer``), with option settings."""
    return highs_with(milp, SolveOptions(time_limit_s=None), relax=not integer, settings=options)


def dual_bound(
    milp: MilpArrays, row_duals: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """Weak-duality bound ``U(pi)`` and reduced costs ``d`` from any row multipliers.

    Both sign conventions of ``row_duals`` are tried; each is clipped to valid signs (>= 0 on
    rows with only an upper bound, <= 0 on rows with only a lower bound) and the smaller bound
    is returned, so the result is valid for any input.
    """
    best: tuple[float, NDArray[np.float64]] | None = None
    upper_only = np.isfinite(milp.row_upper) & ~np.isfinite(milp.row_lower)
    lower_only = np.isfinite(milp.row_lower) & ~np.isfinite(milp.row_upper)
    for sign in (1.0, -1.0):
        pi = sign * row_duals
        pi = np.where(upper_only, np.maximum(pi, 0.0), pi)
        pi = np.where(lower_only, np.minimum(pi, 0.0), pi)
        both_infinite = ~np.isfinite(milp.row_upper) & ~np.isfinite(milp.row_lower)
        pi = np.where(both_infinite, 0.0, pi)
        rhs = np.where(pi >= 0, milp.row_upper, milp.row_lower)
        rhs = np.where(pi == 0, 0.0, rhs)
        d = milp.c - np.asarray(sparse.csr_array(milp.A).T @ pi)
        # columns in [l, u]: max over the box of d_j v_j
        box = np.where(d > 0, d * milp.col_upper, d * milp.col_lower)
        bound = float(pi @ rhs + box.sum())
        if best is None or bound < best[0]:
            best = (bound, d)
    assert best is not None
    return best


def solve_lp_first(
    model: SitingModel,
    options: SolveOptions | None = None,
    *,
    lp_share: float = 0.5,
    ils_share: float = 0.15,
) -> SolveResult:
    """Solve ``model`` exactly by the LP-first pipeline (see module docstring).

    The LP stage may use ``lp_share`` of the time limit; if it does not finish, plain HiGHS
    branch-and-cut (greedy warm start) gets the rest, so the result is never worse than the
    greedy plan. When the LP is fractional, iterated local search gets ``ils_share`` of the
    limit (at most 10 s) to improve the greedy incumbent before the restricted MIP.
    """
    from siting.localsearch import greedy_plan, iterated_local_search, local_search
    from siting.presolve import _drop_columns, reducible
    from siting.solvers import solve_model

    options = options or SolveOptions()
    started = time.perf_counter()
    limit = np.inf if options.time_limit_s is None else float(options.time_limit_s)

    def left() -> float:
        return limit - (time.perf_counter() - started)

    milp = model.milp
    n_int = model.num_x + model.num_z
    stages: list[str] = []
    common: dict[str, Any] = {"random_seed": int(options.seed)}
    if options.threads is not None:
        common["threads"] = int(options.threads)

    lp = _highs(
        milp,
        integer=False,
        options={**common, "solver": "ipm", "time_limit": float(max(lp_share * left(), 1.0))},
    )
    lp.run()
    lp_status = lp.getModelStatus().name
    stages.append(f"LP {lp_status} {time.perf_counter() - started:.2f}s")
    if lp_status != "kOptimal":
        return _fallback(model, options, left(), stages, started)
    solution = lp.getSolution()
    v = np.asarray(solution.col_value, dtype=np.float64)
    bound, d = dual_bound(milp, np.asarray(solution.row_dual, dtype=np.float64))
    integral_objective = bool(np.all(milp.c == np.round(milp.c)))

    frac = (v[:n_int] > INTEGRAL_TOL) & (v[:n_int] < 1 - INTEGRAL_TOL)
    if not frac.any():
        opened = model.open_matrix(v)
        values = model.values_from_open(opened)
        objective = float(milp.c @ values)
        if objective >= bound - 1e-6 * max(1.0, abs(bound)) or (
            integral_objective and objective > bound - 1 + 1e-6
        ):
            stages.append("LP integral")
            return SolveResult(
                Status.OPTIMAL,
                values,
                objective,
                max(objective, bound),
                "lpfirst",
                time.perf_counter() - started,
                "; ".join(stages),
            )

    if not reducible(model):  # staged, circle, shares, targets: no column restriction
        return _fallback(model, options, left(), stages, started)
    # Incumbent: greedy and iterated local search, the MIP restricted to the LP support, then
    # local search again.
    plan = greedy_plan(model)
    if plan is None:  # greedy cannot meet the minimum counts: let branch-and-cut find a plan
        return _fallback(model, options, left(), stages, started)
    if ils_share > 0 and left() > 2.0:
        searched = iterated_local_search(
            model, plan, time_limit_s=min(10.0, ils_share * limit, 0.5 * left()), seed=options.seed
        )
        if searched.objective > model.objective_of(plan):
            plan = searched.opened
        stages.append(f"ILS {searched.objective:.0f} ({searched.restarts} rounds)")
    keep = v[: model.num_x] > INTEGRAL_TOL
    keep |= plan[model.x_site, model.x_service]
    restricted = _drop_columns(model, keep)
    incumbent = plan
    inc_value = model.objective_of(plan)
    if left() > 1.0:
        sub = solve_model(
            restricted,
            options=SolveOptions(
                time_limit_s=min(max(1.0, 0.25 * left()), 60.0),
                warm_start=plan,
                heuristic_warm_start=False,
                threads=options.threads,
                seed=options.seed,
            ),
        )
        if sub.values is not None:
            candidate = restricted.open_matrix(sub.values)
            value = model.objective_of(candidate)
            if value > inc_value:
                incumbent, inc_value = candidate, value
        stages.append(f"restricted MIP ({restricted.num_x} cols) {sub.status} {inc_value:.0f}")
    if left() > 0.5:
        polished = local_search(model, incumbent, time_limit_s=min(5.0, 0.1 * left()))
        if polished.objective > inc_value:
            incumbent, inc_value = polished.opened, polished.objective
            stages.append(f"local search {inc_value:.0f}")

    # Reduced-cost fixing against the incumbent.
    threshold = inc_value + (1.0 - 1e-6 if integral_objective else 1e-9 * max(1.0, inc_value))
    forced = bound - np.abs(d[:n_int])
    fix = forced < threshold
    at_one = d[:n_int] > 0
    fix_zero = fix & ~at_one
    fix_one = fix & at_one
    stages.append(
        f"bound {bound:.0f}, fixed {int(fix_zero.sum())} to 0 and {int(fix_one.sum())} to 1 "
        f"of {n_int}"
    )
    if bound < threshold:  # the incumbent is optimal
        values = model.values_from_open(incumbent)
        return SolveResult(
            Status.OPTIMAL,
            values,
            inc_value,
            max(inc_value, bound),
            "lpfirst",
            time.perf_counter() - started,
            "; ".join(stages),
        )
    keep_x = ~fix_zero[: model.num_x]
    reduced = _drop_columns(model, keep_x)
    # Fix-to-one outlet columns: raise their lower bounds in the reduced model.
    ones = fix_one[: model.num_x] & keep_x
    if ones.any():
        position = np.cumsum(keep_x) - 1
        col_lower = reduced.milp.col_lower.copy()
        col_lower[position[ones]] = 1.0
        reduced = replace(reduced, milp=replace(reduced.milp, col_lower=col_lower))
    if left() <= 0.5:
        values = model.values_from_open(incumbent)
        return SolveResult(
            Status.TIME_LIMIT,
            values,
            inc_value,
            bound,
            "lpfirst",
            time.perf_counter() - started,
            "; ".join(stages),
        )
    final = solve_model(
        reduced,
        options=SolveOptions(
            time_limit_s=left(),
            mip_gap=options.mip_gap,
            warm_start=incumbent,
            heuristic_warm_start=False,
            threads=options.threads,
            seed=options.seed,
        ),
    )
    stages.append(f"reduced MIP ({reduced.num_x} cols) {final.status}")
    if final.values is not None:
        candidate = reduced.open_matrix(final.values)
        value = model.objective_of(candidate)
        if value > inc_value:
            incumbent, inc_value = candidate, value
    reduced_bound = final.bound if final.bound is not None else bound
    full_bound = min(bound, max(reduced_bound, inc_value))
    proven = final.status is Status.OPTIMAL or full_bound <= inc_value + 1e-9 * max(1, inc_value)
    status = Status.OPTIMAL if proven else Status.TIME_LIMIT
    if proven:
        full_bound = max(inc_value, min(full_bound, bound))
    return SolveResult(
        status,
        model.values_from_open(incumbent),
        inc_value,
        full_bound,
        "lpfirst",
        time.perf_counter() - started,
        "; ".join(stages),
    )


def _fallback(
    model: SitingModel, options: SolveOptions, left: float, stages: list[str], started: float
) -> SolveResult:
    """Plain HiGHS branch-and-cut when the LP stage did not finish."""
    from siting.localsearch import greedy_plan
    from siting.solvers import solve_model

    start = options.warm_start if options.warm_start is not None else greedy_plan(model)
    result = solve_model(
        model, options=replace(options, time_limit_s=max(left, 1.0), warm_start=start)
    )
    stages.append(f"fallback MIP {result.status}")
    return replace(
        result,
        solver="lpfirst",
        runtime_s=time.perf_counter() - started,
        message="; ".join(stages),
    )


class LpFirstSolver(Solver):
    """Backend ``lpfirst``: exact presolve (:mod:`siting.presolve`), then :func:`solve_lp_first`.

    Values are returned for the model it is given (the plan is mapped back), so it plugs into
    :func:`siting.pipeline.solve` like any backend. Questions the reductions do not cover
    (stages, circle, shares, targets) go to plain HiGHS after the LP stage.
    """

    name: ClassVar[str] = "lpfirst"
    required_modules: ClassVar[tuple[str, ...]] = ("highspy",)

    def check(self, problem: SitingProblem) -> None:
        """LP-first is built for weighted-coverage questions (p-MCLP and its budgeted kin)."""
        from siting.localsearch import supports_greedy

        if not supports_greedy(problem):
            msg = (
                "solver 'lpfirst' answers max_coverage questions with budgets, capacities and "
                "counts only; this scenario uses targets, equity, the complete circle, "
                'community minimums or stages: use solver = "highs" (or cbc, ortools)'
            )
            raise SolverCapabilityError(msg)

    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """Presolve, LP first, map the plan back to ``model``'s columns."""
        from siting.presolve import presolve_model

        reduced = presolve_model(model)
        result = solve_lp_first(reduced, options)
        if result.values is None or reduced is model:
            return result
        values = model.values_from_open(reduced.open_matrix(result.values))
        return replace(
            result, values=values, objective=float(model.milp.c @ values), solver=self.name
        )


__all__ = ["LpFirstSolver", "dual_bound", "solve_lp_first"]
