"""Planning questions from scenario files, end to end through the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DEMAND, SCENARIO, SITES
from siting.cli import app

runner = CliRunner()
COMMUNITIES = ["east", "east", "east", "west", "west", "far"]


def run(path, out):
    return runner.invoke(app, ["run", str(path), "--out", str(out), "-q"])


def with_model(model: str, *, budget: float = 1000, extra: str = "") -> str:
    return SCENARIO.format(budget=budget) + extra + "\n[model]\n" + model


def demand_with_communities() -> pd.DataFrame:
    return DEMAND.assign(community=COMMUNITIES)


def test_min_cost_reaches_targets_at_least_cost(write_scenario, tmp_path):
    toml = with_model('mode = "min_cost"').replace(
        "fit_out_cost = 50\n", "fit_out_cost = 50\ntarget_pct = 80\n", 1
    )
    result = run(write_scenario(toml=toml), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["mode"] == "min_cost" and summary["objective_name"] == "cost"
    assert summary["services"]["shop"]["coverage_pct"] >= 80
    # shop: 600 already served of 2100; +900 at s2 reaches 71 %, so s1 is needed too: 2 x 150
    assert summary["objective"] == 300 and summary["total_cost"] == 300
    assert [stage["name"] for stage in summary["stages"]] == ["cost", "coverage"]


def test_unreachable_target_exits_3_naming_the_service(write_scenario, tmp_path):
    sites = SITES[SITES["id"] != "s2"]
    toml = with_model('mode = "min_cost"').replace(
        "fit_out_cost = 50\n", "fit_out_cost = 50\ntarget_pct = 90\n", 1
    )
    result = run(write_scenario(toml=toml, sites=sites), tmp_path / "out")
    assert result.exit_code == 3, result.output
    assert "service 'shop': target 90 % cannot be reached" in result.output
    assert "best reachable coverage is 57.14 %" in result.output
    assert not (tmp_path / "out").exists()


def test_circle_with_unknown_service_is_rejected(write_scenario, tmp_path):
    toml = with_model('circle = ["shop", "bakery"]')
    result = run(write_scenario(toml=toml), tmp_path / "out")
    assert result.exit_code == 2
    assert "[model] circle names unknown service(s) bakery" in result.output


def test_equity_column_with_missing_values_is_rejected(write_scenario, tmp_path):
    demand = demand_with_communities()
    demand.loc[2, "community"] = None
    toml = with_model('community = "community"\nequity_min_pct = 10')
    result = run(write_scenario(toml=toml, demand=demand), tmp_path / "out")
    assert result.exit_code == 2
    assert "demand column 'community' is empty at 1 row(s): row 3 (id 'd3')" in result.output


def test_equity_floor_and_community_table(write_scenario, tmp_path):
    toml = with_model('community = "community"\nequity_min_pct = 50', budget=550)
    result = run(write_scenario(toml=toml, demand=demand_with_communities()), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    for community, services in summary["communities"].items():
        for key, shares in services.items():
            assert shares["pct_after"] is None or shares["pct_after"] >= 50, (community, key)


def test_max_min_share_lifts_the_worst_community(write_scenario, tmp_path):
    toml = with_model('mode = "max_min_share"\ncommunity = "community"', budget=450)
    result = run(write_scenario(toml=toml, demand=demand_with_communities()), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["objective_name"] == "min_share"
    worst = min(
        shares["pct_after"]
        for services in summary["communities"].values()
        for shares in services.values()
        if shares["pct_after"] is not None
    )
    assert summary["objective"] == pytest.approx(worst / 100, abs=1e-6)


def test_decisions_and_mobile_outlets(write_scenario, tmp_path):
    sites = SITES.assign(decision=["exclude", "", "must"])
    mobile = pd.DataFrame({"id": ["cart1"], "x": [500_100.0], "y": [2_900_010.0]})
    base = tmp_path / "scn"
    base.mkdir()
    mobile.to_csv(base / "mobile.csv", index=False)
    toml = (
        SCENARIO.format(budget=400)
        .replace('capacity = "max_services"', 'capacity = "max_services"\ndecision = "decision"')
        .replace("fit_out_cost = 50\n", "fit_out_cost = 50\nmobile_cost = 30\n", 1)
    )
    toml += '\n[mobile]\npath = "mobile.csv"\nx = "x"\ny = "y"\ncrs = "EPSG:32650"\n'
    result = run(write_scenario(toml=toml, sites=sites), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    chosen = {s["site_id"]: s for s in summary["selected"]}
    assert "s1" not in chosen and "s3" in chosen  # excluded / must use
    assert chosen["cart1"]["kind"] == "mobile" and chosen["cart1"]["services"] == ["shop"]
    assert chosen["cart1"]["cost"] == 30


def test_min_new_per_community(write_scenario, tmp_path):
    sites = SITES.assign(community=["east", "west", "far"])
    toml = with_model('community = "community"\nmin_new_per_community = 1', budget=1000).replace(
        'capacity = "max_services"', 'capacity = "max_services"\ncommunity = "community"'
    )
    result = run(
        write_scenario(toml=toml, sites=sites, demand=demand_with_communities()), tmp_path / "o"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert {s["site_id"] for s in summary["selected"]} == {"s1", "s2", "s3"}


def test_lexicographic_keeps_the_first_stage(write_scenario, tmp_path):
    toml = with_model('lexicographic = [["care"], ["shop"]]', budget=300)
    result = run(write_scenario(toml=toml), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # care first: 90 (s2) + 60 (s1 or s3) elderly, the most any 300 can buy; then shop coverage
    assert summary["stages"][0]["objective"] == 150
    assert summary["services"]["care"]["covered_population"] == 150
