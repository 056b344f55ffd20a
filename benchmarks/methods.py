"""The methods a benchmark compares: every siting backend, siting variants, and spopt.

Each method takes a :class:`registry.Case` and a time limit and returns a dict with per-phase
measurements (``Probe``), the status, objective, bound and gap. Phases are timed in wall and
CPU seconds (user + system of all threads of this process and of its child processes, so a
2-thread solver shows up to 2x wall and PuLP's CBC subprocess is counted), and the peak
resident memory during the phase is sampled every 10 ms (psutil), which counts the solvers'
C++ memory too.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from registry import Case

import siting
from siting.localsearch import greedy_plan
from siting.model import build_model
from siting.pipeline import Timings
from siting.results import result_from_stages
from siting.solvers import SOLVERS, SolveOptions, solve_model


def _cpu() -> float:
    """CPU seconds of this process and its finished children (PuLP runs CBC as a child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Probe:
    """Per-phase wall time, CPU time and peak RSS (MiB) of this process."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.phases: dict[str, dict[str, float]] = {}
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._peak = max(self._peak, self.proc.memory_info().rss)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._peak = self.proc.memory_info().rss
        wall, cpu = time.perf_counter(), _cpu()
        try:
            yield
        finally:
            rss = max(self._peak, self.proc.memory_info().rss)
            entry = self.phases.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mib": 0.0})
            entry["wall_s"] += time.perf_counter() - wall
            entry["cpu_s"] += _cpu() - cpu
            entry["peak_rss_mib"] = max(entry["peak_rss_mib"], rss / 2**20)

    def add(self, name: str, wall_s: float) -> None:
        """A phase measured elsewhere (e.g. the instance build): wall only."""
        self.phases[name] = {
            "wall_s": wall_s,
            "cpu_s": float("nan"),
            "peak_rss_mib": self.proc.memory_info().rss / 2**20,
        }

    def close(self) -> None:
        self._stop.set()


def _write(result: siting.SitingResult, problem: siting.SitingProblem) -> None:
    """What a run writes besides maps: summary JSON and the selected sites as CSV."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "summary.json").write_text(json.dumps(result.summary(), default=str))
        rows = ["site_id,services,cost"] + [
            f"{s.site_id},{'|'.join(s.services)},{s.cost}" for s in result.selected
        ]
        Path(folder, "selected_sites.csv").write_text("\n".join(rows))


def _outcome(result: siting.SitingResult) -> dict[str, Any]:
    return {
        "status": str(result.status),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "stats": {k: int(v) for k, v in result.model_stats.items()},
    }


def siting_backend(name: str) -> Callable[[Case, float, Probe], dict[str, Any]]:
    """``siting.solve(problem, solver=name)``: build, solve (greedy warm start), verify, write."""

    def run(case: Case, time_limit_s: float, probe: Probe) -> dict[str, Any]:
        # The public entry point; its Timings split the wall time, the probe measures CPU
        # and peak memory of the whole call (CPU is put on "solve", where nearly all of it is).
        timings = Timings()
        options = SolveOptions(time_limit_s=time_limit_s)
        with probe.phase("all"):
            result = siting.solve(case.problem, solver=name, options=options, timings=timings)
        total = probe.phases.pop("all")
        for phase, seconds in timings.seconds.items():
            probe.phases[phase] = {
                "wall_s": seconds,
                "cpu_s": 0.0,
                "peak_rss_mib": total["peak_rss_mib"],
            }
        probe.phases.setdefault("solve", {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mib": 0.0})
        probe.phases["solve"]["cpu_s"] = total["cpu_s"]
        with probe.phase("write"):
            _write(result, case.problem)
        return _outcome(result)

    return run


def siting_presolved(case: Case, time_limit_s: float, probe: Probe) -> dict[str, Any]:
    """Build, exact presolve (:mod:`siting.presolve`), HiGHS with greedy warm start, verify."""
    from siting.presolve import presolve_model

    with probe.phase("build"):
        model = build_model(case.problem)
    with probe.phase("presolve"):
        reduced = presolve_model(model)
    options = SolveOptions(time_limit_s=time_limit_s)
    with probe.phase("solve"):
        start = greedy_plan(reduced)
        solved = solve_model(
            reduced,
            solver="highs",
            options=SolveOptions(time_limit_s=time_limit_s, warm_start=start),
        )
    with probe.phase("verify"):
        result = result_from_stages(reduced, [solved], mip_gap_tolerance=options.mip_gap)
    with probe.phase("write"):
        _write(result, case.problem)
    out = _outcome(result)
    out["stats"] = {k: int(v) for k, v in reduced.stats.items()}
    return out


def siting_lpfirst(case: Case, time_limit_s: float, probe: Probe) -> dict[str, Any]:
    """Build, presolve, then :func:`siting.lpfirst.solve_lp_first` (IPM LP, fixing, MIP)."""
    from siting.lpfirst import solve_lp_first
    from siting.presolve import presolve_model

    with probe.phase("build"):
        model = build_model(case.problem)
    with probe.phase("presolve"):
        reduced = presolve_model(model)
    options = SolveOptions(time_limit_s=time_limit_s)
    with probe.phase("solve"):
        solved = solve_lp_first(reduced, options)
    with probe.phase("verify"):
        result = result_from_stages(reduced, [solved], mip_gap_tolerance=options.mip_gap)
    with probe.phase("write"):
        _write(result, case.problem)
    out = _outcome(result)
    out["stats"] = {k: int(v) for k, v in reduced.stats.items()}
    out["stages"] = solved.message
    return out


def siting_heuristic(case: Case, time_limit_s: float, probe: Probe) -> dict[str, Any]:
    """Build, presolve, :func:`siting.localsearch.merge_search` for min(10 s, limit)."""
    from siting.localsearch import merge_search, search_chains
    from siting.presolve import presolve_model

    with probe.phase("build"):
        model = build_model(case.problem)
    with probe.phase("presolve"):
        reduced = presolve_model(model)
    with probe.phase("solve"):
        found = merge_search(
            reduced, time_limit_s=min(10.0, time_limit_s), chains=search_chains(None)
        )
    return {
        "status": "feasible",
        "objective": found.objective,
        "bound": None,
        "gap": None,
        "stats": dict(reduced.stats),
        "restarts": found.restarts,
    }


def greedy(case: Case, time_limit_s: float, probe: Probe) -> dict[str, Any]:
    """The greedy construction alone (no bound beyond 'every reachable row covered')."""
    with probe.phase("build"):
        model = build_model(case.problem)
    with probe.phase("solve"):
        plan = greedy_plan(model)
    value = model.objective_of(plan) if plan is not None else None
    return {
        "status": "feasible",
        "objective": value,
        "bound": None,
        "gap": None,
        "stats": dict(model.stats),
    }


def spopt_method(solver_name: str) -> Callable[[Case, float, Probe], dict[str, Any]]:
    """spopt ``MCLP.from_cost_matrix`` + ``solve(results=False)`` with PuLP's CBC or HiGHS.

    The dense cost matrix is what ``MCLP.from_geodataframe`` builds (``cdist``) for geometric
    instances; for file instances it is our coverage densified (0 inside, 2 outside r = 1).
    ``results=False`` skips spopt's O(n m) Python loops over the solution, in its favour.
    PuLP reports status Optimal for a time-limited incumbent; ``sol_status`` (1 = optimal,
    2 = integer feasible) tells them apart, and the result says which it was.
    """

    def run(case: Case, time_limit_s: float, probe: Probe) -> dict[str, Any]:
        import warnings

        warnings.simplefilter("ignore")
        import pulp
        from spopt.locate import MCLP

        data = case.pmclp
        if data is None:
            return {"status": "not_applicable"}
        with probe.phase("coverage"):
            if "demand_xy" in data:
                from scipy.spatial.distance import cdist

                cost = cdist(data["demand_xy"], data["site_xy"])
                radius = float(data["radius"])
            else:
                cost = np.where(data["cover"].toarray(), 0.0, 2.0)
                radius = 1.0
        with probe.phase("build"):
            mclp = MCLP.from_cost_matrix(
                cost,
                data["weights"],
                service_radius=radius,
                p_facilities=int(data["p"]),
                name="bench",
            )
        del cost
        if solver_name == "cbc":
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, threads=1)
        else:
            solver = pulp.HiGHS(msg=False, timeLimit=time_limit_s)
        with probe.phase("solve"):
            try:
                mclp.solve(solver, results=False)
                error = ""
            except RuntimeError as exc:  # spopt raises for anything but status Optimal
                error = str(exc)
        prob = mclp.problem
        claimed = pulp.LpStatus.get(prob.status, str(prob.status))
        sol = pulp.LpSolution.get(prob.sol_status, str(prob.sol_status))
        value = pulp.value(prob.objective)
        # Recompute the plan's coverage independently of spopt's y variables.
        x = np.array([v.value() or 0.0 for v in prob.variables() if v.name.startswith("x")])
        names = [v.name for v in prob.variables() if v.name.startswith("x")]
        order = np.argsort([int(n[2:-1]) for n in names])
        opened = np.flatnonzero(x[order] > 0.5)
        covered = np.asarray(data["cover"][:, opened].sum(axis=1)).ravel() > 0
        recomputed = float(data["weights"][covered].sum())
        proven = prob.status == 1 and prob.sol_status == 1
        return {
            "status": "optimal" if proven else ("time_limit" if prob.status == 1 else "error"),
            "objective": recomputed,
            "reported_objective": value,
            "bound": None,
            "gap": None,
            "spopt_status": claimed,
            "pulp_solution_status": sol,
            "silent_time_limit": bool(prob.status == 1 and prob.sol_status != 1),
            "error": error,
        }

    return run


def available_methods() -> dict[str, Callable[[Case, float, Probe], dict[str, Any]]]:
    """Every installed siting backend, the siting variants, and spopt when installed."""
    methods: dict[str, Callable[[Case, float, Probe], dict[str, Any]]] = {}
    for name, backend in SOLVERS.items():
        if backend.is_available():
            methods[name] = siting_backend(name)
    methods["highs+presolve"] = siting_presolved
    methods["lpfirst"] = siting_lpfirst
    methods["ils10"] = siting_heuristic
    methods["greedy"] = greedy
    try:
        import spopt  # noqa: F401

        methods["spopt-cbc"] = spopt_method("cbc")
        methods["spopt-highs"] = spopt_method("highs")
    except ImportError:
        pass
    return methods


def environment() -> dict[str, Any]:
    from importlib.metadata import version

    import highspy  # noqa: F401

    versions = {}
    for package in ("highspy", "numpy", "scipy", "spopt", "pulp"):
        try:
            versions[package] = version(package)
        except Exception:
            versions[package] = None
    return {"cpus": os.cpu_count(), "versions": versions, "commit": _commit()}


def _commit() -> str | None:
    """The git commit of the ``siting`` that runs (``+`` when it has uncommitted changes)."""
    source = Path(siting.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=source, capture_output=True, text=True
        )
    except OSError:  # no git
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")
