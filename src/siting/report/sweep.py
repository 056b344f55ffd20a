"""Sweeps: solve one scenario over budgets and walk thresholds, then draw the curve.

The work is split so that a batch runner can ship it to workers:

- :func:`prepare_sweep` reads the inputs and computes walk-time coverage **once**, at the
  longest threshold any point asks for (a :class:`SweepBase`, picklable);
- :func:`solve_point` solves one :class:`SweepPoint` from the base, independently of every
  other point: a shorter threshold only filters the stored walk times, and only the model with
  its budget is built and solved (optionally warm-started from another point's plan);
- :func:`sweep_table` and :func:`write_sweep_report` aggregate the points' **result folders**
  (the files ``siting run`` writes), so they do not care where or how the points were solved.

:func:`run_sweep` does all of it in one process: points in ascending budget, each solve
warm-started from the previous plan whenever that plan still fits the budget (it always does
when only the budget grows or a threshold lengthens), which keeps the curve monotone even for
solves stopped at their time limit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import DataValidationError, ScenarioError
from siting.coverage import ServiceCoverage, service_coverage
from siting.network import WalkReport
from siting.pipeline import (
    Inputs,
    NetworkWalk,
    Run,
    Timings,
    compute_coverage,
    problem_from_inputs,
    read_inputs,
    solve,
)
from siting.report import charts
from siting.report.data import load_result
from siting.report.figures import ReportSettings, complete_circle, labels
from siting.report.html import common_context, environment
from siting.report.i18n import (
    Language,
    fmt_int,
    fmt_money,
    fmt_pct,
    status_label,
    ten_thousand,
    text,
)
from siting.report.markdown import CHARTS, table
from siting.scenario import BudgetSpec, Scenario, ServiceSpec
from siting.services import Service
from siting.solvers import SolveOptions

SWEEP = "sweep.json"
POINTS = "points"
FLAT_SHARE = 0.25  # the curve "flattens" where a further 10,000 buys < 25 % of the first step's


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: a budget (None keeps the scenario's) and walk thresholds."""

    index: int
    budget: float | None
    walk_minutes: tuple[tuple[str, float], ...] = ()

    @property
    def label(self) -> str:
        """A short name, also the point's folder name: ``003_budget-4000000_shop-10``."""
        parts = [f"{self.index:03d}"]
        if self.budget is not None:
            parts.append(f"budget-{self.budget:.0f}")
        parts += [f"{key}-{minutes:g}" for key, minutes in self.walk_minutes]
        return "_".join(parts)


def parse_range(option: str, value: str, *, minimum: float = 0.0) -> list[float]:
    """``FROM:TO:STEPS`` (or a single number) as evenly spaced values, ends included.

    Raises
    ------
    ScenarioError
        Naming the option, the value and the expected form.
    """
    hint = f"{option} {value!r}: write FROM:TO:STEPS, e.g. {option} 2000000:10000000:5"
    parts = value.replace("_", "").replace(",", "").split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ScenarioError(hint) from None
    if len(numbers) == 1:
        numbers = [numbers[0], numbers[0], 1]
    if len(numbers) != 3 or not all(math.isfinite(n) for n in numbers):
        raise ScenarioError(hint)
    start, stop, steps = numbers
    if steps != int(steps) or not 1 <= steps <= 1000:
        msg = f"{option} {value!r}: STEPS = {steps:g} must be a whole number from 1 to 1000"
        raise ScenarioError(msg)
    if start < minimum or stop < start:
        msg = f"{option} {value!r}: need {minimum:g} <= FROM <= TO"
        raise ScenarioError(msg)
    if steps == 1 and start != stop:
        msg = f"{option} {value!r}: one step needs FROM = TO; use STEPS >= 2"
        raise ScenarioError(msg)
    return [float(v) for v in np.linspace(start, stop, int(steps))]


