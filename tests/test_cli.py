"""The command line end to end: exit codes, messages, and what is (not) written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DEMAND, EXISTING, SITES
from siting.cli import app

runner = CliRunner()


def run_cli(*args: str):
    return runner.invoke(app, list(map(str, args)))


def test_run_writes_every_output(write_scenario, tmp_path):
    scenario = write_scenario(budget=300)
    out = tmp_path / "out"
    result = run_cli("run", scenario, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "catchments.geojson",
        "charts",
        "coverage.csv",
        "demand_points.csv",
        "existing_outlets.csv",
        "report.html",
        "report.md",
        "selected_sites.csv",
        "selected_sites.gpkg",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["proven_optimal"]
    assert summary["objective"] == 1500 and summary["gap"] == 0
    assert summary["total_cost"] == 300 and summary["budget"] == 300
    assert {s["site_id"]: s["services"] for s in summary["selected"]} == {
        "s1": ["shop"],
        "s2": ["shop"],
    }
    shop = summary["services"]["shop"]
    assert shop["coverage_pct_before"] == pytest.approx(100 * 600 / 2100, abs=1e-3)
    assert (
        shop["coverage_pct"] == 100 and shop["new_outlets"] == 2 and shop["existing_outlets"] == 1
    )
    assert set(summary["timings_s"]) == {
        "read",
        "coverage",
        "build",
        "solve",
        "verify",
        "write",
        "report",
    }
    assert "weighted residents newly covered: 1,500.0   bound 1,500.0" in result.output


def test_outputs_agree_with_an_independent_recomputation(write_scenario, tmp_path):
    """Coverage recomputed from the input tables and selected_sites.csv equals summary.json."""
    scenario = write_scenario(budget=450)
    out = tmp_path / "out"
    assert run_cli("run", scenario, "--out", out, "-q").exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    chosen = pd.read_csv(out / "selected_sites.csv")
    coverage = pd.read_csv(out / "coverage.csv", keep_default_na=False)
    weights = {"shop": DEMAND["population"].to_numpy(), "care": DEMAND["pop_60plus"].to_numpy()}
    demand_xy = DEMAND[["x", "y"]].to_numpy()
    for key in ("shop", "care"):
        rows = chosen[chosen["services"].str.split(";").apply(lambda s, key=key: key in s)]
        sites_xy = SITES.set_index("id").loc[rows["site_id"], ["x", "y"]].to_numpy()
        outlets_xy = EXISTING.loc[EXISTING["service"] == key, ["x", "y"]].to_numpy()
        all_xy = np.vstack([sites_xy, outlets_xy]).reshape(-1, 2)
        dist = np.hypot(*(demand_xy[:, None, :] - all_xy[None, :, :]).transpose(2, 0, 1))
        covered = (dist <= 180 + 1e-9).any(axis=1)
        assert summary["services"][key]["covered_population"] == pytest.approx(
            weights[key][covered].sum()
        )
        table = coverage[coverage["service"] == key]
        assert table["covered_after"].astype(str).eq("True").to_numpy().tolist() == covered.tolist()


def test_validate(write_scenario):
    result = run_cli("validate", write_scenario())
    assert result.exit_code == 0, result.output
    assert "demand points" in result.output and "6" in result.output


def bad_case(name):
    """(table changes, expected message) for each kind of bad input."""
    demand, sites, existing = DEMAND.copy(), SITES.copy(), EXISTING.copy()
    toml = None
    match name:
        case "missing column":
            demand = demand.rename(columns={"population": "pop"})
            expect = "column 'population' .* not found"
        case "duplicate ids":
            sites.loc[2, "id"] = "s1"
            expect = "duplicate id.*'s1' at rows 1, 3"
        case "nan coordinates":
            demand["x"] = demand["x"].astype(object)
            demand.loc[3, "x"] = ""
            expect = r"row 4 \(id 'd4'\)"
        case "degrees under a projected crs":
            sites["x"], sites["y"] = 119.3, 26.1
            expect = "look like longitude/latitude degrees"
        case "negative population":
            demand.loc[1, "population"] = -5
            expect = r"row 2 \(id 'd2'\) = -5;.*residents must be numbers >= 0"
        case "unknown service in existing":
            existing.loc[0, "service"] = "bakery"
            expect = "service that is not in the scenario: row 1 .* = 'bakery'"
        case "walk minutes zero":
            from conftest import SCENARIO

            toml = SCENARIO.format(budget=300).replace(
                "walk_minutes = 3          # 180 m", "walk_minutes = 0"
            )
            expect = r"\[\[services\]\] #1 \(key 'shop'\) walk_minutes = 0"
        case "budget below cheapest outlet":
            from conftest import SCENARIO

            toml = SCENARIO.format(budget=100)
            expect = "budget = 100 is below the cheapest possible outlet: 150"
        case "missing file":
            from conftest import SCENARIO

            toml = SCENARIO.format(budget=300).replace('path = "sites.csv"', 'path = "nowhere.csv"')
            expect = "file not found: .*nowhere.csv"
        case "out of range latitude":
            from conftest import SCENARIO

            toml = SCENARIO.format(budget=300).replace('crs = "EPSG:32650"', 'crs = "EPSG:4326"', 1)
            demand["x"], demand["y"] = 119.3, [26.0, 95.0, 26.0, 26.0, 26.0, 26.0]
            expect = r"row 2 \(id 'd2'\) = 95; out of range"
    return demand, sites, existing, toml, expect


BAD = [
    "missing column",
    "duplicate ids",
    "nan coordinates",
    "degrees under a projected crs",
    "negative population",
    "unknown service in existing",
    "walk minutes zero",
    "budget below cheapest outlet",
    "missing file",
    "out of range latitude",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_exits_2_and_writes_nothing(case, write_scenario, tmp_path):
    demand, sites, existing, toml, expect = bad_case(case)
    scenario = write_scenario(demand=demand, sites=sites, existing=existing, toml=toml)
    out = tmp_path / "out"
    result = run_cli("run", scenario, "--out", out, "-q")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines, result.output
    import re

    assert any(re.search(expect, line) for line in lines), result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))  # no staging folder left behind


def test_infeasible_exits_3(write_scenario, tmp_path):
    from conftest import SCENARIO

    toml = SCENARIO.format(budget=300).replace(
        "fit_out_cost = 50\n", "fit_out_cost = 50\nmin_new = 3\n", 1
    )
    out = tmp_path / "out"
    result = run_cli("run", write_scenario(toml=toml), "--out", out, "-q")
    assert result.exit_code == 3, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "infeasible" and summary["selected"] == []


def test_refuses_to_replace_a_folder_that_is_not_a_result(write_scenario, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = run_cli("run", write_scenario(), "--out", out, "-q")
    assert result.exit_code == 2 and "not a siting result folder" in result.output
    assert (out / "notes.txt").read_text() == "keep me"


def test_rerun_replaces_an_earlier_result(write_scenario, tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", write_scenario(budget=300), "--out", out, "-q").exit_code == 0
    assert run_cli("run", write_scenario(budget=450), "--out", out, "-q").exit_code == 0
    assert json.loads((out / "summary.json").read_text())["budget"] == 450


def test_option_overrides(write_scenario, tmp_path):
    result = run_cli("run", write_scenario(), "--out", tmp_path / "o", "--time-limit", "-1")
    assert result.exit_code == 2


def test_console_script_demo(tmp_path):
    """The installed `siting` command runs the demo scenario to a proven optimum."""
    out = tmp_path / "demo"
    demo = Path(__file__).resolve().parents[1] / "scenarios" / "demo" / "scenario.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "siting", "run", str(demo), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["gap"] <= 1e-9
    assert summary["verification"]["ok"]
    assert summary["total_cost"] <= summary["budget"]
    assert_demo_coverage_recomputed(demo, out, summary)


def test_time_limited_run_says_so_and_hints_lpfirst(tmp_path):
    """A run stopped at its time limit exits 0, says the plan is unproven and names lpfirst."""
    demo = Path(__file__).resolve().parents[1] / "scenarios" / "demo" / "scenario.toml"
    result = run_cli("run", demo, "--out", tmp_path / "o", "--time-limit", "0.05")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["status"] == "time_limit" and summary["gap"] > 0
    assert "not proven optimal" in result.output and '"lpfirst"' in result.output


def assert_demo_coverage_recomputed(scenario_path: Path, out: Path, summary: dict) -> None:
    """Recompute every service's coverage from the CSV tables with geodesic distances.

    Independent of siting's projection and KD-tree: pyproj.Geod on the WGS 84 ellipsoid. Pairs
    within 1e-5 (relative) of the threshold are ambiguous between the two computations, so the
    reported figure must lie between the strict and the loose count.
    """
    import tomllib

    from pyproj import Geod

    config = tomllib.loads(scenario_path.read_text())
    data = scenario_path.parent
    demand = pd.read_csv(data / config["demand"]["path"])
    existing = pd.read_csv(data / config["existing"]["path"])
    chosen = pd.read_csv(out / "selected_sites.csv")
    detour = config["walk"]["detour_factor"]
    geod = Geod(ellps="WGS84")
    for service in config["services"]:
        key = service["key"]
        speed = service.get("speed_m_per_s", config["walk"]["speed_m_per_s"])
        limit = service["walk_minutes"] * 60 * speed
        opened = chosen[chosen["services"].str.split(";").apply(lambda s, key=key: key in s)]
        outlets = existing[existing["service"] == key]
        lon = np.concatenate([opened["lon"], outlets["lon"]])
        lat = np.concatenate([opened["lat"], outlets["lat"]])
        lon1, lon2 = np.meshgrid(demand["lon"], lon, indexing="ij")
        lat1, lat2 = np.meshgrid(demand["lat"], lat, indexing="ij")
        _, _, metres = geod.inv(lon1, lat1, lon2, lat2)
        walk = np.asarray(metres).reshape(len(demand), -1) * detour
        weight = demand[
            config["demand"]["segments"][service["segment"]]
            if service.get("segment")
            else "population"
        ]
        strict = weight[(walk <= limit * (1 - 1e-5)).any(axis=1)].sum()
        loose = weight[(walk <= limit * (1 + 1e-5)).any(axis=1)].sum()
        reported = summary["services"][key]["covered_population"]
        assert strict - 1e-6 <= reported <= loose + 1e-6, (key, strict, reported, loose)


def test_catalog_lists_services_and_presets():
    result = run_cli("catalog")
    assert result.exit_code == 0
    assert "vegetable_market" in result.output and "菜市场" in result.output
    presets = run_cli("catalog", "--presets")
    assert "huaian" in presets.output and ">= 10 new outlets per community" in presets.output


def test_new_writes_a_starter_scenario_that_validates(tmp_path):
    path = tmp_path / "plan.toml"
    assert run_cli("new", path, "--preset", "huaian").exit_code == 0
    text = path.read_text()
    assert 'key = "convenience_store"' in text and "walk_minutes = 5" in text
    demo_data = Path(__file__).resolve().parents[1] / "scenarios" / "demo" / "data"
    text = text.replace('"data/', f'"{demo_data}/')
    path.write_text(text)
    result = run_cli("validate", path)
    assert result.exit_code == 0, result.output
    assert run_cli("new", path).exit_code == 2  # never overwrites


def test_preset_services_inherit_catalog_defaults(write_scenario, tmp_path):
    from conftest import SCENARIO

    toml = SCENARIO.format(budget=300).replace('name = "tiny"', 'name = "tiny"\npreset = "huaian"')
    scenario = siting_load(write_scenario(toml=toml))
    keys = [s.key for s in scenario.service_list()]
    assert keys[:3] == ["convenience_store", "vegetable_market", "supermarket"]
    assert {s.key: s.walk_minutes for s in scenario.service_list()}["supermarket"] == 15


def siting_load(path):
    from siting import load_scenario

    return load_scenario(path)
