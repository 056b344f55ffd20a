"""A scenario, end to end: read, compute coverage, build, solve, verify; each phase timed.

:func:`run_scenario` is what ``siting run`` calls; it returns a :class:`Run` holding the inputs
in the working CRS, the coverage, the problem and the result, so a study can inspect any step.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting import __version__, settings
from siting._errors import DataValidationError
from siting._validate import Problems, describe_rows
from siting.candidates import CandidateSites, candidates_from_file, mobile_from_file
from siting.coverage import ServiceCoverage, coverage_from_points
from siting.demand import DemandPoints, demand_from_file
from siting.facilities import ExistingFacilities, facilities_from_file
from siting.localsearch import greedy_plan, supports_greedy
from siting.model import SitingModel, build_model
from siting.network import (
    OffNetwork,
    WalkNetwork,
    WalkReport,
    check_snapping,
    coverage_from_network,
    network_from_file,
    network_walk_m,
)
from siting.presolve import presolve_model
from siting.problem import Equity, SitingProblem
from siting.projection import WGS84, check_tables_overlap, transform, working_crs
from siting.results import SitingResult, result_from_stages
from siting.scenario import ModelSpec, Scenario
from siting.services import POPULATION, Service
from siting.solvers import SolveOptions, SolveResult, Status, get_solver
from siting.traveltimes import TravelTimes, coverage_from_travel_times, travel_times_from_file

Progress = Callable[[str, float | None], None]
"""Called with a phase name when it starts (seconds None) and when it ends (seconds)."""


@dataclass
class Timings:
    """Wall-clock seconds per phase, reported to an optional progress callback."""

    progress: Progress | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the enclosed block as phase ``name``."""
        if self.progress:
            self.progress(name, None)
        started = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        if self.progress:
            self.progress(name, self.seconds[name])


@dataclass(frozen=True)
class Inputs:
    """The three tables of a scenario, in one metric CRS, and where walk times come from.

    ``walk`` is a street network (in the same CRS), a precomputed travel-time table, or None
    for straight-line distance x detour factor.
    """

    demand: DemandPoints
    sites: CandidateSites
    existing: ExistingFacilities
    walk: WalkNetwork | TravelTimes | None = None


@dataclass(frozen=True)
class Run:
    """Everything a run produced, for writers, reports and studies."""

    name: str
    services: tuple[Service, ...]
    inputs: Inputs
    coverage: tuple[ServiceCoverage, ...]
    problem: SitingProblem
    result: SitingResult
    timings_s: dict[str, float]
    scenario: Scenario | None = None
    walk_report: WalkReport | None = None

    def summary(self) -> dict[str, Any]:
        """Everything ``summary.json`` holds (see README, "Outputs")."""
        summary: dict[str, Any] = {"scenario": self.name, **self.result.summary()}
        existing = self.inputs.existing
        for service in self.services:
            summary["services"][service.key]["existing_outlets"] = int(
                (existing.service == service.key).sum()
            )
        summary["timings_s"] = {k: round(v, 4) for k, v in self.timings_s.items()}
        summary["walk"] = (self.walk_report or WalkReport("straight_line")).summary()
        summary["siting_version"] = __version__
        return summary


def read_inputs(scenario: Scenario) -> Inputs:
    """Read the demand, candidate and existing tables of a scenario, in one metric CRS.

    Raises
    ------
    DataValidationError
        Listing every problem in every table.
    """
    keys = [s.key for s in scenario.service_list()]
    messages: list[str] = []
    demand = sites = existing = None
    try:
        demand = demand_from_file(scenario.demand)
    except DataValidationError as error:
        messages.extend(error.problems)
    try:
        sites = candidates_from_file(scenario.candidates, service_keys=keys)
    except DataValidationError as error:
        messages.extend(error.problems)
    try:
        existing = facilities_from_file(scenario.existing, service_keys=keys)
    except DataValidationError as error:
        messages.extend(error.problems)
    if scenario.mobile is not None:
        mobile_keys = [s.key for s in scenario.service_list() if s.mobile_cost is not None]
        try:
            mobile = mobile_from_file(scenario.mobile, mobile_services=mobile_keys)
            sites = sites.concat(mobile) if sites is not None else None
        except DataValidationError as error:
            messages.extend(error.problems)
    if demand is None or sites is None or existing is None or messages:
        raise DataValidationError(messages)
    inputs = align_inputs(demand, sites, existing)
    return replace(inputs, walk=read_walk(scenario, inputs))