def parse_walk(value: str, service_keys: Sequence[str]) -> tuple[str, list[float]]:
    """``SERVICE=FROM:TO:STEPS`` for ``--walk-minutes``."""
    key, sep, spec = value.partition("=")
    if not sep or not key:
        msg = f"--walk-minutes {value!r}: write SERVICE=FROM:TO:STEPS, e.g. breakfast_shop=5:15:3"
        raise ScenarioError(msg)
    if key not in service_keys:
        msg = (
            f"--walk-minutes {value!r}: '{key}' is not a service of the scenario; "
            f"use one of {', '.join(service_keys)}"
        )
        raise ScenarioError(msg)
    values = parse_range("--walk-minutes", spec, minimum=0.0)
    if values[0] <= 0:
        msg = f"--walk-minutes {value!r}: walk minutes must be > 0"
        raise ScenarioError(msg)
    return key, values


def sweep_points(
    budgets: Sequence[float] | None, walks: Sequence[tuple[str, Sequence[float]]] = ()
) -> list[SweepPoint]:
    """Every combination, ordered by walk setting and then ascending budget."""
    budget_values: list[float | None] = [*sorted(budgets)] if budgets else [None]
    keys = [key for key, _ in walks]
    combos = list(product(*(sorted(values) for _, values in walks))) if walks else [()]
    points: list[SweepPoint] = []
    for combo in combos:
        for budget in budget_values:
            walk = tuple(zip(keys, combo, strict=True))
            points.append(SweepPoint(len(points) + 1, budget, walk))
    return points


@dataclass(frozen=True)
class SweepBase:
    """What every point shares: the scenario, its inputs and the coverage at the longest walks."""

    scenario: Scenario
    inputs: Inputs
    services: tuple[Service, ...]
    coverage: tuple[ServiceCoverage, ...]
    timings_s: dict[str, float] = field(default_factory=dict)
    walk_report: WalkReport | None = None


def prepare_sweep(
    scenario: Scenario,
    points: Sequence[SweepPoint],
    *,
    network_walk: NetworkWalk | None = None,
) -> SweepBase:
    """Read the inputs and compute coverage once, each service at its longest swept threshold.

    Walk times follow the scenario's walk model (straight lines, a street network or a table);
    ``network_walk`` can spread a network's searches over a cluster.
    """
    timings = Timings()
    with timings.phase("read"):
        inputs = read_inputs(scenario)
    longest: dict[str, float] = {}
    for point in points:
        for key, minutes in point.walk_minutes:
            longest[key] = max(longest.get(key, 0.0), minutes)
    services = tuple(
        replace(s, walk_minutes=longest.get(s.key, s.walk_minutes)) for s in scenario.service_list()
    )
    with timings.phase("coverage"):
        coverage, walk_report = compute_coverage(
            inputs,
            services,
            speed_m_per_s=scenario.walk.speed_m_per_s,
            detour_factor=scenario.walk.detour_factor,
            max_snap_m=scenario.walk.max_snap_m,
            off_network=scenario.walk.off_network,
            network_walk=network_walk,
        )
    return SweepBase(scenario, inputs, services, coverage, dict(timings.seconds), walk_report)


def restrict_coverage(
    coverage: ServiceCoverage,
    service: Service,
    *,
    speed_m_per_s: float,
    existing_count: int,
    mobile: NDArray[np.bool_] | None = None,
) -> ServiceCoverage:
    """The coverage of ``service`` (a shorter threshold) from walk times already computed.

    ``coverage`` holds every pair within the longest threshold; the shorter threshold's credit
    (full, decayed, or a mobile outlet's) is recomputed from those walk times alone, without a
    new walk computation. The nearest existing outlet is enough for the "before" credit, which
    falls with the walk.
    """
    metres_per_minute = 60.0 * speed_m_per_s
    walk_m = coverage.minutes.copy()
    walk_m.data = walk_m.data * metres_per_minute
    rows = np.flatnonzero(coverage.existing_index >= 0)
    nearest = sparse.csr_array(
        (
            coverage.existing_minutes[rows] * metres_per_minute,
            (rows, coverage.existing_index[rows]),
        ),
        shape=(coverage.minutes.shape[0], max(existing_count, 1)),
    )
    return service_coverage(
        service,
        walk_m,
        nearest,
        np.arange(max(existing_count, 1), dtype=np.intp),
        speed_m_per_s=speed_m_per_s,
        mobile=mobile,
    )


