"""The built-in service catalog and the seed cities' presets.

The catalog (``siting/data/catalog.toml``) holds the policy defaults of each service format:
walk threshold, target segment, walking speed, typical floor area and service population, basic
or quality class, Chinese and English names, each tagged with its provenance (F found in a cited
source, R recalled from a standard, I our inference). A scenario service that names a catalog
key inherits the threshold, name, class, segment and speed, and overrides any of them. Presets
list the services (and rules) of a seed city's policy.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class CatalogEntry:
    """One service format of the catalog.

    Attributes
    ----------
    key
        Service key, e.g. ``"vegetable_market"``.
    name_zh, name_en
        Chinese and English names.
    category
        ``"basic"`` (基本保障类), ``"quality"`` (品质提升类), ``"public"`` or ``"hub"``.
    walk_minutes
        Default walk threshold.
    segment
        Target segment (``"population"``, ``"elderly"``, ``"children"``).
    speed_m_per_s
        Walking speed of the target group, None for the scenario's default.
    floor_area_m2
        Typical minimum floor area (informational; not applied as a constraint by default).
    population_per_outlet
        Suggested residents served per outlet (low, high), if known.
    sources
        Provenance tags of the threshold, area and population figures.
    """

    key: str
    name_zh: str
    name_en: str
    category: str
    walk_minutes: float
    segment: str = "population"
    speed_m_per_s: float | None = None
    floor_area_m2: float | None = None
    population_per_outlet: tuple[int, int] | None = None
    sources: str = ""


@dataclass(frozen=True)
class Preset:
    """A seed city's policy: its services, their thresholds and its rules."""

    key: str
    description: str
    source: str
    services: tuple[str, ...]
    walk_minutes: dict[str, float]
    min_new_per_community: int = 0
    community_target_pct: float | None = None


@cache
def _data() -> dict[str, Any]:
    text = resources.files("siting").joinpath("data/catalog.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def catalog() -> dict[str, CatalogEntry]:
    """Every catalog entry, by key."""
    entries = {}
    for raw in _data()["services"]:
        tags = [
            f"{name} {raw[tag]}"
            for name, tag in (
                ("walk", "walk_tag"),
                ("area", "area_tag"),
                ("population", "population_tag"),
            )
            if tag in raw
        ]
        population = raw.get("population_per_outlet")
        entries[raw["key"]] = CatalogEntry(
            key=raw["key"],
            name_zh=raw["name_zh"],
            name_en=raw["name_en"],
            category=raw["category"],
            walk_minutes=float(raw["walk_minutes"]),
            segment=raw.get("segment", "population"),
            speed_m_per_s=raw.get("speed_m_per_s"),
            floor_area_m2=raw.get("floor_area_m2"),
            population_per_outlet=tuple(population) if population else None,
            sources=", ".join(tags),
        )
    return entries


@cache
def presets() -> dict[str, Preset]:
    """Every preset, by key."""
    return {
        key: Preset(
            key=key,
            description=raw["description"],
            source=raw["source"],
            services=tuple(raw["services"]),
            walk_minutes={k: float(v) for k, v in raw.get("walk_minutes", {}).items()},
            min_new_per_community=int(raw.get("min_new_per_community", 0)),
            community_target_pct=raw.get("community_target_pct"),
        )
        for key, raw in _data()["presets"].items()
    }


def english_name(key: str) -> str:
    """The English name of a catalog service, or the key itself."""
    entry = catalog().get(key)
    return entry.name_en if entry else key


def chinese_name(key: str) -> str:
    """The Chinese name of a catalog service, or the key itself."""
    entry = catalog().get(key)
    return entry.name_zh if entry else key


def starter_scenario(preset_key: str) -> str:
    """A scenario file (TOML text) for a preset, with every service spelled out to edit.

    Raises
    ------
    ScenarioError
        If the preset is unknown.
    """
    from siting._errors import ScenarioError

    try:
        preset = presets()[preset_key]
    except KeyError:
        msg = f"unknown preset '{preset_key}'; choose one of {', '.join(sorted(presets()))}"
        raise ScenarioError(msg) from None
    lines = [
        f"# Starter scenario from the '{preset.key}' preset: {preset.description}",
        f"# Source: {preset.source}",
        "# Fill in paths, columns, costs and the budget; see the README for every key.",
        "",
        "[scenario]",
        f'name = "{preset.key}-plan"',
        "",
        "[demand]",
        'path = "data/demand.csv"      # residents: points with a population column',
        'x = "lon"',
        'y = "lat"',
        'crs = "EPSG:4326"',
        'population = "population"',
        'segments = { elderly = "pop_60plus", children = "pop_0_6" }',
        "",
        "[candidates]",
        'path = "data/sites.csv"       # idle properties',
        'x = "lon"',
        'y = "lat"',
        'crs = "EPSG:4326"',
        'fixed_cost = "fixed_cost"',
        'capacity = "max_services"',
        "",
        "[existing]",
        'path = "data/existing.csv"    # outlets already open, with a service column',
        'x = "lon"',
        'y = "lat"',
        'crs = "EPSG:4326"',
        'service = "service"',
        "ignore_unknown_services = true",
        "",
    ]
    for key in preset.services:
        entry = catalog()[key]
        minutes = preset.walk_minutes.get(key, entry.walk_minutes)
        lines += [
            "[[services]]",
            f'key = "{key}"                # {entry.name_zh} / {entry.name_en} ({entry.category})',
            f"walk_minutes = {minutes:g}",
        ]
        if entry.segment != "population":
            lines.append(f'segment = "{entry.segment}"')
        if entry.speed_m_per_s:
            lines.append(f"speed_m_per_s = {entry.speed_m_per_s:g}")
        lines += ["fit_out_cost = 0              # set the cost of opening this service", ""]
    lines += ["[model]", 'mode = "max_coverage"']
    if preset.min_new_per_community:
        lines += [
            '# community = "community"      # demand column of communities, then:',
            f"# min_new_per_community = {preset.min_new_per_community}"
            "   (needs [candidates] community)",
        ]
    if preset.community_target_pct:
        lines.append(f"community_target_pct = {preset.community_target_pct:g}")
    lines += [
        "",
        "[budget]",
        "total = 1000000",
        "",
        "[solve]",
        'solver = "highs"',
        "time_limit_s = 600",
        "",
    ]
    return "\n".join(lines)
