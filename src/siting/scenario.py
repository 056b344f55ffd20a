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
from siting.services import POPULATION, Service

Key = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=64)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInfo(_Section):
    """``[scenario]``: a name for the run and an optional description."""

    name: str = Field(min_length=1)
    description: str = ""


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
    """``[[services]]``: one service to place (see :class:`siting.services.Service`)."""

    key: Key
    walk_minutes: Positive
    name: str | None = None
    segment: Key = POPULATION
    priority: NonNegative = 1.0
    fit_out_cost: NonNegative = 0.0
    max_new: Annotated[int, Field(ge=0)] | None = None
    min_new: Annotated[int, Field(ge=0)] = 0
    speed_m_per_s: Positive | None = None
    floor_area_m2: NonNegative = 0.0

    @model_validator(mode="after")
    def _bounds(self) -> ServiceSpec:
        if self.max_new is not None and self.max_new < self.min_new:
            msg = f"max_new = {self.max_new} is below min_new = {self.min_new}"
            raise ValueError(msg)
        return self

    def to_service(self) -> Service:
        """The model-level :class:`Service` this table describes."""
        return Service(**self.model_dump())


class BudgetSpec(_Section):
    """``[budget]``: total money available for fixed and fit-out costs; omit for no limit."""

    total: NonNegative | None = None


class SolveSpec(_Section):
    """``[solve]``: backend, time limit (s), relative MIP gap, threads and solver log."""

    solver: Literal["highs"] = "highs"
    time_limit_s: Positive = settings.TIME_LIMIT_S
    mip_gap: Annotated[float, Field(ge=0, lt=1)] = settings.MIP_GAP
    threads: Annotated[int, Field(ge=1)] | None = None
    verbose: bool = False


class Scenario(_Section):
    """A validated scenario: every table and setting a run needs, immutable."""

    scenario: ScenarioInfo
    demand: DemandSpec
    candidates: CandidatesSpec
    existing: list[ExistingSpec] = Field(default_factory=list)
    walk: WalkSpec = WalkSpec()
    services: list[ServiceSpec] = Field(min_length=1)
    budget: BudgetSpec = BudgetSpec()
    solve: SolveSpec = SolveSpec()
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
        segments = {POPULATION, *self.demand.segments}
        for number, service in enumerate(self.services, start=1):
            if service.segment not in segments:
                msg = (
                    f"[[services]] #{number} (key '{service.key}'): segment = "
                    f"'{service.segment}' is not a demand segment; use one of "
                    f"{', '.join(sorted(segments))} or add it to [demand] segments"
                )
                raise ValueError(msg)
        return self

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name

    @property
    def source(self) -> str:
        """Where the scenario came from (its file, for messages)."""
        return self._source

    def service_list(self) -> tuple[Service, ...]:
        """The services to place, in file order."""
        return tuple(s.to_service() for s in self.services)


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
        return f"{where}: {message}"
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
    "budget": BudgetSpec,
    "solve": SolveSpec,
}


def _allowed_keys(loc: list[Any]) -> list[str]:
    if not loc:
        return list(_SECTIONS)
    section = _SECTIONS.get(str(loc[0]))
    return list(section.model_fields) if section else []
