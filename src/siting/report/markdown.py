"""report.md: the figures of the HTML report as text tables and PNG charts (``charts/``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from siting.report.content import RunReport
from siting.report.i18n import fmt_int, fmt_pct, segment_label

CHARTS = "charts"


def table(
    header: Sequence[str], rows: Sequence[Sequence[object]], *, right: int | set[int] = 1
) -> str:
    """A Markdown table; right-aligned: columns from index ``right`` on, or those in the set."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    aligned = right if isinstance(right, set) else set(range(right, len(header)))
    align = ["---:" if i in aligned else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(map(cell, header)) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: RunReport) -> str:
    """The text of report.md (charts referenced as ``charts/<name>.png``)."""
    r, lang = report, report.language
    s = r.data.summary
    colon = "：" if lang == "zh" else ": "
    out = [f"# {r.t('report_title')}{colon}{r.data.name}", ""]
    if r.data.parameters.get("description"):
        out += [str(r.data.parameters["description"]), ""]
    if r.headline():
        out += [f"> {r.headline()}", ""]
    out += [f"## {r.t('key_figures')}", ""]
    out += [table(["", r.t("value"), ""], r.key_figures(), right={1}), ""]

    out += [f"## {r.t('policy_checks')}", ""]
    rows: list[Sequence[object]] = [
        (c.label, c.target, c.value, r.t(c.status), c.detail) for c in r.checks
    ]
    header = [r.t("check"), r.t("target"), r.t("value"), "", r.t("description")]
    out += [table(header, rows, right={2}), ""]

    out += [f"## {r.t('services')}", ""]
    rows = [
        (
            r.names[sv.key],
            r.t(r.category(sv.key)),
            f"{sv.walk_minutes:g}",
            segment_label(sv.segment, lang),
            sv.existing_outlets,
            sv.new_outlets,
            fmt_pct(sv.coverage_pct_before),
            fmt_pct(sv.coverage_pct)
            + (" ⚠" if sv.coverage_pct < r.settings.resident_share_pct else ""),
            fmt_int(sv.gained),
        )
        for sv in r.services
    ]
    rows.append(
        (
            f"**{r.t('complete_circle')}**",
            "",
            "",
            r.t("complete_circle_note"),
            "",
            "",
            fmt_pct(r.circle.pct_before),
            fmt_pct(r.circle.pct_after),
            fmt_int(r.circle.after - r.circle.before),
        )
    )
    header = [
        r.t("service"),
        r.t("category"),
        r.t("walk_minutes"),
        r.t("segment"),
        r.t("existing_outlets"),
        r.t("new_outlets"),
        r.t("coverage_before"),
        r.t("coverage_after"),
        r.t("residents_gained"),
    ]
    out += [table(header, rows, right=4), ""]
    out += [f"⚠ < {fmt_pct(r.settings.resident_share_pct, 0)}", ""]

    out += [f"## {r.t('charts')}", ""]
    if r.chart_language != r.language:
        out += [f"> {r.t('fonts_missing')}", ""]
    out += [f"![{c.title}]({CHARTS}/{c.name}.png)" for c in r.charts]
    out += [""]
    out += [f"## {r.t('cost_breakdown')}", ""]
    rows = [(label, r.money(v)) for label, v in r.cost_rows()]
    rows.append((f"**{r.t('total')}**", r.money(s.get("total_cost"))))
    budget = s.get("budget")
    rows.append((r.t("budget"), r.money(budget) if budget is not None else r.t("no_budget")))
    out += [table([r.t("cost"), ""], rows), ""]

    if r.communities is not None:
        out += [f"## {r.t('community_table')}", ""]
        out += [r.t("community_note", target=fmt_pct(r.settings.resident_share_pct, 0)), ""]
        target = r.settings.resident_share_pct

        def share(value: float) -> str:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return "–"
            return f"**{fmt_pct(value)}** ⚠" if value < target else fmt_pct(value)

        rows = [
            (
                row["community"],
                fmt_int(row["residents"]),
                *(share(row[sv.key]) for sv in r.services),
                fmt_pct(row["complete"]),
                row["new_outlets"],
            )
            for row in r.communities.to_dict("records")
        ]
        header = [
            r.t("community"),
            r.t("residents"),
            *(r.names[sv.key] for sv in r.services),
            r.t("complete_circle"),
            r.t("new_outlets"),
        ]
        out += [table(header, rows), ""]

    out += [f"## {r.t('selected_sites')} ({len(r.data.sites)})", ""]
    rows = [
        (
            site["site_id"],
            "、".join(r.names.get(k, k) for k in str(site["services"]).split(";") if k),
            r.money(site["fixed_cost"]),
            r.money(site["fit_out_cost"]),
            r.money(site["cost"]),
        )
        for site in r.data.sites.to_dict("records")
    ]
    header = [r.t("site"), r.t("services"), r.t("fixed_cost"), r.t("fit_out_cost"), r.t("cost")]
    out += [table(header, rows, right=2), ""]

    out += [f"## {r.t('solver_section')}", ""]
    out += [table(["", ""], r.solver_rows()), ""]
    out += [f"## {r.t('parameters')}", ""]
    out += [table(["", ""], r.parameter_rows(), right=2), ""]
    rows = [
        (
            p["label"],
            p["key"],
            p["category"],
            p["walk"],
            p["segment"],
            p["priority"],
            p["fit_out"],
            p["limits"],
        )
        for p in r.service_parameters()
    ]
    header = [
        r.t("service"),
        "key",
        r.t("category"),
        r.t("walk_minutes"),
        r.t("segment"),
        r.t("priority"),
        r.t("fit_out_cost"),
        r.t("min_max_new"),
    ]
    out += [table(header, rows, right=3), ""]
    return "\n".join(out)
