"""The ``siting`` command: arguments in, library calls, a report out, an exit code.

Exit codes: 0 a plan was found (``optimal``, or ``time_limit``/``feasible`` with its gap);
2 invalid input (scenario, data or options), nothing written; 3 infeasible; 4 the solver stopped
without any plan; 1 an unexpected internal error (``--debug`` shows the traceback).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from siting import __version__, distributed
from siting._errors import (
    DataValidationError,
    InfeasibleError,
    OutputError,
    ScenarioError,
    SitingError,
    SolverCapabilityError,
    SolverUnavailableError,
)
from siting.catalog import catalog, starter_scenario
from siting.catalog import presets as all_presets
from siting.localsearch import supports_greedy
from siting.network import WalkNetwork
from siting.outputs import check_output_dir, write_outputs
from siting.pipeline import Inputs, Progress, Run, read_inputs, run_scenario
from siting.projection import describe_crs
from siting.scenario import Scenario, SolveSpec, load_scenario
from siting.solvers import Status
from siting.traveltimes import TravelTimes

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_INFEASIBLE, EXIT_NO_SOLUTION = 0, 1, 2, 3, 4

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Where to open neighbourhood services: optimal multi-service siting on a budget.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
wide = Console(highlight=False, width=max(out.width, 200))  # tables that must not wrap


@contextmanager
def _guard(*, debug: bool) -> Iterator[None]:
    """Turn expected errors into one line each on stderr and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except (
        ScenarioError,
        DataValidationError,
        OutputError,
        SolverUnavailableError,
        SolverCapabilityError,
    ) as error:
        _fail(error, EXIT_INVALID, debug=debug)
    except InfeasibleError as error:
        _fail(error, EXIT_INFEASIBLE, debug=debug, prefix="infeasible")
    except SitingError as error:
        _fail(error, EXIT_INVALID, debug=debug)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        raise typer.Exit(130) from None
    except Exception as error:
        if debug:
            raise
        err.print(f"internal error: {type(error).__name__}: {error}")
        err.print("this is a bug in siting; rerun with --debug and report the traceback")
        raise typer.Exit(EXIT_INTERNAL) from None


def _fail(error: Exception, code: int, *, debug: bool, prefix: str = "error") -> None:
    if debug:
        err.print_exception()
    for line in str(error).splitlines():
        err.print(f"{prefix}: {line}", markup=False, soft_wrap=True)
    raise typer.Exit(code) from None


DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
TimeLimitOption = Annotated[
    float | None, typer.Option("--time-limit", help="Override [solve] time_limit_s.")
]
MipGapOption = Annotated[float | None, typer.Option(help="Override [solve] mip_gap.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (e.g. tcp://host:8786); default: a local cluster.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Worker processes of the local cluster (default: cores)."
    ),
]
SerialOption = Annotated[
    bool, typer.Option("--serial", help="No cluster: solve one task after another here.")
]
LanguageOption = Annotated[
    str | None,
    typer.Option(
        "--language", "-l", help="Report language: zh or en (overrides [report] language)."
    ),
]
ScenarioArgument = Annotated[
    Path, typer.Argument(help="Scenario file (TOML).", show_default=False, dir_okay=False)
]


