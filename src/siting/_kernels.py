"""Compiled inner loops of the swap search (:mod:`siting.localsearch`).

Opening or closing one column touches the rows it covers and, for the rows whose state
changes (uncovered, covered once, covered more often), every column covering them: a few
thousand scalar updates that cost microseconds in compiled code and a hundred numpy calls
otherwise. A swap pass scans every closed column for each open one and checks the plan's
limits only for the few that would improve it. Numba compiles these on first use and caches
the machine code beside this file.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray


class SearchArrays(NamedTuple):
    """The coverage state one kernel call reads and updates (see :func:`flip_column`)."""

    y_indptr: NDArray[np.int64]  # rows x columns coverage (CSR)
    y_indices: NDArray[np.int64]
    yt_indptr: NDArray[np.int64]  # its transpose
    yt_indices: NDArray[np.int64]
    w: NDArray[np.float64]  # row weights
    cx: NDArray[np.float64]  # column objective terms
    is_open: NDArray[np.bool_]
    covers: NDArray[np.int64]  # open columns covering each row
    covering: NDArray[np.int64]  # sum of the open columns covering each row
    gain: NDArray[np.float64]
    loss: NDArray[np.float64]


class Limits(NamedTuple):
    """What a plan may spend and hold (read only); per column unless said otherwise."""

    fit_out: NDArray[np.float64]  # yuan
    fixed: NDArray[np.float64]  # fixed cost of the column's site, 0 if already paid (yuan)
    site: NDArray[np.int64]
    service: NDArray[np.int64]
    area: NDArray[np.float64]  # floor area (m2)
    capacity: NDArray[np.float64]  # outlets per site
    floor: NDArray[np.float64]  # floor area per site, tolerance included (m2)
    min_new: NDArray[np.float64]  # new outlets per service
    max_new: NDArray[np.float64]  # new outlets per service (inf: none)
    service_budget: NDArray[np.float64]  # fit-out per service, tolerance included (yuan)
    budget: float  # total, tolerance included (yuan; inf: none)


class SwapRows(NamedTuple):
    """Swap values of the open columns; :func:`flip_column` keeps them current."""

    values: NDArray[np.float64]  # (rows, columns): swap[slot(a), b], see flip_column
    slot: NDArray[np.int64]  # each column's row (-1: none)
    slot_column: NDArray[np.int64]  # each row's column (-1: free)


class Usage(NamedTuple):
    """What the plan spends and holds; :func:`flip_column` keeps it current."""

    site_count: NDArray[np.float64]  # open columns per site
    site_area: NDArray[np.float64]  # their floor area (m2)
    service_count: NDArray[np.float64]  # open columns per service
    service_spent: NDArray[np.float64]  # their fit-out (yuan)
    spent: NDArray[np.float64]  # one element: total spending (yuan)


@njit(cache=True)
def flip_column(
    column: int,
    on: bool,
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
    track_swaps: bool,
) -> None:
    """Open (``on``) or close ``column`` and update the search state in place.

    ``count`` is the open columns covering each row, ``covering`` the sum of their indices
    (the one open column of a row covered once, found without a scan), ``gain`` the weight a
    closed column would add (-inf when open), ``loss`` the weight only an open column covers
    plus its objective term ``cx``, and ``swap[slot(a), b]`` (when ``track_swaps``) the
    weight only *a* covers that *b* covers too. Opening needs ``slot[column]`` assigned;
    closing leaves the slot's row at zero. ``usage`` follows, a site's fixed cost counted
    while any of its columns is open.
    """
    y_indptr, y_indices, yt_indptr, yt_indices, w, cx, is_open, count, covering, gain, loss = arrays
    swap, slot = swaps.values, swaps.slot
    is_open[column] = on
    for entry in range(yt_indptr[column], yt_indptr[column + 1]):
        row = yt_indices[entry]
        before = count[row]
        weight = w[row]
        start, end = y_indptr[row], y_indptr[row + 1]
        if on:
            count[row] = before + 1
            if before == 0:  # newly covered, by column alone
                loss[column] += weight
                if track_swaps:
                    own = swap[slot[column]]
                    for k in range(start, end):
                        gain[y_indices[k]] -= weight
                        own[y_indices[k]] += weight
                else:
                    for k in range(start, end):
                        gain[y_indices[k]] -= weight
            elif before == 1:  # its single owner no longer covers it alone
                previous = covering[row]
                loss[previous] -= weight
                if track_swaps:
                    theirs = swap[slot[previous]]
                    for k in range(start, end):
                        theirs[y_indices[k]] -= weight
            covering[row] += column
        else:
            count[row] = before - 1
            covering[row] -= column
            if before == 1:  # uncovered again
                for k in range(start, end):
                    gain[y_indices[k]] += weight
            elif before == 2:  # the other open column now covers it alone
                other = covering[row]
                loss[other] += weight
                if track_swaps:
                    theirs = swap[slot[other]]
                    for k in range(start, end):
                        theirs[y_indices[k]] += weight
    if on:
        gain[column] = -np.inf
    else:
        loss[column] = cx[column]
        value = cx[column]
        for entry in range(yt_indptr[column], yt_indptr[column + 1]):
            if count[yt_indices[entry]] == 0:
                value += w[yt_indices[entry]]
        gain[column] = value
        if track_swaps:
            swap[slot[column], :] = 0.0
    fit_out, fixed, site, service, area = (
        limits.fit_out,
        limits.fixed,
        limits.site,
        limits.service,
        limits.area,
    )
    site_count, site_area, service_count, service_spent, spent = usage
    sign = 1.0 if on else -1.0
    s, k = site[column], service[column]
    if on and site_count[s] == 0:
        spent[0] += fixed[column]
    site_count[s] += sign
    if not on and site_count[s] == 0:
        spent[0] -= fixed[column]
    site_area[s] += sign * area[column]
    service_count[k] += sign
    service_spent[k] += sign * fit_out[column]
    spent[0] += sign * fit_out[column]


@njit(cache=True)
def addable(
    is_open: NDArray[np.bool_],
    limits: Limits,
    usage: Usage,
    cost: NDArray[np.float64],
    ok: NDArray[np.bool_],
) -> None:
    """Fill ``cost`` and ``ok``: what opening each column spends, and whether it may open.

    The cost is the column's fit-out plus its site's fixed cost while no outlet uses the site;
    a column may open when it is closed and within every limit.
    """
    fit_out, fixed, site, service, area, capacity, floor, _, max_new, service_budget, budget = (
        limits
    )
    site_count, site_area, service_count, service_spent, spent = usage
    for column in range(is_open.size):
        s, k = site[column], service[column]
        cost[column] = fit_out[column] + (0.0 if site_count[s] > 0 else fixed[column])
        ok[column] = (
            not is_open[column]
            and spent[0] + cost[column] <= budget
            and site_count[s] + 1 <= capacity[s]
            and site_area[s] + area[column] <= floor[s]
            and service_count[k] + 1 <= max_new[k]
            and service_spent[k] + fit_out[column] <= service_budget[k]
        )


@njit(cache=True)
def _may_open(column: int, is_open: NDArray[np.bool_], limits: Limits, usage: Usage) -> bool:
    """:func:`addable`'s ``ok`` for one column (a call per column costs more than its loop)."""
    s, k = limits.site[column], limits.service[column]
    cost = limits.fit_out[column] + (0.0 if usage.site_count[s] > 0 else limits.fixed[column])
    return (
        not is_open[column]
        and usage.spent[0] + cost <= limits.budget
        and usage.site_count[s] + 1 <= limits.capacity[s]
        and usage.site_area[s] + limits.area[column] <= limits.floor[s]
        and usage.service_count[k] + 1 <= limits.max_new[k]
        and usage.service_spent[k] + limits.fit_out[column] <= limits.service_budget[k]
    )