def read_walk(scenario: Scenario, inputs: Inputs) -> WalkNetwork | TravelTimes | None:
    """Read the scenario's street network or travel-time table for ``inputs`` (None: straight).

    A network is read in the inputs' CRS and, with ``off_network = "error"``, every point is
    checked to lie within ``max_snap_m`` of it.

    Raises
    ------
    DataValidationError
        For an unreadable or empty network, points off the network, or a travel-time table
        with bad rows or unknown ids.
    """
    walk = scenario.walk
    if walk.walk_mode == "network" and walk.network is not None:
        network = network_from_file(walk.network, crs=inputs.demand.crs, layer=walk.network_layer)
        if walk.off_network == "error":
            check_snapping(
                network,
                {
                    "demand points": (inputs.demand.xy, inputs.demand.ids),
                    "candidate sites": (inputs.sites.xy, inputs.sites.ids),
                    "existing outlets": (inputs.existing.xy, inputs.existing.ids),
                },
                max_snap_m=walk.max_snap_m,
            )
        return network
    if walk.walk_mode == "table" and walk.table is not None:
        return travel_times_from_file(
            walk.table,
            demand_ids=inputs.demand.ids,
            site_ids=inputs.sites.ids,
            outlet_ids=inputs.existing.ids,
            speed_m_per_s=walk.speed_m_per_s,
        )
    return None


def align_inputs(
    demand: DemandPoints, sites: CandidateSites, existing: ExistingFacilities | None = None
) -> Inputs:
    """Move the three tables to one metric CRS and check that they describe the same place.

    The CRS is the tables' own if they share a projected metric CRS, else a local transverse
    Mercator centred on the demand (:func:`siting.projection.working_crs`).

    Raises
    ------
    DataValidationError
        If a table is empty or lies far from the demand points.
    """
    existing = existing if existing is not None else ExistingFacilities.empty(demand.crs)
    centre = transform(demand.xy, demand.crs, WGS84).mean(axis=0) if len(demand) else (0.0, 0.0)
    crss = [demand.crs, sites.crs] + ([existing.crs] if len(existing) else [])
    crs = working_crs(crss, lonlat_centre=(float(centre[0]), float(centre[1])))
    inputs = Inputs(demand.to_crs(crs), sites.to_crs(crs), existing.to_crs(crs))
    problems = Problems("scenario")
    if len(inputs.demand) == 0:
        problems.add("[demand] has no rows; a plan needs residents")
    if len(inputs.sites) == 0:
        problems.add("[candidates] has no rows; a plan needs candidate sites")
    check_tables_overlap(
        {
            "demand points": inputs.demand.xy,
            "candidate sites": inputs.sites.xy,
            "existing outlets": inputs.existing.xy,
        },
        problems=problems,
    )
    problems.raise_if_any()
    return inputs


