"""Calls side by side in forked children: results, errors, and where fork is not allowed."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable

import pytest

from siting import _fork
from siting.localsearch import search_chains

pytestmark = pytest.mark.skipif(not _fork.can_fork(), reason="no fork on this platform")


def test_children_run_in_their_own_processes_and_report_in_order() -> None:
    parent = os.getpid()
    deadline = time.perf_counter() + 5.0
    results = _fork.run_side_by_side(
        lambda: ("here", os.getpid()),
        [lambda k=k: (f"child {k}", os.getpid()) for k in range(3)],  # type: ignore[misc]
        deadline,
    )
    assert [name for name, _ in results] == ["here", "child 0", "child 1", "child 2"]
    pids = [pid for _, pid in results]
    assert pids[0] == parent
    assert len(set(pids)) == 4


def test_an_error_in_a_child_is_raised_here() -> None:
    def fail() -> int:
        raise ValueError("bad plan in a child")

    with pytest.raises(ValueError, match="bad plan in a child"):
        _fork.run_side_by_side(lambda: 1, [fail], time.perf_counter() + 5.0)


def test_a_child_that_dies_is_left_out() -> None:
    results = _fork.run_side_by_side(lambda: 1, [lambda: os._exit(3)], time.perf_counter() + 5.0)
    assert results == [1]


def _chains_in_daemon(queue: multiprocessing.Queue[int]) -> None:
    queue.put(search_chains(4))


def test_a_daemonic_process_searches_one_chain() -> None:
    """Dask's worker processes are daemonic: they may not fork, so one chain runs."""
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(target=_chains_in_daemon, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=30) == 1
    child.join()
    assert search_chains(4) == 4
    assert search_chains(None) == _fork.usable_cores()


def test_without_fork_the_calls_run_here_one_after_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_fork, "can_fork", lambda: False)
    results = _fork.run_side_by_side(
        lambda: os.getpid(), [lambda: os.getpid()], time.perf_counter() + 5.0
    )
    assert results == [os.getpid(), os.getpid()]


def test_no_child_outlives_a_failure_here() -> None:
    def fail() -> int:
        raise ValueError("bad plan here")

    started = time.perf_counter()
    with pytest.raises(ValueError, match="bad plan here"):
        _fork.run_side_by_side(fail, [lambda: time.sleep(60) or 1], started + 60.0)
    assert time.perf_counter() - started < 10.0
    assert not multiprocessing.active_children()


def test_a_settled_result_here_stops_the_children_at_once() -> None:
    started = time.perf_counter()
    results = _fork.run_side_by_side(
        lambda: 1, [lambda: time.sleep(60) or 2], started + 60.0, settled=lambda found: found == 1
    )
    assert results == [1]
    assert time.perf_counter() - started < 5.0
    assert not multiprocessing.active_children()
    unsettled = _fork.run_side_by_side(
        lambda: 1, [lambda: 2], time.perf_counter() + 5.0, settled=lambda found: found == 0
    )
    assert unsettled == [1, 2]


def test_a_helper_works_until_here_is_done_and_reports_back() -> None:
    def here() -> str:
        time.sleep(0.5)
        return "relaxed"

    def helper(done: Callable[[], bool]) -> tuple[int, int]:
        rounds = 0
        while not done():  # the helper learns when here is done, and stops
            rounds += 1
            time.sleep(0.01)
        return os.getpid(), rounds

    started = time.perf_counter()
    result, helped = _fork.run_with_helper(here, helper, started + 60.0)
    assert result == "relaxed"
    assert helped is not None
    pid, rounds = helped
    assert pid != os.getpid()
    assert rounds >= 10  # it worked all the while here slept
    assert time.perf_counter() - started < 5.0
    assert not multiprocessing.active_children()


def test_a_settled_answer_stops_the_helper_at_once() -> None:
    started = time.perf_counter()
    result, helped = _fork.run_with_helper(
        lambda: "proven",
        lambda done: time.sleep(60) or 2,  # a helper that would not look at done()
        started + 60.0,
        settled=lambda found: found == "proven",
    )
    assert (result, helped) == ("proven", None)
    assert time.perf_counter() - started < 5.0
    assert not multiprocessing.active_children()


def test_without_fork_no_helper_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fork, "can_fork", lambda: False)
    assert _fork.run_with_helper(lambda: 1, lambda done: 2, time.perf_counter() + 5.0) == (1, None)


def test_a_quorum_counts_each_participant_once_across_processes() -> None:
    quorum = _fork.Quorum(3)
    first, last = quorum.member(), quorum.member()
    assert first() is True  # settled; two others still work
    assert first() is True  # settling twice counts once
    _fork.run_side_by_side(lambda: None, [lambda: quorum.member()()], time.perf_counter() + 5)
    assert last() is False  # the child settled too: all three have
    assert first() is False
