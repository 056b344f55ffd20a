"""Calls run side by side in forked child processes, for parallel search chains.

A forked child shares the parent's memory copy-on-write, so the built model, the compiled
kernels and the call itself are not pickled or loaded again: a child starts in milliseconds.
Only the results travel back, pickled through a pipe. Where fork is unavailable (Windows) or
not allowed (daemonic processes, such as Dask's worker processes), the calls run one after
the other in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import TypeVar, cast

T = TypeVar("T")
U = TypeVar("U")

GRACE_S = 10.0
"""Seconds a child may run past the deadline before it is stopped and its result dropped."""


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the platform says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether this process may start forked children."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


class Quorum:
    """How many of ``size`` participants, here or in forked children, have settled.

    Searches side by side use it so that none stops early while another still works: a
    search that has settled keeps going until every participant has (its core would idle).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._settled = multiprocessing.get_context("fork").Value("i", 0)

    def member(self) -> Callable[[], bool]:
        """One participant's ``busy()``: its first call settles it; True while others work."""
        settled = False

        def busy() -> bool:
            nonlocal settled
            if not settled:
                with self._settled.get_lock():
                    self._settled.value += 1
                settled = True
            return bool(self._settled.value < self.size)

        return busy


def run_side_by_side(
    here: Callable[[], T],
    others: Sequence[Callable[[], T]],
    deadline: float,
    settled: Callable[[T], bool] | None = None,
) -> list[T]:
    """Run ``here`` in this process and each of ``others`` in a forked child, at once.

    Returns ``here``'s result first, then those of the children that finished by
    ``deadline`` (a :func:`time.perf_counter` time) plus :data:`GRACE_S`; a child that died or
    overran is left out. An exception raised in a child is raised here. When ``settled``
    says ``here``'s result needs no other (e.g. a proof of optimality), the children are
    stopped at once and only that result is returned. Without fork, the others run after
    ``here``, in this process, unless it settled the question.
    """
    if not others:
        return [here()]
    if not can_fork():
        first = here()
        if settled is not None and settled(first):
            return [first]
        return [first, *(call() for call in others)]
    context = multiprocessing.get_context("fork")
    children = []
    for call in others:
        receiving, sending = context.Pipe(duplex=False)
        child = context.Process(target=_run_child, args=(call, sending), daemon=True)
        child.start()
        sending.close()
        children.append((child, receiving))
    stop_now = False
    try:
        results = [here()]
        stop_now = settled is not None and settled(results[0])
        for _, receiving in [] if stop_now else children:
            wait = max(0.0, deadline + GRACE_S - time.perf_counter())
            try:
                if receiving.poll(wait):
                    ok, value = receiving.recv()
                    if not ok:
                        raise value
                    results.append(value)
            except EOFError:  # the child died without a word (e.g. killed for memory)
                pass
    finally:  # also when ``here`` or a child failed: no child outlives the call
        for child, receiving in children:
            receiving.close()
            child.join(timeout=0.0 if stop_now else 1.0)
            if child.is_alive():
                child.terminate()
                child.join()
    return results


def run_with_helper(
    here: Callable[[], T],
    helper: Callable[[Callable[[], bool]], U],
    deadline: float,
    settled: Callable[[T], bool] | None = None,
) -> tuple[T, U | None]:
    """Run ``here`` in this process and ``helper(done)`` in a forked child, at once.

    ``done()`` turns True once ``here`` has returned (or raised); the helper should then return
    soon with what it has. Its result comes back with ``here``'s; None without fork (the
    helper does not run), when the child died or overran ``deadline`` plus :data:`GRACE_S`,
    or when ``settled`` says ``here``'s result needs no other (the child is stopped at once).
    """
    if not can_fork():
        return here(), None
    finished = multiprocessing.get_context("fork").RawValue("b", 0)

    def signalling() -> object:
        try:
            return here()
        finally:
            finished.value = 1

    def helping() -> object:
        return helper(lambda: bool(finished.value))

    def answered(result: object) -> bool:
        return settled is not None and settled(cast("T", result))

    first, *rest = run_side_by_side(signalling, [helping], deadline, answered)
    return cast("T", first), cast("U", rest[0]) if rest else None


def _run_child(call: Callable[[], T], sending: Connection) -> None:
    """Child side: send (True, result), or (False, exception)."""
    try:
        outcome: tuple[bool, object] = (True, call())
    except Exception as error:  # raised again in the parent
        outcome = (False, error)
    sending.send(outcome)
    sending.close()
