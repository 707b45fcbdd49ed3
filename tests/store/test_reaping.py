"""Contract: opening a store marks runs whose process died as crashed (every backend)."""

from __future__ import annotations

import os
import subprocess
import sys

from ninefold import _process
from ninefold._ids import now_ms
from ninefold.store import STALE_HEARTBEAT_MS, MetadataStore, RunStatus
from tests.store.helpers import MakeRun


def _dead_process() -> tuple[int, float | None]:
    """Pid and start time of a process that ran and has exited (and been reaped by the OS)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    started = _process.start_time(proc.pid)
    assert started is not None
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    return proc.pid, started


def _reopen(store: MetadataStore, *, reap: bool = True) -> None:
    """Open the same store again, as another process would."""
    MetadataStore(store.url, reap=reap).close()


def test_run_of_a_dead_local_process_is_crashed_at_its_last_heartbeat(
    store: MetadataStore, make_run: MakeRun
) -> None:
    pid, started = _dead_process()
    run_id = make_run(pid=pid, pid_started=started, start_ms=now_ms() - 60_000)
    store.runs.heartbeat([run_id])
    heartbeat = store.runs.get(run_id).heartbeat_ms

    _reopen(store)

    run = store.runs.get(run_id)
    assert run.status is RunStatus.CRASHED
    assert run.end_ms == heartbeat


def test_run_of_this_live_process_is_left_running(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run(start_ms=now_ms() - STALE_HEARTBEAT_MS * 2)

    _reopen(store)

    run = store.runs.get(run_id)
    assert (run.status, run.end_ms) == (RunStatus.RUNNING, None)


def test_a_reused_pid_does_not_keep_a_run_alive(store: MetadataStore, make_run: MakeRun) -> None:
    # Same pid as this live process, but the run's process started earlier.
    started = _process.start_time(os.getpid())
    assert started is not None
    run_id = make_run(pid=os.getpid(), pid_started=started - 3_600)

    _reopen(store)

    assert store.runs.get(run_id).status is RunStatus.CRASHED


def test_runs_on_another_host_are_judged_by_their_heartbeat(
    store: MetadataStore, make_run: MakeRun
) -> None:
    pid, started = _dead_process()
    stale_ms = now_ms() - STALE_HEARTBEAT_MS - 60_000
    stale = make_run(
        "stale", host="elsewhere.example", pid=pid, pid_started=started, start_ms=stale_ms
    )
    # A fresh heartbeat keeps it running even though the pid is dead on *this* host.
    fresh = make_run("fresh", host="elsewhere.example", pid=pid, pid_started=started)

    _reopen(store)

    assert (store.runs.get(stale).status, store.runs.get(stale).end_ms) == (
        RunStatus.CRASHED,
        stale_ms,
    )
    assert store.runs.get(fresh).status is RunStatus.RUNNING


def test_only_running_runs_are_reaped(store: MetadataStore, make_run: MakeRun) -> None:
    pid, started = _dead_process()
    finished = make_run("finished", pid=pid, pid_started=started)
    store.runs.set_status(finished, RunStatus.FINISHED, end_ms=123)
    failed = make_run("failed", pid=pid, pid_started=started)
    store.runs.set_status(failed, RunStatus.FAILED, end_ms=456)
    running = make_run("running", pid=pid, pid_started=started)

    assert store.reap_crashed() == [running]
    assert store.reap_crashed() == []

    assert (store.runs.get(finished).status, store.runs.get(finished).end_ms) == (
        RunStatus.FINISHED,
        123,
    )
    assert (store.runs.get(failed).status, store.runs.get(failed).end_ms) == (
        RunStatus.FAILED,
        456,
    )


def test_open_without_reaping(store: MetadataStore, make_run: MakeRun) -> None:
    pid, started = _dead_process()
    run_id = make_run(pid=pid, pid_started=started)

    _reopen(store, reap=False)
    assert store.runs.get(run_id).status is RunStatus.RUNNING

    _reopen(store)
    assert store.runs.get(run_id).status is RunStatus.CRASHED
