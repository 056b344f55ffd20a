"""LP-first exact solve and the local search: same optima as plain HiGHS, valid bounds."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

import pytest

from conftest import proven_optimum, random_multi_service, random_pmclp
from siting import SitingProblem, build_model, lpfirst
from siting._fork import can_fork
from siting.localsearch import greedy_plan, iterated_local_search, local_search, merge_search
from siting.lpfirst import _beside_a_search, _proven, solve_lp_first
from siting.presolve import presolve_model
from siting.results import plan_cost
from siting.solvers import SolveOptions, SolveResult, Status, solve_model


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


def _stage(status: Status, seconds: float) -> Callable[[Callable[[], bool] | None], SolveResult]:
    """An exact stage that takes ``seconds`` and ends with ``status`` and no plan."""

    def solve(reached: Callable[[], bool] | None) -> SolveResult:
        time.sleep(seconds)
        return SolveResult(status, None, None, None, "highs", seconds)

    return solve


def test_a_search_that_reaches_the_bound_stops_the_stage_beside_it() -> None:
    """A plan at a bound is optimal: the MIP beside the search need not go on."""
    if not can_fork():
        pytest.skip("no fork: nothing runs beside the exact stage")
    model = build_model(random_pmclp(3, n=120, m=30, p=5))
    start = greedy_plan(model)
    assert start is not None
    optimum = proven_optimum(model)

    def endless_mip(reached: Callable[[], bool] | None) -> SolveResult:
        assert reached is not None  # a search runs beside it
        while not reached():  # as HiGHS polls SolveOptions.interrupt
            time.sleep(0.01)
        return SolveResult(Status.FEASIBLE, None, None, None, "highs", 0.0)

    started = time.perf_counter()
    result, plan = _beside_a_search(
        endless_mip,
        model,
        start,
        SolveOptions(threads=2),
        started + 60.0,
        target=optimum - 0.5,
        settled=_proven,
    )
    assert time.perf_counter() - started < 10.0
    assert result.status is Status.FEASIBLE
    assert plan is not None and model.objective_of(plan) == pytest.approx(optimum)


def test_an_interrupt_stops_highs_with_its_warm_start() -> None:
    model = build_model(random_pmclp(1, n=400, m=120, p=10))  # not proven in a minute
    start = greedy_plan(model)
    assert start is not None
    started = time.perf_counter()
    result = solve_model(
        model,
        options=SolveOptions(
            time_limit_s=60, warm_start=start, interrupt=lambda: time.perf_counter() > started + 1
        ),
    )
    assert time.perf_counter() - started < 10.0
    assert result.status is Status.FEASIBLE  # stopped, so not proven
    assert result.objective is not None and result.objective >= model.objective_of(start)
    assert result.bound is not None and result.bound > result.objective


def test_a_search_beside_an_unfinished_exact_stage_improves_the_plan() -> None:
    """The final MIP's tree cannot close the gap in time: the other core searches meanwhile."""
    if not can_fork():
        pytest.skip("no fork: nothing runs beside the exact stage")
    model = build_model(random_pmclp(3, n=120, m=30, p=5))
    start = greedy_plan(model)
    assert start is not None
    deadline = time.perf_counter() + 3.0
    options = SolveOptions(threads=2)
    result, plan = _beside_a_search(
        _stage(Status.TIME_LIMIT, 0.5), model, start, options, deadline, settled=_proven
    )
    assert result.status is Status.TIME_LIMIT
    assert plan is not None
    assert model.objective_of(plan) == pytest.approx(proven_optimum(model))
    assert model.objective_of(plan) > model.objective_of(start)  # greedy is not optimal here


def test_a_proof_stops_the_search_beside_it_at_once() -> None:
    model = build_model(random_pmclp(3, n=120, m=30, p=5))
    started = time.perf_counter()
    result, plan = _beside_a_search(
        _stage(Status.OPTIMAL, 0.1),
        model,
        greedy_plan(model),
        SolveOptions(threads=2),
        started + 60.0,
        settled=_proven,
    )
    assert result.status is Status.OPTIMAL and plan is None
    assert time.perf_counter() - started < 5.0
    assert not multiprocessing.active_children()


def test_when_the_lp_does_not_finish_the_volume_bound_and_a_search_stand_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = presolve_model(build_model(random_pmclp(2, n=150, m=40, p=5)))
    monkeypatch.setattr(lpfirst, "lp_bound", lambda *args, **kwargs: None)
    result = solve_lp_first(model, SolveOptions(time_limit_s=5))
    optimum = proven_optimum(model)
    assert "LP unfinished" in result.message and "volume bound" in result.message
    assert result.objective == pytest.approx(optimum)
    assert result.bound is not None and result.bound >= optimum - 1e-6


def test_a_search_beside_a_slow_lp_starts_the_later_stages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The LP keeps one core busy: the other searches, and its plan becomes the start."""
    if not can_fork():
        pytest.skip("no fork: nothing runs beside the LP")
    model = build_model(random_pmclp(3, n=120, m=30, p=5))
    greedy = greedy_plan(model)
    assert greedy is not None
    real_bound = lpfirst.lp_bound

    def slow_lp(*args: object, **kwargs: object) -> object:
        time.sleep(1.0)
        return real_bound(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lpfirst, "lp_bound", slow_lp)
    started = time.perf_counter()
    bound, plan = _beside_a_search(
        lambda _: lpfirst.lp_bound(model, greedy, time_limit_s=30.0),
        model,
        greedy,
        SolveOptions(threads=2),
        started + 30.0,
        quick=True,
    )
    assert time.perf_counter() - started < 10.0  # the search stops with the LP
    assert bound is not None and plan is not None
    optimum = proven_optimum(model)
    assert model.objective_of(plan) == pytest.approx(optimum)  # greedy is not optimal here
    assert model.objective_of(greedy) < optimum
    assert bound.value >= optimum - 1e-6
    result = solve_lp_first(model, SolveOptions(time_limit_s=30, threads=2))
    assert "search beside the LP" in result.message
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(optimum)


def test_with_one_thread_the_lp_runs_alone() -> None:
    model = build_model(random_pmclp(3, n=120, m=30, p=5))
    greedy = greedy_plan(model)
    bound, plan = _beside_a_search(
        lambda _: lpfirst.lp_bound(model, greedy, time_limit_s=30.0),
        model,
        greedy,
        SolveOptions(threads=1),
        time.perf_counter() + 30.0,
        quick=True,
    )
    assert bound is not None and plan is None
