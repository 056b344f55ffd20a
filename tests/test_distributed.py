"""Scale-out on Dask: the same results as a serial run, contained failures, skipped re-runs."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import SCENARIO
from siting import distributed, load_scenario
from siting.cli import app
from siting.report import sweep as sweeps

pytest.importorskip("distributed")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/

runner = CliRunner()


@pytest.fixture(scope="module")
def client():
    with distributed.connect(workers=2) as connected:
        yield connected


def summaries(folder: Path) -> dict[str, dict]:
    result = {}
    for path in sorted(folder.glob("*/summary.json")):
        summary = json.loads(path.read_text())
        result[path.parent.name] = {
            "status": summary["status"],
            "objective": summary["objective"],
            "total_cost": summary["total_cost"],
            "selected": summary["selected"],
            "services": {k: v["covered_population"] for k, v in summary["services"].items()},
        }
    return result


def test_cluster_sweep_equals_serial_sweep(client, write_scenario, tmp_path):
    scenario = load_scenario(write_scenario(budget=1000))
    points = sweeps.sweep_points([150, 300, 450, 600, 750], [("shop", [2.0, 3.0])])
    base = sweeps.prepare_sweep(scenario, points)
    on_cluster = distributed.run_sweep_points(base, points, tmp_path / "cluster", client=client)
    serial = distributed.run_sweep_points(base, points, tmp_path / "serial", client=None)
    assert on_cluster.done == serial.done == len(points) and on_cluster.failed == 0
    assert summaries(tmp_path / "cluster" / "points") == summaries(tmp_path / "serial" / "points")


def slow_task(key: str, seconds: float) -> bytes:
    time.sleep(seconds)
    return distributed.write_packed(lambda folder: _write_key(folder, key))


def _write_key(folder: Path, key: str) -> None:
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"key": key, "pid": os.getpid()}))


def test_a_killed_worker_loses_and_duplicates_nothing(client, tmp_path):
    tasks = [distributed.Task(f"t{i:02d}", slow_task, (f"t{i:02d}", 1.0)) for i in range(8)]
    delivered: list[str] = []
    killed = []

    def deliver(key: str, payload: bytes) -> None:
        delivered.append(key)
        distributed.unpack_folder(payload, tmp_path / key)

    def progress(tally: distributed.Tally) -> None:
        if tally.done == 1 and not killed:  # kill a worker while others are busy
            pids = client.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    tally = distributed.run_tasks(client, tasks, deliver=deliver, progress=progress)
    assert killed, "no worker was killed"
    assert tally.done == 8 and tally.failed == 0
    assert sorted(delivered) == [t.key for t in tasks]  # each result exactly once
    assert sorted(p.name for p in tmp_path.iterdir()) == [t.key for t in tasks]


def failing_task() -> bytes:
    raise ValueError("this scenario is broken")


def test_a_failing_task_is_reported_and_the_others_finish(client, tmp_path):
    tasks = [
        distributed.Task("good", slow_task, ("good", 0.0)),
        distributed.Task("bad", failing_task),
        distributed.Task("also-good", slow_task, ("also-good", 0.0)),
    ]
    tally = distributed.run_tasks(
        client,
        tasks,
        deliver=lambda key, payload: distributed.unpack_folder(payload, tmp_path / key),
    )
    assert tally.done == 2 and tally.failed == 1
    (bad,) = [o for o in tally.outcomes if o.state == "failed"]
    assert bad.key == "bad" and "ValueError: this scenario is broken" in bad.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["also-good", "good"]


def write_batch(tmp_path: Path) -> Path:
    from conftest import DEMAND, EXISTING, SITES

    folder = tmp_path / "scenarios"
    folder.mkdir()
    DEMAND.to_csv(folder / "demand.csv", index=False)
    SITES.to_csv(folder / "sites.csv", index=False)
    EXISTING.to_csv(folder / "existing.csv", index=False)
    for name, budget in (("low", 150), ("mid", 300), ("high", 450)):
        text = SCENARIO.format(budget=budget).replace('name = "tiny"', f'name = "{name}"')
        (folder / f"{name}.toml").write_text(text)
    # a scenario that loads but fails while solving: its budget buys nothing
    text = SCENARIO.format(budget=10).replace('name = "tiny"', 'name = "broken"')
    (folder / "broken.toml").write_text(text)
    return folder


def test_batch_contains_failures_and_reuses_unchanged_results(tmp_path):
    folder = write_batch(tmp_path)
    out = tmp_path / "batch"
    first = runner.invoke(app, ["batch", str(folder), "--out", str(out), "--workers", "2", "-q"])
    assert first.exit_code == 5, first.output  # some tasks failed, the others were written
    assert (
        "failed: broken:" in first.output and "below the cheapest possible outlet" in first.output
    )
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["high", "low", "mid"]
    table = (out / "batch.csv").read_text()
    assert "broken" in table and "below the cheapest" in table
    objectives = {k: v["objective"] for k, v in summaries(out).items()}
    assert objectives == {"low": 900, "mid": 1500, "high": 1650}

    (folder / "broken.toml").unlink()
    second = runner.invoke(app, ["batch", str(folder), "--out", str(out), "--serial", "-q"])
    assert second.exit_code == 0, second.output
    assert "3/3 done, 3 reused" in second.output
    assert {k: v["objective"] for k, v in summaries(out).items()} == objectives

    text = (folder / "mid.toml").read_text().replace("total = 300", "total = 350")
    (folder / "mid.toml").write_text(text)
    third = runner.invoke(app, ["batch", str(folder), "--out", str(out), "--serial", "-q"])
    assert third.exit_code == 0 and "3/3 done, 2 reused" in third.output


def test_cluster_walk_equals_local_walks(client):
    import pyproj

    from siting.network import network_from_segments, network_walk_m, snap

    side = 40  # a 40 x 40 street grid, 50 m blocks
    xy = np.array([(x * 50.0, y * 50.0) for y in range(side) for x in range(side)])
    index = np.arange(side * side).reshape(side, side)
    u = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    v = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    network = network_from_segments(xy, u, v, crs=pyproj.CRS.from_epsg(32650), source="grid")
    rng = np.random.default_rng(4)
    demand = rng.uniform(0, 1950, (800, 2))
    sites = rng.uniform(0, 1950, (900, 2))
    sites[:5] = xy[:5]  # sites on nodes
    demand[:5] = xy[:5]  # ...and demand on the same nodes: zero walks must survive
    origins, targets = snap(network, demand, max_snap_m=100), snap(network, sites, max_snap_m=100)
    local = network_walk_m(network, demand, sites, max_walk_m=600, origins=origins, targets=targets)
    spread = distributed.ClusterWalk(client, chunk_size=100)(
        network, demand, sites, max_walk_m=600, origins=origins, targets=targets
    )
    assert spread.shape == local.shape and spread.nnz == local.nnz
    assert np.array_equal(spread.indptr, local.indptr)
    assert np.array_equal(spread.indices, local.indices)
    # equal up to the rounding of summing path lengths in another order (searches may run
    # from the other side or on another local subgraph)
    assert np.allclose(spread.data, local.data, rtol=1e-12, atol=1e-9)
    assert (local.data == 0).sum() >= 5 and (spread.data == 0).sum() == (local.data == 0).sum()
