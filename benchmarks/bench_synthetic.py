"""Synthetic cities (``siting.synthetic``): the size ladder, multi-service with a budget, and a
single-service p-MCLP variant on the same cities for the spopt comparison.

The city side grows with the number of sites (``8 km x sqrt(sites / 300)``), so site density
stays that of the demo and demand density grows with the demand/site ratio.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from registry import BenchSpec, Case, register

import siting
from siting.coverage import straight_line_walk_m
from siting.instances import pmclp_problem
from siting.pipeline import problem_from_inputs
from siting.synthetic import synthetic_city

SERVICES = (
    siting.Service("convenience_store", 5, fit_out_cost=80_000),
    siting.Service("breakfast_shop", 8, fit_out_cost=60_000),
    siting.Service("vegetable_market", 10, fit_out_cost=400_000),
    siting.Service("supermarket", 15, fit_out_cost=500_000),
)
LADDER = (
    (1_000, 100),
    (10_000, 500),
    (50_000, 2_000),
    (100_000, 5_000),
    (300_000, 10_000),
    (1_000_000, 10_000),
)


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=4326)


def _inputs(case: Case, n: int, m: int, seed: int) -> siting.Inputs:
    with case.phase("read"):
        extent = 8_000.0 * max(1.0, (m / 300) ** 0.5)
        city = synthetic_city(n_demand=n, n_sites=m, extent_m=extent, seed=seed)
        return siting.align_inputs(
            siting.demand_from_geodataframe(_points(city.demand)),
            siting.candidates_from_geodataframe(_points(city.sites), fixed_cost="fixed_cost"),
            siting.facilities_from_geodataframe(_points(city.existing)),
        )


def build_city(n: int, m: int, budget_share: float = 0.02, seed: int = 0) -> Case:
    """Four services, site fixed costs and capacities, existing outlets, a budget."""
    case = Case(name=f"city {n:,}x{m:,}x4", family="synthetic", problem=None, params={})  # type: ignore[arg-type]
    inputs = _inputs(case, n, m, seed)
    with case.phase("coverage"):
        coverage = siting.coverage_from_points(
            inputs.demand, inputs.sites, inputs.existing, SERVICES
        )
    budget = budget_share * m * 300_000
    with case.phase("problem"):
        case.problem = problem_from_inputs(inputs, coverage, SERVICES, budget=budget)
    case.params = {"n": n, "m": m, "K": len(SERVICES), "budget": budget}
    return case


def build_pmclp(
    n: int, m: int, walk_m: float = 600.0, p_share: float = 0.05, seed: int = 0
) -> Case:
    """One service, population weights, ``p = p_share x sites``, walk <= ``walk_m``."""
    p = max(1, round(p_share * m))
    case = Case(name=f"pmclp {n:,}x{m:,} p={p}", family="synthetic_pmclp", problem=None, params={})  # type: ignore[arg-type]
    inputs = _inputs(case, n, m, seed)
    with case.phase("coverage"):
        walk = straight_line_walk_m(
            inputs.demand.xy, inputs.sites.xy, max_walk_m=walk_m, detour_factor=1.0
        )
    weights = inputs.demand.weight("population")
    with case.phase("problem"):
        case.problem = pmclp_problem(walk, weights, p)
    case.params = {"n": n, "m": m, "K": 1, "p": p, "walk_m": walk_m}
    case.pmclp = {
        "cover": case.problem.coverage[0],
        "weights": weights,
        "p": p,
        "demand_xy": inputs.demand.xy,
        "site_xy": inputs.sites.xy,
        "radius": walk_m,
    }
    return case


register(
    BenchSpec(
        "synthetic",
        build_city,
        tuple({"n": n, "m": m} for n, m in LADDER),
        "Synthetic city ladder, 4 services, fixed + fit-out costs, capacities, budget",
    )
)
register(
    BenchSpec(
        "synthetic_pmclp",
        build_pmclp,
        tuple({"n": n, "m": m} for n, m in ((1_000, 100), (10_000, 500), (50_000, 2_000))),
        "Synthetic city, single-service p-MCLP (the spopt comparison)",
    )
)
