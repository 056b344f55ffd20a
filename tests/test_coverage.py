from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from siting.coverage import (
    _csr_from_pairs,
    aggregate_rows,
    keep_columns,
    pattern,
    row_min,
    straight_line_walk_m,
    within,
)


def brute_force_walk(origins, targets, detour):
    return np.hypot(*(origins[:, None, :] - targets[None, :, :]).transpose(2, 0, 1)) * detour


@pytest.mark.parametrize("seed", range(5))
def test_straight_line_pairs_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    origins = rng.uniform(0, 2_000, (700, 2))
    targets = rng.uniform(0, 2_000, (90, 2))
    targets[:5] = origins[:5]  # zero distances must be kept
    walk = straight_line_walk_m(origins, targets, max_walk_m=300, detour_factor=1.3)
    expected = brute_force_walk(origins, targets, 1.3)
    rows = np.repeat(np.arange(len(origins)), np.diff(walk.indptr))
    pairs = set(zip(rows, walk.indices, strict=True))
    assert pairs == set(zip(*np.nonzero(expected <= 300), strict=True))
    assert np.allclose(walk.data, expected[rows, walk.indices])
    assert walk.has_sorted_indices
    assert (walk[[0]].toarray()[0, 0]) == 0.0 and pattern(walk)[0, 0]


def test_chunked_origins_match_single_chunk(monkeypatch):
    rng = np.random.default_rng(3)
    origins, targets = rng.uniform(0, 1_000, (1_000, 2)), rng.uniform(0, 1_000, (50, 2))
    whole = straight_line_walk_m(origins, targets, max_walk_m=150)
    monkeypatch.setattr("siting.coverage.ORIGIN_CHUNK", 77)
    chunked = straight_line_walk_m(origins, targets, max_walk_m=150)
    assert (whole != chunked).nnz == 0 and whole.nnz == chunked.nnz


def test_empty_inputs():
    assert straight_line_walk_m(np.empty((0, 2)), np.ones((3, 2)), max_walk_m=10).shape == (0, 3)
    assert straight_line_walk_m(np.ones((4, 2)), np.empty((0, 2)), max_walk_m=10).shape == (4, 0)


def test_within_keeps_zeros_and_filters():
    m = sparse.csr_array(
        (np.array([0.0, 5.0, 2.0]), np.array([0, 2, 1]), np.array([0, 2, 2, 3])), shape=(3, 3)
    )
    w = within(m, scale=1.0, limit=2.0)
    assert w.nnz == 2 and pattern(w)[0, 0] and pattern(w)[2, 1] and not pattern(w)[0, 2]


def test_row_min_and_keep_columns():
    m = sparse.csr_array(np.array([[3.0, 1.0, 0.0], [0, 0, 0], [2.0, 7.0, 0]]))
    best, col = row_min(m)
    assert best[0] == 1.0 and col[0] == 1 and np.isnan(best[1]) and col[1] == -1
    kept = keep_columns(m, np.array([True, False, True]))
    best, col = row_min(kept)
    assert best[0] == 3.0 and col[0] == 0 and col[2] == 0


@pytest.mark.parametrize("seed", range(4))
def test_aggregate_rows_is_exact(seed):
    rng = np.random.default_rng(seed)
    dense = rng.random((400, 12)) < 0.15
    dense[rng.integers(0, 400, 50)] = dense[0]  # many duplicates of row 0
    weights = rng.integers(1, 100, 400).astype(float)
    unique, summed, group = aggregate_rows(sparse.csr_array(dense), weights)
    expected_unique = np.unique(dense, axis=0)
    assert unique.shape[0] == len(expected_unique)
    assert np.array_equal(unique.toarray()[group], dense)
    assert np.isclose(summed.sum(), weights.sum())
    for g in range(unique.shape[0]):
        assert np.isclose(summed[g], weights[group == g].sum())


def test_aggregate_rows_survives_a_hash_collision(monkeypatch):
    monkeypatch.setattr(
        "siting.coverage._row_hash", lambda matrix, seed: np.zeros(matrix.shape[0], np.uint64)
    )
    dense = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0]], bool)
    unique, _summed, group = aggregate_rows(sparse.csr_array(dense), np.ones(4))
    assert unique.shape[0] == 3 and np.array_equal(unique.toarray()[group], dense)


def test_aggregate_rows_puts_shorter_rows_first():
    dense = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0]], bool)
    unique, _summed, group = aggregate_rows(sparse.csr_array(dense), np.ones(5))
    assert list(np.diff(unique.indptr)) == [0, 1, 2, 3]
    assert list(group) == [3, 1, 2, 1, 0]


def test_pairs_become_sorted_csr_and_repeated_pairs_are_refused():
    rows, cols = np.array([1, 0, 0, 2]), np.array([0, 2, 1, 1])
    walk = _csr_from_pairs(rows, cols, np.array([0.0, 5.0, 3.0, 9.0]), (3, 3), limit=6.0)
    assert walk.has_sorted_indices and walk.nnz == 3  # 9 m is over the limit, 0 m is kept
    assert list(walk.indices) == [1, 2, 0] and list(walk.data) == [3.0, 5.0, 0.0]
    with pytest.raises(ValueError, match=r"^1 \(row, column\) pair"):
        _csr_from_pairs(np.array([0, 0]), np.array([1, 1]), np.ones(2), (1, 2), limit=6.0)
