"""Write a run's folder atomically: summary.json, selected sites (CSV, GeoPackage), coverage.csv.

Everything is written to a temporary folder beside the target and renamed into place, so a
failed or interrupted run never leaves half a result. An existing target is replaced only if it
is empty or holds an earlier result (a ``summary.json``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from siting._folders import atomic_folder, check_folder
from siting.coverage import keep_columns, row_min
from siting.pipeline import Progress, Run, Timings
from siting.projection import WGS84, transform

SUMMARY = "summary.json"
RESULT_FOLDER = "a siting result folder"


def write_outputs(
    run: Run,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
    report: bool = True,
    language: str | None = None,
) -> Path:
    """Write the result folder of ``run`` to ``out_dir`` and return its path.

    Files: ``summary.json``; ``selected_sites.csv``; ``selected_sites.gpkg`` (layers
    ``selected_sites``, one row per site, and ``new_outlets``, one row per site and service,
    in WGS 84); ``coverage.csv`` (one row per demand point and service);
    ``demand_points.csv``, ``existing_outlets.csv`` and ``catchments.geojson`` (the map
    layers); ``report.html``, ``report.md`` and ``charts/`` unless ``report`` is False
    (``language`` overrides the scenario's ``[report] language``).

    Raises
    ------
    OutputError
        If ``out_dir`` exists and is neither empty nor an earlier result folder.
    """
    with atomic_folder(out_dir, SUMMARY, kind=RESULT_FOLDER) as staging:
        write_folder(run, staging, progress=progress, report=report, language=language)
    return Path(out_dir)


def check_output_dir(out: Path) -> None:
    """Raise :class:`OutputError` unless ``out`` is absent, empty or an earlier result folder."""
    check_folder(out, SUMMARY, kind=RESULT_FOLDER)


def write_folder(
    run: Run,
    folder: Path,
    *,
    progress: Progress | None = None,
    report: bool = True,
    language: str | None = None,
) -> None:
    """Write every output file of ``run`` into an existing ``folder`` (not atomic).

    ``summary.json`` includes the time spent writing the other files. The reports are then
    built from the folder's files alone (:func:`siting.report.write_report`), so that they
    show exactly the figures of ``summary.json``; ``summary.json`` is finally rewritten with
    the time the reports took.
    """
    timings = Timings(progress)
    with timings.phase("write"):
        sites = selected_sites_frame(run)
        sites.drop(columns="geometry").to_csv(folder / "selected_sites.csv", index=False)
        gpkg = folder / "selected_sites.gpkg"
        sites.to_file(gpkg, layer="selected_sites", driver="GPKG")
        new_outlets_frame(run).to_file(gpkg, layer="new_outlets", driver="GPKG")
        coverage_frame(run).to_csv(folder / "coverage.csv", index=False)
        demand_points_frame(run).to_csv(folder / DEMAND_POINTS, index=False)
        existing_outlets_frame(run).to_csv(folder / EXISTING_OUTLETS, index=False)
        catchments = catchments_frame(run)
        (folder / CATCHMENTS).write_text(catchments.to_json(drop_id=True), encoding="utf-8")
    summary = run.summary()
    summary["parameters"] = run_parameters(run)
    summary["timings_s"]["write"] = round(timings.seconds["write"], 4)
    _write_summary(summary, folder)
    if report:
        from siting.report import write_report  # the report package reads result folders

        with timings.phase("report"):
            write_report(folder, language=language)
        summary["timings_s"]["report"] = round(timings.seconds["report"], 4)
        _write_summary(summary, folder)


DEMAND_POINTS = "demand_points.csv"
EXISTING_OUTLETS = "existing_outlets.csv"
CATCHMENTS = "catchments.geojson"


def _write_summary(summary: dict[str, Any], folder: Path) -> None:
    (folder / SUMMARY).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, default=_json_default) + "\n",
        encoding="utf-8",
    )


def run_parameters(run: Run) -> dict[str, Any]:
    """The settings a run was made with, for reports: walk rule, budget, services, solve, report.

    From the scenario when the run has one; a library run reports its services and budget.
    """
    scenario = run.scenario
    parameters: dict[str, Any] = {
        "budget": run.result.budget,
        "services": [dataclasses.asdict(s) for s in run.services],
    }
    if scenario is not None:
        parameters["description"] = scenario.scenario.description
        parameters["walk"] = scenario.walk.model_dump(mode="json")
        parameters["model"] = scenario.model.model_dump(mode="json")
        parameters["solve"] = scenario.solve.model_dump(mode="json")
        parameters["report"] = scenario.report.model_dump(mode="json")
    return parameters


def demand_points_frame(run: Run) -> pd.DataFrame:
    """One row per demand point: ``demand_id``, ``lon``, ``lat``, every weight, other columns."""
    demand = run.inputs.demand
    lonlat = _lonlat(demand.xy, demand.crs)
    frame = pd.DataFrame({"demand_id": demand.ids, "lon": lonlat[:, 0], "lat": lonlat[:, 1]})
    for name, values in demand.weights.items():
        frame[name] = values
    extra = demand.attributes.reset_index(drop=True)
    extra = extra[[c for c in extra.columns if c not in frame.columns and c != "geometry"]]
    return pd.concat([frame, extra], axis=1)


def existing_outlets_frame(run: Run) -> pd.DataFrame:
    """One row per existing outlet: ``outlet_id``, ``service``, ``lon``, ``lat``."""
    existing = run.inputs.existing
    lonlat = _lonlat(existing.xy, existing.crs)
    return pd.DataFrame(
        {
            "outlet_id": existing.ids,
            "service": existing.service,
            "lon": lonlat[:, 0],
            "lat": lonlat[:, 1],
        }
    )


def catchments_frame(run: Run) -> gpd.GeoDataFrame:
    """The walk-time catchment of every new outlet, in WGS 84.

    One row per site and service: ``site_id``, ``service``, ``walk_minutes`` (the threshold),
    ``demand_points`` and ``residents`` reached (the service's segment), ``shape`` (``circle``
    or ``hull``). With straight-line walks the catchment is the circle every walk within the
    threshold stays in; with any other walk model it is the convex hull of the demand points
    the outlet reaches (:func:`siting.report.maps.catchment_polygon`).
    """
    from siting.report.maps import catchment_polygon

    sites, demand = run.inputs.sites, run.inputs.demand
    rows: list[dict[str, Any]] = []
    shapes = []
    for k, (service, coverage) in enumerate(zip(run.services, run.coverage, strict=True)):
        by_site = coverage.minutes.tocsc()
        for j in np.flatnonzero(run.result.opened[:, k]):
            start, end = by_site.indptr[j], by_site.indptr[j + 1]
            reached = by_site.indices[start:end]
            shape, kind = catchment_polygon(
                sites.xy[j], demand.xy[reached], by_site.data[start:end], service.walk_minutes
            )
            shapes.append(shape)
            rows.append(
                {
                    "site_id": str(run.problem.site_ids[j]),
                    "service": service.key,
                    "walk_minutes": service.walk_minutes,
                    "demand_points": len(reached),
                    "residents": float(run.problem.weights[reached, k].sum()),
                    "shape": kind,
                }
            )
    columns = ["site_id", "service", "walk_minutes", "demand_points", "residents", "shape"]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry=shapes, crs=demand.crs)
    return frame.to_crs(WGS84)


def selected_sites_frame(run: Run) -> gpd.GeoDataFrame:
    """One row per used site: id, services, costs, longitude/latitude, input attributes."""
    sites = run.inputs.sites
    chosen = [s.index for s in run.result.selected]
    lonlat = _lonlat(sites.xy[chosen], sites.crs)
    frame = pd.DataFrame(
        {
            "site_id": [s.site_id for s in run.result.selected],
            "services": [";".join(s.services) for s in run.result.selected],
            "n_services": [len(s.services) for s in run.result.selected],
            "fixed_cost": [s.fixed_cost for s in run.result.selected],
            "fit_out_cost": [s.fit_out_cost for s in run.result.selected],
            "cost": [s.cost for s in run.result.selected],
            "kind": [s.kind for s in run.result.selected],
            "lon": lonlat[:, 0],
            "lat": lonlat[:, 1],
        }
    )
    extra = sites.attributes.iloc[chosen].reset_index(drop=True)
    extra = extra[[c for c in extra.columns if c not in frame.columns and c != "geometry"]]
    frame = pd.concat([frame, extra], axis=1)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84
    )


def new_outlets_frame(run: Run) -> gpd.GeoDataFrame:
    """One row per new outlet (site x service) with the residents it is nearest to and covers."""
    sites, result = run.inputs.sites, run.result
    rows = []
    for site in result.selected:
        for key in site.services:
            rows.append({"site_id": site.site_id, "service": key, "index": site.index})
    frame = pd.DataFrame(rows, columns=["site_id", "service", "index"])
    lonlat = _lonlat(sites.xy[frame["index"].to_numpy(int)], sites.crs)
    frame = frame.drop(columns="index")
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=WGS84
    )


def coverage_frame(run: Run) -> pd.DataFrame:
    """Per demand point and service: weight, covered before/after, nearest serving outlet.

    ``served_by`` is the nearest outlet that earns credit after the plan (an existing one or
    a new site), ``served_by_kind`` says which, and ``walk_minutes`` is the walk to it;
    ``credit_before``/``credit_after`` are the credit (0-1) before and after, which differs from
    the covered flags only with distance decay.
    """
    demand, existing = run.inputs.demand, run.inputs.existing
    parts = []
    for k, (service, coverage) in enumerate(zip(run.services, run.coverage, strict=True)):
        new_minutes, new_site = row_min(keep_columns(coverage.minutes, run.result.opened[:, k]))
        old_minutes = coverage.existing_minutes
        use_new = np.isfinite(new_minutes) & ~(old_minutes <= new_minutes)
        use_old = np.isfinite(old_minutes) & ~use_new
        served_by = np.full(len(demand), "", dtype=object)
        served_by[use_new] = run.problem.site_ids[new_site[use_new]]
        served_by[use_old] = existing.ids[coverage.existing_index[use_old]]
        kind = np.where(use_new, "new", np.where(use_old, "existing", ""))
        parts.append(
            pd.DataFrame(
                {
                    "demand_id": demand.ids,
                    "service": service.key,
                    "population": run.problem.weights[:, k],
                    "covered_before": coverage.served_before,
                    "covered_after": run.result.covered[:, k],
                    "credit_before": np.round(run.problem.credit_before[:, k], 6),
                    "credit_after": np.round(run.result.credit[:, k], 6),
                    "served_by": served_by,
                    "served_by_kind": kind,
                    "walk_minutes": np.round(np.where(use_new, new_minutes, old_minutes), 3),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _lonlat(xy: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """WGS 84 longitude/latitude rounded to 7 decimals (about 1 cm)."""
    return np.round(transform(xy, crs, WGS84), 7).reshape(-1, 2)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    msg = f"cannot write {type(value).__name__} to JSON"
    raise TypeError(msg)
