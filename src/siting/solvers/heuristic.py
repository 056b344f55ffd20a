"""Greedy construction, swap local search and an LP bound, on the built model's arrays.

The ``heuristic`` backend answers weighted-coverage questions (``max_coverage`` with budgets,
capacities, floor areas, counts and must-use sites) on instances too large to prove, and says
honestly how far from proven it is:

1. **Greedy**: add, one at a time, the outlet with the largest newly covered weight per unit
   of cost (a site's fixed cost counted only while it is unused) that every limit still
   allows; keep the better of that and the best single outlet (the budgeted-coverage
   safeguard). Gains are updated incrementally over the CSR structure.
2. **Swap local search**: replace one open outlet by a closed one whenever that covers more
   weight and stays feasible, best move first, then refill any money freed; until no swap
   improves or time runs out. For an open outlet ``c`` and a closed one ``d`` the change is
   ``gain(d) - loss(c) + shared(c, d)``, where ``shared`` (weight covered only by ``c`` that
   ``d`` also covers) comes from one sparse product per batch of candidates.
3. **Bound**: the LP relaxation of the same model, solved by HiGHS, is a valid upper bound;
   if it cannot finish in the time left, the total reachable weight is reported instead.

Exact backends use :func:`greedy_plan` as their warm start.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import SolverCapabilityError
from siting.problem import MUST
from siting.solvers.base import SolveOptions, Solver, SolveResult, Status
from siting.solvers.highs import highs_with

if TYPE_CHECKING:
    from siting.model import SitingModel
    from siting.problem import SitingProblem

EPS = 1e-9
CANDIDATE_BATCH = 256


def supports_greedy(problem: SitingProblem) -> bool:
    """True if greedy and swaps respect every constraint of ``problem``.

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


class _Plan:
    """A feasible plan over the model's x columns, with every count and sum kept current."""

    def __init__(self, model: SitingModel) -> None:
        problem = model.problem
        self.model = model
        self.site = model.x_site
        self.service = model.x_service
        self.by_row = model.y_cover.astype(np.float64).tocsr()
        self.by_column = self.by_row.T.tocsr()
        self.weight = model.y_weight
        self.fit_out = problem.fit_out_cost[self.site, self.service]
        must = problem.site_decision == MUST
        self.fixed = np.where(must, 0.0, problem.site_fixed_cost)
        self.area = np.array([s.floor_area_m2 for s in problem.services])[self.service]
        self.budget = (np.inf if problem.budget is None else problem.budget) - float(
            problem.site_fixed_cost[must].sum()
        )
        self.service_budget = problem.service_budget.astype(np.float64)
        self.capacity = problem.site_capacity.astype(np.float64)
        self.floor = problem.site_floor_area_m2.astype(np.float64)
        self.max_new = np.array(
            [np.inf if s.max_new is None else s.max_new for s in problem.services]
        )
        self.min_new = np.array([s.min_new for s in problem.services])
        self.open = np.zeros(model.num_x, dtype=bool)
        self.cover_count = np.zeros(model.num_y, dtype=np.int64)
        self.site_count = np.zeros(problem.num_sites, dtype=np.int64)
        self.site_area = np.zeros(problem.num_sites)
        self.service_count = np.zeros(len(problem.services), dtype=np.int64)
        self.service_spent = np.zeros(len(problem.services))
        self.spent = 0.0

    # ---------------------------------------------------------------- moves

    def add_cost(self) -> NDArray[np.float64]:
        """Cost of opening each column now (fixed cost only if its site is unused)."""
        return self.fit_out + np.where(self.site_count[self.site] > 0, 0.0, self.fixed[self.site])

    def can_add(self) -> NDArray[np.bool_]:
        """Columns that could open now without breaking a limit."""
        return (
            ~self.open
            & (self.add_cost() <= self.budget - self.spent + EPS)
            & (
                self.fit_out
                <= self.service_budget[self.service] - self.service_spent[self.service] + EPS
            )
            & (self.site_count[self.site] + 1 <= self.capacity[self.site])
            & (self.site_area[self.site] + self.area <= self.floor[self.site] + EPS)
            & (self.service_count[self.service] + 1 <= self.max_new[self.service])
        )

    def rows_of(self, c: int) -> NDArray[np.int32]:
        return self.by_column.indices[self.by_column.indptr[c] : self.by_column.indptr[c + 1]]

    def toggle(self, c: int, *, opening: bool) -> None:
        j, k, sign = self.site[c], self.service[c], 1 if opening else -1
        if opening:
            self.spent += self.add_cost()[c]
        else:
            self.spent -= self.fit_out[c] + (self.fixed[j] if self.site_count[j] == 1 else 0.0)
        self.open[c] = opening
        self.site_count[j] += sign
        self.site_area[j] += sign * self.area[c]
        self.service_count[k] += sign
        self.service_spent[k] += sign * self.fit_out[c]
        self.cover_count[self.rows_of(c)] += sign

    # ---------------------------------------------------------------- measures

    def value(self) -> float:
        return float(self.weight[self.cover_count > 0].sum())

    def gains(self) -> NDArray[np.float64]:
        """Weight each column would newly cover."""
        return self.by_column @ (self.weight * (self.cover_count == 0))

    def losses(self) -> NDArray[np.float64]:
        """Weight each (open) column covers alone."""
        return self.by_column @ (self.weight * (self.cover_count == 1))

    def opened_matrix(self) -> NDArray[np.bool_]:
        problem = self.model.problem
        opened = np.zeros((problem.num_sites, len(problem.services)), dtype=bool)
        opened[self.site[self.open], self.service[self.open]] = True
        return opened


