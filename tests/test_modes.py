"""Every planning question against brute-force enumeration of every feasible plan."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from siting import (
    DataValidationError,
    Equity,
    InfeasibleError,
    Service,
    SitingProblem,
    Status,
    solve,
)
from siting._errors import SolverCapabilityError
from siting.model import ObjectiveSpec
from siting.results import community_shares, measure_plan, plan_cost, stage_value
from siting.solvers import SOLVERS, SolveOptions

EXACT = [name for name, b in SOLVERS.items() if b.is_available() and name != "heuristic"]


def random_problem(rng, *, n=10, m=4, K=2, **question) -> SitingProblem:
    services = []
    for k in range(K):
        decay = rng.random() < 0.4
        services.append(
            Service(
                f"s{k}",
                5,
                decay_minutes=9 if decay else None,
                decay_steps=2,
                priority=float(rng.choice([1.0, 2.0])),
                fit_out_cost=float(rng.integers(10, 40)),
                budget=float(rng.integers(30, 80)) if rng.random() < 0.3 else None,
                max_new=int(rng.integers(1, m + 1)) if rng.random() < 0.3 else None,
            )
        )
    minutes = rng.uniform(0, 10, (K, n, m))
    reach = minutes <= np.array([s.reach_minutes for s in services])[:, None, None]
    reach &= rng.random((K, n, m)) < 0.6
    coverage = [sparse.csr_array(np.where(reach[k], minutes[k], 0.0)) for k in range(K)]
    coverage = [
        sparse.csr_array(
            (
                minutes[k][reach[k]],
                np.nonzero(reach[k])[1],
                np.concatenate([[0], np.cumsum(reach[k].sum(1))]),
            ),
            shape=(n, m),
        )
        for k in range(K)
    ]
    credit = [
        sparse.csr_array((services[k].credit(c.data), c.indices, c.indptr), shape=c.shape)
        for k, c in enumerate(coverage)
    ]
    before = np.where(rng.random((n, K)) < 0.2, rng.choice([0.5, 1.0], (n, K)), 0.0)
    communities = rng.integers(0, 3, n)
    equity = Equity(
        groups=communities,
        names=("a", "b", "c"),
        min_share=question.pop("min_share", None),
        services=tuple(range(K)),
    )
    fixed = rng.integers(0, 30, m).astype(float)
    decision = rng.choice([0, 0, 0, 1, -1], m).astype(np.int8)
    cheapest = (fixed[:, None] + np.array([s.fit_out_cost for s in services])).min()
    return SitingProblem.from_arrays(
        coverage,
        rng.integers(0, 30, (n, K)).astype(float),
        services=services,
        credit=credit,
        population=rng.integers(1, 30, n).astype(float),
        credit_before=before,
        site_fixed_cost=fixed,
        site_capacity=rng.choice([1, 2, np.inf], m),
        site_decision=decision,
        budget=float(rng.uniform(cheapest, 4 * cheapest)) + float(fixed[decision == 1].sum()),
        equity=equity,
        site_groups=rng.integers(-1, 3, m),
        **question,
    )


def feasible(problem: SitingProblem, opened) -> bool:
    if (opened & ~problem.usable()).any() or (opened.sum(1) > problem.site_capacity).any():
        return False
    counts = opened.sum(0)
    for k, s in enumerate(problem.services):
        if counts[k] < s.min_new or (s.max_new is not None and counts[k] > s.max_new):
            return False
        if problem.fit_out_cost[opened[:, k], k].sum() > problem.service_budget[k] + 1e-9:
            return False
    if problem.budget is not None and plan_cost(problem, opened) > problem.budget + 1e-9:
        return False
    credit = measure_plan(problem, opened).credit
    totals = problem.weights.sum(0)
    for k in np.flatnonzero(np.isfinite(problem.targets)):
        if (problem.weights[:, k] * credit[:, k]).sum() < problem.targets[k] * totals[k] - 1e-9:
            return False
    if problem.equity is not None and problem.equity.min_share is not None:
        shares = community_shares(problem, credit)[:, list(problem.equity.services)]
        if (shares[np.isfinite(shares)] < problem.equity.min_share - 1e-9).any():
            return False
    if problem.min_new_per_group:
        groups = problem.site_groups
        hosting = problem.usable().any(axis=1)  # communities without usable sites are exempt
        for g in np.unique(groups[(groups >= 0) & hosting]):
            if opened[groups == g].sum() < problem.min_new_per_group:
                return False
    return True


def expected_stages(problem: SitingProblem) -> list[ObjectiveSpec]:
    K = len(problem.services)
    coverage = ObjectiveSpec(tuple(problem.priorities), circle_weight=problem.circle_weight)
    zeros = (0.0,) * K
    return {
        "min_cost": [ObjectiveSpec(zeros, cost_weight=-1.0), coverage],
        "complete_circle": [ObjectiveSpec(zeros, circle_weight=1.0), coverage],
        "max_min_share": [ObjectiveSpec(zeros, share_weight=1.0), coverage],
    }.get(problem.mode) or (
        [
            ObjectiveSpec(tuple(problem.priorities[k] if k in stage else 0.0 for k in range(K)))
            for stage in problem.stages
        ]
        or [coverage]
    )


def brute_force(problem: SitingProblem):
    """Lexicographically best stage values over every feasible plan, or None."""
    m, K = problem.num_sites, len(problem.services)
    stages = expected_stages(problem)
    best = None
    for bits in itertools.product([False, True], repeat=m * K):
        opened = np.array(bits).reshape(m, K)
        if not feasible(problem, opened):
            continue
        values = tuple(stage_value(problem, spec, opened) for spec in stages)
        if best is None or _better(values, best):
            best = values
    return best


def _better(a, b, tol=1e-7):
    for x, y in zip(a, b, strict=True):
        if x > y + tol * max(1, abs(y)):
            return True
        if x < y - tol * max(1, abs(y)):
            return False
    return False


QUESTIONS = {
    "max_coverage": {},
    "circle weight": {"circle_weight": 2.0, "circle": [0, 1]},
    "targets": {"targets": np.array([0.3, np.nan])},
    "min_cost": {"mode": "min_cost", "targets": np.array([0.3, 0.2])},
    "complete_circle": {"mode": "complete_circle"},
    "equity floor": {"min_share": 0.2},
    "max_min_share": {"mode": "max_min_share"},
    "lexicographic": {"stages": [[1], [0]]},
    "group minimum": {"min_new_per_group": 1},
}


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize("question", list(QUESTIONS))
@pytest.mark.parametrize("seed", range(5))
def test_every_question_matches_brute_force(backend, question, seed):
    rng = np.random.default_rng(seed * 101 + len(question))
    try:
        problem = random_problem(rng, **{k: v for k, v in QUESTIONS[question].items()})
    except DataValidationError:
        pytest.skip("budget below the cheapest usable outlet")
    try:
        SOLVERS[backend]().check(problem)
    except SolverCapabilityError:
        pytest.skip(f"{backend} does not answer this question (it says so)")
    expected = brute_force(problem)
    try:
        result = solve(problem, solver=backend, options=SolveOptions(time_limit_s=60))
    except InfeasibleError:
        assert expected is None
        return
    if expected is None:
        assert result.status is Status.INFEASIBLE, result.status
        return
    assert result.status is Status.OPTIMAL, (result.status, result.solver_message)
    achieved = tuple(stage_value(problem, spec, result.opened) for spec in expected_stages(problem))
    assert feasible(problem, result.opened)
    for got, want in zip(achieved, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-6)
    assert result.verified


def test_decay_credit_counts_partially():
    """One resident 7 minutes from the only site: half-way through a 5-9 minute decay band."""
    service = Service("shop", 5, decay_minutes=9, decay_steps=2, fit_out_cost=1)
    coverage = sparse.csr_array(np.array([[7.0]]))
    problem = SitingProblem.from_arrays(
        [coverage],
        np.array([100.0]),
        services=[service],
        credit=[sparse.csr_array(np.array([[float(service.credit(np.array([7.0]))[0])]]))],
        budget=1,
    )
    result = solve(problem)
    assert service.credit(np.array([7.0]))[0] == pytest.approx(0.75)
    assert result.objective == pytest.approx(75.0)
    assert result.services[0].covered_after == pytest.approx(75.0)
    assert result.services[0].fully_covered_after == 0.0


def test_unreachable_target_names_the_service_and_best_coverage():
    problem = SitingProblem.from_arrays(
        [np.array([[1, 0], [0, 0]], bool)],
        np.array([50.0, 50.0]),
        services=[Service("market", 10, fit_out_cost=1, target_share=0.8)],
        mode="min_cost",
    )
    with pytest.raises(
        InfeasibleError,
        match=r"'market': target 80 % cannot be reached .* best reachable coverage is 50.00 %",
    ):
        solve(problem)


def test_equity_floor_out_of_reach_names_the_community():
    problem = SitingProblem.from_arrays(
        [np.array([[1], [0]], bool)],
        np.array([10.0, 10.0]),
        services=[Service("market", 10, fit_out_cost=1)],
        equity=Equity(
            groups=np.array([0, 1]), names=("east", "west"), min_share=0.5, services=(0,)
        ),
    )
    with pytest.raises(
        InfeasibleError, match=r"community 'west': service 'market' can reach at most 0.00 %"
    ):
        solve(problem)


def test_mode_needs_its_ingredients():
    with pytest.raises(DataValidationError, match="min_cost' needs a coverage target"):
        SitingProblem.from_arrays(
            [np.ones((1, 1), bool)], np.ones(1), services=[Service("a", 5)], mode="min_cost"
        )
    with pytest.raises(DataValidationError, match="max_min_share' needs communities"):
        SitingProblem.from_arrays(
            [np.ones((1, 1), bool)], np.ones(1), services=[Service("a", 5)], mode="max_min_share"
        )
