r"""LP first: the LP relaxation, LP-guided incumbent, reduced-cost fixing, then MIP.

Maximal covering LPs are often integral or nearly so, and HiGHS's branch-and-cut spends most of
its time on a degenerate simplex root. :func:`solve_lp_first` instead

1. solves the LP relaxation (:func:`siting.bounds.lp_bound`: the interior-point method with
   crossover on dense p-MCLP models, several times faster than dual simplex there; row
   generation from the greedy plan on large sparse multi-service models, where the full LP
   does not finish), while an iterated search from the greedy plan uses another core;
2. stops with a proof when the LP optimum is integral in the outlet and site columns;
3. otherwise builds an incumbent: the better of greedy and that search's plan, improved by
   iterated local search (:mod:`siting.localsearch`), then the MIP restricted to the columns
   in the LP's support plus that plan's, warm-started and time-boxed, then polished by swap
   local search;
4. fixes columns by reduced cost. For any row multipliers :math:`\pi` of the right signs,
   weak duality gives :math:`z(v) \le U(\pi) = \sum_r \pi_r b_r + \sum_j \max(0, d_j)` with
   :math:`d = c - A^\top\pi`, and forcing column *j* against the sign of :math:`d_j` lowers the
   bound by :math:`|d_j|`. Any column whose forced bound falls below the incumbent (by at
   least one unit when the objective is integral) keeps its value in every better plan. The
   multipliers are the LP's row duals (:func:`siting.bounds.dual_bound`), clipped to valid
   signs, so the bound and the fixings are rigorous whatever the solver's tolerances;
5. solves the reduced MIP with HiGHS, warm-started with the incumbent, for the time left,
   while an iterated search improves the incumbent on another core (a proof stops it). Its
   bound is valid for the full model once combined with the incumbent:
   :math:`z^* \le \max(B_\text{reduced}, z_\text{inc})`.

When the LP does not finish, plain HiGHS gets the time left, beside the same search, and its
bound is capped by the volume algorithm's (:func:`siting.bounds.volume_bound`).

The result is a :class:`~siting.solvers.SolveResult` for the model passed in, with the status,
objective, bound and a ``message`` that records each stage.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np

from siting.bounds import lp_bound, volume_bound
from siting.solvers.base import SolveOptions, Solver, SolveResult, Status

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from siting.model import SitingModel
    from siting.problem import SitingProblem

T = TypeVar("T")

INTEGRAL_TOL = 1e-6


QUICK_PATIENCE = 200
"""Rounds without a better plan after which the incumbent search hands over to the MIP."""
VOLUME_SHARE = 0.2
"""Of the time left when the LP did not finish, for the volume algorithm's bound, which caps
the bound the fallback MIP reports (its prices would fix almost no column on dense cities)."""
SEARCH_CYCLE_S = 60.0
"""Longest single iterated search beside a stage (s); then another starts from the best plan.