@njit(cache=True)
def best_add(arrays: SearchArrays, limits: Limits, usage: Usage, tolerance: float) -> int:
    """The allowed column with the most gain (above ``tolerance``) per unit cost; -1: none."""
    is_open, gain = arrays.is_open, arrays.gain
    if is_open.size == 0 or usage.spent[0] + limits.fit_out.min() > limits.budget:
        return -1  # a full plan under a budget: the usual case, decided without the loop
    if np.all(usage.service_count + 1 > limits.max_new):
        return -1  # every service at its maximum
    cost, ok = np.empty(is_open.size), np.empty(is_open.size, dtype=np.bool_)
    addable(is_open, limits, usage, cost, ok)
    best, best_column = -np.inf, -1
    for column in range(is_open.size):
        if ok[column] and gain[column] > tolerance:
            ratio = gain[column] / max(cost[column], 1e-9)
            if ratio > best:
                best, best_column = ratio, column
    return best_column


@njit(cache=True)
def _can_swap(a: int, b: int, limits: Limits, usage: Usage) -> bool:
    """True if closing open column ``a`` and opening closed ``b`` keeps every limit."""
    fit_out, fixed, site, service, area, capacity, floor, min_new, max_new, budget_k, budget = (
        limits
    )
    site_count, site_area, service_count, service_spent, spent = usage
    sa, sb, ka, kb = site[a], site[b], service[a], service[b]
    same_site, same_service = sa == sb, ka == kb
    refund = fit_out[a] + (fixed[a] if site_count[sa] == 1 else 0.0)
    used_after = site_count[sb] - (1.0 if same_site else 0.0)
    cost = fit_out[b] + (0.0 if used_after > 0 else fixed[b])
    area_after = site_area[sb] - (area[a] if same_site else 0.0)
    kept = 1.0 if same_service else 0.0
    freed = fit_out[a] if same_service else 0.0
    return (
        spent[0] - refund + cost <= budget
        and used_after + 1 <= capacity[sb]
        and area_after + area[b] <= floor[sb]
        and service_count[kb] - kept + 1 <= max_new[kb]
        and service_count[ka] - 1 + kept >= min_new[ka]
        and service_spent[kb] - freed + fit_out[b] <= budget_k[kb]
    )


