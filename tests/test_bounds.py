"""The LP bound by row generation equals the full LP relaxation; every round is a valid bound."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from conftest import proven_optimum, random_multi_service, random_pmclp
from siting import Service, SitingProblem, build_model
from siting.bounds import (
    _CountLimits,
    dual_bound,
    lagrangian_bound,
    lp_bound,
    volume_bound,
    volume_first,
)
from siting.localsearch import greedy_plan
from siting.model import SitingModel
from siting.solvers import SolveOptions
from siting.solvers.highs import highs_with


def _pmclp(seed: int) -> SitingProblem:
    return random_pmclp(seed, n=90, m=24)


def _multi(seed: int, **kwargs: object) -> SitingProblem:
    return random_multi_service(700 + seed, n=70, m=16, max_c=3, **kwargs)


def _full_lp(model: SitingModel) -> float:
    h = highs_with(model.milp, SolveOptions(), relax=True)
    h.run()
    assert h.getModelStatus().name == "kOptimal"
    return float(h.getInfo().objective_function_value)


def _starts(model: SitingModel, seed: int) -> list[np.ndarray | None]:
    shape = (model.problem.num_sites, len(model.problem.services))
    random_plan = np.random.default_rng(seed).random(shape) < 0.3
    return [greedy_plan(model), None, random_plan]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("build", [_pmclp, _multi])
def test_row_generation_reaches_the_lp_relaxation(seed: int, build) -> None:  # type: ignore[no-untyped-def]
    model = build_model(build(seed))
    relaxation, optimum = _full_lp(model), proven_optimum(model)
    for start in _starts(model, seed):
        found = lp_bound(model, start)
        assert found is not None and found.exact
        assert found.value == pytest.approx(relaxation, rel=1e-7, abs=1e-6)
        assert found.value >= relaxation - 1e-6 >= optimum - 2e-6
        assert found.kept_rows <= model.num_y
        # the x values are an optimal LP solution: feasible and as good as the bound
        x = found.values[: model.num_x]
        assert np.all(x >= -1e-9) and np.all(x <= 1 + 1e-9)
        y = np.minimum(1.0, model.y_cover @ x)
        value = model.milp.c[: model.num_x + model.num_z] @ found.values + model.y_weight @ y
        assert value == pytest.approx(relaxation, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_every_round_is_a_valid_bound(seed: int) -> None:
    model = build_model(_multi(seed))
    optimum, relaxation = proven_optimum(model), _full_lp(model)
    for rounds in (1, 2, 3):
        found = lp_bound(model, None, max_rounds=rounds)
        assert found is not None
        assert found.value >= relaxation - 1e-6 >= optimum - 2e-6


def test_bound_with_complete_circle_keeps_every_row() -> None:
    model = build_model(_multi(0, mode="complete_circle"))
    assert model.num_v > 0
    found = lp_bound(model, greedy_plan(model))
    assert found is not None and found.exact and found.rounds == 1
    assert found.kept_rows == model.num_y
    assert found.value == pytest.approx(_full_lp(model), rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_multiplier_bounds_valid_for_any_multipliers(seed: int) -> None:
    model = build_model(_multi(seed))
    optimum = proven_optimum(model)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        bound, _ = dual_bound(model.milp, rng.normal(0, 20, model.milp.num_rows))
        assert bound >= optimum - 1e-6
        lam = rng.uniform(0, 1, model.num_y) * model.y_weight
        assert lagrangian_bound(model, lam) >= optimum - 1e-6


def test_heuristic_trades_cheap_outlets_for_a_dear_one() -> None:
    """Ratio greedy opens eight cheap outlets (12 residents per unit of cost) and keeps 2 of
    the 10 units; a dear outlet (55 residents for 5 units) never fits by a swap or a small
    perturbation. The optimum, five cheap and one dear (115 against 96), is found because the
    LP's support joins the restricted exact solve."""
    import siting

    n = 10
    cheap = sparse.csr_array((np.ones(8), (np.arange(8), np.arange(8))), shape=(n, n))
    dear = sparse.csr_array((np.ones(2), ([8, 9], [8, 9])), shape=(n, n))
    weights = np.zeros((n, 2))
    weights[:8, 0], weights[8:, 1] = 12.0, 55.0
    problem = SitingProblem.from_arrays(
        [cheap, dear],
        weights,
        services=[Service("a", 5, fit_out_cost=1.0), Service("b", 10, fit_out_cost=5.0)],
        budget=10.0,
    )
    model = build_model(problem)
    start = greedy_plan(model)
    assert start is not None and model.objective_of(start) == 96
    result = siting.solve(problem, solver="heuristic", options=SolveOptions(time_limit_s=5))
    assert result.objective == pytest.approx(115)
    assert result.bound is not None and result.bound >= 115


def test_bound_without_coverage_rows() -> None:
    """Every resident already served: no coverage rows; the bound is 0 and exact."""
    problem = _multi(1)
    empty = SitingProblem.from_arrays(
        list(problem.coverage),
        np.zeros_like(problem.weights),
        services=list(problem.services),
        budget=12.0,
    )
    model = build_model(empty)
    found = lp_bound(model, greedy_plan(model))
    assert found is not None and found.exact
    assert found.value == pytest.approx(0.0, abs=1e-6)


