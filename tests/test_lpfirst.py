"""LP-first exact solve and the local search: same optima as plain HiGHS, valid bounds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from siting import Service, SitingProblem, build_model
from siting.bounds import dual_bound, lagrangian_bound
from siting.instances import pmclp_problem
from siting.localsearch import iterated_local_search, local_search, merge_search
from siting.lpfirst import solve_lp_first
from siting.presolve import presolve_model
from siting.results import plan_cost
from siting.solvers import SolveOptions, solve_model


def _pmclp(seed: int, n: int = 80, m: int = 20, p: int = 4):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    cover = sparse.csr_array(rng.random((n, m)) < 0.12)
    return pmclp_problem(cover, rng.integers(1, 60, n).astype(float), p)


def _multi(seed: int) -> SitingProblem:
    rng = np.random.default_rng(500 + seed)
    n, m = 60, 14
    services = [
        Service("a", 5, fit_out_cost=2.0),
        Service("b", 8, fit_out_cost=1.0, min_new=1),
        Service("c", 10, fit_out_cost=3.0, max_new=2),
    ]
    return SitingProblem.from_arrays(
        [sparse.csr_array(rng.random((n, m)) < d) for d in (0.1, 0.2, 0.3)],
        rng.integers(0, 30, (n, 3)).astype(float),
        services=services,
        site_fixed_cost=np.where(rng.random(m) < 0.5, 0.0, rng.integers(1, 4, m).astype(float)),
        site_capacity=rng.integers(1, 4, m).astype(float),
        budget=12.0,
    )


def _optimum(model) -> float:  # type: ignore[no-untyped-def]
    result = solve_model(model, options=SolveOptions(time_limit_s=30))
    assert result.status == "optimal"
    return float(result.objective)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_lp_first_matches_highs_pmclp(seed: int) -> None:
    model = build_model(_pmclp(seed))
    result = solve_lp_first(presolve_model(model), SolveOptions(time_limit_s=30))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(_optimum(model))
    assert result.bound is not None
    assert result.bound >= result.objective - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_lp_first_matches_highs_multi_service(seed: int) -> None:
    model = build_model(_multi(seed))
    result = solve_lp_first(model, SolveOptions(time_limit_s=30))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(_optimum(model))


@pytest.mark.parametrize("seed", range(4))
def test_dual_bound_valid_for_any_multipliers(seed: int) -> None:
    model = build_model(_multi(seed))
    optimum = _optimum(model)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        bound, _ = dual_bound(model.milp, rng.normal(0, 20, model.milp.num_rows))
        assert bound >= optimum - 1e-6
        lam = rng.uniform(0, 1, model.y_cover.shape[0]) * model.y_weight
        assert lagrangian_bound(model, lam) >= optimum - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_local_search_feasible_and_not_worse_than_greedy(seed: int) -> None:
    from siting.localsearch import greedy_plan

    for problem in (_pmclp(seed), _multi(seed)):
        model = build_model(problem)
        start = greedy_plan(model)
        assert start is not None
        optimum = _optimum(model)
        for found in (
            local_search(model, start),
            iterated_local_search(model, start, time_limit_s=0.3),
            merge_search(model, start, time_limit_s=1.0),
        ):
            assert model.objective_of(found.opened) == pytest.approx(found.objective)
            assert model.objective_of(start) - 1e-9 <= found.objective <= optimum + 1e-6
            assert problem.budget is not None
            assert plan_cost(problem, found.opened) <= problem.budget + 1e-9
            assert (found.opened.sum(axis=0) >= [s.min_new for s in problem.services]).all()


def test_local_search_reaches_one_swap_optimum() -> None:
    from itertools import product

    problem = _pmclp(11, n=40, m=10, p=3)
    model = build_model(problem)
    found = local_search(model)
    cover = model.y_cover.toarray()
    chosen = list(found.columns)
    base = model.y_weight[cover[:, chosen].any(axis=1)].sum()
    for out, new in product(range(len(chosen)), range(model.num_x)):
        trial = chosen.copy()
        trial[out] = new
        assert model.y_weight[cover[:, trial].any(axis=1)].sum() <= base + 1e-9


def test_lpfirst_backend_plugs_into_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    import siting
    from siting.lpfirst import LpFirstSolver
    from siting.solvers import SOLVERS

    monkeypatch.setitem(SOLVERS, "lpfirst", LpFirstSolver)
    for problem in (_pmclp(3), _multi(3)):
        ours = siting.solve(problem, solver="lpfirst", options=SolveOptions(time_limit_s=30))
        plain = siting.solve(problem, solver="highs", options=SolveOptions(time_limit_s=30))
        assert ours.status == "optimal"
        assert ours.objective == pytest.approx(plain.objective)
