"""report.html: one self-contained page (Leaflet, map data, charts and styles inlined).

The page needs no network: the vendored Leaflet script and stylesheet, the map data (JSON) and
the charts (SVG) are all inside it. Base-map tiles are drawn only when ``[report] tiles``
names a tile server; offline they are simply missing and everything else still shows.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import pandas as pd

from siting import __version__
from siting.report.content import RunReport
from siting.report.i18n import Language, fmt_int, fmt_pct, segment_label, text
from siting.report.maps import leaflet_assets, map_payload

MAP_TEXT_KEYS = (
    "covered_new",
    "covered_existing",
    "not_covered",
    "population",
    "service",
    "before",
    "after",
    "new_outlet",
    "existing_outlet",
    "cost",
    "view",
    "legend",
    "catchment",
    "existing_outlets",
    "new_outlets",
    "all_new_sites",
    "residents",
)


@cache
def environment() -> jinja2.Environment:
    """The template environment (HTML autoescaping on)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("siting.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def asset(name: str) -> str:
    """A text file of ``templates/``."""
    return (resources.files("siting.report") / "templates" / name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` element."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--")
    )


def map_text(language: Language) -> dict[str, str]:
    """The words the map script shows."""
    words = {key: text(key, language) for key in MAP_TEXT_KEYS}
    words |= {
        "lang": language,
        "new_short": "新" if language == "zh" else "new",
        "gain": text("residents_gained", language),
        "fixed": text("fixed_cost", language),
        "fitout": text("fit_out_cost", language),
    }
    return words


def common_context(language: Language) -> dict[str, Any]:
    """Formatters and inlined assets every page template uses."""
    leaflet_js, leaflet_css = leaflet_assets()
    return {
        "version": __version__,
        "leaflet_js": leaflet_js,
        "leaflet_css": leaflet_css,
        "css": asset("base.css"),
        "map_js": asset("map.js"),
        "map_text": script_json(map_text(language)),
        "pct": fmt_pct,
        "int": fmt_int,
        "seg": lambda s: segment_label(s, language),
    }


def render_html(report: RunReport) -> str:
    """The text of report.html."""
    sites = report.data.sites
    skip = {"site_id", "services", "n_services", "fixed_cost", "fit_out_cost", "cost", "lon", "lat"}
    # up to four of the candidate table's own columns, leaving out those empty for every site
    site_columns = [c for c in sites.columns if c not in skip and sites[c].notna().any()][:4]
    payload = map_payload(report.data, report.settings)

    def site_services(value: str) -> str:
        return "、".join(report.names.get(k, k) for k in str(value).split(";") if k)

    def cell(value: Any) -> str:
        """A candidate attribute as table text: blank where the site has none."""
        return "" if pd.isna(value) else str(value)

    template = environment().get_template("report.html.j2")
    return template.render(
        r=report,
        map_json=script_json(payload),
        site_columns=site_columns,
        site_services=site_services,
        cell=cell,
        money=report.money,
        **common_context(report.language),
    )
