r"""The multi-service maximal covering location model, built as arrays.

Index sets: demand points :math:`i \in I`, candidate sites :math:`j \in J`, services
:math:`k \in K`.

Variables
    :math:`x_{jk} \in \{0, 1\}`: open service *k* at site *j*;
    :math:`z_j \in \{0, 1\}`: site *j* is used (its one-off cost is paid once, however many
    services share it, 一店多能);
    :math:`y_{ik} \in [0, 1]`: demand *i* is newly covered for *k* (continuous suffices: at an
    optimum it is 1 whenever an open site reaches *i*).

.. math::

    \max \; & \sum_k \beta_k \sum_i w_{ik} \, y_{ik} \\
    \text{s.t.} \; & y_{ik} \le \sum_{j : t_{ij} \le T_k} x_{jk}
        && i \text{ not served by an existing outlet of } k \\
    & x_{jk} \le z_j && k \text{ allowed at } j \\
    & \textstyle\sum_k x_{jk} \le \mathrm{cap}_j \, z_j,
      \quad \sum_k a_k x_{jk} \le \mathrm{area}_j \, z_j \\
    & \textstyle\sum_j f_j z_j + \sum_{j,k} c_{jk} x_{jk} \le B \\
    & \textstyle n^{\min}_k \le \sum_j x_{jk} \le n^{\max}_k

where :math:`w_{ik}` is the population segment service *k* targets, :math:`\beta_k` its
priority, :math:`t_{ij}` the walk time and :math:`T_k` the threshold.

Exact reductions applied while building (none changes the optimum): demand already served by an
existing outlet, demand with zero weight and demand no allowed site can reach leave the model;
demand rows with identical covering sets are merged with summed weights; an :math:`x_{jk}` that
covers no remaining demand is not created (unless service *k* has a minimum count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import DataValidationError, InfeasibleError
from siting.coverage import ServiceCoverage, aggregate_rows, keep_columns, pattern
from siting.services import Service


@dataclass(frozen=True)
class SitingProblem:
    """One siting instance as arrays: coverage, weights, costs, capacities and limits.

    Build it with :meth:`from_arrays` (or :meth:`from_coverage` after
    :func:`siting.coverage.coverage_from_points`); fields are validated there.

    Attributes
    ----------
    services
        The K services, in column order.
    coverage
        Per service, an (n, m) sparse matrix whose structure says demand i reaches site j.
    weights
        (n, K) residents of each service's target segment at each demand point.
    served_before
        (n, K) True where an existing outlet already covers the point.
    site_fixed_cost
        (m,) cost of using a site at all, paid once.
    fit_out_cost
        (m, K) cost of opening service k at site j.
    site_capacity
        (m,) maximum number of services per site (``inf``: no limit).
    site_floor_area_m2
        (m,) floor area per site (``inf``: not checked against service floor areas).
    allowed
        (m, K) True where service k may open at site j.
    budget
        Total money for fixed and fit-out costs; None for no limit.
    demand_ids, site_ids
        Labels used in results.
    """

    services: tuple[Service, ...]
    coverage: tuple[sparse.csr_array, ...]
    weights: NDArray[np.float64]
    served_before: NDArray[np.bool_]
    site_fixed_cost: NDArray[np.float64]
    fit_out_cost: NDArray[np.float64]
    site_capacity: NDArray[np.float64]
    site_floor_area_m2: NDArray[np.float64]
    allowed: NDArray[np.bool_]
    budget: float | None
    demand_ids: NDArray[np.object_]
    site_ids: NDArray[np.object_]

    @property
    def num_demand(self) -> int:
        """Number of demand points n."""
        return int(self.weights.shape[0])

    @property
    def num_sites(self) -> int:
        """Number of candidate sites m."""
        return int(self.site_fixed_cost.shape[0])

    @property
    def service_keys(self) -> tuple[str, ...]:
        """The service keys, in column order."""
        return tuple(s.key for s in self.services)

    @classmethod
    def from_arrays(
        cls,
        coverage: Sequence[sparse.sparray | sparse.spmatrix | NDArray[np.bool_]],
        weights: NDArray[np.float64],
        *,
        services: Sequence[Service],
        served_before: NDArray[np.bool_] | None = None,
        site_fixed_cost: NDArray[np.float64] | None = None,
        fit_out_cost: NDArray[np.float64] | None = None,
        site_capacity: NDArray[np.float64] | None = None,
        site_floor_area_m2: NDArray[np.float64] | None = None,
        allowed: NDArray[np.bool_] | None = None,
        budget: float | None = None,
        demand_ids: Sequence[str] | None = None,
        site_ids: Sequence[str] | None = None,
    ) -> SitingProblem:
        """Build a problem from arrays, checking shapes and values.

        Parameters
        ----------
        coverage
            One (n, m) matrix per service; any stored entry (or True) means "reaches".
        weights
            (n,) residents, used for every service, or (n, K) per service.
        services
            The K services; their ``fit_out_cost`` fills ``fit_out_cost`` when it is None.
        served_before
            (n, K) already-covered flags; default none.
        site_fixed_cost
            (m,) one-off site costs; default 0.
        fit_out_cost
            (m, K) per-site per-service costs; default each service's ``fit_out_cost``.
        site_capacity, site_floor_area_m2
            (m,) limits; default none.
        allowed
            (m, K) which services each site may host; default all.
        budget
            Total money; None for no limit.
        demand_ids, site_ids
            Labels; default ``"0"``, ``"1"``, ...

        Raises
        ------
        DataValidationError
            On mismatched shapes, NaN, infinite or negative values, or a budget below the
            cheapest possible outlet.
        """
        services = tuple(services)
        K = len(services)
        problems: list[str] = []
        if K == 0:
            problems.append("services: at least one service is needed")
        if len(coverage) != K:
            problems.append(f"coverage: {len(coverage)} matrices for {K} services; give one each")
            raise DataValidationError(problems)
        matrices = tuple(_as_csr_pattern(c) for c in coverage)
        n, m = matrices[0].shape if matrices else (len(weights), 0)
        for k, matrix in enumerate(matrices):
            if matrix.shape != (n, m):
                problems.append(
                    f"coverage[{k}] ('{services[k].key}') has shape {matrix.shape}; "
                    f"expected {(n, m)} like coverage[0]"
                )
        w = np.asarray(weights, dtype=np.float64)
        w = np.repeat(w[:, None], K, axis=1) if w.ndim == 1 else w
        fit_out = (
            np.tile([s.fit_out_cost for s in services], (m, 1))
            if fit_out_cost is None
            else np.asarray(fit_out_cost, dtype=np.float64)
        )
        arrays = {
            "weights": (w, (n, K)),
            "served_before": (_default(served_before, (n, K), False, bool), (n, K)),
            "site_fixed_cost": (_default(site_fixed_cost, (m,), 0.0), (m,)),
            "fit_out_cost": (fit_out, (m, K)),
            "site_capacity": (_default(site_capacity, (m,), np.inf), (m,)),
            "site_floor_area_m2": (_default(site_floor_area_m2, (m,), np.inf), (m,)),
            "allowed": (_default(allowed, (m, K), True, bool), (m, K)),
        }
        for name, (array, shape) in arrays.items():
            if array.shape != shape:
                problems.append(f"{name} has shape {array.shape}; expected {shape}")
            elif array.dtype != bool:
                finite_required = name in {"weights", "site_fixed_cost", "fit_out_cost"}
                bad = np.isnan(array) | (array < 0) | (np.isinf(array) & finite_required)
                if bad.any():
                    first = tuple(int(i) for i in np.argwhere(bad)[0])
                    problems.append(
                        f"{name} has {int(bad.sum())} NaN, infinite or negative value(s), "
                        f"first at {first}: {array[first]!r}; values must be finite and >= 0"
                    )
        if budget is not None and not (np.isfinite(budget) and budget >= 0):
            problems.append(f"budget = {budget!r}; must be a finite number >= 0, or None")
        if problems:
            raise DataValidationError(problems)
        problem = cls(
            services=services,
            coverage=matrices,
            weights=w,
            served_before=arrays["served_before"][0],
            site_fixed_cost=arrays["site_fixed_cost"][0],
            fit_out_cost=fit_out,
            site_capacity=arrays["site_capacity"][0],
            site_floor_area_m2=arrays["site_floor_area_m2"][0],
            allowed=arrays["allowed"][0],
            budget=None if budget is None else float(budget),
            demand_ids=_labels(demand_ids, n),
            site_ids=_labels(site_ids, m),
        )
        problem.check_budget()
        return problem

    @classmethod
    def from_coverage(
        cls,
        coverage: Sequence[ServiceCoverage],
        weights: NDArray[np.float64],
        *,
        services: Sequence[Service],
        **kwargs: object,
    ) -> SitingProblem:
        """Build from :class:`~siting.coverage.ServiceCoverage` (existing outlets included).

        ``kwargs`` are passed to :meth:`from_arrays`.
        """
        return cls.from_arrays(
            [c.minutes for c in coverage],
            weights,
            services=services,
            served_before=np.column_stack([c.served_before for c in coverage]),
            **kwargs,  # type: ignore[arg-type]
        )

    def usable(self) -> NDArray[np.bool_]:
        """(m, K) True where service k can open at j: allowed, within capacity and floor area."""
        area = np.array([s.floor_area_m2 for s in self.services])
        return (
            self.allowed
            & (self.site_capacity[:, None] >= 1)
            & (area[None, :] <= self.site_floor_area_m2[:, None])
        )

    def outlet_costs(self) -> NDArray[np.float64]:
        """(m, K) cost of opening service k at site j alone: fixed plus fit-out."""
        return self.site_fixed_cost[:, None] + self.fit_out_cost

    def check_budget(self) -> None:
        """Raise if the budget cannot pay for even the cheapest usable outlet.

        Raises
        ------
        DataValidationError
            Naming the cheapest outlet and its cost.
        """
        if self.budget is None:
            return
        costs = np.where(self.usable(), self.outlet_costs(), np.inf)
        if costs.size == 0 or not np.isfinite(costs).any():
            return
        j, k = np.unravel_index(np.argmin(costs), costs.shape)
        if self.budget < costs[j, k]:
            msg = (
                f"budget = {self.budget:,.0f} is below the cheapest possible outlet: "
                f"{costs[j, k]:,.0f} ('{self.services[k].key}' at site '{self.site_ids[j]}': "
                f"fixed {self.site_fixed_cost[j]:,.0f} + fit-out {self.fit_out_cost[j, k]:,.0f}); "
                "raise [budget] total or lower the costs"
            )
            raise DataValidationError([msg])


def _as_csr_pattern(
    matrix: sparse.sparray | sparse.spmatrix | NDArray[np.bool_],
) -> sparse.csr_array:
    """A CSR boolean structure; for sparse input every stored entry (even 0.0) counts."""
    if sparse.issparse(matrix):
        csr = sparse.csr_array(matrix)
        csr.sum_duplicates()
        csr.sort_indices()
        return pattern(csr)
    return sparse.csr_array(np.asarray(matrix, dtype=bool))


def _default(
    value: NDArray[Any] | None, shape: tuple[int, ...], fill: object, dtype: type = float
) -> NDArray[Any]:
    if value is None:
        return np.full(shape, fill, dtype=dtype)
    return np.asarray(value, dtype=dtype)


def _labels(values: Sequence[str] | None, size: int) -> NDArray[np.object_]:
    if values is None:
        return np.array([str(i) for i in range(size)], dtype=object)
    return np.array([str(v) for v in values], dtype=object)


@dataclass(frozen=True)
class MilpArrays:
    """A MILP in matrix form: maximise ``c @ v`` with ``row_lower <= A @ v <= row_upper``.

    Attributes
    ----------
    c
        Objective coefficients (maximised).
    A
        Constraint matrix, CSR with sorted indices.
    row_lower, row_upper
        Row bounds (``-inf`` / ``inf`` for one-sided rows).
    col_lower, col_upper
        Column bounds.
    integrality
        True for integer columns.
    """

    c: NDArray[np.float64]
    A: sparse.csr_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    col_lower: NDArray[np.float64]
    col_upper: NDArray[np.float64]
    integrality: NDArray[np.bool_]

    @property
    def num_cols(self) -> int:
        """Number of variables."""
        return int(self.c.shape[0])

    @property
    def num_rows(self) -> int:
        """Number of constraints."""
        return int(self.A.shape[0])


@dataclass(frozen=True)
class SitingModel:
    """A built model: the MILP arrays and the maps back to sites and services.

    Columns are ordered ``[x (one per usable site-service pair) | z (one per site with an x) |
    y (one per aggregated demand row)]``.

    Attributes
    ----------
    problem
        The instance this model was built from.
    milp
        The arrays handed to a solver.
    x_site, x_service
        Site and service index of each x column.
    z_site
        Site index of each z column.
    y_service
        Service index of each y column.
    y_weight
        Objective coefficient (priority x summed residents) of each y column.
    y_cover
        (num_y, num_x) boolean CSR: which x columns cover each aggregated row.
    stats
        Sizes before and after the reductions, for reports and benchmarks.
    """

    problem: SitingProblem
    milp: MilpArrays
    x_site: NDArray[np.intp]
    x_service: NDArray[np.intp]
    z_site: NDArray[np.intp]
    y_service: NDArray[np.intp]
    y_weight: NDArray[np.float64]
    y_cover: sparse.csr_array
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def num_x(self) -> int:
        """Number of x columns."""
        return int(self.x_site.shape[0])

    @property
    def num_z(self) -> int:
        """Number of z columns."""
        return int(self.z_site.shape[0])

    @property
    def coverage_bound(self) -> float:
        """A valid upper bound on the objective: every reachable demand row covered."""
        return float(self.y_weight.sum())

    def open_matrix(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """(m, K) booleans from a column vector: x > 0.5 means the outlet opens."""
        opened = np.zeros((self.problem.num_sites, len(self.problem.services)), dtype=bool)
        chosen = values[: self.num_x] > 0.5
        opened[self.x_site[chosen], self.x_service[chosen]] = True
        return opened

    def values_from_open(self, opened: NDArray[np.bool_]) -> NDArray[np.float64]:
        """A full column vector (x, z, y) for a plan, e.g. to warm-start a solver."""
        x = opened[self.x_site, self.x_service].astype(np.float64)
        used = np.zeros(self.problem.num_sites, dtype=bool)
        used[self.x_site[x > 0]] = True
        z = used[self.z_site].astype(np.float64)
        y = np.minimum(1.0, self.y_cover @ x)
        return np.concatenate([x, z, y])

    def objective_of(self, opened: NDArray[np.bool_]) -> float:
        """The model objective of a plan, from the aggregated rows."""
        values = self.values_from_open(opened)
        return float(self.milp.c @ values)


def build_model(problem: SitingProblem) -> SitingModel:
    """Turn a :class:`SitingProblem` into MILP arrays, applying the exact reductions.

    Raises
    ------
    InfeasibleError
        If a service's minimum count exceeds the sites that may host it.
    """
    K, m = len(problem.services), problem.num_sites
    usable = problem.usable()
    for k, service in enumerate(problem.services):
        if service.min_new > usable[:, k].sum():
            msg = (
                f"service '{service.key}' needs min_new = {service.min_new} new outlets but only "
                f"{int(usable[:, k].sum())} candidate site(s) may host it; lower min_new or add "
                "sites"
            )
            raise InfeasibleError(msg)

    # Coverage rows per service: filter, drop unreachable, aggregate identical rows.
    blocks, y_service, y_weight, x_sites_per_k = [], [], [], []
    demand_rows = 0
    for k, service in enumerate(problem.services):
        rows = ~problem.served_before[:, k] & (problem.weights[:, k] > 0)
        reach = keep_columns(problem.coverage[k][np.flatnonzero(rows)], usable[:, k])
        nonempty = np.diff(reach.indptr) > 0
        reach = reach[np.flatnonzero(nonempty)]
        demand_rows += int(nonempty.sum())
        unique, summed, _ = aggregate_rows(reach, problem.weights[rows, k][nonempty])
        sites = np.flatnonzero(usable[:, k]) if service.min_new > 0 else np.unique(unique.indices)
        x_sites_per_k.append(sites)
        blocks.append(unique)
        y_service.append(np.full(unique.shape[0], k, dtype=np.intp))
        y_weight.append(service.priority * summed)

    x_site = np.concatenate(x_sites_per_k).astype(np.intp) if K else np.empty(0, np.intp)
    x_service = np.concatenate(
        [np.full(len(s), k, dtype=np.intp) for k, s in enumerate(x_sites_per_k)]
    )
    num_x = len(x_site)
    x_offset = np.concatenate([[0], np.cumsum([len(s) for s in x_sites_per_k])])
    y_cover = _cover_matrix(blocks, x_sites_per_k, x_offset, m, num_x)
    z_site = np.unique(x_site)
    num_z, num_y = len(z_site), y_cover.shape[0]
    z_of_site = np.full(m, -1, dtype=np.intp)
    z_of_site[z_site] = np.arange(num_z)
    x_z = z_of_site[x_site]
    y_weights = np.concatenate(y_weight) if y_weight else np.empty(0)

    constraints = _RowBuilder(num_cols=num_x + num_z + num_y)
    # y_r - sum_{x covering r} x <= 0
    constraints.add_block(
        sparse.hstack(
            [
                -y_cover.astype(np.float64),
                sparse.csr_array((num_y, num_z)),
                sparse.eye_array(num_y),
            ],
            format="csr",
        ),
        upper=0.0,
    )
    # x_jk - z_j <= 0
    constraints.add_block(
        _two_per_row(np.arange(num_x), 1.0, num_x + x_z, -1.0, num_x + num_z + num_y),
        upper=0.0,
    )
    count_at = np.bincount(x_site, minlength=m)
    capacity = problem.site_capacity[z_site]
    tight = np.flatnonzero(capacity < count_at[z_site])
    if tight.size:  # sum_k x_jk - cap_j z_j <= 0
        constraints.add_block(
            _per_site_rows(x_z, np.ones(num_x), tight, capacity, num_x, constraints.num_cols),
            upper=0.0,
        )
    area = np.array([s.floor_area_m2 for s in problem.services])[x_service]
    area_at = np.bincount(x_z, weights=area, minlength=num_z)
    floor = problem.site_floor_area_m2[z_site]
    tight = np.flatnonzero(area_at > floor)
    if tight.size:  # sum_k a_k x_jk - area_j z_j <= 0
        constraints.add_block(
            _per_site_rows(x_z, area, tight, floor, num_x, constraints.num_cols), upper=0.0
        )
    if problem.budget is not None:
        cost = np.concatenate(
            [
                problem.fit_out_cost[x_site, x_service],
                problem.site_fixed_cost[z_site],
                np.zeros(num_y),
            ]
        )
        constraints.add_block(sparse.csr_array(cost[None, :]), upper=problem.budget)
    for k, service in enumerate(problem.services):
        count = x_offset[k + 1] - x_offset[k]
        below = service.max_new is not None and service.max_new < count
        if service.min_new > 0 or below:
            coefficients = np.zeros(constraints.num_cols)
            coefficients[x_offset[k] : x_offset[k + 1]] = 1.0
            constraints.add_block(
                sparse.csr_array(coefficients[None, :]),
                lower=float(service.min_new),
                upper=float(service.max_new) if below and service.max_new is not None else np.inf,
            )

    num_cols = constraints.num_cols
    c = np.concatenate([np.zeros(num_x + num_z), y_weights])
    integrality = np.zeros(num_cols, dtype=bool)
    integrality[: num_x + num_z] = True
    A, row_lower, row_upper = constraints.finish()
    milp = MilpArrays(
        c=c,
        A=A,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=np.zeros(num_cols),
        col_upper=np.ones(num_cols),
        integrality=integrality,
    )
    stats = {
        "demand_points": problem.num_demand,
        "candidate_sites": m,
        "services": K,
        "coverage_pairs": int(sum(c.nnz for c in problem.coverage)),
        "demand_rows_reachable": demand_rows,
        "demand_rows_aggregated": num_y,
        "x_columns": num_x,
        "z_columns": num_z,
        "rows": int(A.shape[0]),
        "nonzeros": int(A.nnz),
    }
    return SitingModel(
        problem=problem,
        milp=milp,
        x_site=x_site,
        x_service=x_service,
        z_site=z_site,
        y_service=np.concatenate(y_service) if y_service else np.empty(0, np.intp),
        y_weight=y_weights,
        y_cover=y_cover,
        stats=stats,
    )


def _cover_matrix(
    blocks: list[sparse.csr_array],
    sites_per_k: list[NDArray[np.intp]],
    x_offset: NDArray[np.int64],
    num_sites: int,
    num_x: int,
) -> sparse.csr_array:
    """Stack per-service (rows x sites) blocks into (rows x x-columns), remapping site indices."""
    parts = []
    for k, block in enumerate(blocks):
        column_of_site = np.full(num_sites, -1, dtype=np.int64)
        column_of_site[sites_per_k[k]] = x_offset[k] + np.arange(len(sites_per_k[k]))
        indices = column_of_site[block.indices]
        parts.append(
            sparse.csr_array(
                (np.ones(block.nnz, dtype=bool), indices, block.indptr),
                shape=(block.shape[0], num_x),
            )
        )
    if not parts:
        return sparse.csr_array((0, num_x), dtype=bool)
    cover = sparse.vstack(parts, format="csr")
    cover.sort_indices()
    return cover


def _two_per_row(
    cols_a: NDArray[np.intp], value_a: float, cols_b: NDArray[np.intp], value_b: float, width: int
) -> sparse.csr_array:
    """Rows with two entries each: ``value_a`` at ``cols_a[r]`` and ``value_b`` at ``cols_b[r]``."""
    n = len(cols_a)
    indices = np.column_stack([cols_a, cols_b]).ravel()
    data = np.tile([value_a, value_b], n)
    return sparse.csr_array((data, indices, np.arange(0, 2 * n + 1, 2)), shape=(n, width))


def _per_site_rows(
    x_z: NDArray[np.intp],
    x_coefficient: NDArray[np.float64],
    z_rows: NDArray[np.intp],
    z_coefficient: NDArray[np.float64],
    num_x: int,
    width: int,
) -> sparse.csr_array:
    """Rows ``sum_{x at site} coef * x - limit * z <= 0`` for the z columns ``z_rows``."""
    row_of_z = np.full(len(z_coefficient), -1)
    row_of_z[z_rows] = np.arange(len(z_rows))
    x_rows = row_of_z[x_z]
    in_rows = x_rows >= 0
    rows = np.concatenate([x_rows[in_rows], np.arange(len(z_rows))])
    cols = np.concatenate([np.flatnonzero(in_rows), num_x + z_rows])
    data = np.concatenate([x_coefficient[in_rows], -z_coefficient[z_rows]])
    return sparse.coo_array((data, (rows, cols)), shape=(len(z_rows), width)).tocsr()


class _RowBuilder:
    """Collects CSR row blocks with their bounds and stacks them once."""

    def __init__(self, num_cols: int) -> None:
        self.num_cols = num_cols
        self.blocks: list[sparse.csr_array] = []
        self.lower: list[NDArray[np.float64]] = []
        self.upper: list[NDArray[np.float64]] = []

    def add_block(
        self, block: sparse.csr_array, *, lower: float = -np.inf, upper: float = np.inf
    ) -> None:
        self.blocks.append(sparse.csr_array(block, shape=(block.shape[0], self.num_cols)))
        self.lower.append(np.full(block.shape[0], lower))
        self.upper.append(np.full(block.shape[0], upper))

    def finish(self) -> tuple[sparse.csr_array, NDArray[np.float64], NDArray[np.float64]]:
        if not self.blocks:
            return sparse.csr_array((0, self.num_cols)), np.empty(0), np.empty(0)
        A = sparse.vstack(self.blocks, format="csr")
        A.sum_duplicates()
        A.sort_indices()
        A.eliminate_zeros()
        return A.astype(np.float64), np.concatenate(self.lower), np.concatenate(self.upper)
