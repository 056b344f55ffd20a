"""Per-phase time and peak memory of a full run on synthetic cities of growing size.

Usage: python benchmarks/phases.py --sizes 1000x100 10000x500 [--time-limit 60] [--out FILE]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd

import siting
from siting.synthetic import synthetic_city

SERVICES = [
    siting.Service("convenience_store", 5, fit_out_cost=80_000),
    siting.Service("breakfast_shop", 8, fit_out_cost=60_000),
    siting.Service("vegetable_market", 10, fit_out_cost=400_000),
    siting.Service("supermarket", 15, fit_out_cost=500_000),
]


def points(frame, crs=4326):
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=crs)


def bench(n_demand: int, n_sites: int, *, time_limit_s: float, seed: int = 0) -> dict:
    extent = 8_000.0 * max(1.0, (n_demand / 2_000) ** 0.5)
    city = synthetic_city(n_demand=n_demand, n_sites=n_sites, extent_m=extent, seed=seed)
    tracemalloc.start()
    started = time.perf_counter()
    inputs = siting.align_inputs(
        siting.demand_from_geodataframe(points(city.demand)),
        siting.candidates_from_geodataframe(points(city.sites), fixed_cost="fixed_cost"),
        siting.facilities_from_geodataframe(points(city.existing)),
    )
    read_s = time.perf_counter() - started
    budget = 0.02 * n_sites * 300_000
    run = siting.run_inputs(
        inputs, SERVICES, budget=budget, options=siting.SolveOptions(time_limit_s=time_limit_s)
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    r = run.result
    return {
        "size": f"{n_demand:,} x {n_sites:,}",
        "prepare s": read_s,
        **{f"{k} s": v for k, v in run.timings_s.items()},
        "status": str(r.status),
        "objective": r.objective,
        "gap %": None if r.gap is None else 100 * r.gap,
        "rows": run.result.model_stats["demand_rows_aggregated"],
        "traced peak MiB": peak / 2**20,
        "max RSS MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x100", "10000x500"])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        n, m = (int(v) for v in size.lower().split("x"))
        rows.append(bench(n, m, time_limit_s=args.time_limit))
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
