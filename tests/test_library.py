"""The library paths the README documents: scenario, GeoDataFrames, arrays."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from scipy import sparse
from shapely.geometry import box

import siting
from conftest import DEMAND, EXISTING, SITES
from siting.synthetic import synthetic_city


def test_scenario_path_and_write(write_scenario, tmp_path):
    run = siting.run_scenario(siting.load_scenario(write_scenario(budget=300)))
    assert run.result.status is siting.Status.OPTIMAL
    assert run.result.objective == 1500
    out = siting.write_outputs(run, tmp_path / "out")
    assert (out / "summary.json").is_file()


def test_geodataframe_path_with_polygons_and_mixed_crs():
    """Compounds as polygons in UTM, sites as lon/lat points, outlets in UTM: same optimum."""
    blocks = gpd.GeoDataFrame(
        DEMAND.drop(columns=["x", "y"]),
        geometry=[box(x - 5, y - 5, x + 5, y + 5) for x, y in DEMAND[["x", "y"]].to_numpy()],
        crs="EPSG:32650",
    )
    sites = gpd.GeoDataFrame(
        SITES.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(SITES["x"], SITES["y"]),
        crs="EPSG:32650",
    ).to_crs("EPSG:4326")
    outlets = gpd.GeoDataFrame(
        EXISTING.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(EXISTING["x"], EXISTING["y"]),
        crs="EPSG:32650",
    )
    inputs = siting.align_inputs(
        siting.demand_from_geodataframe(
            blocks, population="population", segments={"elderly": "pop_60plus"}
        ),
        siting.candidates_from_geodataframe(
            sites, fixed_cost="fixed_cost", capacity="max_services"
        ),
        siting.facilities_from_geodataframe(outlets),
    )
    services = [
        siting.Service("shop", 3, fit_out_cost=50),
        siting.Service("care", 3, segment="elderly", fit_out_cost=50),
    ]
    run = siting.run_inputs(inputs, services, budget=400, detour_factor=1.0)
    assert run.result.objective == pytest.approx(1650)
    assert {s.site_id for s in run.result.selected} == {"s1", "s2"}


def test_array_path_with_sparse_coverage_and_explicit_zero():
    # an explicit 0.0 entry (a site on top of a demand point) still means "reaches"
    reach = sparse.csr_array(
        (np.array([0.0, 2.0, 1.0]), np.array([0, 1, 1]), np.array([0, 1, 2, 3])), shape=(3, 2)
    )
    problem = siting.SitingProblem.from_arrays(
        [reach],
        np.array([5.0, 1.0, 1.0]),
        services=[siting.Service("a", 5, fit_out_cost=1)],
        budget=1,
    )
    result = siting.solve(problem)
    assert result.objective == 5 and result.selected[0].site_id == "0"
    summary = result.summary()
    assert summary["status"] == "optimal" and summary["selected"][0]["services"] == ["a"]


def test_time_limited_run_is_not_called_optimal():
    """A solve stopped by its time limit reports time_limit with a bound, not optimal."""
    rng = np.random.default_rng(0)
    city = synthetic_city(n_demand=3_000, n_sites=400, existing={}, seed=1)
    demand = siting.demand_from_geodataframe(
        gpd.GeoDataFrame(
            city.demand, geometry=gpd.points_from_xy(city.demand.lon, city.demand.lat), crs=4326
        )
    )
    sites = siting.candidates_from_geodataframe(
        gpd.GeoDataFrame(
            city.sites, geometry=gpd.points_from_xy(city.sites.lon, city.sites.lat), crs=4326
        ),
        fixed_cost="fixed_cost",
    )
    services = [
        siting.Service(f"s{k}", float(m), fit_out_cost=1e5) for k, m in enumerate((8, 10, 12))
    ]
    run = siting.run_inputs(
        siting.align_inputs(demand, sites),
        services,
        budget=float(rng.uniform(4e6, 5e6)),
        options=siting.SolveOptions(time_limit_s=0.05),
    )
    result = run.result
    assert result.status in {siting.Status.TIME_LIMIT, siting.Status.OPTIMAL}
    if result.status is siting.Status.TIME_LIMIT:
        assert result.summary()["proven_optimal"] is False
        assert result.objective is not None and result.bound is not None
        assert result.bound >= result.objective - 1e-6
