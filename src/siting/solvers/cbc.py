"""CBC backend: the arrays written once as MPS and solved by the CBC binary that PuLP ships.

PuLP would need one Python object per variable; writing MPS from the CSR arrays and calling the
bundled ``cbc`` executable skips that entirely. Status, objective, best bound and gap are read
from CBC's final summary, the values from its solution file.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from siting._errors import SolverUnavailableError
from siting.solvers._mps import mps_text
from siting.solvers.base import SolveOptions, Solver, SolveResult, Status

if TYPE_CHECKING:
    from siting.model import SitingModel

_RESULT = re.compile(r"^Result - (.*)$", re.MULTILINE)
_NUMBER = r"([-+0-9.eE]+|inf|-inf)"


class CbcSolver(Solver):
    """COIN-OR CBC through the binary bundled with PuLP (``pip install 'siting[cbc]'``)."""

    name: ClassVar[str] = "cbc"
    required_modules: ClassVar[tuple[str, ...]] = ("pulp",)
    extra: ClassVar[str | None] = "cbc"

    STATUS_MAP: ClassVar[dict[str, Status]] = {
        "Optimal solution found": Status.OPTIMAL,
        "Stopped on time": Status.TIME_LIMIT,
        "Stopped on iterations": Status.FEASIBLE,
        "Stopped on ctrl-c": Status.FEASIBLE,
        "Problem proven infeasible": Status.INFEASIBLE,
        "Linear relaxation infeasible": Status.INFEASIBLE,
        "Problem is infeasible": Status.INFEASIBLE,
    }

    def solve(self, model: SitingModel, options: SolveOptions) -> SolveResult:
        """Write MPS (and a MIP start), run CBC, read its summary and solution."""
        started = time.perf_counter()
        milp = model.milp
        with tempfile.TemporaryDirectory(prefix="siting-cbc-") as folder:
            work = Path(folder)
            (work / "model.mps").write_text(mps_text(milp))
            args = [_cbc_path(), str(work / "model.mps")]
            if options.warm_start is not None and milp.num_cols:
                start = model.values_from_open(options.warm_start)
                lines = [f"{j} C{j} {v!r} 0" for j, v in enumerate(start.tolist())]
                (work / "start.sol").write_text(
                    "Stopped on time - objective value 0\n" + "\n".join(lines) + "\n"
                )
                args += ["-mips", str(work / "start.sol")]
            if options.time_limit_s is not None:
                args += ["-sec", f"{max(options.time_limit_s, 0.01):.3f}", "-timeMode", "elapsed"]
            args += ["-ratio", repr(float(options.mip_gap)), "-allowableGap", "1e-9"]
            if options.threads is not None:
                args += ["-threads", str(options.threads)]
            args += ["-randomSeed", str(options.seed + 1)]
            args += ["-solve", "-printingOptions", "all", "-solution", str(work / "solution.txt")]
            try:
                process = subprocess.run(
                    args,
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                    check=False,
                    timeout=_hard_limit(options.time_limit_s),
                )
                log = process.stdout
            except subprocess.TimeoutExpired as stopped:
                log = (
                    (stopped.stdout or b"").decode()
                    if isinstance(stopped.stdout, bytes)
                    else (stopped.stdout or "")
                )
                log += "\nResult - Stopped on time (killed: CBC overran its time limit)\n"
            if options.verbose:
                print(log)
            values = _read_solution(work / "solution.txt", milp.num_cols)
        proof = options.mip_gap == 0
        return self._result(model, log, values, time.perf_counter() - started, proof=proof)

    def _result(
        self,
        model: SitingModel,
        log: str,
        values: np.ndarray | None,
        runtime_s: float,
        *,
        proof: bool,
    ) -> SolveResult:
        """Map CBC's summary to a result; ``proof``: optimal means gap 0 was asked for."""
        found = _RESULT.search(log)
        if found:
            native = found.group(1).strip()
        elif "Problem is infeasible" in log or "infeasible" in log.lower().split("coin0008i")[-1]:
            native = "Problem is infeasible"
        else:
            native = log.strip().splitlines()[-1] if log.strip() else "no output"
        status = next(
            (s for text, s in self.STATUS_MAP.items() if native.startswith(text)), Status.ERROR
        )
        if status is Status.INFEASIBLE or values is None:
            if status.has_solution:
                status = Status.NO_SOLUTION
            return SolveResult(status, None, None, None, self.name, runtime_s, native)
        if "objective" not in log.lower() or not np.isfinite(values).all():
            return SolveResult(
                Status.NO_SOLUTION if status.has_solution else status,
                None,
                None,
                None,
                self.name,
                runtime_s,
                native,
            )
        if "no integer solution" in native:  # the file holds LP values, not a plan
            return SolveResult(Status.NO_SOLUTION, None, None, None, self.name, runtime_s, native)
        objective = float(model.milp.c @ values)
        upper = objective if status is Status.OPTIMAL and proof else None
        lower = _best_possible(log)  # CBC minimises -c: minus our upper bound
        if upper is None and lower is not None:
            upper = max(-lower, objective)
        return SolveResult(status, values, objective, upper, self.name, runtime_s, native)


def _hard_limit(time_limit_s: float | None) -> float | None:
    """Wall-clock seconds after which CBC is stopped.

    CBC checks its own limit only between phases, so allow 5 s or half the limit more.
    """
    if time_limit_s is None:
        return None
    return time_limit_s + max(5.0, 0.5 * time_limit_s)


def _cbc_path() -> str:
    try:
        import pulp
    except ImportError as error:  # pragma: no cover - guarded by is_available
        msg = "solver 'cbc' needs PuLP; run: pip install 'siting[cbc]'"
        raise SolverUnavailableError(msg) from error
    path = str(pulp.PULP_CBC_CMD.pulp_cbc_path)
    if not Path(path).exists():
        msg = f"PuLP's bundled CBC binary is missing at {path}; reinstall pulp"
        raise SolverUnavailableError(msg)
    return path


def _best_possible(log: str) -> float | None:
    """CBC's best proven bound (its minimisation sense), at full precision where printed.

    The summary's ``Lower bound:`` keeps about six digits; the last ``best possible`` of the
    search log keeps them all.
    """
    found = re.findall(rf"best possible {_NUMBER}", log)
    if found:
        return float(found[-1])
    summary = re.search(rf"^Lower bound:\s+{_NUMBER}", log, re.MULTILINE)
    return float(summary.group(1)) if summary else None


def _read_solution(path: Path, num_cols: int) -> np.ndarray | None:
    """Column values from CBC's solution file (columns named ``C<j>``)."""
    if not path.exists():
        return None
    values = np.zeros(num_cols)
    with path.open() as handle:
        header = handle.readline()
        if "infeasible" in header.lower():
            return None
        for line in handle:
            parts = line.split()
            if parts and parts[0] == "**":
                parts = parts[1:]
            if len(parts) >= 3 and parts[1].startswith("C"):
                values[int(parts[1][1:])] = float(parts[2])
    return values
