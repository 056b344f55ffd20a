"""Write a :class:`~siting.model.MilpArrays` as an MPS file, for backends that read files.

Rows are named ``R<i>`` and columns ``C<j>`` (their index in the arrays), so solutions map back
by name. The objective is negated: MPS minimises, the arrays maximise. Work is one pass over
the nonzeros, formatted in bulk.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from siting.model import MilpArrays


def _numbers(values: NDArray[np.float64]) -> list[str]:
    return [repr(v) for v in values.tolist()]  # shortest round-trip representation


def mps_text(milp: MilpArrays) -> str:
    """The model as free-format MPS text (minimising ``-c``)."""
    A = milp.A
    n = milp.num_cols
    lower, upper = milp.row_lower, milp.row_upper
    has_lower, has_upper = np.isfinite(lower), np.isfinite(upper)
    equal = has_lower & has_upper & (lower == upper)
    ranged = has_lower & has_upper & ~equal
    kind = np.where(equal, "E", np.where(has_upper, "L", np.where(has_lower, "G", "N")))
    keep = kind != "N"
    lines = ["NAME SITING", "ROWS", " N OBJ"]
    lines += [f" {kind[i]} R{i}" for i in np.flatnonzero(keep)]
    lines.append("COLUMNS")
    by_column = A[np.flatnonzero(keep)].tocsc() if not keep.all() else A.tocsc()
    row_names = np.array([f"R{i}" for i in np.flatnonzero(keep)], dtype=object)
    by_column.sort_indices()
    cost = _numbers(-milp.c)
    values = _numbers(by_column.data)
    names = row_names[by_column.indices].tolist()
    starts = by_column.indptr.tolist()
    integer = milp.integrality.tolist()
    marked = False
    for j in range(n):
        if integer[j] != marked:
            lines.append(f" M{j} 'MARKER' '{'INTORG' if integer[j] else 'INTEND'}'")
            marked = integer[j]
        lines.append(f" C{j} OBJ {cost[j]}")
        lines += [
            f" C{j} {r} {v}"
            for r, v in zip(
                names[starts[j] : starts[j + 1]], values[starts[j] : starts[j + 1]], strict=True
            )
        ]
    if marked:
        lines.append(f" M{n} 'MARKER' 'INTEND'")
    lines.append("RHS")
    rhs = np.where(kind == "G", lower, upper)
    for i in np.flatnonzero(keep & (rhs != 0)):
        lines.append(f" RHS R{i} {float(rhs[i])!r}")
    if ranged.any():
        lines.append("RANGES")
        lines += [f" RNG R{i} {float(upper[i] - lower[i])!r}" for i in np.flatnonzero(ranged)]
    lines.append("BOUNDS")
    for j, (lo, up) in enumerate(
        zip(milp.col_lower.tolist(), milp.col_upper.tolist(), strict=True)
    ):
        if lo == up:
            lines.append(f" FX BND C{j} {lo!r}")
            continue
        if lo == -np.inf:
            lines.append(f" MI BND C{j}")
        else:
            lines.append(f" LO BND C{j} {lo!r}")
        if up != np.inf:
            lines.append(f" UP BND C{j} {up!r}")
        else:
            lines.append(f" PL BND C{j}")
    lines.append("ENDATA")
    return "\n".join(lines) + "\n"
