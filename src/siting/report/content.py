"""What one run's report says, independent of its format: figures, tables, checks and charts.

:func:`run_report` turns a :class:`~siting.report.data.ResultData` into a :class:`RunReport`;
``html.py`` and ``markdown.py`` only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from siting.report import charts
from siting.report.data import ResultData, ServiceInfo
from siting.report.figures import (
    Check,
    CompleteCircle,
    ReportSettings,
    community_table,
    complete_circle,
    cost_by_service,
    labels,
    policy_checks,
)
from siting.report.i18n import (
    TEXT,
    Language,
    fmt_int,
    fmt_money,
    fmt_number,
    fmt_pct,
    segment_label,
    status_label,
    text,
)


@dataclass(frozen=True)
class RunReport:
    """Everything a run's report shows."""

    data: ResultData
    settings: ReportSettings
    names: dict[str, str]
    circle: CompleteCircle
    communities: pd.DataFrame | None
    checks: list[Check]
    fixed_cost: float
    fit_out: dict[str, float]
    charts: list[charts.Chart]
    chart_language: Language

    @property
    def language(self) -> Language:
        """The report's language."""
        return self.settings.language

    def t(self, key: str, **values: object) -> str:
        """A phrase in the report's language."""
        return text(key, self.language, **values)

    def money(self, value: float | None) -> str:
        """Money in the report's language and the scenario's currency."""
        return self.settings.money(value)

    @property
    def services(self) -> list[ServiceInfo]:
        """The services, in scenario order."""
        return self.data.services

    def headline(self) -> str:
        """One paragraph a planner can read aloud: money, outlets, the largest gain, the circle."""
        s = self.data.summary
        if not self.services or not s.get("selected"):
            return ""
        best = max(self.services, key=lambda sv: sv.gained)
        budget = s.get("budget")
        return self.t(
            "headline",
            cost=self.money(s.get("total_cost")),
            budget=self.money(budget) if budget is not None else self.t("no_budget"),
            sites=fmt_int(s.get("sites_used")),
            outlets=fmt_int(s.get("new_outlets")),
            best=self.names[best.key],
            gained=fmt_int(best.gained),
            before=fmt_pct(best.coverage_pct_before),
            after=fmt_pct(best.coverage_pct),
            circle_before=fmt_pct(self.circle.pct_before),
            circle_after=fmt_pct(self.circle.pct_after),
        )

    def key_figures(self) -> list[tuple[str, str, str]]:
        """(label, value, detail) for the headline cards."""
        s, lang = self.data.summary, self.language
        budget = s.get("budget")
        cards = [
            (
                self.t("status"),
                status_label(str(s.get("status")), lang),
                self.t("proven") if s.get("proven_optimal") else self.t("not_proven"),
            ),
            (
                self.t("cost"),
                self.money(s.get("total_cost")),
                f"{self.t('budget')} "
                + (self.money(budget) if budget is not None else self.t("no_budget")),
            ),
            (
                self.t("new_outlets"),
                fmt_int(s.get("new_outlets")),
                f"{self.t('sites_used')} {fmt_int(s.get('sites_used'))}",
            ),
            (
                self.t("complete_circle"),
                fmt_pct(self.circle.pct_after),
                f"{self.t('before')} {fmt_pct(self.circle.pct_before)}",
            ),
        ]
        if self.communities is not None:
            check = next(c for c in self.checks if c.key == "communities")
            cards.append((self.t("check_communities"), check.value, check.detail))
        return cards

    def solver_rows(self) -> list[tuple[str, str]]:
        """Solver status, objective, bound, gap, time."""
        s, lang = self.data.summary, self.language
        gap = s.get("gap")
        name = str(s.get("objective_name") or "coverage")
        label = self.t(f"objective_{name}") if f"objective_{name}" in TEXT else name
        rows = [
            (self.t("status"), f"{status_label(str(s.get('status')), lang)} ({s.get('status')})"),
            (self.t("mode"), str(s.get("mode") or "max_coverage")),
            (label, fmt_number(s.get("objective"))),
            (self.t("bound"), fmt_number(s.get("bound"))),
            (self.t("gap"), "–" if gap is None else fmt_pct(100 * gap, 4)),
            (self.t("mip_gap_tol"), fmt_pct(100 * float(s.get("mip_gap_tolerance") or 0), 4)),
            (self.t("solver"), f"{s.get('solver')} ({s.get('solver_status')})"),
            (self.t("runtime"), f"{float(s.get('solver_runtime_s') or 0):.2f} s"),
        ]
        stages = s.get("stages") or []
        if len(stages) > 1:
            for number, stage in enumerate(stages, start=1):
                gap = stage.get("gap")
                rows.append(
                    (
                        f"{self.t('stage')} {number}: {stage.get('name')}",
                        f"{fmt_number(stage.get('objective'))} ({stage.get('status')}, "
                        f"{self.t('gap')} {'–' if gap is None else fmt_pct(100 * gap, 4)})",
                    )
                )
        return rows

    def parameter_rows(self) -> list[tuple[str, str]]:
        """Scenario-wide parameters: description, walk rule, budget, solve settings."""
        p = self.data.parameters
        rows = []
        if p.get("description"):
            rows.append((self.t("description"), str(p["description"])))
        walk = p.get("walk") or {}
        if walk:
            rows.append((self.t("walk_speed"), f"{walk.get('speed_m_per_s')}"))
            rows.append((self.t("detour_factor"), f"{walk.get('detour_factor')}"))
        budget = p.get("budget", self.data.summary.get("budget"))
        rows.append(
            (
                self.t("budget"),
                self.money(budget) if budget is not None else self.t("no_budget"),
            )
        )
        rows.append((self.t("currency"), self.settings.currency))
        solve = p.get("solve") or {}
        if solve:
            rows.append((self.t("solver"), str(solve.get("solver"))))
            rows.append((self.t("time_limit_s"), f"{solve.get('time_limit_s')}"))
            rows.append((self.t("mip_gap_tol"), f"{solve.get('mip_gap')}"))
        rows.append((self.t("community_target"), fmt_pct(self.settings.resident_share_pct, 0)))
        rows.append(
            (self.t("communities_target"), fmt_pct(self.settings.communities_target_pct, 0))
        )
        rows.append((self.t("outlets_target"), str(self.settings.outlets_per_circle)))
        if self.settings.group:
            rows.append((self.t("community"), self.settings.group))
        return rows

    def category(self, key: str) -> str:
        """``basic``, ``quality``, ``public``, ``hub`` or ``other``."""
        found = self.settings.category(key)
        return found if found in ("basic", "quality", "public", "hub") else "other"

    def service_parameters(self) -> list[dict[str, str]]:
        """Per service: name, category, walk minutes, segment, priority, fit-out, limits."""
        specs = {s["key"]: s for s in self.data.parameters.get("services", [])}
        rows = []
        for sv in self.services:
            spec: dict[str, Any] = specs.get(sv.key, {})
            max_new = spec.get("max_new")
            rows.append(
                {
                    "key": sv.key,
                    "label": self.names[sv.key],
                    "category": self.t(self.category(sv.key)),
                    "walk": f"{sv.walk_minutes:g}",
                    "speed": f"{spec['speed_m_per_s']}" if spec.get("speed_m_per_s") else "",
                    "segment": segment_label(sv.segment, self.language),
                    "priority": f"{spec.get('priority', '')}",
                    "fit_out": self.money(spec.get("fit_out_cost")),
                    "limits": f"{spec.get('min_new', 0)} / {'–' if max_new is None else max_new}",
                    "floor_area": f"{spec.get('floor_area_m2', 0):g}",
                }
            )
        return rows

    def cost_rows(self) -> list[tuple[str, float]]:
        """(label, money) for the cost breakdown: site costs, then fit-out per service."""
        rows = [(self.t("fixed_cost"), self.fixed_cost)]
        for key, money in self.fit_out.items():
            label = self.names.get(key, self.t("fit_out_cost"))
            rows.append((f"{self.t('fit_out_cost')}: {label}" if key else label, money))
        return rows


