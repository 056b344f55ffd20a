"""The HTML pages in headless Chromium: they render, offline, with no console errors.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); the tests skip
when they are absent. Set ``SITING_SCREENSHOTS=DIR`` to keep the screenshots for a look.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DEMO, SCENARIO
from siting.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs chromium and chromium-driver (Debian)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1300,2400",
]
runner = CliRunner()


def cli(*args: object) -> None:
    outcome = runner.invoke(app, [str(a) for a in args])
    assert outcome.exit_code == 0, outcome.output


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The demo's report (Chinese), an English one, a comparison and a sweep."""
    root = tmp_path_factory.mktemp("pages")
    demo = root / "demo"
    cli("run", DEMO, "--out", demo, "-q")
    english = root / "demo-en"
    shutil.copytree(demo, english)
    from siting.report import write_report

    write_report(english, language="en")
    cli("compare", demo, english, "--out", root / "compare", "-q")
    tiny = root / "tiny"
    tiny.mkdir()
    from conftest import DEMAND, EXISTING, SITES

    DEMAND.to_csv(tiny / "demand.csv", index=False)
    SITES.to_csv(tiny / "sites.csv", index=False)
    EXISTING.to_csv(tiny / "existing.csv", index=False)
    (tiny / "scenario.toml").write_text(SCENARIO.format(budget=300), encoding="utf-8")
    cli("sweep", tiny / "scenario.toml", "--budget", "150:600:4", "--out", root / "sweep", "-q")
    # long service names (English with the Chinese in brackets), money in euros
    toml = SCENARIO.format(budget=300).replace('key = "shop"', 'key = "express_point"')
    toml = toml.replace('key = "care"', 'key = "elder_care"\nname = "老年康护/社区养老服务中心"')
    (tiny / "long.toml").write_text(toml + '\n[report]\ncurrency = "EUR"\n', encoding="utf-8")
    EXISTING.assign(service="express_point").to_csv(tiny / "existing.csv", index=False)
    cli("run", tiny / "long.toml", "--out", root / "long", "-q", "--language", "en")
    return {
        "report": demo / "report.html",
        "report_en": english / "report.html",
        "long": root / "long" / "report.html",
        "compare": root / "compare" / "compare.html",
        "sweep": root / "sweep" / "sweep.html",
        "summary": demo / "summary.json",
    }


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def open_page(driver, path: Path, name: str) -> dict[str, object]:
    """Load a page; return its console messages, requested URLs and a screenshot path."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)
    time.sleep(0.5)
    console = driver.get_log("browser")
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    shot = path.with_name(f"{name}.screenshot.png")
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1300, min(int(height), 6000))
    driver.save_screenshot(str(shot))
    keep = os.environ.get("SITING_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return {"console": console, "urls": urls, "shot": shot}


def assert_offline_and_clean(page: dict[str, object], path: Path) -> None:
    errors = [e for e in page["console"] if e["level"] in ("SEVERE", "WARNING")]
    assert errors == [], errors
    # the page itself and inline data: URIs only: no network, no other file
    others = [
        u
        for u in page["urls"]
        if not u.startswith(("data:", "chrome://")) and u != path.resolve().as_uri()
    ]
    assert others == [], others
    assert Path(page["shot"]).stat().st_size > 10_000


def test_report_map_and_charts_render(browser, pages):
    page = open_page(browser, pages["report"], "report")
    assert_offline_and_clean(page, pages["report"])
    summary = json.loads(pages["summary"].read_text())
    ready = browser.execute_script("return document.getElementById('map').dataset.ready")
    assert ready == "1"
    size = browser.execute_script(
        "var r = document.querySelector('#map canvas').getBoundingClientRect();"
        "return [r.width, r.height];"
    )
    assert size[0] > 600 and size[1] > 400
    # the squares on the map are the new outlets of the chosen (first) service
    first = next(iter(summary["services"].values()))
    squares = browser.execute_script("return document.querySelectorAll('.new-icon').length")
    assert squares == first["new_outlets"]
    # switch to every other service: the map redraws its outlets, without errors
    for k, service in enumerate(summary["services"].values()):
        browser.execute_script(
            "var s = document.getElementById('svc'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change'));",
            str(k),
        )
        squares = browser.execute_script("return document.querySelectorAll('.new-icon').length")
        assert squares == service["new_outlets"]
    charts = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.chart svg'))"
        ".map(s => s.getBoundingClientRect().width)"
    )
    assert len(charts) == 4 and min(charts) > 300
    assert browser.get_log("browser") == []


def test_english_report_renders(browser, pages):
    page = open_page(browser, pages["report_en"], "report_en")
    assert_offline_and_clean(page, pages["report_en"])
    assert "siting report" in browser.title


def test_comparison_renders(browser, pages):
    page = open_page(browser, pages["compare"], "compare")
    assert_offline_and_clean(page, pages["compare"])
    identical = browser.execute_script(
        "return document.getElementById('differences').dataset.identical"
    )
    assert identical == "true"
    markers = browser.execute_script("return document.querySelectorAll('#map path').length")
    assert markers > 0


def test_sweep_renders(browser, pages):
    page = open_page(browser, pages["sweep"], "sweep")
    assert_offline_and_clean(page, pages["sweep"])
    assert (
        browser.execute_script("return document.querySelectorAll('figure.chart svg').length") == 1
    )
    monotone = browser.execute_script(
        "return document.getElementById('sweep-table').dataset.monotone"
    )
    assert monotone == "true"


@pytest.mark.parametrize("page", ["report", "report_en", "long", "compare", "sweep"])
def test_chart_text_is_not_cut_off(browser, pages, page):
    """Every title, name, label and legend entry of every chart lies inside its chart."""
    open_page(browser, pages[page], f"{page}-charts")
    outside = browser.execute_script(
        "var out = [];"
        "document.querySelectorAll('figure.chart svg').forEach(function (svg) {"
        "  var box = svg.getBoundingClientRect();"
        "  svg.querySelectorAll('text').forEach(function (t) {"
        "    var r = t.getBoundingClientRect();"
        "    if (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 ||"
        "        r.top < box.top - 1 || r.bottom > box.bottom + 1)) { out.push(t.textContent); }"
        "  });"
        "});"
        "return out;"
    )
    assert outside == []
    assert browser.execute_script("return document.querySelectorAll('figure.chart svg').length")