def _counted(seed: int) -> SitingProblem:
    """Three services, each with a maximum count, unit costs under a budget of 7 outlets."""
    rng = np.random.default_rng(900 + seed)
    n, m = 70, 16
    services = [
        Service(name, 5 * (k + 1), fit_out_cost=1.0, max_new=3) for k, name in enumerate("abc")
    ]
    return SitingProblem.from_arrays(
        [sparse.csr_array(rng.random((n, m)) < d) for d in (0.1, 0.2, 0.3)],
        rng.integers(0, 30, (n, 3)).astype(float),
        services=services,
        budget=7.0,
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("build", [_pmclp, _counted, _multi])
def test_volume_bound_is_valid_and_approaches_the_lp(seed: int, build) -> None:  # type: ignore[no-untyped-def]
    """Above the LP relaxation (hence the optimum) and, converged, close to it; counts take the
    sort, the budget with site fixed costs of ``_multi`` takes HiGHS."""
    model = build_model(build(seed))
    relaxation, optimum = _full_lp(model), proven_optimum(model)
    start = greedy_plan(model)
    found = volume_bound(model, start, lower=model.objective_of(start))
    assert found is not None and not found.exact
    assert found.value >= relaxation - 1e-6 >= optimum - 2e-6
    assert found.value <= relaxation * 1.01 + 1e-6
    x = found.values[: model.num_x]
    assert np.all(x >= -1e-9) and np.all(x <= 1 + 1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_count_limits_sort_solves_the_inner_problem(seed: int) -> None:
    """The sort over laminar counts gives the inner LP's optimum (HiGHS) for any multipliers,
    and its count-row prices certify it; limits that are not such counts are left to HiGHS."""
    rng = np.random.default_rng(seed)
    for problem in (_pmclp(seed), _counted(seed)):
        model = build_model(problem)
        counts = _CountLimits.of(model)
        assert counts is not None
        weight = model.y_weight
        for _ in range(5):
            lam = rng.uniform(0, 1, model.num_y) * weight
            score = model.milp.c[: model.num_x] + model.y_cover.T.astype(float) @ lam
            chosen = counts.best(score)
            value = (weight - lam).sum() + score @ chosen
            assert value == pytest.approx(lagrangian_bound(model, lam), rel=1e-9, abs=1e-6)
            # the count rows' prices make it weak duality, as for the LP bound
            duals = np.concatenate([lam, counts.prices(score, model.milp.num_rows - model.num_y)])
            assert dual_bound(model.milp, duals)[0] == pytest.approx(value, rel=1e-9, abs=1e-6)
    assert _CountLimits.of(build_model(_multi(seed))) is None  # fixed costs, a minimum count


def test_heuristic_falls_back_to_the_volume_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the LP cannot finish in its share, the bound comes from the volume algorithm:
    valid, and far below the total reachable weight it used to fall back on."""
    import siting.solvers.heuristic as heuristic
    from siting.solvers import solve_model

    monkeypatch.setattr(heuristic, "lp_bound", lambda *args, **kwargs: None)
    model = build_model(random_pmclp(3, n=300, m=60, p=6))
    optimum = proven_optimum(model)
    options = SolveOptions(time_limit_s=3, threads=1)
    result = solve_model(model, solver="heuristic", options=options)
    assert "volume algorithm" in result.message
    assert result.bound is not None and result.objective is not None
    assert result.bound >= optimum - 1e-6 >= result.objective - 1e-6
    assert result.bound <= 1.02 * _full_lp(model) < model.coverage_bound


def test_lp_bound_after_a_solve_on_another_thread_count() -> None:
    """HiGHS sizes one thread pool per process on its first run; a later instance asking for
    another size used to fail silently (no bound) until the pool was rebuilt."""
    model = build_model(_pmclp(0))
    relaxation = _full_lp(model)
    for threads in (2, 1, None, 2, 1):
        found = lp_bound(model, None, threads=threads)
        assert found is not None and found.value == pytest.approx(relaxation, rel=1e-7)


@pytest.mark.parametrize("p", [2, 4, 8])
@pytest.mark.parametrize("seed", range(3))
def test_volume_goes_first_on_dense_coverage_under_counts(seed: int, p: int) -> None:
    """Where the greedy plan covers most rows exactly once (the LP would go whole to the
    interior-point method) and the limits are counts; never under site fixed costs."""
    model = build_model(random_pmclp(seed, n=90, m=24, p=p))
    start = greedy_plan(model)
    assert start is not None
    once = np.mean(model.y_cover @ start[model.x_site, model.x_service].astype(float) == 1)
    assert volume_first(model, start) == (once > 0.5)
    multi = build_model(_multi(seed))
    assert not volume_first(multi, greedy_plan(multi))


def test_heuristic_takes_the_lp_in_the_time_the_search_leaves() -> None:
    """The volume bound goes first on dense counts; an easy instance's search ends early and
    the exact LP bound replaces it."""
    import siting.solvers.heuristic  # noqa: F401  (registers the backend)
    from siting.solvers import solve_model

    model = build_model(random_pmclp(0, n=90, m=24, p=4))
    assert volume_first(model, greedy_plan(model))
    options = SolveOptions(time_limit_s=20, threads=1)
    result = solve_model(model, solver="heuristic", options=options)
    assert "after the search" in result.message
    assert result.bound == pytest.approx(max(_full_lp(model), result.objective), rel=1e-7)
    assert result.runtime_s < 20