@njit(cache=True)
def _best_swap(
    a: int,
    swap_row: NDArray[np.float64],
    gain: NDArray[np.float64],
    threshold: float,
    limits: Limits,
    usage: Usage,
    check: bool,
) -> int:
    """The column *b* maximising ``swap_row[b] + gain[b]`` above ``threshold``; -1: none.

    With ``check``, only among the swaps of ``a`` for *b* that the limits allow.
    """
    best, best_column = threshold, -1
    for b in range(gain.size):
        value = swap_row[b] + gain[b]
        if value > best and (not check or _can_swap(a, b, limits, usage)):
            best, best_column = value, b
    return best_column


@njit(cache=True)
def _scan(
    a: int,
    among: NDArray[np.int64],
    swap_row: NDArray[np.float64],
    gain: NDArray[np.float64],
    best: float,
    best_column: int,
    limits: Limits,
    usage: Usage,
    check: bool,
) -> tuple[float, int]:
    """The best of (``best``, ``best_column``) and the swaps of ``a`` for the columns ``among``.

    With ``check``, only among the swaps the limits allow.
    """
    for b in among:
        value = swap_row[b] + gain[b]
        if value > best and (not check or _can_swap(a, b, limits, usage)):
            best, best_column = value, b
    return best, best_column


@njit(cache=True)
def _best_near(
    a: int,
    swap_row: NDArray[np.float64],
    gain: NDArray[np.float64],
    threshold: float,
    top: int,
    near: NDArray[np.int64],
    limits: Limits,
    usage: Usage,
) -> int:
    """As :func:`_best_swap` without checks, scanning only the columns ``near`` ``a``.

    ``swap_row[b]`` is zero unless *b* shares a row with ``a`` (it is the weight of such
    rows), so the best swap is either ``top`` (the column of most gain) or one of those.
    """
    best, best_column = threshold, -1
    if gain[top] > best:
        best, best_column = gain[top], top
    return _scan(a, near, swap_row, gain, best, best_column, limits, usage, False)[1]


