r"""Exact reductions of a built model beyond identical-row merging (Chen et al., EJOR 2023).

:func:`presolve_model` takes a :class:`~siting.model.SitingModel` and returns another
:class:`SitingModel` with the same optimal value, whose plans are plans of the original problem
(``x_site``/``x_service`` still index the original sites and services):

**Dominated outlets.** Outlet column :math:`x_a` is dominated by :math:`x_b` (same service) if
:math:`b` covers every demand row :math:`a` covers, :math:`c_b \ge c_a`, and in every other row
(budget, counts, capacities) :math:`x_a` appears only in :math:`\le` rows with
:math:`0 \le a_{rb} \le a_{ra}`. Then any plan using :math:`a` is no better than the plan that
uses :math:`b` instead (if :math:`b` is closed) or drops :math:`a` (if it is open), so
:math:`x_a` can be deleted. Linking rows :math:`x - z \le 0` to a site column :math:`z` that is
free (no cost, no other row) are ignored, which is what makes the test bite on p-MCLP and on
multi-service models without site fixed costs; a site with a fixed cost or a capacity row keeps
all its outlets. Rows with a lower bound (minimum counts) disable the test for their columns.

**Re-aggregation.** Once columns are gone, demand rows that now have the same covering set are
merged (weights summed), as in :func:`siting.coverage.aggregate_rows`.

Only first-stage, pure-coverage models are reduced (one objective stage, no complete circle,
no shares, no rows on y columns: see :func:`reducible`); any other model is returned as is.

>>> import numpy as np
>>> from scipy import sparse
>>> from siting.instances import pmclp_problem
>>> from siting.model import build_model
>>> cover = sparse.csr_array(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool))
>>> small = presolve_model(build_model(pmclp_problem(cover, np.array([1.0, 2.0, 3.0]), 1)))
>>> small.x_site.tolist()   # site 0 covers a subset of what site 1 covers
[1, 2]
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting.coverage import aggregate_rows
from siting.model import MilpArrays, SitingModel


def dominated_columns(model: SitingModel) -> NDArray[np.bool_]:
    """(num_x,) True for outlet columns that a kept column dominates (see module docstring)."""
    milp, num_x, num_y = model.milp, model.num_x, model.y_cover.shape[0]
    num_z = model.num_z
    A = milp.A.tocsc()
    # Side rows: every row but the coverage rows and the links to free site columns.
    z_cols = A[:, num_x : num_x + num_z]
    z_free = np.zeros(num_z, dtype=bool)
    if num_z:
        z_nnz = np.diff(z_cols.indptr)
        z_rows = z_cols.indices
        row_len = np.diff(milp.A.indptr)
        only_links = np.ones(num_z, dtype=bool)
        owner = np.repeat(np.arange(num_z), z_nnz)
        bad = (row_len[z_rows] != 2) | (z_cols.data != -1.0) | (milp.row_upper[z_rows] != 0)
        only_links[owner[bad]] = False
        z_free = only_links & (milp.c[num_x : num_x + num_z] == 0)
    link_row = np.zeros(milp.num_rows, dtype=bool)
    if num_z:
        free_rows = z_cols[:, np.flatnonzero(z_free)].tocoo().coords[0]
        link_row[free_rows] = True
    side = np.ones(milp.num_rows, dtype=bool)
    side[:num_y] = False
    side &= ~link_row
    X = A[:, :num_x].tocsr()[np.flatnonzero(side)].tocsc()  # side rows x outlet columns
    lower_finite = np.isfinite(milp.row_lower[side])
    eligible = np.ones(num_x, dtype=bool)
    entry_col = np.repeat(np.arange(num_x), np.diff(X.indptr))
    blocked = lower_finite[X.indices] | (X.data < 0)
    eligible[entry_col[blocked]] = False
    eligible &= milp.col_lower[:num_x] == 0  # a forced outlet stays
    # Group columns by their side-row set; dominance needs the same set (0 <= a' <= a).
    signature = np.zeros((num_x, 2), dtype=np.uint64)
    rng = np.random.default_rng(7)
    row_value = rng.integers(1, 2**62, size=(X.shape[0], 2), dtype=np.uint64)
    for h in range(2):
        cumulative = np.zeros(X.nnz + 1, dtype=np.uint64)
        np.cumsum(row_value[X.indices, h], dtype=np.uint64, out=cumulative[1:])
        signature[:, h] = cumulative[X.indptr[1:]] - cumulative[X.indptr[:-1]]
    side_values = X.T.tocsr()  # outlet columns x side rows

    cover = sparse.csc_array(model.y_cover.astype(np.int32))
    size = np.diff(cover.indptr)
    overlap = (cover.T @ cover).tocoo()  # |N(a) ∩ N(b)|
    a, b, common = overlap.coords[0], overlap.coords[1], overlap.data
    keep = (
        (a != b)
        & (common == size[a])
        & eligible[a]
        & (model.x_service[a] == model.x_service[b])
        & (signature[a] == signature[b]).all(axis=1)
        & (milp.c[b] >= milp.c[a])
        & (milp.col_upper[b] == 1)
    )
    a, b = a[keep], b[keep]
    if a.size:
        # Same side rows: compare coefficients row by row (dense per pair is fine: few rows).
        va = side_values[a].toarray() if side_values.shape[1] else np.zeros((len(a), 0))
        vb = side_values[b].toarray() if side_values.shape[1] else np.zeros((len(b), 0))
        ok = ((vb <= va + 1e-12) & (vb >= 0)).all(axis=1)
        a, b, va, vb = a[ok], b[ok], va[ok], vb[ok]
        # b strictly better, or identical and b has the lower index (keeps one of each class)
        identical = (size[a] == size[b]) & (np.abs(va - vb) <= 1e-12).all(axis=1)
        identical &= milp.c[a] == milp.c[b]
        removed = ~identical | (b < a)
        a = a[removed]
    dominated = np.zeros(num_x, dtype=bool)
    dominated[a] = True
    # Columns covering nothing and free of lower-bounded rows are dominated by doing nothing.
    dominated |= (size == 0) & eligible & (milp.c[:num_x] <= 0)
    return dominated


def reducible(model: SitingModel) -> bool:
    """True if the reductions here are exact for ``model``.

    That is a single-stage coverage objective (no cost term), no complete-circle or share
    columns, and no row besides the coverage rows on a y column (targets and equity floors
    constrain coverage, and merging y rows would break them).
    """
    stages = model.stages
    if len(stages) != 1 or stages[0].cost_weight or stages[0].share_weight:
        return False
    if model.num_v or model.has_share or model.share_rows.shape[0]:
        return False
    if model.milp.num_cols != model.num_x + model.num_z + model.num_y:
        return False
    if not np.array_equal(model.milp.c, model.objective_vector(stages[0])):
        return False
    return not side_rows_touch_coverage(model)


def side_rows_touch_coverage(model: SitingModel) -> bool:
    """True if a row other than the coverage rows has an entry in a y column.

    Modes that constrain coverage itself (complete circle, equity floors, coverage targets)
    do; re-aggregating y rows would then break those rows, so the reductions here step aside.
    """
    num_y = model.y_cover.shape[0]
    first_y = model.num_x + model.num_z
    side = model.milp.A[num_y:]
    return bool((side.indices >= first_y).any())


def presolve_model(model: SitingModel) -> SitingModel:
    """An equivalent, smaller model: dominated outlets removed, rows re-aggregated.

    Repeats until nothing changes (removing columns can merge rows, which cannot create new
    dominance, so one or two rounds suffice). ``stats`` gains ``presolve_*`` entries. A model
    that is not :func:`reducible` is returned unchanged.
    """
    stats = dict(model.stats)
    if not reducible(model):
        stats["presolve_skipped"] = 1
        return replace(model, stats=stats)
    current = model
    for _ in range(4):
        dominated = dominated_columns(current)
        if not dominated.any():
            break
        current = _drop_columns(current, ~dominated)
    stats.update(
        {
            "presolve_x_columns": current.num_x,
            "presolve_rows_aggregated": int(current.y_cover.shape[0]),
            "presolve_rows": current.milp.num_rows,
            "presolve_nonzeros": int(current.milp.A.nnz),
        }
    )
    return replace(current, stats=stats)


def _drop_columns(model: SitingModel, keep_x: NDArray[np.bool_]) -> SitingModel:
    """Remove outlet columns, unused site columns and their link rows; re-aggregate the rows."""
    milp, num_x, num_z = model.milp, model.num_x, model.num_z
    num_y = model.y_cover.shape[0]
    x_keep = np.flatnonzero(keep_x)
    # Re-aggregate coverage rows per service on the kept columns.
    cover = sparse.csr_array(model.y_cover[:, x_keep])
    blocks, services, weights = [], [], []
    for k in np.unique(model.y_service):
        rows = np.flatnonzero(model.y_service == k)
        unique, summed, _ = aggregate_rows(cover[rows], model.y_credit[rows])
        nonempty = np.diff(unique.indptr) > 0
        blocks.append(unique[np.flatnonzero(nonempty)])
        services.append(np.full(int(nonempty.sum()), k, dtype=np.intp))
        weights.append(summed[nonempty])
    y_cover = (
        sparse.csr_array(sparse.vstack(blocks, format="csr"))
        if blocks
        else sparse.csr_array((0, len(x_keep)), dtype=bool)
    )
    y_cover.sort_indices()
    y_credit = np.concatenate(weights) if weights else np.empty(0)
    y_service = np.concatenate(services) if services else np.empty(0, np.intp)

    z_used = np.zeros(num_z, dtype=bool)
    z_index = np.searchsorted(model.z_site, model.x_site[x_keep])
    z_used[z_index] = True
    z_keep = np.flatnonzero(z_used)
    old_cols = np.concatenate([x_keep, num_x + z_keep])
    side = milp.A[num_y:][:, old_cols]
    side = sparse.csr_array(side)
    side_lower, side_upper = milp.row_lower[num_y:], milp.row_upper[num_y:]
    nonempty = np.diff(side.indptr) > 0
    # A row that lost all its entries is dropped only if 0 satisfies it.
    drop = ~nonempty & (side_lower <= 0) & (side_upper >= 0)
    rows = np.flatnonzero(~drop)
    return _assemble(
        model,
        x_keep=x_keep,
        z_keep=z_keep,
        y_cover=y_cover,
        y_credit=y_credit,
        y_service=y_service,
        side=side[rows],
        side_lower=side_lower[rows],
        side_upper=side_upper[rows],
    )


def _assemble(
    model: SitingModel,
    *,
    x_keep: NDArray[np.intp],
    z_keep: NDArray[np.intp],
    y_cover: sparse.csr_array,
    y_credit: NDArray[np.float64],
    y_service: NDArray[np.intp],
    side: sparse.csr_array,
    side_lower: NDArray[np.float64],
    side_upper: NDArray[np.float64],
) -> SitingModel:
    """A SitingModel with layout [x | z | y]: coverage rows first, then the given side rows."""
    num_x, num_z, num_y = len(x_keep), len(z_keep), y_cover.shape[0]
    num_cols = num_x + num_z + num_y
    coverage_rows = sparse.hstack(
        [
            -sparse.csr_array(y_cover, dtype=np.float64),
            sparse.csr_array((num_y, num_z)),
            sparse.eye_array(num_y, format="csr"),
        ],
        format="csr",
    )
    side = sparse.csr_array(side, shape=(side.shape[0], num_x + num_z))
    side = sparse.hstack([side, sparse.csr_array((side.shape[0], num_y))], format="csr")
    A = sparse.csr_array(sparse.vstack([coverage_rows, side], format="csr"), dtype=np.float64)
    A.sum_duplicates()
    A.sort_indices()
    A.eliminate_zeros()
    old = model.milp
    integrality = np.zeros(num_cols, dtype=bool)
    integrality[: num_x + num_z] = True
    kept = np.concatenate([x_keep, model.num_x + z_keep])
    milp = MilpArrays(
        c=np.zeros(num_cols),
        A=A,
        row_lower=np.concatenate([np.full(num_y, -np.inf), side_lower]),
        row_upper=np.concatenate([np.zeros(num_y), side_upper]),
        col_lower=np.concatenate([old.col_lower[kept], np.zeros(num_y)]),
        col_upper=np.concatenate([old.col_upper[kept], np.ones(num_y)]),
        integrality=integrality,
    )
    reduced = replace(
        model,
        milp=milp,
        x_site=model.x_site[x_keep],
        x_service=model.x_service[x_keep],
        z_site=model.z_site[z_keep],
        y_service=y_service,
        y_credit=y_credit,
        y_cover=sparse.csr_array(y_cover, dtype=bool),
        v_links=sparse.csr_array((0, num_y), dtype=bool),
        share_rows=sparse.csr_array((0, num_y)),
    )
    return replace(reduced, milp=replace(milp, c=reduced.objective_vector(model.stages[0])))


__all__ = ["dominated_columns", "presolve_model", "reducible", "side_rows_touch_coverage"]
