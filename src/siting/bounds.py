r"""Valid upper bounds for coverage models: the LP bound by row generation, Lagrangian bounds.

Relax coverage row *r* (``y_r - sum x <= 0``, weight :math:`w_r`) with a multiplier
:math:`0 \le \lambda_r \le w_r` and keep the rows of a set *K*. For every such choice

.. math::

    z^* \le \sum_{r \notin K} (w_r - \lambda_r) + \max\Big\{ \sum_x \big(c_x
    + \sum_{r \notin K,\, r \ni x} \lambda_r\big) x + \sum_{r \in K} w_r y_r :
    \text{rows } K \text{ and side rows, bounds} \Big\},

a partial Lagrangian relaxation of the LP relaxation, hence of the model.

:func:`lagrangian_bound` keeps no coverage row: with :math:`\lambda` from LP duals it is the LP
bound, and it is valid for any :math:`\lambda`.

:func:`lp_bound` reaches the LP bound itself by row generation, starting from a plan: rows
the plan leaves uncovered are priced at :math:`\lambda_r = w_r` (their weight moves onto the
outlets that could cover them), rows it covers twice or more at :math:`\lambda_r = 0` (counted
as covered), and only rows it covers exactly once are kept. Each round solves that LP; rows
whose LP coverage contradicts their pricing (priced rows covered more than once, free rows
less than once) join *K*, and HiGHS re-solves from the previous basis. Every round's value is
a valid bound (weak duality with the LP's duals, :func:`dual_bound`); when no row moves, the
LP solution is feasible for the full relaxation, so the value is the LP bound. On the
1,000,000 x 10,000 x 4 synthetic city *K* is 7 % of the rows and three rounds take about 7 s,
where the full LP did not finish in 400 s. When the plan covers most rows exactly once (dense
p-MCLP instances such as Máximo's, 55-70 %), little is gained and the re-solves are
degenerate, so every row is kept and the full LP goes to the interior-point method.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting.model import MilpArrays
from siting.solvers.base import SolveOptions
from siting.solvers.highs import highs_with

if TYPE_CHECKING:
    from siting.model import SitingModel

__all__ = ["LpBound", "dual_bound", "lagrangian_bound", "lp_bound", "volume_bound", "volume_first"]

PRICED, KEPT, FREE = 0, 1, 2  # row pricing: lambda = w, explicit row, lambda = 0
FEASIBILITY = 1e-6  # coverage tolerance when checking the pricing of a row
ROW_GENERATION_SHARE = 0.5  # keep every row (one interior-point LP) above this kept share
VOLUME_MIX = 0.1  # largest weight of a new inner solution in the volume average
VOLUME_PATIENCE = 10  # steps without a better bound before the step factor shrinks


@dataclass(frozen=True)
class LpBound:
    """A valid upper bound on the first stage's objective from the LP relaxation.

    Attributes
    ----------
    value
        The bound in objective units: weak duality with the LP's row duals, rigorous whatever
        the solver's tolerances (:func:`dual_bound`).
    values
        The x and z columns of the last LP solved: an optimal LP solution when ``exact``.
    reduced_costs
        Reduced cost of every model column under the same duals, e.g. for fixing columns.
    exact
        True if row generation converged: the LP solved is the full relaxation.
    rounds
        LPs solved.
    kept_rows
        Coverage rows kept explicitly in the last LP (of ``model.num_y``).
    """

    value: float
    values: NDArray[np.float64]
    reduced_costs: NDArray[np.float64]
    exact: bool
    rounds: int
    kept_rows: int


def dual_bound(
    milp: MilpArrays, row_duals: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """Weak-duality bound ``U(pi)`` and reduced costs ``d = c - A^T pi`` from any multipliers.

    For row multipliers of the right signs, ``z <= U(pi) = sum pi_r b_r + sum_j max(d_j v_j)``
    over each column's box. Both sign conventions of ``row_duals`` are tried; each is clipped
    to valid signs (>= 0 on rows with only an upper bound, <= 0 on rows with only a lower
    bound) and the smaller bound is returned, so the result is valid for any input.
    """
    best: tuple[float, NDArray[np.float64]] | None = None
    upper_only = np.isfinite(milp.row_upper) & ~np.isfinite(milp.row_lower)
    lower_only = np.isfinite(milp.row_lower) & ~np.isfinite(milp.row_upper)
    free = ~np.isfinite(milp.row_upper) & ~np.isfinite(milp.row_lower)
    transpose = sparse.csr_array(milp.A).T
    for sign in (1.0, -1.0):
        pi = sign * row_duals
        pi = np.where(upper_only, np.maximum(pi, 0.0), pi)
        pi = np.where(lower_only, np.minimum(pi, 0.0), pi)
        pi = np.where(free, 0.0, pi)
        rhs = np.where(pi >= 0, milp.row_upper, milp.row_lower)
        rhs = np.where(pi == 0, 0.0, rhs)
        d = milp.c - np.asarray(transpose @ pi)
        box = np.where(d > 0, d * milp.col_upper, d * milp.col_lower)
        bound = float(pi @ rhs + box.sum())
        if best is None or bound < best[0]:
            best = (bound, d)
    assert best is not None
    return best


def lagrangian_bound(model: SitingModel, multipliers: NDArray[np.float64]) -> float:
    """A valid upper bound from coverage-row multipliers (clipped to ``[0, w]``; see module)."""
    lam = np.clip(multipliers, 0.0, model.y_weight)
    found = _inner_lp(model, lam, None).solve()
    if found is None:
        return float(model.coverage_bound + np.maximum(model.milp.c[: model.num_x], 0).sum())
    return found[0]


def volume_bound(
    model: SitingModel,
    opened: NDArray[np.bool_] | None,
    *,
    lower: float,
    time_limit_s: float | None = None,
    threads: int | None = None,
    max_iterations: int = 20_000,
) -> LpBound | None:
    """The LP bound approached from above by the volume algorithm (Barahona & Anbil, 2000).

    Every coverage row is relaxed (module docstring, *K* empty): each multiplier vector gives
    a valid bound, so the method can stop at any time. Steps follow an average of the inner
    problems' solutions (Polyak step toward ``lower``, a plan's objective), which also
    approximates an LP solution; the search stops when the steps have shrunk to nothing, after
    ``max_iterations`` or at ``time_limit_s``. The bound reported is weak duality
    (:func:`dual_bound`) with the best multipliers and the inner problem's duals there.
    Where the outlet limits are counts over nested or disjoint sets of outlets (a p-MCLP's
    budget, counts per service, outlets per site that cannot bind), the inner problem is a
    sort; otherwise HiGHS solves it each step. On Máximo's dense city instances it ends 0.02 to
    0.2 points of percent above the LP bound in 0.4-1.5 s, where the interior-point method
    takes 4-12 s. ``values`` holds the averaged x and z; ``exact`` is False; ``rounds``
    counts the inner problems solved. None if rows other than coverage rows touch a y column.
    """
    if not _relaxable(model):
        return None
    started = time.perf_counter()
    deadline = np.inf if time_limit_s is None else started + time_limit_s
    weight = model.milp.c[model.num_x + model.num_z :][: model.num_y]
    count = _times_covered(model, opened)
    centre = np.where(count < 0.5, weight, np.where(count < 1.5, 0.5 * weight, 0.0))
    counts = _CountLimits.of(model)
    cover = sparse.csr_array(model.y_cover, dtype=np.float64)
    transpose = sparse.csr_array(cover.T)
    inner = None if counts is not None else _inner_lp(model, centre, threads)

    def solve_inner(lam: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        """U(lam) and an inner solution's x."""
        if counts is not None:
            score = model.milp.c[: model.num_x] + transpose @ lam
            chosen = counts.best(score)
            return float(np.maximum(weight - lam, 0.0).sum() + score @ chosen), chosen
        assert inner is not None
        inner.price(lam)
        found = inner.solve()
        if found is None:  # only an infeasible model has no inner optimum
            return np.inf, np.zeros(model.num_x)
        return found[0], found[1][: model.num_x]

    def subgradient(lam: NDArray[np.float64], chosen: NDArray[np.float64]) -> NDArray[np.float64]:
        """Coverage of the inner solution minus the y it takes (1 where ``lam < weight``)."""
        if counts is None:
            covered = cover @ chosen
        else:  # a few whole outlets: add up their rows
            rows = transpose[np.flatnonzero(chosen)].indices
            covered = np.bincount(rows, minlength=model.num_y).astype(np.float64)
        return covered - (lam < weight)

    best, average = solve_inner(centre)
    if not np.isfinite(best):
        return None
    direction = subgradient(centre, average)
    factor, misses, rounds = 1.0, 0, 1
    while rounds < max_iterations and time.perf_counter() < deadline and factor > 1e-6:
        free = np.where(centre <= 0, np.minimum(direction, 0), direction)
        free = np.where(centre >= weight, np.maximum(free, 0), free)
        norm = float(free @ free)
        if norm == 0 or best <= lower:
            break
        lam = np.clip(centre - factor * (best - lower) / norm * free, 0.0, weight)
        value, chosen = solve_inner(lam)
        rounds += 1
        step = subgradient(lam, chosen)
        change = step - direction
        size = float(change @ change)
        mix = VOLUME_MIX if size == 0 else -float(direction @ change) / size
        mix = min(VOLUME_MIX, max(VOLUME_MIX / 10, mix))
        average = mix * chosen + (1 - mix) * average
        direction = mix * step + (1 - mix) * direction
        if value < best:
            centre, best, misses, factor = lam, value, 0, min(2.0, 1.1 * factor)
        else:
            misses += 1
            if misses >= VOLUME_PATIENCE:
                factor, misses = 0.66 * factor, 0
    if counts is not None:  # the sort's duals: weak duality without another solve
        duals = np.zeros(model.milp.num_rows)
        duals[: model.num_y] = centre
        score = model.milp.c[: model.num_x] + transpose @ centre
        duals[model.num_y :] = counts.prices(score, model.milp.num_rows - model.num_y)
        value, reduced_costs = dual_bound(model.milp, duals)
    else:
        assert inner is not None
        inner.price(centre)
        found = inner.solve()
        if found is None:
            return None
        value, reduced_costs = found[0], found[2]
    site = np.searchsorted(model.z_site, model.x_site)
    opened_sites = np.zeros(model.num_z)
    np.maximum.at(opened_sites, site, average)
    values = np.concatenate([average, opened_sites])
    return LpBound(value, values, reduced_costs, False, rounds, 0)


