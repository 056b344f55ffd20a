"""LP-first exact solve and the local search: same optima as plain HiGHS, valid bounds."""

from __future__ import annotations

import pytest

from conftest import proven_optimum, random_multi_service, random_pmclp
from siting import SitingProblem, build_model
from siting.localsearch import iterated_local_search, local_search, merge_search
from siting.lpfirst import solve_lp_first
from siting.presolve import presolve_model
from siting.results import plan_cost
from siting.solvers import SolveOptions


def _multi(seed: int) -> SitingProblem:
    return random_multi_service(500 + seed)


@pytest.mark.parametrize("seed", range(6))
def test_lp_first_matches_highs_pmclp(seed: int) -> None:
    model = build_model(random_pmclp(seed))
    result = solve_lp_first(presolve_model(model), SolveOptions(time_limit_s=30))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(proven_optimum(model))
    assert result.bound is not None
    assert result.bound >= result.objective - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_lp_first_matches_highs_multi_service(seed: int) -> None:
    model = build_model(_multi(seed))
    result = solve_lp_first(model, SolveOptions(time_limit_s=30))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(proven_optimum(model))


@pytest.mark.parametrize("seed", range(6))
def test_local_search_feasible_and_not_worse_than_greedy(seed: int) -> None:
    from siting.localsearch import greedy_plan

    for problem in (random_pmclp(seed), _multi(seed)):
        model = build_model(problem)
        start = greedy_plan(model)
        assert start is not None
        optimum = proven_optimum(model)
        for found in (
            local_search(model, start),
            iterated_local_search(model, start, time_limit_s=0.3),
            merge_search(model, start, time_limit_s=1.0),
            merge_search(model, start, time_limit_s=1.0, chains=2),
        ):
            assert model.objective_of(found.opened) == pytest.approx(found.objective)
            assert model.objective_of(start) - 1e-9 <= found.objective <= optimum + 1e-6
            assert problem.budget is not None
            assert plan_cost(problem, found.opened) <= problem.budget + 1e-9
            assert (found.opened.sum(axis=0) >= [s.min_new for s in problem.services]).all()


def test_local_search_reaches_one_swap_optimum() -> None:
    from itertools import product

    problem = random_pmclp(11, n=40, m=10, p=3)
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
    for problem in (random_pmclp(3), _multi(3)):
        ours = siting.solve(problem, solver="lpfirst", options=SolveOptions(time_limit_s=30))
        plain = siting.solve(problem, solver="highs", options=SolveOptions(time_limit_s=30))
        assert ours.status == "optimal"
        assert ours.objective == pytest.approx(plain.objective)
