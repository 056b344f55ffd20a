"""The model on hand-checkable instances and against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting import DataValidationError, InfeasibleError, Service, SitingProblem, Status, solve
from siting.model import build_model
from siting.results import covered_by_plan, plan_cost, plan_value
from siting.solvers import SOLVERS, SolveOptions

BACKENDS = [
    name for name, backend in SOLVERS.items() if backend.is_available() and name != "heuristic"
]

# Six residents on a line and three sites (the tiny scenario of conftest.py, by hand):
# site 0 reaches demand 0-2, site 1 reaches 3-4, site 2 reaches 5.
REACH = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
POPULATION = np.array([100, 200, 300, 400, 500, 600.0])


def tiny(*, budget=300.0, capacity=(2, 2, 2), served=None, **service_changes) -> SitingProblem:
    services = [
        Service("shop", 3, fit_out_cost=50, **service_changes.get("shop", {})),
        Service("care", 3, segment="elderly", fit_out_cost=50, **service_changes.get("care", {})),
    ]
    if served is None:
        served = np.zeros((6, 2), bool)
        served[5, 0] = True  # an existing shop already serves the last resident
    return SitingProblem.from_arrays(
        [REACH, REACH],
        np.column_stack([POPULATION, POPULATION / 10]),
        services=services,
        served_before=served,
        site_fixed_cost=np.full(3, 100.0),
        site_capacity=np.array(capacity, float),
        budget=budget,
        site_ids=["s1", "s2", "s3"],
    )


def opened_sites(result):
    return {(s.site_id, k) for s in result.selected for k in s.services}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("budget", "capacity", "objective", "plan"),
    [
        # two single-service sites beat one shared site: 600 + 900
        (300, (2, 2, 2), 1500, {("s1", "shop"), ("s2", "shop")}),
        # the shared fixed cost makes both services at s1 and s2 affordable
        (400, (2, 2, 2), 1650, {("s1", "shop"), ("s1", "care"), ("s2", "shop"), ("s2", "care")}),
        # s2 can host one service only
        (400, (2, 1, 2), 1560, {("s1", "shop"), ("s1", "care"), ("s2", "shop")}),
        # with 550: add care at s3 (its shop would add nothing: existing outlet)
        (
            550,
            (2, 2, 2),
            1710,
            {("s1", "shop"), ("s1", "care"), ("s2", "shop"), ("s2", "care"), ("s3", "care")},
        ),
    ],
)
def test_hand_checked_optima(backend, budget, capacity, objective, plan):
    result = solve(tiny(budget=budget, capacity=capacity), solver=backend)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(objective)
    assert result.bound == pytest.approx(objective)
    assert result.gap == pytest.approx(0.0)
    assert opened_sites(result) == plan
    assert result.total_cost <= budget
    assert result.verified


@pytest.mark.parametrize("backend", BACKENDS)
def test_existing_outlet_counts_before_and_after(backend):
    result = solve(tiny(budget=300), solver=backend)
    shop, care = result.services
    assert shop.covered_before == 600 and shop.total_population == 2100
    assert shop.covered_after == 2100 and shop.coverage_pct == pytest.approx(100.0)
    assert care.covered_before == 0 and care.covered_after == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_and_min_counts(backend):
    result = solve(tiny(budget=1000, shop={"max_new": 1}), solver=backend)
    assert result.services[0].new_outlets == 1
    result = solve(tiny(budget=1000, care={"min_new": 3}), solver=backend)
    assert result.services[1].new_outlets == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible_minimum_is_reported_not_raised(backend):
    result = solve(tiny(budget=300, shop={"min_new": 3}), solver=backend)
    assert result.status is Status.INFEASIBLE
    assert result.selected == () and result.objective is None


def test_minimum_above_available_sites_is_proven_before_solving():
    problem = tiny(budget=1000, capacity=(0, 2, 2), shop={"min_new": 3})
    with pytest.raises(InfeasibleError, match=r"min_new = 3 .* only 2 candidate site"):
        build_model(problem)


def test_budget_below_cheapest_outlet():
    with pytest.raises(
        DataValidationError, match=r"budget = 100 is below the cheapest possible outlet: 150"
    ):
        tiny(budget=100)


def test_bad_arrays_are_rejected():
    with pytest.raises(DataValidationError, match=r"weights has 1 NaN"):
        SitingProblem.from_arrays(
            [REACH], np.array([1, np.nan, 1, 1, 1, 1.0]), services=[Service("a", 5)]
        )
    with pytest.raises(DataValidationError, match="site_fixed_cost has shape"):
        SitingProblem.from_arrays(
            [REACH], POPULATION, services=[Service("a", 5)], site_fixed_cost=np.ones(4)
        )
    with pytest.raises(DataValidationError, match="2 matrices for 1 services"):
        SitingProblem.from_arrays([REACH, REACH], POPULATION, services=[Service("a", 5)])


def test_redundant_outlets_are_not_bought():
    # Unlimited budget: every useful outlet opens, but never the shop at s3 (existing outlet).
    result = solve(tiny(budget=10_000))
    assert ("s3", "shop") not in opened_sites(result)
    assert result.total_cost == 3 * 100 + 5 * 50


def test_aggregation_shrinks_the_model():
    model = build_model(tiny(budget=300))
    # shop: demand 0-2 share site 0, 3-4 share site 1, demand 5 already served -> 2 rows
    # care: 3 distinct covering sets -> 3 rows
    assert model.stats["demand_rows_aggregated"] == 5
    assert model.stats["demand_rows_reachable"] == 11


# ---------------------------------------------------------------- brute force


def random_problem(rng, n, m, K):
    services = []
    for k in range(K):
        max_new = int(rng.integers(1, m + 1)) if rng.random() < 0.4 else None
        min_new = int(rng.integers(0, 2)) if rng.random() < 0.2 else 0
        if max_new is not None:
            min_new = min(min_new, max_new)
        services.append(
            Service(
                f"s{k}",
                5,
                priority=float(rng.choice([1.0, 1.5, 3.0])),
                fit_out_cost=float(rng.integers(10, 60)),
                max_new=max_new,
                min_new=min_new,
                floor_area_m2=float(rng.choice([0, 50, 120])),
            )
        )
    coverage = [rng.random((n, m)) < rng.uniform(0.1, 0.5) for _ in range(K)]
    weights = rng.integers(0, 50, (n, K)).astype(float)
    served = rng.random((n, K)) < 0.15
    fixed = rng.integers(0, 80, m).astype(float)
    capacity = rng.choice([1, 2, 3, np.inf], m)
    area = rng.choice([100, 200, np.inf], m)
    allowed = rng.random((m, K)) < 0.85
    cheapest = (fixed[:, None] + np.array([s.fit_out_cost for s in services])).min()
    budget = float(rng.uniform(cheapest, cheapest * 4))
    return SitingProblem.from_arrays(
        coverage,
        weights,
        services=services,
        served_before=served,
        site_fixed_cost=fixed,
        site_capacity=capacity,
        site_floor_area_m2=area,
        allowed=allowed,
        budget=budget,
    )


def brute_force(problem: SitingProblem) -> float | None:
    """Best plan value over every feasible plan, or None if no plan is feasible."""
    m, K = problem.num_sites, len(problem.services)
    usable = problem.usable()
    area = np.array([s.floor_area_m2 for s in problem.services])
    best = None
    for bits in itertools.product([False, True], repeat=m * K):
        opened = np.array(bits).reshape(m, K)
        if (opened & ~usable).any():
            continue
        if (opened.sum(axis=1) > problem.site_capacity).any():
            continue
        if ((opened * area).sum(axis=1) > problem.site_floor_area_m2).any():
            continue
        counts = opened.sum(axis=0)
        if any(
            c < s.min_new or (s.max_new is not None and c > s.max_new)
            for c, s in zip(counts, problem.services, strict=False)
        ):
            continue
        if plan_cost(problem, opened) > problem.budget + 1e-9:
            continue
        value = plan_value(problem, opened)
        best = value if best is None else max(best, value)
    return best


CASES = [(12, 6, 2), (10, 4, 3), (14, 12, 1), (8, 3, 3)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("n", "m", "K"), CASES)
@pytest.mark.parametrize("seed", range(4))
def test_solver_matches_brute_force(backend, n, m, K, seed):
    rng = np.random.default_rng(1000 * seed + 10 * m + K)
    try:
        problem = random_problem(rng, n, m, K)
    except DataValidationError:
        pytest.skip("budget below the cheapest usable outlet")
    expected = brute_force(problem)
    try:
        result = solve(problem, solver=backend, options=SolveOptions(time_limit_s=60))
    except InfeasibleError:
        assert expected is None
        return
    if expected is None:
        assert result.status is Status.INFEASIBLE
        return
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected, abs=1e-6)
    assert result.total_cost <= problem.budget + 1e-6
    assert result.verified
    # independent recomputation of coverage from the plan
    covered = covered_by_plan(problem, result.opened)
    for k, outcome in enumerate(result.services):
        assert outcome.covered_after == pytest.approx(problem.weights[covered[:, k], k].sum())
