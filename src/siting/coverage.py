"""Who can reach what: sparse walk-time matrices per service, and demand-row aggregation.

For each service *k* the coverage matrix ``A_k`` is an (n demand x m sites) CSR array whose
stored entries are the walk minutes of every pair within the service's threshold ``T_k``;
an entry may be 0.0 (a site on top of a demand point), so structure, not value, means
"covered". Demand already served by an existing outlet of *k* is marked per point. Nothing
here is ever dense: pairs come from KD-tree radius queries (straight line x detour factor) or,
later, from bounded shortest paths on a street network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.spatial import cKDTree

from siting import settings
from siting.candidates import CandidateSites
from siting.demand import DemandPoints
from siting.facilities import ExistingFacilities
from siting.services import Service

ORIGIN_CHUNK = 100_000


@dataclass(frozen=True)
class ServiceCoverage:
    """Reach of one service: candidate sites and existing outlets within its walk limits.

    Attributes
    ----------
    key
        The service key.
    minutes
        (n, m) CSR of walk minutes from each demand point to each candidate site that earns
        credit (within ``walk_minutes``, the decay band, or a mobile outlet's threshold); the
        stored structure is the coverage relation.
    credit
        (n, m) CSR with the structure of ``minutes``: the credit in (0, 1] of each pair.
    existing_minutes
        (n,) walk minutes to the nearest existing outlet of the service that earns credit,
        NaN where there is none.
    existing_index
        (n,) index of that outlet in the existing facilities, -1 where there is none.
    credit_before
        (n,) credit the existing outlets already give (1 within ``walk_minutes``).
    """

    key: str
    minutes: sparse.csr_array
    credit: sparse.csr_array
    existing_minutes: NDArray[np.float64]
    existing_index: NDArray[np.intp]
    credit_before: NDArray[np.float64]

    @property
    def served_before(self) -> NDArray[np.bool_]:
        """(n,) True where an existing outlet already gives full credit."""
        return self.credit_before >= 1.0

    @property
    def reach(self) -> sparse.csr_array:
        """(n, m) boolean CSR: demand i earns credit from site j."""
        return pattern(self.minutes)


def pattern(matrix: sparse.csr_array) -> sparse.csr_array:
    """The structure of ``matrix`` as a boolean CSR, explicit zeros counted as present."""
    return sparse.csr_array(
        (np.ones(matrix.nnz, dtype=bool), matrix.indices, matrix.indptr), shape=matrix.shape
    )


def straight_line_walk_m(
    origins_xy: NDArray[np.float64],
    targets_xy: NDArray[np.float64],
    *,
    max_walk_m: float,
    detour_factor: float = settings.DETOUR_FACTOR,
) -> sparse.csr_array:
    """Walking distances estimated as straight-line distance x detour factor, within a limit.

    Parameters
    ----------
    origins_xy, targets_xy
        (n, 2) and (m, 2) coordinates in metres.
    max_walk_m
        Pairs with a longer walk are left out.
    detour_factor
        Ratio of walking to straight-line distance (>= 1).

    Returns
    -------
    scipy.sparse.csr_array
        (n, m) walking metres of every pair within ``max_walk_m``; zero distances are stored.
    """
    n, m = len(origins_xy), len(targets_xy)
    if n == 0 or m == 0 or max_walk_m < 0:
        return sparse.csr_array((n, m), dtype=np.float64)
    radius = max_walk_m / detour_factor
    targets = cKDTree(targets_xy)
    rows, cols, dist = [], [], []
    for start in range(0, n, ORIGIN_CHUNK):
        chunk = cKDTree(origins_xy[start : start + ORIGIN_CHUNK])
        pairs = chunk.sparse_distance_matrix(targets, radius * (1 + 1e-12), output_type="ndarray")
        rows.append(pairs["i"].astype(np.int64) + start)
        cols.append(pairs["j"].astype(np.int64))
        dist.append(pairs["v"] * detour_factor)
    return _csr_from_pairs(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(dist), (n, m), max_walk_m
    )


def _csr_from_pairs(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    values: NDArray[np.float64],
    shape: tuple[int, int],
    limit: float,
) -> sparse.csr_array:
    """CSR with sorted indices from distinct (row, col) pairs, keeping values <= limit and zeros.

    scipy's COO-to-CSR conversion sorts by row in linear time: 8x faster than a lexsort of the
    pairs (1,000,000 x 10,000 city).
    """
    keep = values <= limit * (1 + 1e-12)
    coo = sparse.coo_array((values[keep], (rows[keep], cols[keep].astype(np.int32))), shape=shape)
    matrix = coo.tocsr()  # sums repeated pairs: there must be none
    if matrix.nnz != coo.nnz:
        message = f"{coo.nnz - matrix.nnz} (row, column) pair(s) given more than once"
        raise ValueError(message)
    matrix.sort_indices()
    return matrix


def walk_limit_m(service: Service, default_speed_m_per_s: float) -> float:
    """Walking metres within which ``service`` earns any credit (mobile outlets included)."""
    minutes = max(service.reach_minutes, service.mobile_walk_minutes or 0.0)
    return minutes * 60.0 * (service.speed_m_per_s or default_speed_m_per_s)


def coverage_from_points(
    demand: DemandPoints,
    sites: CandidateSites,
    existing: ExistingFacilities,
    services: Sequence[Service],
    *,
    speed_m_per_s: float = settings.WALK_SPEED_M_PER_S,
    detour_factor: float = settings.DETOUR_FACTOR,
    mobile: NDArray[np.bool_] | None = None,
) -> tuple[ServiceCoverage, ...]:
    """Straight-line coverage of every service, from points in one metric CRS.

    Walk distances are computed once, up to the longest walk any service allows, and each
    service keeps the pairs within its own limits at its own speed.

    Parameters
    ----------
    demand, sites, existing
        The inputs, in one metric CRS.
    services
        The services to place.
    speed_m_per_s, detour_factor
        Default walking speed and straight-line-to-walk factor.
    mobile
        (m,) True for mobile locations, whose outlets use ``mobile_walk_minutes``.

    Returns
    -------
    tuple of ServiceCoverage
        One per service, in order.
    """
    longest = max(walk_limit_m(s, speed_m_per_s) for s in services)
    to_sites = straight_line_walk_m(
        demand.xy, sites.xy, max_walk_m=longest, detour_factor=detour_factor
    )
    result = []
    for service in services:
        outlets = existing.of_service(service.key)
        to_outlets = straight_line_walk_m(
            demand.xy,
            existing.xy[outlets],
            max_walk_m=service.reach_minutes * 60.0 * (service.speed_m_per_s or speed_m_per_s),
            detour_factor=detour_factor,
        )
        result.append(
            service_coverage(
                service,
                to_sites,
                to_outlets,
                outlets,
                speed_m_per_s=service.speed_m_per_s or speed_m_per_s,
                mobile=mobile,
            )
        )
    return tuple(result)


def coverage_from_walks(
    services: Sequence[Service],
    walk_m_to_sites: sparse.csr_array,
    walk_m_to_outlets: sparse.csr_array,
    existing: ExistingFacilities,
    *,
    speed_m_per_s: float,
    mobile: NDArray[np.bool_] | None = None,
) -> tuple[ServiceCoverage, ...]:
    """Every service's coverage from walking metres to all sites and to all existing outlets.

    The walks (from a street network or a travel-time table) must reach at least each
    service's longest limit; each service keeps its own threshold at its own speed.
    """
    return tuple(
        service_coverage(
            service,
            walk_m_to_sites,
            sparse.csr_array(walk_m_to_outlets[:, existing.of_service(service.key)]),
            existing.of_service(service.key),
            speed_m_per_s=service.speed_m_per_s or speed_m_per_s,
            mobile=mobile,
        )
        for service in services
    )


def service_coverage(
    service: Service,
    walk_m_to_sites: sparse.csr_array,
    walk_m_to_outlets: sparse.csr_array,
    outlet_index: NDArray[np.intp],
    *,
    speed_m_per_s: float,
    mobile: NDArray[np.bool_] | None = None,
) -> ServiceCoverage:
    """One service's coverage from walking metres to sites and to its existing outlets.

    Parameters
    ----------
    service
        The service: its thresholds (``walk_minutes``, ``decay_minutes``,
        ``mobile_walk_minutes``) apply at ``speed_m_per_s``.
    walk_m_to_sites
        (n, m) walking metres to candidate sites, covering at least the service's limits.
    walk_m_to_outlets
        (n, e_k) walking metres to this service's existing outlets.
    outlet_index
        (e_k,) index of each of those outlets among all existing facilities.
    speed_m_per_s
        Walking speed for this service.
    mobile
        (m,) True for mobile locations.
    """
    metres_per_minute = 60.0 * speed_m_per_s
    tolerance = settings.COVERAGE_TOLERANCE_MIN
    minutes = walk_m_to_sites.data / metres_per_minute
    columns = walk_m_to_sites.indices
    is_mobile = mobile[columns] if mobile is not None else np.zeros(len(columns), dtype=bool)
    mobile_limit = service.mobile_walk_minutes or service.walk_minutes
    credit = np.where(
        is_mobile, (minutes <= mobile_limit + tolerance).astype(np.float64), service.credit(minutes)
    )
    keep = credit > 0
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    indptr = kept_before[walk_m_to_sites.indptr]
    shape = walk_m_to_sites.shape
    site_minutes = sparse.csr_array((minutes[keep], columns[keep], indptr), shape=shape)
    site_credit = sparse.csr_array((credit[keep], columns[keep], indptr), shape=shape)
    for matrix in (site_minutes, site_credit):
        matrix.has_sorted_indices = walk_m_to_sites.has_sorted_indices
    to_outlets = within(
        walk_m_to_outlets,
        scale=1.0 / metres_per_minute,
        limit=service.reach_minutes + tolerance,
    )
    nearest_minutes, nearest = row_min(to_outlets)
    index = np.full(len(nearest), -1, dtype=np.intp)
    index[nearest >= 0] = outlet_index[nearest[nearest >= 0]]
    before = np.where(nearest >= 0, service.credit(np.nan_to_num(nearest_minutes)), 0.0)
    return ServiceCoverage(
        key=service.key,
        minutes=site_minutes,
        credit=site_credit,
        existing_minutes=nearest_minutes,
        existing_index=index,
        credit_before=before,
    )


def within(matrix: sparse.csr_array, *, scale: float, limit: float) -> sparse.csr_array:
    """Entries of ``matrix * scale`` that are <= ``limit``, zeros kept, indices sorted."""
    values = matrix.data * scale
    keep = values <= limit
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    indptr = kept_before[matrix.indptr]
    result = sparse.csr_array((values[keep], matrix.indices[keep], indptr), shape=matrix.shape)
    result.has_sorted_indices = matrix.has_sorted_indices
    return result


def keep_columns(matrix: sparse.csr_array, keep: NDArray[np.bool_]) -> sparse.csr_array:
    """``matrix`` without its entries in columns where ``keep`` is False (shape unchanged)."""
    mask = keep[matrix.indices]
    kept_before = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    result = sparse.csr_array(
        (matrix.data[mask], matrix.indices[mask], kept_before[matrix.indptr]), shape=matrix.shape
    )
    result.has_sorted_indices = matrix.has_sorted_indices
    return result


def row_min(matrix: sparse.csr_array) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Smallest stored value per row and its column; NaN and -1 for empty rows."""
    n = matrix.shape[0]
    best = np.full(n, np.nan)
    column = np.full(n, -1, dtype=np.intp)
    if matrix.nnz == 0:
        return best, column
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n), lengths)
    order = np.lexsort((matrix.data, rows))  # per row, smallest value first
    first = order[matrix.indptr[:-1][lengths > 0]]
    # lexsort keeps rows contiguous in row order, so row r's smallest entry sits at indptr[r]
    best[lengths > 0] = matrix.data[first]
    column[lengths > 0] = matrix.indices[first]
    return best, column


