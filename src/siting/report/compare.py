"""Alternatives side by side: coverage per service, cost, outlets, sites in common and not.

Alternatives are result folders (``summary.json`` + CSV files). :func:`compare_results` is a
pure function of the loaded folders; :func:`write_comparison` writes ``compare.html``,
``compare.md``, ``comparison.json`` and ``charts/`` into an output folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from siting.report import charts
from siting.report.data import ResultData
from siting.report.figures import ReportSettings, complete_circle, labels
from siting.report.html import asset, common_context, environment, script_json
from siting.report.i18n import Language, fmt_int, fmt_money, fmt_pct, status_label, text
from siting.report.markdown import CHARTS, table

COMPARISON = "comparison.json"
ALT_COLOURS = ["#1f5f9e", "#d55e00", "#009e73", "#cc79a7", "#e6ab02", "#56b4e9", "#666666"]
TOLERANCE_PCT = 1e-6


@dataclass(frozen=True)
class Alternative:
    """One alternative: a label, its result folder's data and a link to its own report."""

    label: str
    data: ResultData
    link: str | None = None

    def money(self, value: float | None, language: Language) -> str:
        """Money of this alternative, in its own currency."""
        return fmt_money(value, language, self.data.currency)


@dataclass(frozen=True)
class Comparison:
    """What differs between alternatives (the first is the reference)."""

    alternatives: list[Alternative]
    services: list[str]
    names: dict[str, str]
    common_sites: list[str]
    only_sites: dict[str, list[str]]
    differences: dict[str, list[str]]

    @property
    def currency(self) -> str | None:
        """The currency all alternatives share; None if their money is in different currencies."""
        currencies = {a.data.currency for a in self.alternatives}
        return currencies.pop() if len(currencies) == 1 else None

    @property
    def identical(self) -> bool:
        """True if no alternative differs from the first in plan, coverage or cost."""
        return not any(self.differences.values())

    def coverage(self, label: str, key: str, *, before: bool = False) -> float | None:
        """Coverage (%) of service ``key`` in alternative ``label``; None if it lacks it."""
        alt = next(a for a in self.alternatives if a.label == label)
        s = alt.data.summary["services"].get(key)
        if s is None:
            return None
        return float(s["coverage_pct_before" if before else "coverage_pct"])

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable comparison (``comparison.json``)."""
        return {
            "alternatives": [
                {
                    "label": a.label,
                    "folder": str(a.data.folder) if a.data.folder else None,
                    "status": a.data.summary.get("status"),
                    "objective": a.data.summary.get("objective"),
                    "total_cost": a.data.summary.get("total_cost"),
                    "currency": a.data.currency,
                    "sites_used": a.data.summary.get("sites_used"),
                    "new_outlets": a.data.summary.get("new_outlets"),
                    "coverage_pct": {k: self.coverage(a.label, k) for k in self.services},
                    "sites": a.data.site_ids,
                }
                for a in self.alternatives
            ],
            "common_sites": self.common_sites,
            "only_sites": self.only_sites,
            "differences": self.differences,
            "identical": self.identical,
        }


def unique_labels(names: list[str]) -> list[str]:
    """Labels made unique by numbering repeats: ``demo``, ``demo #2``."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return result


def compare_results(alternatives: list[Alternative], *, language: Language = "en") -> Comparison:
    """Compare alternatives with the first: plan, coverage per service, cost, outlets."""
    services: list[str] = []
    names: dict[str, str] = {}
    for alt in alternatives:
        for key, name in labels(alt.data, language).items():
            if key not in services:
                services.append(key)
                names[key] = name
    plans = {a.label: a.data.plan for a in alternatives}
    sets = [set(p) for p in plans.values()]
    common = sorted(set.intersection(*sets)) if sets else []
    only = {
        label: sorted(set(plan) - set().union(*(set(p) for lb, p in plans.items() if lb != label)))
        for label, plan in plans.items()
    }
    reference = alternatives[0]
    differences = {
        alt.label: _differences(reference, alt, services, names, language)
        for alt in alternatives[1:]
    }
    return Comparison(
        alternatives=alternatives,
        services=services,
        names=names,
        common_sites=common,
        only_sites=only,
        differences=differences,
    )


