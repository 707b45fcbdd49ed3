"""Active runs across threads: process-wide by default, per thread inside ``own_run_stack``."""

from __future__ import annotations

import threading

import ninefold as nf
from ninefold.store import RunStatus
from ninefold.tracking.client import Client
from ninefold.tracking.fluent import own_run_stack


def test_a_plain_thread_logs_to_the_run_in_progress(client: Client) -> None:
    with nf.start_run(capture_environment=False, resources=False) as run:
        worker = threading.Thread(target=lambda: nf.log_metric("from_thread", 1.0))
        worker.start()
        worker.join()
    assert client.get_run(run.run_id).metrics == {"from_thread": 1.0}


def test_threads_with_their_own_stack_nest_under_the_parent_and_stay_apart(
    client: Client,
) -> None:
    barrier = threading.Barrier(2)
    seen: dict[str, tuple[str, str | None, str | None]] = {}
    errors: list[BaseException] = []

    def child(name: str, parent: nf.ActiveRun) -> None:
        try:
            with own_run_stack(parent):
                with nf.start_run(name=name, capture_environment=False, resources=False) as run:
                    barrier.wait()  # both runs are active at once
                    nf.log_metric("value", float(len(name)))
                    active = nf.active_run()
                    barrier.wait()
                    if name == "a":
                        run.end()  # ending one thread's run leaves the other's alone
                    barrier.wait()
                    seen[name] = (
                        run.run_id,
                        run.parent_run_id,
                        None if active is None else active.run_id,
                    )
                    assert nf.active_run() is (parent if name == "a" else run)
                assert nf.active_run() is parent
        except BaseException as exc:
            errors.append(exc)

    with nf.start_run(name="sweep", capture_environment=False, resources=False) as parent:
        threads = [threading.Thread(target=child, args=(n, parent)) for n in ("a", "bb")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert nf.active_run() is parent
    assert errors == []
    for name, (run_id, parent_id, active_id) in seen.items():
        assert parent_id == parent.run_id
        assert active_id == run_id
        run = client.get_run(run_id)
        assert run.status == RunStatus.FINISHED
        assert run.metrics == {"value": float(len(name))}
    assert sorted(client.store.runs.children(parent.run_id)) == sorted(r[0] for r in seen.values())
    assert nf.active_run() is None
