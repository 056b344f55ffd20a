"""One interface for every backend: options in, a :class:`SolveResult` with an honest status out.

Backends map their native statuses into :class:`Status`. A run stopped by its time limit with
a plan in hand is a result, not an error: it reports ``time_limit`` with its objective, the best
bound and the gap, so nobody mistakes it for a proven optimum.
"""

from __future__ import annotations

import functools
import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from siting import settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from siting.model import SitingModel
    from siting.problem import SitingProblem


class Status(StrEnum):
    """How a solve ended.

    ``optimal``: proven optimal within the requested relative gap (0 by default).
    ``time_limit``: stopped by the time limit with a plan; not proven optimal.
    ``feasible``: stopped for another reason (a heuristic, an iteration or node limit) with a
    plan; not proven optimal.
    ``infeasible``: proven that no plan satisfies the constraints.
    ``no_solution``: stopped before any plan was found.
    ``error``: the solver failed.
    """

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        """True when the solve returned a plan."""
        return self in {Status.OPTIMAL, Status.TIME_LIMIT, Status.FEASIBLE}


@dataclass(frozen=True)
class SolveOptions:
    """Settings every backend honours.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit in seconds; None for none.
    mip_gap
        Relative gap at which the solver may stop and report ``optimal`` (0 = prove).
    threads
        Threads the solver may use; None for the solver's default.
    verbose
        Show the solver's log.
    warm_start
        (m, K) boolean plan to start from, or None.
    heuristic_warm_start
        When ``warm_start`` is None, start from the greedy plan (:mod:`siting.solvers.heuristic`)
        so that even a run stopped early holds a plan at least as good as greedy.
    seed
        Random seed for solvers that take one.
    interrupt
        Polled while ``highs`` branches (other backends ignore it): once it returns True the
        solve stops with its best plan, reported as not proven (e.g. when a search beside it
        has found a plan at a bound, which proves that plan).
    """

    time_limit_s: float | None = settings.TIME_LIMIT_S
    mip_gap: float = settings.MIP_GAP
    threads: int | None = None
    verbose: bool = False
    warm_start: NDArray[np.bool_] | None = None
    heuristic_warm_start: bool = True
    seed: int = 0
    interrupt: Callable[[], bool] | None = None


@dataclass(frozen=True)
class SolveResult:
    """What a backend returns.

    Attributes
    ----------
    status
        How the solve ended.
    values
        Column values (None without a plan).
    objective
        Model objective of ``values`` (None without a plan).
    bound
        Best proven upper bound on the objective (None if the solver proved none).
    solver
        Backend name.
    runtime_s
        Seconds spent in the backend.
    message
        Backend detail, e.g. its native status.
    """

    status: Status
    values: NDArray[np.float64] | None
    objective: float | None
    bound: float | None
    solver: str
    runtime_s: float
    message: str = ""

    @property
    def gap(self) -> float | None:
        """Relative gap between bound and objective (see :func:`relative_gap`)."""
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``(bound - objective) / max(|objective|, 1)``, at least 0; None if either is missing.

    The denominator is floored at one covered resident so that a plan covering nobody does
    not report an infinite gap.
    """
    if objective is None or bound is None:
        return None
    return max(0.0, (bound - objective) / max(abs(objective), 1.0))


class Solver(ABC):
    """A backend. Subclasses live one per file in ``siting/solvers/``.

    Class attributes
    ----------------
    name
        The name scenarios use (``solve.solver``).
    required_modules
        Modules that must be importable; probed without importing them.
    extra
        The ``pip install siting[extra]`` that provides them, or None if core.
    """

    name: ClassVar[str]
    required_modules: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None

    @classmethod
    @functools.cache
    def is_available(cls) -> bool:
        """True if every required module can be imported (nothing is imported to find out)."""
        return all(importlib.util.find_spec(m) is not None for m in cls.required_modules)

    def check(self, problem: SitingProblem) -> None:
        """Raise :class:`SolverUnavailableError` if this backend cannot answer ``problem``.

        Exact backends answer every question; a heuristic overrides this to name what it
        cannot do and which backend can.
        """
        del problem

    @abstractmethod
    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """Solve ``model`` and return its result; never raise for infeasibility or limits."""