def _differences(
    first: Alternative,
    other: Alternative,
    services: list[str],
    names: dict[str, str],
    language: Language,
) -> list[str]:
    """Lines saying how ``other`` differs from ``first`` (empty when identical)."""
    zh = language == "zh"
    lines = []
    a, b = first.data.summary, other.data.summary
    for key in services:
        sa, sb = a["services"].get(key), b["services"].get(key)
        if sa is None or sb is None:
            missing = first.label if sa is None else other.label
            lines.append(f"{names[key]}: {'不在' if zh else 'not in'} {missing}")
            continue
        delta = float(sb["coverage_pct"]) - float(sa["coverage_pct"])
        if abs(delta) > TOLERANCE_PCT:
            change = f"{sa['coverage_pct']:.1f}% → {sb['coverage_pct']:.1f}% ({delta:+.1f})"
            lines.append(f"{names[key]}: {change}")
    cost_a, cost_b = float(a.get("total_cost") or 0), float(b.get("total_cost") or 0)
    other_currency = first.data.currency != other.data.currency
    if other_currency or abs(cost_a - cost_b) > 1e-6 * max(1.0, cost_a):
        change = f"{first.money(cost_a, language)} → {other.money(cost_b, language)}"
        lines.append(f"{text('cost', language)}: {change}")
    if a.get("new_outlets") != b.get("new_outlets"):
        lines.append(
            f"{text('new_outlets', language)}: {a.get('new_outlets')} → {b.get('new_outlets')}"
        )
    pa, pb = first.data.plan, other.data.plan
    added, removed = sorted(set(pb) - set(pa)), sorted(set(pa) - set(pb))
    if added:
        lines.append(f"{'新增场地' if zh else 'sites added'}: {', '.join(added)}")
    if removed:
        lines.append(f"{'不再使用的场地' if zh else 'sites dropped'}: {', '.join(removed)}")
    changed = [s for s in sorted(set(pa) & set(pb)) if set(pa[s]) != set(pb[s])]
    if changed:
        lines.append(
            f"{'业态变化的场地' if zh else 'sites with other services'}: {', '.join(changed)}"
        )
    return lines


def comparison_map(comparison: Comparison, language: Language) -> dict[str, Any]:
    """Map data: demand points of the first alternative, every alternative's sites."""
    first_with_demand = next((a for a in comparison.alternatives if not a.data.demand.empty), None)
    demand = None
    if first_with_demand is not None:
        d = first_with_demand.data.demand
        demand = {
            "lon": np.round(d["lon"].to_numpy(float), 5).tolist(),
            "lat": np.round(d["lat"].to_numpy(float), 5).tolist(),
            "pop": d["population"].round().astype(int).tolist() if "population" in d else [],
        }
    alts = []
    for i, alt in enumerate(comparison.alternatives):
        sites = [
            {
                "id": r["site_id"],
                "lon": r["lon"],
                "lat": r["lat"],
                "services": [
                    comparison.names.get(k, k) for k in str(r["services"]).split(";") if k
                ],
                "cost": r["cost"],
            }
            for r in alt.data.sites.to_dict("records")
        ]
        alts.append(
            {"label": alt.label, "colour": ALT_COLOURS[i % len(ALT_COLOURS)], "sites": sites}
        )
    return {"demand": demand, "alternatives": alts, "lang": language}


def _charts(comparison: Comparison, language: Language) -> list[charts.Chart]:
    lang = charts.chart_language(language)
    names = [
        charts.drawable(
            labels(comparison.alternatives[0].data, lang).get(k, comparison.names[k]), k
        )
        for k in comparison.services
    ]
    series = [
        (
            charts.drawable(a.label, f"#{i + 1}"),
            [_or_nan(comparison.coverage(a.label, k)) for k in comparison.services],
        )
        for i, a in enumerate(comparison.alternatives)
    ]
    first = ReportSettings.from_data(comparison.alternatives[0].data, language=lang)
    made = [
        charts.grouped_chart(
            "compare_coverage",
            text("coverage_after", lang),
            names,
            series,
            target_pct=first.resident_share_pct,
            colours=ALT_COLOURS,
        )
    ]
    currency = comparison.currency
    if currency is None:  # bars of different currencies cannot be compared
        return made
    costs = [float(a.data.summary.get("total_cost") or 0) for a in comparison.alternatives]
    made.append(
        charts.bar_chart(
            "compare_cost",
            text("cost", lang),
            [s[0] for s in series],
            costs,
            formatter=charts.money_formatter(lang, currency, top=max(costs, default=0.0)),
            value_labels=[fmt_money(c, lang, currency) for c in costs],
            colour="#6a51a3",
        )
    )
    return made


def _or_nan(value: float | None) -> float:
    """A figure for a chart: NaN (no bar) where an alternative lacks the service."""
    return float("nan") if value is None else value


