"""Chinese web-map coordinates: GCJ-02 (AMap, Tencent) and BD-09 (Baidu) to and from WGS-84.

Chinese web maps publish positions in GCJ-02 ("Mars coordinates", a deliberate nonlinear offset
of WGS-84) or in Baidu's BD-09 (a further rotation of GCJ-02). The offset is 300-700 m for GCJ-02
and 0.6-1.2 km for BD-09: most of a 5-minute walk, so such data must be converted before it
meets an OpenStreetMap network or a WGS-84 table. A scenario declares it with
``coordinates = "gcj02"`` or ``"bd09"`` on a table; the readers convert right after reading.

The forward transforms (WGS-84 -> GCJ-02 -> BD-09) are the published closed-form formulas.
Their inverses are computed by fixed-point iteration to below 1e-10 degrees (0.01 mm), not by
the common approximations (one-step GCJ-02 -> WGS-84 is off by up to ~2 m, the closed-form
BD-09 -> GCJ-02 by up to ~0.2 m).
The offsets are defined only inside China; converting points outside China is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
ChineseSystem = Literal["gcj02", "bd09"]

_A = 6378245.0  # semi-major axis of Krasovsky 1940, used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_ITERATIONS = 30
_INVERSE_TOLERANCE_DEG = 1e-10

# The rough rectangle used by every published implementation (inside: the offset applies).
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)


def in_china(lon: Array, lat: Array) -> NDArray[np.bool_]:
    """True where a point lies in the rectangle where GCJ-02 offsets are applied."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    return (
        (lon >= CHINA_LON[0])
        & (lon <= CHINA_LON[1])
        & (lat >= CHINA_LAT[0])
        & (lat <= CHINA_LAT[1])
    )


def _offset(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 minus WGS-84 at a WGS-84 position, in degrees (longitude, latitude)."""
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: Array, lat: Array) -> tuple[Array, Array]:
    """WGS-84 longitude/latitude to GCJ-02 (closed form)."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 longitude/latitude to WGS-84, inverted by iteration to below 1e-10 degrees."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    return _refine(lon.copy(), lat.copy(), lon, lat, wgs84_to_gcj02)


def bd09_to_gcj02(lon: Array, lat: Array) -> tuple[Array, Array]:
    """Baidu BD-09 longitude/latitude to GCJ-02.

    Starts from the published closed-form inverse (within ~0.2 m) and refines it by iteration
    until :func:`gcj02_to_bd09` reproduces the input to below 1e-10 degrees.
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _refine(z * np.cos(theta), z * np.sin(theta), lon, lat, gcj02_to_bd09)


def _refine(
    x: Array,
    y: Array,
    lon: Array,
    lat: Array,
    forward: Callable[[Array, Array], tuple[Array, Array]],
) -> tuple[Array, Array]:
    """Fixed-point iteration x <- x - (forward(x) - target) for a near-identity ``forward``."""
    for _ in range(_INVERSE_ITERATIONS):
        f_lon, f_lat = forward(x, y)
        e_lon, e_lat = f_lon - lon, f_lat - lat
        x, y = x - e_lon, y - e_lat
        if max(np.nanmax(np.abs(e_lon), initial=0.0), np.nanmax(np.abs(e_lat), initial=0.0)) < (
            _INVERSE_TOLERANCE_DEG
        ):
            break
    return x, y


def gcj02_to_bd09(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 longitude/latitude to Baidu BD-09 (closed form)."""
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_wgs84(lon: Array, lat: Array) -> tuple[Array, Array]:
    """Baidu BD-09 longitude/latitude to WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: Array, lat: Array) -> tuple[Array, Array]:
    """WGS-84 longitude/latitude to Baidu BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(xy: Array, system: ChineseSystem) -> Array:
    """Convert an (n, 2) array of longitude/latitude in ``system`` to WGS-84.

    Parameters
    ----------
    xy
        Longitude and latitude columns, in GCJ-02 or BD-09 degrees.
    system
        ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    numpy.ndarray
        (n, 2) WGS-84 longitude and latitude; rows with missing values stay missing.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    convert = bd09_to_wgs84 if system == "bd09" else gcj02_to_wgs84
    lon, lat = convert(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])