def problem_from_inputs(
    inputs: Inputs,
    coverage: tuple[ServiceCoverage, ...],
    services: tuple[Service, ...],
    *,
    budget: float | None,
    model: ModelSpec | None = None,
) -> SitingProblem:
    """The :class:`SitingProblem` for these inputs, coverage and planning question.

    Raises
    ------
    DataValidationError
        If the community column is missing or has empty cells.
    """
    model = model or ModelSpec()
    demand, sites = inputs.demand, inputs.sites
    keys = [s.key for s in services]
    index = {key: k for k, key in enumerate(keys)}
    weights = np.column_stack([demand.weight(s.segment) for s in services])
    mobile = sites.kind == "mobile"
    fit_out = np.array(
        [
            [(s.mobile_cost or 0.0) if is_mobile else s.fit_out_cost for s in services]
            for is_mobile in mobile
        ]
    ).reshape(len(sites), len(services))
    equity, site_groups = _communities(inputs, model, index)
    return SitingProblem.from_arrays(
        [c.minutes for c in coverage],
        weights,
        services=services,
        credit=[c.credit for c in coverage],
        population=demand.weight(POPULATION),
        credit_before=np.column_stack([c.credit_before for c in coverage]),
        site_fixed_cost=sites.fixed_cost,
        fit_out_cost=fit_out,
        site_capacity=sites.capacity,
        site_floor_area_m2=sites.floor_area_m2,
        allowed=sites.allowed_matrix(keys),
        site_decision=sites.decision,
        budget=budget,
        mode=model.mode,
        circle=None if model.circle is None else [index[k] for k in model.circle],
        circle_weight=model.circle_weight,
        stages=[[index[k] for k in stage] for stage in model.lexicographic],
        stage_tolerance=model.stage_tolerance_pct / 100.0,
        equity=equity,
        site_groups=site_groups,
        min_new_per_group=model.min_new_per_community,
        demand_ids=demand.ids,
        site_ids=sites.ids,
        site_kind=sites.kind,
    )


def _communities(
    inputs: Inputs, model: ModelSpec, index: dict[str, int]
) -> tuple[Equity | None, NDArray[np.intp] | None]:
    """Communities of demand points and sites from the ``[model] community`` column."""
    if model.community is None:
        return None, None
    demand, sites = inputs.demand, inputs.sites
    problems = Problems("[model] community")
    if model.community not in demand.attributes:
        problems.add(
            f"demand column '{model.community}' not found; columns are: "
            f"{', '.join(map(str, demand.attributes.columns))}"
        )
        problems.raise_if_any()
    raw = demand.attributes[model.community]
    names_of_demand = raw.fillna("").astype(str).str.strip().to_numpy(object)
    empty = names_of_demand == ""
    if empty.any():
        rows = np.flatnonzero(empty)
        problems.add(
            f"demand column '{model.community}' is empty at {rows.size} row(s): "
            f"{describe_rows(rows, demand.ids)}; "
            "every demand point needs a community for equity floors and community tables"
        )
        problems.raise_if_any()
    names = sorted(set(names_of_demand) | (set(sites.community) - {""}))
    position = {name: c for c, name in enumerate(names)}
    groups = np.array([position[name] for name in names_of_demand], dtype=np.intp)
    site_groups = np.array([position.get(name, -1) for name in sites.community], dtype=np.intp)
    services = model.equity_services or list(index)
    equity = Equity(
        groups=groups,
        names=tuple(names),
        min_share=None if model.equity_min_pct is None else model.equity_min_pct / 100.0,
        services=tuple(index[k] for k in services),
    )
    return equity, site_groups