def _inner_lp(model: SitingModel, lam: NDArray[np.float64], threads: int | None) -> _RestrictedLp:
    """The Lagrangian inner problem (every coverage row priced at ``lam``) in HiGHS."""
    no_row = np.zeros(model.num_y, dtype=bool)
    return _RestrictedLp(model, lam, no_row, SolveOptions(threads=threads))


def lp_bound(
    model: SitingModel,
    opened: NDArray[np.bool_] | None,
    *,
    time_limit_s: float | None = None,
    threads: int | None = None,
    max_rounds: int = 1000,
) -> LpBound | None:
    """The LP bound by row generation from a plan's coverage pattern (see module).

    ``opened`` is an (m, K) plan (None: start from no outlet). Returns None if the first LP
    does not finish within ``time_limit_s``; if a later round does not (or ``max_rounds`` are
    spent), the last finished round's bound (valid, ``exact=False``).
    """
    started = time.perf_counter()
    pricing = _pricing(model, opened)
    weight = model.milp.c[model.num_x + model.num_z :][: model.num_y]
    lam = np.where(pricing == PRICED, weight, 0.0)
    # A full LP (dense p-MCLP coverage) goes to the interior-point method; restricted ones to
    # dual simplex, which re-solves from its basis when rows are added.
    solver = "ipm" if np.all(pricing == KEPT) else "simplex"
    lp = _RestrictedLp(model, lam, pricing == KEPT, SolveOptions(threads=threads), solver)
    best: LpBound | None = None
    for rounds in range(1, max_rounds + 1):
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - started)
        found = lp.solve(left)
        if found is None:
            return best
        value, values, reduced_costs = found
        if best is not None and best.value < value:
            value, reduced_costs = best.value, best.reduced_costs
        coverage = model.y_cover @ values[: model.num_x]
        moved = ((pricing == PRICED) & (coverage > 1 + FEASIBILITY)) | (
            (pricing == FREE) & (coverage < 1 - FEASIBILITY)
        )
        kept = int((pricing == KEPT).sum())
        best = LpBound(value, values, reduced_costs, not moved.any(), rounds, kept)
        if best.exact:
            return best
        lp.keep(np.flatnonzero(moved), pricing)
    return best


