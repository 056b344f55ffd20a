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
from siting.report import load_result, write_report
from siting.report.i18n import fmt_int, fmt_pct

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
    for text in ("一刻钟便民生活圈选址报告", "政策指标检查", "各社区覆盖率", "规划后覆盖率"):
        assert text in html and text in md
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


def test_cjk_glyphs_render_in_charts():
    """A Chinese service name is drawn with real glyphs, not empty boxes (tofu)."""
    import matplotlib.pyplot as plt

    from siting.report import charts

    font = charts.cjk_font()
    if font is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font in CI: .ci/run must install fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")

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
