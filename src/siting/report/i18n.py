"""Words of the reports in Chinese and English, service names from the catalog, number formats.

Reports, tables, chart labels and map legends take every word from :data:`TEXT`, so a report
is entirely in one language (``[report] language = "zh"`` or ``"en"``). Service names come from
the scenario (``[[services]] name``) when it gives one in the report's language, else from the
catalog (``shared/domain/service-catalog.md``), else the key.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from siting.catalog import catalog

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_CURRENCY = "CNY"
"""Money is in CNY unless ``[report] currency`` names another currency."""

TEXT: dict[str, tuple[str, str]] = {
    # (Chinese, English)
    "report_title": ("一刻钟便民生活圈选址报告", "15-minute living circle siting report"),
    "compare_title": ("方案比较", "Alternatives compared"),
    "sweep_title": ("预算与覆盖曲线", "Coverage versus budget"),
    "scenario": ("情景", "Scenario"),
    "generated": ("生成于", "Generated"),
    "key_figures": ("主要指标", "Key figures"),
    "status": ("求解状态", "Solver status"),
    "objective": ("目标值（加权新增覆盖居民）", "Objective (weighted residents newly covered)"),
    "bound": ("上界", "Bound"),
    "gap": ("最优性差距", "Gap"),
    "proven": ("已证明最优", "proven optimal"),
    "not_proven": ("未证明最优", "not proven optimal"),
    "solver": ("求解器", "Solver"),
    "runtime": ("求解时间", "Solver time"),
    "cost": ("投入", "Cost"),
    "budget": ("预算", "Budget"),
    "no_budget": ("不限", "no limit"),
    "currency": ("货币", "Currency"),
    "sites_used": ("使用场地", "Sites used"),
    "new_outlets": ("新增网点", "New outlets"),
    "existing_outlets": ("现有网点", "Existing outlets"),
    "service": ("业态", "Service"),
    "walk_minutes": ("步行时间（分钟）", "Walk (min)"),
    "segment": ("服务人群", "Residents served"),
    "before": ("规划前", "Before"),
    "after": ("规划后", "After"),
    "coverage_before": ("规划前覆盖率", "Coverage before"),
    "coverage_after": ("规划后覆盖率", "Coverage after"),
    "residents_gained": ("新增覆盖居民", "Residents gaining"),
    "residents": ("居民", "Residents"),
    "population": ("人口", "Population"),
    "elderly": ("老年人", "elderly"),
    "children": ("儿童", "children"),
    "all_residents": ("全体居民", "all residents"),
    "coverage_by_service": ("各业态覆盖率（规划前后）", "Coverage per service, before and after"),
    "cost_breakdown": ("投入构成", "Cost breakdown"),
    "gain_by_service": ("各业态新增覆盖居民", "Residents gaining each service"),
    "complete_circle": ("完整生活圈覆盖", "Complete-circle coverage"),
    "complete_circle_note": (
        "步行可达本方案全部业态的居民",
        "residents who reach every service of this plan on foot",
    ),
    "services_reached": ("可达业态数", "Services reached"),
    "fixed_cost": ("场地费用（租赁、改造）", "Site costs (lease, renovation)"),
    "fit_out_cost": ("业态装修费用", "Fit-out per service"),
    "map": ("地图", "Map"),
    "map_note": (
        "圆点为居住小区，颜色表示所选业态的覆盖状态；"
        "圆形标记为现有网点，方形为新增网点；虚线为新增网点的步行服务范围。",
        "Dots are residential compounds, coloured by coverage of the chosen service; circles "
        "are existing outlets, squares new outlets; dashed outlines are the walk-time "
        "catchments of new outlets.",
    ),
    "legend": ("图例", "Legend"),
    "covered_existing": ("已覆盖（现有网点）", "covered by an existing outlet"),
    "covered_new": ("新增覆盖（新网点）", "newly covered (new outlet)"),
    "covered": ("已覆盖", "covered"),
    "not_covered": ("未覆盖", "not covered"),
    "existing_outlet": ("现有网点", "existing outlet"),
    "new_outlet": ("新增网点", "new outlet"),
    "catchment": ("步行服务范围", "walk-time catchment"),
    "show": ("显示", "Show"),
    "view": ("视图", "View"),
    "all_new_sites": ("全部新增场地", "all new sites"),
    "site": ("场地", "Site"),
    "services": ("业态", "Services"),
    "community": ("社区", "Community"),
    "communities": ("社区", "Communities"),
    "community_table": ("各社区覆盖率", "Coverage per community"),
    "community_note": (
        "每格为该社区（所服务人群）步行可达该业态的居民比例；低于目标 {target} 的标红。",
        "Each cell is the share of the community's residents (of the service's target group) "
        "who reach the service on foot; cells below the target of {target} are marked red.",
    ),
    "selected_sites": ("选定场地", "Selected sites"),
    "policy_checks": ("政策指标检查", "Policy checks"),
    "check": ("指标", "Check"),
    "target": ("目标", "Target"),
    "value": ("结果", "Result"),
    "pass": ("达标", "met"),
    "fail": ("未达标", "not met"),
    "na": ("无法判断", "not applicable"),
    "check_communities": (
        "社区覆盖率（福州：建成区80%以上社区）",
        "Communities covered (Fuzhou: 80 %)",
    ),
    "check_communities_detail": (
        "{covered} / {total} 个社区中至少 {resident_target} 的居民步行可达全部基本保障类业态",
        "{covered} of {total} communities where at least {resident_target} of residents reach "
        "every basic service",
    ),
    "check_outlets": (
        "每个生活圈新增网点（淮安：至少10个）",
        "New outlets per circle (Huai'an: 10)",
    ),
    "check_outlets_detail": (
        "{ok} / {total} 个新建网点的生活圈达到 {target} 个；最少 {min}，最多 {max}",
        "{ok} of {total} circles with new outlets reach {target}; fewest {min}, most {max}",
    ),
    "check_outlets_whole": (
        "整个方案作为一个生活圈：新增 {count} 个网点",
        "The whole plan as one circle: {count} new outlets",
    ),
    "check_basic": ("基本保障类业态优先", "Basic services first"),
    "check_basic_ok": (
        "品质提升类业态投入 {quality}；全部基本保障类业态覆盖率达到 {target}",
        "{quality} spent on quality services; every basic service reaches {target}",
    ),
    "check_basic_nothing": (
        "未在品质提升类业态上投入",
        "no money spent on quality services",
    ),
    "check_basic_fail": (
        "品质提升类业态投入 {quality}，而基本保障类业态 {services} 覆盖率低于 {target}",
        "{quality} spent on quality services while basic services {services} are below {target}",
    ),
    "check_basic_none": ("情景中没有基本保障类业态", "the scenario has no basic service"),
    "check_no_group": (
        "需要社区列：在 [model] community 中指定居民数据的社区列",
        "needs a community column: set [model] community (the demand column of communities)",
    ),
    "parameters": ("情景参数", "Scenario parameters"),
    "solver_section": ("求解信息", "Solver"),
    "model_size": ("模型规模", "Model size"),
    "timings": ("各阶段用时（秒）", "Phase times (s)"),
    "walk_speed": ("步行速度（米/秒）", "Walking speed (m/s)"),
    "detour_factor": ("绕行系数", "Detour factor"),
    "priority": ("权重", "Priority"),
    "min_max_new": ("新增数量下限/上限", "Min / max new"),
    "floor_area": ("面积（平方米）", "Floor area (m²)"),
    "description": ("说明", "Description"),
    "time_limit_s": ("时间上限（秒）", "Time limit (s)"),
    "mip_gap_tol": ("允许差距", "Allowed gap"),
    "category": ("类别", "Category"),
    "basic": ("基本保障类", "basic"),
    "quality": ("品质提升类", "quality"),
    "public": ("公共服务", "public"),
    "hub": ("社区商业中心", "hub"),
    "other": ("其他", "other"),
    "total": ("合计", "Total"),
    "alternative": ("方案", "Alternative"),
    "sites_common": ("共同场地", "Sites in common"),
    "sites_only": ("仅此方案的场地", "Sites only in this alternative"),
    "no_differences": (
        "各方案完全相同：没有差异。",
        "The alternatives are identical: no differences.",
    ),
    "differences": ("差异", "Differences"),
    "difference_vs": ("与 {first} 相比", "versus {first}"),
    "sweep_point": ("点", "Point"),
    "marginal": ("边际加权新增覆盖（每{step}）", "Marginal weighted residents per {step}"),
    "flattens": (
        "曲线在预算约 {budget} 处趋平：此后每{step}新增覆盖不足最初的 {share}。",
        "The curve flattens at a budget of about {budget}: beyond it each {step} buys less "
        "than {share} of the residents it first did.",
    ),
    "no_flattening": ("在扫描范围内曲线没有趋平。", "The curve does not flatten within the sweep."),
    "plan": ("方案", "Plan"),
    "weighted_residents": ("加权新增覆盖居民", "Weighted residents newly covered"),
    "coverage_pct": ("覆盖率（%）", "Coverage (%)"),
    "status_optimal": ("最优", "optimal"),
    "status_time_limit": ("达到时间上限", "time limit"),
    "status_feasible": ("可行", "feasible"),
    "status_infeasible": ("不可行", "infeasible"),
    "status_no_solution": ("无解", "no plan"),
    "status_error": ("错误", "error"),
    "fonts_missing": (
        "未找到中文字体，图表中的中文改用英文/代码显示；请安装 fonts-noto-cjk。",
        "No CJK font was found: chart labels fall back to English and keys; install "
        "fonts-noto-cjk.",
    ),
    "community_target": ("社区达标线（居民覆盖比例）", "Community target (share of residents)"),
    "communities_target": ("社区覆盖目标（社区比例）", "Communities target (share of communities)"),
    "outlets_target": ("每个生活圈新增网点目标", "New outlets per circle target"),
    "headline": (
        "本方案投入 {cost}（预算 {budget}），在 {sites} 处场地新增 {outlets} 个网点。"
        "新增覆盖最多的是{best}：{gained} 名居民，覆盖率由 {before} 提高到 {after}。"
        "步行可达全部业态的居民由 {circle_before} 增至 {circle_after}。",
        "The plan spends {cost} (budget {budget}) on {outlets} new outlets at {sites} sites. "
        "The largest gain is {best}: {gained} residents, coverage {before} → {after}. "
        "Residents who reach every service on foot: {circle_before} → {circle_after}.",
    ),
    "objective_coverage": (
        "目标值（加权新增覆盖居民）",
        "Objective (weighted residents newly covered)",
    ),
    "objective_cost": ("目标值（投入）", "Objective (cost)"),
    "objective_circle": (
        "目标值（新增完整生活圈居民）",
        "Objective (residents gaining the complete circle)",
    ),
    "objective_min_share": ("目标值（最差社区覆盖率）", "Objective (worst community share)"),
    "mode": ("规划问题", "Planning question"),
    "stage": ("阶段", "Stage"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "walk_minutes_of": ("{service} 步行分钟", "{service} walk minutes"),
    "charts": ("图表", "Charts"),
    "more": ("展开", "show"),
    "id": ("编号", "ID"),
    "label": ("名称", "Name"),
}


def text(key: str, language: Language, **values: object) -> str:
    """The phrase ``key`` in ``language``, with ``{placeholders}`` filled from ``values``."""
    zh, en = TEXT[key]
    phrase = zh if language == "zh" else en
    return phrase.format(**values) if values else phrase


def has_cjk(value: str) -> bool:
    """True if ``value`` contains a CJK ideograph."""
    return re.search(r"[\u3400-\u9fff\uf900-\ufaff]", value) is not None


def service_label(key: str, name: str | None, language: Language) -> str:
    """A service's display name in ``language``, from the scenario and the catalog.

    Chinese: the scenario's name if it is Chinese, else the catalog's, else the name or key.
    English: the catalog's English name, else the scenario's name if it is not Chinese, else
    the key; a Chinese scenario name is kept in brackets, e.g. ``Breakfast shop (早餐店)``.
    """
    entry = catalog().get(key)
    given = name if name and name != key else None
    if language == "zh":
        if given and has_cjk(given):
            return given
        return (entry.name_zh if entry else None) or given or key
    english = (entry.name_en if entry else None) or (
        given if given and not has_cjk(given) else None
    )
    english = english or key
    return f"{english} ({given})" if given and has_cjk(given) else english


def category(key: str) -> str:
    """The catalog category of a service key: basic, quality, public, hub, or other."""
    entry = catalog().get(key)
    return entry.category if entry else "other"


def segment_label(segment: str, language: Language) -> str:
    """A population segment's name: 全体居民/all residents, 老年人/elderly, ..."""
    if segment == "population":
        return text("all_residents", language)
    if segment in ("elderly", "children"):
        return text(segment, language)
    return segment


