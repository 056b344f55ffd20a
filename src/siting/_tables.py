"""Read a table of points (CSV, GeoJSON, GeoPackage, Shapefile, Parquet) with ids and coordinates.

The shared first step of the demand, candidate and existing-outlet readers. Coordinates come
from x/y columns or from the file's geometry; polygons and lines are represented by a point
inside them (``representative_point``). Problems are recorded, not raised, so each reader can
add its own checks and raise once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from siting._validate import Ids, Problems, numeric_column
from siting.cncoords import ChineseSystem, in_china, to_wgs84
from siting.projection import WGS84, check_coordinates, parse_crs
from siting.scenario import TableSpec, display_path

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class PointTable:
    """Rows of a table as points: ids, coordinates in ``crs`` and the other columns."""

    frame: pd.DataFrame
    ids: NDArray[np.object_]
    xy: NDArray[np.float64]
    crs: pyproj.CRS


def read_point_table(spec: TableSpec, *, section: str, problems: Problems) -> PointTable | None:
    """Read ``spec.path`` and extract ids and coordinates, recording problems.

    Parameters
    ----------
    spec
        The table's scenario section.
    section
        The section name used in messages, e.g. ``"[demand]"``.
    problems
        Collector for every problem found; its source should be the file's display path.

    Returns
    -------
    PointTable or None
        None if the file cannot be read or lacks the id or coordinate columns.
    """
    frame = _read_frame(spec.path, layer=spec.layer, section=section, problems=problems)
    if frame is None:
        return None
    ids = read_ids(frame, spec.id, section=section, problems=problems)
    if ids is None:
        return None
    return table_from_frame(frame, ids=ids, spec=spec, section=section, problems=problems)


def table_from_frame(
    frame: pd.DataFrame,
    *,
    ids: NDArray[np.object_],
    spec: TableSpec,
    section: str,
    problems: Problems,
) -> PointTable | None:
    """Extract coordinates and CRS from a (Geo)DataFrame whose ids are already known."""
    crs = parse_crs(spec.crs, where=f"{section} crs", problems=problems) if spec.crs else None
    if spec.coordinates is not None and crs is None and not spec.crs:
        crs = WGS84  # GCJ-02 / BD-09 are longitude/latitude
    if spec.x is not None and spec.y is not None:
        if not problems.require_columns(frame, {f"{section} x": spec.x, f"{section} y": spec.y}):
            return None
        if crs is None and not spec.crs:
            problems.add(
                f"{section} crs is missing; set crs = 'EPSG:4326' if x/y are longitude/latitude, "
                "or the EPSG code of their projection"
            )
            return None
        xy = np.column_stack(
            [numeric_column(frame, c, problems, ids=ids) for c in (spec.x, spec.y)]
        )
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        crs = crs or frame.crs
        if crs is None:
            problems.add(f"{section}: the file has no CRS; set crs = 'EPSG:...' in {section}")
            return None
        xy = _geometry_xy(frame.geometry, ids=ids, problems=problems)
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    else:
        coordinate_like = [c for c in frame.columns if str(c).lower() in _COORDINATE_NAMES]
        hint = f" (this file has {', '.join(map(str, coordinate_like))})" if coordinate_like else ""
        problems.add(
            f"{section}: no geometry in this file; set x and y to its coordinate columns{hint}"
        )
        return None
    if crs is None:
        return None
    columns = (spec.x, spec.y) if spec.x and spec.y else ("geometry", "geometry")
    if spec.coordinates is not None:
        converted = _from_chinese(
            xy, crs, spec.coordinates, ids=ids, section=section, problems=problems
        )
        if converted is None:
            return None
        xy, crs = converted, WGS84
    check_coordinates(xy, crs, ids=ids, problems=problems, where=f"{section} crs", columns=columns)
    frame = pd.DataFrame(frame).reset_index(drop=True)
    return PointTable(frame=frame, ids=ids, xy=xy, crs=crs)


def _from_chinese(
    xy: NDArray[np.float64],
    crs: pyproj.CRS,
    system: ChineseSystem,
    *,
    ids: NDArray[np.object_],
    section: str,
    problems: Problems,
) -> NDArray[np.float64] | None:
    """WGS-84 longitude/latitude from GCJ-02 or BD-09 ones, recording points outside China."""
    if not crs.is_geographic or crs != WGS84:
        problems.add(
            f"{section} coordinates = '{system}' are longitude/latitude, but crs = "
            f"{crs.to_string()}; set crs = 'EPSG:4326' or leave crs out"
        )
        return None
    finite = np.isfinite(xy).all(axis=1)
    outside = finite & ~in_china(xy[:, 0], xy[:, 1])
    if outside.any():
        rows = np.flatnonzero(outside)
        shown = ", ".join(
            f"row {r + 1} (id '{ids[r]}') = {xy[r, 0]:.5f}, {xy[r, 1]:.5f}" for r in rows[:5]
        )
        problems.add(
            f"{section} coordinates = '{system}' but {rows.size} point(s) lie outside China, "
            f"where {system.upper()} is not used: {shown}; remove the coordinates key if these "
            "are WGS-84, or fix the points"
        )
        return None
    return to_wgs84(xy, system)


_COORDINATE_NAMES = {"x", "y", "lon", "lat", "lng", "longitude", "latitude", "easting", "northing"}


def _read_frame(
    path: Path, *, layer: str | None, section: str, problems: Problems
) -> pd.DataFrame | None:
    shown = display_path(path)
    if not path.is_file():
        problems.add(f"file not found: {shown}; fix {section} path (relative to the scenario file)")
        return None
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            return _read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        if suffix in VECTOR_SUFFIXES:
            return gpd.read_file(path, layer=layer)
        if suffix in PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path)
            except (ValueError, KeyError):
                return pd.read_parquet(path)
    except Exception as error:
        problems.add(f"cannot read {shown}: {error}; check that it is a valid {suffix} file")
        return None
    problems.add(
        f"{shown}: unsupported file type '{suffix}'; use CSV, GeoJSON, GeoPackage, "
        "Shapefile or Parquet"
    )
    return None


def _read_csv(path: Path, *, sep: str) -> pd.DataFrame:
    """Read a CSV as text columns first (ids keep leading zeros), trying UTF-8 then GB18030."""
    for encoding in CSV_ENCODINGS:
        try:
            return pd.read_csv(path, sep=sep, dtype=str, encoding=encoding, keep_default_na=True)
        except UnicodeDecodeError:
            continue
    msg = f"not UTF-8 or GB18030 text; save {path.name} as UTF-8"
    raise ValueError(msg)


def read_ids(
    frame: pd.DataFrame, column: str, *, section: str, problems: Problems
) -> NDArray[np.object_] | None:
    """The id column as stripped strings; records a missing column, empty ids and duplicates."""
    if not problems.require_columns(frame, {f"{section} id": column}):
        return None
    values = frame[column]
    ids: Ids = values.astype(object).where(values.notna(), "").map(str).str.strip().to_numpy(object)
    empty = ids == ""
    if empty.any():
        rows = ", ".join(str(r + 1) for r in np.flatnonzero(empty)[:5])
        problems.add(f"column '{column}' is empty at row(s) {rows}; every row needs an id")
    problems.check_unique_ids(ids, column)
    return ids


def _geometry_xy(
    geometry: gpd.GeoSeries, *, ids: NDArray[np.object_], problems: Problems
) -> NDArray[np.float64]:
    """Point coordinates of each geometry; non-points give a point on their surface."""
    geoms = geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        problems.add(
            f"{int(empty.sum())} row(s) have no geometry (first: row "
            f"{int(np.flatnonzero(empty)[0]) + 1}, id '{ids[np.flatnonzero(empty)[0]]}'); "
            "fill them in or remove them"
        )
    points = shapely.point_on_surface(geoms)
    return np.column_stack([shapely.get_x(points), shapely.get_y(points)]).astype(np.float64)