@app.command()
def run(
    scenario: ScenarioArgument,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Result folder (written atomically).")
    ],
    solver: Annotated[str | None, typer.Option(help="Override [solve] solver.")] = None,
    time_limit: TimeLimitOption = None,
    mip_gap: MipGapOption = None,
    quiet: QuietOption = False,
    language: LanguageOption = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler for street-network walk times, split by site chunks.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Network walk times on a local cluster of N."),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Solve a scenario and write its result folder (with report.html and report.md).

    With --scheduler or --workers, street-network walk times are computed on a Dask cluster.
    """
    with _guard(debug=debug):
        loaded = _with_overrides(
            load_scenario(scenario), solver=solver, time_limit_s=time_limit, mip_gap=mip_gap
        )
        loaded = _with_language(loaded, language)
        check_output_dir(out_dir)
        distributed_walks = scheduler is not None or workers is not None
        with (
            _cluster(
                scheduler, workers, serial=not distributed_walks, tasks=workers or 0
            ) as client,
            _progress(quiet=quiet) as progress,
        ):
            walk = distributed.ClusterWalk(client) if client is not None else None
            result = run_scenario(loaded, progress=progress, network_walk=walk)
            write_outputs(result, out_dir, progress=progress)
        _print_result(result, out_dir)
        for warning in result.walk_report.warnings if result.walk_report else ():
            err.print(f"warning: {warning}", markup=False)
        status = result.result.status
        if status is Status.INFEASIBLE:
            err.print("infeasible: no plan satisfies the constraints (see summary.json)")
            raise typer.Exit(EXIT_INFEASIBLE)
        if not status.has_solution:
            err.print(f"no plan: the solver stopped with status '{status}' before finding one")
            raise typer.Exit(EXIT_NO_SOLUTION)


@app.command()
def validate(scenario: ScenarioArgument, debug: DebugOption = False) -> None:
    """Check a scenario and its data without solving."""
    with _guard(debug=debug):
        loaded = load_scenario(scenario)
        inputs = read_inputs(loaded)
        out.print(f"{scenario}: valid")
        out.print(f"  demand points    {len(inputs.demand):>9,}")
        mobile = int((inputs.sites.kind == "mobile").sum())
        out.print(f"  candidate sites  {len(inputs.sites) - mobile:>9,}")
        if mobile:
            out.print(f"  mobile locations {mobile:>9,}")
        out.print(f"  existing outlets {len(inputs.existing):>9,}")
        out.print(f"  services         {', '.join(s.key for s in loaded.service_list())}")
        out.print(f"  question         mode {loaded.model.mode}, solver {loaded.solve.solver}")
        out.print(f"  working CRS      {describe_crs(inputs.demand.crs)}")
        out.print(f"  walk times       {_walk_line(inputs)}")


def _walk_line(inputs: Inputs) -> str:
    walk = inputs.walk
    if isinstance(walk, WalkNetwork):
        return (
            f"network {walk.source}: {len(walk):,} nodes, {walk.n_edges:,} segments, "
            f"{walk.n_components:,} connected pieces"
        )
    if isinstance(walk, TravelTimes):
        return f"table {walk.source}: {len(walk):,} pairs"
    return "straight line x detour factor"


@app.command("catalog")
def catalog_command(
    presets: Annotated[
        bool, typer.Option("--presets", help="List the city presets instead.")
    ] = False,
) -> None:
    """List the built-in service catalog (or the policy presets of the seed cities)."""
    if presets:
        table = Table(show_edge=False, header_style="bold")
        for column in ("preset", "services", "rules", "source"):
            table.add_column(column)
        for preset in all_presets().values():
            rules = []
            if preset.walk_minutes:
                rules.append(", ".join(f"{k} {v:g} min" for k, v in preset.walk_minutes.items()))
            if preset.min_new_per_community:
                rules.append(f">= {preset.min_new_per_community} new outlets per community")
            if preset.community_target_pct:
                rules.append(f"{preset.community_target_pct:g} % of communities covered")
            table.add_row(preset.key, ", ".join(preset.services), "; ".join(rules), preset.source)
        wide.print(table)
        return
    table = Table(show_edge=False, header_style="bold")
    for column in (
        "key",
        "中文",
        "English",
        "class",
        "walk min",
        "segment",
        "m/s",
        "m²",
        "residents/outlet",
        "sources",
    ):
        table.add_column(column)
    for entry in catalog().values():
        people = entry.population_per_outlet
        table.add_row(
            entry.key,
            entry.name_zh,
            entry.name_en,
            entry.category,
            f"{entry.walk_minutes:g}",
            entry.segment,
            "" if entry.speed_m_per_s is None else f"{entry.speed_m_per_s:g}",
            "" if entry.floor_area_m2 is None else f"{entry.floor_area_m2:g}",
            "" if people is None else f"{people[0]:,}-{people[1]:,}",
            entry.sources,
        )
    wide.print(table)


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="Scenario file to write.", dir_okay=False)],
    preset: Annotated[
        str, typer.Option(help="City preset (see `siting catalog --presets`).")
    ] = "national",
    debug: DebugOption = False,
) -> None:
    """Write a starter scenario file from a city's policy preset."""
    with _guard(debug=debug):
        if path.exists():
            msg = f"{path} exists; choose another file name (nothing was overwritten)"
            raise OutputError(msg)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_scenario(preset), encoding="utf-8")
        out.print(
            f"wrote {path}: fill in the data paths, columns, costs and budget, "
            f"then run `siting validate {path}`"
        )