def status_label(status: str, language: Language) -> str:
    """A solver status in ``language``."""
    return text(f"status_{status}", language) if f"status_{status}" in TEXT else status


def fmt_int(value: float | None) -> str:
    """``1,234,567``; an en dash for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{round(value):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """``12.3 %``; an en dash for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f} %"


def money_unit(language: Language, currency: str) -> str:
    """The unit money is written in: ``元`` for CNY in Chinese, else the currency code."""
    return "元" if language == "zh" and currency == DEFAULT_CURRENCY else currency


def ten_thousand(language: Language, currency: str) -> str:
    """10,000 of the currency, for rates ("per 10,000"): ``万元``, ``万 EUR``, ``10,000 EUR``."""
    if language == "zh":
        return "万元" if currency == DEFAULT_CURRENCY else f"万 {currency}"
    return f"10,000 {currency}"


def fmt_money(value: float | None, language: Language, currency: str) -> str:
    """Money in ``currency`` (an en dash for a missing value).

    English: ``8,000,000 CNY``, ``1,500,000 EUR``. Chinese counts in 万 (10,000) from 10,000 on,
    as Chinese budgets are written: ``800.0 万元``, ``9,000 元`` for CNY, and ``150.0 万 EUR``,
    ``9,000 EUR`` for other currencies (the code, since 元 means yuan).
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if language == "zh":
        if abs(value) >= 10_000:
            return f"{value / 10_000:,.1f} {ten_thousand(language, currency)}"
        return f"{value:,.0f} {money_unit(language, currency)}"
    return f"{value:,.0f} {currency}"


def fmt_number(value: float | None, digits: int = 1) -> str:
    """A plain number with thousands separators."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"
