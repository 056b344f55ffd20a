r"""The multi-service maximal covering location model, built as arrays.

Index sets: demand points :math:`i \in I`, candidate sites :math:`j \in J`, services
:math:`k \in K`, credit levels :math:`l` of a service (one for a hard walk threshold, one per
step of a distance decay), communities :math:`c`.

Variables
    :math:`x_{jk} \in \{0, 1\}`: open service *k* at site *j*;
    :math:`z_j \in \{0, 1\}`: site *j* is used (its one-off cost is paid once, however many
    services share it, 一店多能);
    :math:`y_{ikl} \in [0, 1]`: demand *i* reaches an open outlet of *k* at credit level *l* or
    better (continuous suffices: at an optimum it is 1 whenever such an outlet is open);
    :math:`v_i \in [0, 1]`: demand *i* has the complete circle (every bundle service at full
    credit), only when the question involves it;
    :math:`t \in [0, 1]`: the worst community's coverage share, only in ``max_min_share``.

Coverage of *k* at *i* is the credit :math:`\sum_l (c_l - c_{l+1}) y_{ikl}` with levels
:math:`1 = c_1 > c_2 > \dots`, i.e. the best credit among open outlets (staircase form).

.. math::

    \max \; & \sum_k \beta_k \sum_{i,l} (c_l - c_{l+1}) w_{ik} y_{ikl}
        + \gamma \sum_i p_i v_i \\
    \text{s.t.} \; & y_{ikl} \le \textstyle\sum_{j : \mathrm{credit}_{ijk} \ge c_l} x_{jk}
        && i \text{ not served by an existing outlet of } k \\
    & v_i \le y_{ik1} && k \in \text{bundle}, i \text{ not served for } k \\
    & x_{jk} \le z_j, \quad \textstyle\sum_k x_{jk} \le \mathrm{cap}_j z_j,
      \quad \sum_k a_k x_{jk} \le \mathrm{area}_j z_j \\
    & \textstyle\sum_j f_j z_j + \sum_{j,k} c_{jk} x_{jk} \le B,
      \quad \sum_j c_{jk} x_{jk} \le B_k \\
    & \textstyle n^{\min}_k \le \sum_j x_{jk} \le n^{\max}_k,
      \quad \sum_{j \in c, k} x_{jk} \ge N^{\mathrm{group}} \\
    & \text{coverage}_k \ge \tau_k W_k, \quad \text{coverage}_{kc} \ge \alpha W_{kc}
      \; (\text{or } \ge t \, W_{kc} \text{ in max-min})

where :math:`w_{ik}` is the population segment service *k* targets, :math:`\beta_k` its
priority, :math:`p_i` residents, :math:`\gamma` the complete-circle weight, :math:`\tau_k` a
coverage target and :math:`\alpha` an equity floor. ``min_cost`` minimises
:math:`\sum_j f_j z_j + \sum_{j,k} c_{jk} x_{jk}` subject to the targets instead. Questions with
several objectives (``min_cost``, ``complete_circle``, ``max_min_share``, lexicographic stages)
are solved in stages: each stage keeps what earlier stages reached as a constraint.

Exact reductions applied while building (none changes the optimum): demand already served, with
zero weight or out of reach leaves the model; demand rows with identical credit rows (and, where
it matters, the same community and the same status for every bundle service) are merged with
summed weights; an :math:`x_{jk}` that covers no remaining demand is not created unless counts
require it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import InfeasibleError
from siting.coverage import aggregate_rows, keep_columns
from siting.problem import FULL_CREDIT, MUST, Equity, SitingProblem

__all__ = ["MilpArrays", "ObjectiveSpec", "SitingModel", "SitingProblem", "build_model"]


@dataclass(frozen=True)
class ObjectiveSpec:
    """What one stage maximises, as weights on the model's measures.

    Attributes
    ----------
    service_weights
        (K,) weight of one credited resident of each service.
    circle_weight
        Weight of one resident with the complete circle.
    cost_weight
        Weight of one unit of money (negative to minimise cost).
    share_weight
        Weight of the worst community's share ``t``.
    name
        ``"coverage"``, ``"circle"``, ``"cost"`` or ``"min_share"``, for results.
    """

    service_weights: tuple[float, ...]
    circle_weight: float = 0.0
    cost_weight: float = 0.0
    share_weight: float = 0.0
    name: str = "coverage"


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

    def with_row(self, coefficients: NDArray[np.float64], lower: float) -> MilpArrays:
        """These arrays plus the row ``coefficients @ v >= lower``."""
        row = sparse.csr_array(coefficients[None, :])
        row.eliminate_zeros()
        return replace(
            self,
            A=sparse.vstack([self.A, row], format="csr"),
            row_lower=np.append(self.row_lower, lower),
            row_upper=np.append(self.row_upper, np.inf),
        )


@dataclass(frozen=True)
class SitingModel:
    """A built model: the MILP arrays and the maps back to sites, services and measures.

    Columns are ordered ``[x (usable site-service pairs) | z (sites) | y (aggregated demand
    rows per service and credit level) | v (complete-circle rows) | t (worst share)]``; the
    first ``num_y`` rows of ``milp.A`` are the coverage rows ``y - sum x <= 0``.

    Attributes
    ----------
    problem
        The instance this model was built from.
    milp
        The arrays of the first stage.
    stages
        The objective of each stage, in order.
    x_site, x_service
        Site and service index of each x column.
    z_site
        Site index of each z column.
    y_service
        Service index of each y column.
    y_credit
        Credited residents of each y column: credit step times summed segment weight.
    y_cover
        (num_y, num_x) boolean CSR: which x columns cover each y row.
    v_weight
        Residents of each v column (complete circle).
    v_links
        (num_v, num_y) boolean CSR: the y columns each v needs.
    share_rows
        (rows, num_y) credited residents per community and service, with ``share_total`` and
        ``share_before``: the measures ``t`` bounds in ``max_min_share``.
    stats
        Sizes before and after the reductions, for reports and benchmarks.
    """

    problem: SitingProblem
    milp: MilpArrays
    stages: tuple[ObjectiveSpec, ...]
    x_site: NDArray[np.intp]
    x_service: NDArray[np.intp]
    z_site: NDArray[np.intp]
    y_service: NDArray[np.intp]
    y_credit: NDArray[np.float64]
    y_cover: sparse.csr_array
    v_weight: NDArray[np.float64]
    v_links: sparse.csr_array
    share_rows: sparse.csr_array
    share_total: NDArray[np.float64]
    share_before: NDArray[np.float64]
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
    def num_y(self) -> int:
        """Number of y columns (and coverage rows)."""
        return int(self.y_service.shape[0])

    @property
    def num_v(self) -> int:
        """Number of v columns."""
        return int(self.v_weight.shape[0])

    @property
    def has_share(self) -> bool:
        """True if the model has the worst-share column t."""
        return self.problem.mode == "max_min_share"

    @property
    def y_weight(self) -> NDArray[np.float64]:
        """Objective weight of each y column under the services' priorities."""
        return self.problem.priorities[self.y_service] * self.y_credit

    @property
    def coverage_bound(self) -> float:
        """A valid upper bound on the first stage's objective when it is pure coverage."""
        c = self.milp.c
        return float(np.maximum(c, 0.0).sum())

    def objective_vector(self, spec: ObjectiveSpec) -> NDArray[np.float64]:
        """The objective coefficients of ``spec`` over all columns."""
        c = np.zeros(self.milp.num_cols)
        weights = np.asarray(spec.service_weights, dtype=np.float64)
        y0 = self.num_x + self.num_z
        c[y0 : y0 + self.num_y] = weights[self.y_service] * self.y_credit
        c[y0 + self.num_y : y0 + self.num_y + self.num_v] = spec.circle_weight * self.v_weight
        if spec.cost_weight:
            c[: self.num_x] = (
                spec.cost_weight * self.problem.fit_out_cost[self.x_site, self.x_service]
            )
            c[self.num_x : y0] = spec.cost_weight * self.problem.site_fixed_cost[self.z_site]
        if self.has_share:
            c[-1] = spec.share_weight
        return c

    def stage_arrays(self, stage: int, floors: list[float]) -> MilpArrays:
        """The arrays for ``stage``: its objective, and earlier stages held at ``floors``."""
        milp = replace(self.milp, c=self.objective_vector(self.stages[stage]))
        for previous, floor in zip(self.stages[:stage], floors, strict=True):
            milp = milp.with_row(self.objective_vector(previous), floor)
        return milp

    def open_matrix(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """(m, K) booleans from a column vector: x > 0.5 means the outlet opens."""
        opened = np.zeros((self.problem.num_sites, len(self.problem.services)), dtype=bool)
        chosen = values[: self.num_x] > 0.5
        opened[self.x_site[chosen], self.x_service[chosen]] = True
        return opened

    def values_from_open(self, opened: NDArray[np.bool_]) -> NDArray[np.float64]:
        """The full column vector of a plan (x, z, y, v, t), e.g. to warm-start a solver."""
        x = opened[self.x_site, self.x_service].astype(np.float64)
        used = self.problem.site_decision == MUST
        used[self.x_site[x > 0]] = True
        z = used[self.z_site].astype(np.float64)
        y = np.minimum(1.0, self.y_cover @ x)
        v = np.ones(self.num_v)
        if self.num_v:
            missing = self.v_links @ (1.0 - y)
            v = (missing < 0.5).astype(np.float64)
        parts = [x, z, y, v]
        if self.has_share:
            shares = (self.share_rows @ y + self.share_before) / self.share_total
            parts.append(np.array([min(1.0, float(shares.min())) if shares.size else 1.0]))
        return np.concatenate(parts)

    def satisfies(self, values: NDArray[np.float64], milp: MilpArrays | None = None) -> bool:
        """True if ``values`` meets every row and column bound of ``milp`` (default: stage 1)."""
        milp = milp or self.milp
        activity = milp.A @ values
        tolerance = 1e-6 * np.maximum(1.0, np.abs(activity))
        return bool(
            np.all(activity >= milp.row_lower - tolerance)
            and np.all(activity <= milp.row_upper + tolerance)
            and np.all(values >= milp.col_lower - 1e-9)
            and np.all(values <= milp.col_upper + 1e-9)
        )

    def objective_of(self, opened: NDArray[np.bool_], stage: int = 0) -> float:
        """The objective of stage ``stage`` for a plan, from the aggregated rows."""
        return float(self.objective_vector(self.stages[stage]) @ self.values_from_open(opened))


def build_model(problem: SitingProblem) -> SitingModel:
    """Turn a :class:`SitingProblem` into MILP arrays, applying the exact reductions.

    Raises
    ------
    InfeasibleError
        If a constraint is provably impossible before solving: a minimum count above the sites
        that may host the service, a coverage target or equity floor above what every candidate
        together could reach, a community minimum above its possible outlets.
    """
    K, m = len(problem.services), problem.num_sites
    usable = problem.usable()
    keep_all = problem.min_new_per_group > 0
    _check_counts(problem, usable)

    circle_active = problem.mode == "complete_circle" or problem.circle_weight > 0
    equity = problem.equity
    equity_services = set(equity.services) if equity is not None else set()
    equity_active = equity is not None and (
        equity.min_share is not None or problem.mode == "max_min_share"
    )
    credit = [keep_columns(problem.coverage[k], usable[:, k]) for k in range(K)]
    levels = [_levels(c) for c in credit]
    keys = [_level_key(c, lv) for c, lv in zip(credit, levels, strict=True)]
    community = equity.groups if equity is not None else np.full(problem.num_demand, -1)

    joint = None
    if circle_active:
        bundle = list(problem.circle)
        joint_key = sparse.hstack([keys[k] for k in bundle], format="csr")
        _, before_label = np.unique(problem.credit_before[:, bundle], axis=0, return_inverse=True)
        joint_key = _append_label(joint_key, before_label.ravel())
        if equity_active and equity_services & set(bundle):
            joint_key = _append_label(joint_key, community)
        members = np.flatnonzero((problem.population > 0) | (problem.weights[:, bundle] > 0).any(1))
        _, _, joint_group = aggregate_rows(joint_key[members], np.zeros(len(members)))
        joint = (members, joint_group)

    blocks: list[sparse.csr_array] = []
    y_service, y_credit, y_community = [], [], []
    full_level_row: dict[int, NDArray[np.int64]] = {}  # service -> y index per joint group
    reachable_rows = 0
    for k in range(K):
        w = problem.weights[:, k]
        if joint is not None and k in problem.circle:
            members, group = joint
            rows = members
            representative = _first_of_each(group)
            demand_of_group = rows[representative]
            weight = np.bincount(group, weights=w[rows], minlength=len(representative)).astype(
                np.float64
            )
            joint_ids = np.arange(len(representative))
            keep = problem.credit_before[demand_of_group, k] < FULL_CREDIT
        else:
            rows = np.flatnonzero((problem.credit_before[:, k] < FULL_CREDIT) & (w > 0))
            rows = rows[np.diff(keys[k][rows].indptr) > 0]  # reachable by some usable site
            key = keys[k][rows]
            if equity_active and k in equity_services:
                key = _append_label(key, community[rows])
            partial = problem.credit_before[rows, k]
            if (partial > 0).any():
                key = _append_label(key, np.unique(partial, return_inverse=True)[1].ravel())
            _, weight, group = aggregate_rows(key, w[rows])
            representative = _first_of_each(group)
            demand_of_group = rows[representative]
            joint_ids = np.full(len(representative), -1)
            keep = np.ones(len(representative), dtype=bool)
        reachable_rows += int(keep[group].sum())
        lv = levels[k]
        already = problem.credit_before[demand_of_group, k]
        for level, value in enumerate(lv):
            below = lv[level + 1] if level + 1 < len(lv) else 0.0
            step = value - np.maximum(below, already)
            reach = _at_least(credit[k][demand_of_group], value)
            ok = keep & (np.diff(reach.indptr) > 0) & (value > already + 1e-12)
            if not circle_active or k not in problem.circle:
                ok &= weight > 0
            chosen = np.flatnonzero(ok)
            start = sum(b.shape[0] for b in blocks)
            blocks.append(_pattern(reach[chosen]))
            y_service.append(np.full(len(chosen), k, dtype=np.intp))
            y_credit.append(step[chosen] * weight[chosen])
            y_community.append(community[demand_of_group[chosen]])
            if value >= FULL_CREDIT and joint is not None and k in problem.circle:
                rows_of_groups = np.full(len(joint_ids), -1, dtype=np.int64)
                rows_of_groups[joint_ids[chosen]] = start + np.arange(len(chosen))
                full_level_row[k] = rows_of_groups

    # x columns: sites that cover something (or every usable one where counts need them)
    x_sites_per_k = []
    for k, service in enumerate(problem.services):
        needs_all = keep_all or service.min_new > 0
        in_blocks = [
            b.indices for b, s in zip(blocks, y_service, strict=True) if len(s) and s[0] == k
        ]
        covered = np.unique(np.concatenate(in_blocks)) if in_blocks else np.empty(0, np.intp)
        x_sites_per_k.append(np.flatnonzero(usable[:, k]) if needs_all else covered)
    x_site = np.concatenate(x_sites_per_k).astype(np.intp) if K else np.empty(0, np.intp)
    x_service = np.concatenate(
        [np.full(len(s), k, dtype=np.intp) for k, s in enumerate(x_sites_per_k)]
    ).astype(np.intp)
    num_x = len(x_site)
    x_offset = np.concatenate([[0], np.cumsum([len(s) for s in x_sites_per_k])]).astype(np.int64)
    y_svc = np.concatenate(y_service) if y_service else np.empty(0, np.intp)
    y_cover = _cover_matrix(blocks, y_svc, x_sites_per_k, x_offset, m, num_x)
    y_cred = np.concatenate(y_credit) if y_credit else np.empty(0)
    y_comm = np.concatenate(y_community) if y_community else np.empty(0, np.intp)
    num_y = y_cover.shape[0]

    z_site = np.union1d(x_site, np.flatnonzero(problem.site_decision == MUST)).astype(np.intp)
    num_z = len(z_site)
    z_of_site = np.full(m, -1, dtype=np.intp)
    z_of_site[z_site] = np.arange(num_z)
    x_z = z_of_site[x_site]

    # complete-circle columns
    v_weight, v_links = (
        _circle(problem, joint, full_level_row, num_y)
        if joint
        else (
            np.empty(0),
            sparse.csr_array((0, num_y), dtype=bool),
        )
    )
    num_v = len(v_weight)
    has_share = problem.mode == "max_min_share"
    num_cols = num_x + num_z + num_y + num_v + int(has_share)
    y0, v0 = num_x + num_z, num_x + num_z + num_y

    constraints = _RowBuilder(num_cols)
    # y - sum_{x covering} x <= 0
    constraints.add_block(
        sparse.hstack(
            [
                -y_cover.astype(np.float64),
                sparse.csr_array((num_y, num_z)),
                sparse.eye_array(num_y, format="csr"),
                sparse.csr_array((num_y, num_v + int(has_share))),
            ],
            format="csr",
        ),
        upper=0.0,
    )
    if num_v:  # v - y <= 0 for every needed y
        links = v_links.tocoo()
        constraints.add_block(
            _two_per_row(v0 + links.row, 1.0, y0 + links.col, -1.0, num_cols), upper=0.0
        )
    # x - z <= 0
    constraints.add_block(
        _two_per_row(np.arange(num_x), 1.0, num_x + x_z, -1.0, num_cols), upper=0.0
    )
    count_at = np.bincount(x_z, minlength=num_z)
    capacity = problem.site_capacity[z_site]
    tight = np.flatnonzero(capacity < count_at)
    if tight.size:  # sum_k x_jk - cap_j z_j <= 0
        constraints.add_block(
            _per_site_rows(x_z, np.ones(num_x), tight, capacity, num_x, num_cols), upper=0.0
        )
    area = np.array([s.floor_area_m2 for s in problem.services])[x_service]
    area_at = np.bincount(x_z, weights=area, minlength=num_z)
    floor = problem.site_floor_area_m2[z_site]
    tight = np.flatnonzero(area_at > floor)
    if tight.size:  # sum_k a_k x_jk - area_j z_j <= 0
        constraints.add_block(_per_site_rows(x_z, area, tight, floor, num_x, num_cols), upper=0.0)
    fit_out = problem.fit_out_cost[x_site, x_service]
    if problem.budget is not None:
        cost = np.zeros(num_cols)
        cost[:num_x] = fit_out
        cost[num_x:y0] = problem.site_fixed_cost[z_site]
        constraints.add_row(cost, upper=problem.budget)
    for k, service in enumerate(problem.services):
        span = slice(x_offset[k], x_offset[k + 1])
        if np.isfinite(problem.service_budget[k]):
            row = np.zeros(num_cols)
            row[span] = fit_out[span]
            constraints.add_row(row, upper=float(problem.service_budget[k]))
        count = x_offset[k + 1] - x_offset[k]
        below = service.max_new is not None and service.max_new < count
        if service.min_new > 0 or below:
            row = np.zeros(num_cols)
            row[span] = 1.0
            upper = float(service.max_new) if below and service.max_new is not None else np.inf
            constraints.add_row(row, lower=float(service.min_new), upper=upper)
    if problem.min_new_per_group > 0:
        _add_group_minimums(problem, constraints, x_site, num_cols)
    totals = problem.weights.sum(axis=0)
    before = (problem.weights * problem.credit_before).sum(axis=0)
    for t in np.flatnonzero(np.isfinite(problem.targets)):
        need = problem.targets[t] * totals[t] - before[t]
        reachable = float(y_cred[y_svc == t].sum())
        if need > reachable * (1 + 1e-9) + 1e-9:
            best = 100 * (before[t] + reachable) / totals[t] if totals[t] else 0.0
            msg = (
                f"service '{problem.services[t].key}': target {100 * problem.targets[t]:g} % "
                f"cannot be reached even with every candidate site; the best reachable coverage "
                f"is {best:.2f} %"
            )
            raise InfeasibleError(msg)
        if need > 0:
            row = np.zeros(num_cols)
            row[y0:v0] = np.where(y_svc == t, y_cred, 0.0)
            constraints.add_row(row, lower=float(need))
    share_rows, share_total, share_before, pairs = _share_rows(
        problem, y_svc, y_cred, y_comm, equity_active
    )
    if equity is not None and equity.min_share is not None and share_rows.shape[0]:
        need = equity.min_share * share_total - share_before
        reach = share_rows @ np.ones(num_y)
        short = np.flatnonzero(need > reach * (1 + 1e-9) + 1e-9)
        if short.size:
            r = short[0]
            best = 100 * (share_before[r] + reach[r]) / share_total[r]
            raise InfeasibleError(_equity_message(problem, equity, pairs[r], best))
        block = sparse.hstack(
            [
                sparse.csr_array((share_rows.shape[0], y0)),
                share_rows,
                sparse.csr_array((share_rows.shape[0], num_v + int(has_share))),
            ],
            format="csr",
        )
        constraints.add_block(block, lower_values=need)
    if has_share:  # sum credited - W t >= -before
        n_rows = share_rows.shape[0]
        block = sparse.hstack(
            [
                sparse.csr_array((n_rows, y0)),
                share_rows,
                sparse.csr_array((n_rows, num_v)),
                sparse.csr_array(-share_total[:, None]),
            ],
            format="csr",
        )
        constraints.add_block(block, lower_values=-share_before)

    A, row_lower, row_upper = constraints.finish()
    col_lower = np.zeros(num_cols)
    col_lower[num_x:y0] = (problem.site_decision[z_site] == MUST).astype(np.float64)
    integrality = np.zeros(num_cols, dtype=bool)
    integrality[:y0] = True
    stages = _stages(problem)
    milp = MilpArrays(
        c=np.zeros(num_cols),
        A=A,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=col_lower,
        col_upper=np.ones(num_cols),
        integrality=integrality,
    )
    model = SitingModel(
        problem=problem,
        milp=milp,
        stages=stages,
        x_site=x_site,
        x_service=x_service,
        z_site=z_site,
        y_service=y_svc,
        y_credit=y_cred,
        y_cover=y_cover,
        v_weight=v_weight,
        v_links=v_links,
        share_rows=share_rows,
        share_total=share_total,
        share_before=share_before,
        stats={
            "demand_points": problem.num_demand,
            "candidate_sites": m,
            "services": K,
            "coverage_pairs": int(sum(c.nnz for c in problem.coverage)),
            "demand_rows_reachable": reachable_rows,
            "demand_rows_aggregated": num_y,
            "x_columns": num_x,
            "z_columns": num_z,
            "circle_columns": num_v,
            "rows": int(A.shape[0]),
            "nonzeros": int(A.nnz),
        },
    )
    return replace(model, milp=replace(milp, c=model.objective_vector(stages[0])))


def _stages(problem: SitingProblem) -> tuple[ObjectiveSpec, ...]:
    """The objectives solved in order for the problem's question."""
    K = len(problem.services)
    weights = tuple(float(p) for p in problem.priorities)
    coverage = ObjectiveSpec(weights, circle_weight=problem.circle_weight, name="coverage")
    zeros = (0.0,) * K
    if problem.mode == "min_cost":
        return (ObjectiveSpec(zeros, cost_weight=-1.0, name="cost"), coverage)
    if problem.mode == "complete_circle":
        return (ObjectiveSpec(zeros, circle_weight=1.0, name="circle"), coverage)
    if problem.mode == "max_min_share":
        return (ObjectiveSpec(zeros, share_weight=1.0, name="min_share"), coverage)
    if problem.stages:
        return tuple(
            ObjectiveSpec(
                tuple(weights[k] if k in stage else 0.0 for k in range(K)),
                name=f"stage {number}",
            )
            for number, stage in enumerate(problem.stages, start=1)
        )
    return (coverage,)


def _check_counts(problem: SitingProblem, usable: NDArray[np.bool_]) -> None:
    for k, service in enumerate(problem.services):
        if service.min_new > usable[:, k].sum():
            msg = (
                f"service '{service.key}' needs min_new = {service.min_new} new outlets but only "
                f"{int(usable[:, k].sum())} candidate site(s) may host it; lower min_new or add "
                "sites"
            )
            raise InfeasibleError(msg)
    if problem.min_new_per_group > 0:
        capacity = np.minimum(usable.sum(axis=1), problem.site_capacity)
        per_group = np.bincount(
            problem.site_groups[problem.site_groups >= 0],
            weights=capacity[problem.site_groups >= 0],
        )
        short = np.flatnonzero((per_group > 0) & (per_group < problem.min_new_per_group))
        if short.size:
            names = problem.equity.names if problem.equity is not None else ()
            label = names[short[0]] if short[0] < len(names) else str(short[0])
            msg = (
                f"community '{label}' can host at most {int(per_group[short[0]])} new outlets "
                f"but min_new_per_community = {problem.min_new_per_group}; lower it or add sites"
            )
            raise InfeasibleError(msg)


def _add_group_minimums(
    problem: SitingProblem, constraints: _RowBuilder, x_site: NDArray[np.intp], num_cols: int
) -> None:
    groups = problem.site_groups[x_site]
    for g in np.unique(groups[groups >= 0]):
        row = np.zeros(num_cols)
        row[: len(x_site)] = (groups == g).astype(np.float64)
        constraints.add_row(row, lower=float(problem.min_new_per_group))


def _share_rows(
    problem: SitingProblem,
    y_service: NDArray[np.intp],
    y_credit: NDArray[np.float64],
    y_community: NDArray[np.intp],
    active: bool,
) -> tuple[sparse.csr_array, NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Credited residents per (equity service, community) over y, with totals and before.

    Returns the (rows, num_y) matrix, each row's total and already-covered residents, and each
    row's (service, community) pair.
    """
    num_y = len(y_service)
    equity = problem.equity
    if not active or equity is None or not equity.services:
        empty = np.empty(0)
        return sparse.csr_array((0, num_y)), empty, empty, np.empty((0, 2), dtype=np.intp)
    C = len(equity.names)
    services = np.asarray(equity.services, dtype=np.intp)
    inside = equity.groups >= 0
    w = problem.weights[inside][:, services]
    served = problem.credit_before[inside][:, services]
    group = equity.groups[inside]
    total = np.stack(
        [np.bincount(group, weights=w[:, s], minlength=C) for s in range(len(services))]
    )
    done = np.stack(
        [
            np.bincount(group, weights=w[:, s] * served[:, s], minlength=C)
            for s in range(len(services))
        ]
    )
    s_index, c_index = np.nonzero(total > 0)
    row_of = np.full((len(problem.services), C), -1, dtype=np.int64)
    row_of[services[s_index], c_index] = np.arange(len(s_index))
    member = np.where(y_community >= 0, row_of[y_service, np.maximum(y_community, 0)], -1)
    ok = member >= 0
    matrix = sparse.csr_array(
        (y_credit[ok], (member[ok], np.flatnonzero(ok))), shape=(len(s_index), num_y)
    )
    pairs = np.column_stack([services[s_index], c_index]).astype(np.intp)
    totals, befores = total[s_index, c_index], done[s_index, c_index]
    return matrix, totals.astype(np.float64), befores.astype(np.float64), pairs


def _equity_message(
    problem: SitingProblem, equity: Equity, pair: NDArray[np.intp], best_pct: float
) -> str:
    k, c = int(pair[0]), int(pair[1])
    return (
        f"community '{equity.names[c]}': service '{problem.services[k].key}' can reach at most "
        f"{best_pct:.2f} % coverage even with every candidate site, below the equity floor of "
        f"{100 * (equity.min_share or 0):g} %; lower min_share or add sites there"
    )


def _circle(
    problem: SitingProblem,
    joint: tuple[NDArray[np.intp], NDArray[np.intp]],
    full_level_row: dict[int, NDArray[np.int64]],
    num_y: int,
) -> tuple[NDArray[np.float64], sparse.csr_array]:
    """V columns (residents per joint group) and their links to full-credit y columns.

    A group gets a v column if it has residents, is not already complete, and every bundle
    service it lacks can reach it at full credit; v links to those services' y columns.
    """
    members, group = joint
    num_groups = int(group.max()) + 1 if len(group) else 0
    demand = members[_first_of_each(group)]
    population = np.bincount(group, weights=problem.population[members], minlength=num_groups)
    needs = []  # per bundle service: (groups lacking it, their y row or -1)
    for k in problem.circle:
        lacking = ~problem.served_before[demand, k]
        rows = full_level_row.get(k, np.full(num_groups, -1, dtype=np.int64))
        needs.append((lacking, rows))
    possible = population > 0
    missing = np.zeros(num_groups, dtype=np.int64)
    for lacking, rows in needs:
        possible &= ~lacking | (rows >= 0)
        missing += lacking
    chosen = np.flatnonzero(possible & (missing > 0))
    v_of_group = np.full(num_groups, -1, dtype=np.int64)
    v_of_group[chosen] = np.arange(len(chosen))
    v_rows, y_cols = [], []
    for lacking, rows in needs:
        linked = chosen[lacking[chosen]]
        v_rows.append(v_of_group[linked])
        y_cols.append(rows[linked])
    v_index = np.concatenate(v_rows) if v_rows else np.empty(0, dtype=np.int64)
    y_index = np.concatenate(y_cols) if y_cols else np.empty(0, dtype=np.int64)
    matrix = sparse.csr_array(
        (np.ones(len(v_index), dtype=bool), (v_index, y_index)), shape=(len(chosen), num_y)
    )
    return population[chosen].astype(np.float64), matrix


def _levels(credit: sparse.csr_array) -> NDArray[np.float64]:
    """Distinct credit values of a service, largest first (``[1.0]`` for a hard threshold)."""
    values = np.unique(credit.data) if credit.nnz else np.array([1.0])
    return values[::-1].astype(np.float64)


def _level_key(credit: sparse.csr_array, levels: NDArray[np.float64]) -> sparse.csr_array:
    """A pattern whose columns are (site, credit level): equal rows have equal credit rows."""
    L = len(levels)
    level = np.searchsorted(-levels, -credit.data)  # position in the descending levels
    return sparse.csr_array(
        (np.ones(credit.nnz), credit.indices.astype(np.int64) * L + level, credit.indptr),
        shape=(credit.shape[0], credit.shape[1] * L),
    )


def _append_label(key: sparse.csr_array, label: NDArray[np.intp]) -> sparse.csr_array:
    """``key`` with one more column block marking each row's label (so labels never merge)."""
    labels = np.unique(label)
    position = np.searchsorted(labels, label)
    extra = sparse.csr_array(
        (np.ones(len(label)), (np.arange(len(label)), position)), shape=(len(label), len(labels))
    )
    return sparse.hstack([key, extra], format="csr")


def _at_least(credit: sparse.csr_array, value: float) -> sparse.csr_array:
    """The entries of ``credit`` with credit >= value (structure only matters)."""
    mask = credit.data >= value - 1e-12
    kept_before = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    return sparse.csr_array(
        (credit.data[mask], credit.indices[mask], kept_before[credit.indptr]), shape=credit.shape
    )


def _pattern(matrix: sparse.csr_array) -> sparse.csr_array:
    return sparse.csr_array(
        (np.ones(matrix.nnz, dtype=bool), matrix.indices, matrix.indptr), shape=matrix.shape
    )


def _first_of_each(group: NDArray[np.intp]) -> NDArray[np.intp]:
    """Index of the first member of each group 0..G-1."""
    if len(group) == 0:
        return np.empty(0, dtype=np.intp)
    _, first = np.unique(group, return_index=True)
    return first.astype(np.intp)


def _cover_matrix(
    blocks: list[sparse.csr_array],
    y_service: NDArray[np.intp],
    sites_per_k: list[NDArray[np.intp]],
    x_offset: NDArray[np.int64],
    num_sites: int,
    num_x: int,
) -> sparse.csr_array:
    """Stack (rows x sites) blocks into (rows x x-columns), remapping site indices per service."""
    column_of = []
    for k, sites in enumerate(sites_per_k):
        lookup = np.full(num_sites, -1, dtype=np.int64)
        lookup[sites] = x_offset[k] + np.arange(len(sites))
        column_of.append(lookup)
    parts = []
    start = 0
    for block in blocks:
        if block.shape[0] == 0:
            continue
        k = int(y_service[start])
        start += block.shape[0]
        parts.append(
            sparse.csr_array(
                (np.ones(block.nnz, dtype=bool), column_of[k][block.indices], block.indptr),
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
        self,
        block: sparse.csr_array,
        *,
        lower: float = -np.inf,
        upper: float = np.inf,
        lower_values: NDArray[np.float64] | None = None,
    ) -> None:
        rows = block.shape[0]
        self.blocks.append(sparse.csr_array(block, shape=(rows, self.num_cols)))
        self.lower.append(np.full(rows, lower) if lower_values is None else lower_values)
        self.upper.append(np.full(rows, upper))

    def add_row(
        self, coefficients: NDArray[np.float64], *, lower: float = -np.inf, upper: float = np.inf
    ) -> None:
        self.add_block(sparse.csr_array(coefficients[None, :]), lower=lower, upper=upper)

    def finish(self) -> tuple[sparse.csr_array, NDArray[np.float64], NDArray[np.float64]]:
        if not self.blocks:
            return sparse.csr_array((0, self.num_cols)), np.empty(0), np.empty(0)
        A = sparse.vstack(self.blocks, format="csr")
        A.sum_duplicates()
        A.sort_indices()
        A.eliminate_zeros()
        return A.astype(np.float64), np.concatenate(self.lower), np.concatenate(self.upper)