def volume_first(model: SitingModel, opened: NDArray[np.bool_] | None) -> bool:
    """True if :func:`volume_bound` is the quicker way to a bound near the LP's.

    That is when row generation would keep most coverage rows, so the LP goes whole to the
    interior-point method (dense p-MCLP coverage such as Máximo's cities), and the limits are
    counts, so each volume step costs one pass over the coverage and a sort.
    """
    if not _relaxable(model) or not np.all(_pricing(model, opened) == KEPT):
        return False
    return _CountLimits.of(model) is not None


def _pricing(model: SitingModel, opened: NDArray[np.bool_] | None) -> NDArray[np.int_]:
    """Each coverage row's first pricing in :func:`lp_bound` (every row kept when it is dense)."""
    pricing = np.full(model.num_y, KEPT)
    if _relaxable(model):
        count = _times_covered(model, opened)
        pricing = np.where(count < 0.5, PRICED, np.where(count < 1.5, KEPT, FREE))
        if np.count_nonzero(pricing == KEPT) > ROW_GENERATION_SHARE * model.num_y:
            pricing[:] = KEPT
    return pricing


def _times_covered(model: SitingModel, opened: NDArray[np.bool_] | None) -> NDArray[np.float64]:
    """How many of the plan's outlets cover each coverage row (``opened`` None: no outlet)."""
    x = np.zeros(model.num_x) if opened is None else opened[model.x_site, model.x_service]
    return np.asarray(model.y_cover @ x.astype(np.float64))


