"""siting compare and siting sweep: alternatives side by side, coverage-versus-budget curves."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import SCENARIO
from siting import load_scenario
from siting.cli import app
from siting.coverage import coverage_from_points
from siting.pipeline import read_inputs
from siting.report.sweep import (
    flattening_budget,
    parse_range,
    prepare_sweep,
    restrict_coverage,
    solve_point,
    sweep_points,
)

runner = CliRunner()


def run_cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


# --- compare --------------------------------------------------------------------------------


def test_a_scenario_compared_with_itself_shows_no_differences(write_scenario, tmp_path):
    scenario = write_scenario(budget=450)
    out = tmp_path / "cmp"
    outcome = run_cli("compare", scenario, scenario, "--out", out, "-q")
    assert outcome.exit_code == 0, outcome.output
    assert "no differences" in outcome.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["identical"] is True
    assert comparison["differences"] == {"tiny #2": []}
    first, second = comparison["alternatives"]
    assert first["sites"] == second["sites"] and first["coverage_pct"] == second["coverage_pct"]
    assert comparison["only_sites"] == {"tiny": [], "tiny #2": []}
    assert "The alternatives are identical: no differences." in (out / "compare.md").read_text()
    # each solved scenario keeps its own result folder and report
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == 2
    assert all((out / "runs" / r / "report.html").is_file() for r in runs)


def test_alternatives_differ_by_budget(write_scenario, tmp_path):
    """Budget 150 opens shop at s2 only (d4, d5: 900 residents); 300 adds s1 (d1-d3: 600)."""
    low = tmp_path / "low"
    high = tmp_path / "high"
    for budget, out in ((150, low), (300, high)):
        scenario = write_scenario(budget=budget, folder=out.name + "-scn")
        assert run_cli("run", scenario, "--out", out, "-q").exit_code == 0
    out = tmp_path / "cmp"
    outcome = run_cli("compare", low, high, "--out", out, "-q")
    assert outcome.exit_code == 0, outcome.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["identical"] is False
    assert comparison["common_sites"] == ["s2"]
    labels = [a["label"] for a in comparison["alternatives"]]
    assert comparison["only_sites"] == {labels[0]: [], labels[1]: ["s1"]}
    summaries = [json.loads((f / "summary.json").read_text()) for f in (low, high)]
    for alt, summary in zip(comparison["alternatives"], summaries, strict=True):
        assert alt["total_cost"] == summary["total_cost"]
        assert alt["coverage_pct"]["shop"] == summary["services"]["shop"]["coverage_pct"]
    lines = comparison["differences"][labels[1]]
    assert any(line.startswith("shop:") for line in lines)
    assert "sites added: s1" in lines
    md = (out / "compare.md").read_text()
    assert f"| shop | {summaries[0]['services']['shop']['coverage_pct']:.1f} % |" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["only-one.toml"], "compare needs at least two"),
        (["missing-a.toml", "missing-b.toml"], "scenario file not found"),
    ],
)
def test_compare_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "cmp"
    outcome = run_cli("compare", *[tmp_path / a for a in args], "--out", out)
    assert outcome.exit_code == 2, outcome.output
    assert message in outcome.output and "Traceback" not in outcome.output
    assert not out.exists()


def test_compare_refuses_a_folder_that_is_not_its_own(write_scenario, tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    scenario = write_scenario()
    outcome = run_cli("compare", scenario, scenario, "--out", out)
    assert outcome.exit_code == 2
    assert "not an earlier output of this command" in outcome.output
    assert (out / "notes.txt").read_text() == "keep me"


def test_comparison_money_in_each_alternative_currency(write_scenario, tmp_path):
    """Costs in the scenarios' currency; alternatives in different currencies are not charted."""
    euro = SCENARIO.format(budget=300) + '\n[report]\ncurrency = "EUR"\n'
    folders = {}
    for name, toml in (("eur", euro), ("cny", SCENARIO.format(budget=300))):
        folders[name] = tmp_path / name
        scenario = write_scenario(toml=toml, folder=f"{name}-scn")
        assert run_cli("run", scenario, "--out", folders[name], "-q").exit_code == 0
    total = json.loads((folders["eur"] / "summary.json").read_text())["total_cost"]
    same = tmp_path / "same"
    assert run_cli("compare", folders["eur"], folders["eur"], "--out", same, "-q").exit_code == 0
    md = (same / "compare.md").read_text()
    assert f"| {total:,.0f} EUR | {total:,.0f} EUR |" in md and "CNY" not in md
    assert (same / "charts" / "compare_cost.png").is_file()
    comparison = json.loads((same / "comparison.json").read_text())
    assert [a["currency"] for a in comparison["alternatives"]] == ["EUR", "EUR"]
    mixed = tmp_path / "mixed"
    assert run_cli("compare", folders["eur"], folders["cny"], "--out", mixed, "-q").exit_code == 0
    md = (mixed / "compare.md").read_text()
    assert f"| {total:,.0f} EUR | {total:,.0f} CNY |" in md
    assert not (mixed / "charts" / "compare_cost.png").exists()
    comparison = json.loads((mixed / "comparison.json").read_text())
    # the same amount in another currency is a difference
    assert f"Cost: {total:,.0f} EUR → {total:,.0f} CNY" in comparison["differences"]["tiny #2"]


