"""HiGHS backend (highspy): the whole model handed over in one ``passModel`` call."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from siting.solvers.base import SolveOptions, Solver, SolveResult, Status

if TYPE_CHECKING:
    from collections.abc import Callable

    from siting.model import MilpArrays, SitingModel

ROWWISE = 2
MAXIMIZE = -1
FEASIBLE_SOLUTION = 2
_POOL: list[int | None] = [None]  # threads of HiGHS's pool as last sized here (None: its default)


class HighsSolver(Solver):
    """Branch-and-cut with HiGHS, the default backend."""

    name: ClassVar[str] = "highs"
    required_modules: ClassVar[tuple[str, ...]] = ("highspy",)

    STATUS_MAP: ClassVar[dict[str, Status]] = {
        "kOptimal": Status.OPTIMAL,
        "kModelEmpty": Status.OPTIMAL,
        "kInfeasible": Status.INFEASIBLE,
        "kUnboundedOrInfeasible": Status.INFEASIBLE,
        "kTimeLimit": Status.TIME_LIMIT,
        "kIterationLimit": Status.FEASIBLE,
        "kSolutionLimit": Status.FEASIBLE,
        "kInterrupt": Status.FEASIBLE,
        "kHighsInterrupt": Status.FEASIBLE,
        "kObjectiveBound": Status.FEASIBLE,
        "kObjectiveTarget": Status.FEASIBLE,
        "kMemoryLimit": Status.FEASIBLE,
    }

    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """Solve with HiGHS; time limit, gap, threads, seed and warm start are honoured."""
        started = time.perf_counter()
        milp = model.milp
        h = highs_with(milp, options)
        if options.warm_start is not None and milp.num_cols:
            values = model.values_from_open(options.warm_start)
            h.setSolution(milp.num_cols, np.arange(milp.num_cols, dtype=np.int32), values)
        if options.interrupt is not None:
            _interrupt_when(h, options.interrupt)
        h.run()
        return self._result(h, model, time.perf_counter() - started)

    def _result(self, h: Any, model: SitingModel, runtime_s: float) -> SolveResult:
        native = h.getModelStatus().name
        info = h.getInfo()
        has_plan = info.primal_solution_status == FEASIBLE_SOLUTION or native == "kModelEmpty"
        status = self.STATUS_MAP.get(native, Status.ERROR)
        if status.has_solution and not has_plan:
            status = Status.NO_SOLUTION
        if not has_plan:
            return SolveResult(status, None, None, None, self.name, runtime_s, native)
        values = np.asarray(h.getSolution().col_value, dtype=np.float64)
        values = values if len(values) == model.milp.num_cols else np.zeros(model.milp.num_cols)
        objective = float(model.milp.c @ values)
        bound: float | None
        if model.milp.integrality.any() and native != "kModelEmpty":
            bound = float(info.mip_dual_bound)
        else:
            bound = objective if status is Status.OPTIMAL else None
        if bound is not None and not np.isfinite(bound):
            bound = None
        return SolveResult(status, values, objective, bound, self.name, runtime_s, native)


def highs_with(
    milp: MilpArrays,
    options: SolveOptions,
    *,
    relax: bool = False,
    settings: dict[str, Any] | None = None,
) -> Any:
    """A HiGHS instance holding ``milp`` (handed over in one ``passModel`` call) and options.

    ``relax`` drops integrality: the LP relaxation, e.g. for a bound. ``settings`` are further
    HiGHS options by name (e.g. ``{"solver": "ipm"}``).
    """
    import highspy

    h = highspy._Highs()  # type: ignore[attr-defined]  # the plain core: no callbacks, no banner
    _set_options(h, options)
    for key, value in (settings or {}).items():
        h.setOptionValue(key, value)
    A = milp.A
    integrality = np.zeros(milp.num_cols) if relax else milp.integrality
    h.passModel(
        milp.num_cols,
        milp.num_rows,
        A.nnz,
        ROWWISE,
        MAXIMIZE,
        0.0,
        milp.c,
        milp.col_lower,
        milp.col_upper,
        milp.row_lower,
        milp.row_upper,
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        integrality.astype(np.int32),
    )
    return h


def _interrupt_when(h: Any, interrupt: Callable[[], bool]) -> None:
    """Have HiGHS's branch-and-cut stop, keeping its best plan, once ``interrupt()`` is True."""
    from highspy import cb

    def poll(kind: Any, message: str, data_out: Any, data_in: Any, user_data: Any) -> None:
        if interrupt():
            data_in.user_interrupt = True

    h.setCallback(poll, None)
    h.startCallback(cb.HighsCallbackType.kCallbackMipInterrupt)


def _set_options(h: Any, options: SolveOptions) -> None:
    h.setOptionValue("output_flag", bool(options.verbose))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.setOptionValue("random_seed", int(options.seed))
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", float(options.time_limit_s))
    if options.threads is not None:
        threads = int(options.threads)
        if _POOL[0] != threads:
            # HiGHS runs every instance on one thread pool, sized by the first run in the
            # process; an instance asking for another size would fail ("scheduler already
            # initialized"), so the pool is rebuilt when the size asked for changes.
            h.resetGlobalScheduler(True)
            _POOL[0] = threads
        h.setOptionValue("threads", threads)
