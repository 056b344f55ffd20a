"""Street-network walk times at city scale: time and peak memory of snapping + bounded Dijkstra.

Two networks:

- ``grid``: a synthetic street grid (``--grid-side`` nodes per side, 40 m blocks, 10 % of the
  segments removed at random so that paths detour), e.g. 250 x 250 = 62,500 nodes;
- ``sao-paulo``: the walking network of the São Paulo OSM extract in ../shared/data
  (19,882 nodes), read with siting's own OSM reader.

Demand points and candidate sites are scattered uniformly over the network's extent; the walk
limit is 15 minutes at 1 m/s (900 m). Reported: seconds for reading, snapping and the walk
matrix, the pairs kept, and peak memory (resident set of the process, and the largest Python
allocation traced by tracemalloc, which includes NumPy arrays).

Usage: python benchmarks/network_walk_times.py [--networks grid sao-paulo]
       [--demand 100000] [--sites 5000] [--grid-side 250] [--minutes 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyproj

from siting.network import WalkNetwork, network_from_file, network_from_segments, network_walk_m
from siting.projection import WGS84, working_crs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SAO_PAULO = SHARED / "sao-paulo" / "spo_osm.pbf"


def grid_network(
    side: int, *, block_m: float = 40.0, drop: float = 0.1, seed: int = 0
) -> WalkNetwork:
    """A ``side`` x ``side`` street grid with a share ``drop`` of its segments removed."""
    rng = np.random.default_rng(seed)
    ij = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ij[:, :-1].ravel(), ij[:-1, :].ravel()])
    v = np.concatenate([ij[:, 1:].ravel(), ij[1:, :].ravel()])
    keep = rng.random(u.size) >= drop
    jitter = rng.normal(0.0, block_m * 0.1, (side * side, 2))
    xy = np.column_stack([(ij % side).ravel(), (ij // side).ravel()]) * block_m + jitter
    crs = pyproj.CRS.from_epsg(32650)
    return network_from_segments(
        xy + np.array([500_000.0, 2_900_000.0]), u[keep], v[keep], crs=crs, source="grid"
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(name: str, n_demand: int, n_sites: int, *, side: int, minutes: float) -> dict:
    started = time.perf_counter()
    if name == "grid":
        network = grid_network(side)
    else:
        crs = working_crs([WGS84], lonlat_centre=(-46.63, -23.55))
        network = network_from_file(SAO_PAULO, crs=crs)
    read_s = time.perf_counter() - started
    rng = np.random.default_rng(1)
    lo, hi = network.xy.min(axis=0), network.xy.max(axis=0)
    demand, sites = rng.uniform(lo, hi, (n_demand, 2)), rng.uniform(lo, hi, (n_sites, 2))
    max_walk_m = minutes * 60.0
    tracemalloc.start()
    started = time.perf_counter()
    walks = network_walk_m(network, demand, sites, max_walk_m=max_walk_m, max_snap_m=500.0)
    walk_s = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "network": name,
        "nodes": len(network),
        "segments": network.n_edges,
        "extent_km": f"{(hi - lo)[0] / 1000:.1f} x {(hi - lo)[1] / 1000:.1f}",
        "demand x sites": f"{n_demand:,} x {n_sites:,}",
        "limit_m": max_walk_m,
        "read_s": round(read_s, 2),
        "walk_matrix_s": round(walk_s, 2),
        "pairs_kept": f"{walks.nnz:,}",
        "traced_peak_MiB": round(traced_peak / 2**20),
        "process_peak_rss_MiB": round(peak_rss_mib()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["grid", "sao-paulo"])
    parser.add_argument("--demand", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=5_000)
    parser.add_argument("--grid-side", type=int, default=250)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for name in args.networks:
        if name == "sao-paulo" and not SAO_PAULO.is_file():
            print(f"skipping sao-paulo: {SAO_PAULO} not found")
            continue
        rows.append(bench(name, args.demand, args.sites, side=args.grid_side, minutes=args.minutes))
        print(rows[-1], flush=True)
    header = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
