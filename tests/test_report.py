"""report.html and report.md for every run: summary.json's figures, in Chinese or English."""

from __future__ import annotations

import json
import os
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DEMAND, EXISTING, SCENARIO, SITES
from siting.cli import app
from siting.report import charts, load_result, write_report
from siting.report.i18n import fmt_int, fmt_money, fmt_pct, text

runner = CliRunner()

COMMUNITIES = DEMAND.assign(community=["A", "A", "A", "B", "B", "B"])
REPORT = """
[model]
community = "community"

[report]
language = "{language}"
basic_services = ["shop"]
"""


def run_cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def community_scenario(write_scenario, *, budget: float = 300, language: str = "en") -> Path:
    toml = SCENARIO.format(budget=budget) + REPORT.format(language=language)
    return write_scenario(demand=COMMUNITIES, toml=toml)


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    """One run of the tiny scenario with communities, shared by the read-only tests."""
    base = tmp_path_factory.mktemp("report")
    COMMUNITIES.to_csv(base / "demand.csv", index=False)
    SITES.to_csv(base / "sites.csv", index=False)
    EXISTING.to_csv(base / "existing.csv", index=False)
    scenario = base / "scenario.toml"
    scenario.write_text(SCENARIO.format(budget=300) + REPORT.format(language="en"))
    out = base / "out"
    outcome = run_cli("run", scenario, "--out", out, "-q")
    assert outcome.exit_code == 0, outcome.output
    return out