class _Affordable(NamedTuple):
    """Per service, the columns in order of opening cost and the one of most gain so far."""

    order: NDArray[np.int64]  # columns grouped by service, by rising cost within a service
    cost: NDArray[np.float64]  # their opening cost (yuan), the site's fixed cost if unused
    leader: NDArray[np.int64]  # most gain among the group's closed columns up to here (-1: none)
    start: NDArray[np.int64]  # where each service's group begins (one more: the end)


@njit(cache=True)
def _affordable(arrays: SearchArrays, limits: Limits, usage: Usage) -> _Affordable:
    """Sort the columns for :func:`_best_allowed` (again after a move: costs and gains change)."""
    n, services = arrays.gain.size, limits.min_new.size
    cost, ok = np.empty(n), np.empty(n, dtype=np.bool_)
    addable(arrays.is_open, limits, usage, cost, ok)
    by_cost = np.argsort(cost, kind="mergesort")
    order = by_cost[np.argsort(limits.service[by_cost], kind="mergesort")]
    start = np.zeros(services + 1, dtype=np.int64)
    for column in range(n):
        start[limits.service[column] + 1] += 1
    start = np.cumsum(start)
    leader = np.full(n, -1, dtype=np.int64)
    gain = arrays.gain
    for k in range(services):
        best = -1
        for i in range(start[k], start[k + 1]):
            column = order[i]
            if not arrays.is_open[column] and (best < 0 or gain[column] > gain[best]):
                best = column
            leader[i] = best
    return _Affordable(order, cost[order], leader, start)


@njit(cache=True)
def _best_allowed(
    a: int,
    swap_row: NDArray[np.float64],
    gain: NDArray[np.float64],
    threshold: float,
    affordable: _Affordable,
    near: NDArray[np.int64],
    limits: Limits,
    usage: Usage,
) -> int:
    """As :func:`_best_swap` with checks, without scanning every column.

    A column *b* not near ``a`` is worth ``gain[b]``, and the total budget admits it only if
    its opening cost fits what closing ``a`` leaves: per service, the candidate is the column
    of most gain among those costing no more (a binary search in ``affordable``). The columns
    ``near`` ``a`` are scanned. When another limit refuses a service's candidate, that
    service's affordable columns are scanned.
    """
    best, best_column = _scan(a, near, swap_row, gain, threshold, -1, limits, usage, True)
    site_a = limits.site[a]
    refund = limits.fit_out[a] + (limits.fixed[a] if usage.site_count[site_a] == 1 else 0.0)
    slack = limits.budget - usage.spent[0] + refund
    order, cost, leader, start = affordable
    for k in range(start.size - 1):
        first, end = start[k], start[k + 1]
        last = first + np.searchsorted(cost[first:end], slack, side="right") - 1
        if last < first or leader[last] < 0:
            continue
        b = leader[last]
        if swap_row[b] + gain[b] <= best:
            continue
        if _can_swap(a, b, limits, usage):
            best, best_column = swap_row[b] + gain[b], b
        else:
            among = order[first : last + 1]
            best, best_column = _scan(
                a, among, swap_row, gain, best, best_column, limits, usage, True
            )
    return best_column


@njit(cache=True)
def _free_slot(slot_column: NDArray[np.int64]) -> int:
    """A row of the swap matrix no open column holds; -1: none."""
    for row in range(slot_column.size):
        if slot_column[row] < 0:
            return row
    return -1


