"""Contract: runs, their lifecycle, params and tags (every backend)."""

from __future__ import annotations

import threading

import pytest

from ninefold import _process
from ninefold._ids import new_id, now_ms
from ninefold.errors import ParamConflict, RunNotFound
from ninefold.store import Experiment, MetadataStore, RunStatus
from ninefold.store.records import TERMINAL_STATUSES
from tests.store.helpers import MakeRun


def test_create_stores_the_run_with_params_and_tags(
    store: MetadataStore, experiment: Experiment, make_run: MakeRun
) -> None:
    before = now_ms()
    run_id = make_run("train", params={"lr": "0.01", "model": "rf"}, tags={"team": "vision"})

    run = store.runs.get(run_id)

    assert run.run_id == run_id
    assert run.experiment_id == experiment.experiment_id
    assert run.experiment == "exp"
    assert run.name == "train"
    assert run.status is RunStatus.RUNNING
    assert before <= run.start_ms <= now_ms()
    assert run.end_ms is None
    assert run.heartbeat_ms == run.start_ms
    host, pid, _ = _process.current()
    assert (run.host, run.pid, run.user) == (host, pid, "tester")
    assert run.params == {"lr": "0.01", "model": "rf"}
    assert run.tags == {"team": "vision"}
    assert run.metrics == {}


def test_get_many_keeps_request_order_and_leaves_out_unknown_ids(
    store: MetadataStore, make_run: MakeRun
) -> None:
    a, b, c = make_run("a"), make_run("b"), make_run("c")
    unknown = new_id()

    found = store.runs.get_many([c, unknown, a, c])

    assert list(found) == [c, a]
    assert found[a].name == "a"
    assert b not in found
    assert store.runs.get_many([]) == {}


def test_unknown_run_error_names_the_id_and_the_fix(store: MetadataStore) -> None:
    missing = new_id()

    with pytest.raises(RunNotFound) as info:
        store.runs.get(missing)
    assert missing in str(info.value)
    assert "ninefold runs list" in str(info.value)
    assert not store.runs.exists(missing)


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_terminal_status_records_the_end_time(
    store: MetadataStore, make_run: MakeRun, status: RunStatus
) -> None:
    run_id = make_run()
    before = now_ms()

    store.runs.set_status(run_id, status)

    run = store.runs.get(run_id)
    assert run.status is status
    assert run.end_ms is not None
    assert before <= run.end_ms <= now_ms()