class Figures(HTMLParser):
    """Collects the text of cells marked data-figure, per service row, and check rows."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[tuple[str | None, str], str] = {}
        self.checks: dict[str, str] = {}
        self.community: dict[str, list[str]] = {}
        self._service: str | None = None
        self._figure: str | None = None
        self._community: str | None = None
        self._cell = False
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self._service = a.get("data-service")
            self._community = a.get("data-community")
            if self._community is not None:
                self.community[self._community] = []
            if a.get("data-check"):
                self.checks[a["data-check"] or ""] = a.get("data-status") or ""
        if tag in ("td", "th"):
            self._figure, self._cell, self._text = a.get("data-figure"), True, ""

    def handle_data(self, data: str) -> None:
        if self._cell:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell:
            if self._figure:
                self.figures[(self._service, self._figure)] = self._text.strip()
            if self._community is not None:
                self.community[self._community].append(self._text.strip())
            self._cell = False


def parse(path: Path) -> Figures:
    figures = Figures()
    figures.feed(path.read_text(encoding="utf-8"))
    return figures


def test_every_run_writes_both_reports_and_charts(result):
    assert (result / "report.html").stat().st_size > 100_000  # Leaflet and data are inlined
    charts = sorted(p.name for p in (result / "charts").iterdir())
    assert charts == ["complete_circle.png", "cost.png", "coverage.png", "gain.png"]
    for chart in charts:
        assert (result / "charts" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"charts/{chart}" in (result / "report.md").read_text(encoding="utf-8")


def test_html_is_self_contained(result):
    html = (result / "report.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in html and "L.map(" in html
    # nothing is loaded from elsewhere: no external scripts, styles, images or fonts
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+rel=\"stylesheet\"", html)
    assert not re.search(r"url\((?!data:|#)", html)
    assert "https://unpkg" not in html and "cdn." not in html
    assert "{z}/{x}/{y}" not in html  # no tile layer unless [report] tiles asks for one


def test_html_figures_equal_summary(result):
    summary = json.loads((result / "summary.json").read_text())
    figures = parse(result / "report.html").figures
    for key, s in summary["services"].items():
        assert figures[(key, "coverage_pct")] == fmt_pct(s["coverage_pct"])
        assert figures[(key, "coverage_pct_before")] == fmt_pct(s["coverage_pct_before"])
        assert figures[(key, "gained_population")] == fmt_int(s["gained_population"])
        assert figures[(key, "new_outlets")] == str(s["new_outlets"])
    assert figures[(None, "total_cost")] == f"{summary['total_cost']:,.0f} CNY"
    assert summary["parameters"]["report"]["currency"] == "CNY"  # the default


def test_markdown_figures_equal_summary(result):
    summary = json.loads((result / "summary.json").read_text())
    lines = (result / "report.md").read_text(encoding="utf-8").splitlines()
    for key, s in summary["services"].items():
        row = next(line for line in lines if line.startswith(f"| {s['name']} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[6] == fmt_pct(s["coverage_pct_before"]), key
        assert cells[7].removesuffix(" ⚠") == fmt_pct(s["coverage_pct"]), key
        assert cells[8] == fmt_int(s["gained_population"]), key
    assert f"| {summary['total_cost']:,.0f} CNY |" in "\n".join(lines)


def test_complete_circle_and_communities_by_hand(result):
    """Budget 300 opens shop at s1 and s2: everyone reaches a shop, nobody elder care."""
    summary = json.loads((result / "summary.json").read_text())
    assert {s["site_id"]: s["services"] for s in summary["selected"]} == {
        "s1": ["shop"],
        "s2": ["shop"],
    }
    parsed = parse(result / "report.html")
    # Nobody reaches both services, before or after.
    assert parsed.figures[(None, "complete_after")] == "0.0 %"
    # Community A (d1-d3): shop 0 % -> 100 %; B (d4-d6): 600 of 1,500 before -> 100 %; care 0 %.
    assert parsed.community["A"][:4] == ["A", "600", "100.0 %", "0.0 %"]
    assert parsed.community["B"][:4] == ["B", "1,500", "100.0 %", "0.0 %"]
    # Both communities have >= 80 % of residents with every basic service (shop): 2 of 2.
    assert parsed.checks["communities"] == "pass"
    # One new outlet in each community, below Huai'an's 10 per circle.
    assert parsed.checks["outlets_per_circle"] == "fail"
    # No money went to a quality service.
    assert parsed.checks["basic_first"] == "pass"


def test_complete_circle_recomputed_from_coverage_csv(write_scenario, tmp_path):
    out = tmp_path / "out"
    assert (
        run_cli("run", community_scenario(write_scenario, budget=450), "--out", out, "-q").exit_code
        == 0
    )
    coverage = pd.read_csv(out / "coverage.csv")
    demand = pd.read_csv(out / "demand_points.csv").set_index("demand_id")
    every = coverage.groupby("demand_id")["covered_after"].all()
    expected = 100 * demand["population"][every[every].index].sum() / demand["population"].sum()
    figures = parse(out / "report.html").figures
    assert figures[(None, "complete_after")] == fmt_pct(expected)
    assert expected > 0


def test_chinese_report(write_scenario, tmp_path):
    out = tmp_path / "zh"
    scenario = community_scenario(write_scenario, language="zh")
    assert run_cli("run", scenario, "--out", out, "-q").exit_code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    for phrase in ("一刻钟便民生活圈选址报告", "政策指标检查", "各社区覆盖率", "规划后覆盖率"):
        assert phrase in html and phrase in md
    assert '<html lang="zh-CN">' in html
    # --language overrides the scenario
    out_en = tmp_path / "en"
    assert run_cli("run", scenario, "--out", out_en, "-q", "--language", "en").exit_code == 0
    assert "15-minute living circle siting report" in (out_en / "report.md").read_text()


def test_catalog_names_in_both_languages(write_scenario, tmp_path):
    toml = SCENARIO.format(budget=300).replace('key = "shop"', 'key = "breakfast_shop"')
    toml = toml.replace('key = "care"', 'key = "elder_care"\nname = "老年康护"')
    existing = pd.DataFrame(
        {"id": ["e1"], "x": [502_000.0], "y": [2_900_050.0], "service": ["breakfast_shop"]}
    )
    scenario = write_scenario(toml=toml, existing=existing)
    for language, names in (
        ("zh", ["早餐店", "老年康护"]),
        ("en", ["Breakfast shop (早餐店)", "Elderly care and rehabilitation (老年康护)"]),
    ):
        out = tmp_path / language
        outcome = run_cli("run", scenario, "--out", out, "-q", "--language", language)
        assert outcome.exit_code == 0, outcome.output
        md = (out / "report.md").read_text(encoding="utf-8")
        for name in names:
            assert f"| {name} |" in md


def test_report_rebuilt_from_the_folder_is_identical(result):
    before = (result / "report.md").read_text(encoding="utf-8")
    html = (result / "report.html").read_text(encoding="utf-8")
    write_report(result)
    assert (result / "report.md").read_text(encoding="utf-8") == before
    assert (result / "report.html").read_text(encoding="utf-8") == html


def test_catchments_are_walk_circles(result):
    """Straight-line walks: each catchment is the circle of radius speed x minutes / detour."""
    catchments = json.loads((result / "catchments.geojson").read_text())
    assert {f["properties"]["site_id"] for f in catchments["features"]} == {"s1", "s2"}
    for feature in catchments["features"]:
        assert feature["properties"]["shape"] == "circle"
        _, lat = np.array(feature["geometry"]["coordinates"][0]).T
        # 180 m at 26 N: about 0.00162 degrees of latitude
        assert (lat.max() - lat.min()) / 2 == pytest.approx(180 / 110_800, rel=0.02)
    data = load_result(result)
    assert len(data.catchments["features"]) == 2


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ('language = "zh"\n[model]\ncommunity = "district"', "demand column 'district' not found"),
        ('language = "fr"', "[report] language = 'fr'"),
        ('basic_services = ["bakery"]', "[report] basic_services names bakery"),
        ('tiles = "https://tiles.example/x.png"', "[report] tiles"),
        ('currency = "euro"', "[report] currency: 'euro' is not a currency code"),
    ],
)
def test_bad_report_settings_exit_2_and_write_nothing(write_scenario, tmp_path, report, message):
    toml = SCENARIO.format(budget=300) + f"\n[report]\n{report}\n"
    out = tmp_path / "out"
    outcome = run_cli("run", write_scenario(demand=COMMUNITIES, toml=toml), "--out", out)
    assert outcome.exit_code == 2, outcome.output
    assert message in outcome.output
    assert "Traceback" not in outcome.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_bad_language_option(write_scenario, tmp_path):
    outcome = run_cli("run", write_scenario(), "--out", tmp_path / "o", "--language", "fr")
    assert outcome.exit_code == 2
    assert "--language 'fr'" in outcome.output


def _cjk_font() -> str:
    """The CJK font charts use; skips the test where none is installed (fails in CI)."""
    font = charts.cjk_font()
    if font is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font in CI: .ci/run must install fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    return font


def test_cjk_glyphs_render_in_charts():
    """A Chinese service name is drawn with real glyphs, not empty boxes (tofu)."""
    import matplotlib.pyplot as plt

    font = _cjk_font()

    def draw(text: str) -> np.ndarray:
        fig = plt.figure(figsize=(1.2, 0.5), dpi=100)
        fig.text(0.05, 0.2, text, fontsize=20, family=[charts.BASE_FAMILY, font])
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())[..., 0].copy()
        plt.close(fig)
        return pixels

    glyphs = [draw(c) for c in "菜市场"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matplotlib warns about the missing glyph
        tofu = draw("\ue000")  # a private-use code point: drawn as the missing-glyph box
    for glyph in glyphs:
        assert (glyph < 128).sum() > 20  # ink on the page
        assert not np.array_equal(glyph, tofu)
    assert not np.array_equal(glyphs[0], glyphs[1])
    assert not np.array_equal(glyphs[1], glyphs[2])


# --- money in the scenario's currency --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "language", "currency", "expected"),
    [
        (1_500_000, "en", "CNY", "1,500,000 CNY"),
        (1_500_000, "en", "EUR", "1,500,000 EUR"),
        (1_500_000, "zh", "CNY", "150.0 万元"),
        (9_000, "zh", "CNY", "9,000 元"),
        (1_500_000, "zh", "EUR", "150.0 万 EUR"),
        (9_000, "zh", "USD", "9,000 USD"),
        (None, "en", "EUR", "–"),
    ],
)
def test_fmt_money(value, language, currency, expected):
    assert fmt_money(value, language, currency) == expected


def test_money_axis_names_the_currency_once():
    english = charts.money_formatter("en", "EUR", top=2_000_000)
    assert english(1_500_000, 0) == "1,500k" and english(0, 0) == "0"
    assert english.get_offset() == "EUR"
    chinese = charts.money_formatter("zh", "CNY", top=2_000_000)
    assert chinese(1_500_000, 0) == "150万" and chinese.get_offset() == "元"
    assert charts.money_formatter("zh", "EUR", top=2_000_000).get_offset() == "EUR"
    assert charts.money_formatter("en", "USD", top=500).get_offset() == "USD"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_reports_use_the_scenario_currency(write_scenario, tmp_path, language):
    toml = SCENARIO.format(budget=300) + f'\n[report]\nlanguage = "{language}"\ncurrency = "eur"\n'
    out = tmp_path / "out"
    outcome = run_cli("run", write_scenario(toml=toml), "--out", out, "-q")
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads((out / "summary.json").read_text())
    # recorded with the result, so that reports built from the folder know it
    assert summary["parameters"]["report"]["currency"] == "EUR"
    total = f"{summary['total_cost']:,.0f} EUR"
    html = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert parse(out / "report.html").figures[(None, "total_cost")] == total
    assert f"| {total} |" in md  # the cost table's total
    assert f"| {text('currency', language)} | EUR |" in md
    for page in (html, md):
        assert "CNY" not in page and "元" not in page
    payload = json.loads(
        re.search(r'<script id="map-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert payload["sites"] and all(s["money"]["cost"].endswith(" EUR") for s in payload["sites"])
    # rebuilt from the folder's files alone: the same currency
    (out / "report.md").unlink()
    write_report(out)
    assert (out / "report.md").read_text(encoding="utf-8") == md


def test_communities_check_names_the_model_key(write_scenario, tmp_path):
    """Without communities the check is not applicable and says which key to set."""
    out = tmp_path / "out"
    assert run_cli("run", write_scenario(), "--out", out, "-q").exit_code == 0
    assert parse(out / "report.html").checks["communities"] == "na"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert text("check_no_group", "en") in html
    for language in ("en", "zh"):
        assert "[model] community" in text("check_no_group", language)
        assert "[report] group" not in text("check_no_group", language)


# --- charts: nothing cut off -----------------------------------------------------------------

LONG_NAMES = [
    "Postal and express point (parcel lockers) (邮政快递综合服务点/智能信包箱)",
    "Elderly care and rehabilitation (老年康护/社区养老服务中心)",
    "Convenience store (便利店（社区超市）)",
]


def test_wrap_breaks_between_words_and_chinese_characters():
    _cjk_font()  # widths of Chinese text need its glyphs
    english = LONG_NAMES[0]
    lines = charts.wrap(english, 300, 10).split("\n")
    assert len(lines) == 2
    assert all(charts.text_width(line, 10) <= 300 for line in lines)
    assert " ".join(lines).split() == english.split()  # at spaces: no word is broken
    lines = charts.wrap(english, 150, 10).split("\n")  # the Chinese name is wider than that
    assert all(charts.text_width(line, 10) <= 150 for line in lines)
    assert "".join(lines).replace(" ", "") == english.replace(" ", "")
    chinese = "各业态覆盖率（规划前后）" * 3
    lines = charts.wrap(chinese, 120, 12, weight="bold").split("\n")
    assert len(lines) > 2 and "".join(lines) == chinese
    assert all(charts.text_width(line, 12, weight="bold") <= 120 for line in lines)
    assert not any(line.startswith("）") or line.endswith("（") for line in lines)
    assert (
        charts.wrap("a_service_key_that_cannot_break", 20, 10) == "a_service_key_that_cannot_break"
    )


def svg_text_outside(svg: str) -> list[str]:
    """Lines of an SVG chart's text that reach beyond the chart (horizontal text only)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    width = float(root.attrib["viewBox"].split()[2])
    outside = []
    for node in root.iter("{http://www.w3.org/2000/svg}text"):
        style = dict(
            part.split(":", 1) for part in node.attrib.get("style", "").split(";") if ":" in part
        )
        style = {k.strip(): v.strip() for k, v in style.items()}
        if "rotate(-0 " not in node.attrib.get("transform", "rotate(-0 "):
            continue  # vertical axis labels
        line = "".join(node.itertext())
        size = float(style["font-size"].removesuffix("px"))
        weight = "bold" if style.get("font-weight") == "700" else "normal"
        extent = charts.text_width(line, size, weight=weight) * 72 / 100  # SVG units: points
        x = float(node.attrib["x"])
        left = {"start": x, "middle": x - extent / 2, "end": x - extent}[
            style.get("text-anchor", "start")
        ]
        if left < -1 or left + extent > width + 1:
            outside.append(line)
    return outside


