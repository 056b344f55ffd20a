"""BDS instances (Cordeau, Furini & Ljubić design): the published files and generated giants.

``bds`` reads the 100-site files (10^4 to 10^5 customers) in place; ``bds1000`` the 1,000-site
extension; ``bds_generated`` draws the same design (sites and customers uniform on a 30 x 30
square, integer demand 1..100, unit costs, strict ``d < R``) at 10^5 to 10^7 customers, with the
coverage computed and aggregated chunk by chunk so memory stays bounded.
"""

from __future__ import annotations

import numpy as np
from registry import BenchSpec, Case, register
from scipy import sparse

from siting import instances
from siting.coverage import aggregate_rows

CHUNK = 500_000


def build_file(customers: int, seed: str, D: float, R0: float, sites: int = 100) -> Case:
    case = Case(name="", family="bds", problem=None, params={})  # type: ignore[arg-type]
    with case.phase("read+coverage"):
        inst = instances.bds_instance(customers, seed, share=D, radius0=R0, sites=sites)
    case.name = inst.name
    case.problem = inst.problem
    case.params = {"n": customers, "m": sites, "K": 1, "D": D, "R": round(inst.params["R"], 4)}
    case.optimum, case.provenance = inst.optimum, inst.provenance
    case.pmclp = {
        "cover": inst.problem.coverage[0],
        "weights": inst.problem.weights[:, 0],
        "p": round(D * sites),
    }
    return case


def build_generated(customers: int, D: float = 0.1, R0: float = 5.5, sites: int = 100) -> Case:
    case = Case(
        name=f"BDS-gen {customers:,}/{sites} D={D} R0={R0}",
        family="bds_generated",
        problem=None,
        params={},
    )  # type: ignore[arg-type]
    rng = np.random.default_rng(customers + sites)
    radius = instances.bds_radius(R0, sites)
    with case.phase("read"):
        fxy = rng.uniform(0, 30, size=(sites, 2))
    blocks, weights = [], []
    for start in range(0, customers, CHUNK):
        size = min(CHUNK, customers - start)
        with case.phase("read"):
            cxy = rng.uniform(0, 30, size=(size, 2))
            demand = rng.integers(1, 101, size=size).astype(np.float64)
        with case.phase("coverage"):
            cover = instances.euclidean_coverage(cxy, fxy, radius, strict=True)
        with case.phase("aggregation"):
            keep = np.flatnonzero(np.diff(cover.indptr) > 0)
            unique, summed, _ = aggregate_rows(cover[keep], demand[keep])
            blocks.append(unique)
            weights.append(summed)
    with case.phase("aggregation"):
        unique, summed, _ = aggregate_rows(
            sparse.csr_array(sparse.vstack(blocks, format="csr")), np.concatenate(weights)
        )
    with case.phase("problem"):
        case.problem = instances.pmclp_problem(unique, summed, D * sites)
    case.params = {
        "n": customers,
        "m": sites,
        "K": 1,
        "D": D,
        "R": round(radius, 4),
        "rows_after_chunk_aggregation": int(unique.shape[0]),
    }
    return case


GRID = [(D, R0) for D, radii in instances.BDS_GRID.items() for R0 in radii]

register(
    BenchSpec(
        "bds",
        build_file,
        tuple(
            {"customers": n, "seed": s, "D": D, "R0": R0}
            for n in (10_000, 100_000)
            for s in "AC"
            for D, R0 in [(0.1, 5.5), (0.15, 5.0), (0.2, 4.0)]
        ),
        "BDS files, 100 sites, 10^4 and 10^5 customers, three points of the (D, R0) grid",
    )
)
register(
    BenchSpec(
        "bds1000",
        build_file,
        tuple(
            {"customers": 100_000, "seed": "A", "D": 0.1, "R0": r, "sites": 1000}
            for r in (5.5, 5.75)
        ),
        "BDS1000 (Wang & Zhou): 1,000 sites, 10^5 customers (KNOWN_OPTIMA has no proof)",
    )
)
register(
    BenchSpec(
        "bds_generated",
        build_generated,
        tuple({"customers": n} for n in (100_000, 1_000_000, 10_000_000)),
        "Generated BDS design, 100 sites, 10^5 to 10^7 customers, chunked coverage + aggregation",
    )
)