@app.command()
def compare(
    alternatives: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario files (solved now) or result folders of `siting run`.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Comparison folder (written atomically).")
    ],
    time_limit: TimeLimitOption = None,
    mip_gap: MipGapOption = None,
    language: LanguageOption = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    serial: SerialOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Set alternatives side by side: coverage, cost, outlets, sites in common and not.

    Scenario files are solved as tasks on a Dask cluster (a local one by default).
    """
    from siting._folders import atomic_folder, check_folder, safe_name
    from siting.report.compare import COMPARISON, Alternative, unique_labels, write_comparison
    from siting.report.data import load_result

    with _guard(debug=debug):
        _check_language(language)
        if len(alternatives) < 2:
            msg = "compare needs at least two scenario files or result folders"
            raise ScenarioError(msg)
        check_folder(out_dir, COMPARISON)
        sources: list[Scenario | Path] = []
        names = []
        for path in alternatives:
            if path.is_dir():
                names.append(load_result(path).name)
                sources.append(path)
            else:
                loaded = _with_overrides(
                    load_scenario(path), time_limit_s=time_limit, mip_gap=mip_gap
                )
                names.append(loaded.name)
                sources.append(_with_language(loaded, language))
        labels = unique_labels(names)
        first_language = language
        to_solve = [
            (safe_name(label), source)
            for label, source in zip(labels, sources, strict=True)
            if not isinstance(source, Path)
        ]
        previous = out_dir / "runs" if (out_dir / COMPARISON).is_file() else None
        with atomic_folder(out_dir, COMPARISON) as staging:
            tally = None
            if to_solve:
                with (
                    _cluster(scheduler, workers, serial=serial, tasks=len(to_solve)) as client,
                    _tasks(quiet) as show,
                ):
                    tally = distributed.run_batch(
                        to_solve,
                        staging / "runs",
                        client=client,
                        previous=previous,
                        language=language,
                        progress=show,
                    )
                if tally.failed:
                    msg = "could not solve every alternative: " + _first_errors(tally)
                    raise SitingError(msg)
            chosen: list[Alternative] = []
            for label, source in zip(labels, sources, strict=True):
                if isinstance(source, Path):
                    data = load_result(source)
                    report = source.resolve() / "report.html"
                    link = (
                        os.path.relpath(report, out_dir.resolve().parent / out_dir.name)
                        if report.is_file()
                        else None
                    )
                else:
                    folder = staging / "runs" / safe_name(label)
                    data = load_result(folder)
                    link = f"runs/{folder.name}/report.html"
                first_language = first_language or data.report_settings.get("language")
                chosen.append(Alternative(label, data, link))
                if not quiet:
                    err.print(f"  {label}: {data.summary.get('status')}")
            comparison = write_comparison(chosen, staging, language=first_language or "en")
        out.print(
            f"compared {len(chosen)} alternatives; "
            + ("no differences" if comparison.identical else "they differ")
        )
        for label, lines in comparison.differences.items():
            for line in lines:
                out.print(f"  {label}: {line}", markup=False)
        out.print(f"comparison in {out_dir}/ (compare.html, compare.md)")


@app.command()
def sweep(
    scenario: ScenarioArgument,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Sweep folder (written atomically).")
    ],
    budget: Annotated[
        str | None,
        typer.Option(help="Budgets FROM:TO:STEPS, e.g. 2000000:10000000:5 (ends included)."),
    ] = None,
    walk_minutes: Annotated[
        list[str] | None,
        typer.Option(
            "--walk-minutes",
            help="SERVICE=FROM:TO:STEPS, e.g. breakfast_shop=5:15:3; repeat for more services.",
        ),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Override [solve] time_limit_s per point.")
    ] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Override [solve] mip_gap.")] = None,
    point_reports: Annotated[
        bool,
        typer.Option(
            "--point-reports/--no-point-reports",
            help="Also write report.html/report.md for every point (slower).",
        ),
    ] = False,
    language: LanguageOption = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    serial: SerialOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Solve a scenario over budgets and walk thresholds: the coverage-versus-budget curve.

    Every point is one task on a Dask cluster (a local one by default); points whose earlier
    results in DIR match their inputs are reused.
    """
    from siting._folders import atomic_folder, check_folder
    from siting.report import sweep as sweeps

    with _guard(debug=debug):
        loaded = _with_overrides(load_scenario(scenario), time_limit_s=time_limit, mip_gap=mip_gap)
        loaded = _with_language(loaded, language)
        keys = [s.key for s in loaded.service_list()]
        budgets = sweeps.parse_range("--budget", budget) if budget else None
        walks = [sweeps.parse_walk(w, keys) for w in walk_minutes or []]
        if budgets is None and not walks:
            msg = "sweep needs --budget FROM:TO:STEPS and/or --walk-minutes SERVICE=FROM:TO:STEPS"
            raise ScenarioError(msg)
        points = sweeps.sweep_points(budgets, walks)
        check_folder(out_dir, sweeps.SWEEP)
        previous = out_dir if (out_dir / sweeps.SWEEP).is_file() else None
        with _cluster(scheduler, workers, serial=serial, tasks=len(points)) as client:
            with _progress(quiet=quiet) as progress:
                progress("read", None)
                walk = distributed.ClusterWalk(client) if client is not None else None
                base = sweeps.prepare_sweep(loaded, points, network_walk=walk)
            sweeps.check_points(base, points)
            with atomic_folder(out_dir, sweeps.SWEEP) as staging, _tasks(quiet) as show:
                tally = distributed.run_sweep_points(
                    base,
                    points,
                    staging,
                    client=client,
                    previous=previous,
                    point_reports=point_reports,
                    language=language,
                    progress=show,
                )
                folders = [
                    staging / sweeps.POINTS / p.label
                    for p in points
                    if (staging / sweeps.POINTS / p.label).is_dir()
                ]
                if not folders:
                    msg = "every sweep point failed: " + _first_errors(tally)
                    raise SitingError(msg)
                frame = sweeps.write_sweep_report(folders, staging, language=language)
                _write_outcomes(staging, tally, "tasks.json")
        monotone = sweeps.is_monotone(frame)
        out.print(
            f"swept {len(points)} points ({tally.line()}); objective "
            + ("never falls as the budget grows" if monotone else "FALLS somewhere (see sweep.md)")
        )
        out.print(f"sweep in {out_dir}/ (sweep.html, sweep.md, sweep.csv, points/)")
        _exit_on_failures(tally)