@njit(cache=True)
def _close(
    column: int,
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
) -> None:
    """Close ``column`` and free its row of the swap matrix."""
    row = swaps.slot[column]
    flip_column(column, False, arrays, limits, usage, swaps, True)
    swaps.slot[column] = -1
    swaps.slot_column[row] = -1


@njit(cache=True)
def _open(
    column: int,
    row: int,
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
) -> None:
    """Open ``column`` in the free swap-matrix row ``row``."""
    swaps.slot[column] = row
    swaps.slot_column[row] = column
    flip_column(column, True, arrays, limits, usage, swaps, True)


@njit(cache=True)
def swap_pass(
    order: NDArray[np.integer],
    tolerance: float,
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
    near_indptr: NDArray[np.int64],
    near_indices: NDArray[np.int64],
) -> int:
    """One first-improvement swap pass; returns the moves made.

    Each open column *a* of ``order`` in turn is replaced by the closed column *b* that
    maximises ``swap[slot(a), b] + gain[b]`` among the swaps the limits allow, when that
    beats ``loss[a] + tolerance``; *b* takes over *a*'s slot. The limits are checked first for
    the best swap alone (usually allowed), then, if it is not, along the scan. Given the
    columns sharing a row with each column (``near_*``, CSR; an empty ``near_indptr`` for
    none), the first search scans only those and the column of most gain. Arrays as in
    :func:`flip_column`.
    """
    is_open, gain, loss = arrays.is_open, arrays.gain, arrays.loss
    swap, slot = swaps.values, swaps.slot
    near = near_indptr.size == gain.size + 1
    top = int(np.argmax(gain)) if near else -1
    none, empty = np.empty(0, dtype=np.int64), np.empty(0)
    affordable, fresh = _Affordable(none, empty, none, none), False  # sorted on first need
    moves = 0
    for a in order:
        if not is_open[a]:
            continue
        row, threshold = slot[a], loss[a] + tolerance
        if near:
            near_a = near_indices[near_indptr[a] : near_indptr[a + 1]]
            best_column = _best_near(a, swap[row], gain, threshold, top, near_a, limits, usage)
            if best_column >= 0 and not _can_swap(a, best_column, limits, usage):
                if not fresh:
                    affordable, fresh = _affordable(arrays, limits, usage), True
                best_column = _best_allowed(
                    a, swap[row], gain, threshold, affordable, near_a, limits, usage
                )
        else:
            best_column = _best_swap(a, swap[row], gain, threshold, limits, usage, False)
            if best_column >= 0 and not _can_swap(a, best_column, limits, usage):
                best_column = _best_swap(a, swap[row], gain, threshold, limits, usage, True)
        if best_column < 0:
            continue
        top_gain = gain[top] if near else 0.0
        _close(a, arrays, limits, usage, swaps)
        _open(best_column, row, arrays, limits, usage, swaps)  # b takes over a's row
        moves += 1
        fresh = False
        if near:
            top = _top_after_swap(top, top_gain, a, near_a, gain)
    return moves


@njit(cache=True)
def _top_after_swap(
    top: int, top_gain: float, a: int, near_a: NDArray[np.int64], gain: NDArray[np.float64]
) -> int:
    """The column of most gain after ``a`` (sharing rows with ``near_a``) was swapped out.

    Only ``a`` and the columns sharing a row with it gain (its rows may be uncovered now);
    the others keep or lose gain. So unless ``top`` (of gain ``top_gain`` before) lost gain,
    the new top is ``top``, ``a`` or one of ``near_a``: no scan of every column.
    """
    if gain[top] < top_gain:
        return int(np.argmax(gain))
    if gain[a] > gain[top]:
        top = a
    for column in near_a:
        if gain[column] > gain[top]:
            top = column
    return top


