"""The ``heuristic`` backend: a good plan fast, with an honest bound, for very large instances.

For weighted-coverage questions (``max_coverage`` with budgets, capacities, floor areas, counts
and must-use sites), on instances too large to prove:

1. **Bound**: the LP relaxation's optimum, reached by row generation from the greedy plan
   (:func:`siting.bounds.lp_bound`: only the coverage rows that plan covers exactly once are
   kept at first; at most 30 % of the limit), is a valid upper bound. Where coverage is dense
   and every limit a count (:func:`siting.bounds.volume_first`: Máximo's cities, a p-MCLP),
   or when the LP does not finish in its share, the volume algorithm approaches the LP bound
   from above instead (:func:`siting.bounds.volume_bound`, at most 10 % of the limit; every
   step's bound is valid), and the search gets the time the LP would have taken; if the
   search ends early (an easy instance), the LP then gets the time it left. The x values
   (LP solution or the volume algorithm's average) guide a second construction (open outlets
   in order of value).
2. **Starts**: ratio greedy and the LP-guided plan (:mod:`siting.localsearch`); the better
   one starts the search.
3. **Search**: iterated swap local search on every core until a plan meets the bound or the
   time is up, then, unless every limit counts outlets
   (:func:`siting.localsearch.swaps_suffice`), an exact solve restricted to the outlets its
   local optima used and the LP's support: swaps cannot trade several cheap outlets for one
   dear one, the exact solve can (:func:`siting.localsearch.merge_search`). Under counts
   alone the search has the whole time.

If a later round of row generation cannot finish, the last finished round's (valid, weaker)
bound is kept. The total reachable weight caps every bound.
The status is ``optimal`` only when the plan meets the bound within ``mip_gap``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from siting.bounds import LpBound, lp_bound, volume_bound, volume_first
from siting.localsearch import (
    greedy_plan,
    load_kernels,
    lp_guided_plan,
    merge_search,
    require_supported,
    search_chains,
    supports_greedy,
    swaps_suffice,
)
from siting.solvers.base import SolveOptions, Solver, SolveResult, Status

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from siting.model import SitingModel
    from siting.problem import SitingProblem

__all__ = ["HeuristicSolver", "greedy_plan", "supports_greedy"]

SUPPORT = 1e-6  # LP value above which an outlet joins the restricted exact solve
LP_SHARE = 0.3  # of the time limit, for the LP bound
VOLUME_SHARE = 0.1  # of the time limit, for the volume algorithm's Lagrangian bound


class HeuristicSolver(Solver):
    """Greedy and LP-guided starts, merge search, an LP upper bound; never claims unproven."""

    name: ClassVar[str] = "heuristic"
    required_modules: ClassVar[tuple[str, ...]] = ("highspy",)

    def check(self, problem: SitingProblem) -> None:
        """Refuse questions the heuristic cannot answer, naming a backend that can."""
        require_supported(problem, self.name)

    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """LP bound and LP-guided start, then search from the better start until the limit."""
        load_kernels()  # a first compilation does not eat the time limit
        started = time.perf_counter()
        limit = options.time_limit_s if options.time_limit_s is not None else 600.0
        starts = [options.warm_start if options.warm_start is not None else greedy_plan(model)]
        relaxation, kind, solved = _relaxation(model, starts[0], limit, options.threads)
        bound, support = model.coverage_bound, None
        counted = swaps_suffice(model)  # then the search has the whole time, no exact stage
        if relaxation is not None and solved and not counted:
            support = relaxation.values[: model.num_x] > SUPPORT  # trades swaps cannot make
        if relaxation is not None:
            bound = min(bound, relaxation.value)
            starts.append(lp_guided_plan(model, relaxation.values[: model.num_x]))
        candidates = [plan for plan in starts if plan is not None]
        if not candidates:
            runtime = time.perf_counter() - started
            message = "no start met the minimum counts"
            return SolveResult(Status.NO_SOLUTION, None, None, None, self.name, runtime, message)
        start = max(candidates, key=model.objective_of)
        left = max(0.1, 0.95 * limit - (time.perf_counter() - started))
        tolerance = max(options.mip_gap, 1e-9)
        plan = merge_search(
            model,
            start,
            time_limit_s=left,
            seed=options.seed,
            include=support,
            chains=search_chains(options.threads),
            target=bound / (1 + tolerance) if bound >= 1 else bound - tolerance,  # proven
        ).opened
        if model.objective_of(start) > model.objective_of(plan):
            plan = start
        values = model.values_from_open(plan)
        objective = float(model.milp.c @ values)
        left = 0.95 * limit - (time.perf_counter() - started)
        if not solved and bound - objective > tolerance * max(abs(objective), 1.0) and left > 1:
            # The search ended early (an easy instance): the LP gets the time it left.
            exact = lp_bound(model, plan, time_limit_s=left, threads=options.threads)
            if exact is not None and exact.value < bound:
                bound, kind = exact.value, f"{_lp_kind(exact)} after the search"
        bound = max(bound, objective)
        gap = (bound - objective) / max(abs(objective), 1.0)
        status = Status.OPTIMAL if gap <= tolerance else Status.FEASIBLE
        runtime = time.perf_counter() - started
        search = "iterated search (every limit a count)" if counted else "merge search"
        message = f"LP-guided and greedy starts, {search}; {kind}, gap {100 * gap:.4f} %"
        return SolveResult(status, values, objective, bound, self.name, runtime, message)


def _relaxation(
    model: SitingModel, start: NDArray[np.bool_] | None, limit: float, threads: int | None
) -> tuple[LpBound | None, str, bool]:
    """A bound near the LP's, what it is, and whether it came with an LP solution.

    The volume algorithm goes first where it is the quicker (:func:`siting.bounds.volume_first`)
    and takes over when the LP does not finish in its share; its x values are an average of
    inner solutions, not an LP solution.
    """
    if not volume_first(model, start):
        relaxation = lp_bound(model, start, time_limit_s=LP_SHARE * limit, threads=threads)
        if relaxation is not None:
            return relaxation, _lp_kind(relaxation), True
    lower = 0.0 if start is None else model.objective_of(start)
    relaxation = volume_bound(
        model, start, lower=lower, time_limit_s=VOLUME_SHARE * limit, threads=threads
    )
    if relaxation is None:
        return None, "no LP bound", False
    return relaxation, f"Lagrangian bound (volume algorithm, {relaxation.rounds} steps)", False


def _lp_kind(relaxation: LpBound) -> str:
    """What an LP bound is, for the message."""
    return "LP bound" if relaxation.exact else "partial LP bound (row generation unfinished)"
