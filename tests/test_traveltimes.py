"""Precomputed travel-time tables: spopt's San Francisco case, consistency, bad ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DEMAND, EXISTING, SCENARIO, SITES
from siting import load_scenario, run_scenario
from siting.cli import app

runner = CliRunner()


def spopt_data() -> Path:
    """spopt's test data folder inside the installed package (skip when absent)."""
    spopt = pytest.importorskip("spopt")
    folder = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
    if not (folder / "SF_network_distance_candidateStore_16_censusTract_205_new.csv").is_file():
        pytest.skip("spopt's San Francisco test data is not installed")
    return folder


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP's, raised inside spopt
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_san_francisco_network_distances_match_spopt_mclp(tmp_path):
    """With spopt's network-distance table as input, 5,000 m and 4 sites: same coverage."""
    pulp = pytest.importorskip("pulp")
    from spopt.locate import MCLP

    data = spopt_data()
    distances = data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
    demand_csv = data / "SF_demand_205_centroid_uniform_weight.csv"
    stores_csv = data / "SF_store_site_16_longlat.csv"
    scenario = tmp_path / "sf.toml"
    scenario.write_text(
        f"""
        [scenario]
        name = "san-francisco"
        [demand]
        path = "{demand_csv}"
        id = "NAME"
        x = "long"
        y = "lat"
        crs = "EPSG:4326"
        population = "POP2000"
        [candidates]
        path = "{stores_csv}"
        id = "NAME"
        x = "long"
        y = "lat"
        crs = "EPSG:4326"
        [walk]
        mode = "table"
        speed_m_per_s = 1.0
        [walk.table]
        path = "{distances}"
        origin = "DestinationName"
        destination = "name"
        metres = "distance"
        [[services]]
        key = "store"
        walk_minutes = {5000 / 60!r}
        max_new = 4
        """.replace("\n        ", "\n")
    )
    run = run_scenario(load_scenario(scenario))
    ours = run.result.summary()["services"]["store"]["covered_population"]

    table = pd.read_csv(distances, dtype={"DestinationName": str})
    cost = table.pivot_table(values="distance", index="DestinationName", columns="name")
    weights = (
        pd.read_csv(demand_csv, dtype={"NAME": str}).set_index("NAME")["POP2000"].loc[cost.index]
    )
    mclp = MCLP.from_cost_matrix(cost.to_numpy(), weights.to_numpy(), 5000.0, 4)
    mclp = mclp.solve(pulp.PULP_CBC_CMD(msg=False))
    theirs = float(pulp.value(mclp.problem.objective))
    assert run.result.status == "optimal"
    assert ours == pytest.approx(theirs)
    assert mclp.perc_cov == pytest.approx(89.75609756097561)  # spopt's own expectation
    assert len(run.result.selected) == 4
    assert run.walk_report is not None and run.walk_report.details["pairs"] == 3280


def straight_line_table(detour: float) -> pd.DataFrame:
    rows = []
    for _, d in DEMAND.iterrows():
        for table in (SITES, EXISTING):
            for _, s in table.iterrows():
                metres = float(np.hypot(d.x - s.x, d.y - s.y)) * detour
                rows.append({"from": d.id, "to": s.id, "minutes": metres / 60.0})
    return pd.DataFrame(rows)


def table_scenario(write_scenario, table: pd.DataFrame, folder: str = "table"):
    toml = SCENARIO.format(budget=300).replace(
        "[walk]\nspeed_m_per_s = 1.0\ndetour_factor = 1.0",
        '[walk]\nspeed_m_per_s = 1.0\n[walk.table]\npath = "times.csv"\norigin = "from"\n'
        'destination = "to"\nminutes = "minutes"',
    )
    assert "[walk.table]" in toml
    path = write_scenario(toml=toml, folder=folder)
    table.to_csv(path.parent / "times.csv", index=False)
    return path


def test_a_table_of_straight_line_times_gives_the_straight_line_plan(write_scenario, tmp_path):
    straight = write_scenario(folder="straight")
    tabled = table_scenario(write_scenario, straight_line_table(1.0))
    for scenario, out in ((straight, "a"), (tabled, "b")):
        result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / out), "-q"])
        assert result.exit_code == 0, result.output
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert b["walk"]["mode"] == "table" and a["walk"]["mode"] == "straight_line"
    assert a["objective"] == b["objective"] == 1500
    assert a["services"] == b["services"]


def test_unlisted_pairs_reach_nothing_and_are_reported(write_scenario):
    table = straight_line_table(1.0)
    table = table[table["from"] != "d6"]
    run = run_scenario(load_scenario(table_scenario(write_scenario, table)))
    assert run.walk_report is not None
    assert run.walk_report.details["demand_unlisted"] == 1
    assert "have no row in the travel-time table" in run.walk_report.warnings[0]
    assert run.result.summary()["services"]["shop"]["covered_population_before"] == 0


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (
            lambda t: t.assign(to=t["to"].replace("s2", "s9")),
            "naming 1 unknown id(s): row 2 = 's9'",
        ),
        (
            lambda t: t.assign(**{"from": t["from"].replace("d1", "x")}),
            "unknown id(s): row 1 = 'x'",
        ),
        (lambda t: t.assign(minutes=-t["minutes"]), "walk times must be numbers >= 0"),
        (lambda t: pd.concat([t, t.iloc[:1]]), "1 pair(s) are listed more than once"),
        (lambda t: t.drop(columns="minutes"), "column 'minutes' (set by [walk.table] minutes)"),
    ],
)
def test_bad_travel_time_tables_exit_2(write_scenario, change, expect):
    scenario = table_scenario(write_scenario, change(straight_line_table(1.0)))
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, result.output
    assert expect in result.output
    assert "times.csv" in result.output
