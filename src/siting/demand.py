"""Residents as weighted demand points: population and segments (elderly, children, ...).

``demand_from_file`` reads the ``[demand]`` table of a scenario; ``demand_from_geodataframe``
converts a GeoDataFrame for analysts. Both return :class:`DemandPoints`, whose weights are
non-negative and finite and whose ids are unique.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray

from siting._tables import PointTable, read_ids, read_point_table, table_from_frame
from siting._validate import Problems, numeric_column
from siting.projection import transform
from siting.scenario import DemandSpec, display_path
from siting.services import POPULATION


@dataclass(frozen=True)
class DemandPoints:
    """Demand points in one CRS.

    Attributes
    ----------
    ids
        Unique ids (strings) from the input table.
    xy
        (n, 2) coordinates in ``crs``.
    crs
        Coordinate reference system of ``xy``.
    weights
        ``"population"`` and every segment (e.g. ``"elderly"``): residents per point.
    attributes
        The input's other columns (community, district, ...), one row per point.
    """

    ids: NDArray[np.object_]
    xy: NDArray[np.float64]
    crs: pyproj.CRS
    weights: Mapping[str, NDArray[np.float64]]
    attributes: pd.DataFrame

    def __len__(self) -> int:
        return len(self.ids)

    def weight(self, segment: str) -> NDArray[np.float64]:
        """Residents of ``segment`` at each point."""
        return self.weights[segment]

    def to_crs(self, crs: pyproj.CRS) -> DemandPoints:
        """The same points with coordinates transformed to ``crs``."""
        return replace(self, xy=transform(self.xy, self.crs, crs), crs=crs)


def demand_from_file(spec: DemandSpec) -> DemandPoints:
    """Read the ``[demand]`` section of a scenario, with the reader its ``kind`` names.

    ``points`` (the default) and ``polygons`` with ``spread = "point"`` read a table, one
    demand point per row; ``polygons`` with ``spread = "grid"``, ``raster`` and ``buildings``
    are read by :mod:`siting.population`.

    Raises
    ------
    DataValidationError
        Listing every problem: missing file or columns, duplicate ids, bad coordinates, missing
        or negative populations.
    """
    if spec.kind != "points" and not (spec.kind == "polygons" and spec.spread == "point"):
        from siting import population  # imports this module: a local import avoids a cycle

        return population.demand_from_source(spec)
    problems = Problems(display_path(spec.path))
    table = read_point_table(spec, section="[demand]", problems=problems)
    return problems.result(None if table is None else _demand_from_table(table, spec, problems))


def demand_from_geodataframe(
    gdf: gpd.GeoDataFrame,
    *,
    id_column: str = "id",
    population: str = "population",
    segments: Mapping[str, str] | None = None,
) -> DemandPoints:
    """Convert a GeoDataFrame of points (or polygons, represented by an interior point).

    Parameters
    ----------
    gdf
        Demand rows with a CRS.
    id_column, population
        Columns holding unique ids and residents per row.
    segments
        Extra weights, ``{segment name: column}``, e.g. ``{"elderly": "pop_60plus"}``.
    """
    spec = DemandSpec(
        path=Path("<GeoDataFrame>"),
        id=id_column,
        population=population,
        segments=dict(segments or {}),
    )
    problems = Problems("demand GeoDataFrame")
    ids = problems.result(read_ids(gdf, id_column, section="id_column", problems=problems))
    table = table_from_frame(gdf, ids=ids, spec=spec, section="demand", problems=problems)
    return problems.result(None if table is None else _demand_from_table(table, spec, problems))


def _demand_from_table(
    table: PointTable, spec: DemandSpec, problems: Problems
) -> DemandPoints | None:
    people = spec.households or spec.population
    columns = {f"[demand] {'households' if spec.households else 'population'}": people}
    columns |= {f"[demand] segments.{name}": col for name, col in spec.segments.items()}
    if not problems.require_columns(table.frame, columns):
        return None
    weights: dict[str, NDArray[np.float64]] = {}
    for name, column in {POPULATION: people, **spec.segments}.items():
        values = numeric_column(table.frame, column, problems, ids=table.ids)
        what = "households" if name == POPULATION and spec.households else "residents"
        problems.check_values(
            values,
            column=column,
            ids=table.ids,
            bad=~np.isfinite(values) | (values < 0),
            rule=f"{what} must be numbers >= 0; write 0 where nobody lives",
        )
        weights[name] = np.where(np.isfinite(values), values, 0.0)
    if spec.households:
        weights[POPULATION] = weights[POPULATION] * spec.persons_per_household
    weights |= shares_of(weights[POPULATION], spec)
    used = {spec.id, spec.x, spec.y, *columns.values()}
    attributes = table.frame.drop(columns=[c for c in used if c in table.frame])
    return DemandPoints(
        ids=table.ids, xy=table.xy, crs=table.crs, weights=weights, attributes=attributes
    )


def shares_of(population: NDArray[np.float64], spec: DemandSpec) -> dict[str, NDArray[np.float64]]:
    """Segments given as shares of the population (``segment_shares``)."""
    return {name: population * share for name, share in spec.segment_shares.items()}
