"""Exact presolve: same optimum as the plain model, on brute force and random instances."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy import sparse

from conftest import proven_optimum, random_multi_service
from siting import build_model
from siting.instances import pmclp_problem
from siting.presolve import dominated_columns, presolve_model
from siting.solvers import solve_model


def _random_cover(rng: np.random.Generator, n: int, m: int, density: float) -> sparse.csr_array:
    return sparse.csr_array(rng.random((n, m)) < density)


def test_subset_site_removed_and_identical_sites_keep_one() -> None:
    cover = np.array(
        [[1, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]],
        dtype=bool,
    )
    model = build_model(pmclp_problem(sparse.csr_array(cover), np.arange(1.0, 6.0), 2))
    dominated = dominated_columns(model)
    # site 0 ⊂ site 1; sites 2 and 3 identical (keep 2); site 4 alone
    assert model.x_site[dominated].tolist() == [0, 3]


@pytest.mark.parametrize("seed", range(8))
def test_pmclp_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, p = 25, 8, 3
    cover = _random_cover(rng, n, m, 0.25)
    weights = rng.integers(1, 50, n).astype(float)
    dense = cover.toarray()
    best = max(weights[dense[:, list(s)].any(axis=1)].sum() for s in combinations(range(m), p))
    model = build_model(pmclp_problem(cover, weights, p))
    for reduced in (presolve_model(model),):
        assert reduced.num_x <= model.num_x
        assert proven_optimum(reduced) == pytest.approx(best)
        result = solve_model(reduced)
        opened = reduced.open_matrix(result.values)
        assert model.objective_of(opened) == pytest.approx(best)  # plan of the original model


@pytest.mark.parametrize("seed", range(6))
def test_unequal_costs_budget(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, m = 60, 15
    cover = _random_cover(rng, n, m, 0.2)
    weights = rng.integers(1, 50, n).astype(float)
    cost = rng.integers(1, 5, m).astype(float)
    problem = pmclp_problem(cover, weights, 6.0, site_cost=cost)
    model = build_model(problem)
    assert proven_optimum(presolve_model(model)) == pytest.approx(proven_optimum(model))


@pytest.mark.parametrize("seed", range(6))
def test_multi_service_with_fixed_costs_capacity_and_minimum(seed: int) -> None:
    problem = random_multi_service(200 + seed, n=50, m=12, densities=(0.15, 0.25, 0.35))
    model = build_model(problem)
    assert proven_optimum(presolve_model(model)) == pytest.approx(proven_optimum(model))


def test_models_with_rows_on_coverage_are_left_alone() -> None:
    from dataclasses import replace

    from siting.model import MilpArrays

    rng = np.random.default_rng(9)
    model = build_model(pmclp_problem(_random_cover(rng, 20, 6, 0.3), np.ones(20), 2))
    milp = model.milp
    extra = np.zeros(milp.num_cols)
    extra[-1] = 1.0  # a row on the last y column, as an equity floor would add
    A = sparse.csr_array(sparse.vstack([milp.A, sparse.csr_array(extra[None, :])]))
    touched = replace(
        model,
        milp=MilpArrays(
            c=milp.c,
            A=A,
            row_lower=np.append(milp.row_lower, 1.0),
            row_upper=np.append(milp.row_upper, np.inf),
            col_lower=milp.col_lower,
            col_upper=milp.col_upper,
            integrality=milp.integrality,
        ),
    )
    assert presolve_model(touched).milp is touched.milp
