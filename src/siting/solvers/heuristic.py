"""Greedy construction on the built model's arrays: a fast feasible plan.

Used to warm-start exact backends, so that a run stopped by its time limit always holds a plan
at least as good as greedy. The greedy adds, one at a time, the outlet with the largest newly
covered weight per unit of cost (fixed cost counted only for a site not yet used) that the
budget, site capacity, floor area and per-service maximum still allow. Gains are updated
incrementally: opening an outlet subtracts the rows it newly covers from every other outlet that
reaches them, so the whole construction costs O(nonzeros + outlets x columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from siting.model import SitingModel

EPS = 1e-12


def greedy_plan(model: SitingModel) -> NDArray[np.bool_] | None:
    """The better of the greedy plan and the best single affordable outlet.

    Taking the better of the two keeps greedy from being fooled by one expensive outlet that
    covers many residents (the classic budgeted-coverage safeguard).
    """
    plan = _ratio_greedy(model)
    if plan is None or any(s.min_new for s in model.problem.services):
        return plan
    single = _best_single_outlet(model)
    if single is not None and model.objective_of(single) > model.objective_of(plan):
        return single
    return plan


def _best_single_outlet(model: SitingModel) -> NDArray[np.bool_] | None:
    problem = model.problem
    gain = model.y_cover.astype(np.float64).T.tocsr() @ model.y_weight
    cost = (problem.fit_out_cost + problem.site_fixed_cost[:, None])[model.x_site, model.x_service]
    budget = np.inf if problem.budget is None else problem.budget
    ok = cost <= budget + EPS
    if not ok.any():
        return None
    c = int(np.argmax(np.where(ok, gain, -np.inf)))
    opened = np.zeros((problem.num_sites, len(problem.services)), dtype=bool)
    opened[model.x_site[c], model.x_service[c]] = True
    return opened


def _ratio_greedy(model: SitingModel) -> NDArray[np.bool_] | None:
    """A feasible (m, K) plan built greedily, or None if greedy cannot meet the minimum counts."""
    problem = model.problem
    services = problem.services
    x_site, x_service = model.x_site, model.x_service
    num_x = model.num_x
    opened = np.zeros((problem.num_sites, len(services)), dtype=bool)
    if num_x == 0:
        return opened if all(s.min_new == 0 for s in services) else None

    by_row = model.y_cover.astype(np.float64).tocsr()
    by_column = by_row.T.tocsr()
    weight = model.y_weight.copy()
    gain = by_column @ weight
    fit_out = problem.fit_out_cost[x_site, x_service]
    fixed = problem.site_fixed_cost[x_site]
    area_of = np.array([s.floor_area_m2 for s in services])[x_service]
    budget_left = np.inf if problem.budget is None else problem.budget
    capacity_left = problem.site_capacity.astype(np.float64).copy()
    area_left = problem.site_floor_area_m2.astype(np.float64).copy()
    count = np.zeros(len(services), dtype=np.int64)
    max_new = np.array([np.inf if s.max_new is None else s.max_new for s in services])
    min_new = np.array([s.min_new for s in services])
    site_used = np.zeros(problem.num_sites, dtype=bool)
    available = np.ones(num_x, dtype=bool)

    def cost_now() -> NDArray[np.float64]:
        return fit_out + np.where(site_used[x_site], 0.0, fixed)

    def open_column(c: int) -> None:
        nonlocal budget_left
        j, k = x_site[c], x_service[c]
        budget_left -= cost_now()[c]
        opened[j, k] = True
        site_used[j] = True
        capacity_left[j] -= 1
        area_left[j] -= area_of[c]
        count[k] += 1
        available[c] = False
        rows = by_column.indices[by_column.indptr[c] : by_column.indptr[c + 1]]
        rows = rows[weight[rows] > 0]
        if rows.size:
            covering = by_row[rows]
            lost = np.repeat(weight[rows], np.diff(covering.indptr))
            gain[:] -= np.bincount(covering.indices, weights=lost, minlength=num_x)
            weight[rows] = 0.0

    def feasible(cost: NDArray[np.float64]) -> NDArray[np.bool_]:
        return (
            available
            & (cost <= budget_left + EPS)
            & (capacity_left[x_site] >= 1)
            & (area_of <= area_left[x_site] + EPS)
            & (count[x_service] < max_new[x_service])
        )

    # First meet the minimum counts, cheapest useful outlets first.
    for k in np.flatnonzero(min_new > 0):
        while count[k] < min_new[k]:
            cost = cost_now()
            ok = feasible(cost) & (x_service == k)
            if not ok.any():
                return None
            score = np.where(ok, gain - 1e-9 * cost, -np.inf)
            open_column(int(np.argmax(score)))

    while True:
        cost = cost_now()
        ok = feasible(cost) & (gain > EPS)
        if not ok.any():
            return opened
        ratio = np.where(ok, gain / np.maximum(cost, EPS), -np.inf)
        open_column(int(np.argmax(ratio)))