def greedy_plan(model: SitingModel) -> NDArray[np.bool_] | None:
    """The better of the ratio-greedy plan and the best single outlet.

    None if greedy cannot meet the services' minimum counts.
    """
    plan = _ratio_greedy(model)
    if plan is None:
        return None
    if not plan.min_new.any():
        single = _Plan(model)
        ok = single.can_add()
        if ok.any():
            c = int(np.argmax(np.where(ok, single.gains(), -np.inf)))
            single.toggle(c, opening=True)
            if single.value() > plan.value():
                return single.opened_matrix()
    return plan.opened_matrix()


def _ratio_greedy(model: SitingModel) -> _Plan | None:
    plan = _Plan(model)
    if model.num_x == 0:
        return plan if not plan.min_new.any() else None
    gain = plan.gains()
    weight_left = plan.weight.copy()

    def open_column(c: int) -> None:
        plan.toggle(c, opening=True)
        rows = plan.rows_of(c)
        rows = rows[weight_left[rows] > 0]
        if rows.size:
            covering = plan.by_row[rows]
            lost = np.repeat(weight_left[rows], np.diff(covering.indptr))
            gain[:] -= np.bincount(covering.indices, weights=lost, minlength=model.num_x)
            weight_left[rows] = 0.0

    for k in np.flatnonzero(plan.min_new > 0):  # minimum counts first, best gain first
        while plan.service_count[k] < plan.min_new[k]:
            ok = plan.can_add() & (plan.service == k)
            if not ok.any():
                return None
            open_column(int(np.argmax(np.where(ok, gain - 1e-9 * plan.add_cost(), -np.inf))))
    while True:
        ok = plan.can_add() & (gain > EPS)
        if not ok.any():
            return plan
        ratio = np.where(ok, gain / np.maximum(plan.add_cost(), EPS), -np.inf)
        open_column(int(np.argmax(ratio)))


def local_search(
    model: SitingModel, opened: NDArray[np.bool_], *, deadline: float
) -> NDArray[np.bool_]:
    """Improve a feasible plan by best-improvement swaps and refills until none helps.

    Parameters
    ----------
    model
        The built model.
    opened
        A feasible (m, K) plan.
    deadline
        ``time.perf_counter()`` value at which to stop.
    """
    plan = _Plan(model)
    for c in np.flatnonzero(opened[model.x_site, model.x_service]):
        plan.toggle(int(c), opening=True)
    _refill(plan)
    while time.perf_counter() < deadline:
        if _best_swap(plan, deadline) or _drop_and_refill(plan, deadline):
            _refill(plan)
            continue
        break
    return plan.opened_matrix()


