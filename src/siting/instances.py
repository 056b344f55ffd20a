"""Readers for the published maximal-covering benchmark instances, as :class:`SitingProblem`.

Three families, read in place from the shared ``benchmarks`` folder (never copied):

- **Máximo** real-city instances (Manhattan = ``NewYork``, Bronx, San Francisco, Brooklyn =
  ``Kings``): every node is both a demand point and a candidate site; coordinates are
  latitude/longitude; the distance is the spherical law of cosines in single precision,
  ``(float32) acos(cos φ1 cos φ2 cos Δλ + sin φ1 sin φ2) × 6,378,100 m``, covered iff
  ``d <= r``. Published optima and optimal facility lists for p = 50, 60, ..., 100.
- **SJC** (Lorena & Pereira, San José dos Campos, 324 to 818 nodes): Euclidean on the given
  coordinates, covered iff ``d <= S``; optima computed by HiGHS (``KNOWN_OPTIMA.md``).
- **BDS** (Cordeau, Furini & Ljubić design; 100 or 1,000 unit-cost sites, 10^3 to 10^5
  customers): Euclidean, covered iff ``d < R`` (strict), budget = share x total site cost,
  ``R = R0 x sqrt(100 / sites)``.

The classic p-MCLP maps onto the siting model as one service with unit fit-out cost, no site
fixed cost and ``budget = p``. Each reader returns a :class:`BenchmarkInstance`: the problem
plus what is known about its optimum and where that knowledge comes from.

>>> sorted(MAXIMO_CITIES)
['Bronx', 'Kings', 'NewYork', 'SanFrancisco']
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.spatial import cKDTree

from siting._errors import DataValidationError
from siting.model import SitingProblem
from siting.services import Service

EARTH_RADIUS_M = 6_378_100.0
"""Earth radius of the Máximo instances' distance convention."""

MAXIMO_CITIES: dict[str, tuple[str, float]] = {
    "NewYork": ("NewYork.txt", 400.0),
    "Bronx": ("Bronx.txt", 600.0),
    "SanFrancisco": ("SanFrancisco.txt", 600.0),
    "Kings": ("Kings.txt", 800.0),
}
"""City -> (file in ``maximo/Instancias``, covering radius in metres) of the 24 instances."""

MAXIMO_ALIASES = {"Manhattan": "NewYork", "Brooklyn": "Kings", "SF": "SanFrancisco"}
MAXIMO_P = (50, 60, 70, 80, 90, 100)

SJC_SIZES = (324, 402, 500, 708, 818)

BDS_GRID: dict[float, tuple[float, ...]] = {
    0.1: (5.5, 5.75, 6.0, 6.25),
    0.15: (4.0, 4.25, 4.5, 4.75, 5.0),
    0.2: (3.25, 3.5, 3.75, 4.0, 4.25),
}
"""Budget share D -> base radii R0 of Chen et al.'s grid; ``R = R0 x sqrt(100 / sites)``."""

FACILITY = Service("facility", walk_minutes=1.0, fit_out_cost=1.0, name="facility")
"""The single service of a classic MCLP instance (unit cost; the budget counts facilities)."""


@dataclass(frozen=True)
class BenchmarkInstance:
    """A published instance as a siting problem, with what is known about its optimum.

    Attributes
    ----------
    name
        E.g. ``"Bronx p=50 r=600"``.
    family
        ``"maximo"``, ``"sjc"`` or ``"bds"``.
    problem
        The instance as a :class:`SitingProblem` (one service, unit costs, budget).
    optimum
        The optimal objective when known, else None.
    provenance
        ``"published"`` (distributed with the instance), ``"computed"`` (proven by HiGHS,
        listed in ``KNOWN_OPTIMA.md``), ``"incumbent"`` (best known, not proven) or ``"none"``.
    optimal_sites
        Site indices of a published optimal plan, when distributed.
    bound
        Best known upper bound when the optimum is not proven.
    params
        The parameters that define the instance (p, radius, share, ...).
    """

    name: str
    family: str
    problem: SitingProblem
    optimum: float | None = None
    provenance: str = "none"
    optimal_sites: NDArray[np.intp] | None = None
    bound: float | None = None
    params: dict[str, float] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """(demand points, candidate sites)."""
        return self.problem.num_demand, self.problem.num_sites


