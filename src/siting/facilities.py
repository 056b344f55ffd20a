"""Existing outlets: what already serves residents, by service ("fill what is missing").

``facilities_from_file`` reads the ``[existing]`` tables of a scenario and
``facilities_from_geodataframe`` converts a GeoDataFrame; both return
:class:`ExistingFacilities`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from siting._errors import DataValidationError
from siting._tables import PointTable, read_ids, read_point_table, table_from_frame
from siting._validate import Problems, describe_rows
from siting.osm import bundled_path, read_features
from siting.projection import WGS84, transform
from siting.scenario import ExistingSpec, display_path


@dataclass(frozen=True)
class ExistingFacilities:
    """Outlets already open, in one CRS.

    Attributes
    ----------
    ids
        Outlet ids (strings).
    xy
        (e, 2) coordinates in ``crs``.
    crs
        Coordinate reference system of ``xy``.
    service
        The service key each outlet provides.
    """

    ids: NDArray[np.object_]
    xy: NDArray[np.float64]
    crs: pyproj.CRS
    service: NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.ids)

    def to_crs(self, crs: pyproj.CRS) -> ExistingFacilities:
        """The same outlets with coordinates transformed to ``crs``."""
        return replace(self, xy=transform(self.xy, self.crs, crs), crs=crs)

    def of_service(self, key: str) -> NDArray[np.intp]:
        """Indices of the outlets providing service ``key``."""
        return np.flatnonzero(self.service == key)

    @classmethod
    def empty(cls, crs: pyproj.CRS) -> ExistingFacilities:
        """No existing outlets."""
        return cls(
            ids=np.array([], dtype=object),
            xy=np.empty((0, 2)),
            crs=crs,
            service=np.array([], dtype=object),
        )


def facilities_from_file(
    specs: Sequence[ExistingSpec],
    *,
    service_keys: Collection[str],
    crs: pyproj.CRS | None = None,
) -> ExistingFacilities:
    """Read and concatenate the ``[existing]`` tables, transformed to ``crs``.

    Without ``crs`` the first table's CRS is used (WGS 84 if there is no table).

    Rows whose service is not in ``service_keys`` are an error, unless the table sets
    ``ignore_unknown_services = true``.

    Raises
    ------
    DataValidationError
        Listing every problem found in every table.
    """
    parts: list[ExistingFacilities] = []
    messages: list[str] = []
    for spec in specs:
        problems = Problems(display_path(spec.path))
        if spec.kind == "osm":
            try:
                osm = facilities_from_osm(spec, service_keys=service_keys)
            except DataValidationError as error:
                messages.extend(error.problems)
                continue
            crs = crs or osm.crs
            parts.append(osm.to_crs(crs))
            continue
        table = read_point_table(spec, section="[existing]", problems=problems)
        if table is not None:
            part = _facilities_from_table(table, spec, service_keys, problems)
            if part is not None:
                crs = crs or part.crs
                parts.append(part.to_crs(crs))
        messages.extend(problems.messages)
    if messages:
        raise DataValidationError(messages)
    if not parts or crs is None:
        return ExistingFacilities.empty(crs or WGS84)
    return ExistingFacilities(
        ids=np.concatenate([p.ids for p in parts]),
        xy=np.concatenate([p.xy for p in parts]),
        crs=crs,
        service=np.concatenate([p.service for p in parts]),
    )


def facilities_from_geodataframe(
    gdf: gpd.GeoDataFrame, *, id_column: str = "id", service: str = "service"
) -> ExistingFacilities:
    """Convert a GeoDataFrame of existing outlets with a service-key column."""
    spec = ExistingSpec(path=Path("<GeoDataFrame>"), id=id_column, service=service)
    problems = Problems("existing GeoDataFrame")
    ids = problems.result(read_ids(gdf, id_column, section="id_column", problems=problems))
    table = table_from_frame(gdf, ids=ids, spec=spec, section="existing", problems=problems)
    part = None if table is None else _facilities_from_table(table, spec, None, problems)
    return problems.result(part)


def _facilities_from_table(
    table: PointTable,
    spec: ExistingSpec,
    service_keys: Collection[str] | None,
    problems: Problems,
) -> ExistingFacilities | None:
    if not problems.require_columns(table.frame, {"[existing] service": spec.service}):
        return None
    service = table.frame[spec.service].fillna("").astype(str).str.strip()
    if spec.service_map:  # source categories (e.g. Baidu's "购物;超市") -> service keys
        service = service.map(lambda value: spec.service_map.get(value, value))
    service = service.to_numpy(object)
    keep = np.ones(len(service), dtype=bool)
    if service_keys is not None:
        unknown = ~np.isin(service, list(service_keys))
        if spec.ignore_unknown_services:
            keep = ~unknown
        elif unknown.any():
            rows = np.flatnonzero(unknown)
            shown = describe_rows(rows, table.ids, service)
            problems.add(
                f"column '{spec.service}' names {rows.size} outlet(s) with a service that is not "
                f"in the scenario: {shown}; use one of {', '.join(sorted(service_keys))}, "
                "or set ignore_unknown_services = true in [existing]"
            )
    return ExistingFacilities(
        ids=table.ids[keep], xy=table.xy[keep], crs=table.crs, service=service[keep]
    )


OSM_SERVICES: dict[str, str] = {
    "shop=convenience": "convenience_store",
    "shop=supermarket": "supermarket",
    "amenity=marketplace": "vegetable_market",
    "shop=greengrocer": "fresh_grocery",
    "shop=butcher": "fresh_grocery",
    "shop=seafood": "fresh_grocery",
    "shop=bakery": "breakfast_shop",
    "cuisine=breakfast": "breakfast_shop",
    "amenity=pharmacy": "pharmacy",
    "healthcare=pharmacy": "pharmacy",
    "amenity=post_office": "express_point",
    "amenity=parcel_locker": "express_point",
    "amenity=vending_machine;vending=parcel_pickup": "express_point",
    "shop=outpost": "express_point",
    "amenity=social_facility;social_facility=day_care;social_facility:for=senior": "elder_daycare",
    "amenity=social_facility;social_facility:for=senior": "elder_care",
    "amenity=social_facility;social_facility:for=elderly": "elder_care",
    "amenity=nursing_home": "elder_care",
    "amenity=childcare": "childcare",
    "amenity=fast_food": "restaurant_fastfood",
    "amenity=food_court": "restaurant_fastfood",
    "shop=laundry": "laundry",
    "shop=dry_cleaning": "laundry",
    "shop=hairdresser": "hair_beauty",
    "shop=beauty": "hair_beauty",
    "shop=copyshop": "photo_print",
    "shop=photo": "photo_print",
    "craft=shoemaker": "repair_point",
    "craft=key_cutter": "repair_point",
    "shop=repair": "repair_point",
    "shop=mobile_phone_repair": "repair_point",
    "amenity=recycling": "recycling_point",
    "amenity=clinic": "community_clinic",
    "amenity=doctors": "community_clinic",
    "amenity=cafe": "cafe_tea",
    "shop=tea": "cafe_tea",
    "leisure=fitness_centre": "fitness",
    "shop=books": "bookstore",
}
"""Default OSM tags -> service keys of ``shared/domain/service-catalog.json``, first match wins.

