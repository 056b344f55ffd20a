"""Compiled inner loops of the swap search (:mod:`siting.localsearch`).

Opening or closing one column touches the rows it covers and, for the rows whose state
changes (uncovered, covered once, covered more often), every column covering them: a few
thousand scalar updates that cost microseconds in compiled code and a hundred numpy calls
otherwise. Numba compiles them on first use and caches the machine code beside this file.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

SearchArrays = tuple[
    NDArray[np.integer],  # y_indptr: rows x columns coverage (CSR)
    NDArray[np.integer],  # y_indices
    NDArray[np.integer],  # yt_indptr: its transpose
    NDArray[np.integer],  # yt_indices
    NDArray[np.float64],  # w: row weights
    NDArray[np.float64],  # cx: column objective terms
    NDArray[np.bool_],  # is_open
    NDArray[np.int64],  # count
    NDArray[np.int64],  # owner
    NDArray[np.float64],  # gain
    NDArray[np.float64],  # loss
]
"""The search state one kernel call reads and updates, in this order (see :func:`flip_column`)."""


@njit(cache=True)
def flip_column(
    column: int,
    on: bool,
    arrays: SearchArrays,
    swap: NDArray[np.float64],
    slot: NDArray[np.int64],
    track_swaps: bool,
) -> None:
    """Open (``on``) or close ``column`` and update the search state in place.

    ``count`` is the open columns covering each row, ``owner`` the one open column of rows
    covered once (else -1), ``gain`` the weight a closed column would add (-inf when open),
    ``loss`` the weight only an open column covers plus its objective term ``cx``, and
    ``swap[slot(a), b]`` (when ``track_swaps``) the weight only *a* covers that *b* covers
    too. Opening needs ``slot[column]`` assigned; closing leaves the slot's row at zero.
    """
    y_indptr, y_indices, yt_indptr, yt_indices, w, cx, is_open, count, owner, gain, loss = arrays
    is_open[column] = on
    for entry in range(yt_indptr[column], yt_indptr[column + 1]):
        row = yt_indices[entry]
        before = count[row]
        weight = w[row]
        start, end = y_indptr[row], y_indptr[row + 1]
        if on:
            count[row] = before + 1
            if before == 0:  # newly covered, by column alone
                owner[row] = column
                loss[column] += weight
                for k in range(start, end):
                    gain[y_indices[k]] -= weight
                if track_swaps:
                    for k in range(start, end):
                        swap[slot[column], y_indices[k]] += weight
            elif before == 1:  # its single owner no longer covers it alone
                previous = owner[row]
                owner[row] = -1
                loss[previous] -= weight
                if track_swaps:
                    for k in range(start, end):
                        swap[slot[previous], y_indices[k]] -= weight
        else:
            count[row] = before - 1
            if before == 1:  # uncovered again
                owner[row] = -1
                for k in range(start, end):
                    gain[y_indices[k]] += weight
            elif before == 2:  # the other open column now covers it alone
                other = -1
                for k in range(start, end):
                    if is_open[y_indices[k]]:
                        other = y_indices[k]
                owner[row] = other
                loss[other] += weight
                if track_swaps:
                    for k in range(start, end):
                        swap[slot[other], y_indices[k]] += weight
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


@njit(cache=True)
def swap_pass(
    order: NDArray[np.integer],
    tolerance: float,
    arrays: SearchArrays,
    swap: NDArray[np.float64],
    slot: NDArray[np.int64],
    slot_column: NDArray[np.int64],
) -> int:
    """One first-improvement pass for plans where every swap is feasible; returns the moves.

    Each open column of ``order`` in turn is replaced by the closed column *b* maximising
    ``swap[slot(a), b] + gain[b]`` when that beats ``loss[a] + tolerance``; *b* takes over
    *a*'s slot. Arrays as in :func:`flip_column`.
    """
    is_open, gain, loss = arrays[6], arrays[9], arrays[10]
    moves = 0
    for a in order:
        if not is_open[a]:
            continue
        row = slot[a]
        best, best_column = loss[a] + tolerance, -1
        for b in range(gain.size):
            value = swap[row, b] + gain[b]
            if value > best:
                best, best_column = value, b
        if best_column < 0:
            continue
        flip_column(a, False, arrays, swap, slot, True)
        slot[a] = -1
        slot[best_column] = row
        slot_column[row] = best_column
        flip_column(best_column, True, arrays, swap, slot, True)
        moves += 1
    return moves
