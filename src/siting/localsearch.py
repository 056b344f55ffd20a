r"""Swap local search and adaptive iterated local search on a built model.

For the max-coverage mode of :mod:`siting.model`. A plan is a set of open outlet columns (x);
row *r* (an aggregated demand row of weight :math:`w_r`) is covered when at least one open
column covers it. The search keeps, per row, the number of open columns covering it and the
sum of their indices (its owner when exactly one does), and per column the exact change of a swap

.. math::

    \Delta(b, a) = \mathrm{gain}(b) - \mathrm{loss}(a) + E(b, a),

where gain(b) is the uncovered weight *b* covers, loss(a) the weight only *a* covers, and
:math:`E(b, a)` the weight only *a* covers that *b* also covers (Whitaker's fast interchange,
as in Resende & Werneck's p-median local search). Opening or closing a column updates all
three incrementally over the rows whose state changes, O(their nonzeros), so one swap pass
costs O(open columns x columns) compiled work (:mod:`siting._kernels`). Feasibility of a swap
(budget with site fixed costs paid once, site capacity and floor area, per-service minimum and
maximum counts and budgets) is checked only for swaps that would improve the plan, against
spending the state keeps current. Free budget is spent by add moves. :func:`iterated_local_search`
perturbs, searches and accepts as in Máximo, Cordeau & Nascimento's adaptive ILS for the
MCLP, until its time limit, keeping the best plan.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import SolverCapabilityError
from siting._fork import Quorum, can_fork, run_side_by_side, usable_cores
from siting.problem import MUST

if TYPE_CHECKING:
    from siting._kernels import Limits, SearchArrays, SwapRows, Usage
    from siting.model import SitingModel
    from siting.problem import SitingProblem

EPS = 1e-9
_NO_SWAPS = np.zeros((1, 1))  # stands in for E before the first swap evaluation

NEAR_LIMIT = 300_000_000
"""Most (column, row, column) triples for which the swap pass keeps each column's neighbours
(about a second to find them; Máximo's Brooklyn has 75 million)."""

Optima = list[tuple[float, NDArray[np.bool_]]]
"""Local optima as (objective, open x columns)."""


@dataclass(frozen=True)
class LocalSearchResult:
    """The best plan found and what the search did.

    Attributes
    ----------
    opened
        (m, K) boolean plan of the original problem.
    objective
        Its model objective.
    columns
        Open x columns.
    iterations
        Swap and add moves applied in total.
    restarts
        Perturbation rounds of the iterated search.
    seconds
        Wall time spent.
    """

    opened: NDArray[np.bool_]
    objective: float
    columns: NDArray[np.intp]
    iterations: int
    restarts: int
    seconds: float


def load_kernels() -> ModuleType:
    """The compiled search loops, :mod:`siting._kernels`, ready to run.

    The first call after installation compiles them (about 20 s); later processes load them
    from numba's cache (about a second). Searches call it before their clock starts.
    """
    from siting import _kernels  # numba loads here, not at import

    _kernels.warm_up()
    return _kernels


class _State:
    """Open columns, per-row cover counts and the plan's spending, with exact swap values."""

    def __init__(self, model: SitingModel, open_columns: NDArray[np.bool_], seed: int = 0) -> None:
        problem = model.problem
        self.model = model
        self.Y = sparse.csr_array(model.y_cover, dtype=np.float64)
        self.YT = sparse.csr_array(self.Y.T)
        self.w = np.ascontiguousarray(model.y_weight, dtype=np.float64)
        self.cx = np.array(model.milp.c[: model.num_x], dtype=np.float64)
        services = problem.services
        must = problem.site_decision == MUST
        self.prepaid = float(problem.site_fixed_cost[must].sum())  # must-use sites are paid
        self.kernels = load_kernels()
        self.kernels.seed_random(seed)  # the compiled moves' random choices

        def real(values: NDArray[np.floating] | list[float]) -> NDArray[np.float64]:
            return np.ascontiguousarray(values, dtype=np.float64)

        def index(values: NDArray[np.integer]) -> NDArray[np.int64]:
            return np.ascontiguousarray(values, dtype=np.int64)  # one compiled signature

        self.limits: Limits = self.kernels.Limits(  # tolerances folded into the upper limits
            fit_out=real(problem.fit_out_cost[model.x_site, model.x_service]),
            fixed=real(np.where(must, 0.0, problem.site_fixed_cost)[model.x_site]),
            site=index(model.x_site),
            service=index(model.x_service),
            area=real([s.floor_area_m2 for s in services])[model.x_service],
            capacity=real(problem.site_capacity),
            floor=real(problem.site_floor_area_m2 + EPS),
            min_new=real([s.min_new for s in services]),
            max_new=real([np.inf if s.max_new is None else s.max_new for s in services]),
            service_budget=real(problem.service_budget + EPS),
            budget=np.inf if problem.budget is None else float(problem.budget) + EPS,
        )
        self.open = open_columns.copy()
        self.count = np.asarray(self.Y @ self.open.astype(np.float64)).round().astype(np.int64)
        uncovered = np.where(self.count == 0, self.w, 0.0)
        self.gain = np.asarray(self.YT @ uncovered) + self.cx  # weight each column would add
        self.gain[self.open] = -np.inf  # open columns add nothing
        open_index = np.where(self.open, np.arange(len(self.open)), 0)
        self.covering = np.asarray(self.Y @ open_index).round().astype(np.int64)  # sum of columns
        once = np.flatnonzero(self.count == 1)  # covering is the one open column there
        self.loss = self.cx + np.bincount(
            self.covering[once], weights=self.w[once], minlength=len(self.open)
        )  # weight only the column covers, plus its own objective term
        self.E: NDArray[np.float64] | None = None  # (slots, columns), built on first use
        self.near: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None  # on first use
        self.slot = np.full(len(self.open), -1, dtype=np.int64)
        self.slot_column = np.zeros(0, dtype=np.int64)
        self.arrays: SearchArrays = self.kernels.SearchArrays(  # updated in place, never rebound
            index(self.Y.indptr),
            index(self.Y.indices),
            index(self.YT.indptr),
            index(self.YT.indices),
            self.w,
            self.cx,
            self.open,
            self.count,
            self.covering,
            self.gain,
            self.loss,
        )
        c, idx = self.limits, np.flatnonzero(self.open)
        sites, services_count = problem.num_sites, len(services)

        def per(
            group: NDArray[np.int64], size: int, weights: NDArray[np.float64] | None = None
        ) -> NDArray[np.float64]:
            return np.bincount(group[idx], weights, size).astype(np.float64)

        self.site_count, self.service_count = per(c.site, sites), per(c.service, services_count)
        fixed_by_site = np.zeros(sites)
        fixed_by_site[c.site] = c.fixed
        spent = c.fit_out[idx].sum() + fixed_by_site[self.site_count > 0].sum() + self.prepaid
        self.usage: Usage = self.kernels.Usage(  # kept current by the kernels, never rebound
            site_count=self.site_count,
            site_area=per(c.site, sites, c.area[idx]),
            service_count=self.service_count,
            service_spent=per(c.service, services_count, c.fit_out[idx]),
            spent=np.array([spent], dtype=np.float64),
        )

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def spent(self) -> float:
        """Total spending of the plan (yuan), site fixed costs included."""
        return float(self.usage.spent[0])

    def objective(self) -> float:
        """Covered weight plus the open columns' objective terms."""
        return float(self.kernels.objective(self.w, self.count, self.cx, self.open))

    def _build_swap_matrix(self) -> None:
        """E[b, slot(a)]: weight covered only by open column a that column b also covers."""
        open_idx = np.flatnonzero(self.open)
        self.slot[:] = -1
        self.slot[open_idx] = np.arange(open_idx.size)
        self.slot_column = open_idx.astype(np.int64)
        once = np.flatnonzero(self.count == 1)
        rows = self.Y[once]
        S = sparse.csr_array(
            (self.w[once], (np.arange(once.size), self.slot[self.covering[once]])),
            shape=(once.size, max(open_idx.size, 1)),
        )
        self.E = (sparse.csr_array(S.T) @ rows).toarray()

    def _grow(self, free: int = 1) -> None:
        """Double the swap matrix's rows until at least ``free`` are unused."""
        assert self.E is not None
        while int((self.slot_column < 0).sum()) < free:
            grow = max(1, self.E.shape[0])
            self.E = np.vstack([self.E, np.zeros((grow, self.E.shape[1]))])
            self.slot_column = np.concatenate([self.slot_column, np.full(grow, -1)])

    def _take_slot(self, column: int) -> None:
        if self.E is None:
            return
        self._grow()
        free = int(np.argmax(self.slot_column < 0))
        self.slot[column] = free
        self.slot_column[free] = column

    def flip(self, column: int, on: bool) -> None:
        """Open or close one column; counts, covering sums, gains, losses and E follow.

        Only rows of ``column`` that move between uncovered, covered once and covered more
        often change anything: the gain of every column covering them, the loss of their
        single owner and E[slot(owner)] (:func:`siting._kernels.flip_column`).
        """
        if on:
            self._take_slot(column)
        track = self.E is not None
        values = self.E if self.E is not None else _NO_SWAPS
        swaps = self.kernels.SwapRows(values, self.slot, self.slot_column)
        self.kernels.flip_column(column, on, self.arrays, self.limits, self.usage, swaps, track)
        if not on and track:
            self.slot_column[self.slot[column]] = -1
            self.slot[column] = -1

    # -- moves ------------------------------------------------------------------------------
    def gains(self) -> NDArray[np.float64]:
        return self.gain

    def addable(self) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """What opening each column would spend, and whether it is closed and allowed."""
        cost, ok = np.empty(self.open.size), np.empty(self.open.size, dtype=bool)
        self.kernels.addable(self.open, self.limits, self.usage, cost, ok)
        return cost, ok

    def best_add(self) -> int | None:
        """The allowed column with the most gained weight per unit cost, if any gains."""
        column = int(self.kernels.best_add(self.arrays, self.limits, self.usage, EPS))
        return None if column < 0 else column

    def _swap_matrix(self) -> NDArray[np.float64]:
        if self.E is None:
            self._build_swap_matrix()
        assert self.E is not None
        return self.E

    def _tracked(self) -> SwapRows:
        """The swap matrix (built on first use) and its slot maps, as the kernels take them."""
        return self.kernels.SwapRows(self._swap_matrix(), self.slot, self.slot_column)

    def descend_step(self, tolerance: float) -> tuple[int, bool]:
        """Adds while any helps, then one swap pass (:func:`siting._kernels.descend_step`).

        Returns the moves made and whether the pass found none (a local optimum).
        """
        moves = 0
        while True:
            made, state = self.kernels.descend_step(
                tolerance, self.arrays, self.limits, self.usage, self._tracked(), *self._near()
            )
            moves += int(made)
            if state != 2:  # 2: an add needs another row of the swap matrix
                return moves, state == 0
            self._grow()

    def perturb(self, concentric: bool, omega: int) -> None:
        """Swap ``omega`` outlets away (:func:`siting._kernels.perturb`)."""
        self.kernels.perturb(
            concentric, omega, self.arrays, self.limits, self.usage, self._tracked()
        )

    def move_to(self, target: NDArray[np.bool_]) -> None:
        """Open and close columns so that the plan is ``target``."""
        self._swap_matrix()
        self._grow(int(target.sum()) - int(self.open.sum()))
        self.kernels.move_to(target, self.arrays, self.limits, self.usage, self._tracked())

    def _near(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Columns sharing a row with each column (CSR; see :func:`_near_columns`)."""
        if self.near is None:
            self.near = _near_columns(self.model)
        return self.near


_near_cache: list[tuple[weakref.ref[object], tuple[NDArray[np.int64], NDArray[np.int64]]]] = []


def _near_columns(model: SitingModel) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Columns sharing a row with each column (CSR), if at most :data:`NEAR_LIMIT` triples.

    The swap pass then scans a column's neighbours instead of every column (Máximo's Bronx:
    164 of 3,159 on average). Empty arrays when the (column, row, column) triples would be
    too many. The last model's are kept, so searches on it (and forked chains) share them.
    """
    if _near_cache and _near_cache[0][0]() is model.y_cover:
        return _near_cache[0][1]
    Y = sparse.csr_array(model.y_cover, dtype=np.float64)
    per_row = np.diff(Y.indptr).astype(np.float64)
    empty = np.zeros(0, dtype=np.int64)
    near = (empty, empty)
    if float(per_row @ per_row) <= NEAR_LIMIT:
        pairs = sparse.csr_array(sparse.csr_array(Y.T) @ Y)
        near = (
            np.ascontiguousarray(pairs.indptr, dtype=np.int64),
            np.ascontiguousarray(pairs.indices, dtype=np.int64),
        )
    _near_cache[:] = [(weakref.ref(model.y_cover), near)]
    return near


def supports_greedy(problem: SitingProblem) -> bool:
    """True if greedy construction and the moves here respect every constraint of ``problem``.

    They handle budgets (total and per service), capacities, floor areas, counts per service
    and must-use sites; not targets, equity floors, community minimums, the complete circle or
    staged objectives.
    """
    return (
        problem.mode == "max_coverage"
        and not problem.stages
        and problem.circle_weight == 0
        and not np.isfinite(problem.targets).any()
        and (problem.equity is None or problem.equity.min_share is None)
        and problem.min_new_per_group == 0
    )


def require_supported(problem: SitingProblem, solver: str) -> None:
    """Refuse, naming backends that answer it, a question :func:`supports_greedy` rejects."""
    if not supports_greedy(problem):
        msg = (
            f"solver {solver!r} answers max_coverage questions with budgets, capacities and "
            "counts only; this scenario uses targets, equity, the complete circle, "
            'community minimums or stages: use solver = "highs" (or cbc, ortools)'
        )
        raise SolverCapabilityError(msg)


def searchable(model: SitingModel) -> bool:
    """True if the moves here respect every constraint of ``model``.

    The question class of :func:`supports_greedy`, and a model that
    :func:`siting.presolve.reducible` accepts (single-stage coverage objective, no other rows
    on the coverage columns).
    """
    from siting.presolve import reducible

    return supports_greedy(model.problem) and reducible(model)


def swaps_suffice(model: SitingModel) -> bool:
    """True if every limit on the plan counts outlets, so a swap keeps each one as it was.

    Counts per service and outlets per site are counts; a budget (total or per service) is
    one when the costs it weighs are equal and no site's fixed cost is due (the classic
    p-MCLP: unit costs, budget p); floor areas are not. Under counts alone a swap replaces
    one outlet by another wherever an exact solve over a few hundred outlets could, so
    :func:`merge_search` skips that stage; otherwise the exact solve makes the trades swaps
    cannot, such as several cheap outlets for one dear one.
    """
    problem = model.problem
    fit_out = problem.fit_out_cost[model.x_site, model.x_service]
    due = (problem.site_decision != MUST)[model.x_site]
    fixed = problem.site_fixed_cost[model.x_site][due]

    def counts(costs: NDArray[np.float64]) -> bool:
        return costs.size == 0 or bool(np.ptp(costs) == 0)

    area = np.array([service.floor_area_m2 for service in problem.services], dtype=np.float64)
    return (
        (problem.budget is None or (not fixed.any() and counts(fit_out)))
        and all(
            counts(fit_out[model.x_service == k])
            for k in np.flatnonzero(np.isfinite(problem.service_budget))
        )
        and (bool(np.isinf(problem.site_floor_area_m2).all()) or not area[model.x_service].any())
    )


def greedy_plan(model: SitingModel) -> NDArray[np.bool_] | None:
    """A feasible plan built greedily: the better of ratio greedy and the best single outlet.

    Ratio greedy adds, one at a time, the outlet with the largest newly covered weight per
    unit of cost (a site's fixed cost counted only while the site is unused) that every limit
    still allows, after first meeting the services' minimum counts; gains are updated
    incrementally over the CSR structure, O(nonzeros + outlets x columns) in all. The best
    single outlet guards against one expensive outlet covering many residents (the classic
    budgeted-coverage safeguard). None if greedy cannot meet the minimum counts.
    """
    state = _State(model, np.zeros(model.num_x, dtype=bool))
    if model.num_x == 0:
        return None if state.limits.min_new.any() else _result(state, 0, 0, 0.0).opened
    gain = state.gains()  # kept up to date by flip

    def open_column(column: int) -> None:
        state.flip(column, on=True)

    for k in np.flatnonzero(state.limits.min_new > 0):  # minimum counts first, best gain first
        while state.service_count[k] < state.limits.min_new[k]:
            cost, ok = state.addable()
            ok &= state.limits.service == k
            if not ok.any():
                return None
            open_column(int(np.argmax(np.where(ok, gain - 1e-9 * cost, -np.inf))))
    while (add := state.best_add()) is not None:
        open_column(add)
    plan = _result(state, 0, 0, 0.0)
    if not state.limits.min_new.any():
        single = _State(model, np.zeros(model.num_x, dtype=bool))
        _, ok = single.addable()
        if ok.any():
            single.flip(int(np.argmax(np.where(ok, single.gains(), -np.inf))), on=True)
            if single.objective() > plan.objective:
                return _result(single, 0, 0, 0.0).opened
    return plan.opened


def lp_guided_plan(model: SitingModel, x: NDArray[np.float64]) -> NDArray[np.bool_] | None:
    """Open outlets in order of their LP relaxation value while limits allow, then refill.

    ``x`` holds the LP values of the x columns. None if the minimum counts cannot be met.
    """
    state = _State(model, np.zeros(model.num_x, dtype=bool))
    for k in np.flatnonzero(state.limits.min_new > 0):
        while state.service_count[k] < state.limits.min_new[k]:
            ok = state.addable()[1] & (state.limits.service == k)
            if not ok.any():
                return None
            state.flip(int(np.argmax(np.where(ok, x, -np.inf))), on=True)
    for column in np.argsort(-x, kind="stable"):
        if x[column] <= 1e-6:
            break
        if state.addable()[1][column] and state.gains()[column] > EPS:
            state.flip(int(column), on=True)
    while (add := state.best_add()) is not None:
        state.flip(add, on=True)
    return _result(state, 0, 0, 0.0).opened


def _unsearchable(model: SitingModel, start: NDArray[np.bool_] | None) -> LocalSearchResult:
    plan = start if start is not None else greedy_plan(model)
    if plan is None:
        plan = np.zeros((model.problem.num_sites, len(model.problem.services)), dtype=bool)
    return LocalSearchResult(
        plan,
        model.objective_of(plan),
        np.flatnonzero(plan[model.x_site, model.x_service]),
        0,
        0,
        0.0,
    )


def _start_plan(model: SitingModel, start: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
    """``start``, or the greedy plan; moves keep the minimum counts, so one must meet them."""
    plan = greedy_plan(model) if start is None else start
    if plan is None:
        msg = (
            "greedy construction cannot meet the services' minimum new outlets (min_new) "
            "within the limits; pass start= a plan that meets them (e.g. from solver 'highs')"
        )
        raise ValueError(msg)
    return plan


def local_search(
    model: SitingModel,
    start: NDArray[np.bool_] | None = None,
    *,
    time_limit_s: float = 10.0,
    max_moves: int = 100_000,
) -> LocalSearchResult:
    """Add and swap moves from ``start`` (an (m, K) plan; default greedy) to a local optimum.

    A model outside :func:`searchable` gets ``start`` (or greedy) back unchanged. Raises
    ValueError when no start is given and greedy cannot meet the minimum counts.
    """
    if not searchable(model):
        return _unsearchable(model, start)
    load_kernels()  # a first compilation does not eat the time limit
    started = time.perf_counter()
    plan = _start_plan(model, start)
    state = _State(model, plan[model.x_site, model.x_service])
    moves = _descend(state, started + time_limit_s, max_moves)
    return _result(state, moves, 0, started)


def iterated_local_search(
    model: SitingModel,
    start: NDArray[np.bool_] | None = None,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    pool: Optima | None = None,
    patience: int = 1000,
    busy: Callable[[], bool] | None = None,
    target: float = np.inf,
    cool_first: bool = True,
    stop: Callable[[], bool] = lambda: False,
) -> LocalSearchResult:
    """Adaptive iterated local search; the best plan wins.

    After Máximo, Cordeau & Nascimento's AILS for the MCLP: each round perturbs the reference
    plan (swap ``omega`` outlets: random ones, or the ones nearest a random outlet, for random
    ones or ones near those removed), searches to a local optimum and accepts it as the new
    reference when it beats a threshold between the mean and the best of recent rounds that
    tightens over the time limit or :data:`COOLING` x ``patience`` rounds, whichever ends
    first (:class:`_Threshold`). ``omega`` adapts so that a round ends about
    :data:`TARGET_DISTANCE` outlets away from the reference. Local optima go to ``pool`` as
    (objective, open columns); it keeps at least the :data:`POOL_SIZE` best. The search stops
    at the time limit, once a plan reaches ``target`` (e.g. a bound: nothing better exists),
    or, once the threshold has tightened (at once if not ``cool_first``: a quick incumbent for
    an exact solve), when the rounds without a better plan number at least ``patience`` and
    as many as it took to find the best plan, unless ``busy()`` says that work beside it goes
    on (then it searches on rather than leave its core idle). It also stops once ``stop()``
    says so (read between rounds and between the passes of its first descent), e.g. when the
    work it ran beside is done.
    """
    if not searchable(model):
        return _unsearchable(model, start)
    load_kernels()  # a first compilation does not eat the time limit
    started = time.perf_counter()
    deadline = started + time_limit_s
    rng = np.random.default_rng(seed)
    plan = _start_plan(model, start)
    state = _State(model, plan[model.x_site, model.x_service], seed=seed)
    moves = _descend(state, deadline, 100_000, stop)
    best_open, best_value = state.open.copy(), state.objective()
    reference = best_open.copy()
    size = int(reference.sum())
    if size == 0:
        return _result(state, moves, 0, started)
    distance = min(TARGET_DISTANCE, max(1, round(0.2 * size)))
    steps = {rule: _Steps(distance, size) for rule in ("random", "concentric")}
    threshold = _Threshold(started, time_limit_s, COOLING * patience)
    restarts = last_improvement = 0
    while time.perf_counter() < deadline and best_value < target and not stop():
        stalled = restarts - last_improvement >= max(patience, last_improvement)
        tightened = threshold.cooled or not cool_first
        if stalled and tightened and (busy is None or not busy()):
            break
        restarts += 1
        rule = ("random", "concentric")[int(rng.integers(2))]
        state.perturb(rule == "concentric", steps[rule].omega)
        moves += _descend(state, deadline, 100_000)
        value = state.objective()
        steps[rule].record(int((reference & ~state.open).sum()), int(reference.sum()))
        if pool is not None:
            pool.append((value, state.open.copy()))
            if len(pool) > 2 * POOL_SIZE:  # keep the best, first found first among equals
                pool.sort(key=lambda entry: -entry[0])
                del pool[POOL_SIZE:]
        if value > best_value + EPS * max(1.0, abs(best_value)):
            best_open, best_value = state.open.copy(), value
            last_improvement = restarts
        if threshold.accept(value):
            reference = state.open.copy()
        else:
            state.move_to(reference)
    else:  # the deadline, the target or stop() ended it: settled, none beside waits for this
        if busy is not None:
            busy()
    return _result(_State(model, best_open), moves, restarts, started)


TARGET_DISTANCE = 6
"""Outlets a round should end away from the reference (AILS's d_beta, 10 there); at most a fifth
of the plan."""
WINDOW = 30
"""Rounds between updates of the perturbation size and the acceptance threshold (gamma)."""
COOLING = 4
"""The acceptance threshold tightens over at most this many times the patience in rounds.

Stopping on patience before it has tightened would end the search while it still wanders:
on San Francisco p = 90 with a 60 s limit, runs stopped after 7-11 s, 0.22-0.25 % below the
optimum, where 10 s runs end about 0.09 % below (benchmarks/FINDINGS.md)."""
ETA_MIN = 0.1
"""Final acceptance slack: the threshold ends at 90 % of the way from mean to best."""
POOL_SIZE = 40
"""Best local optima whose outlets join the merge search's restricted exact solve."""
MERGE_PATIENCE = 5000
"""Rounds without a better plan after which the merge search's chains may stop. Alone they are
the whole run when swaps suffice, and on dense instances a better plan can take thousands of
rounds to come (the 24 Máximo instances, 4 seeds, 10 s, no exact stage: mean gap 0.060 % at
1,000 rounds, a third of the runs stopped early; 0.034 % at 5,000; see benchmarks/FINDINGS.md)."""
MIN_SEARCH_S = 0.05
"""Shortest time worth an iterated local search once the exact stage is done."""


class _Steps:
    """Perturbation size ``omega`` of one rule, steered toward a target distance."""

    def __init__(self, target: int, size: int) -> None:
        self.target, self.omega = target, target
        self.size = size
        self.rounds = 0
        self.mean = 0.0  # running mean distance over about the last WINDOW rounds

    def record(self, distance: int, size: int) -> None:
        self.size = max(1, size)
        self.rounds += 1
        self.mean += (distance - self.mean) / min(self.rounds, WINDOW)
        if self.rounds % WINDOW == 0:
            scale = self.target / max(self.mean, 1e-9)
            self.omega = int(np.clip(round(self.omega * scale), 1, self.size))


class _Threshold:
    """AILS acceptance: beat mean + (1 - eta) (recent best - mean); eta falls 1 -> 0.1.

    Over the time limit at the pace so far, or over ``horizon`` rounds if that comes first.
    """

    def __init__(self, started: float, time_limit_s: float, horizon: float = np.inf) -> None:
        self.started, self.limit = started, max(time_limit_s, 1e-9)
        self.horizon = horizon
        self.calls = 0
        self.eta, self.decay = 1.0, 1.0
        self.mean = 0.0
        self.ceiling = self.next_ceiling = -np.inf

    @property
    def cooled(self) -> bool:
        """Whether the threshold has tightened all the way."""
        return self.eta <= ETA_MIN

    def accept(self, value: float) -> bool:
        self.calls += 1
        if self.calls % WINDOW == 0:  # the best of the last window becomes the ceiling
            self.ceiling, self.next_ceiling = self.next_ceiling, -np.inf
            share = (time.perf_counter() - self.started) / self.limit
            expected = min(self.calls / max(share, 1e-9), self.horizon)  # rounds to go 1 -> 0.1
            self.decay = ETA_MIN ** (1.0 / max(expected, 1.0))
        self.next_ceiling = max(self.next_ceiling, value)
        self.ceiling = max(self.ceiling, value)
        self.mean += (value - self.mean) / min(self.calls, WINDOW)
        self.eta = max(self.eta * self.decay, ETA_MIN)
        return value > self.mean + (1.0 - self.eta) * (self.ceiling - self.mean)


def merge_search(
    model: SitingModel,
    start: NDArray[np.bool_] | None = None,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    search_share: float = 0.4,
    neighbours: int = 6,
    include: NDArray[np.bool_] | None = None,
    patience: int = MERGE_PATIENCE,
    chains: int = 1,
    target: float = np.inf,
) -> LocalSearchResult:
    """Iterated local search, then an exact solve restricted to the outlets its optima used.

    Construct, merge, solve (Blum et al.'s CMSA): the union of the columns open in the
    :data:`POOL_SIZE` best local optima of :func:`iterated_local_search` (``search_share`` of
    the time, ``patience`` as there; ``chains`` independent searches with seeds ``seed``,
    ``seed + 1``, ... side by side in forked processes, see :func:`search_chains`), widened by
    the ``neighbours`` columns that share the most covered weight with each of them, is a few
    times the plan size; HiGHS solves the model restricted to those columns (warm-started
    with the best plan, rows re-aggregated), and a local search polishes the result on the
    full model. While time remains, the restricted problem was solved to optimality and the
    last widening improved the plan, the neighbourhood doubles and the restricted solve
    repeats. ``include`` adds x columns to the union, e.g. the LP relaxation's support: swaps
    cannot trade several cheap outlets for one dear one, the restricted solve can. When
    :func:`swaps_suffice` and nothing is included there is no exact stage: the chains search
    the whole time (on the 24 Máximo instances the restricted solve never beat the plan it
    started from).

    No core waits for the exact stage: meanwhile the other chains search on from the best plan
    with fresh seeds, and this process does too once the stage is done. Side by side, a
    search that has gone ``patience`` rounds without a better plan goes on until all have
    (:class:`siting._fork.Quorum`), so no core idles, and an easy instance still returns
    early. A search stops once its plan reaches ``target`` (e.g. a bound). The best plan of all
    wins.
    """
    if not searchable(model):
        return _unsearchable(model, start)
    load_kernels()  # a first compilation does not eat the time limit
    started = time.perf_counter()
    deadline = started + time_limit_s
    exact = include is not None or not swaps_suffice(model)
    first, pool = _search_side_by_side(
        model,
        start,
        chains,
        time_limit_s=(search_share if exact else 1.0) * time_limit_s,
        seed=seed,
        patience=patience,
        target=target,
    )
    if not exact or first.objective >= target:
        return replace(first, seconds=time.perf_counter() - started)
    keep = np.zeros(model.num_x, dtype=bool)
    keep[first.columns] = True
    for _, member in pool:
        keep |= member
    if include is not None:
        keep |= include

    enlist = _quorum(chains)

    def solve_then_search() -> LocalSearchResult:
        busy = enlist()
        try:
            solved = _restricted_solves(model, keep, first, deadline, neighbours)
            return _search_on(model, solved, deadline, seed + chains, patience, busy, target)
        finally:
            if busy is not None:
                busy()  # settled, whether or not time was left to search

    def search(offset: int) -> Callable[[], LocalSearchResult]:
        def run() -> LocalSearchResult:
            busy, chain_seed = enlist(), seed + chains + offset
            return _search_on(model, first, deadline, chain_seed, patience, busy, target)

        return run

    others = [search(k) for k in range(1, chains)] if can_fork() else []
    outcomes = run_side_by_side(solve_then_search, others, deadline)
    best = max([first, *outcomes], key=lambda found: found.objective)
    return LocalSearchResult(
        opened=best.opened,
        objective=best.objective,
        columns=best.columns,
        iterations=first.iterations + sum(found.iterations for found in outcomes),
        restarts=first.restarts + sum(found.restarts for found in outcomes),
        seconds=time.perf_counter() - started,
    )


def _restricted_solves(
    model: SitingModel,
    keep: NDArray[np.bool_],
    best: LocalSearchResult,
    deadline: float,
    neighbours: int,
) -> LocalSearchResult:
    """The merge search's exact stage: HiGHS on ``keep`` and its neighbours, widening.

    Each solve is warm-started with the best plan and polished by a local search on the full
    model; the neighbourhood doubles while a solve is proven optimal, improves the plan and
    leaves time (see :func:`merge_search`). Returns the best plan, ``best`` if none beat it.
    """
    from siting.presolve import _drop_columns
    from siting.solvers import SolveOptions, Status, solve_model

    best_before = best.objective
    width = neighbours
    while deadline - time.perf_counter() > 0.5:  # widen while time allows and it is partial
        chosen = keep | _neighbours(model, np.flatnonzero(keep), per_column=width)
        restricted = _drop_columns(model, chosen)
        left = deadline - time.perf_counter()
        if left <= 0.5:
            return best
        solved = solve_model(
            restricted, options=SolveOptions(time_limit_s=0.85 * left, warm_start=best.opened)
        )
        improved = False
        if solved.values is not None:
            polished = local_search(
                model,
                restricted.open_matrix(solved.values),
                time_limit_s=max(0.1, deadline - time.perf_counter()),
            )
            improved = polished.objective > best_before
            if polished.objective > best.objective:
                best = polished
        if solved.status is not Status.OPTIMAL or chosen.all() or not improved:
            return best  # unproven, complete, or a wider neighbourhood found nothing better
        best_before = best.objective
        width *= 2
    return best


def _search_on(
    model: SitingModel,
    found: LocalSearchResult,
    deadline: float,
    seed: int,
    patience: int,
    busy: Callable[[], bool] | None = None,
    target: float = np.inf,
) -> LocalSearchResult:
    """An iterated local search from ``found`` until ``deadline``; the better of the two."""
    left = deadline - time.perf_counter()
    if left < MIN_SEARCH_S or found.objective >= target:
        if busy is not None:
            busy()  # settled: nothing to search, no search beside waits for this one
        return found
    searched = iterated_local_search(
        model,
        found.opened,
        time_limit_s=left,
        seed=seed,
        patience=patience,
        busy=busy,
        target=target,
    )
    return searched if searched.objective > found.objective else found


def search_chains(threads: int | None) -> int:
    """Search chains for ``threads`` (None: every usable core); 1 where fork is unavailable."""
    if not can_fork():
        return 1
    return max(1, threads if threads is not None else usable_cores())


def _search_side_by_side(
    model: SitingModel,
    start: NDArray[np.bool_] | None,
    chains: int,
    *,
    time_limit_s: float,
    seed: int,
    patience: int,
    target: float = np.inf,
) -> tuple[LocalSearchResult, Optima]:
    """``chains`` iterated local searches at once; the best plan and the pooled best optima.

    The first chain runs here, the others in forked processes (:mod:`siting._fork`); none
    stops on ``patience`` before all would (:class:`siting._fork.Quorum`). The
    pool holds the :data:`POOL_SIZE` best local optima of each chain, best first.
    """
    deadline = time.perf_counter() + time_limit_s
    enlist = _quorum(chains)

    def chain(offset: int) -> Callable[[], tuple[LocalSearchResult, Optima]]:
        def run() -> tuple[LocalSearchResult, Optima]:
            pool: Optima = []
            left = max(0.0, deadline - time.perf_counter())
            found = iterated_local_search(
                model,
                start,
                time_limit_s=left,
                seed=seed + offset,
                pool=pool,
                patience=patience,
                busy=enlist(),
                target=target,
            )
            return found, sorted(pool, key=lambda entry: -entry[0])[:POOL_SIZE]

        return run

    outcomes = run_side_by_side(chain(0), [chain(k) for k in range(1, chains)], deadline)
    best = max((found for found, _ in outcomes), key=lambda found: found.objective)
    pooled = sorted((entry for _, pool in outcomes for entry in pool), key=lambda e: -e[0])
    return best, pooled


def _quorum(chains: int) -> Callable[[], Callable[[], bool] | None]:
    """Each call: one more search's ``busy()`` in a shared quorum of ``chains``.

    See :class:`siting._fork.Quorum`. None when the searches run one after another (no fork).
    """
    if chains > 1 and can_fork():
        return Quorum(chains).member
    return lambda: None


def _neighbours(
    model: SitingModel, columns: NDArray[np.intp], *, per_column: int
) -> NDArray[np.bool_]:
    """Columns sharing the most covered weight with any of ``columns`` (``per_column`` each)."""
    keep = np.zeros(model.num_x, dtype=bool)
    if per_column <= 0 or columns.size == 0:
        return keep
    Y = sparse.csr_array(model.y_cover, dtype=np.float64)
    YT = sparse.csr_array(Y.T)
    weighted = YT[columns] @ sparse.diags_array(model.y_weight) @ Y  # |columns| x num_x
    weighted = sparse.csr_array(weighted)
    for i in range(weighted.shape[0]):
        start, end = weighted.indptr[i], weighted.indptr[i + 1]
        if end - start == 0:
            continue
        values = weighted.data[start:end]
        top = np.argsort(values)[-(per_column + 1) :]
        keep[weighted.indices[start:end][top]] = True
    return keep


def _descend(
    state: _State, deadline: float, max_moves: int, stop: Callable[[], bool] = lambda: False
) -> int:
    """Add moves while any helps, then first-improvement swap passes to a local optimum.

    A pass visits the open columns in random order and replaces each by the closed column
    that improves the plan most, if any; it stops after a pass without a move (a local
    optimum of the whole swap neighbourhood). The clock and ``stop()`` are read between passes.
    """
    tolerance = EPS * max(1.0, abs(state.objective()))
    moves = 0
    while moves < max_moves and time.perf_counter() < deadline and not stop():
        made, settled = state.descend_step(tolerance)
        moves += made
        if settled:
            break
    return moves


def _result(state: _State, moves: int, restarts: int, started: float) -> LocalSearchResult:
    model = state.model
    opened = np.zeros((model.problem.num_sites, len(model.problem.services)), dtype=bool)
    opened[model.x_site[state.open], model.x_service[state.open]] = True
    return LocalSearchResult(
        opened=opened,
        objective=state.objective(),
        columns=np.flatnonzero(state.open),
        iterations=moves,
        restarts=restarts,
        seconds=time.perf_counter() - started,
    )


__all__ = [
    "LocalSearchResult",
    "greedy_plan",
    "iterated_local_search",
    "local_search",
    "lp_guided_plan",
    "merge_search",
    "require_supported",
    "searchable",
    "supports_greedy",
    "swaps_suffice",
]
