"""The figures a report shows, computed from a result folder's tables: pure functions.

- :func:`complete_circle`: residents who reach every service (and how many services each
  resident reaches), before and after the plan;
- :func:`community_table`: per community (the demand column named by ``[model] community``),
  the share of residents covered per service, the complete-circle share and the new outlets
  there;
- :func:`policy_checks`: the targets of the pilot plans that the data allows to check.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.report.data import ResultData, ServiceInfo
from siting.report.i18n import (
    DEFAULT_CURRENCY,
    Language,
    category,
    fmt_money,
    fmt_pct,
    service_label,
    text,
)


@dataclass(frozen=True)
class ReportSettings:
    """What a report checks and how it speaks (``[report]`` and ``[model]`` of the scenario).

    ``group`` is ``[model] community``; ``communities_target_pct`` is ``[model]
    community_target_pct`` (80 % when not set, Fuzhou's target); the rest is ``[report]``
    (``currency``: the code of the money's currency, CNY by default).
    """

    language: Language = "en"
    currency: str = DEFAULT_CURRENCY
    group: str | None = None
    resident_share_pct: float = 80.0
    communities_target_pct: float = 80.0
    outlets_per_circle: int = 10
    basic_services: tuple[str, ...] | None = None
    tiles: str | None = None
    tiles_attribution: str = ""
    categories: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: ResultData, *, language: str | None = None) -> ReportSettings:
        """The settings written with a result, ``language`` overriding its language."""
        given = data.report_settings
        model = data.parameters.get("model") or {}
        lang = language or given.get("language") or "en"
        if lang not in ("zh", "en"):
            msg = f"language = {lang!r}; use 'zh' (中文) or 'en' (English)"
            raise ValueError(msg)
        basic = given.get("basic_services")
        categories = {
            str(s["key"]): str(s["category"])
            for s in data.parameters.get("services", [])
            if isinstance(s, dict) and s.get("category")
        }
        return cls(
            language=cast(Language, lang),
            currency=data.currency,
            group=model.get("community"),
            resident_share_pct=float(given.get("resident_share_pct", 80.0)),
            communities_target_pct=float(model.get("community_target_pct") or 80.0),
            outlets_per_circle=int(given.get("outlets_per_circle", 10)),
            basic_services=tuple(basic) if basic is not None else None,
            tiles=given.get("tiles"),
            tiles_attribution=str(given.get("tiles_attribution", "")),
            categories=categories,
        )

    def category(self, key: str) -> str:
        """``basic``, ``quality``, ``public``, ``hub`` or ``other``; basic_services decide first."""
        if self.basic_services is not None:
            if key in self.basic_services:
                return "basic"
            found = self.categories.get(key) or category(key)
            return "other" if found == "basic" else found
        return self.categories.get(key) or category(key)

    def is_basic(self, key: str) -> bool:
        """True for a basic (基本保障类) service."""
        return self.category(key) == "basic"

    def money(self, value: float | None) -> str:
        """Money in the report's language and currency: ``1,500,000 EUR``, ``800.0 万元``."""
        return fmt_money(value, self.language, self.currency)


def labels(data: ResultData, language: Language) -> dict[str, str]:
    """``{service key: display name}`` in ``language``."""
    return {s.key: service_label(s.key, s.name, language) for s in data.services}


def demand_population(data: ResultData) -> pd.Series:
    """Residents per demand point (index ``demand_id``)."""
    if "population" in data.demand and "demand_id" in data.demand:
        return data.demand.set_index("demand_id")["population"].astype(float)
    rows = data.coverage
    everyone = [s.key for s in data.services if s.segment == "population"]
    if not everyone or rows.empty:
        return pd.Series(dtype=float)
    return rows[rows["service"] == everyone[0]].set_index("demand_id")["population"].astype(float)


def covered_matrix(data: ResultData, column: str) -> pd.DataFrame:
    """Demand points x services, True where covered (``covered_before`` or ``covered_after``)."""
    keys = [s.key for s in data.services]
    if data.coverage.empty:
        return pd.DataFrame(columns=keys, dtype=bool)
    table = data.coverage.pivot_table(
        index="demand_id", columns="service", values=column, aggfunc="max", fill_value=False
    )
    return table.reindex(columns=keys, fill_value=False).astype(bool)


@dataclass(frozen=True)
class CompleteCircle:
    """Residents who reach every service on foot, before and after the plan.

    ``reached_before``/``reached_after`` give, for 0..K, the residents who reach exactly that
    many of the K services.
    """

    services: int
    residents: float
    before: float
    after: float
    reached_before: tuple[float, ...]
    reached_after: tuple[float, ...]
    bundle: tuple[str, ...] = ()

    @property
    def pct_before(self) -> float:
        """Share of residents with every service before the plan, in percent."""
        return 100.0 * self.before / self.residents if self.residents > 0 else 0.0

    @property
    def pct_after(self) -> float:
        """Share of residents with every service after the plan, in percent."""
        return 100.0 * self.after / self.residents if self.residents > 0 else 0.0


def complete_circle(data: ResultData) -> CompleteCircle:
    """Residents (all of them, whatever each service's segment) who reach every bundle service.

    The headline figures (``before``, ``after``, ``residents``, ``bundle``) are summary.json's
    ``complete_circle`` (the ``[model] circle`` bundle, every service by default); the counts by
    number of services reached (of all K services) come from coverage.csv.
    """
    population = demand_population(data)
    K = len(data.services)
    counts = {}
    for column in ("covered_before", "covered_after"):
        reached = covered_matrix(data, column).sum(axis=1).reindex(population.index).fillna(0)
        counts[column] = tuple(
            float(population[reached.to_numpy() == n].sum()) for n in range(K + 1)
        )
    given = data.summary.get("complete_circle") or {}
    if "population_after" in given:
        return CompleteCircle(
            services=K,
            residents=float(given["total_population"]),
            before=float(given["population_before"]),
            after=float(given["population_after"]),
            reached_before=counts["covered_before"],
            reached_after=counts["covered_after"],
            bundle=tuple(given.get("services") or [s.key for s in data.services]),
        )
    return CompleteCircle(
        services=K,
        residents=float(population.sum()),
        before=counts["covered_before"][K],
        after=counts["covered_after"][K],
        reached_before=counts["covered_before"],
        reached_after=counts["covered_after"],
        bundle=tuple(s.key for s in data.services),
    )


def natural_key(value: object) -> list[Any]:
    """Sort ``community_2`` before ``community_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(value))]


def site_groups(data: ResultData, group: str) -> pd.Series:
    """The community of every selected site (index ``site_id``).

    The site's own ``group`` column if the candidate table has one, else the community of the
    nearest demand point.
    """
    sites = data.sites
    if sites.empty:
        return pd.Series(dtype=object)
    if group in sites:
        return sites.set_index("site_id")[group].astype(str)
    demand = data.demand
    if demand.empty or group not in demand:
        return pd.Series(dtype=object)
    lat0 = math.radians(float(demand["lat"].mean()))

    def metres(frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [frame["lon"].to_numpy(float) * 111_320 * math.cos(lat0), frame["lat"] * 110_540]
        )

    _, nearest = cKDTree(metres(demand)).query(metres(sites))
    return pd.Series(
        demand[group].astype(str).to_numpy()[nearest], index=sites["site_id"].to_numpy()
    )


def community_table(data: ResultData, settings: ReportSettings) -> pd.DataFrame | None:
    """Per community: residents, share covered per service (before/after), complete circle.

    Columns: ``community``, ``residents``, ``<key>`` (after, %), ``<key>_before`` (%),
    ``complete`` (% of residents reaching every service), ``new_outlets``. Shares count each
    service's target segment (e.g. elderly residents for elder care); a community without
    anyone of a segment shows NaN for that service. None without a group column.
    """
    group = settings.group
    if group is None or data.demand.empty or group not in data.demand:
        return None
    groups = data.demand.set_index("demand_id")[group].astype(str)
    rows = data.coverage.assign(community=data.coverage["demand_id"].map(groups))
    table = pd.DataFrame(index=sorted(groups.unique(), key=natural_key))
    population = demand_population(data)
    table["residents"] = population.groupby(groups).sum()
    given = data.summary.get("communities") or {}
    for s in data.services:
        part = rows[rows["service"] == s.key]
        weight = part.groupby("community")["population"].sum()
        for column, suffix in (("covered_after", ""), ("covered_before", "_before")):
            covered = part["population"].where(part[column], 0.0).groupby(part["community"]).sum()
            share = 100.0 * covered / weight.where(weight > 0)
            if given:  # summary.json's shares (they count partial credit where there is decay)
                pct = "pct_after" if column == "covered_after" else "pct_before"
                share = pd.Series(
                    {c: _nan(given.get(c, {}).get(s.key, {}).get(pct)) for c in table.index}
                )
            table[f"{s.key}{suffix}"] = share
    bundle = list(complete_circle(data).bundle)
    every = covered_matrix(data, "covered_after")[bundle].all(axis=1)
    complete = population.where(every.reindex(population.index).fillna(value=False), 0.0)
    table["complete"] = 100.0 * complete.groupby(groups).sum() / table["residents"]
    outlets = new_outlets_per_group(data, group)
    table["new_outlets"] = outlets.reindex(table.index).fillna(0).astype(int)
    return table.rename_axis("community").reset_index()


def _nan(value: object) -> float:
    return float("nan") if value is None else float(cast(float, value))


def new_outlets_per_group(data: ResultData, group: str) -> pd.Series:
    """New outlets (site x service) per community, by :func:`site_groups`."""
    where = site_groups(data, group)
    if where.empty:
        return pd.Series(dtype=int)
    counts = data.sites.set_index("site_id")["n_services"].astype(int)
    return counts.groupby(where.reindex(counts.index).to_numpy()).sum()


@dataclass(frozen=True)
class Check:
    """One policy target: its name, the target, the result, and met/not met/not applicable."""

    key: str
    label: str
    target: str
    value: str
    status: str  # "pass", "fail" or "na"
    detail: str


def policy_checks(
    data: ResultData, settings: ReportSettings, communities: pd.DataFrame | None
) -> list[Check]:
    """The pilot plans' targets, checked where the data allows.

    1. Communities covered (Fuzhou: 80 % of communities): a community counts as covered when at
       least ``resident_share_pct`` of its residents reach every basic service.
    2. New outlets per circle (Huai'an: at least 10): each community that receives new outlets
       is taken as a pilot circle; without communities the whole plan is one circle.
    3. Basic services first (national three-year plan): no money on quality services while a
       basic service is below ``resident_share_pct`` of its residents.
    """
    lang = settings.language
    services = data.services
    basic = [s for s in services if settings.is_basic(s.key)]
    resident_target = fmt_pct(settings.resident_share_pct, 0)
    checks = []
    # 1. communities covered
    label = text("check_communities", lang)
    target = f"≥ {fmt_pct(settings.communities_target_pct, 0)}"
    if communities is None or communities.empty:
        checks.append(Check("communities", label, target, "–", "na", text("check_no_group", lang)))
    elif not basic:
        checks.append(
            Check("communities", label, target, "–", "na", text("check_basic_none", lang))
        )
    else:
        live = communities[communities["residents"] > 0]
        shares = live[[s.key for s in basic]].fillna(100.0)
        ok = int((shares >= settings.resident_share_pct - 1e-9).all(axis=1).sum())
        pct = 100.0 * ok / len(live) if len(live) else 0.0
        checks.append(
            Check(
                "communities",
                label,
                target,
                fmt_pct(pct),
                "pass" if pct >= settings.communities_target_pct - 1e-9 else "fail",
                text(
                    "check_communities_detail",
                    lang,
                    covered=ok,
                    total=len(live),
                    resident_target=resident_target,
                ),
            )
        )
    # 2. new outlets per circle
    label = text("check_outlets", lang)
    target = f"≥ {settings.outlets_per_circle}"
    per_group = (
        new_outlets_per_group(data, settings.group)
        if communities is not None and settings.group
        else pd.Series(dtype=int)
    )
    per_group = per_group[per_group > 0]
    if len(per_group):
        ok = int((per_group >= settings.outlets_per_circle).sum())
        checks.append(
            Check(
                "outlets_per_circle",
                label,
                target,
                f"{ok} / {len(per_group)}",
                "pass" if ok == len(per_group) else "fail",
                text(
                    "check_outlets_detail",
                    lang,
                    ok=ok,
                    total=len(per_group),
                    target=settings.outlets_per_circle,
                    min=int(per_group.min()),
                    max=int(per_group.max()),
                ),
            )
        )
    else:
        count = int(data.summary.get("new_outlets", 0))
        checks.append(
            Check(
                "outlets_per_circle",
                label,
                target,
                str(count),
                "pass" if count >= settings.outlets_per_circle else "fail",
                text("check_outlets_whole", lang, count=count),
            )
        )
    # 3. basic services first
    label = text("check_basic", lang)
    target = text("basic", lang)
    if not basic:
        checks.append(
            Check("basic_first", label, target, "–", "na", text("check_basic_none", lang))
        )
    else:
        quality_money = sum(
            (s.fit_out_cost or 0.0) * s.new_outlets
            for s in services
            if not settings.is_basic(s.key)
        )
        lagging = [s for s in basic if s.coverage_pct < settings.resident_share_pct - 1e-9]
        names = "、".join(service_label(s.key, s.name, lang) for s in lagging)
        if quality_money <= 0:
            status, detail = "pass", text("check_basic_nothing", lang)
        elif not lagging:
            status = "pass"
            detail = text(
                "check_basic_ok",
                lang,
                quality=settings.money(quality_money),
                target=resident_target,
            )
        else:
            status = "fail"
            detail = text(
                "check_basic_fail",
                lang,
                quality=settings.money(quality_money),
                services=names,
                target=resident_target,
            )
        checks.append(
            Check("basic_first", label, target, settings.money(quality_money), status, detail)
        )
    return checks


def cost_by_service(data: ResultData) -> tuple[float, dict[str, float]]:
    """Site costs and fit-out money per service: ``(fixed, {key: fit-out})``.

    Fit-out per service is the service's ``fit_out_cost`` times its new outlets; without the
    parameters (older folders) the fit-out total is reported under the key ``""``.
    """
    breakdown = data.summary.get("cost_breakdown", {})
    fixed = float(breakdown.get("fixed") or 0.0)
    services = data.services
    if all(s.fit_out_cost is not None for s in services):
        return fixed, {s.key: (s.fit_out_cost or 0.0) * s.new_outlets for s in services}
    return fixed, {"": float(breakdown.get("fit_out") or 0.0)}


def gains_per_site(data: ResultData) -> dict[tuple[str, str], float]:
    """Residents newly covered for whom a new outlet is the nearest: ``{(site, service): n}``."""
    rows = data.coverage
    if rows.empty:
        return {}
    new = rows[(rows["served_by_kind"] == "new") & ~rows["covered_before"]]
    sums = new.groupby(["served_by", "service"])["population"].sum()
    return {(str(site), str(key)): float(v) for (site, key), v in sums.items()}


def service_rows(data: ResultData, language: Language) -> list[dict[str, Any]]:
    """One dict per service for tables: label, walk, segment, before/after, gain, outlets."""
    names = labels(data, language)
    return [
        {
            "key": s.key,
            "label": names[s.key],
            "info": s,
            "category": category(s.key),
        }
        for s in data.services
    ]


def service_by_key(data: ResultData) -> dict[str, ServiceInfo]:
    """``{key: ServiceInfo}``."""
    return {s.key: s for s in data.services}
