"""Coordinate reference systems: parse, sanity-check, choose a local metric CRS, transform.

All distances in ``siting`` are metres in one projected CRS shared by every table of a run. If
every table already uses the same projected CRS in metres, that CRS is kept; otherwise a
transverse Mercator centred on the demand points is used, whose scale error stays below
0.002 % within 30 km of the centre, for any city on Earth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyproj
from numpy.typing import NDArray
from pyproj.exceptions import CRSError

from siting._validate import Problems

WGS84 = pyproj.CRS.from_epsg(4326)
AREA_OF_USE_MARGIN_DEG = 1.5
MAX_TABLE_SEPARATION_M = 100_000.0


def parse_crs(value: object, *, where: str, problems: Problems) -> pyproj.CRS | None:
    """Parse a CRS given as text (``"EPSG:4326"``), an EPSG code or a pyproj CRS.

    Records a problem naming ``where`` (e.g. ``"[demand] crs"``) and returns None if it fails.
    """
    try:
        return pyproj.CRS.from_user_input(value)
    except CRSError:
        problems.add(
            f"{where} = {value!r} is not a coordinate reference system; "
            "use an EPSG code such as 'EPSG:4326' (longitude/latitude) or 'EPSG:32650'"
        )
        return None


def check_coordinates(
    xy: NDArray[np.float64],
    crs: pyproj.CRS,
    *,
    ids: NDArray[np.object_],
    problems: Problems,
    where: str,
    columns: tuple[str, str] = ("x", "y"),
) -> None:
    """Record rows with missing, infinite or out-of-range coordinates, and a CRS that does not fit.

    Checks, in order: finite values; longitude in [-180, 180] and latitude in [-90, 90] for a
    geographic CRS; values that look like degrees under a projected CRS (or metres under a
    geographic one); points outside the CRS's area of use by more than 1.5 degrees.
    """
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        axis = 0 if not np.isfinite(xy[:, 0]).all() else 1
        problems.check_values(
            xy[:, axis],
            column=columns[axis],
            ids=ids,
            bad=np.asarray(~finite),
            rule="coordinates must be numbers; fill in or remove these rows",
        )
    pts = xy[finite]
    if pts.size == 0:
        return
    if crs.is_geographic:
        bad = (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
        bad &= finite
        if bad.any():
            looks_projected = bool(np.all(np.abs(pts) > 1000))
            hint = (
                "these look like projected metres: set crs to the projected CRS they use"
                if looks_projected
                else "longitude must be within [-180, 180] and latitude within [-90, 90]"
            )
            axis = 0 if (np.abs(xy[:, 0]) > 180).any() else 1
            problems.check_values(
                xy[:, axis],
                column=columns[axis],
                ids=ids,
                bad=bad,
                rule=f"out of range for {where} = {crs.to_string()}; {hint}",
            )
            return
    elif len(pts) >= 2 and np.all(np.abs(pts[:, 0]) <= 180) and np.all(np.abs(pts[:, 1]) <= 90):
        problems.add(
            f"coordinates look like longitude/latitude degrees (e.g. {pts[0, 0]}, {pts[0, 1]}) "
            f"but {where} = {crs.to_string()} is projected; set crs = 'EPSG:4326'"
        )
        return
    _check_area_of_use(pts, crs, problems=problems, where=where)


def _check_area_of_use(
    pts: NDArray[np.float64], crs: pyproj.CRS, *, problems: Problems, where: str
) -> None:
    area = crs.area_of_use
    if area is None:
        return
    lon, lat = transform(pts, crs, WGS84).T
    m = AREA_OF_USE_MARGIN_DEG
    west, east = area.west - m, area.east + m
    if area.west > area.east:  # the area crosses the antimeridian
        inside_lon = (lon >= west) | (lon <= east)
    else:
        inside_lon = (lon >= west) & (lon <= east)
    inside = inside_lon & (lat >= area.south - m) & (lat <= area.north + m)
    inside &= np.isfinite(lon) & np.isfinite(lat)
    if not inside.all():
        first = int(np.flatnonzero(~inside)[0])
        problems.add(
            f"{(~inside).sum()} point(s) fall outside the area where {where} = "
            f"{crs.to_string()} applies ({area.name}: longitude {area.west:g} to {area.east:g}, "
            f"latitude {area.south:g} to {area.north:g}); the first lies at longitude "
            f"{lon[first]:.4f}, latitude {lat[first]:.4f}; check that crs matches the coordinates"
        )


def transform(
    xy: NDArray[np.float64], from_crs: pyproj.CRS, to_crs: pyproj.CRS
) -> NDArray[np.float64]:
    """Transform an (n, 2) array of x/y (longitude/latitude order for geographic CRS)."""
    if from_crs == to_crs or len(xy) == 0:
        return np.asarray(xy, dtype=np.float64)
    transformer = pyproj.Transformer.from_crs(from_crs, to_crs, always_xy=True)
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y]).astype(np.float64)


def is_metric(crs: pyproj.CRS) -> bool:
    """True if ``crs`` is projected with both axes in metres."""
    return crs.is_projected and all(
        axis.unit_name in {"metre", "meter"} for axis in crs.axis_info[:2]
    )


def working_crs(crss: Sequence[pyproj.CRS], *, lonlat_centre: tuple[float, float]) -> pyproj.CRS:
    """The metric CRS a run computes in.

    Parameters
    ----------
    crss
        The CRS of every input table.
    lonlat_centre
        Longitude and latitude of the demand centre, used when a local CRS is needed.

    Returns
    -------
    pyproj.CRS
        The shared CRS if all tables use the same projected metric CRS, otherwise a transverse
        Mercator centred on ``lonlat_centre``.
    """
    first = crss[0]
    if is_metric(first) and all(c == first for c in crss):
        return first
    lon, lat = lonlat_centre
    return pyproj.CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat:.6f} +lon_0={lon:.6f} +k=1 +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )


def check_tables_overlap(extents: dict[str, NDArray[np.float64]], *, problems: Problems) -> None:
    """Record tables that lie more than 100 km from the demand points (a wrong CRS, usually).

    ``extents`` maps a table name to its (n, 2) metric coordinates; the first entry is demand.
    """
    (demand_name, demand_xy), *others = extents.items()
    if len(demand_xy) == 0:
        return
    lo, hi = demand_xy.min(axis=0), demand_xy.max(axis=0)
    for name, xy in others:
        if len(xy) == 0:
            continue
        gap = np.maximum(0.0, np.maximum(lo - xy.max(axis=0), xy.min(axis=0) - hi))
        separation = float(np.hypot(*gap))
        if separation > MAX_TABLE_SEPARATION_M:
            problems.add(
                f"{name} lie {separation / 1000:,.0f} km from the {demand_name}; "
                f"check the crs of both tables"
            )


def describe_crs(crs: pyproj.CRS) -> str:
    """A readable name: the CRS's own, or the centre of a local transverse Mercator."""
    if crs.name != "unknown":
        return str(crs.name)
    params = (
        {p.name: p.value for p in crs.coordinate_operation.params}
        if crs.coordinate_operation
        else {}
    )
    lon = params.get("Longitude of natural origin", float("nan"))
    lat = params.get("Latitude of natural origin", float("nan"))
    return f"local transverse Mercator centred at {lon:.4f} E, {lat:.4f} N (metres)"
