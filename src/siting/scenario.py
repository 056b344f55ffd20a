"""Scenario files: parse and validate once, at the boundary, into a frozen :class:`Scenario`.

A scenario is a TOML file that points at the data tables and lists the services to place, the
walk rule, the budget and the solver settings (README, "Scenario files"). Unknown keys are
rejected, relative paths are resolved against the scenario file's folder, and every problem is
reported as one line naming the file, the key, the bad value and the fix.
"""

from __future__ import annotations

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

    @field_validator("path")
    @classmethod
    def _resolve(cls, path: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir")
        return path if path.is_absolute() or base is None else Path(base) / path

    @model_validator(mode="after")
    def _xy_pair(self) -> TableSpec:
        if (self.x is None) != (self.y is None):
            msg = "set both x and y (coordinate columns) or neither (use the file's geometry)"
            raise ValueError(msg)
        return self


class DemandSpec(TableSpec):
    """``[demand]``: residents as points with a population column and optional segments."""

    population: str = "population"
    segments: dict[Key, str] = Field(default_factory=dict)

    @field_validator("segments")
    @classmethod
    def _not_population(cls, segments: dict[str, str]) -> dict[str, str]:
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

    fixed_cost: str | None = None
    capacity: str | None = None
    floor_area: str | None = None
    allowed_services: str | None = None
    decision: str | None = None
    community: str | None = None


class ExistingSpec(TableSpec):
    """``[existing]``: outlets already open; ``service`` names the column with service keys.

    ``ignore_unknown_services = true`` drops rows whose service is not in the scenario (for a
    table listing every kind of outlet) instead of reporting them as an error.
    """

    service: str = "service"
    ignore_unknown_services: bool = False


class WalkSpec(_Section):
    """``[walk]``: walking speed (m/s) and the straight-line-to-walk detour factor."""

    speed_m_per_s: Positive = settings.WALK_SPEED_M_PER_S
    detour_factor: Annotated[float, Field(ge=1.0, le=5.0)] = settings.DETOUR_FACTOR


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

    solver: Literal["highs", "cbc", "ortools", "ortools-sat", "heuristic"] = "highs"
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
    """

    language: Literal["zh", "en"] = "en"
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
        segments = {POPULATION, *self.demand.segments}
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
    return list(section.model_fields) if section else []