def _drop_and_refill(plan: _Plan, deadline: float) -> bool:
    """Close one outlet and refill greedily, keeping the first change that covers more.

    Reaches plans a one-for-one swap cannot when the budget binds: one expensive outlet
    traded for several cheaper ones. Outlets are tried in order of least weight per cost.
    """
    before = plan.value()
    opened = np.flatnonzero(plan.open)
    removable = plan.service_count[plan.service[opened]] - 1 >= plan.min_new[plan.service[opened]]
    opened = opened[removable]
    cost = plan.fit_out[opened] + plan.fixed[plan.site[opened]]
    order = opened[np.argsort(plan.losses()[opened] / np.maximum(cost, EPS), kind="stable")]
    for c in order:
        if time.perf_counter() > deadline:
            return False
        snapshot = plan.open.copy()
        plan.toggle(int(c), opening=False)
        added = _refill(plan, exclude=int(c))
        if plan.value() > before + EPS * max(1.0, before):
            return True
        for d in added[::-1]:
            plan.toggle(d, opening=False)
        plan.toggle(int(c), opening=True)
        if not np.array_equal(plan.open, snapshot):  # pragma: no cover - defensive
            msg = "local search lost track of the plan"
            raise RuntimeError(msg)
    return False


def _refill(plan: _Plan, *, exclude: int = -1) -> list[int]:
    """Add affordable outlets with positive gain, best ratio first; return those added."""
    added: list[int] = []
    while True:
        gain = plan.gains()
        ok = plan.can_add() & (gain > EPS)
        if exclude >= 0:
            ok[exclude] = False
        if not ok.any():
            return added
        c = int(np.argmax(np.where(ok, gain / np.maximum(plan.add_cost(), EPS), -np.inf)))
        plan.toggle(c, opening=True)
        added.append(c)


def _best_swap(plan: _Plan, deadline: float) -> bool:
    """Apply the best improving feasible swap found; False if there is none."""
    opened = np.flatnonzero(plan.open)
    if opened.size == 0:
        return False
    gain, loss = plan.gains(), plan.losses()
    closed = np.flatnonzero(~plan.open & (gain > EPS))
    closed = closed[np.argsort(-gain[closed], kind="stable")]
    unique = plan.weight * (plan.cover_count == 1)
    alone = sparse.csr_array(plan.by_column[opened].multiply(unique[None, :]))
    removable = plan.service_count[plan.service[opened]] - 1 >= plan.min_new[plan.service[opened]]
    best_delta, best_pair = EPS * max(1.0, plan.value()), None
    for start in range(0, closed.size, CANDIDATE_BATCH):
        if time.perf_counter() > deadline:
            break
        batch = closed[start : start + CANDIDATE_BATCH]
        if gain[batch[0]] <= best_delta:
            break  # a swap adds at most its candidate's gain; candidates are sorted by gain
        shared = (alone @ plan.by_column[batch].T).toarray()  # (open, batch)
        delta = gain[batch][None, :] - loss[opened][:, None] + shared
        feasible = _swap_feasible(plan, opened, batch) & removable[:, None]
        delta = np.where(feasible, delta, -np.inf)
        i, d = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[i, d] > best_delta:
            best_delta, best_pair = float(delta[i, d]), (int(opened[i]), int(batch[d]))
    if best_pair is None:
        return False
    plan.toggle(best_pair[0], opening=False)
    plan.toggle(best_pair[1], opening=True)
    return True


def _swap_feasible(plan: _Plan, out: NDArray[np.intp], into: NDArray[np.intp]) -> NDArray[np.bool_]:
    """(len(out), len(into)) True where closing out[a] and opening into[b] keeps every limit."""
    j_out, j_in = plan.site[out][:, None], plan.site[into][None, :]
    k_out, k_in = plan.service[out][:, None], plan.service[into][None, :]
    same_site = j_out == j_in
    same_service = k_out == k_in
    frees_site = plan.site_count[j_out] == 1
    site_count_in = plan.site_count[j_in] - same_site
    fixed_out = np.where(frees_site, plan.fixed[j_out], 0.0)
    fixed_in = np.where(site_count_in == 0, plan.fixed[j_in], 0.0)
    spent = (
        plan.spent - plan.fit_out[out][:, None] - fixed_out + plan.fit_out[into][None, :] + fixed_in
    )
    service_spent = (
        plan.service_spent[k_in]
        - np.where(same_service, plan.fit_out[out][:, None], 0.0)
        + plan.fit_out[into][None, :]
    )
    area = (
        plan.site_area[j_in]
        - np.where(same_site, plan.area[out][:, None], 0.0)
        + plan.area[into][None, :]
    )
    count = plan.service_count[k_in] - same_service + 1
    return (
        (spent <= plan.budget + EPS)
        & (service_spent <= plan.service_budget[k_in] + EPS)
        & (site_count_in + 1 <= plan.capacity[j_in])
        & (area <= plan.floor[j_in] + EPS)
        & (count <= plan.max_new[k_in])
    )