@app.command()
def batch(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario files, or folders whose *.toml files are scenarios.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Batch folder (written atomically).")
    ],
    time_limit: TimeLimitOption = None,
    mip_gap: MipGapOption = None,
    language: LanguageOption = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    serial: SerialOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Solve many scenarios (cities, alternatives) as tasks on a Dask cluster.

    Each scenario's result folder goes to DIR/<name>/ as `siting run` would write it; a failed
    scenario is reported and the others finish; on a re-run, scenarios whose results match
    their inputs (scenario and data) are reused. DIR/batch.md and batch.csv list every outcome.
    """
    from siting._folders import atomic_folder, check_folder, safe_name
    from siting.report.compare import unique_labels

    with _guard(debug=debug):
        _check_language(language)
        files = _scenario_files(scenarios)
        loaded = []
        for path in files:
            scenario = _with_overrides(
                load_scenario(path), time_limit_s=time_limit, mip_gap=mip_gap
            )
            loaded.append(_with_language(scenario, language))
        names = [safe_name(label) for label in unique_labels([s.name for s in loaded])]
        check_folder(out_dir, BATCH)
        previous = out_dir if (out_dir / BATCH).is_file() else None
        with (
            _cluster(scheduler, workers, serial=serial, tasks=len(loaded)) as client,
            atomic_folder(out_dir, BATCH) as staging,
            _tasks(quiet) as show,
        ):
            tally = distributed.run_batch(
                list(zip(names, loaded, strict=True)),
                staging,
                client=client,
                previous=previous,
                language=language,
                progress=show,
            )
            _write_batch_tables(staging, tally, dict(zip(names, files, strict=True)))
            _write_outcomes(staging, tally, BATCH)
        out.print(f"batch of {len(loaded)} scenarios: {tally.line()}")
        for outcome in tally.outcomes:
            if outcome.state == "failed":
                err.print(f"failed: {outcome.key}: {outcome.error}", markup=False)
        out.print(f"results in {out_dir}/ (batch.md, batch.csv, one folder per scenario)")
        _exit_on_failures(tally)


BATCH = "batch.json"
EXIT_PARTIAL = 5


def _scenario_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                msg = f"{path}: no *.toml scenario files in this folder"
                raise ScenarioError(msg)
            files += found
        else:
            files.append(path)
    if not files:
        msg = "batch needs at least one scenario file"
        raise ScenarioError(msg)
    return files


def _write_batch_tables(folder: Path, tally: distributed.Tally, files: dict[str, Path]) -> None:
    """batch.csv and batch.md: one row per scenario with its status and headline figures."""
    import json

    import pandas as pd

    rows = []
    for outcome in sorted(tally.outcomes, key=lambda o: o.key):
        row: dict[str, object] = {"scenario": outcome.key, "file": str(files.get(outcome.key, ""))}
        row["task"] = outcome.state
        summary_path = folder / outcome.key / "summary.json"
        if summary_path.is_file():
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            row |= {
                "status": summary.get("status"),
                "objective": summary.get("objective"),
                "gap": summary.get("gap"),
                "total_cost": summary.get("total_cost"),
                "new_outlets": summary.get("new_outlets"),
            }
            for key, service in summary.get("services", {}).items():
                row[f"{key} %"] = service.get("coverage_pct")
        row["error"] = outcome.error
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "batch.csv", index=False)
    lines = ["# Batch", "", f"{tally.line()}.", ""]
    header = list(frame.columns)
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for record in frame.itertuples(index=False):
        cells = [
            "" if pd.isna(v) else (f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in record
        ]
        lines.append("| " + " | ".join(cells) + " |")
    (folder / "batch.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_outcomes(folder: Path, tally: distributed.Tally, name: str) -> None:
    """Every task's outcome as JSON (``batch.json``, the batch's marker, or ``tasks.json``)."""
    import json

    payload = {"tally": tally.line(), "outcomes": distributed.outcomes_table(tally)}
    (folder / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _first_errors(tally: distributed.Tally) -> str:
    failed = [o for o in tally.outcomes if o.state == "failed"]
    return "; ".join(f"{o.key}: {o.error}" for o in failed[:3])


def _exit_on_failures(tally: distributed.Tally) -> None:
    if tally.failed:
        err.print(f"{tally.failed} task(s) failed; the others were written (exit code 5)")
        raise typer.Exit(EXIT_PARTIAL)


@contextmanager
def _cluster(
    scheduler: str | None, workers: int | None, *, serial: bool, tasks: int
) -> Iterator[Any]:
    """A Dask client (a local cluster unless ``scheduler`` is given), or None with ``serial``."""
    if serial:
        yield None
        return
    local = min(workers or os.cpu_count() or 1, max(tasks, 1)) if tasks else workers
    with distributed.connect(scheduler, workers=local) as client:
        yield client


@contextmanager
def _tasks(quiet: bool) -> Iterator[distributed.Progress]:
    """A progress display for tasks: done / failed / running (a spinner on a terminal)."""
    if quiet:
        yield lambda _tally: None
        return
    spinner = err.status("") if err.is_terminal else None
    if spinner:
        spinner.start()
    shown: set[int] = set()

    def show(tally: distributed.Tally) -> None:
        if spinner:
            spinner.update(f"tasks: {tally.line()}")
        finished = tally.done + tally.failed + tally.skipped
        if not spinner and finished not in shown and finished:
            shown.add(finished)
            err.print(f"  tasks: {tally.line()}")

    try:
        yield show
    finally:
        if spinner:
            spinner.stop()


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"siting {__version__}")


def _with_language(scenario: Scenario, language: str | None) -> Scenario:
    """The scenario with ``--language`` as its report language."""
    if language is None:
        return scenario
    _check_language(language)
    report = scenario.report.model_copy(update={"language": language})
    updated = scenario.model_copy(update={"report": report})
    updated._source = scenario.source
    return updated


def _check_language(language: str | None) -> None:
    if language is not None and language not in ("zh", "en"):
        msg = f"--language {language!r}; use zh (中文) or en (English)"
        raise ScenarioError(msg)


def _with_overrides(scenario: Scenario, **overrides: object) -> Scenario:
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return scenario
    try:
        solve = SolveSpec.model_validate({**scenario.solve.model_dump(), **given})
    except ValueError as error:
        names = ", ".join(f"--{k.replace('_s', '').replace('_', '-')}" for k in given)
        msg = f"invalid option value ({names}): {error.errors()[0]['msg']}"  # type: ignore[attr-defined]
        raise ScenarioError(msg) from None
    return scenario.model_copy(update={"solve": solve})


@contextmanager
def _progress(*, quiet: bool) -> Iterator[Progress]:
    """A callback that shows the running phase (a spinner on a terminal) and slow phases' times."""
    if quiet:
        yield lambda _name, _seconds: None
        return
    spinner = err.status("") if err.is_terminal else None
    if spinner:
        spinner.start()

    def report(name: str, seconds: float | None) -> None:
        label = PHASE_LABELS.get(name, name)
        if seconds is None and spinner:
            spinner.update(f"{label} ...")
        elif seconds is not None and seconds >= 1.0:
            err.print(f"  {label:<30} {seconds:7.2f} s")

    try:
        yield report
    finally:
        if spinner:
            spinner.stop()


