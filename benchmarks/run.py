"""Run benchmark suites and write a Markdown report with charts.

Usage (from the repository root, after ``pip install -e '.[benchmarks]'``)::

    python benchmarks/run.py --suite maximo --methods highs highs+presolve --time-limit 600 \
        --results benchmarks/results/maximo.jsonl --out benchmarks/REPORT.md

Every (instance, method) pair runs in a fresh subprocess (clean peak-memory figures, a hard
kill after ``time limit x 2 + 900 s`` or ``--kill-after``) and appends one JSON line to
``--results``; the report is then regenerated from every results file given with
``--report-from`` (default: all of ``benchmarks/results/*.jsonl``), so suites can be run
separately and reported together.
The machine's load average is recorded before and after each run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from registry import load_all  # noqa: E402


def child(suite: str, index: int, method: str, time_limit_s: float) -> dict:
    from methods import Probe, available_methods, environment

    spec = load_all()[suite]
    params = spec.sweep[index]
    record: dict = {
        "suite": suite,
        "index": index,
        "params": params,
        "method": method,
        "time_limit_s": time_limit_s,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_before": os.getloadavg(),
        **environment(),
    }
    probe = Probe()
    try:
        started = time.perf_counter()
        case = spec.build(**params)
        for phase, seconds in case.phases.items():
            probe.add(phase, seconds)
        record.update(
            case=case.name,
            family=case.family,
            size=case.params,
            optimum=case.optimum,
            provenance=case.provenance,
            build_case_s=time.perf_counter() - started,
        )
        outcome = available_methods()[method](case, time_limit_s, probe)
        record.update(outcome)
    except Exception as exc:
        record.update(
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc()[-2000:],
        )
    probe.close()
    record["phases"] = probe.phases
    record["load_after"] = os.getloadavg()
    opt, obj = record.get("optimum"), record.get("objective")
    if opt is not None and obj is not None:
        record["matches_optimum"] = abs(opt - obj) <= 1e-6 * max(1.0, abs(opt))
        record["gap_to_optimum"] = (opt - obj) / max(1.0, abs(opt))
    return record


def parent(args: argparse.Namespace) -> None:
    specs = load_all()
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for suite in args.suite:
        spec = specs[suite]
        indices = range(len(spec.sweep)) if args.only is None else args.only
        for index in indices:
            for method in args.methods:
                label = f"{spec.label(spec.sweep[index])} / {method}"
                print(f"[{dt.datetime.now():%H:%M:%S}] {label} ...", flush=True)
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    suite,
                    str(index),
                    method,
                    "--time-limit",
                    str(args.time_limit),
                ]
                try:
                    done = subprocess.run(
                        command,
                        capture_output=True,
                        text=True,
                        timeout=args.kill_after or args.time_limit * 2 + 900,
                        check=False,
                    )
                    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
                    record = (
                        json.loads(line)
                        if line.startswith("{")
                        else {
                            "suite": suite,
                            "index": index,
                            "method": method,
                            "params": spec.sweep[index],
                            "status": "crashed",
                            "error": done.stderr[-2000:],
                        }
                    )
                except subprocess.TimeoutExpired:
                    record = {
                        "suite": suite,
                        "index": index,
                        "method": method,
                        "params": spec.sweep[index],
                        "status": "killed",
                    }
                with args.results.open("a") as out:
                    out.write(json.dumps(record, default=float) + "\n")
                total = sum(p["wall_s"] for p in record.get("phases", {}).values())
                print(
                    f"    {record.get('status')} obj={record.get('objective')} "
                    f"opt={record.get('optimum')} gap={record.get('gap')} {total:.2f}s",
                    flush=True,
                )
    if args.out:
        from report import write_report

        sources = args.report_from or sorted((HERE / "results").glob("*.jsonl"))
        write_report(sources, args.out)
        print(f"report: {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", nargs="*", default=[], help="suites from the registry")
    parser.add_argument("--methods", nargs="+", default=["highs"])
    parser.add_argument("--only", nargs="+", type=int, help="indices into the suite's sweep")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--results", type=Path, default=HERE / "results" / "latest.jsonl")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--kill-after", type=float, help="seconds before a run is killed")
    parser.add_argument("--report-from", nargs="+", type=Path)
    parser.add_argument("--list", action="store_true", help="list suites and methods")
    parser.add_argument(
        "--child", nargs=3, metavar=("SUITE", "INDEX", "METHOD"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        suite, index, method = args.child
        print(json.dumps(child(suite, int(index), method, args.time_limit), default=float))
        return
    if args.list:
        from methods import available_methods

        for name, spec in load_all().items():
            print(f"{name:16} {len(spec.sweep):3} instances  {spec.description}")
        print("methods:", " ".join(available_methods()))
        return
    parent(args)


if __name__ == "__main__":
    main()