def aggregate_rows(
    matrix: sparse.csr_array, weights: NDArray[np.float64]
) -> tuple[sparse.csr_array, NDArray[np.float64], NDArray[np.intp]]:
    """Merge rows with identical structure, summing their weights.

    Rows covered by exactly the same set of sites are interchangeable in the model, so one row
    with the summed weight replaces them (an exact reduction). Rows are grouped by a 64-bit
    hash of their column sets and the grouping is then verified entry by entry, so the result
    never depends on the hash being collision-free. Groups come in order of row length.

    Parameters
    ----------
    matrix
        (n, m) CSR whose structure is the coverage relation.
    weights
        (n,) weight per row.

    Returns
    -------
    unique : scipy.sparse.csr_array
        (g, m) boolean CSR, one row per distinct structure.
    summed : numpy.ndarray
        (g,) total weight of each group.
    group : numpy.ndarray
        (n,) group index of every input row.
    """
    matrix = sparse.csr_array(matrix)
    matrix.sort_indices()
    hashes = _row_hash(matrix, 11)
    # One 1-D key sorts 6x faster than (length, hash, hash) rows (300,000 x 10,000 city).
    _, first, group = np.unique(hashes, return_index=True, return_inverse=True)
    order = np.lexsort((hashes[first], np.diff(matrix.indptr)[first]))  # shortest rows first
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    representative, group = first[order], rank[group]
    if not _same_rows(matrix, representative[group]):
        representative, group = _exact_groups(matrix)
    unique = pattern(matrix[representative])
    summed = np.bincount(group, weights=weights, minlength=len(representative)).astype(np.float64)
    return unique, summed, group.astype(np.intp, copy=False)


