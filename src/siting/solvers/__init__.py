"""Solver backends behind one interface, and the registry that names them.

>>> sorted(SOLVERS)
['cbc', 'heuristic', 'highs', 'lpfirst', 'ortools', 'ortools-sat']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from siting._errors import SolverUnavailableError
from siting.lpfirst import LpFirstSolver
from siting.solvers.base import SolveOptions, Solver, SolveResult, Status, relative_gap
from siting.solvers.cbc import CbcSolver
from siting.solvers.heuristic import HeuristicSolver
from siting.solvers.highs import HighsSolver
from siting.solvers.ortools import OrToolsSatSolver, OrToolsScipSolver

if TYPE_CHECKING:
    from siting.model import SitingModel

SOLVERS: dict[str, type[Solver]] = {
    HighsSolver.name: HighsSolver,
    CbcSolver.name: CbcSolver,
    HeuristicSolver.name: HeuristicSolver,
    OrToolsScipSolver.name: OrToolsScipSolver,
    OrToolsSatSolver.name: OrToolsSatSolver,
    LpFirstSolver.name: LpFirstSolver,
}


def get_solver(name: str) -> Solver:
    """The backend called ``name``.

    Raises
    ------
    SolverUnavailableError
        If the name is unknown or its package is not installed; the message names the fix.
    """
    try:
        backend = SOLVERS[name]
    except KeyError:
        msg = f"unknown solver '{name}'; choose one of {', '.join(sorted(SOLVERS))}"
        raise SolverUnavailableError(msg) from None
    if not backend.is_available():
        modules = ", ".join(backend.required_modules)
        install = (
            f"pip install 'siting[{backend.extra}]'" if backend.extra else f"pip install {modules}"
        )
        msg = f"solver '{name}' needs {modules}, which is not installed; run: {install}"
        raise SolverUnavailableError(msg)
    return backend()


def solve_model(
    model: SitingModel, *, solver: str = "highs", options: SolveOptions | None = None
) -> SolveResult:
    """Solve a built model with the named backend."""
    return get_solver(solver).solve(model, options or SolveOptions())


__all__ = [
    "SOLVERS",
    "SolveOptions",
    "SolveResult",
    "Solver",
    "Status",
    "get_solver",
    "relative_gap",
    "solve_model",
]