# --- sweep ----------------------------------------------------------------------------------


def test_budget_sweep_is_monotone_and_each_point_equals_a_run(write_scenario, tmp_path):
    scenario = write_scenario(budget=300)
    out = tmp_path / "sweep"
    outcome = run_cli("sweep", scenario, "--budget", "150:600:4", "--out", out, "-q")
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(out / "sweep.csv")
    assert table["budget"].tolist() == [150, 300, 450, 600]
    assert (np.diff(table["objective"]) >= 0).all()
    assert (table["total_cost"] <= table["budget"]).all()
    assert json.loads((out / "sweep.json").read_text())["monotone_in_budget"] is True
    # every point is the plan `siting run` finds for that budget
    for row in table.itertuples():
        single = tmp_path / f"run-{row.budget}"
        scn = write_scenario(budget=row.budget, folder=f"scn-{row.budget}")
        assert run_cli("run", scn, "--out", single, "-q").exit_code == 0
        summary = json.loads((single / "summary.json").read_text())
        assert summary["objective"] == pytest.approx(row.objective)
        point = json.loads((out / "points" / row.point / "summary.json").read_text())
        assert point["objective"] == summary["objective"]
        assert point["services"] == summary["services"]
    # marginal residents per 10,000: objective gained / budget step x 10,000
    steps = np.diff(table["objective"]) / np.diff(table["budget"]) * 10_000
    assert table["marginal_per_10k"].iloc[1:].to_numpy() == pytest.approx(steps)
    md = (out / "sweep.md").read_text()
    assert "charts/sweep_coverage.png" in md and (out / "charts" / "sweep_coverage.png").is_file()


@pytest.mark.parametrize(
    ("language", "marginal"),
    [("en", "Marginal weighted residents per 10,000 EUR"), ("zh", "边际加权新增覆盖（每万 EUR）")],
)
def test_sweep_money_in_the_scenario_currency(write_scenario, tmp_path, language, marginal):
    toml = SCENARIO.format(budget=300) + '\n[report]\ncurrency = "EUR"\n'
    out = tmp_path / "sweep"
    outcome = run_cli(
        "sweep",
        write_scenario(toml=toml),
        "--budget",
        "150:600:4",
        "--out",
        out,
        "-q",
        "--language",
        language,
    )
    assert outcome.exit_code == 0, outcome.output
    assert json.loads((out / "sweep.json").read_text())["currency"] == "EUR"
    md = (out / "sweep.md").read_text()
    html = (out / "sweep.html").read_text()
    for page in (md, html):
        assert marginal in page and "600 EUR" in page
        assert "CNY" not in page and "元" not in page


