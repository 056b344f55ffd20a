"""A planning question as arrays: who reaches what, what it costs, what the plan must achieve.

:class:`SitingProblem` holds the instance (coverage and credit per service, weights, costs,
capacities, limits) and the question asked of it (mode, targets, complete-circle bundle,
equity floors, lexicographic stages). :func:`siting.model.build_model` turns it into MILP arrays;
:mod:`siting.results` evaluates any plan against it independently of the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import DataValidationError
from siting.services import Service

Mode = Literal["max_coverage", "min_cost", "complete_circle", "max_min_share"]
MODES: tuple[str, ...] = ("max_coverage", "min_cost", "complete_circle", "max_min_share")

EXCLUDE, FREE, MUST = -1, 0, 1
FULL_CREDIT = 1.0 - 1e-9


@dataclass(frozen=True)
class Equity:
    """Coverage per community (district, circle): a floor, or the worst community maximised.

    Attributes
    ----------
    groups
        (n,) community index of each demand point, -1 for none.
    names
        Community names, indexed by ``groups``.
    min_share
        Every community's coverage share of every equity service must reach this (0-1);
        None for no floor.
    services
        Indices of the services the floor (or the max-min objective) applies to.
    """

    groups: NDArray[np.intp]
    names: tuple[str, ...]
    min_share: float | None = None
    services: tuple[int, ...] = ()


@dataclass(frozen=True)
class SitingProblem:
    """One siting instance and the question asked of it.

    Build it with :meth:`from_arrays`, which validates every field.

    Attributes
    ----------
    services
        The K services, in column order.
    coverage
        Per service, an (n, m) CSR whose stored entries are the credit (0, 1] demand i gets
        from an outlet at site j: 1 within the walk threshold, less in a distance-decay band.
    weights
        (n, K) residents of each service's target segment at each demand point.
    population
        (n,) residents at each demand point, counted by the complete-circle measure.
    credit_before
        (n, K) credit existing outlets already give each point (1: fully served).
    site_fixed_cost, fit_out_cost
        (m,) one-off cost per used site; (m, K) cost of each service at each site.
    site_capacity, site_floor_area_m2
        (m,) services per site and floor area (``inf``: no limit).
    allowed
        (m, K) True where service k may open at site j.
    site_decision
        (m,) ``MUST`` (1) a site the plan must use, ``EXCLUDE`` (-1) one it must not, else 0.
    budget
        Total money for fixed and fit-out costs; None for no limit.
    service_budget
        (K,) money for each service's fit-out costs (``inf``: no limit).
    targets
        (K,) coverage share (0-1) each service must reach, NaN for none; the constraints of
        ``min_cost`` mode and optional floors in the other modes.
    mode
        ``max_coverage`` (most weighted residents covered within the budget), ``min_cost``
        (cheapest plan reaching every target, then the most coverage at that cost),
        ``complete_circle`` (most residents reaching every bundle service, then the most
        coverage), ``max_min_share`` (best coverage share of the worst-served community, then
        the most coverage).
    circle
        Indices of the services in the complete-circle bundle (default: all).
    circle_weight
        In ``max_coverage``, objective weight of one resident who gains the complete circle.
    stages
        Lexicographic priorities for ``max_coverage``: groups of service indices optimised in
        order, each without losing what earlier groups reached. Empty: one weighted objective.
    stage_tolerance
        Relative loss allowed in an earlier stage's value when optimising later stages.
    equity
        Communities for floors and ``max_min_share``; None if not used.
    site_groups
        (m,) community index of each site (-1: none), for ``min_new_per_group``.
    min_new_per_group
        Minimum number of new outlets in every community that has candidate sites (0: none).
    demand_ids, site_ids
        Labels used in results.
    site_kind
        (m,) ``"property"`` or ``"mobile"`` per site, for results.
    """

    services: tuple[Service, ...]
    coverage: tuple[sparse.csr_array, ...]
    weights: NDArray[np.float64]
    population: NDArray[np.float64]
    credit_before: NDArray[np.float64]
    site_fixed_cost: NDArray[np.float64]
    fit_out_cost: NDArray[np.float64]
    site_capacity: NDArray[np.float64]
    site_floor_area_m2: NDArray[np.float64]
    allowed: NDArray[np.bool_]
    site_decision: NDArray[np.int8]
    budget: float | None
    service_budget: NDArray[np.float64]
    targets: NDArray[np.float64]
    mode: Mode
    circle: tuple[int, ...]
    circle_weight: float
    stages: tuple[tuple[int, ...], ...]
    stage_tolerance: float
    equity: Equity | None
    site_groups: NDArray[np.intp]
    min_new_per_group: int
    demand_ids: NDArray[np.object_]
    site_ids: NDArray[np.object_]
    site_kind: NDArray[np.object_] = field(default_factory=lambda: np.array([], dtype=object))

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

    @property
    def served_before(self) -> NDArray[np.bool_]:
        """(n, K) True where an existing outlet already gives full credit."""
        return self.credit_before >= FULL_CREDIT

    @property
    def priorities(self) -> NDArray[np.float64]:
        """(K,) objective weight of each service."""
        return np.array([s.priority for s in self.services], dtype=np.float64)

    @classmethod
    def from_arrays(
        cls,
        coverage: Sequence[sparse.sparray | sparse.spmatrix | NDArray[np.bool_]],
        weights: NDArray[np.float64],
        *,
        services: Sequence[Service],
        credit: Sequence[sparse.sparray | sparse.spmatrix] | None = None,
        population: NDArray[np.float64] | None = None,
        served_before: NDArray[np.bool_] | None = None,
        credit_before: NDArray[np.float64] | None = None,
        site_fixed_cost: NDArray[np.float64] | None = None,
        fit_out_cost: NDArray[np.float64] | None = None,
        site_capacity: NDArray[np.float64] | None = None,
        site_floor_area_m2: NDArray[np.float64] | None = None,
        allowed: NDArray[np.bool_] | None = None,
        site_decision: NDArray[np.int8] | None = None,
        budget: float | None = None,
        targets: NDArray[np.float64] | None = None,
        mode: str = "max_coverage",
        circle: Sequence[int] | None = None,
        circle_weight: float = 0.0,
        stages: Sequence[Sequence[int]] = (),
        stage_tolerance: float = 0.0,
        equity: Equity | None = None,
        site_groups: NDArray[np.intp] | None = None,
        min_new_per_group: int = 0,
        demand_ids: Sequence[str] | NDArray[np.object_] | None = None,
        site_ids: Sequence[str] | NDArray[np.object_] | None = None,
        site_kind: Sequence[str] | NDArray[np.object_] | None = None,
    ) -> SitingProblem:
        """Build a problem from arrays, checking shapes and values.

        Parameters
        ----------
        coverage
            One (n, m) matrix per service; any stored entry (or True) means "reaches".
        weights
            (n,) residents, used for every service, or (n, K) per service.
        services
            The K services; their ``fit_out_cost``, ``budget`` and ``target_share`` fill the
            corresponding arrays when those are None.
        credit
            Per service, an (n, m) matrix with the same structure as ``coverage`` holding the
            credit in (0, 1] of each pair (distance decay); default full credit.
        population
            (n,) residents for the complete-circle measure; default ``weights[:, 0]``.
        served_before
            (n, K) points existing outlets already cover; default none.
        credit_before
            (n, K) credit existing outlets already give (partial with distance decay);
            overrides ``served_before``.
        site_fixed_cost, fit_out_cost, site_capacity, site_floor_area_m2, allowed
            Site costs and limits (defaults: 0, each service's ``fit_out_cost``, no limits,
            all allowed).
        site_decision
            (m,) 1 must use, -1 must not use, 0 free.
        budget
            Total money; None for no limit.
        targets
            (K,) coverage share to reach per service (NaN: none); default each service's
            ``target_share``.
        mode
            The question asked; see the class attributes for this and the following.
        circle
            Services of the complete-circle bundle.
        circle_weight
            Complete-circle weight in ``max_coverage``.
        stages
            Lexicographic groups of services.
        stage_tolerance
            Relative loss allowed in earlier stages.
        equity
            Communities, floor and equity services.
        site_groups
            Community of each site.
        min_new_per_group
            Minimum new outlets per community with usable sites.
        demand_ids, site_ids, site_kind
            Labels; default ``"0"``, ``"1"``, ... and ``"property"``.

        Raises
        ------
        DataValidationError
            On mismatched shapes, NaN, infinite or negative values, unknown modes or indices,
            or a budget below the cheapest possible outlet.
        """
        services = tuple(services)
        K = len(services)
        problems: list[str] = []
        if K == 0:
            problems.append("services: at least one service is needed")
        if len(coverage) != K:
            problems.append(f"coverage: {len(coverage)} matrices for {K} services; give one each")
            raise DataValidationError(problems)
        matrices = [_as_csr(c) for c in coverage]
        n, m = matrices[0].shape if matrices else (len(weights), 0)
        for k, matrix in enumerate(matrices):
            if matrix.shape != (n, m):
                problems.append(
                    f"coverage[{k}] ('{services[k].key}') has shape {matrix.shape}; "
                    f"expected {(n, m)} like coverage[0]"
                )
        if problems:
            raise DataValidationError(problems)
        if credit is not None:
            matrices = [
                _with_credit(matrix, _as_csr(c), services[k].key, problems)
                for k, (matrix, c) in enumerate(zip(matrices, credit, strict=True))
            ]
        else:
            matrices = [_full_credit(matrix) for matrix in matrices]
        w = np.asarray(weights, dtype=np.float64)
        w = np.repeat(w[:, None], K, axis=1) if w.ndim == 1 else w
        pop = w[:, 0] if population is None else np.asarray(population, dtype=np.float64)
        fit_out = (
            np.tile([s.fit_out_cost for s in services], (m, 1))
            if fit_out_cost is None
            else np.asarray(fit_out_cost, dtype=np.float64)
        )
        service_budget = np.array([np.inf if s.budget is None else s.budget for s in services])
        target = (
            np.array([np.nan if s.target_share is None else s.target_share for s in services])
            if targets is None
            else np.asarray(targets, dtype=np.float64)
        )
        arrays: dict[str, tuple[NDArray[Any], tuple[int, ...], str]] = {
            "weights": (w, (n, K), "finite"),
            "population": (pop, (n,), "finite"),
            "credit_before": (
                _default(served_before, (n, K), False, bool).astype(np.float64)
                if credit_before is None
                else np.asarray(credit_before, dtype=np.float64),
                (n, K),
                "finite",
            ),
            "site_fixed_cost": (_default(site_fixed_cost, (m,), 0.0), (m,), "finite"),
            "fit_out_cost": (fit_out, (m, K), "finite"),
            "site_capacity": (_default(site_capacity, (m,), np.inf), (m,), "limit"),
            "site_floor_area_m2": (_default(site_floor_area_m2, (m,), np.inf), (m,), "limit"),
            "allowed": (_default(allowed, (m, K), True, bool), (m, K), "bool"),
        }
        for name, (array, shape, kind) in arrays.items():
            if array.shape != shape:
                problems.append(f"{name} has shape {array.shape}; expected {shape}")
            elif kind != "bool":
                bad = np.isnan(array) | (array < 0) | (np.isinf(array) & (kind == "finite"))
                if bad.any():
                    first = tuple(int(i) for i in np.argwhere(bad)[0])
                    problems.append(
                        f"{name} has {int(bad.sum())} NaN, infinite or negative value(s), "
                        f"first at {first}: {array[first]!r}; values must be finite and >= 0"
                    )
        decision = _default(site_decision, (m,), FREE, np.int8)
        groups_of_sites = _default(site_groups, (m,), -1, np.intp)
        if decision.shape != (m,) or not np.isin(decision, (EXCLUDE, FREE, MUST)).all():
            problems.append("site_decision must be (m,) values in {-1, 0, 1}")
        if groups_of_sites.shape != (m,):
            problems.append(f"site_groups has shape {groups_of_sites.shape}; expected {(m,)}")
        if target.shape != (K,) or (np.isfinite(target) & ((target < 0) | (target > 1))).any():
            problems.append("targets must be (K,) shares in [0, 1] or NaN")
        if budget is not None and not (np.isfinite(budget) and budget >= 0):
            problems.append(f"budget = {budget!r}; must be a finite number >= 0, or None")
        if mode not in MODES:
            problems.append(f"mode = {mode!r}; choose one of {', '.join(MODES)}")
        bundle = tuple(range(K)) if circle is None else tuple(int(k) for k in circle)
        stage_list = tuple(tuple(int(k) for k in stage) for stage in stages)
        for k in {*bundle, *(k for stage in stage_list for k in stage)}:
            if not 0 <= k < K:
                problems.append(f"service index {k} in circle or stages is out of range 0..{K - 1}")
        if mode == "min_cost" and not np.isfinite(target).any():
            problems.append("mode 'min_cost' needs a coverage target for at least one service")
        if equity is not None:
            problems.extend(_check_equity(equity, n, K))
        if mode == "max_min_share" and equity is None:
            problems.append("mode 'max_min_share' needs communities (an equity column)")
        if problems:
            raise DataValidationError(problems)
        problem = cls(
            services=services,
            coverage=tuple(matrices),
            weights=w,
            population=pop,
            credit_before=np.minimum(arrays["credit_before"][0], 1.0),
            site_fixed_cost=arrays["site_fixed_cost"][0],
            fit_out_cost=fit_out,
            site_capacity=arrays["site_capacity"][0],
            site_floor_area_m2=arrays["site_floor_area_m2"][0],
            allowed=arrays["allowed"][0],
            site_decision=decision,
            budget=None if budget is None else float(budget),
            service_budget=service_budget,
            targets=target,
            mode=mode,  # type: ignore[arg-type]
            circle=bundle,
            circle_weight=float(circle_weight),
            stages=stage_list,
            stage_tolerance=float(stage_tolerance),
            equity=equity,
            site_groups=groups_of_sites,
            min_new_per_group=int(min_new_per_group),
            demand_ids=_labels(demand_ids, n),
            site_ids=_labels(site_ids, m),
            site_kind=np.array(
                ["property"] * m if site_kind is None else list(site_kind), dtype=object
            ),
        )
        problem.check_budget()
        return problem

    def usable(self) -> NDArray[np.bool_]:
        """(m, K) True where service k can open at j: allowed, not excluded, within limits."""
        area = np.array([s.floor_area_m2 for s in self.services])
        return (
            self.allowed
            & (self.site_decision != EXCLUDE)[:, None]
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


def _check_equity(equity: Equity, n: int, K: int) -> list[str]:
    problems = []
    if equity.groups.shape != (n,):
        problems.append(f"equity groups have shape {equity.groups.shape}; expected {(n,)}")
    elif len(equity.groups) and equity.groups.max() >= len(equity.names):
        problems.append("equity groups index past the community names")
    if equity.min_share is not None and not 0 <= equity.min_share <= 1:
        problems.append(f"equity min_share = {equity.min_share}; must be within [0, 1]")
    if any(not 0 <= k < K for k in equity.services):
        problems.append("equity services index out of range")
    return problems


def _as_csr(matrix: sparse.sparray | sparse.spmatrix | NDArray[np.bool_]) -> sparse.csr_array:
    """A CSR with sorted indices; for dense input, the True entries."""
    if sparse.issparse(matrix):
        csr = sparse.csr_array(matrix)
        csr.sum_duplicates()
        csr.sort_indices()
        return csr
    dense = np.asarray(matrix, dtype=bool)
    return sparse.csr_array(dense)


def _full_credit(matrix: sparse.csr_array) -> sparse.csr_array:
    """Every stored entry (even 0.0, a walk of zero minutes) with credit 1."""
    result = sparse.csr_array(
        (np.ones(matrix.nnz), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    result.has_sorted_indices = True
    return result


def _with_credit(
    matrix: sparse.csr_array, credit: sparse.csr_array, key: str, problems: list[str]
) -> sparse.csr_array:
    same = (
        credit.shape == matrix.shape
        and np.array_equal(credit.indptr, matrix.indptr)
        and np.array_equal(credit.indices, matrix.indices)
    )
    if not same:
        problems.append(f"credit for '{key}' must have exactly the structure of its coverage")
        return _full_credit(matrix)
    if not ((credit.data > 0) & (credit.data <= 1)).all():
        problems.append(f"credit for '{key}' must lie in (0, 1]")
    return sparse.csr_array(
        (credit.data.astype(np.float64), matrix.indices, matrix.indptr), shape=matrix.shape
    )


def _default(
    value: NDArray[Any] | None, shape: tuple[int, ...], fill: object, dtype: type = float
) -> NDArray[Any]:
    if value is None:
        return np.full(shape, fill, dtype=dtype)
    return np.asarray(value, dtype=dtype)


def _labels(values: Sequence[str] | NDArray[np.object_] | None, size: int) -> NDArray[np.object_]:
    if values is None:
        return np.array([str(i) for i in range(size)], dtype=object)
    return np.array([str(v) for v in values], dtype=object)
