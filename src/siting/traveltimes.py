"""Precomputed walk times: a long table of (demand id, site or outlet id, minutes or metres).

Other tools (r5py, ArcGIS Network Analyst, a city's own model) produce such tables; with
``[walk] mode = "table"`` they replace the computed walk times. Each row is one pair; pairs
missing from the table are not reachable. Destination ids are looked up among the candidate
sites and the existing outlets, so they must not be shared between the two. Minutes are taken
at the scenario's walking speed: a service with its own ``speed_m_per_s`` scales them
(metres = minutes x 60 x scenario speed, then divided by the service's speed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from siting import settings
from siting._tables import _read_frame
from siting._validate import MAX_ROWS_SHOWN, Problems, numeric_column
from siting.candidates import CandidateSites
from siting.coverage import ServiceCoverage, _csr_from_pairs, coverage_from_walks, walk_limit_m
from siting.demand import DemandPoints
from siting.facilities import ExistingFacilities
from siting.network import WalkReport
from siting.scenario import TravelTableSpec, display_path
from siting.services import POPULATION, Service


@dataclass(frozen=True)
class TravelTimes:
    """Walk lengths of listed pairs, resolved to row indices of the run's tables.

    Attributes
    ----------
    demand
        (p,) demand index of each pair.
    site
        (p,) candidate-site index, -1 where the destination is an existing outlet.
    outlet
        (p,) existing-outlet index, -1 where the destination is a candidate site.
    metres
        (p,) walking metres (minutes are converted at the scenario's speed).
    source
        The table's path, for messages.
    """

    demand: NDArray[np.intp]
    site: NDArray[np.intp]
    outlet: NDArray[np.intp]
    metres: NDArray[np.float64]
    source: str = "travel times"

    def __len__(self) -> int:
        return len(self.demand)


def travel_times_from_file(
    spec: TravelTableSpec,
    *,
    demand_ids: NDArray[np.object_],
    site_ids: NDArray[np.object_],
    outlet_ids: NDArray[np.object_],
    speed_m_per_s: float = settings.WALK_SPEED_M_PER_S,
) -> TravelTimes:
    """Read ``[walk.table]`` and resolve its ids against the run's tables.

    Raises
    ------
    DataValidationError
        Naming missing columns, ids that are in no table (or in both the sites and the
        outlets), bad or negative values and repeated pairs, with their rows.
    """
    problems = Problems(display_path(spec.path))
    frame = problems.result(
        _read_frame(spec.path, layer=spec.layer, section="[walk.table]", problems=problems)
    )
    value_column = spec.minutes or spec.metres or ""
    columns = {
        "[walk.table] origin": spec.origin,
        "[walk.table] destination": spec.destination,
        f"[walk.table] {'minutes' if spec.minutes else 'metres'}": value_column,
    }
    if not problems.require_columns(frame, columns):
        problems.raise_if_any()
    origin = _text(frame[spec.origin])
    destination = _text(frame[spec.destination])
    values = numeric_column(frame, value_column, problems, ids=origin)
    problems.check_values(
        values,
        column=value_column,
        ids=origin,
        bad=~np.isfinite(values) | (values < 0),
        rule="walk times must be numbers >= 0; leave unreachable pairs out of the table",
    )
    demand = pd.Index(demand_ids).get_indexer(origin)
    site = pd.Index(site_ids).get_indexer(destination) if len(site_ids) else _none(destination)
    outlet = (
        pd.Index(outlet_ids).get_indexer(destination) if len(outlet_ids) else _none(destination)
    )
    _unknown(problems, spec.origin, origin, demand < 0, "[demand] ids")
    _unknown(
        problems,
        spec.destination,
        destination,
        (site < 0) & (outlet < 0),
        "[candidates] or [existing] ids",
    )
    shared = (site >= 0) & (outlet >= 0)
    if shared.any():
        rows = np.flatnonzero(shared)
        problems.add(
            f"column '{spec.destination}' names {np.unique(destination[rows]).size} id(s) that "
            f"are both a candidate site and an existing outlet (first: row {rows[0] + 1} = "
            f"'{destination[rows[0]]}'); give sites and outlets distinct ids"
        )
    pairs = pd.Series(origin + "\x00" + destination)
    repeated = np.flatnonzero(pairs.duplicated().to_numpy())
    if repeated.size:
        shown = ", ".join(
            f"row {r + 1} ('{origin[r]}' -> '{destination[r]}')" for r in repeated[:MAX_ROWS_SHOWN]
        )
        problems.add(f"{repeated.size} pair(s) are listed more than once: {shown}; keep one row")
    problems.raise_if_any()
    metres = values if spec.metres else values * 60.0 * speed_m_per_s
    return TravelTimes(
        demand=demand.astype(np.intp),
        site=site.astype(np.intp),
        outlet=outlet.astype(np.intp),
        metres=metres.astype(np.float64),
        source=display_path(spec.path),
    )


def _text(column: pd.Series) -> NDArray[np.object_]:
    text: NDArray[np.object_] = (
        column.astype(object).where(column.notna(), "").map(str).str.strip().to_numpy(object)
    )
    return text


def _none(ids: NDArray[np.object_]) -> NDArray[np.intp]:
    return np.full(len(ids), -1, dtype=np.intp)


def _unknown(
    problems: Problems,
    column: str,
    ids: NDArray[np.object_],
    bad: NDArray[np.bool_],
    where: str,
) -> None:
    rows = np.flatnonzero(bad)
    if rows.size == 0:
        return
    names = pd.unique(ids[rows])
    shown = ", ".join(f"row {r + 1} = '{ids[r]}'" for r in rows[:MAX_ROWS_SHOWN])
    problems.add(
        f"column '{column}' has {rows.size} row(s) naming {names.size} unknown id(s): {shown}; "
        f"every id must be one of the {where}"
    )


def coverage_from_travel_times(
    demand: DemandPoints,
    sites: CandidateSites,
    existing: ExistingFacilities,
    services: Sequence[Service],
    times: TravelTimes,
    *,
    speed_m_per_s: float = settings.WALK_SPEED_M_PER_S,
    mobile: NDArray[np.bool_] | None = None,
) -> tuple[tuple[ServiceCoverage, ...], WalkReport]:
    """Coverage of every service from a precomputed table, with a report of unlisted demand.

    ``mobile`` marks mobile locations among the sites (their outlets use
    ``mobile_walk_minutes``).
    """
    n, m, e = len(demand), len(sites), len(existing)
    longest = max(walk_limit_m(s, speed_m_per_s) for s in services)
    to_site = times.site >= 0
    to_sites = _csr_from_pairs(
        times.demand[to_site].astype(np.int64),
        times.site[to_site].astype(np.int64),
        times.metres[to_site],
        (n, m),
        longest,
    )
    to_outlet = times.outlet >= 0
    to_outlets = _csr_from_pairs(
        times.demand[to_outlet].astype(np.int64),
        times.outlet[to_outlet].astype(np.int64),
        times.metres[to_outlet],
        (n, e),
        longest,
    )
    coverage = coverage_from_walks(
        services, to_sites, to_outlets, existing, speed_m_per_s=speed_m_per_s, mobile=mobile
    )
    listed = np.zeros(n, dtype=bool)
    listed[times.demand] = True
    population = demand.weight(POPULATION)
    details = {
        "table": times.source,
        "pairs": len(times),
        "pairs_to_sites": int(to_site.sum()),
        "pairs_to_outlets": int(to_outlet.sum()),
        "demand_unlisted": int((~listed).sum()),
        "population_unlisted": float(population[~listed].sum()),
    }
    warnings = []
    if not listed.all():
        warnings.append(
            f"{int((~listed).sum()):,} demand points ({population[~listed].sum():,.0f} "
            "residents) have no row in the travel-time table and reach nothing"
        )
    return coverage, WalkReport(mode="table", details=details, warnings=tuple(warnings))