def run_report(
    data: ResultData, settings: ReportSettings, *, with_charts: bool = True
) -> RunReport:
    """Compute every figure, table, check and chart of a run's report."""
    lang = settings.language
    names = labels(data, lang)
    circle = complete_circle(data)
    communities = community_table(data, settings)
    checks = policy_checks(data, settings, communities)
    fixed, fit_out = cost_by_service(data)
    chart_lang = charts.chart_language(lang)
    made = _charts(data, settings, chart_lang, circle, fixed, fit_out) if with_charts else []
    return RunReport(
        data=data,
        settings=settings,
        names=names,
        circle=circle,
        communities=communities,
        checks=checks,
        fixed_cost=fixed,
        fit_out=fit_out,
        charts=made,
        chart_language=chart_lang,
    )


def _charts(
    data: ResultData,
    settings: ReportSettings,
    lang: Language,
    circle: CompleteCircle,
    fixed: float,
    fit_out: dict[str, float],
) -> list[charts.Chart]:
    services = data.services
    names = labels(data, lang)
    shown = [charts.drawable(names[s.key], s.key) for s in services]
    made = [
        charts.coverage_chart(
            shown,
            [s.coverage_pct_before for s in services],
            [s.coverage_pct for s in services],
            target_pct=settings.resident_share_pct,
            language=lang,
        ),
        charts.bar_chart(
            "gain",
            text("gain_by_service", lang),
            shown,
            [s.gained for s in services],
            formatter=charts.count_formatter(),
        ),
    ]
    cost_names = [text("fixed_cost", lang)] + [
        charts.drawable(names[k], k) if k else text("fit_out_cost", lang) for k in fit_out
    ]
    cost_values = [fixed, *fit_out.values()]
    made.append(
        charts.bar_chart(
            "cost",
            text("cost_breakdown", lang),
            cost_names,
            cost_values,
            formatter=charts.money_formatter(
                lang, settings.currency, top=max(cost_values, default=0.0)
            ),
            value_labels=[fmt_money(v, lang, settings.currency) for v in cost_values],
            colour="#6a51a3",
        )
    )
    made.append(charts.circle_chart(circle.reached_before, circle.reached_after, language=lang))
    return made
