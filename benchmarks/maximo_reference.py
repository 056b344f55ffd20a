"""The 24 Máximo instances: our runs beside the recorded CPLEX and AILS-PR trajectories.

``python benchmarks/maximo_reference.py RESULTS.jsonl ... --out benchmarks/REPORT-maximo.md``

The instance authors distribute, with the instances, the incumbent trajectory of each CPLEX
and AILS-PR run (``maximo/runs/Resumo{CPLEX,AILSPR}/{city}{p}.txt``: value, seconds, gap % to
the optimum; read in place from the shared benchmarks folder). From them this script reads
what each reached by a given time, and puts it beside the gap to the optimum of our runs
(``run.py`` result lines of the ``maximo`` suite). Their machine is not ours: the recorded
times are theirs, and comparisons are of orders of magnitude, not of percent.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from siting.instances import MAXIMO_CITIES, MAXIMO_P, default_root

CITY_NAMES = {
    "NewYork": "Manhattan",
    "Bronx": "Bronx",
    "SanFrancisco": "San Francisco",
    "Kings": "Brooklyn",
}


def trajectory(kind: str, city: str, p: int, root: Path) -> list[tuple[float, float]]:
    """(seconds, gap %) of each recorded incumbent, in time order; empty when not recorded."""
    path = root / "maximo" / "runs" / f"Resumo{kind}" / f"{city}{p}.txt"
    if not path.exists():
        return []
    points = []
    for line in path.read_text().split("\n"):
        try:
            _, time, gap = (float(field) for field in line.split()[:3])
        except ValueError:  # blank or a malformed line (two CPLEX files hold a "0 0.72% 100" line)
            continue
        points.append((time, gap))
    return sorted(points)


def gap_at(points: list[tuple[float, float]], seconds: float) -> float | None:
    """Gap % of the last incumbent found by ``seconds``; None before the first."""
    reached = [gap for time, gap in points if time <= seconds]
    return reached[-1] if reached else None


def time_to(points: list[tuple[float, float]], gap: float) -> float | None:
    """Seconds to the first incumbent within ``gap`` %; None if never."""
    return next((time for time, value in points if value <= gap + 1e-12), None)


def seconds(value: float | None) -> str:
    if value is None:
        return "never"
    if value < 100:
        return f"{value:.1f} s"
    if value < 36_000:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.0f} h"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f} %"


def our_runs(paths: list[Path]) -> dict[tuple[str, int], dict[str, dict[str, Any]]]:
    """Best run per (city, p) and 'method @ limit' (smallest gap to the optimum), with its gap
    to its own bound (None without one) and the number of runs it was chosen from."""
    runs: dict[tuple[str, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    for path in paths:
        for line in path.read_text().splitlines():
            record = json.loads(line) if line.strip() else None
            if not record or record.get("suite") != "maximo" or record.get("objective") is None:
                continue
            key = (record["params"]["city"], int(record["params"]["p"]))
            label = f"{record['method']} @ {record['time_limit_s']:g} s"
            gap = 100 * (1 - record["objective"] / record["optimum"])
            kept = runs[key].get(label)
            if kept is None or gap < kept["gap"]:
                reported = record.get("gap")  # the run's own gap to its bound (a fraction)
                bound_gap = None if reported is None else 100 * reported
                runs[key][label] = {
                    "gap": gap,
                    "status": record["status"],
                    "bound_gap": bound_gap,
                    "runs": 1,
                }
            if kept is not None:
                runs[key][label]["runs"] = kept["runs"] + 1
    return runs


def write(paths: list[Path], out: Path, root: Path, *, intro: str = "") -> None:
    ours = our_runs(paths)
    labels = sorted({label for runs in ours.values() for label in runs})
    head = ["instance", *(f"ours: {label}" for label in labels)]
    head += ["AILS-PR at 10 s", "AILS-PR to 0.1 %", "AILS-PR to optimum"]
    head += ["CPLEX at 600 s", "CPLEX last incumbent"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    summary: dict[str, list[float]] = defaultdict(list)
    for city in MAXIMO_CITIES:
        for p in MAXIMO_P:
            ails = trajectory("AILSPR", city, p, root)
            cplex = trajectory("CPLEX", city, p, root)
            cells = [f"{CITY_NAMES[city]} p={p}"]
            for label in labels:
                run = ours.get((city, p), {}).get(label)
                if run is None:
                    cells.append("–")
                    continue
                summary[label].append(run["gap"])
                proven = " proven" if run["status"] == "optimal" else ""
                repeated = f" (best of {run['runs']})" if run["runs"] > 1 else ""
                bound = run["bound_gap"]
                reported = "" if bound is None or proven else f" (bound: {bound:.2f} %)"
                cells.append(f"{run['gap']:.3f} %{proven}{reported}{repeated}")
            ails_10 = gap_at(ails, 10)
            if ails:
                summary["AILS-PR at 10 s"].append(math.inf if ails_10 is None else ails_10)
            cells += [
                percent(ails_10) if ails else "not recorded",
                seconds(time_to(ails, 0.1)) if ails else "not recorded",
                seconds(time_to(ails, 0.0)) if ails else "not recorded",
            ]
            last_time, last_gap = cplex[-1] if cplex else (None, None)
            cells += [percent(gap_at(cplex, 600)), f"{percent(last_gap)} at {seconds(last_time)}"]
            lines.append("| " + " | ".join(cells) + " |")
    totals = ["", "**Summary** (gap to the optimum)", ""]
    for label, gaps in summary.items():
        median = statistics.median(gaps)
        within = sum(gap <= 0.1 for gap in gaps)
        totals.append(
            f"- {label}: median {median:.3f} %, worst {max(gaps):.3f} %, "
            f"within 0.1 % on {within} of {len(gaps)}"
        )
    out.write_text(intro + "\n".join([*lines, *totals]) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="run.py result files")
    parser.add_argument("--out", type=Path, required=True, help="Markdown table to write")
    parser.add_argument("--intro", type=Path, help="Markdown to put above the table")
    args = parser.parse_args()
    intro = args.intro.read_text().rstrip() + "\n\n" if args.intro else ""
    write(args.results, args.out, default_root(), intro=intro)


if __name__ == "__main__":
    main()