def point_scenario(base: SweepBase, point: SweepPoint) -> Scenario:
    """The scenario one point stands for: the base with its budget and walk thresholds."""
    walks = dict(point.walk_minutes)
    scenario = base.scenario
    services = [
        s.model_copy(update={"walk_minutes": walks[s.key]}) if s.key in walks else s
        for s in scenario.services
    ]
    listed = {s.key for s in scenario.services}
    # a preset's service without a [[services]] table: a table with its key overrides it
    services += [ServiceSpec(key=k, walk_minutes=v) for k, v in walks.items() if k not in listed]
    budget = scenario.budget if point.budget is None else BudgetSpec(total=point.budget)
    info = scenario.scenario.model_copy(update={"name": f"{scenario.name} {point.label}"})
    updated = scenario.model_copy(update={"services": services, "budget": budget, "scenario": info})
    updated._source = scenario.source
    return updated


def check_points(base: SweepBase, points: Sequence[SweepPoint]) -> None:
    """Raise before any solve if a point's budget cannot pay for a single outlet.

    Costs do not depend on walk thresholds, so the smallest budget decides.

    Raises
    ------
    DataValidationError
        Naming the point and the cheapest outlet.
    """
    budgets = [p for p in points if p.budget is not None]
    if not budgets:
        return
    smallest = min(budgets, key=lambda p: p.budget or 0.0)
    scenario = point_scenario(base, smallest)
    try:
        problem_from_inputs(
            base.inputs,
            base.coverage,
            base.services,
            budget=scenario.budget.total,
            model=scenario.model,
        )
    except DataValidationError as error:
        raise DataValidationError(
            [f"sweep point {smallest.label}: {p}" for p in error.problems]
        ) from None


def solve_point(
    base: SweepBase,
    point: SweepPoint,
    *,
    warm_start: NDArray[np.bool_] | None = None,
    solver: str | None = None,
) -> Run:
    """Solve one point from the shared base; independent of every other point.

    Raises
    ------
    DataValidationError
        If the point's budget cannot pay for any outlet (naming the point).
    """
    scenario = point_scenario(base, point)
    services = scenario.service_list()
    walks = dict(point.walk_minutes)
    mobile = base.inputs.sites.kind == "mobile"
    coverage = tuple(
        restrict_coverage(
            c,
            s,
            speed_m_per_s=s.speed_m_per_s or scenario.walk.speed_m_per_s,
            existing_count=len(base.inputs.existing),
            mobile=mobile,
        )
        if s.key in walks and s.walk_minutes < b.walk_minutes
        else c
        for s, b, c in zip(services, base.services, base.coverage, strict=True)
    )
    timings = Timings()
    try:
        with timings.phase("build"):
            problem = problem_from_inputs(
                base.inputs, coverage, services, budget=scenario.budget.total, model=scenario.model
            )
    except DataValidationError as error:
        raise DataValidationError(
            [f"sweep point {point.label}: {p}" for p in error.problems]
        ) from None
    spec = scenario.solve
    options = SolveOptions(
        time_limit_s=spec.time_limit_s,
        mip_gap=spec.mip_gap,
        threads=spec.threads,
        verbose=spec.verbose,
        warm_start=warm_start,
        heuristic_warm_start=spec.warm_start,
    )
    result = solve(problem, solver=solver or spec.solver, options=options, timings=timings)
    return Run(
        name=scenario.name,
        services=services,
        inputs=base.inputs,
        coverage=coverage,
        problem=problem,
        result=result,
        timings_s={**base.timings_s, **timings.seconds},
        scenario=scenario,
        walk_report=base.walk_report,
    )


