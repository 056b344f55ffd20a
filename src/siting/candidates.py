"""Candidate sites: idle properties that may host new outlets, with costs and capacities.

``candidates_from_file`` reads the ``[candidates]`` table of a scenario and
``candidates_from_geodataframe`` converts a GeoDataFrame; both return :class:`CandidateSites`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from siting._tables import PointTable, read_ids, read_point_table, table_from_frame
from siting._validate import Problems, describe_rows, numeric_column
from siting.osm import bundled_path, levels_from_text, matches, read_features, tag_column
from siting.projection import WGS84, transform, working_crs
from siting.scenario import CandidatesSpec, MobileSpec, display_path


@dataclass(frozen=True)
class CandidateSites:
    """Candidate sites in one CRS.

    Attributes
    ----------
    ids
        Unique ids (strings).
    xy
        (m, 2) coordinates in ``crs``.
    crs
        Coordinate reference system of ``xy``.
    fixed_cost
        One-off cost of using each site, paid once however many services it hosts.
    capacity
        Maximum number of services per site (``inf`` = no limit).
    floor_area_m2
        Usable floor area per site (``inf`` = not checked).
    allowed_services
        Per site, the service keys it may host, or None for any service.
    decision
        (m,) 1 for a site the plan must use, -1 for one it must not, 0 otherwise.
    community
        (m,) community name of each site ("" for none).
    kind
        (m,) ``"property"`` or ``"mobile"``.
    attributes
        The input's other columns.
    """

    ids: NDArray[np.object_]
    xy: NDArray[np.float64]
    crs: pyproj.CRS
    fixed_cost: NDArray[np.float64]
    capacity: NDArray[np.float64]
    floor_area_m2: NDArray[np.float64]
    allowed_services: tuple[frozenset[str] | None, ...]
    attributes: pd.DataFrame
    decision: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    community: NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))
    kind: NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))

    def __post_init__(self) -> None:
        m = len(self.ids)
        if len(self.decision) != m:
            object.__setattr__(self, "decision", np.zeros(m, dtype=np.int8))
        if len(self.community) != m:
            object.__setattr__(self, "community", np.full(m, "", dtype=object))
        if len(self.kind) != m:
            object.__setattr__(self, "kind", np.full(m, "property", dtype=object))

    def __len__(self) -> int:
        return len(self.ids)

    def to_crs(self, crs: pyproj.CRS) -> CandidateSites:
        """The same sites with coordinates transformed to ``crs``."""
        return replace(self, xy=transform(self.xy, self.crs, crs), crs=crs)

    def concat(self, other: CandidateSites) -> CandidateSites:
        """These sites followed by ``other`` (moved to this CRS)."""
        other = other.to_crs(self.crs)
        return CandidateSites(
            ids=np.concatenate([self.ids, other.ids]),
            xy=np.concatenate([self.xy, other.xy]),
            crs=self.crs,
            fixed_cost=np.concatenate([self.fixed_cost, other.fixed_cost]),
            capacity=np.concatenate([self.capacity, other.capacity]),
            floor_area_m2=np.concatenate([self.floor_area_m2, other.floor_area_m2]),
            allowed_services=self.allowed_services + other.allowed_services,
            attributes=pd.concat([self.attributes, other.attributes], ignore_index=True),
            decision=np.concatenate([self.decision, other.decision]),
            community=np.concatenate([self.community, other.community]),
            kind=np.concatenate([self.kind, other.kind]),
        )

    def allowed_matrix(self, service_keys: Collection[str]) -> NDArray[np.bool_]:
        """(m, K) booleans: may site j host service k (in ``service_keys`` order)."""
        keys = list(service_keys)
        return np.array(
            [[a is None or k in a for k in keys] for a in self.allowed_services], dtype=bool
        ).reshape(len(self), len(keys))


def candidates_from_file(
    spec: CandidatesSpec, *, service_keys: Collection[str] | None = None
) -> CandidateSites:
    """Read the ``[candidates]`` table of a scenario.

    Parameters
    ----------
    spec
        The scenario's ``[candidates]`` section.
    service_keys
        The scenario's services, to check the ``allowed_services`` column against.

    Raises
    ------
    DataValidationError
        Listing every problem found.
    """
    if spec.kind == "osm":
        return candidates_from_osm(spec, service_keys=service_keys)
    problems = Problems(display_path(spec.path))
    table = read_point_table(spec, section="[candidates]", problems=problems)
    sites = None if table is None else _sites_from_table(table, spec, service_keys, problems)
    return problems.result(sites)


def mobile_from_file(spec: MobileSpec, *, mobile_services: Collection[str]) -> CandidateSites:
    """Read the ``[mobile]`` locations: one mobile outlet each, no property, no fixed cost.

    Parameters
    ----------
    spec
        The scenario's ``[mobile]`` section.
    mobile_services
        Keys of the services that have a mobile form (a ``mobile_cost``).

    Raises
    ------
    DataValidationError
        Listing every problem found.
    """
    problems = Problems(display_path(spec.path))
    table = read_point_table(spec, section="[mobile]", problems=problems)
    allowed = frozenset(spec.services or mobile_services) & frozenset(mobile_services)
    if table is not None and not allowed:
        problems.add(
            "[mobile] locations are given but no service has a mobile_cost; set mobile_cost in "
            "the [[services]] tables of the services that can be mobile"
        )
    sites = None
    if table is not None:
        m = len(table.ids)
        sites = CandidateSites(
            ids=table.ids,
            xy=table.xy,
            crs=table.crs,
            fixed_cost=np.zeros(m),
            capacity=np.ones(m),
            floor_area_m2=np.full(m, np.inf),
            allowed_services=(allowed,) * m,
            attributes=table.frame.drop(
                columns=[c for c in (spec.id, spec.x, spec.y) if c in table.frame]
            ),
            kind=np.full(m, "mobile", dtype=object),
        )
    return problems.result(sites)


def candidates_from_geodataframe(
    gdf: gpd.GeoDataFrame,
    *,
    id_column: str = "id",
    fixed_cost: str | None = None,
    capacity: str | None = None,
    floor_area: str | None = None,
    allowed_services: str | None = None,
) -> CandidateSites:
    """Convert a GeoDataFrame of candidate sites; column arguments as in ``[candidates]``."""
    spec = CandidatesSpec(
        path=Path("<GeoDataFrame>"),
        id=id_column,
        fixed_cost=fixed_cost,
        capacity=capacity,
        floor_area=floor_area,
        allowed_services=allowed_services,
    )
    problems = Problems("candidates GeoDataFrame")
    ids = problems.result(read_ids(gdf, id_column, section="id_column", problems=problems))
    table = table_from_frame(gdf, ids=ids, spec=spec, section="candidates", problems=problems)
    sites = None if table is None else _sites_from_table(table, spec, None, problems)
    return problems.result(sites)


def _sites_from_table(
    table: PointTable,
    spec: CandidatesSpec,
    service_keys: Collection[str] | None,
    problems: Problems,
) -> CandidateSites | None:
    optional = {
        "[candidates] fixed_cost": spec.fixed_cost,
        "[candidates] capacity": spec.capacity,
        "[candidates] floor_area": spec.floor_area,
        "[candidates] allowed_services": spec.allowed_services,
        "[candidates] decision": spec.decision,
        "[candidates] community": spec.community,
    }
    named = {key: col for key, col in optional.items() if isinstance(col, str)}
    if not problems.require_columns(table.frame, named):
        return None
    m = len(table.ids)

    def column(name: str | float | None, *, blank: float, rule: str) -> NDArray[np.float64]:
        if name is None:
            return np.full(m, blank)
        if not isinstance(name, str):  # one number for every site
            return np.full(m, float(name))
        values = numeric_column(table.frame, name, problems, ids=table.ids)
        values = np.where(np.isnan(values), blank, values)
        bad = np.isnan(values) | (values < 0) | (np.isinf(values) & (values != blank))
        problems.check_values(values, column=name, ids=table.ids, bad=bad, rule=rule)
        return values

    fixed_cost = column(
        spec.fixed_cost, blank=np.nan, rule="costs must be finite numbers >= 0; write 0 for none"
    )
    capacity = column(
        spec.capacity, blank=np.inf, rule="capacity is a number of services >= 0; blank = no limit"
    )
    floor_area = column(
        spec.floor_area, blank=np.inf, rule="floor area (m²) must be >= 0; blank = not checked"
    )
    allowed = _allowed(table, spec.allowed_services, service_keys, problems)
    decision = _decision(table, spec.decision, problems)
    community = (
        table.frame[spec.community].fillna("").astype(str).str.strip().to_numpy(object)
        if spec.community
        else np.full(m, "", dtype=object)
    )
    used = {spec.id, spec.x, spec.y, *named.values()}
    return CandidateSites(
        ids=table.ids,
        xy=table.xy,
        crs=table.crs,
        fixed_cost=np.nan_to_num(fixed_cost, nan=0.0),
        capacity=np.floor(capacity),
        floor_area_m2=floor_area,
        allowed_services=allowed,
        attributes=table.frame.drop(columns=[c for c in used if c in table.frame]),
        decision=decision,
        community=community,
    )


DECISIONS = {"must": 1, "open": 1, "exclude": -1, "never": -1, "": 0}


def _decision(table: PointTable, column: str | None, problems: Problems) -> NDArray[np.int8]:
    """Per site 1 (must use), -1 (exclude) or 0, from a column of words."""
    if column is None:
        return np.zeros(len(table.ids), dtype=np.int8)
    words = table.frame[column].fillna("").astype(str).str.strip().str.lower().to_numpy(object)
    bad = ~np.isin(words, list(DECISIONS))
    if bad.any():
        shown = describe_rows(np.flatnonzero(bad), table.ids, words)
        problems.add(
            f"column '{column}' has unknown decision(s): {shown}; write 'must', 'exclude' or "
            "leave it empty"
        )
    return np.array([DECISIONS.get(w, 0) for w in words], dtype=np.int8)


_SEPARATORS = re.compile(r"[;,，；|\s]+")


def _allowed(
    table: PointTable,
    column: str | list[str] | None,
    service_keys: Collection[str] | None,
    problems: Problems,
) -> tuple[frozenset[str] | None, ...]:
    if column is None:
        return (None,) * len(table.ids)
    if isinstance(column, list):  # the same services for every site
        unknown_keys = sorted(set(column) - set(service_keys or column))
        if unknown_keys:
            problems.add(
                f"[candidates] allowed_services names {', '.join(unknown_keys)}, not in the "
                f"scenario; use keys of [[services]]: {', '.join(sorted(service_keys or ()))}"
            )
        return (frozenset(column) or None,) * len(table.ids)
    result: list[frozenset[str] | None] = []
    unknown: dict[str, int] = {}
    for row, cell in enumerate(table.frame[column]):
        keys = frozenset(k for k in _SEPARATORS.split(str(cell)) if k) if pd.notna(cell) else None
        result.append(keys or None)
        for key in keys or ():
            if service_keys is not None and key not in service_keys:
                unknown.setdefault(key, row)
    for key, row in list(unknown.items())[:5]:
        problems.add(
            f"column '{column}' row {row + 1} (id '{table.ids[row]}') names service '{key}', "
            f"which is not in the scenario; use one of {', '.join(sorted(service_keys or ()))}"
        )
    return tuple(result)


DEFAULT_OSM_CANDIDATE_TAGS: dict[str, bool | list[str]] = {
    "building": ["commercial", "retail", "kiosk", "warehouse", "industrial", "office", "vacant"],
    "disused:shop": True,
    "disused:amenity": True,
    "landuse": ["brownfield"],
}
"""Features taken as candidate sites from OSM when ``osm_tags`` is not set."""


def candidates_from_osm(
    spec: CandidatesSpec, *, service_keys: Collection[str] | None = None
) -> CandidateSites:
    """Candidate sites from OSM features selected by tags (``osm_tags``, see the default).

    Each building or land parcel becomes a site at a point inside it; its ``floor_area_m2`` is
    footprint area x ``building:levels`` (1 where untagged; the land area for land use), so
    services with a ``floor_area_m2`` only go where they fit. ``fixed_cost`` and ``capacity``
    may be numbers for every site; ``allowed_services`` a list of keys.

    Raises
    ------
    DataValidationError
        If the file is missing or no feature matches the tags.
    """
    problems = Problems(display_path(spec.path))
    if not bundled_path(spec.path).is_file():
        problems.add(f"file not found: {display_path(spec.path)}; fix [candidates] path")
        problems.raise_if_any()
    selection = spec.osm_tags if spec.osm_tags is not None else DEFAULT_OSM_CANDIDATE_TAGS
    features = read_features(spec.path, list(selection))
    geoms = features.geometry.to_numpy()
    chosen = matches(features, selection)
    if not chosen.any():
        shown = ", ".join(f"{k}={v}" for k, v in selection.items())
        problems.add(f"[candidates] no OSM feature matches osm_tags ({shown}); widen osm_tags")
        problems.raise_if_any()
    features = features.loc[chosen].reset_index(drop=True)
    geoms = shapely.make_valid(geoms[chosen])
    points = shapely.point_on_surface(geoms)
    lonlat = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    centre = lonlat.mean(axis=0)
    metric = working_crs([WGS84], lonlat_centre=(float(centre[0]), float(centre[1])))
    area = shapely.area(shapely.transform(geoms, lambda xy: transform(xy, WGS84, metric)))
    frame = pd.DataFrame(
        {
            "id": features["osm_id"].to_numpy(),
            **{key: tag_column(features, key) for key in selection},
            "name": tag_column(features, "name"),
            "building:levels": tag_column(features, "building:levels"),
        }
    )
    levels = np.nan_to_num(levels_from_text(frame["building:levels"]), nan=1.0)
    is_building = frame["building"].notna().to_numpy() if "building" in frame else False
    frame["footprint_m2"] = area
    frame["floor_area_m2"] = np.where(is_building, area * levels, area)
    table = PointTable(frame=frame, ids=frame["id"].to_numpy(object), xy=lonlat, crs=WGS84)
    as_table = spec.model_copy(update={"floor_area": "floor_area_m2"})
    sites = _sites_from_table(table, as_table, service_keys, problems)
    return problems.result(sites)