A search's acceptance threshold tightens over its time limit, so one as long as a 600 s MIP
would intensify only near its end: on Máximo's Kings p = 100, whose LP bound equals the
optimum, such a search found the optimum (proving it) only at the end of the limit, twice. At 60 s
the `heuristic` backend ends within 0.1 % on all 24 Máximo instances (benchmarks/FINDINGS.md)."""
NO_LIMIT_S = 86_400.0
"""How long a search beside the LP or the final MIP may run when the solve has no time limit
(s); it stops when that stage returns, long before."""


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
    limit (at most 10 s) to improve the incumbent (greedy's plan, or the better one the search
    beside the LP found) before the restricted MIP.
    """
    from siting.localsearch import greedy_plan, iterated_local_search, load_kernels, local_search
    from siting.presolve import _drop_columns, reducible
    from siting.solvers import solve_model

    options = options or SolveOptions()
    load_kernels()  # a first compilation does not eat the time limit
    started = time.perf_counter()
    limit = np.inf if options.time_limit_s is None else float(options.time_limit_s)

    def left() -> float:
        return limit - (time.perf_counter() - started)

    milp = model.milp
    n_int = model.num_x + model.num_z
    stages: list[str] = []
    start = greedy_plan(model)  # None when greedy cannot meet the minimum counts
    lp_limit = max(lp_share * left(), 1.0)
    relaxation, searched_beside = _beside_a_search(
        lambda _: lp_bound(model, start, time_limit_s=lp_limit, threads=options.threads),
        model,
        start,
        options,
        time.perf_counter() + lp_limit,
        quick=True,
    )
    lp_status = "unfinished" if relaxation is None else "optimal" if relaxation.exact else "partial"
    stages.append(f"LP {lp_status} {time.perf_counter() - started:.2f}s")
    if (
        searched_beside is not None
        and start is not None
        and model.objective_of(searched_beside) > model.objective_of(start)
    ):
        stages.append(f"search beside the LP {model.objective_of(searched_beside):.0f}")
        start = searched_beside  # the better start for every later stage
    else:
        searched_beside = None  # it found nothing better than greedy
    fallback_start = options.warm_start  # plain HiGHS's: the user's, unless the search beat it
    if fallback_start is None or (
        searched_beside is not None
        and model.objective_of(searched_beside) > model.objective_of(fallback_start)
    ):
        fallback_start = start
    if relaxation is None:

        def volume() -> float:
            """A bound near the LP's, for the answer (its prices would fix almost nothing)."""
            found = None
            if start is not None:
                found = volume_bound(
                    model,
                    start,
                    lower=model.objective_of(start),
                    time_limit_s=VOLUME_SHARE * left(),
                    threads=options.threads,
                )
            if found is None:
                return np.inf
            stages.append(f"volume bound ({found.rounds} steps)")
            return found.value

        return _fallback(model, options, fallback_start, left(), stages, started, volume)
    v, bound, d = relaxation.values, relaxation.value, relaxation.reduced_costs
    integral_objective = bool(np.all(milp.c == np.round(milp.c)))

    def slack(value: float) -> float:
        """How far below a bound a plan may be and still be proven optimal by it."""
        return 1.0 - 1e-6 if integral_objective else 1e-9 * max(1.0, abs(value))

    def tightened(upper: float) -> float:
        """A bound on an integer-valued objective, rounded down (still valid)."""
        return float(np.floor(upper + 1e-6)) if integral_objective else upper

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
                max(objective, tightened(bound)),
                "lpfirst",
                time.perf_counter() - started,
                "; ".join(stages),
            )

    if not reducible(model):  # staged, circle, shares, targets: no column restriction
        return _fallback(model, options, fallback_start, left(), stages, started)
    # Incumbent: the start and iterated local search, the MIP restricted to the LP support,
    # then local search again.
    plan = start
    if plan is None:  # greedy cannot meet the minimum counts: let branch-and-cut find a plan
        return _fallback(model, options, fallback_start, left(), stages, started)
    if ils_share > 0 and left() > 2.0:
        searched = iterated_local_search(  # a quick incumbent: the MIP does the rest
            model,
            plan,
            time_limit_s=min(10.0, ils_share * limit, 0.5 * left()),
            seed=options.seed,
            patience=QUICK_PATIENCE,
            target=bound,  # a plan at the LP bound is optimal
            cool_first=False,
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
    threshold = inc_value + slack(inc_value)
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
            max(inc_value, tightened(bound)),
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
    final_options = SolveOptions(
        time_limit_s=left(),
        mip_gap=options.mip_gap,
        warm_start=incumbent,
        heuristic_warm_start=False,
        threads=options.threads,
        seed=options.seed,
    )
    final, beside = _beside_a_search(
        lambda reached: solve_model(reduced, options=replace(final_options, interrupt=reached)),
        model,
        incumbent,
        options,
        started + limit,
        target=bound - slack(bound),  # a plan this good is optimal: the MIP can stop
        settled=_proven,
    )
    stages.append(f"reduced MIP ({reduced.num_x} cols) {final.status}")
    if final.values is not None:
        candidate = reduced.open_matrix(final.values)
        value = model.objective_of(candidate)
        if value > inc_value:
            incumbent, inc_value = candidate, value
    if beside is not None and model.objective_of(beside) > inc_value:
        incumbent, inc_value = beside, model.objective_of(beside)
        stages.append(f"search beside it {inc_value:.0f}")
    reduced_bound = final.bound if final.bound is not None else bound
    full_bound = tightened(min(bound, max(reduced_bound, inc_value)))
    proven = final.status is Status.OPTIMAL or full_bound < inc_value + slack(inc_value)
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
    model: SitingModel,
    options: SolveOptions,
    start: NDArray[np.bool_] | None,
    left: float,
    stages: list[str],
    started: float,
    bound_first: Callable[[], float] | None = None,
) -> SolveResult:
    """Plain HiGHS branch-and-cut from ``start`` when the LP stage did not finish, beside a search.

    ``bound_first``, run before the MIP (the search beside starts at once), gives a valid
    bound from elsewhere (the volume algorithm's) that caps the MIP's.
    """
    from siting.solvers import solve_model

    deadline = time.perf_counter() + max(left, 1.0)

    def exact(reached: Callable[[], bool] | None) -> SolveResult:
        bound = np.inf if bound_first is None else bound_first()
        left_now = max(deadline - time.perf_counter(), 1.0)
        result = solve_model(
            model,
            options=replace(options, time_limit_s=left_now, warm_start=start, interrupt=reached),
        )
        return _capped(result, bound)

    result, searched = _beside_a_search(exact, model, start, options, deadline, settled=_proven)
    stages.append(f"fallback MIP {result.status}")
    if searched is not None and (
        result.objective is None or model.objective_of(searched) > result.objective
    ):
        objective = model.objective_of(searched)
        stages.append(f"search beside it {objective:.0f}")
        searched_result = replace(
            result, values=model.values_from_open(searched), objective=objective
        )
        result = _capped(searched_result, np.inf)
    return replace(
        result,
        solver="lpfirst",
        runtime_s=time.perf_counter() - started,
        message="; ".join(stages),
    )