@njit(cache=True)
def objective(
    w: NDArray[np.float64],
    covers: NDArray[np.int64],
    cx: NDArray[np.float64],
    is_open: NDArray[np.bool_],
) -> float:
    """Weight of the covered rows plus the open columns' objective terms."""
    total = 0.0
    for row in range(w.size):
        if covers[row] > 0:
            total += w[row]
    for column in range(cx.size):
        if is_open[column]:
            total += cx[column]
    return total


@njit(cache=True)
def seed_random(seed: int) -> None:
    """Seed the generator the compiled moves draw from (numba's own, one per thread)."""
    np.random.seed(seed)


PICK_DRAWS = 32
"""Random draws :func:`_pick` tries before it counts the entries that may open."""


@njit(cache=True)
def _pick(
    among: NDArray[np.int64],
    leaving: int,
    is_open: NDArray[np.bool_],
    limits: Limits,
    usage: Usage,
) -> int:
    """A uniformly random entry of ``among``, other than ``leaving``, that may open; -1: none.

    A few random draws first (usually most entries may open), then, if :data:`PICK_DRAWS`
    draws all fail, a count over :func:`addable` (one loop, not a check per entry). Both
    are uniform.
    """
    if among.size == 0:
        return -1
    for _ in range(PICK_DRAWS):
        column = among[np.random.randint(among.size)]
        if column != leaving and _may_open(column, is_open, limits, usage):
            return int(column)
    cost, allowed = np.empty(is_open.size), np.empty(is_open.size, dtype=np.bool_)
    addable(is_open, limits, usage, cost, allowed)
    allowed[leaving] = False
    count = 0
    for column in among:
        if allowed[column]:
            count += 1
    if count == 0:
        return -1
    target = np.random.randint(count)
    for column in among:
        if allowed[column]:
            if target == 0:
                return int(column)
            target -= 1
    return -1


@njit(cache=True)
def perturb(
    concentric: bool,
    omega: int,
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
) -> None:
    """Swap ``omega`` open columns for closed ones the limits allow (AILS's perturbation).

    The columns to close are random ones or, when ``concentric``, those sharing the most rows
    with a random open column (ties at random). Each is replaced (half of the calls) by a
    column covering one of its rows, weighted by the rows shared, else by a random column;
    a service is never taken below its minimum count. Arrays as in :func:`swap_pass`.
    """
    is_open = arrays.is_open
    open_idx = np.flatnonzero(is_open)
    if open_idx.size == 0:
        return
    if concentric:
        centre = open_idx[np.random.randint(open_idx.size)]
        shared = np.zeros(is_open.size)
        for column in neighbours_of(centre, arrays):
            shared[column] += 1.0
        key = -shared[open_idx] + 0.5 * np.random.random(open_idx.size)
        leaving = open_idx[np.argsort(key)[:omega]]
    else:
        leaving = np.random.permutation(open_idx)[:omega]
    near = np.random.random() < 0.5
    everything = np.arange(is_open.size)
    for column in leaving:
        k = limits.service[column]
        if usage.service_count[k] - 1 < limits.min_new[k]:
            continue
        row = swaps.slot[column]
        _close(column, arrays, limits, usage, swaps)
        chosen = -1
        if near:
            chosen = _pick(neighbours_of(column, arrays), column, is_open, limits, usage)
        if chosen < 0:
            chosen = _pick(everything, column, is_open, limits, usage)
        if chosen >= 0:
            _open(chosen, row, arrays, limits, usage, swaps)


@njit(cache=True)
def descend_step(
    tolerance: float,
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
    near_indptr: NDArray[np.int64],
    near_indices: NDArray[np.int64],
) -> tuple[int, int]:
    """Add moves while any helps, then one swap pass in random order.

    Returns (moves, state): state 0 when the pass moved nothing (a local optimum), 1 when
    it moved, 2 when an add needs a row the swap matrix lacks (grow it and call again).
    """
    moves = 0
    while True:
        add = best_add(arrays, limits, usage, 1e-9)
        if add < 0:
            break
        row = _free_slot(swaps.slot_column)
        if row < 0:
            return moves, 2
        _open(add, row, arrays, limits, usage, swaps)
        moves += 1
    order = np.random.permutation(np.flatnonzero(arrays.is_open))
    passed = swap_pass(order, tolerance, arrays, limits, usage, swaps, near_indptr, near_indices)
    return moves + passed, 1 if passed else 0