def run_sweep(
    base: SweepBase,
    points: Sequence[SweepPoint],
    folder: Path,
    *,
    point_reports: bool = False,
    language: str | None = None,
    progress: Callable[[SweepPoint, Run], None] | None = None,
) -> list[Path]:
    """Solve every point in order and write its result folder under ``folder/points``.

    Each solve is warm-started from the previous point's plan when that plan fits the new
    budget (it is then feasible: only the budget or the thresholds changed).
    """
    from siting.outputs import write_outputs  # outputs imports the report package

    folders = []
    previous: Run | None = None
    for point in points:
        warm = None
        if previous is not None and previous.result.status.has_solution:
            budget = point.budget if point.budget is not None else base.scenario.budget.total
            if budget is None or previous.result.total_cost <= budget:
                warm = previous.result.opened
        run = solve_point(base, point, warm_start=warm)
        path = folder / POINTS / point.label
        write_outputs(run, path, report=point_reports, language=language)
        folders.append(path)
        if progress:
            progress(point, run)
        previous = run
    return folders


# --- aggregation: from result folders only -------------------------------------------------


def sweep_table(folders: Sequence[str | Path]) -> pd.DataFrame:
    """One row per point folder: budget, walk thresholds, status, cost, coverage, marginals.

    Columns: ``point``, ``budget``, ``walk:<key>`` per service, ``status``, ``objective``,
    ``bound``, ``gap``, ``total_cost``, ``sites_used``, ``new_outlets``, ``complete_pct``,
    ``cov:<key>`` (coverage after, %), ``gain:<key>`` (residents gaining), ``plan``
    (``site(service;service) ...``), ``series`` (the walk setting), and per series in budget
    order ``marginal_per_10k``: objective gained per 10,000 of budget since the previous point.
    """
    rows = []
    for folder in folders:
        data = load_result(folder)
        s = data.summary
        row: dict[str, Any] = {
            "point": Path(folder).name,
            "budget": s.get("budget"),
            "status": s.get("status"),
            "objective": s.get("objective"),
            "bound": s.get("bound"),
            "gap": s.get("gap"),
            "total_cost": s.get("total_cost"),
            "sites_used": s.get("sites_used"),
            "new_outlets": s.get("new_outlets"),
            "complete_pct": complete_circle(data).pct_after,
        }
        for info in data.services:
            row[f"walk:{info.key}"] = info.walk_minutes
            row[f"cov:{info.key}"] = info.coverage_pct
            row[f"gain:{info.key}"] = info.gained
        row["plan"] = " ".join(f"{site}({';'.join(svc)})" for site, svc in data.plan.items())
        rows.append(row)
    frame = pd.DataFrame(rows)
    walk_columns = [c for c in frame.columns if c.startswith("walk:")]
    frame["series"] = frame[walk_columns].astype(str).agg(" ".join, axis=1) if walk_columns else ""
    frame = frame.sort_values(["series", "budget"], kind="stable").reset_index(drop=True)
    marginal = []
    for _, part in frame.groupby("series", sort=False):
        budget = part["budget"].astype(float).to_numpy()
        objective = part["objective"].astype(float).to_numpy()
        step = np.diff(budget, prepend=np.nan)
        gained = np.diff(objective, prepend=np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            marginal += list(np.where(step > 0, 10_000 * gained / step, np.nan))
    frame["marginal_per_10k"] = marginal
    return frame


def flattening_budget(part: pd.DataFrame, *, share: float = FLAT_SHARE) -> float | None:
    """The first budget after which a further 10,000 buys less than ``share`` of the first step's.

    None if the curve never flattens that much within the sweep (or has fewer than 3 points).
    """
    marginal = part["marginal_per_10k"].to_numpy(float)
    budgets = part["budget"].to_numpy(float)
    if len(marginal) < 3 or not np.isfinite(marginal[1]) or marginal[1] <= 0:
        return None
    for i in range(2, len(marginal)):
        if np.isfinite(marginal[i]) and marginal[i] < share * marginal[1]:
            return float(budgets[i - 1])
    return None


def write_sweep_report(
    folders: Sequence[str | Path], out: str | Path, *, language: str | None = None
) -> pd.DataFrame:
    """Write sweep.html, sweep.md, sweep.csv, sweep.json and charts/ from the point folders."""
    out = Path(out)
    frame = sweep_table(folders)
    first = load_result(folders[0])
    settings_ = ReportSettings.from_data(first, language=language)
    lang, currency = settings_.language, settings_.currency
    names = labels(first, lang)
    keys = list(names)
    budgets_swept = len(set(frame["budget"].dropna())) > 1
    walk_keys = [k for k in keys if len(set(frame[f"walk:{k}"])) > 1]
    flats = {
        series: flattening_budget(part) if budgets_swept else None
        for series, part in frame.groupby("series", sort=False)
    }
    made = _sweep_charts(frame, names, walk_keys, budgets_swept, flats, lang, currency)
    (out / CHARTS).mkdir(exist_ok=True)
    for chart in made:
        (out / CHARTS / f"{chart.name}.png").write_bytes(chart.png)
    frame.to_csv(out / "sweep.csv", index=False)
    notes = []
    for series, flat in flats.items():
        prefix = f"{_series_label(series, walk_keys, frame, names)}: " if walk_keys else ""
        if flat is not None:
            notes.append(
                prefix
                + text(
                    "flattens",
                    lang,
                    budget=fmt_money(flat, lang, currency),
                    step=ten_thousand(lang, currency),
                    share=fmt_pct(100 * FLAT_SHARE, 0),
                )
            )
        elif budgets_swept:
            notes.append(prefix + text("no_flattening", lang))
    rows = _point_rows(frame, names, walk_keys, lang, currency)
    header = _point_header(names, walk_keys, lang, currency)
    context = {
        "t": lambda key, **v: text(key, lang, **v),
        "lang": lang,
        "name": first.name.rsplit(" ", 1)[0],
        "notes": notes,
        "charts": made,
        "header": header,
        "rows": rows,
        "plans": [
            (p, _named(plan, names, lang))
            for p, plan in zip(frame["point"], frame["plan"], strict=True)
        ],
        "monotone": is_monotone(frame),
    }
    template = environment().get_template("sweep.html.j2")
    (out / "sweep.html").write_text(
        template.render(**context, **common_context(lang)), encoding="utf-8"
    )
    colon = "：" if lang == "zh" else ": "
    md = [f"# {text('sweep_title', lang)}{colon}{context['name']}", ""]
    md += [f"- {n}" for n in notes] + [""]
    md += [f"![{c.title}]({CHARTS}/{c.name}.png)" for c in made] + [""]
    md += [table(header, rows, right=1), ""]
    md += [f"## {text('plan', lang)}", ""]
    plans = list(zip(frame["point"], frame["plan"], strict=True))
    md += [f"- **{p}**: {_named(plan, names, lang) or '–'}" for p, plan in plans] + [""]
    (out / "sweep.md").write_text("\n".join(md), encoding="utf-8")
    (out / SWEEP).write_text(
        json.dumps(
            {
                "points": frame.replace({np.nan: None}).to_dict("records"),
                "flattens_at": flats,
                "monotone_in_budget": context["monotone"],
                "currency": currency,
            },
            indent=2,
            ensure_ascii=False,
            default=_json,
        )
        + "\n",
        encoding="utf-8",
    )
    return frame


def _named(plan: str, names: dict[str, str], language: Language) -> str:
    """``S1(shop;care)`` with display names: ``S1(便利店、养老服务)``."""
    separator = "、" if language == "zh" else ", "

    def services(match: re.Match[str]) -> str:
        keys = match.group(1).split(";")
        return "(" + separator.join(names.get(k, k) for k in keys if k) + ")"

    return re.sub(r"\(([^()]*)\)", services, plan)


def is_monotone(frame: pd.DataFrame) -> bool:
    """True if, within every walk setting, the objective never falls as the budget grows."""
    for _, part in frame.groupby("series", sort=False):
        objective = part["objective"].astype(float).to_numpy()
        if (np.diff(objective) < -1e-6 * np.maximum(1.0, np.abs(objective[:-1]))).any():
            return False
    return True


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    msg = f"cannot write {type(value).__name__} to JSON"
    raise TypeError(msg)


def _series_label(
    series: str, walk_keys: list[str], frame: pd.DataFrame, names: dict[str, str]
) -> str:
    row = frame[frame["series"] == series].iloc[0]
    return ", ".join(f"{names[k]} {row[f'walk:{k}']:g} min" for k in walk_keys)


def _point_header(
    names: dict[str, str], walk_keys: list[str], lang: Language, currency: str
) -> list[str]:
    return [
        text("sweep_point", lang),
        text("budget", lang),
        *(text("walk_minutes_of", lang, service=names[k]) for k in walk_keys),
        text("status", lang),
        text("cost", lang),
        text("weighted_residents", lang),
        text("marginal", lang, step=ten_thousand(lang, currency)),
        text("new_outlets", lang),
        *(names[k] for k in names),
        text("complete_circle", lang),
    ]


def _point_rows(
    frame: pd.DataFrame,
    names: dict[str, str],
    walk_keys: list[str],
    lang: Language,
    currency: str,
) -> list[list[str]]:
    rows = []
    for r in frame.to_dict("records"):
        budget = r["budget"]
        rows.append(
            [
                str(r["point"]).split("_", 1)[0],
                text("no_budget", lang)
                if budget is None or budget != budget
                else fmt_money(budget, lang, currency),
                *(f"{r[f'walk:{k}']:g}" for k in walk_keys),
                status_label(str(r["status"]), lang),
                fmt_money(r["total_cost"], lang, currency),
                fmt_int(r["objective"]),
                fmt_int(r["marginal_per_10k"]),
                fmt_int(r["new_outlets"]),
                *(fmt_pct(r[f"cov:{k}"]) for k in names),
                fmt_pct(r["complete_pct"]),
            ]
        )
    return rows


def _sweep_charts(
    frame: pd.DataFrame,
    names: dict[str, str],
    walk_keys: list[str],
    budgets_swept: bool,
    flats: dict[str, float | None],
    language: Language,
    currency: str,
) -> list[charts.Chart]:
    lang = charts.chart_language(language)
    shown = {k: charts.drawable(names[k], k) for k in names}
    made = []
    if budgets_swept:
        x_label = text("budget", lang)
        groups = list(frame.groupby("series", sort=False))
        if len(groups) == 1:
            part = groups[0][1]
            x = part["budget"].astype(float).tolist()
            lines = [(shown[k], part[f"cov:{k}"].astype(float).tolist()) for k in names]
            lines.append(
                (text("complete_circle", lang), part["complete_pct"].astype(float).tolist())
            )
            flat = flats.get(groups[0][0])
            made.append(
                charts.curve_chart(
                    "sweep_coverage",
                    text("sweep_title", lang),
                    x,
                    lines,
                    xlabel=x_label,
                    ylabel=text("coverage_pct", lang),
                    marker_x=flat,
                    bars=(
                        text("marginal", lang, step=ten_thousand(lang, currency)),
                        np.nan_to_num(part["marginal_per_10k"].to_numpy(float)).tolist(),
                    ),
                    x_formatter=charts.money_formatter(lang, currency, top=max(x, default=0.0)),
                )
            )
        else:
            x = groups[0][1]["budget"].astype(float).tolist()
            lines = [
                (
                    charts.drawable(_series_label(series, walk_keys, frame, shown), series),
                    part["objective"].astype(float).tolist(),
                )
                for series, part in groups
            ]
            made.append(
                charts.curve_chart(
                    "sweep_objective",
                    text("sweep_title", lang),
                    x,
                    lines,
                    xlabel=x_label,
                    ylabel=text("weighted_residents", lang),
                    x_formatter=charts.money_formatter(lang, currency, top=max(x, default=0.0)),
                )
            )
    elif walk_keys:
        key = walk_keys[0]
        x = frame[f"walk:{key}"].astype(float).tolist()
        lines = [(shown[k], frame[f"cov:{k}"].astype(float).tolist()) for k in names]
        made.append(
            charts.curve_chart(
                "sweep_walk",
                text("walk_minutes_of", lang, service=shown[key]),
                x,
                lines,
                xlabel=text("walk_minutes_of", lang, service=shown[key]),
                ylabel=text("coverage_pct", lang),
            )
        )
    return made


__all__ = [
    "SweepBase",
    "SweepPoint",
    "flattening_budget",
    "is_monotone",
    "parse_range",
    "parse_walk",
    "point_scenario",
    "prepare_sweep",
    "restrict_coverage",
    "run_sweep",
    "solve_point",
    "sweep_points",
    "sweep_table",
    "write_sweep_report",
]
