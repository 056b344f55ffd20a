"""Shared fixtures: tiny scenario folders written to tmp_path, and the shared data folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from siting import Service, SitingProblem
from siting.instances import pmclp_problem
from siting.model import SitingModel
from siting.solvers import SolveOptions, solve_model

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "scenarios" / "demo" / "scenario.toml"


def random_pmclp(seed: int, *, n: int = 80, m: int = 20, p: int = 4) -> SitingProblem:
    """A random p-MCLP: 12 % dense coverage, integer weights 1..59."""
    rng = np.random.default_rng(seed)
    cover = sparse.csr_array(rng.random((n, m)) < 0.12)
    return pmclp_problem(cover, rng.integers(1, 60, n).astype(float), p)


def random_multi_service(
    seed: int,
    *,
    n: int = 60,
    m: int = 14,
    densities: tuple[float, float, float] = (0.1, 0.2, 0.3),
    max_c: int = 2,
    **kwargs: object,
) -> SitingProblem:
    """Three services (b has a minimum of 1, c a maximum of ``max_c``), site fixed costs,
    capacities and a budget of 12; ``kwargs`` go to :meth:`SitingProblem.from_arrays`."""
    rng = np.random.default_rng(seed)
    services = [
        Service("a", 5, fit_out_cost=2.0),
        Service("b", 8, fit_out_cost=1.0, min_new=1),
        Service("c", 10, fit_out_cost=3.0, max_new=max_c),
    ]
    return SitingProblem.from_arrays(
        [sparse.csr_array(rng.random((n, m)) < d) for d in densities],
        rng.integers(0, 30, (n, 3)).astype(float),
        services=services,
        site_fixed_cost=np.where(rng.random(m) < 0.5, 0.0, rng.integers(1, 4, m).astype(float)),
        site_capacity=rng.integers(1, 4, m).astype(float),
        budget=12.0,
        **kwargs,  # type: ignore[arg-type]
    )


def proven_optimum(model: SitingModel) -> float:
    """The model's optimum by HiGHS, asserting that it was proven."""
    result = solve_model(model, options=SolveOptions(time_limit_s=30))
    assert result.status == "optimal"
    assert result.objective is not None
    return float(result.objective)


def shared_path(*parts: str) -> Path:
    """A path under ../shared; the calling test is skipped when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


# A tiny district in UTM 50N metres: 6 demand points on a line, 3 candidate sites, 1 outlet.
DEMAND = pd.DataFrame(
    {
        "id": ["d1", "d2", "d3", "d4", "d5", "d6"],
        "x": [500_000.0, 500_100, 500_200, 501_000, 501_100, 502_000],
        "y": [2_900_000.0] * 6,
        "population": [100, 200, 300, 400, 500, 600],
        "pop_60plus": [10, 20, 30, 40, 50, 60],
    }
)
SITES = pd.DataFrame(
    {
        "id": ["s1", "s2", "s3"],
        "x": [500_100.0, 501_050, 502_000],
        "y": [2_900_000.0] * 3,
        "fixed_cost": [100.0, 100.0, 100.0],
        "max_services": [2, 2, 2],
    }
)
EXISTING = pd.DataFrame({"id": ["e1"], "x": [502_000.0], "y": [2_900_050.0], "service": ["shop"]})

SCENARIO = """
[scenario]
name = "tiny"

[demand]
path = "demand.csv"
x = "x"
y = "y"
crs = "EPSG:32650"
population = "population"
segments = {{ elderly = "pop_60plus" }}

[candidates]
path = "sites.csv"
x = "x"
y = "y"
crs = "EPSG:32650"
fixed_cost = "fixed_cost"
capacity = "max_services"

[existing]
path = "existing.csv"
x = "x"
y = "y"
crs = "EPSG:32650"
service = "service"

[walk]
speed_m_per_s = 1.0
detour_factor = 1.0

[[services]]
key = "shop"
walk_minutes = 3          # 180 m
fit_out_cost = 50

[[services]]
key = "care"
walk_minutes = 3
segment = "elderly"
fit_out_cost = 50

[budget]
total = {budget}

[solve]
time_limit_s = 30
"""

WriteScenario = Callable[..., Path]


@pytest.fixture
def write_scenario(tmp_path: Path) -> WriteScenario:
    """Write the tiny scenario (optionally with changed tables or TOML) and return its path."""

    def write(
        *,
        demand: pd.DataFrame | None = None,
        sites: pd.DataFrame | None = None,
        existing: pd.DataFrame | None = None,
        budget: float = 300,
        toml: str | None = None,
        folder: str = "scn",
    ) -> Path:
        base = tmp_path / folder
        base.mkdir(exist_ok=True)
        (DEMAND if demand is None else demand).to_csv(base / "demand.csv", index=False)
        (SITES if sites is None else sites).to_csv(base / "sites.csv", index=False)
        (EXISTING if existing is None else existing).to_csv(base / "existing.csv", index=False)
        text = toml if toml is not None else SCENARIO.format(budget=budget)
        path = base / "scenario.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
