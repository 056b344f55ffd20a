"""One conformance suite for every backend: same optima, honest statuses, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from siting import Service, SitingProblem, SolverUnavailableError, Status, solve
from siting.results import plan_cost, plan_value
from siting.solvers import SOLVERS, SolveOptions, get_solver

AVAILABLE = [name for name, backend in SOLVERS.items() if backend.is_available()]
EXACT = [name for name in AVAILABLE if name != "heuristic"]


def synthetic_problem(
    seed: int, *, n: int = 600, m: int = 60, budget: float = 600.0
) -> SitingProblem:
    """Clustered demand and sites in a 3 km square, three services with different reaches."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 3000, (6, 2))
    demand = centres[rng.integers(0, 6, n)] + rng.normal(0, 300, (n, 2))
    sites = centres[rng.integers(0, 6, m)] + rng.normal(0, 400, (m, 2))
    distance = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    services = [
        Service("near", 5, fit_out_cost=40),
        Service("mid", 8, fit_out_cost=70, priority=1.5),
        Service("far", 12, fit_out_cost=120, max_new=3),
    ]
    coverage = [sparse.csr_array(distance <= s.walk_minutes * 60) for s in services]
    return SitingProblem.from_arrays(
        coverage,
        rng.integers(50, 500, n).astype(float),
        services=services,
        site_fixed_cost=rng.integers(0, 60, m).astype(float),
        site_capacity=rng.choice([1, 2, 3], m).astype(float),
        budget=budget,
    )


@pytest.mark.parametrize("seed", range(3))
def test_exact_backends_agree_on_the_optimum(seed):
    problem = synthetic_problem(seed, n=400, m=45, budget=450.0)
    values = {}
    for name in EXACT:
        result = solve(problem, solver=name, options=SolveOptions(time_limit_s=120))
        assert result.status is Status.OPTIMAL, (name, result.solver_message)
        assert result.verified
        assert plan_cost(problem, result.opened) <= problem.budget + 1e-6
        values[name] = result.objective
    reference = values["highs"]
    for value in values.values():
        assert value == pytest.approx(reference, rel=1e-9), values


@pytest.mark.parametrize("seed", range(3))
def test_heuristic_is_honest(seed):
    problem = synthetic_problem(seed)
    optimum = solve(problem).objective
    result = solve(problem, solver="heuristic", options=SolveOptions(time_limit_s=30))
    assert result.status in {Status.FEASIBLE, Status.OPTIMAL}
    assert result.objective <= optimum + 1e-6
    assert result.bound >= optimum - 1e-6  # a valid bound
    if result.status is Status.OPTIMAL:
        assert result.gap <= 1e-9
    assert result.objective == pytest.approx(plan_value(problem, result.opened))
    assert result.objective >= 0.97 * optimum  # greedy + swaps stay close on these cities


@pytest.mark.parametrize("backend", EXACT)
def test_time_limit_returns_a_plan_with_bound_and_gap(backend):
    problem = synthetic_problem(7, n=4000, m=300, budget=2500.0)
    result = solve(problem, solver=backend, options=SolveOptions(time_limit_s=0.2))
    assert result.status in {Status.TIME_LIMIT, Status.OPTIMAL}, result.solver_message
    assert result.objective is not None and result.bound is not None
    assert result.bound >= result.objective - 1e-6
    summary = result.summary()
    assert summary["proven_optimal"] is (result.status is Status.OPTIMAL and result.gap <= 1e-9)
    assert plan_cost(problem, result.opened) <= problem.budget + 1e-6


@pytest.mark.parametrize("backend", AVAILABLE)
def test_explicit_warm_start_is_accepted(backend):
    problem = synthetic_problem(3, n=400, m=45, budget=450.0)
    start = solve(problem, solver="heuristic").opened
    result = solve(problem, solver=backend, options=SolveOptions(warm_start=start, time_limit_s=60))
    assert result.objective >= plan_value(problem, start) - 1e-6


def test_missing_backend_names_the_extra(monkeypatch):
    backend = SOLVERS["cbc"]
    monkeypatch.setattr(backend, "is_available", classmethod(lambda cls: False))
    with pytest.raises(SolverUnavailableError, match=r"pip install 'siting\[cbc\]'"):
        get_solver("cbc")
    with pytest.raises(SolverUnavailableError, match="unknown solver 'gurobi'; choose one of"):
        get_solver("gurobi")


def test_heuristic_refuses_questions_it_cannot_answer():
    problem = synthetic_problem(0)
    targeted = SitingProblem.from_arrays(
        problem.coverage,
        problem.weights,
        services=problem.services,
        targets=np.array([0.2, np.nan, np.nan]),
        budget=problem.budget,
    )
    from siting._errors import SolverCapabilityError

    with pytest.raises(SolverCapabilityError, match='use solver = "highs"'):
        solve(targeted, solver="heuristic")