def solve(
    problem: SitingProblem,
    *,
    solver: str = settings.SOLVER,
    options: SolveOptions | None = None,
    timings: Timings | None = None,
) -> SitingResult:
    """Build, solve (stage by stage) and verify a problem: the array-level entry point.

    Questions with several objectives are solved in order; each stage keeps what the earlier
    ones reached as a constraint (less ``stage_tolerance``) and starts from their plan. The time
    limit covers all stages together.

    Parameters
    ----------
    problem
        The instance and question (:meth:`SitingProblem.from_arrays`).
    solver
        Backend name.
    options
        Time limit, gap, threads, warm start.
    timings
        Collector for the ``build``, ``solve`` and ``verify`` phases.

    Returns
    -------
    SitingResult
        The plan, its status, objective, bound and gap, verified against the coverage.
    """
    backend = get_solver(solver)
    backend.check(problem)
    options = options or SolveOptions()
    timings = timings or Timings()
    with timings.phase("build"):
        model = presolve_model(build_model(problem))  # exact; steps aside where it cannot apply
    answers: list[SolveResult] = []
    with timings.phase("solve"):
        started = time.perf_counter()
        start_plan = options.warm_start
        if start_plan is None and options.heuristic_warm_start and supports_greedy(problem):
            start_plan = greedy_plan(model)
        floors: list[float] = []
        for stage in range(len(model.stages)):
            remaining = None
            if options.time_limit_s is not None:
                remaining = max(0.0, options.time_limit_s - (time.perf_counter() - started))
            stage_model = dataclasses.replace(model, milp=model.stage_arrays(stage, floors))
            answer = backend.solve(
                stage_model,
                dataclasses.replace(options, time_limit_s=remaining, warm_start=start_plan),
            )
            if answer.values is None and answer.status is Status.NO_SOLUTION:
                answer = _fall_back_to_start(stage_model, answer, start_plan)
            elif answer.values is not None and not stage_model.satisfies(answer.values):
                answer = _reject(answer)
            answers.append(answer)
            if answer.values is None or answer.objective is None:
                break
            start_plan = model.open_matrix(answer.values)
            slack = max(
                problem.stage_tolerance * abs(answer.objective),
                1e-7 * max(1.0, abs(answer.objective)),
            )
            floors.append(answer.objective - slack)
    with timings.phase("verify"):
        return result_from_stages(model, answers, mip_gap_tolerance=options.mip_gap)


def _reject(answer: SolveResult) -> SolveResult:
    """A backend's plan that breaks the model's constraints is an error, never a result."""
    message = f"{answer.message}; the solver returned a plan that breaks a constraint"
    return dataclasses.replace(
        answer, status=Status.ERROR, values=None, objective=None, bound=None, message=message
    )


def _fall_back_to_start(
    model: SitingModel, answer: SolveResult, start: NDArray[np.bool_] | None
) -> SolveResult:
    """When a solver stops before finding any plan, keep the (feasible) plan it started from.

    The status says the time limit was hit; the bound stays what the solver proved, if
    anything, so the gap is honest.
    """
    if start is None:
        return answer
    values = model.values_from_open(start)
    if not model.satisfies(values):
        return answer
    objective = float(model.milp.c @ values)
    message = f"{answer.message}; no solver plan within the limit, kept the starting plan"
    return dataclasses.replace(
        answer, status=Status.TIME_LIMIT, values=values, objective=objective, message=message
    )


NetworkWalk = Callable[..., sparse.csr_array]
"""A replacement for :func:`siting.network.network_walk_m` (e.g. one spread over a cluster)."""


def compute_coverage(
    inputs: Inputs,
    services: tuple[Service, ...],
    *,
    speed_m_per_s: float = settings.WALK_SPEED_M_PER_S,
    detour_factor: float = settings.DETOUR_FACTOR,
    max_snap_m: float = settings.MAX_SNAP_M,
    off_network: OffNetwork = "error",
    network_walk: NetworkWalk | None = None,
) -> tuple[tuple[ServiceCoverage, ...], WalkReport | None]:
    """Coverage of every service from the inputs' walk model, and its report.

    ``inputs.walk`` decides: a street network, a travel-time table, or straight lines x
    ``detour_factor``. ``network_walk`` replaces the network's shortest-path computation (same
    signature as :func:`siting.network.network_walk_m`), e.g. to spread it over a cluster.
    """
    demand, sites, existing = inputs.demand, inputs.sites, inputs.existing
    mobile = sites.kind == "mobile"
    if isinstance(inputs.walk, WalkNetwork):
        return coverage_from_network(
            demand,
            sites,
            existing,
            services,
            inputs.walk,
            speed_m_per_s=speed_m_per_s,
            max_snap_m=max_snap_m,
            off_network=off_network,
            mobile=mobile,
            walk_m=network_walk or network_walk_m,
        )
    if isinstance(inputs.walk, TravelTimes):
        return coverage_from_travel_times(
            demand,
            sites,
            existing,
            services,
            inputs.walk,
            speed_m_per_s=speed_m_per_s,
            mobile=mobile,
        )
    coverage = coverage_from_points(
        demand,
        sites,
        existing,
        services,
        speed_m_per_s=speed_m_per_s,
        detour_factor=detour_factor,
        mobile=mobile,
    )
    return coverage, None


