"""Collect every data problem, then raise once.

Readers call :class:`Problems` methods while checking a table; :meth:`Problems.raise_if_any`
raises a single :class:`~siting._errors.DataValidationError` listing every problem found, one
line each, so a planner fixes a file in one pass instead of one error per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from siting._errors import DataValidationError

MAX_ROWS_SHOWN = 5
T = TypeVar("T")
Ids = NDArray[np.object_]
"""Row ids as an object array of str."""


class Problems:
    """An accumulator of one-line problem descriptions for one data source.

    Parameters
    ----------
    source
        What is being checked, e.g. ``"data/demand.csv"``; every message starts with it.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem; ``message`` should name the field, the value and the fix."""
        self.messages.append(f"{self.source}: {message}")

    def raise_if_any(self) -> None:
        """Raise :class:`DataValidationError` listing every recorded problem, if there is one."""
        if self.messages:
            raise DataValidationError(self.messages)

    def result(self, value: T | None) -> T:
        """Raise if any problem was recorded, else return ``value`` (None counts as a problem)."""
        if value is None and not self.messages:
            self.add("could not be read")
        self.raise_if_any()
        return value  # type: ignore[return-value]

    def require_columns(self, frame: pd.DataFrame, columns: dict[str, str]) -> bool:
        """Check that each ``{scenario_key: column}`` exists in ``frame``; return True if all do."""
        available = ", ".join(map(str, frame.columns[:20]))
        ok = True
        for key, column in columns.items():
            if column not in frame.columns:
                self.add(
                    f"column '{column}' (set by {key}) not found; columns are: {available}; "
                    f"set {key} to one of them"
                )
                ok = False
        return ok

    def check_unique_ids(self, ids: Ids, column: str) -> None:
        """Record duplicate ids in ``column``, naming the first few duplicates and their rows."""
        series = pd.Series(ids)
        duplicated = series[series.duplicated(keep=False)]
        if duplicated.empty:
            return
        firsts = duplicated.groupby(duplicated, sort=False).groups
        shown = [
            f"'{value}' at rows {', '.join(str(i + 1) for i in rows[:3])}"
            for value, rows in list(firsts.items())[:MAX_ROWS_SHOWN]
        ]
        self.add(
            f"column '{column}' has {len(firsts)} duplicate id(s): {'; '.join(shown)}; "
            "ids must be unique"
        )

    def check_values(
        self,
        values: NDArray[np.float64],
        *,
        column: str,
        ids: Ids,
        bad: NDArray[np.bool_],
        rule: str,
    ) -> None:
        """Record the rows where ``bad`` is true, quoting their ids and values and the ``rule``."""
        rows = np.flatnonzero(bad)
        if rows.size == 0:
            return
        self.add(
            f"column '{column}' has {rows.size} bad value(s): "
            f"{describe_rows(rows, ids, values)}; {rule}"
        )


def describe_rows(rows: Iterable[int], ids: Ids, values: Any = None) -> str:
    """Up to ``MAX_ROWS_SHOWN`` rows as ``row 7 (id 'D7') = -5``; rows are 1-based.

    ``values`` (indexed like ``ids``) adds each row's value: numbers as written, text quoted.
    """
    rows = list(rows)

    def one(r: int) -> str:
        text = f"row {r + 1} (id '{ids[r]}')"
        if values is None:
            return text
        value = values[r]
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return f"{text} = {float(value):g}"
        return f"{text} = {str(value)!r}"

    shown = [one(r) for r in rows[:MAX_ROWS_SHOWN]]
    more = f" and {len(rows) - MAX_ROWS_SHOWN} more" if len(rows) > MAX_ROWS_SHOWN else ""
    return ", ".join(shown) + more


def numeric_column(
    frame: pd.DataFrame, column: str, problems: Problems, *, ids: Ids
) -> NDArray[np.float64]:
    """Return ``frame[column]`` as float64, recording text that is not a number as a problem."""
    raw = frame[column]
    values: NDArray[np.float64] = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    not_numbers = np.isnan(values) & raw.notna().to_numpy()
    if not_numbers.any():
        shown = describe_rows(np.flatnonzero(not_numbers), ids, raw.to_numpy(object))
        problems.add(f"column '{column}' has text that is not a number: {shown}")
    return values