def lp_relaxation(
    model: SitingModel, *, time_limit_s: float | None, threads: int | None = None
) -> tuple[float, NDArray[np.float64]] | None:
    """The LP relaxation's optimum (a valid upper bound) and its x values; None if unfinished."""
    options = SolveOptions(
        time_limit_s=None if time_limit_s is None else max(0.01, time_limit_s), threads=threads
    )
    h = highs_with(model.milp, options, relax=True)
    h.run()
    if h.getModelStatus().name != "kOptimal":
        return None
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    return float(max(h.getInfo().objective_function_value, 0.0)), values[: model.num_x]


def lp_guided_plan(model: SitingModel, x: NDArray[np.float64]) -> NDArray[np.bool_] | None:
    """Open outlets in order of their LP value (then gain per cost) while limits allow."""
    plan = _Plan(model)
    for k in np.flatnonzero(plan.min_new > 0):
        while plan.service_count[k] < plan.min_new[k]:
            ok = plan.can_add() & (plan.service == k)
            if not ok.any():
                return None
            plan.toggle(int(np.argmax(np.where(ok, x, -np.inf))), opening=True)
    for c in np.argsort(-x, kind="stable"):
        if x[c] <= 1e-6:
            break
        if plan.can_add()[c] and plan.gains()[c] > EPS:
            plan.toggle(int(c), opening=True)
    _refill(plan)
    return plan.opened_matrix()


class HeuristicSolver(Solver):
    """Greedy + swap local search with an LP upper bound; never claims optimality unproven."""

    name: ClassVar[str] = "heuristic"
    required_modules: ClassVar[tuple[str, ...]] = ("highspy",)

    def check(self, problem: SitingProblem) -> None:
        """Refuse questions the heuristic cannot answer, naming a backend that can."""
        if not supports_greedy(problem):
            msg = (
                "solver 'heuristic' answers max_coverage questions with budgets, capacities and "
                "counts only; this scenario uses targets, equity, the complete circle, "
                'community minimums or stages: use solver = "highs" (or cbc, ortools)'
            )
            raise SolverCapabilityError(msg)

    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """Greedy + swaps, then the LP relaxation (bound and a second, LP-guided start)."""
        started = time.perf_counter()
        limit = options.time_limit_s if options.time_limit_s is not None else 600.0
        start = options.warm_start if options.warm_start is not None else greedy_plan(model)
        if start is None:
            runtime = time.perf_counter() - started
            message = "greedy could not meet the minimum counts"
            return SolveResult(Status.NO_SOLUTION, None, None, None, self.name, runtime, message)
        plans = [local_search(model, start, deadline=started + 0.3 * limit)]
        remaining = limit - (time.perf_counter() - started)
        relaxation = lp_relaxation(model, time_limit_s=0.6 * remaining, threads=options.threads)
        bound = model.coverage_bound
        if relaxation is not None:
            bound, x = relaxation
            guided = lp_guided_plan(model, x)
            if guided is not None:
                plans.append(local_search(model, guided, deadline=started + 0.95 * limit))
        plan = max(plans, key=model.objective_of)
        values = model.values_from_open(plan)
        objective = float(model.milp.c @ values)
        bound = max(bound, objective)
        gap = (bound - objective) / max(abs(objective), 1.0)
        status = Status.OPTIMAL if gap <= max(options.mip_gap, 1e-9) else Status.FEASIBLE
        return SolveResult(
            status,
            values,
            objective,
            bound,
            self.name,
            time.perf_counter() - started,
            f"greedy + swaps; LP bound gap {100 * gap:.4f} %",
        )