A key is one or more ``tag=value`` conditions joined by ``;`` (all must hold), so the more
specific entries come first. A scenario replaces it with ``osm_services``.
"""


def _conditions(rule: str) -> list[tuple[str, str]]:
    pairs = [part.split("=", 1) for part in rule.split(";") if part.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() for p in pairs):
        msg = f"osm_services key '{rule}' must be 'key=value' conditions joined by ';'"
        raise ValueError(msg)
    return [(k.strip(), v.strip()) for k, v in pairs]


def services_of_features(
    features: gpd.GeoDataFrame, mapping: dict[str, str]
) -> NDArray[np.object_]:
    """The service of each OSM feature by the first matching rule of ``mapping``, else ""."""
    rules = [(_conditions(rule), service) for rule, service in mapping.items()]
    result = np.full(len(features), "", dtype=object)
    for conditions, service in reversed(rules):  # earlier rules overwrite later ones
        hit = np.ones(len(features), dtype=bool)
        for key, value in conditions:
            hit &= np.array([t.get(key) == value for t in features["tags"]], dtype=bool)
        result[hit] = service
    return result


def facilities_from_osm(
    spec: ExistingSpec, *, service_keys: Collection[str] | None = None
) -> ExistingFacilities:
    """Existing outlets from the points of interest of an OSM file, by a tag -> service mapping.

    Nodes and areas (shops mapped as buildings) both count; an area is represented by a point
    inside it. Only features whose service is among ``service_keys`` are kept (a POI file lists
    every kind of shop); ``osm_services`` replaces :data:`OSM_SERVICES`.

    Raises
    ------
    DataValidationError
        If the file is missing or a mapping key is malformed.
    """
    problems = Problems(display_path(spec.path))
    mapping = spec.osm_services if spec.osm_services is not None else OSM_SERVICES
    if service_keys is not None:
        mapping = {rule: key for rule, key in mapping.items() if key in service_keys}
    try:
        keys = sorted({k for rule in mapping for k, _ in _conditions(rule)})
    except ValueError as error:
        problems.add(f"[existing] {error}")
        problems.raise_if_any()
        raise
    if not bundled_path(spec.path).is_file():
        problems.add(f"file not found: {display_path(spec.path)}; fix [existing] path")
    problems.raise_if_any()
    if not keys:
        return ExistingFacilities.empty(WGS84)
    features = read_features(spec.path, keys)
    service = services_of_features(features, mapping)
    keep = service != ""
    points = shapely.point_on_surface(shapely.make_valid(features.geometry.to_numpy()[keep]))
    return ExistingFacilities(
        ids=features["osm_id"].to_numpy(object)[keep],
        xy=np.column_stack([shapely.get_x(points), shapely.get_y(points)]),
        crs=WGS84,
        service=service[keep],
    )