def _capped(result: SolveResult, bound: float) -> SolveResult:
    """``result`` with its bound capped by ``bound`` (valid) and its status proven if they meet."""
    if result.objective is None or result.status is Status.OPTIMAL:
        return result
    objective = result.objective
    capped = max(min(bound, np.inf if result.bound is None else result.bound), objective)
    proven = capped <= objective + 1e-9 * max(1.0, abs(objective))
    status = Status.OPTIMAL if proven else Status.TIME_LIMIT
    return replace(result, status=status, bound=None if np.isinf(capped) else capped)


def _second_core(
    model: SitingModel, start: NDArray[np.bool_] | None, options: SolveOptions
) -> bool:
    """Whether a swap search from ``start`` can run beside this process (fork, 2 threads)."""
    from siting._fork import can_fork
    from siting.localsearch import search_chains, searchable

    return (
        start is not None
        and can_fork()
        and search_chains(options.threads) >= 2
        and searchable(model)  # questions the swap search does not take
    )


def _beside_a_search(
    stage: Callable[[Callable[[], bool] | None], T],
    model: SitingModel,
    start: NDArray[np.bool_] | None,
    options: SolveOptions,
    deadline: float,
    *,
    quick: bool = False,
    target: float = np.inf,
    settled: Callable[[T], bool] | None = None,
) -> tuple[T, NDArray[np.bool_] | None]:
    """Run ``stage`` (the LP or a MIP) here while a search from ``start`` uses another core.

    The stage keeps one core busy; the search (:func:`siting.localsearch.iterated_local_search`)
    improves the plan on the other until the stage is done, ``deadline``, or a plan reaches
    ``target``; past its patience it searches on rather than leave its core idle. The stage
    is called with ``reached()``, True once the search has a plan at ``target`` (a bound:
    that plan is optimal, so a MIP can stop, see ``SolveOptions.interrupt``), or with None
    when no search runs beside it or it has no target to reach. ``quick``:
    a search whose plan starts the later stages (short patience, tightening at once), as
    beside the LP. When ``settled`` says the stage's result needs no plan (a proof), the
    search is stopped at once. Returns the stage's result and the search's plan (None
    without :func:`_second_core`, or when stopped).
    """
    import multiprocessing

    from siting._fork import run_with_helper
    from siting.localsearch import MERGE_PATIENCE, iterated_local_search

    if not _second_core(model, start, options):
        return stage(None), None
    deadline = min(deadline, time.perf_counter() + NO_LIMIT_S)
    reached = multiprocessing.get_context("fork").RawValue("b", 0)  # written by the search

    def search(done: Callable[[], bool]) -> NDArray[np.bool_]:
        assert start is not None  # _second_core
        plan, value, cycle = start, model.objective_of(start), 0
        while value < target and not done() and deadline - time.perf_counter() > 0.1:
            found = iterated_local_search(  # from the best plan so far, with a fresh seed
                model,
                plan,
                time_limit_s=min(SEARCH_CYCLE_S, deadline - time.perf_counter()),
                seed=options.seed + (2 if quick else 1) + 3 * cycle,  # none repeats another
                patience=QUICK_PATIENCE if quick else MERGE_PATIENCE,
                busy=lambda: not done(),
                target=target,
                cool_first=not quick,
                stop=done,
            )
            if found.objective > value:
                plan, value = found.opened, found.objective
            cycle += 1
        if value >= target:
            reached.value = 1
        return plan

    watch = None if np.isinf(target) else lambda: bool(reached.value)  # else never True
    return run_with_helper(lambda: stage(watch), search, deadline, settled)


def _proven(result: SolveResult) -> bool:
    """Whether an exact stage proved its plan optimal (a search beside it has nothing to add)."""
    return result.status is Status.OPTIMAL


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
        from siting.localsearch import require_supported

        require_supported(problem, self.name)

    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """Presolve, LP first, map the plan back to ``model``'s columns."""
        from siting.presolve import presolve_model

        started = time.perf_counter()
        reduced = presolve_model(model)
        if options.time_limit_s is not None:  # the presolve counts against the limit
            spent = time.perf_counter() - started
            options = replace(options, time_limit_s=max(0.1, options.time_limit_s - spent))
        result = solve_lp_first(reduced, options)
        if result.values is None or reduced is model:
            return result
        values = model.values_from_open(reduced.open_matrix(result.values))
        return replace(
            result, values=values, objective=float(model.milp.c @ values), solver=self.name
        )


__all__ = ["LpFirstSolver", "solve_lp_first"]
