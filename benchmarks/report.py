"""Markdown report with charts from benchmark result files (JSON lines from ``run.py``).

``python benchmarks/report.py benchmarks/results/*.jsonl --out benchmarks/REPORT.md`` rewrites
the report and its PNG charts (beside the report) without running anything. When an
(instance, method) pair was run more than once, the fastest proven run is kept (minimum of
repeated runs; the machine is shared and timings are noisy) and the number of runs shown.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

SOLVE_PHASES = ("build", "presolve", "solve", "verify")
PREP_PHASES = ("read+coverage", "coverage", "aggregation", "problem")


def load(paths: list[Path]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def wall(record: dict[str, Any], phases: tuple[str, ...] | None = None) -> float:
    items = record.get("phases", {})
    return sum(v["wall_s"] for k, v in items.items() if phases is None or k in phases)


def end_to_end(record: dict[str, Any]) -> float:
    """Everything but generating/reading the raw data: coverage, build, solve, verify, write."""
    return sum(v["wall_s"] for k, v in record.get("phases", {}).items() if k != "read")


def end_to_end_cpu(record: dict[str, Any]) -> float:
    """CPU seconds of the same phases (phases measured outside the probe count their wall)."""
    total = 0.0
    for k, v in record.get("phases", {}).items():
        if k == "read":
            continue
        cpu = v.get("cpu_s")
        total += v["wall_s"] if cpu is None or (isinstance(cpu, float) and math.isnan(cpu)) else cpu
    return total


def peak(record: dict[str, Any]) -> float:
    return max((v["peak_rss_mib"] for v in record.get("phases", {}).values()), default=math.nan)


def best_runs(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["suite"], json.dumps(r["params"], sort_keys=True), r["method"])].append(r)
    best = {}
    for key, runs in groups.items():
        runs.sort(key=lambda r: (r.get("status") != "optimal", end_to_end(r)))
        chosen = dict(runs[0])
        chosen["runs"] = len(runs)
        best[key] = chosen
    return best


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.3f}"


def size_label(r: dict[str, Any]) -> str:
    s = r.get("size") or {}
    return f"{s.get('n', '?'):,} x {s.get('m', '?'):,} x {s.get('K', '?')}" if s else ""


def suite_table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| instance | n x m x K | method | status | objective | known optimum | = opt | gap % "
        "| prep s | build s | presolve s | solve s | end-to-end s | end-to-end CPU s "
        "| peak RSS MiB "
        "| load | runs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ph = r.get("phases", {})
        prep = sum(ph.get(p, {}).get("wall_s", 0.0) for p in PREP_PHASES)
        same = r.get("matches_optimum")
        out.append(
            "| "
            + " | ".join(
                [
                    r.get("case", str(r["params"])),
                    size_label(r),
                    r["method"],
                    str(r.get("status"))
                    + (" (silent limit!)" if r.get("silent_time_limit") else ""),
                    fmt(r.get("objective")),
                    fmt(r.get("optimum"))
                    + (
                        ""
                        if r.get("provenance") in (None, "none")
                        else f" ({r.get('provenance')[0]})"
                    ),
                    "" if same is None else ("yes" if same else "no"),
                    pct(r.get("gap")),
                    fmt(prep),
                    fmt(ph.get("build", {}).get("wall_s")),
                    fmt(ph.get("presolve", {}).get("wall_s")),
                    fmt(ph.get("solve", {}).get("wall_s")),
                    fmt(end_to_end(r)),
                    fmt(end_to_end_cpu(r)),
                    fmt(peak(r), 0),
                    fmt(
                        max(
                            r.get("load_before", [math.nan])[0], r.get("load_after", [math.nan])[0]
                        ),
                        1,
                    ),
                    str(r.get("runs", 1)),
                ]
            )
            + " |"
        )
    return out


def spopt_table(best: dict[tuple[str, str, str], dict[str, Any]]) -> list[str]:
    """One row per instance: the fastest proven siting method (any) against spopt + CBC / HiGHS.

    Times are end to end after the raw data is in memory (coverage, build, solve, ...); the
    ratios are given in wall seconds and in CPU seconds (robust to the shared machine's load).
    """
    out = [
        "| instance | n x m | siting method | siting wall s (CPU s) | spopt+CBC wall s (CPU s) "
        "| ratio wall (CPU) | same objective | spopt+HiGHS wall s (CPU s) | ratio wall (CPU) "
        "| same objective | spopt notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    cases = sorted({(k[0], k[1]) for k in best if k[2].startswith("spopt")})
    for suite, params in cases:
        ours = [
            r
            for (s, p, m), r in best.items()
            if (s, p) == (suite, params) and not m.startswith("spopt") and "phases" in r
        ]
        if not ours:
            continue
        mine = min(ours, key=lambda r: (r.get("status") != "optimal", end_to_end_cpu(r)))
        mw, mc = end_to_end(mine), end_to_end_cpu(mine)
        cells = [
            mine.get("case", ""),
            size_label(mine),
            mine["method"],
            f"{fmt(mw)} ({fmt(mc)})" + ("" if mine.get("status") == "optimal" else " not proven"),
        ]
        notes = []
        for solver in ("spopt-cbc", "spopt-highs"):
            theirs = best.get((suite, params, solver))
            if theirs is None or not theirs.get("phases"):
                cells += ["not run" if theirs is None else str(theirs.get("status")), "", ""]
                continue
            tw, tc = end_to_end(theirs), end_to_end_cpu(theirs)
            same = (
                theirs.get("objective") is not None
                and mine.get("objective") is not None
                and abs(theirs["objective"] - mine["objective"]) <= 1e-6 * max(1, mine["objective"])
            )
            cells += [
                f"{fmt(tw)} ({fmt(tc)})",
                f"{tw / max(mw, 1e-9):,.0f}x ({tc / max(mc, 1e-9):,.0f}x)",
                "yes" if same else f"no ({fmt(theirs.get('objective'))})",
            ]
            if theirs.get("silent_time_limit"):
                notes.append(f"{solver}: status 'Optimal' but time-limited incumbent")
            if theirs.get("status") in ("killed", "crashed", "error"):
                notes.append(f"{solver}: {theirs.get('status')}")
        out.append("| " + " | ".join([*cells, "; ".join(notes)]) + " |")
    return out


def charts(records: list[dict[str, Any]], best: dict, folder: Path, stem: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = []
    ladder = [
        r
        for r in best.values()
        if r.get("suite") in ("synthetic", "synthetic_pmclp", "bds_generated") and "phases" in r
    ]
    if ladder:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        by = defaultdict(list)
        for r in ladder:
            by[(r["suite"], r["method"])].append(r)
        for (suite, method), rs in sorted(by.items()):
            rs.sort(key=lambda r: r["size"]["n"])
            n = [r["size"]["n"] for r in rs]
            axes[0].loglog(
                n, [max(end_to_end(r), 1e-3) for r in rs], "o-", label=f"{suite} / {method}"
            )
            axes[1].loglog(n, [peak(r) for r in rs], "o-", label=f"{suite} / {method}")
        axes[0].set(
            xlabel="demand points n",
            ylabel="end-to-end wall s (excl. data generation)",
            title="Time vs size",
        )
        axes[1].set(xlabel="demand points n", ylabel="peak RSS MiB", title="Memory vs size")
        for ax in axes:
            ax.grid(True, which="both", alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        name = f"{stem}_size.png"
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        lines += [f"![time and memory vs size]({name})", ""]
    solved = [
        r
        for r in best.values()
        if r.get("phases")
        and r.get("objective") is not None
        and (r.get("gap") is not None or r.get("gap_to_optimum") is not None)
    ]
    if solved:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        by = defaultdict(list)
        for r in solved:
            by[r["method"]].append(r)
        for method, rs in sorted(by.items()):
            gap = [
                max(
                    r.get("gap_to_optimum") if r.get("gap_to_optimum") is not None else r["gap"],
                    1e-6,
                )
                * 100
                for r in rs
            ]
            ax.loglog(
                [max(wall(r, SOLVE_PHASES), 1e-3) for r in rs], gap, "o", alpha=0.7, label=method
            )
        ax.set(
            xlabel="build + presolve + solve wall s",
            ylabel="gap to known optimum (or proven gap) %, floor 1e-4",
            title="Gap vs time, every instance",
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        name = f"{stem}_gap.png"
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        lines += [f"![gap vs time]({name})", ""]
    return lines


def write_report(paths: list[Path], out: Path, *, intro: str = "") -> None:
    records = load(paths)
    best = best_runs(records)
    stem = out.stem.lower()
    lines = ["# siting benchmarks", ""]
    if intro:
        lines += [intro, ""]
    envs = {json.dumps(r.get("versions", {}), sort_keys=True) for r in records}
    loads = [
        x
        for r in records
        for x in (r.get("load_before", [None])[0], r.get("load_after", [None])[0])
        if x is not None
    ]
    lines += [
        f"{len(records)} runs from {', '.join(p.name for p in paths)}; "
        f"CPUs: {records[0].get('cpus') if records else '?'}; 1-min load average during runs: "
        f"{min(loads, default=0):.1f} to {max(loads, default=0):.1f} (a run's own processes "
        "count; above the number of CPUs, other jobs shared them). Versions: "
        + "; ".join(sorted(envs))
        + ". siting commits: "
        + ", ".join(sorted({str(r.get("commit", "not recorded")) for r in records})),
        "",
        "*prep* = reading the files or computing coverage (KD-tree) and aggregating; "
        "*end-to-end* = everything after the raw data is in memory (coverage, build, presolve, "
        "solve, verify, write). Peak RSS is the largest resident set of the benchmark process "
        "during any phase (solver memory included). (p) published optimum, (c) computed by "
        "HiGHS (KNOWN_OPTIMA.md), (i) best known incumbent only.",
        "",
    ]
    lines += charts(records, best, out.parent, stem)
    if any(k[2].startswith("spopt") for k in best):
        lines += ["## Side by side with spopt", "", *spopt_table(best), ""]
    suites = defaultdict(list)
    for key, r in best.items():
        suites[key[0]].append(r)
    for suite, rows in suites.items():
        rows.sort(key=lambda r: (r.get("index", 0), r["method"]))
        lines += [f"## {suite}", "", *suite_table(rows), ""]
        errors = [r for r in rows if r.get("error")]
        for r in errors[:5]:
            lines.append(
                f"- {r.get('case', r['params'])} / {r['method']}: "
                f"`{r['error'].strip().splitlines()[-1][:200]}`"
            )
        if errors:
            lines.append("")
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--intro", type=Path, help="Markdown placed after the title (findings)")
    args = parser.parse_args()
    intro = args.intro.read_text() if args.intro else ""
    write_report(args.results, args.out, intro=intro)


if __name__ == "__main__":
    main()
