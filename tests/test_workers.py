"""surveylib.workers: fork_map gives what a plain map gives, in order, and fails loudly."""
import os
import sys

import pytest

from surveylib.workers import fork_map, split, workers

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork_map forks only on Linux")


@pytest.mark.parametrize("n,k", [(0, 2), (1, 2), (10, 3), (7, 7), (5, 9)])
def test_split_covers_the_range_in_order(n, k):
    parts = split(n, k)
    assert [i for p in parts for i in p] == list(range(n))
    assert all(len(p) for p in parts) or n == 0
    assert len(parts) == max(1, min(n, k))


def _pids_and_squares(part):
    return os.getpid(), [i * i for i in part]


@linux
def test_fork_map_runs_parts_in_other_processes_and_keeps_order(monkeypatch):
    monkeypatch.setenv("SURVEYLIB_WORKERS", "3")
    out = fork_map(_pids_and_squares, split(10, 3))
    assert [x for _, xs in out for x in xs] == [i * i for i in range(10)]
    assert len({pid for pid, _ in out}) == 3 and out[-1][0] == os.getpid()


def test_one_worker_runs_everything_here(monkeypatch):
    monkeypatch.setenv("SURVEYLIB_WORKERS", "1")
    assert workers() == 1
    out = fork_map(_pids_and_squares, split(10, 3))
    assert {pid for pid, _ in out} == {os.getpid()}


@linux
def test_an_error_in_a_worker_is_raised_here(monkeypatch):
    monkeypatch.setenv("SURVEYLIB_WORKERS", "2")
    parent = os.getpid()

    def fail_in_child(part):
        if os.getpid() != parent:
            raise ValueError(f"bad part {part}")
        return list(part)

    with pytest.raises(ValueError, match="bad part"):
        fork_map(fail_in_child, split(4, 2))


@linux
def test_a_worker_that_dies_is_an_error_not_a_silent_loss(monkeypatch):
    monkeypatch.setenv("SURVEYLIB_WORKERS", "2")
    parent = os.getpid()

    def die_in_child(part):
        if os.getpid() != parent:
            os._exit(3)
        return list(part)

    with pytest.raises(RuntimeError, match="died without a result"):
        fork_map(die_in_child, split(4, 2))


def test_paused_gc_restores_the_collector():
    import gc

    from surveylib.workers import paused_gc

    assert gc.isenabled()
    with pytest.raises(KeyError):
        with paused_gc():
            assert not gc.isenabled()
            raise KeyError("the collector comes back after an error too")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
