"""Speed-up of a sweep from 1 to 2 Dask workers, and the per-task overhead.

Usage: python benchmarks/dask_scaling.py [--points 8] [--scenario scenarios/demo/scenario.toml]

Prints a Markdown table: wall time of the same sweep serially (in this process), on a local
cluster of 1 worker and of 2 workers (cluster start-up reported separately), the speed-up, and
the overhead per task measured with empty tasks. The machine load is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from siting import distributed, load_scenario
from siting.report import sweep as sweeps


def empty_task(key: str) -> bytes:
    return distributed.write_packed(lambda folder: (folder.mkdir(), (folder / "k").write_text(key)))


def timed_sweep(base, points, client) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        tally = distributed.run_sweep_points(base, points, Path(scratch), client=client)
        assert tally.done == len(points), tally.line()
        return time.perf_counter() - started


def overhead(client, tasks: int) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        work = [distributed.Task(f"e{i:03d}", empty_task, (f"e{i:03d}",)) for i in range(tasks)]
        started = time.perf_counter()
        distributed.run_tasks(
            client, work, deliver=lambda k, p: distributed.unpack_folder(p, Path(scratch) / k)
        )
        return (time.perf_counter() - started) / tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=Path("scenarios/demo/scenario.toml"))
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--low", type=float, default=2e6)
    parser.add_argument("--high", type=float, default=9e6)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    points = sweeps.sweep_points(
        sweeps.parse_range("--budget", f"{args.low}:{args.high}:{args.points}")
    )
    base = sweeps.prepare_sweep(scenario, points)
    rows = [("serial (this process)", timed_sweep(base, points, None), None)]
    for workers in (1, 2):
        started = time.perf_counter()
        with distributed.connect(workers=workers) as client:
            startup = time.perf_counter() - started
            rows.append(
                (f"local cluster, {workers} worker(s)", timed_sweep(base, points, client), startup)
            )
            if workers == 2:
                per_task = overhead(client, 40)
    load = os.getloadavg()
    print(f"sweep of {len(points)} points of {scenario.name}; load average {load[0]:.2f} (2 cores)")
    print("| run | wall s | speed-up vs 1 worker | cluster start s |")
    print("|---|---|---|---|")
    one = rows[1][1]
    for name, seconds, startup in rows:
        start = "" if startup is None else f"{startup:.2f}"
        print(f"| {name} | {seconds:.2f} | {one / seconds:.2f} | {start} |")
    print(f"\nper-task overhead (empty tasks, 2 workers): {1000 * per_task:.1f} ms")


if __name__ == "__main__":
    main()
