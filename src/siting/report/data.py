"""A result folder as tables: what every report, comparison and sweep is built from.

Reports never look inside a :class:`~siting.pipeline.Run`: they read the files a run wrote
(``summary.json``, ``selected_sites.csv``, ``coverage.csv``, ``demand_points.csv``,
``existing_outlets.csv``, ``catchments.geojson``). The figures a report shows are therefore
the figures of ``summary.json``, and a folder written by another process or machine (a batch
runner, an earlier version) makes the same report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from siting._errors import DataValidationError
from siting.report.i18n import DEFAULT_CURRENCY

SUMMARY = "summary.json"
SITES = "selected_sites.csv"
COVERAGE = "coverage.csv"
DEMAND_POINTS = "demand_points.csv"
EXISTING_OUTLETS = "existing_outlets.csv"
CATCHMENTS = "catchments.geojson"


@dataclass(frozen=True)
class ServiceInfo:
    """One service of a result, as summary.json and the parameters describe it."""

    key: str
    name: str
    segment: str
    walk_minutes: float
    covered_before: float
    covered_after: float
    total: float
    coverage_pct_before: float
    coverage_pct: float
    gained: float
    new_outlets: int
    existing_outlets: int
    fit_out_cost: float | None
    priority: float | None


@dataclass(frozen=True)
class ResultData:
    """The files of one result folder, loaded.

    Attributes
    ----------
    summary
        ``summary.json`` as a dict.
    sites
        ``selected_sites.csv``: one row per site used (``site_id`` as text).
    coverage
        ``coverage.csv``: one row per demand point and service.
    demand
        ``demand_points.csv`` (empty for folders written before it existed).
    existing
        ``existing_outlets.csv`` (empty if absent).
    catchments
        ``catchments.geojson`` as a dict (an empty collection if absent).
    folder
        Where the files were read from.
    """

    summary: dict[str, Any]
    sites: pd.DataFrame
    coverage: pd.DataFrame
    demand: pd.DataFrame
    existing: pd.DataFrame
    catchments: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.summary.get("scenario", "result"))

    @property
    def parameters(self) -> dict[str, Any]:
        """The run's settings (``summary.json`` ``parameters``; empty for older folders)."""
        params = self.summary.get("parameters")
        return params if isinstance(params, dict) else {}

    @property
    def report_settings(self) -> dict[str, Any]:
        """The scenario's ``[report]`` table as written (empty for library runs)."""
        settings = self.parameters.get("report")
        return settings if isinstance(settings, dict) else {}

    @property
    def currency(self) -> str:
        """The currency of the result's money (``[report] currency``; CNY when not recorded)."""
        return str(self.report_settings.get("currency") or DEFAULT_CURRENCY)

    @property
    def services(self) -> list[ServiceInfo]:
        """Every service, in scenario order."""
        specs = {s["key"]: s for s in self.parameters.get("services", []) if isinstance(s, dict)}
        infos = []
        for key, s in self.summary.get("services", {}).items():
            spec = specs.get(key, {})
            infos.append(
                ServiceInfo(
                    key=key,
                    name=str(spec.get("name") or s.get("name") or key),
                    segment=str(s.get("segment", "population")),
                    walk_minutes=float(s["walk_minutes"]),
                    covered_before=float(s["covered_population_before"]),
                    covered_after=float(s["covered_population"]),
                    total=float(s["total_population"]),
                    coverage_pct_before=float(s["coverage_pct_before"]),
                    coverage_pct=float(s["coverage_pct"]),
                    gained=float(s["gained_population"]),
                    new_outlets=int(s["new_outlets"]),
                    existing_outlets=int(s.get("existing_outlets", 0)),
                    fit_out_cost=_float_or_none(spec.get("fit_out_cost")),
                    priority=_float_or_none(spec.get("priority")),
                )
            )
        return infos

    @property
    def site_ids(self) -> list[str]:
        """Ids of the sites used, as text."""
        return [str(s["site_id"]) for s in self.summary.get("selected", [])]

    @property
    def plan(self) -> dict[str, tuple[str, ...]]:
        """``{site_id: services opened there}``."""
        return {str(s["site_id"]): tuple(s["services"]) for s in self.summary.get("selected", [])}


def load_result(folder: str | Path) -> ResultData:
    """Read a result folder written by ``siting run``.

    Raises
    ------
    DataValidationError
        If the folder has no ``summary.json`` or a file cannot be read.
    """
    folder = Path(folder)
    path = folder / SUMMARY
    if not path.is_file():
        msg = (
            f"{folder}: not a siting result folder (no {SUMMARY}); give a folder `siting run` wrote"
        )
        raise DataValidationError([msg])
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        msg = f"{path}: cannot be read ({error}); rerun `siting run` to rewrite the folder"
        raise DataValidationError([msg]) from None
    sites = _csv(folder / SITES, text=["site_id", "services"])
    coverage = _csv(folder / COVERAGE, text=["demand_id", "service", "served_by", "served_by_kind"])
    demand = _csv(folder / DEMAND_POINTS, text=["demand_id"])
    existing = _csv(folder / EXISTING_OUTLETS, text=["outlet_id", "service"])
    catchments: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if (folder / CATCHMENTS).is_file():
        catchments = json.loads((folder / CATCHMENTS).read_text(encoding="utf-8"))
    for column in ("covered_before", "covered_after"):
        if column in coverage:
            coverage[column] = coverage[column].astype(str).str.lower().eq("true")
    return ResultData(
        summary=summary,
        sites=sites,
        coverage=coverage,
        demand=demand,
        existing=existing,
        catchments=catchments,
        folder=folder,
    )


def _csv(path: Path, *, text: list[str]) -> pd.DataFrame:
    """A CSV of a result folder with id-like columns kept as text; empty if absent."""
    if not path.is_file():
        return pd.DataFrame()
    try:
        frame = pd.read_csv(path, dtype={c: str for c in text}, encoding="utf-8")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError) as error:
        msg = f"{path}: cannot be read ({error}); rerun `siting run` to rewrite the folder"
        raise DataValidationError([msg]) from None
    for column in text:
        if column in frame:
            frame[column] = frame[column].fillna("")
    return frame


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
