"""A reproducible synthetic city: compounds, idle properties and existing outlets.

Used by the demo scenario and the benchmarks. Residents live in residential compounds grouped
into neighbourhoods (a Gaussian cluster each); idle properties (vacant shops, warehouses, old
factories, public buildings) sit mostly near neighbourhoods with costs, capacities and floor
areas typical of their type; a few outlets of each service already exist. Coordinates are WGS 84
longitude/latitude around a chosen centre (default: Fuzhou, 119.30 E 26.08 N).

Run ``python -m siting.synthetic --out DIR`` to write ``demand.csv``, ``sites.csv`` and
``existing.csv``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting.projection import WGS84, transform, working_crs

PERSONS_PER_HOUSEHOLD = 2.8

# type: (share, fixed cost range, capacity range, floor area range m²)
PROPERTY_TYPES: dict[
    str, tuple[float, tuple[float, float], tuple[int, int], tuple[float, float]]
] = {
    "vacant_shop": (0.45, (40_000, 160_000), (1, 2), (60, 250)),
    "warehouse": (0.2, (100_000, 300_000), (2, 3), (300, 1_500)),
    "old_factory": (0.15, (200_000, 600_000), (3, 4), (800, 3_000)),
    "public_building": (0.2, (0, 60_000), (1, 3), (150, 700)),
}


@dataclass(frozen=True)
class SyntheticCity:
    """Three tables in WGS 84 longitude/latitude."""

    demand: pd.DataFrame
    sites: pd.DataFrame
    existing: pd.DataFrame


def synthetic_city(
    *,
    n_demand: int = 2_000,
    n_sites: int = 300,
    n_neighbourhoods: int | None = None,
    extent_m: float = 8_000.0,
    existing: dict[str, int] | None = None,
    seed: int = 0,
    centre_lonlat: tuple[float, float] = (119.30, 26.08),
) -> SyntheticCity:
    """Generate a synthetic city.

    Parameters
    ----------
    n_demand
        Residential compounds (demand points).
    n_sites
        Idle properties (candidate sites).
    n_neighbourhoods
        Population clusters; default one per 100 compounds (at least 4).
    extent_m
        Side of the square city in metres.
    existing
        Existing outlets per service key; default a handful of the demo services.
    seed
        Random seed; the same seed gives the same city.
    centre_lonlat
        Longitude and latitude of the city centre.
    """
    rng = np.random.default_rng(seed)
    clusters = n_neighbourhoods or max(4, n_demand // 100)
    centres = rng.uniform(0.1 * extent_m, 0.9 * extent_m, size=(clusters, 2))
    spread = rng.uniform(200, 600, size=clusters)
    weight = rng.dirichlet(np.full(clusters, 2.0))

    home = rng.choice(clusters, size=n_demand, p=weight)
    demand_xy = centres[home] + rng.normal(size=(n_demand, 2)) * spread[home, None]
    households = np.maximum(20, rng.lognormal(mean=5.5, sigma=0.7, size=n_demand)).round()
    population = np.round(households * PERSONS_PER_HOUSEHOLD)
    elderly = np.round(population * rng.beta(4, 16, size=n_demand))
    children = np.round(population * rng.beta(2, 22, size=n_demand))

    near = rng.random(n_sites) < 0.75
    site_cluster = rng.choice(clusters, size=n_sites, p=weight)
    site_xy = np.where(
        near[:, None],
        centres[site_cluster] + rng.normal(size=(n_sites, 2)) * 1.3 * spread[site_cluster, None],
        rng.uniform(0, extent_m, size=(n_sites, 2)),
    )
    names = list(PROPERTY_TYPES)
    kind = rng.choice(len(names), size=n_sites, p=[PROPERTY_TYPES[n][0] for n in names])
    cost = np.empty(n_sites)
    capacity = np.empty(n_sites, dtype=int)
    area = np.empty(n_sites)
    for t, name in enumerate(names):
        _, (c0, c1), (k0, k1), (a0, a1) = PROPERTY_TYPES[name]
        mask = kind == t
        cost[mask] = np.round(rng.uniform(c0, c1, mask.sum()), -3)
        capacity[mask] = rng.integers(k0, k1 + 1, mask.sum())
        area[mask] = np.round(rng.uniform(a0, a1, mask.sum()))

    counts = existing if existing is not None else DEMO_EXISTING
    outlet_rows = []
    for key, count in counts.items():
        where = rng.choice(n_demand, size=count, replace=True)
        xy = demand_xy[where] + rng.normal(size=(count, 2)) * 150
        outlet_rows += [(key, x, y) for x, y in xy]
    outlet_xy = np.array([(x, y) for _, x, y in outlet_rows]).reshape(-1, 2)

    local = working_crs([WGS84], lonlat_centre=centre_lonlat)
    offset = np.array([extent_m / 2, extent_m / 2])

    def lonlat(xy: np.ndarray) -> np.ndarray:
        return np.round(transform(xy - offset, local, WGS84), 7)

    d_ll, s_ll, e_ll = lonlat(demand_xy), lonlat(site_xy), lonlat(outlet_xy)
    demand = pd.DataFrame(
        {
            "id": [f"R{i + 1:05d}" for i in range(n_demand)],
            "lon": d_ll[:, 0],
            "lat": d_ll[:, 1],
            "households": households.astype(int),
            "population": population.astype(int),
            "pop_60plus": elderly.astype(int),
            "pop_0_6": children.astype(int),
            "community": [f"community_{h + 1:02d}" for h in home],
        }
    )
    sites = pd.DataFrame(
        {
            "id": [f"S{j + 1:04d}" for j in range(n_sites)],
            "lon": s_ll[:, 0],
            "lat": s_ll[:, 1],
            "property_type": [names[t] for t in kind],
            "fixed_cost": cost,
            "max_services": capacity,
            "floor_area_m2": area,
        }
    )
    existing_frame = pd.DataFrame(
        {
            "id": [f"E{e + 1:04d}" for e in range(len(outlet_rows))],
            "lon": e_ll[:, 0],
            "lat": e_ll[:, 1],
            "service": [key for key, _, _ in outlet_rows],
        }
    )
    return SyntheticCity(demand=demand, sites=sites, existing=existing_frame)


DEMO_EXISTING = {
    "convenience_store": 30,
    "breakfast_shop": 12,
    "vegetable_market": 3,
    "supermarket": 2,
    "elder_care": 1,
}


def main(argv: list[str] | None = None) -> None:
    """Write a synthetic city's three CSV tables to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the CSV files")
    parser.add_argument("--demand", type=int, default=2_000, help="residential compounds")
    parser.add_argument("--sites", type=int, default=300, help="candidate sites")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    city = synthetic_city(n_demand=args.demand, n_sites=args.sites, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    city.demand.to_csv(args.out / "demand.csv", index=False)
    city.sites.to_csv(args.out / "sites.csv", index=False)
    city.existing.to_csv(args.out / "existing.csv", index=False)


if __name__ == "__main__":
    main()
