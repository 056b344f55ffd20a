"""GCJ-02 / BD-09 conversion against published reference pairs, and in scenario tables."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DEMAND, shared_path
from siting.cli import app
from siting.cncoords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


def metres(lon1, lat1, lon2, lat2):
    """Local equirectangular distance, accurate to well below a millimetre at these scales."""
    dx = (np.asarray(lon1) - lon2) * 111_320.0 * np.cos(np.radians(lat2))
    dy = (np.asarray(lat1) - lat2) * 110_574.0
    return np.hypot(dx, dy)


def test_round_trips_are_exact_to_a_millimetre():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(75, 134, 5000), rng.uniform(18, 53, 5000)
    assert metres(*gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)), lon, lat).max() < 1e-3
    assert metres(*bd09_to_wgs84(*wgs84_to_bd09(lon, lat)), lon, lat).max() < 1e-3
    assert metres(*bd09_to_gcj02(*gcj02_to_bd09(lon, lat)), lon, lat).max() < 1e-3


def test_offsets_have_the_documented_size():
    lon, lat = np.array([119.30, 116.40, 114.05]), np.array([26.08, 39.90, 22.55])
    gcj = wgs84_to_gcj02(lon, lat)
    assert metres(*gcj, lon, lat).min() > 200 and metres(*gcj, lon, lat).max() < 800
    bd = wgs84_to_bd09(lon, lat)
    assert metres(*bd, lon, lat).min() > 600 and metres(*bd, lon, lat).max() < 1500


def test_bd09_matches_the_fuzhou_weihai_reference_columns():
    """7,149 compounds published in BD-09 with converted WGS-84 columns (rounded to 1e-6 deg)."""
    path = shared_path("data", "cn-xiaoqu", "xiaoqu_fuzhou_weihai.csv")
    table = pd.read_csv(path).dropna(subset=["lon_bd09", "lat_bd09", "lon_wgs84", "lat_wgs84"])
    assert len(table) > 7000
    converted = to_wgs84(table[["lon_bd09", "lat_bd09"]].to_numpy(), "bd09")
    error = metres(converted[:, 0], converted[:, 1], table["lon_wgs84"], table["lat_wgs84"])
    # the columns were made with the closed-form BD-09 -> GCJ-02 step (within ~0.2 m) and
    # rounded to 1e-6 degrees (~0.08 m); the shift itself is 0.6-1.2 km
    assert np.median(error) < 0.1 and error.max() < 0.3, (np.median(error), error.max())
    shift = metres(table["lon_bd09"], table["lat_bd09"], table["lon_wgs84"], table["lat_wgs84"])
    assert shift.min() > 500 and shift.max() < 1500


def test_bd09_matches_the_xian_baidu_pois():
    """Baidu POIs of Xi'an: the raw BD-09 'location' against the file's WGS-84 columns."""
    path = shared_path("data", "xian-poi", "poi_3_lifeService.csv")
    frame = pd.read_csv(
        path, encoding="gbk", header=None, names=["name", "lon", "lat", "uid", "raw"]
    )
    frame = frame[frame["raw"].astype(str).str.startswith("{")]
    location = pd.DataFrame([ast.literal_eval(r)["location"] for r in frame["raw"]])
    converted = to_wgs84(location[["lng", "lat"]].to_numpy(), "bd09")
    error = metres(
        converted[:, 0], converted[:, 1], frame["lon"].to_numpy(), frame["lat"].to_numpy()
    )
    assert len(frame) > 1000
    # that file's columns come from a one-step approximation (off by up to ~2-3 m)
    assert np.median(error) < 2.0 and error.max() < 5.0, (np.median(error), error.max())


runner = CliRunner()


def lonlat_scenario(write_scenario, demand: pd.DataFrame, coordinates: str, crs: str = ""):
    toml = f"""
    [scenario]
    name = "cn"
    [demand]
    path = "demand.csv"
    x = "lon"
    y = "lat"
    coordinates = "{coordinates}"
    {crs}
    [candidates]
    path = "sites.csv"
    x = "lon"
    y = "lat"
    coordinates = "{coordinates}"
    [walk]
    detour_factor = 1.0
    [[services]]
    key = "shop"
    walk_minutes = 5
    [solve]
    time_limit_s = 10
    """
    sites = demand.iloc[:2].rename(columns={"population": "unused"})
    return write_scenario(demand=demand, sites=sites, toml=toml)


def test_a_scenario_converts_bd09_before_anything_else(write_scenario):
    lon, lat = np.array([119.30, 119.301]), np.array([26.08, 26.081])
    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    demand = pd.DataFrame({"id": ["a", "b"], "lon": bd_lon, "lat": bd_lat, "population": [1, 2]})
    from siting import load_scenario, read_inputs
    from siting.projection import WGS84, transform

    inputs = read_inputs(load_scenario(lonlat_scenario(write_scenario, demand, "bd09")))
    back = transform(inputs.demand.xy, inputs.demand.crs, WGS84)
    assert metres(back[:, 0], back[:, 1], lon, lat).max() < 1e-3


@pytest.mark.parametrize(
    ("lon", "crs", "expect"),
    [
        (24.94, "", "lie outside China"),
        (119.30, 'crs = "EPSG:32650"', "are longitude/latitude, but crs"),
    ],
)
def test_chinese_coordinates_are_checked(write_scenario, lon, crs, expect):
    demand = DEMAND.iloc[:2].assign(lon=[lon, lon + 0.001], lat=[26.08, 26.081])
    scenario = lonlat_scenario(write_scenario, demand, "gcj02", crs)
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2, result.output
    assert expect in result.output
