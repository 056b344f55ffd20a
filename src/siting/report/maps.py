"""The interactive map: catchment shapes and the compact data the inlined map script draws.

The map is Leaflet (vendored in ``assets/``, BSD-2-Clause) driven by ``templates/map.js``;
everything it draws is embedded in the page as one JSON object, so the report opens offline.
Base-map tiles are off unless ``[report] tiles`` names a tile URL template.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from siting.report.data import ResultData
from siting.report.figures import ReportSettings, gains_per_site, labels, site_groups

# Colours: coverage states and a palette for services (colour-blind safe, Okabe-Ito based).
STATE_COLOURS = {"existing": "#4477aa", "new": "#2ca25f", "none": "#f08a93"}
OUTLET_COLOUR = "#ff8c00"  # new outlets and their catchments
PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"]
HULL_MARGIN_M = 25.0


def catchment_polygon(
    site_xy: NDArray[np.float64],
    reached_xy: NDArray[np.float64],
    reached_minutes: NDArray[np.float64],
    walk_minutes: float,
) -> tuple[shapely.Geometry, str]:
    """The area an outlet serves within ``walk_minutes``, in the coordinates' metric CRS.

    If every reached point's walk time is the same multiple of its straight-line distance
    (straight-line walking with a detour factor), the catchment is exactly a circle:
    ``("circle", radius = walk_minutes / (minutes per metre))``. Otherwise (street networks)
    it is the convex hull of the site and the demand points reached, widened by 25 m.
    """
    site = np.asarray(site_xy, dtype=float).reshape(2)
    points = np.asarray(reached_xy, dtype=float).reshape(-1, 2)
    metres = np.hypot(*(points - site).T)
    far = metres > 1.0
    if far.any():
        ratio = np.asarray(reached_minutes, dtype=float)[far] / metres[far]
        if np.ptp(ratio) <= 1e-6 * ratio.mean():
            radius = walk_minutes / float(ratio.mean())
            return shapely.Point(site).buffer(radius, quad_segs=12), "circle"
    hull = shapely.MultiPoint(np.vstack([site[None, :], points])).convex_hull
    return hull.buffer(HULL_MARGIN_M, quad_segs=4), "hull"


def service_colours(keys: list[str]) -> dict[str, str]:
    """One colour per service, in scenario order."""
    return {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}


def map_payload(data: ResultData, settings: ReportSettings) -> dict[str, Any]:
    """Everything the map script needs, as plain JSON-able lists (coordinates rounded to ~1 m)."""
    lang = settings.language
    keys = [s.key for s in data.services]
    names = labels(data, lang)
    colours = service_colours(keys)
    demand = data.demand
    payload: dict[str, Any] = {
        "services": [{"key": k, "label": names[k], "colour": colours[k]} for k in keys],
        "states": STATE_COLOURS,
        "outlet": OUTLET_COLOUR,
        "tiles": settings.tiles,
        "attribution": settings.tiles_attribution,
    }
    # Demand points: per service a state digit (0 none, 1 existing, 2 new) before and after.
    rows = data.coverage
    if not demand.empty and not rows.empty:
        order = {d: i for i, d in enumerate(demand["demand_id"])}
        n = len(demand)
        before = np.zeros((n, len(keys)), dtype=np.int8)
        after = np.zeros((n, len(keys)), dtype=np.int8)
        minutes = np.full((n, len(keys)), np.nan)
        for k, key in enumerate(keys):
            part = rows[rows["service"] == key]
            index = part["demand_id"].map(order).to_numpy()
            before[index, k] = part["covered_before"].to_numpy(bool)
            state = np.where(part["covered_after"].to_numpy(bool), 1, 0)
            state[(part["served_by_kind"] == "new").to_numpy()] = 2
            after[index, k] = np.where(part["covered_before"].to_numpy(bool), 1, state)
            minutes[index, k] = part["walk_minutes"].to_numpy(float)
        group = settings.group if settings.group in demand else None
        payload["demand"] = {
            "id": demand["demand_id"].astype(str).tolist(),
            "lon": np.round(demand["lon"].to_numpy(float), 5).tolist(),
            "lat": np.round(demand["lat"].to_numpy(float), 5).tolist(),
            "pop": np.round(demand["population"].to_numpy(float)).astype(int).tolist()
            if "population" in demand
            else [0] * n,
            "group": demand[group].astype(str).tolist() if group else None,
            "before": ["".join(map(str, r)) for r in before.tolist()],
            "after": ["".join(map(str, r)) for r in after.tolist()],
            "minutes": [[None if np.isnan(v) else round(v, 1) for v in r] for r in minutes],
        }
    existing = data.existing
    payload["existing"] = (
        []
        if existing.empty
        else [
            {"id": r.outlet_id, "s": keys.index(r.service), "lon": r.lon, "lat": r.lat}
            for r in existing.itertuples()
            if r.service in keys
        ]
    )
    gains = gains_per_site(data)
    where = site_groups(data, settings.group) if settings.group else None
    skip = {"site_id", "services", "n_services", "fixed_cost", "fit_out_cost", "cost", "lon", "lat"}
    sites = []
    for r in data.sites.to_dict("records"):
        services = [s for s in str(r["services"]).split(";") if s]
        sites.append(
            {
                "id": r["site_id"],
                "lon": r["lon"],
                "lat": r["lat"],
                "s": [keys.index(s) for s in services if s in keys],
                "cost": r["cost"],
                "fixed": r["fixed_cost"],
                "fitout": r["fit_out_cost"],
                # the popup's money, written by the report's formatter (language, currency)
                "money": {
                    "cost": settings.money(r["cost"]),
                    "fixed": settings.money(r["fixed_cost"]),
                    "fitout": settings.money(r["fit_out_cost"]),
                },
                "gain": [round(gains.get((r["site_id"], s), 0.0)) for s in services],
                "group": None if where is None or where.empty else str(where.get(r["site_id"])),
                "attrs": {k: _plain(v) for k, v in r.items() if k not in skip},
            }
        )
    payload["sites"] = sites
    payload["catchments"] = [
        {
            "site": f["properties"]["site_id"],
            "s": keys.index(f["properties"]["service"]),
            "residents": round(f["properties"]["residents"]),
            "rings": _rings(f["geometry"]),
        }
        for f in data.catchments.get("features", [])
        if f["properties"]["service"] in keys and f.get("geometry")
    ]
    return payload


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """Outer rings of a GeoJSON polygon as [[lat, lon], ...] for Leaflet."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return [[[round(y, 6), round(x, 6)] for x, y in polygon[0]] for polygon in polygons]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@cache
def leaflet_assets() -> tuple[str, str]:
    """The vendored Leaflet script and stylesheet, images inlined as data URIs."""
    assets = resources.files("siting.report") / "assets"
    script = (assets / "leaflet.js").read_text(encoding="utf-8")
    style = (assets / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = (assets / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(image).decode('ascii')})"

    style = re.sub(r"url\(images/([\w\-]+\.png)\)", inline, style)
    return script, style