def test_set_status_with_explicit_end_time(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run(start_ms=1_000)

    store.runs.set_status(run_id, RunStatus.FAILED, end_ms=5_000)

    run = store.runs.get(run_id)
    assert (run.status, run.end_ms) == (RunStatus.FAILED, 5_000)


def test_set_status_running_leaves_end_time_unset(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run()

    store.runs.set_status(run_id, RunStatus.RUNNING)

    assert store.runs.get(run_id).end_ms is None


def test_set_status_of_unknown_run(store: MetadataStore) -> None:
    missing = new_id()
    with pytest.raises(RunNotFound, match=missing):
        store.runs.set_status(missing, RunStatus.FINISHED)


def test_heartbeat_moves_only_running_runs(store: MetadataStore, make_run: MakeRun) -> None:
    old = now_ms() - 60_000
    running = make_run("running", start_ms=old)
    finished = make_run("finished", start_ms=old)
    store.runs.set_status(finished, RunStatus.FINISHED)
    before = now_ms()

    store.runs.heartbeat([running, finished])
    store.runs.heartbeat([])

    assert before <= store.runs.get(running).heartbeat_ms <= now_ms()
    assert store.runs.get(finished).heartbeat_ms == old


def test_children_are_listed_oldest_first(store: MetadataStore, make_run: MakeRun) -> None:
    parent = make_run("parent", start_ms=1_000)
    late = make_run("late", parent_run_id=parent, start_ms=3_000)
    early = make_run("early", parent_run_id=parent, start_ms=2_000)
    make_run("unrelated", start_ms=2_500)
    grandchild = make_run("grandchild", parent_run_id=early, start_ms=4_000)

    assert store.runs.children(parent) == [early, late]
    assert store.runs.children(early) == [grandchild]
    assert store.runs.children(late) == []
    assert store.runs.get(late).parent_run_id == parent


def test_count(store: MetadataStore, make_run: MakeRun) -> None:
    assert store.runs.count() == 0
    for _ in range(3):
        make_run()
    assert store.runs.count() == 3


# -- params ---------------------------------------------------------------


def test_relogging_a_param_with_the_same_value_is_a_no_op(
    store: MetadataStore, make_run: MakeRun
) -> None:
    run_id = make_run(params={"lr": "0.01"})

    store.runs.log_params(run_id, {"lr": "0.01", "depth": "3"})
    store.runs.log_params(run_id, {"lr": "0.01"})
    store.runs.log_params(run_id, {})

    assert store.runs.get(run_id).params == {"lr": "0.01", "depth": "3"}


def test_changing_a_param_raises_param_conflict_and_writes_nothing(
    store: MetadataStore, make_run: MakeRun
) -> None:
    run_id = make_run(params={"lr": "0.01"})

    with pytest.raises(ParamConflict) as info:
        store.runs.log_params(run_id, {"depth": "3", "lr": "0.02"})

    message = str(info.value)
    assert "'lr'" in message
    assert "'0.01'" in message
    assert "'0.02'" in message
    # The batch is one transaction: the new key was not written either.
    assert store.runs.get(run_id).params == {"lr": "0.01"}


def test_params_of_unknown_run(store: MetadataStore) -> None:
    missing = new_id()
    with pytest.raises(RunNotFound, match=missing):
        store.runs.log_params(missing, {"lr": "0.1"})


# -- tags -----------------------------------------------------------------


def test_tags_upsert_and_delete(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run(tags={"team": "vision", "stage": "dev"})

    store.runs.set_tags(run_id, {"team": "nlp", "owner": "ana"})
    assert store.runs.get(run_id).tags == {"team": "nlp", "stage": "dev", "owner": "ana"}

    store.runs.delete_tag(run_id, "stage")
    store.runs.delete_tag(run_id, "never-set")
    assert store.runs.get(run_id).tags == {"team": "nlp", "owner": "ana"}


def test_tags_are_per_run(store: MetadataStore, make_run: MakeRun) -> None:
    a, b = make_run(tags={"team": "vision"}), make_run(tags={"team": "nlp"})

    store.runs.delete_tag(a, "team")

    assert store.runs.get(a).tags == {}
    assert store.runs.get(b).tags == {"team": "nlp"}


def test_tags_of_unknown_run(store: MetadataStore) -> None:
    missing = new_id()
    with pytest.raises(RunNotFound, match=missing):
        store.runs.set_tags(missing, {"team": "vision"})


def test_concurrent_writers_of_the_same_params(store: MetadataStore, make_run: MakeRun) -> None:
    threads = 4
    errors: list[BaseException] = []
    for _ in range(5):
        run_id = make_run()
        start = threading.Barrier(threads)

        def log(i: int, run_id: str = run_id, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                store.runs.log_params(run_id, {"lr": "0.1", f"k{i}": "x"})
            except BaseException as exc:  # reported below
                errors.append(exc)

        workers = [threading.Thread(target=log, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert store.runs.get(run_id).params == {"lr": "0.1"} | {
            f"k{i}": "x" for i in range(threads)
        }
    assert errors == []


def test_concurrent_writers_of_conflicting_params(store: MetadataStore, make_run: MakeRun) -> None:
    threads = 4
    run_id = make_run()
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def log(i: int) -> None:
        start.wait()
        try:
            store.runs.log_params(run_id, {"lr": str(i)})
        except BaseException as exc:  # checked below
            errors.append(exc)

    workers = [threading.Thread(target=log, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert len(errors) == threads - 1
    assert all(isinstance(e, ParamConflict) for e in errors), errors
    assert store.runs.get(run_id).params["lr"] in {str(i) for i in range(threads)}