def _relaxable(model: SitingModel) -> bool:
    """True if only coverage rows touch the y columns (no v, t or y in side rows)."""
    if model.num_v or model.has_share:
        return False
    side = model.milp.A[model.num_y :]
    return bool(sparse.csr_array(side)[:, model.num_x + model.num_z :].nnz == 0)


class _RestrictedLp:
    """The partial Lagrangian LP in HiGHS: x, z, the kept rows' y; rows kept and side rows.

    ``lam`` prices the relaxed rows (``kept`` False). Rows made explicit later are appended,
    so HiGHS re-solves from its previous basis.
    """

    def __init__(
        self,
        model: SitingModel,
        lam: NDArray[np.float64],
        kept: NDArray[np.bool_],
        options: SolveOptions,
        solver: str = "simplex",
    ) -> None:
        milp, num_x, num_y = model.milp, model.num_x, model.num_y
        xz = num_x + model.num_z
        self.model, self.lam = model, lam.copy()
        self.cover = sparse.csr_array(model.y_cover, dtype=np.float64)
        self.x_cost = milp.c[:num_x] + self.cover.T @ lam
        rows = np.flatnonzero(kept)
        tail = milp.num_cols - xz - num_y  # v and t columns (only when nothing is relaxed)
        columns = np.r_[np.arange(xz), xz + rows, np.arange(xz + num_y, milp.num_cols)]
        top = sparse.hstack(
            [
                -self.cover[rows],
                sparse.csr_array((len(rows), model.num_z)),
                sparse.eye_array(len(rows), format="csr"),
                sparse.csr_array((len(rows), tail)),
            ],
            format="csr",
        )
        lp = MilpArrays(
            c=np.concatenate([self.x_cost, milp.c[columns[num_x:]]]),
            A=sparse.vstack([top, sparse.csr_array(milp.A[num_y:])[:, columns]], format="csr"),
            row_lower=np.concatenate([np.full(len(rows), -np.inf), milp.row_lower[num_y:]]),
            row_upper=np.concatenate([np.zeros(len(rows)), milp.row_upper[num_y:]]),
            col_lower=milp.col_lower[columns],
            col_upper=milp.col_upper[columns],
            integrality=np.zeros(len(columns), dtype=bool),
        )
        self.highs = highs_with(lp, options, relax=True, settings={"solver": solver})
        self.row_of = np.r_[rows, np.arange(num_y, milp.num_rows)]  # model row of each LP row

    def solve(
        self, time_limit_s: float | None = None
    ) -> tuple[float, NDArray[np.float64], NDArray[np.float64]] | None:
        """Re-solve: (valid bound, x and z values, model reduced costs), None if unfinished."""
        h, model = self.highs, self.model
        h.setOptionValue("time_limit", np.inf if time_limit_s is None else max(0.01, time_limit_s))
        h.run()
        if h.getModelStatus().name != "kOptimal":
            return None
        solution = h.getSolution()
        values = np.asarray(solution.col_value, dtype=np.float64)[: model.num_x + model.num_z]
        duals = np.zeros(model.milp.num_rows)
        duals[self.row_of] = solution.row_dual
        best: tuple[float, NDArray[np.float64]] | None = None
        for sign in (1.0, -1.0):  # the relaxed rows' prices in HiGHS's sign convention
            duals[: model.num_y] = np.where(self.lam > 0, sign * self.lam, duals[: model.num_y])
            found = dual_bound(model.milp, duals)
            if best is None or found[0] < best[0]:
                best = found
        assert best is not None
        return best[0], values, best[1]

    def price(self, lam: NDArray[np.float64]) -> None:
        """Price every coverage row at ``lam`` (an LP that keeps no row explicit)."""
        model = self.model
        self.x_cost = model.milp.c[: model.num_x] + self.cover.T @ lam
        columns = np.arange(model.num_x, dtype=np.int32)
        self.highs.changeColsCost(model.num_x, columns, self.x_cost)
        self.lam = lam.copy()

    def keep(self, rows: NDArray[np.intp], pricing: NDArray[np.int_]) -> None:
        """Make coverage ``rows`` explicit (their multipliers drop to 0); update ``pricing``."""
        h, model, cover = self.highs, self.model, self.cover
        priced = rows[self.lam[rows] > 0]
        new_cost = self.x_cost - cover[priced].T @ self.lam[priced]
        changed = np.flatnonzero(new_cost != self.x_cost)
        h.changeColsCost(len(changed), changed.astype(np.int32), new_cost[changed])
        self.x_cost, self.lam[rows] = new_cost, 0.0
        first, n = h.getNumCol(), len(rows)
        weight = model.milp.c[model.num_x + model.num_z + rows]
        empty = np.zeros(n, dtype=np.int32)
        h.addCols(n, weight, np.zeros(n), np.ones(n), 0, empty, empty[:0], np.zeros(0))
        block = sparse.hstack(
            [-cover[rows], sparse.csr_array((n, first - model.num_x)), sparse.eye_array(n)],
            format="csr",
        )
        h.addRows(
            n,
            np.full(n, -np.inf),
            np.zeros(n),
            block.nnz,
            block.indptr[:-1].astype(np.int32),
            block.indices.astype(np.int32),
            block.data.astype(np.float64),
        )
        self.row_of = np.r_[self.row_of, rows]
        pricing[rows] = KEPT