def default_root() -> Path:
    """The shared benchmarks folder: ``$SITING_BENCHMARKS`` or ``../shared/benchmarks``.

    The relative default is resolved from the repository root (two levels above ``src``).
    """
    env = os.environ.get("SITING_BENCHMARKS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


def _root(root: Path | str | None) -> Path:
    path = Path(root) if root is not None else default_root()
    if not path.is_dir():
        msg = (
            f"benchmark folder not found: {path}; set SITING_BENCHMARKS or pass root= "
            "pointing at shared/benchmarks"
        )
        raise FileNotFoundError(msg)
    return path


def pmclp_problem(
    coverage: sparse.csr_array,
    weights: NDArray[np.float64],
    budget: float,
    *,
    site_cost: NDArray[np.float64] | None = None,
) -> SitingProblem:
    """A classic (budgeted) MCLP as a siting problem: one service, costs per site, a budget.

    Parameters
    ----------
    coverage
        (n, m) boolean CSR: demand i is covered by site j.
    weights
        (n,) demand.
    budget
        ``p`` for the cardinality version (unit costs).
    site_cost
        (m,) cost of each site; default 1.
    """
    m = coverage.shape[1]
    cost = np.ones(m) if site_cost is None else np.asarray(site_cost, dtype=np.float64)
    return SitingProblem.from_arrays(
        [coverage],
        np.asarray(weights, dtype=np.float64),
        services=[FACILITY],
        fit_out_cost=cost[:, None],
        budget=float(budget),
    )


# --------------------------------------------------------------------------------------------
# Máximo real-city instances


def maximo_nodes(path: Path | str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Read a Máximo ``Instancias`` file: (n, 2) latitude/longitude degrees and (n,) demand.

    Raises
    ------
    DataValidationError
        If the sections are missing or their lengths disagree with ``DIMENSION``.
    """
    text = Path(path).read_text(encoding="utf-8")
    head, _, rest = text.partition("NODE_COORD_SECTION")
    coords, _, demand = rest.partition("DEMAND_SECTION")
    dimension = re.search(r"DIMENSION\s*:\s*(\d+)", head)
    latlon = np.array(coords.split(), dtype=np.float64).reshape(-1, 2)
    weights = np.array(demand.replace("EOF", " ").split(), dtype=np.float64)
    n = int(dimension.group(1)) if dimension else -1
    if not (len(latlon) == len(weights) == n):
        msg = (
            f"{path}: DIMENSION {n} but {len(latlon)} coordinates and {len(weights)} demands; "
            "is this a Máximo Instancias file?"
        )
        raise DataValidationError([msg])
    return latlon, weights


def maximo_coverage(latlon: NDArray[np.float64], radius_m: float) -> sparse.csr_array:
    """Symmetric (n, n) boolean CSR: nodes within ``radius_m`` under the Máximo convention.

    Candidate pairs come from a KD-tree on unit vectors (chord radius with a safety margin);
    each candidate is then decided exactly as the instance authors did: the law of cosines in
    double precision, ``acos`` rounded to single precision, times 6,378,100 m, ``<= r``.
    Every node covers itself.
    """
    lat, lon = np.radians(latlon[:, 0]), np.radians(latlon[:, 1])
    unit = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    chord = 2.0 * np.sin(radius_m / EARTH_RADIUS_M / 2.0) * 1.001 + 1e-9
    pairs = cKDTree(unit).query_pairs(chord, output_type="ndarray")
    a, b = pairs[:, 0], pairs[:, 1]
    cos_angle = np.cos(lat[a]) * np.cos(lat[b]) * np.cos(lon[a] - lon[b]) + np.sin(lat[a]) * np.sin(
        lat[b]
    )
    angle = np.arccos(np.clip(cos_angle, -1.0, 1.0)).astype(np.float32).astype(np.float64)
    keep = angle * EARTH_RADIUS_M <= radius_m
    n = len(latlon)
    return _symmetric_pattern(a[keep], b[keep], n)


def _symmetric_pattern(a: NDArray[np.intp], b: NDArray[np.intp], n: int) -> sparse.csr_array:
    """Boolean CSR with (a, b), (b, a) and the diagonal, sorted, no duplicates."""
    rows = np.concatenate([a, b, np.arange(n)])
    cols = np.concatenate([b, a, np.arange(n)])
    matrix = sparse.csr_array((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def maximo_optimum(
    city: str, p: int, *, root: Path | str | None = None
) -> tuple[float, NDArray[np.intp]]:
    """The published optimum and 0-based optimal facility list of a Máximo instance."""
    city = MAXIMO_ALIASES.get(city, city)
    radius = int(MAXIMO_CITIES[city][1])
    path = _root(root) / "maximo" / "OtimosFinais" / f"{city}_{p}_{radius}.txt"
    text = path.read_text(encoding="utf-8")
    value = re.search(r"f:\s*([-\d.]+)", text)
    sites = text.partition("Facilidade:")[2].split()
    if value is None or not sites:
        msg = f"{path}: expected 'f: <value>' and 'Facilidade: <indices>'"
        raise DataValidationError([msg])
    return float(value.group(1)), np.array(sites, dtype=np.intp)


@cache
def _maximo_arrays(
    path: Path, radius_m: float
) -> tuple[sparse.csr_array, NDArray[np.float64], NDArray[np.float64]]:
    latlon, weights = maximo_nodes(path)
    return maximo_coverage(latlon, radius_m), weights, latlon


def maximo_instance(
    city: str, p: int, *, root: Path | str | None = None, radius_m: float | None = None
) -> BenchmarkInstance:
    """One of the 24 Máximo instances (or any p / radius on the same cities).

    Parameters
    ----------
    city
        ``NewYork`` (alias ``Manhattan``), ``Bronx``, ``SanFrancisco`` or ``Kings``
        (alias ``Brooklyn``).
    p
        Number of facilities.
    root
        The shared benchmarks folder; default :func:`default_root`.
    radius_m
        Covering radius; default the published one for the city.
    """
    city = MAXIMO_ALIASES.get(city, city)
    if city not in MAXIMO_CITIES:
        msg = f"unknown Máximo city '{city}'; choose one of {', '.join(sorted(MAXIMO_CITIES))}"
        raise ValueError(msg)
    base = _root(root)
    filename, published_radius = MAXIMO_CITIES[city]
    radius = published_radius if radius_m is None else float(radius_m)
    coverage, weights, _ = _maximo_arrays(base / "maximo" / "Instancias" / filename, radius)
    optimum: float | None = None
    sites: NDArray[np.intp] | None = None
    provenance = "none"
    if radius == published_radius and p in MAXIMO_P:
        optimum, sites = maximo_optimum(city, p, root=base)
        provenance = "published"
    return BenchmarkInstance(
        name=f"{city} p={p} r={radius:g}",
        family="maximo",
        problem=pmclp_problem(coverage, weights, p),
        optimum=optimum,
        provenance=provenance,
        optimal_sites=sites,
        params={"p": p, "radius_m": radius},
    )


def maximo_instances(*, root: Path | str | None = None) -> Iterator[BenchmarkInstance]:
    """The 24 published Máximo instances, city by city, p = 50..100."""
    for city in MAXIMO_CITIES:
        for p in MAXIMO_P:
            yield maximo_instance(city, p, root=root)


# --------------------------------------------------------------------------------------------
# San José dos Campos


def sjc_nodes(path: Path | str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Read an SJC file: (n, 2) coordinates and (n,) demand (the header's count is checked)."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    n = int(lines[0].split()[0])
    table = np.array(" ".join(lines[1:]).split(), dtype=np.float64).reshape(-1, 3)
    if len(table) != n:
        msg = f"{path}: header says {n} nodes, found {len(table)}"
        raise DataValidationError([msg])
    return table[:, :2], table[:, 2]


def euclidean_coverage(
    origins: NDArray[np.float64],
    targets: NDArray[np.float64],
    radius: float,
    *,
    strict: bool = False,
) -> sparse.csr_array:
    """(n, m) boolean CSR of pairs with Euclidean distance ``<= radius`` (``< radius`` if strict).

    Candidates come from a KD-tree with a small margin; the decision uses the distance
    recomputed in double precision as ``sqrt(dx^2 + dy^2)``.
    """
    n, m = len(origins), len(targets)
    near = cKDTree(origins).sparse_distance_matrix(
        cKDTree(targets), radius * (1 + 1e-9) + 1e-12, output_type="ndarray"
    )
    i, j = near["i"].astype(np.int64), near["j"].astype(np.int64)
    d = np.sqrt(((origins[i] - targets[j]) ** 2).sum(axis=1))
    keep = d < radius if strict else d <= radius
    i, j = i[keep], j[keep]
    # self pairs (distance 0) are kept by sparse_distance_matrix as explicit entries
    matrix = sparse.csr_array((np.ones(len(i), dtype=bool), (i, j)), shape=(n, m))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def sjc_instance(
    n: int, radius: float, p: int, *, root: Path | str | None = None
) -> BenchmarkInstance:
    """SJC{n} with covering distance ``radius`` (``d <= S``) and ``p`` facilities."""
    base = _root(root)
    xy, weights = sjc_nodes(base / "wang-zhou-2024" / "SJC" / f"SJC{n}.txt")
    coverage = euclidean_coverage(xy, xy, radius)
    coverage = sparse.csr_array(coverage + sparse.eye_array(n, dtype=bool, format="csr"))
    known = known_optima(base).get(("sjc", f"SJC{n}", float(radius), int(p)))
    return BenchmarkInstance(
        name=f"SJC{n} S={radius:g} p={p}",
        family="sjc",
        problem=pmclp_problem(coverage, weights, p),
        optimum=None if known is None else known[0],
        provenance="none" if known is None else "computed",
        params={"n": n, "S": radius, "p": p},
    )


# --------------------------------------------------------------------------------------------
# BDS (Cordeau, Furini & Ljubić design)


def bds_nodes(
    path: Path | str,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Read a BDS file: facility xy and cost, customer xy and demand."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    m, n = (int(v) for v in lines[0].split()[:2])
    kind = np.array([line[:1] for line in lines[1:] if line.strip()])
    body = np.array(
        " ".join(line[1:] for line in lines[1:] if line.strip()).split(), dtype=np.float64
    ).reshape(-1, 4)
    facilities, customers = body[kind == "F"], body[kind == "C"]
    if len(facilities) != m or len(customers) != n:
        msg = (
            f"{path}: header says {m} facilities and {n} customers, found {len(facilities)} "
            f"and {len(customers)}"
        )
        raise DataValidationError([msg])
    return facilities[:, 1:3], facilities[:, 3], customers[:, 1:3], customers[:, 3]


def bds_radius(radius0: float, sites: int) -> float:
    """``R = R0 x sqrt(100 / sites)``: the grid radius for a given number of sites."""
    return float(radius0 * np.sqrt(100.0 / sites))


def bds_problem(
    facility_xy: NDArray[np.float64],
    facility_cost: NDArray[np.float64],
    customer_xy: NDArray[np.float64],
    demand: NDArray[np.float64],
    *,
    share: float,
    radius: float,
) -> SitingProblem:
    """A BDS-style problem: strict Euclidean coverage ``d < R``, budget = share x total cost."""
    coverage = euclidean_coverage(customer_xy, facility_xy, radius, strict=True)
    return pmclp_problem(
        coverage, demand, share * float(facility_cost.sum()), site_cost=facility_cost
    )


def bds_instance(
    customers: int,
    seed: str,
    *,
    share: float,
    radius0: float,
    sites: int = 100,
    root: Path | str | None = None,
) -> BenchmarkInstance:
    """BDS{customers}{seed} with ``sites`` in {100, 1000}, budget share D and base radius R0."""
    base = _root(root)
    folder = "BDS" if sites == 100 else f"BDS{sites}"
    fxy, fcost, cxy, demand = bds_nodes(
        base / "wang-zhou-2024" / folder / f"BDS{customers}{seed}.txt"
    )
    radius = bds_radius(radius0, len(fxy))
    key = ("bds", f"BDS{customers}{seed}", float(len(fxy)), round(share, 4), round(radius, 4))
    known = known_optima(base).get(key)
    provenance = "none"
    optimum = bound = None
    if known is not None:
        optimum, bound, proven = known
        provenance = "computed" if proven else "incumbent"
    return BenchmarkInstance(
        name=f"BDS{customers}{seed}/{len(fxy)} D={share:g} R0={radius0:g}",
        family="bds",
        problem=bds_problem(fxy, fcost, cxy, demand, share=share, radius=radius),
        optimum=optimum,
        provenance=provenance,
        bound=bound,
        params={"customers": customers, "sites": len(fxy), "D": share, "R0": radius0, "R": radius},
    )


# --------------------------------------------------------------------------------------------
# KNOWN_OPTIMA.md


@cache
def known_optima(root: Path | str | None = None) -> dict[tuple[object, ...], tuple[float, ...]]:
    """Computed optima (and unproven incumbents) listed in ``KNOWN_OPTIMA.md``.

    Keys: ``("sjc", "SJC324", S, p)`` -> ``(optimum,)``;
    ``("bds", "BDS10000A", sites, D, round(R, 4))`` -> ``(value, bound, proven)`` where
    ``proven`` is 1.0 for status Optimal. Máximo optima come from :func:`maximo_optimum`.
    """
    path = _root(root) / "KNOWN_OPTIMA.md"
    table: dict[tuple[object, ...], tuple[float, ...]] = {}
    if not path.exists():
        return table
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0] or not cells[0][:1].isalpha() or cells[1][:1] == "-":
            continue
        try:
            if "SJC" in section and cells[0].startswith("SJC"):
                table[("sjc", cells[0], float(cells[1]), int(cells[2]))] = (float(cells[3]),)
            elif "BDS" in section and cells[0].startswith("BDS"):
                status = cells[10]
                bound_match = re.search(r"bound\s+([\d.]+)", status)
                proven = status.startswith("Optimal")
                value = float(cells[6])
                bound = value if proven else float(bound_match.group(1)) if bound_match else np.nan
                key = ("bds", cells[0], float(cells[1]), float(cells[3]), round(float(cells[4]), 4))
                table[key] = (value, bound, float(proven))
        except (ValueError, IndexError):
            continue
    return table


__all__ = [
    "BDS_GRID",
    "EARTH_RADIUS_M",
    "FACILITY",
    "MAXIMO_CITIES",
    "MAXIMO_P",
    "SJC_SIZES",
    "BenchmarkInstance",
    "bds_instance",
    "bds_nodes",
    "bds_problem",
    "bds_radius",
    "default_root",
    "euclidean_coverage",
    "known_optima",
    "maximo_coverage",
    "maximo_instance",
    "maximo_instances",
    "maximo_nodes",
    "maximo_optimum",
    "pmclp_problem",
    "sjc_instance",
    "sjc_nodes",
]
