from __future__ import annotations

from pathlib import Path

import pytest

from siting import ScenarioError, load_scenario, scenario_from_dict


def minimal(**changes: object) -> dict:
    data = {
        "scenario": {"name": "t"},
        "demand": {"path": "d.csv", "x": "x", "y": "y", "crs": "EPSG:4326"},
        "candidates": {"path": "s.csv", "x": "x", "y": "y", "crs": "EPSG:4326"},
        "services": [{"key": "shop", "walk_minutes": 5}],
    }
    data.update(changes)
    return data


def test_paths_resolve_against_the_scenario_folder(write_scenario):
    path = write_scenario()
    scenario = load_scenario(path)
    assert scenario.demand.path == path.parent / "demand.csv"
    assert scenario.existing[0].path == path.parent / "existing.csv"
    assert [s.key for s in scenario.services] == ["shop", "care"]
    assert scenario.walk.detour_factor == 1.0


def test_defaults():
    scenario = scenario_from_dict(minimal())
    assert scenario.solve.solver == "highs"
    assert scenario.solve.mip_gap == 0.0
    assert scenario.walk.speed_m_per_s == 1.0
    assert scenario.budget.total is None
    assert scenario.existing == []


def test_unknown_key_is_rejected_with_the_allowed_keys():
    with pytest.raises(
        ScenarioError, match=r"unknown key 'speed' in \[walk\]; allowed keys: speed_m_per_s"
    ):
        scenario_from_dict(minimal(walk={"speed": 1.2}))


def test_unknown_top_level_table_is_rejected():
    with pytest.raises(ScenarioError, match=r"unknown key 'budgt' in the file"):
        scenario_from_dict(minimal(budgt={"total": 5}))


def test_walk_minutes_must_be_positive_and_message_names_the_service():
    bad = minimal(
        services=[{"key": "a", "walk_minutes": 5}, {"key": "pharmacy", "walk_minutes": -5}]
    )
    with pytest.raises(
        ScenarioError,
        match=r"\[\[services\]\] #2 \(key 'pharmacy'\) walk_minutes = -5; must be greater than 0",
    ):
        scenario_from_dict(bad, source="north.toml")


def test_zero_walk_minutes_is_rejected():
    with pytest.raises(ScenarioError, match="walk_minutes = 0"):
        scenario_from_dict(minimal(services=[{"key": "a", "walk_minutes": 0}]))


def test_missing_table_and_key():
    data = minimal()
    del data["candidates"]
    with pytest.raises(ScenarioError, match=r"missing required table \[candidates\]"):
        scenario_from_dict(data)
    data = minimal(demand={"x": "x", "y": "y", "crs": "EPSG:4326"})
    with pytest.raises(ScenarioError, match=r"\[demand\] is missing required key 'path'"):
        scenario_from_dict(data)


def test_duplicate_service_keys_and_unknown_segment():
    with pytest.raises(ScenarioError, match="repeated: a"):
        scenario_from_dict(minimal(services=[{"key": "a", "walk_minutes": 5}] * 2))
    with pytest.raises(ScenarioError, match="segment = 'elderly' is not a demand segment"):
        scenario_from_dict(
            minimal(services=[{"key": "a", "walk_minutes": 5, "segment": "elderly"}])
        )


def test_solver_must_be_known():
    with pytest.raises(ScenarioError, match=r"\[solve\] solver = 'gurobi'"):
        scenario_from_dict(minimal(solve={"solver": "gurobi"}))


def test_x_without_y_is_rejected():
    data = minimal(demand={"path": "d.csv", "x": "x", "crs": "EPSG:4326"})
    with pytest.raises(ScenarioError, match="set both x and y"):
        scenario_from_dict(data)


def test_existing_accepts_one_or_several_tables():
    one = scenario_from_dict(
        minimal(existing={"path": "e.csv", "x": "x", "y": "y", "crs": "EPSG:4326"})
    )
    many = scenario_from_dict(
        minimal(existing=[{"path": "e.csv", "crs": "EPSG:4326"}, {"path": "f.gpkg"}])
    )
    assert len(one.existing) == 1
    assert len(many.existing) == 2


def test_missing_file_and_bad_toml(tmp_path: Path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname = 1\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)


def test_scenario_is_frozen():
    scenario = scenario_from_dict(minimal())
    with pytest.raises(ValueError, match="frozen"):
        scenario.walk.speed_m_per_s = 2.0  # type: ignore[misc]