class _CountLimits:
    """Outlet limits that are counts over nested or disjoint sets: the inner problem is a sort.

    Holds a total count (over every outlet) and per-part counts over disjoint parts; the best
    outlets under such a laminar family of counts are found greedily (a matroid): each part's
    best up to its count, then the best of those up to the total. :meth:`prices` gives the
    count rows' LP duals for that choice, so the bound is weak duality as for the LP.
    """

    def __init__(
        self,
        total: float,
        part: NDArray[np.intp],
        part_cap: NDArray[np.float64],
        allowed: NDArray[np.bool_],
        rows: NDArray[np.intp],
        scale: NDArray[np.float64],
    ) -> None:
        self.total, self.part, self.part_cap, self.allowed = total, part, part_cap, allowed
        # side-row index and coefficient of the total count (first) and of each part's count
        self.rows, self.scale = rows, scale

    @classmethod
    def of(cls, model: SitingModel) -> _CountLimits | None:
        """The counts of ``model``'s side rows, None if any limit is not such a count."""
        milp, num_x, num_z = model.milp, model.num_x, model.num_z
        if np.any(milp.col_lower[: num_x + num_z] > 0) or np.any(milp.c[num_x : num_x + num_z]):
            return None
        side = sparse.csr_array(milp.A[model.num_y :], copy=True)
        side.eliminate_zeros()
        lower, upper = milp.row_lower[model.num_y :], milp.row_upper[model.num_y :]
        length = np.diff(side.indptr)
        row = np.repeat(np.arange(side.shape[0]), length)
        on_z = side.indices >= num_x
        link = np.zeros(side.shape[0], dtype=bool)  # x - z <= 0 to a site column
        link[row[on_z]] = True
        link &= (length == 2) & (upper == 0)
        linked = link[row]
        if np.any(on_z & ~linked) or np.any(side.data[linked] != np.where(on_z, -1.0, 1.0)[linked]):
            return None  # a site column in a row other than its plain links (its fixed cost)
        if np.any(milp.col_upper[num_x : num_x + num_z] < 1):
            return None  # a closed site
        count = ~link & (length > 0)
        coefficient = np.zeros(side.shape[0])
        first = side.indptr[:-1][count]
        coefficient[count] = side.data[first]
        entries = count[row]
        if np.any(side.data[entries] != coefficient[row[entries]]) or np.any(
            coefficient[count] <= 0
        ):
            return None  # not a count: unequal or negative coefficients
        if np.any(lower[count] > 0):
            return None  # minimum counts
        cap = np.floor(upper / np.where(coefficient > 0, coefficient, 1.0) + 1e-9)
        count &= cap < length  # a count that cannot bind is no limit
        total, total_row = np.inf, -1
        part = np.full(num_x, -1, dtype=np.intp)
        part_caps: list[float] = []
        part_rows: list[int] = []
        for r in np.flatnonzero(count):
            columns = side.indices[side.indptr[r] : side.indptr[r + 1]]
            if len(columns) == num_x:
                if cap[r] < total:
                    total, total_row = cap[r], int(r)
            elif np.any(part[columns] >= 0):
                return None  # overlapping counts (e.g. per service and per site)
            else:
                part[columns] = len(part_caps)
                part_caps.append(cap[r])
                part_rows.append(int(r))
        allowed = milp.col_upper[:num_x] > 0
        rows = np.array([total_row, *part_rows], dtype=np.intp)
        scale = np.where(rows >= 0, coefficient[rows], 1.0)
        return cls(total, part, np.array(part_caps), allowed, rows, scale)

    def best(self, score: NDArray[np.float64]) -> NDArray[np.float64]:
        """The best plan's x under the counts: outlets of positive score, best first."""
        return self._choose(score)[0].astype(np.float64)

    def prices(self, score: NDArray[np.float64], num_rows: int) -> NDArray[np.float64]:
        """Duals of the ``num_rows`` side rows that make :meth:`best` LP-optimal.

        The total count's price is the best score it turns away (0 if none), each part's the
        best score its own count turns away above that; every other row's is 0. With these,
        each chosen outlet's reduced cost is >= 0 and every other's <= 0.
        """
        take, kept = self._choose(score)
        candidates = self.allowed & (score > 0)
        total = float(score[kept & ~take].max(initial=0.0))
        duals = np.zeros(num_rows)
        if self.rows[0] >= 0:
            duals[self.rows[0]] = total / self.scale[0]
        cut = candidates & ~kept
        for k in range(self.part_cap.size):
            turned_away = float(score[cut & (self.part == k)].max(initial=0.0))
            duals[self.rows[k + 1]] = max(0.0, turned_away - total) / self.scale[k + 1]
        return duals

    def _choose(self, score: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(chosen, within their part's count): positive-score outlets, best first."""
        kept = self.allowed & (score > 0)
        if self.part_cap.size:
            columns = np.flatnonzero(kept & (self.part >= 0))
            order = columns[np.lexsort((-score[columns], self.part[columns]))]
            group = self.part[order]
            start = np.searchsorted(group, group)  # first position of each part
            rank = np.arange(order.size) - start
            kept[order[rank >= self.part_cap[group]]] = False
        take = kept.copy()
        columns = np.flatnonzero(take)
        if columns.size > self.total:
            keep = int(self.total)
            dropped = np.argpartition(-score[columns], keep)[keep:]
            take[columns[dropped]] = False
        return take, kept