def summary_rows(comparison: Comparison, language: Language) -> list[tuple[str, list[str]]]:
    """(metric, value per alternative) for the headline table."""
    rows: list[tuple[str, list[str]]] = []
    alts = comparison.alternatives

    def row(label: str, values: list[str]) -> None:
        rows.append((label, values))

    row(
        text("status", language),
        [status_label(str(a.data.summary.get("status")), language) for a in alts],
    )
    row(
        text("cost", language),
        [a.money(a.data.summary.get("total_cost"), language) for a in alts],
    )
    row(
        text("budget", language),
        [
            a.money(a.data.summary["budget"], language)
            if a.data.summary.get("budget") is not None
            else text("no_budget", language)
            for a in alts
        ],
    )
    row(text("sites_used", language), [fmt_int(a.data.summary.get("sites_used")) for a in alts])
    row(text("new_outlets", language), [fmt_int(a.data.summary.get("new_outlets")) for a in alts])
    row(text("objective", language), [fmt_int(a.data.summary.get("objective")) for a in alts])
    row(text("gap", language), [_gap(a.data.summary.get("gap")) for a in alts])
    circles = [complete_circle(a.data) for a in alts]
    row(text("complete_circle", language), [fmt_pct(c.pct_after) for c in circles])
    return rows


def _gap(gap: float | None) -> str:
    return "–" if gap is None else fmt_pct(100 * gap, 4)


def render_compare_html(
    comparison: Comparison, made: list[charts.Chart], language: Language
) -> str:
    """The text of compare.html."""
    template = environment().get_template("compare.html.j2")
    return template.render(
        c=comparison,
        t=lambda key, **v: text(key, language, **v),
        lang=language,
        rows=summary_rows(comparison, language),
        charts=made,
        colours=ALT_COLOURS,
        map_json=script_json(comparison_map(comparison, language)),
        compare_js=asset("compare_map.js"),
        **common_context(language),
    )


def render_compare_markdown(
    comparison: Comparison, made: list[charts.Chart], language: Language
) -> str:
    """The text of compare.md."""

    def t(key: str, **values: object) -> str:
        return text(key, language, **values)

    labels_ = [a.label for a in comparison.alternatives]
    out = [f"# {t('compare_title')}", ""]
    out += [table(["", *labels_], [(m, *v) for m, v in summary_rows(comparison, language)]), ""]
    out += [f"## {t('coverage_after')}", ""]
    rows = []
    for key in comparison.services:
        values = [comparison.coverage(lb, key) for lb in labels_]
        rows.append((comparison.names[key], *(fmt_pct(v) for v in values)))
    out += [table([t("service"), *labels_], rows), ""]
    out += [f"![{c.title}]({CHARTS}/{c.name}.png)" for c in made] + [""]
    out += [f"## {t('sites_common')} ({len(comparison.common_sites)})", ""]
    out += [", ".join(comparison.common_sites) or "–", ""]
    for label, sites in comparison.only_sites.items():
        out += [f"### {t('sites_only')}: {label} ({len(sites)})", "", ", ".join(sites) or "–", ""]
    out += [f"## {t('differences')}", ""]
    if comparison.identical:
        out += [t("no_differences"), ""]
    else:
        first = comparison.alternatives[0].label
        for label, lines in comparison.differences.items():
            out += [f"### {label} ({t('difference_vs', first=first)})", ""]
            out += [f"- {line}" for line in lines] or ["- " + t("no_differences")]
            out += [""]
    return "\n".join(out)


def write_comparison(
    alternatives: list[Alternative], folder: str | Path, *, language: str = "en"
) -> Comparison:
    """Write compare.html, compare.md, comparison.json and charts/ into an existing folder."""
    if language not in ("zh", "en"):
        msg = f"language = {language!r}; use 'zh' (中文) or 'en' (English)"
        raise ValueError(msg)
    return _write_comparison(alternatives, Path(folder), cast(Language, language))


def _write_comparison(
    alternatives: list[Alternative], folder: Path, language: Language
) -> Comparison:
    comparison = compare_results(alternatives, language=language)
    made = _charts(comparison, language)
    (folder / CHARTS).mkdir(exist_ok=True)
    for chart in made:
        (folder / CHARTS / f"{chart.name}.png").write_bytes(chart.png)
    (folder / "compare.html").write_text(
        render_compare_html(comparison, made, language), encoding="utf-8"
    )
    (folder / "compare.md").write_text(
        render_compare_markdown(comparison, made, language), encoding="utf-8"
    )
    (folder / COMPARISON).write_text(
        json.dumps(comparison.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return comparison