@njit(cache=True)
def move_to(
    target: NDArray[np.bool_],
    arrays: SearchArrays,
    limits: Limits,
    usage: Usage,
    swaps: SwapRows,
) -> None:
    """Close the open columns ``target`` lacks, then open the ones it adds (free rows needed)."""
    is_open = arrays.is_open
    for column in range(is_open.size):
        if is_open[column] and not target[column]:
            _close(column, arrays, limits, usage, swaps)
    for column in range(is_open.size):
        if target[column] and not is_open[column]:
            _open(column, _free_slot(swaps.slot_column), arrays, limits, usage, swaps)


@njit(cache=True)
def neighbours_of(column: int, arrays: SearchArrays) -> NDArray[np.int64]:
    """Every column covering a row of ``column``, once per shared row (``column`` included)."""
    y_indptr, y_indices = arrays.y_indptr, arrays.y_indices
    yt_indptr, yt_indices = arrays.yt_indptr, arrays.yt_indices
    total = 0
    for entry in range(yt_indptr[column], yt_indptr[column + 1]):
        row = yt_indices[entry]
        total += y_indptr[row + 1] - y_indptr[row]
    found = np.empty(total, dtype=np.int64)
    at = 0
    for entry in range(yt_indptr[column], yt_indptr[column + 1]):
        row = yt_indices[entry]
        for k in range(y_indptr[row], y_indptr[row + 1]):
            found[at] = y_indices[k]
            at += 1
    return found


@cache
def warm_up() -> None:
    """Compile every kernel (or load it from numba's cache) by running it on a tiny model.

    The search passes index arrays as int64 and the rest as float64 (see :class:`SearchArrays`),
    so one compilation serves every model. Cached: later calls return at once.
    """
    index = np.array([0, 1, 2], dtype=np.int64)  # two rows, two columns, the identity
    cover = np.array([0, 1], dtype=np.int64)
    arrays = SearchArrays(
        index,
        cover,
        index,
        cover,
        np.ones(2),
        np.zeros(2),
        np.zeros(2, dtype=np.bool_),
        np.zeros(2, dtype=np.int64),
        np.full(2, -1, dtype=np.int64),
        np.ones(2),
        np.zeros(2),
    )
    ones, zeros, sites = np.ones(2), np.zeros(2), np.arange(2, dtype=np.int64)
    limits = Limits(ones, zeros, sites, sites, ones, ones, ones, zeros, ones, ones, 2.0)
    usage = Usage(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(1))
    slots = np.array([0, -1], dtype=np.int64)
    swaps = SwapRows(np.zeros((2, 2)), slots, slots.copy())
    addable(arrays.is_open, limits, usage, np.empty(2), np.empty(2, dtype=np.bool_))
    best_add(arrays, limits, usage, 1e-9)
    flip_column(0, True, arrays, limits, usage, swaps, True)
    for near in (np.zeros(0, dtype=np.int64), index):  # without and with near columns
        order = np.array([0], dtype=np.int64)
        swap_pass(order, 1e-9, arrays, limits, usage, swaps, near, cover)
    seed_random(0)
    objective(arrays.w, arrays.covers, arrays.cx, arrays.is_open)
    descend_step(1e-9, arrays, limits, usage, swaps, index, cover)
    perturb(True, 1, arrays, limits, usage, swaps)
    perturb(False, 1, arrays, limits, usage, swaps)
    move_to(arrays.is_open.copy(), arrays, limits, usage, swaps)
    neighbours_of(0, arrays)