PHASE_LABELS = {
    "read": "Reading inputs",
    "coverage": "Computing walk-time coverage",
    "build": "Building the model",
    "solve": "Solving",
    "verify": "Verifying the plan",
    "write": "Writing results",
}


BRANCH_AND_CUT = ("highs", "cbc", "ortools")  # backends the lpfirst hint is for
OBJECTIVE_LABELS = {
    "coverage": "weighted residents newly covered",
    "cost": "cost",
    "circle": "residents gaining the complete circle",
    "min_share": "worst community share",
}


def _value(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.2f} %" if name == "min_share" else f"{value:,.1f}"


def _print_result(run: Run, out_dir: Path) -> None:
    result = run.result
    budget = "none" if result.budget is None else f"{result.budget:,.0f}"
    mode = run.problem.mode
    out.print(
        f"[bold]{run.name}[/bold]: status {result.status}  (mode {mode}, solver {result.solver})"
    )
    for stage in result.stages:
        objective, bound = _value(stage.name, stage.objective), _value(stage.name, stage.bound)
        stage_gap = "n/a" if stage.gap is None else f"{100 * stage.gap:.4f} %"
        label = OBJECTIVE_LABELS.get(stage.name, stage.name)
        out.print(f"{label}: {objective}   bound {bound}   gap {stage_gap}   ({stage.status})")
    out.print(f"cost {result.total_cost:,.0f} of budget {budget}; {len(result.selected)} sites")
    before, after, total = result.circle_population
    if total > 0 and len(run.problem.circle) > 1:
        out.print(
            f"complete circle ({len(run.problem.circle)} services): "
            f"{100 * before / total:.1f} % -> {100 * after / total:.1f} % of residents"
        )
    table = Table(show_edge=False, header_style="bold")
    for column in ("service", "walk min", "before %", "after %", "residents gained", "new"):
        table.add_column(column, justify="left" if column == "service" else "right")
    for s in result.services:
        table.add_row(
            s.key,
            f"{s.walk_minutes:g}",
            f"{s.coverage_pct_before:.1f}",
            f"{s.coverage_pct:.1f}",
            f"{s.gained:,.0f}",
            str(s.new_outlets),
        )
    out.print(table)
    if result.status is Status.TIME_LIMIT:
        out.print("[yellow]stopped at the time limit: the plan is not proven optimal[/yellow]")
        if result.solver in BRANCH_AND_CUT and supports_greedy(run.problem):
            out.print(
                'hint: solver = "lpfirst" (LP bound by row generation, reduced-cost fixing) '
                "often proves large max_coverage questions that plain branch-and-cut cannot"
            )
    out.print(f"results in {out_dir}/")


def main() -> None:
    """Console-script entry point."""
    app()