def run_inputs(
    inputs: Inputs,
    services: tuple[Service, ...] | list[Service],
    *,
    budget: float | None = None,
    speed_m_per_s: float = settings.WALK_SPEED_M_PER_S,
    detour_factor: float = settings.DETOUR_FACTOR,
    solver: str = settings.SOLVER,
    options: SolveOptions | None = None,
    name: str = "study",
    model: ModelSpec | None = None,
    progress: Progress | None = None,
    timings: Timings | None = None,
    max_snap_m: float = settings.MAX_SNAP_M,
    off_network: OffNetwork = "error",
    network_walk: NetworkWalk | None = None,
) -> Run:
    """Coverage, model, solve and verification for inputs already in memory.

    Use :func:`align_inputs` to build ``inputs`` from the ``*_from_geodataframe`` readers.
    Walk times come from ``inputs.walk``: a :class:`~siting.network.WalkNetwork` (snapping
    within ``max_snap_m``; ``off_network`` says what to do with points beyond it), a
    :class:`~siting.traveltimes.TravelTimes` table, or straight lines x ``detour_factor``.
    """
    services = tuple(services)
    timings = timings or Timings(progress)
    get_solver(solver)  # fail before any work if the backend is missing
    with timings.phase("coverage"):
        coverage, walk_report = compute_coverage(
            inputs,
            services,
            speed_m_per_s=speed_m_per_s,
            detour_factor=detour_factor,
            max_snap_m=max_snap_m,
            off_network=off_network,
            network_walk=network_walk,
        )
    with timings.phase("build"):
        problem = problem_from_inputs(inputs, coverage, services, budget=budget, model=model)
    result = solve(problem, solver=solver, options=options, timings=timings)
    return Run(
        name=name,
        services=services,
        inputs=inputs,
        coverage=coverage,
        problem=problem,
        result=result,
        timings_s=timings.seconds,
        walk_report=walk_report,
    )


def run_scenario(
    scenario: Scenario,
    *,
    progress: Progress | None = None,
    inputs: Inputs | None = None,
    network_walk: NetworkWalk | None = None,
) -> Run:
    """Run a scenario end to end: read, coverage, build, solve, verify.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`siting.load_scenario`).
    progress
        Optional callback told when each phase starts and ends.
    inputs
        The scenario's inputs if already read (:func:`read_inputs`), e.g. shipped to a worker.
    network_walk
        Replacement for the network shortest paths (see :func:`compute_coverage`).

    Raises
    ------
    DataValidationError
        If the data is invalid (nothing has been solved).
    InfeasibleError
        If a constraint can be proven impossible before solving.
    SolverUnavailableError
        If the chosen backend is not installed.
    """
    timings = Timings(progress)
    get_solver(scenario.solve.solver)
    if inputs is None:
        with timings.phase("read"):
            inputs = read_inputs(scenario)
    try:
        run = run_inputs(
            inputs,
            scenario.service_list(),
            budget=scenario.budget.total,
            speed_m_per_s=scenario.walk.speed_m_per_s,
            detour_factor=scenario.walk.detour_factor,
            solver=scenario.solve.solver,
            options=SolveOptions(
                time_limit_s=scenario.solve.time_limit_s,
                mip_gap=scenario.solve.mip_gap,
                threads=scenario.solve.threads,
                verbose=scenario.solve.verbose,
                heuristic_warm_start=scenario.solve.warm_start,
            ),
            name=scenario.name,
            model=scenario.model,
            timings=timings,
            max_snap_m=scenario.walk.max_snap_m,
            off_network=scenario.walk.off_network,
            network_walk=network_walk,
        )
    except DataValidationError as error:  # a problem of the scenario's numbers, e.g. its budget
        raise DataValidationError([f"{scenario.source}: {p}" for p in error.problems]) from None
    return replace(run, scenario=scenario)