@pytest.mark.parametrize("language", ["en", "zh"])
def test_chart_titles_and_names_stay_inside_the_chart(language):
    """Long titles and service names wrap instead of running off the chart (SVG and PNG)."""
    _cjk_font()  # the names are partly Chinese
    title = text("gain_by_service", language) * 4
    money = [fmt_money(v, language, "EUR") for v in (1_000_000, 200_000, 0)]
    made = [
        charts.coverage_chart(
            LONG_NAMES, [10, 20, 30], [95, 60, 70], target_pct=80, language=language
        ),
        charts.bar_chart("gain", title, LONG_NAMES, [6_389, 914, 0]),
        charts.bar_chart(
            "cost",
            text("cost_breakdown", language),
            LONG_NAMES,
            [1_000_000, 200_000, 0],
            formatter=charts.money_formatter(language, "EUR", top=1_000_000),
            value_labels=money,
        ),
        charts.grouped_chart(
            "compare",
            title,
            LONG_NAMES,
            [(f"alternative with a long name {i}", [90, 50, 10]) for i in range(4)],
            target_pct=80,
        ),
        charts.curve_chart(
            "sweep",
            title,
            [1e6, 2e6, 3e6],
            [(name, [10, 20, 30]) for name in LONG_NAMES * 2],
            xlabel=text("budget", language),
            ylabel=text("coverage_pct", language),
            bars=(text("marginal", language, step="10,000 EUR"), [0, 5, 3]),
            x_formatter=charts.money_formatter(language, "EUR", top=3e6),
        ),
    ]
    for chart in made:
        assert svg_text_outside(chart.svg) == [], chart.name
