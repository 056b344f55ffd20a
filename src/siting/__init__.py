"""siting: where to open neighbourhood services, on a budget, for 15-minute living circles.

The main entry points:

- :func:`load_scenario` and :func:`run_scenario` run a TOML scenario end to end;
- :class:`SitingProblem` builds an instance from arrays, :func:`build_model` turns it into MILP
  arrays and :func:`solve` returns a verified :class:`SitingResult`;
- :func:`write_outputs` writes a run's folder (summary.json, CSV, GeoPackage).
"""

from __future__ import annotations

__version__ = "0.1.0"

from siting._errors import (
    DataValidationError,
    InfeasibleError,
    ScenarioError,
    SitingError,
    SolverUnavailableError,
)
from siting.candidates import CandidateSites, candidates_from_file, candidates_from_geodataframe
from siting.coverage import ServiceCoverage, coverage_from_points, straight_line_walk_m
from siting.demand import DemandPoints, demand_from_file, demand_from_geodataframe
from siting.facilities import ExistingFacilities, facilities_from_file, facilities_from_geodataframe
from siting.model import MilpArrays, ObjectiveSpec, SitingModel, build_model
from siting.network import (
    WalkNetwork,
    WalkReport,
    coverage_from_network,
    network_from_file,
    network_walk_m,
)
from siting.outputs import write_outputs
from siting.pipeline import Inputs, Run, align_inputs, read_inputs, run_inputs, run_scenario, solve
from siting.problem import Equity, SitingProblem
from siting.results import SitingResult, covered_by_plan, measure_plan, plan_cost, plan_value
from siting.scenario import Scenario, load_scenario, scenario_from_dict
from siting.services import Service
from siting.solvers import SolveOptions, SolveResult, Status
from siting.traveltimes import TravelTimes, coverage_from_travel_times, travel_times_from_file

__all__ = [
    "CandidateSites",
    "DataValidationError",
    "DemandPoints",
    "Equity",
    "ExistingFacilities",
    "InfeasibleError",
    "Inputs",
    "MilpArrays",
    "ObjectiveSpec",
    "Run",
    "Scenario",
    "ScenarioError",
    "Service",
    "ServiceCoverage",
    "SitingError",
    "SitingModel",
    "SitingProblem",
    "SitingResult",
    "SolveOptions",
    "SolveResult",
    "SolverUnavailableError",
    "Status",
    "TravelTimes",
    "WalkNetwork",
    "WalkReport",
    "__version__",
    "align_inputs",
    "build_model",
    "candidates_from_file",
    "candidates_from_geodataframe",
    "coverage_from_network",
    "coverage_from_points",
    "coverage_from_travel_times",
    "covered_by_plan",
    "demand_from_file",
    "demand_from_geodataframe",
    "facilities_from_file",
    "facilities_from_geodataframe",
    "load_scenario",
    "measure_plan",
    "network_from_file",
    "network_walk_m",
    "plan_cost",
    "plan_value",
    "read_inputs",
    "run_inputs",
    "run_scenario",
    "scenario_from_dict",
    "solve",
    "straight_line_walk_m",
    "travel_times_from_file",
    "write_outputs",
]
