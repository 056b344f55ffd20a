"""The ``heuristic`` backend: a good plan fast, with an honest bound, for very large instances.

For weighted-coverage questions (``max_coverage`` with budgets, capacities, floor areas, counts
and must-use sites), on instances too large to prove:

1. **Bound**: the LP relaxation's optimum, reached by row generation from the greedy plan
   (:func:`siting.bounds.lp_bound`: only the coverage rows that plan covers exactly once are
   kept at first), is a valid upper bound; its x values also guide a second construction
   (open outlets in order of LP value).
2. **Starts**: ratio greedy and the LP-guided plan (:mod:`siting.localsearch`); the better
   one starts the search.
3. **Search**: iterated swap local search on every core, then, unless every limit counts
   outlets (:func:`siting.localsearch.swaps_suffice`), an exact solve restricted to the
   outlets its local optima used and the LP's support: swaps cannot trade several cheap
   outlets for one dear one, the exact solve can (:func:`siting.localsearch.merge_search`).
   Under counts alone the search has the whole time.

If the first LP cannot finish in its share of the time (dense instances such as Máximo's San
Francisco and Brooklyn), the volume algorithm approaches the LP bound from above for a tenth
of the limit (:func:`siting.bounds.volume_bound`; every step's bound is valid, the last is
within a few tenths of a percent of the LP's on those instances); if a later round of row
generation cannot finish, the last finished round's (valid, weaker) bound is kept. The total
reachable weight caps every bound.
The status is ``optimal`` only when the plan meets the bound within ``mip_gap``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from siting.bounds import lp_bound, volume_bound
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
    from siting.model import SitingModel
    from siting.problem import SitingProblem

__all__ = ["HeuristicSolver", "greedy_plan", "supports_greedy"]

SUPPORT = 1e-6  # LP value above which an outlet joins the restricted exact solve
VOLUME_SHARE = 0.1  # of the time limit, for the Lagrangian bound when the LP does not finish


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
        relaxation = lp_bound(model, starts[0], time_limit_s=0.3 * limit, threads=options.threads)
        bound, support = model.coverage_bound, None
        counted = swaps_suffice(model)  # then the search has the whole time, no exact stage
        if relaxation is not None:
            kind = (
                "LP bound" if relaxation.exact else "partial LP bound (row generation unfinished)"
            )
            if not counted:  # the trades swaps cannot make, for the exact stage
                support = relaxation.values[: model.num_x] > SUPPORT
        else:  # the LP did not finish: approach its bound from above instead
            lower = 0.0 if starts[0] is None else model.objective_of(starts[0])
            relaxation = volume_bound(
                model,
                starts[0],
                lower=lower,
                time_limit_s=VOLUME_SHARE * limit,
                threads=options.threads,
            )
            kind = "no LP bound"
            if relaxation is not None:
                kind = (
                    f"Lagrangian bound (LP unfinished; volume algorithm, {relaxation.rounds} steps)"
                )
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
        plan = merge_search(
            model,
            start,
            time_limit_s=left,
            seed=options.seed,
            include=support,
            chains=search_chains(options.threads),
        ).opened
        if model.objective_of(start) > model.objective_of(plan):
            plan = start
        values = model.values_from_open(plan)
        objective = float(model.milp.c @ values)
        bound = max(bound, objective)
        gap = (bound - objective) / max(abs(objective), 1.0)
        status = Status.OPTIMAL if gap <= max(options.mip_gap, 1e-9) else Status.FEASIBLE
        runtime = time.perf_counter() - started
        search = "iterated search (every limit a count)" if counted else "merge search"
        message = f"LP-guided and greedy starts, {search}; {kind}, gap {100 * gap:.4f} %"
        return SolveResult(status, values, objective, bound, self.name, runtime, message)
