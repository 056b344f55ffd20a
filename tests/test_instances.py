"""Readers of the published MCLP instances reproduce the published and computed optima."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path
from siting import SolveOptions, solve
from siting.instances import (
    MAXIMO_CITIES,
    MAXIMO_P,
    bds_instance,
    euclidean_coverage,
    known_optima,
    maximo_coverage,
    maximo_instance,
    maximo_nodes,
    pmclp_problem,
    sjc_instance,
)


@pytest.fixture(scope="module")
def root() -> Path:
    return shared_path("benchmarks")


def test_maximo_nodes_match_dimension(root: Path) -> None:
    latlon, demand = maximo_nodes(root / "maximo" / "Instancias" / "NewYork.txt")
    assert latlon.shape == (2713, 2)
    assert demand.shape == (2713,)
    assert latlon[:, 0].min() > 40.5 and latlon[:, 1].max() < -73.0


@pytest.mark.parametrize("city", list(MAXIMO_CITIES))
def test_published_plans_reach_published_optima(root: Path, city: str) -> None:
    # The distance convention (float32 acos x 6,378,100 m, d <= r) reproduces all 24 values.
    for p in MAXIMO_P:
        instance = maximo_instance(city, p, root=root)
        assert instance.provenance == "published"
        assert instance.optimal_sites is not None
        assert len(instance.optimal_sites) == p
        coverage = instance.problem.coverage[0]
        covered = coverage[:, instance.optimal_sites].sum(axis=1) > 0
        assert instance.problem.weights[covered, 0].sum() == instance.optimum


def test_maximo_coverage_is_symmetric_with_self_cover() -> None:
    latlon = np.array([[40.0, -74.0], [40.0036, -74.0], [40.0, -74.01]])  # ~400 m, ~850 m
    cover = maximo_coverage(latlon, 401.0).toarray()
    assert (cover == cover.T).all()
    assert cover.diagonal().all()
    assert cover[0, 1] and not cover[0, 2]


def test_euclidean_strict_and_inclusive() -> None:
    a = np.array([[0.0, 0.0]])
    b = np.array([[3.0, 4.0], [6.0, 8.0]])
    assert euclidean_coverage(a, b, 5.0).toarray().tolist() == [[True, False]]
    assert euclidean_coverage(a, b, 5.0, strict=True).toarray().tolist() == [[False, False]]


def test_known_optima_table_parsed(root: Path) -> None:
    table = known_optima(root)
    assert table[("sjc", "SJC324", 150.0, 20)] == (7302.0,)
    value, bound, proven = table[("bds", "BDS10000A", 100.0, 0.1, 5.5)]
    assert (value, bound, proven) == (441545.0, 441545.0, 1.0)
    _, bound, proven = table[("bds", "BDS100000A", 1000.0, 0.1, 1.7393)]
    assert proven == 0.0
    assert bound > 3_693_588


@pytest.mark.parametrize(
    ("n", "radius", "p"), [(324, 150, 20), (324, 200, 30), (402, 150, 60), (500, 150, 167)]
)
def test_sjc_computed_optima(root: Path, n: int, radius: float, p: int) -> None:
    instance = sjc_instance(n, radius, p, root=root)
    assert instance.provenance == "computed"
    result = solve(instance.problem, options=SolveOptions(time_limit_s=60))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(instance.optimum, abs=0.5)


@pytest.mark.parametrize(("seed", "share", "radius0"), [("A", 0.2, 3.25), ("E", 0.2, 3.5)])
def test_bds_computed_optima(root: Path, seed: str, share: float, radius0: float) -> None:
    instance = bds_instance(10000, seed, share=share, radius0=radius0, root=root)
    assert instance.size == (10000, 100)
    assert instance.problem.budget == pytest.approx(100 * share)
    result = solve(instance.problem, options=SolveOptions(time_limit_s=60))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(instance.optimum, abs=0.5)


def test_pmclp_problem_brute_force() -> None:
    rng = np.random.default_rng(3)
    cover = rng.random((12, 6)) < 0.3
    weights = rng.integers(1, 20, 12).astype(float)
    from itertools import combinations

    from scipy import sparse

    best = max(weights[cover[:, list(s)].any(axis=1)].sum() for s in combinations(range(6), 2))
    result = solve(pmclp_problem(sparse.csr_array(cover), weights, 2))
    assert result.objective == pytest.approx(best)


def test_unknown_city_is_named(root: Path) -> None:
    with pytest.raises(ValueError, match="unknown Máximo city 'Queens'"):
        maximo_instance("Queens", 50, root=root)


EXACT = [
    name
    for name, backend in __import__("siting.solvers", fromlist=["SOLVERS"]).SOLVERS.items()
    if backend.is_available() and name != "heuristic"
]


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize(("n", "radius", "p"), [(324, 150, 20), (402, 200, 40)])
def test_every_exact_backend_reproduces_sjc_optima(root: Path, backend: str, n, radius, p) -> None:
    instance = sjc_instance(n, radius, p, root=root)
    result = solve(instance.problem, solver=backend, options=SolveOptions(time_limit_s=120))
    assert result.status == "optimal", result.solver_message
    assert result.objective == pytest.approx(instance.optimum, abs=0.5)


def test_heuristic_gap_on_sjc_is_bounded(root: Path) -> None:
    """The heuristic stays within 2 % of the known optimum with a valid bound.

    The measured shortfalls per instance are recorded in benchmarks/REPORT.md.
    """
    for n, radius, p in [(324, 150, 20), (402, 150, 60), (500, 200, 70)]:
        instance = sjc_instance(n, radius, p, root=root)
        result = solve(instance.problem, solver="heuristic", options=SolveOptions(time_limit_s=20))
        shortfall = (instance.optimum - result.objective) / instance.optimum
        assert 0 <= shortfall <= 0.02, (n, radius, p, shortfall)
        assert result.bound >= instance.optimum - 0.5  # its bound is valid