def _row_hash(matrix: sparse.csr_array, seed: int) -> NDArray[np.uint64]:
    """Sum of a random 64-bit value per column over each row's columns, modulo 2**64."""
    rng = np.random.default_rng(seed)
    column_values = rng.integers(1, np.iinfo(np.int64).max, size=matrix.shape[1], dtype=np.uint64)
    cumulative = np.zeros(matrix.nnz + 1, dtype=np.uint64)
    np.cumsum(column_values[matrix.indices], dtype=np.uint64, out=cumulative[1:])
    hashes: NDArray[np.uint64] = cumulative[matrix.indptr[1:]] - cumulative[matrix.indptr[:-1]]
    return hashes


def _same_rows(matrix: sparse.csr_array, other: NDArray[np.intp]) -> bool:
    """True if row i has exactly the columns of row other[i], for every i (equal lengths given)."""
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    offset = np.arange(matrix.nnz) - matrix.indptr[rows]
    return bool(np.array_equal(matrix.indices, matrix.indices[matrix.indptr[other[rows]] + offset]))


def _exact_groups(matrix: sparse.csr_array) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Group rows by their exact column sets (slow path, used only after a hash collision)."""
    seen: dict[bytes, int] = {}
    representative: list[int] = []
    group = np.empty(matrix.shape[0], dtype=np.intp)
    for i in range(matrix.shape[0]):
        key = matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].tobytes()
        if key not in seen:
            seen[key] = len(representative)
            representative.append(i)
        group[i] = seen[key]
    return np.asarray(representative, dtype=np.intp), group