def test_walk_sweep_reuses_coverage_and_grows_with_the_threshold(write_scenario, tmp_path):
    scenario = write_scenario(budget=300)
    out = tmp_path / "sweep"
    outcome = run_cli("sweep", scenario, "--walk-minutes", "shop=1:3:3", "--out", out, "-q")
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(out / "sweep.csv")
    assert table["walk:shop"].tolist() == [1, 2, 3]
    assert (np.diff(table["cov:shop"]) >= 0).all()
    assert (out / "charts" / "sweep_walk.png").is_file()


@pytest.mark.parametrize("decay", [None, 4.0])
def test_restricted_coverage_equals_coverage_computed_afresh(write_scenario, decay):
    """The 1.5-minute coverage derived from the 3-minute walk times equals a fresh one.

    With a decay band the partial credits must match too.
    """
    toml = SCENARIO.format(budget=300)
    if decay is not None:
        toml = toml.replace('key = "shop"', f'key = "shop"\ndecay_minutes = {decay}')
    scenario = load_scenario(write_scenario(toml=toml))
    points = sweep_points(None, [("shop", [1.5, 3.0])])
    base = prepare_sweep(scenario, points)
    inputs = read_inputs(scenario)
    short = replace(scenario.service_list()[0], walk_minutes=1.5)
    fresh = coverage_from_points(
        inputs.demand,
        inputs.sites,
        inputs.existing,
        [short],
        speed_m_per_s=scenario.walk.speed_m_per_s,
        detour_factor=scenario.walk.detour_factor,
    )[0]
    restricted = restrict_coverage(
        base.coverage[0],
        short,
        speed_m_per_s=scenario.walk.speed_m_per_s,
        existing_count=len(inputs.existing),
    )
    assert base.coverage[0].minutes.nnz >= restricted.minutes.nnz > 0
    for mine, theirs in ((restricted.minutes, fresh.minutes), (restricted.credit, fresh.credit)):
        assert mine.nnz == theirs.nnz
        assert np.allclose((mine - theirs).toarray(), 0)
    assert np.array_equal(restricted.existing_index, fresh.existing_index)
    assert np.allclose(restricted.credit_before, fresh.credit_before)
    # a point solved from the base uses the point's threshold
    run = solve_point(base, points[0])
    assert run.result.services[0].walk_minutes == 1.5


def test_warm_start_from_a_smaller_budget_keeps_the_optimum(write_scenario):
    scenario = load_scenario(write_scenario())
    points = sweep_points([150, 450], [])
    base = prepare_sweep(scenario, points)
    cold = solve_point(base, points[1])
    warm = solve_point(base, points[1], warm_start=solve_point(base, points[0]).result.opened)
    assert warm.result.objective == cold.result.objective
    assert warm.result.status == cold.result.status == "optimal"


def test_flattening_budget():
    table = pd.DataFrame(
        {
            "budget": [0, 10_000, 20_000, 30_000, 40_000],
            "marginal_per_10k": [np.nan, 100, 80, 20, 5],
        }
    )
    assert flattening_budget(table) == 20_000
    table["marginal_per_10k"] = [np.nan, 100, 90, 80, 70]
    assert flattening_budget(table) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "abc"], "--budget 'abc': write FROM:TO:STEPS"),
        (["--budget", "500:100:3"], "need 0 <= FROM <= TO"),
        (["--budget", "100:500:2.5"], "STEPS = 2.5 must be a whole number"),
        (["--budget", "0:600:3"], "sweep point 001_budget-0: budget = 0 is below the cheapest"),
        (["--walk-minutes", "bakery=1:3:3"], "'bakery' is not a service of the scenario"),
        (["--walk-minutes", "shop=0:3:3"], "walk minutes must be > 0"),
        ([], "sweep needs --budget"),
    ],
)
def test_sweep_bad_input_exits_2_and_writes_nothing(write_scenario, tmp_path, args, message):
    out = tmp_path / "sweep"
    outcome = run_cli("sweep", write_scenario(), *args, "--out", out, "-q")
    assert outcome.exit_code == 2, outcome.output
    assert message in outcome.output and "Traceback" not in outcome.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sweep")]


def test_parse_range():
    assert parse_range("--budget", "1_000_000:3_000_000:3") == [1e6, 2e6, 3e6]
    assert parse_range("--budget", "5e5") == [5e5]
