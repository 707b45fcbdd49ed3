"""The fluent API: run lifecycle, nesting, statuses and logging outside a run."""

from __future__ import annotations

import sys

import pytest

import ninefold as nf
from ninefold.errors import InvalidName, NoActiveRun, StateError
from ninefold.store import RunStatus
from ninefold.tracking.client import Client
from tests.tracking.helpers import own


def test_start_run_records_experiment_name_params_and_tags(client: Client) -> None:
    with nf.start_run(
        experiment="iris", name="first", params={"C": 0.5, "kernel": "rbf"}, tags={"team": "ml"}
    ) as run:
        assert nf.active_run() is run
        assert run.experiment == "iris"
        assert run.name == "first"
    assert nf.active_run() is None
    stored = client.get_run(run.run_id)
    assert stored.experiment == "iris"
    assert stored.name == "first"
    assert stored.params == {"C": "0.5", "kernel": "rbf"}
    assert stored.tags["team"] == "ml"
    assert stored.status == RunStatus.FINISHED
    assert stored.end_ms is not None
    assert stored.end_ms >= stored.start_ms
    assert stored.parent_run_id is None


def test_default_name_and_experiment(client: Client) -> None:
    with nf.start_run() as run:
        pass
    stored = client.get_run(run.run_id)
    assert stored.experiment == "Default"
    assert stored.name  # a generated readable name
    assert stored.name == run.name


def test_nested_run_inherits_experiment_and_records_parent(client: Client) -> None:
    with nf.start_run(experiment="sweep", name="parent") as parent:
        with nf.start_run(name="child") as child:
            assert nf.active_run() is child
            assert child.parent_run_id == parent.run_id
        assert nf.active_run() is parent
    stored = client.get_run(child.run_id)
    assert stored.parent_run_id == parent.run_id
    assert stored.experiment == "sweep"
    assert client.get_run(parent.run_id).parent_run_id is None


def test_nested_false_while_a_run_is_active_is_refused(client: Client) -> None:
    with nf.start_run(name="outer") as outer:
        with pytest.raises(StateError, match="outer"):
            nf.start_run(nested=False)
        assert nf.active_run() is outer
    assert client.store.runs.count() == 1


def test_ending_a_parent_ends_its_children(client: Client) -> None:
    parent = nf.start_run(name="parent")
    child = nf.start_run(name="child")
    parent.end()
    assert child.ended
    assert nf.active_run() is None
    assert client.get_run(child.run_id).status == RunStatus.FINISHED


def test_exception_marks_run_failed_with_error_tag(client: Client) -> None:
    with pytest.raises(ValueError, match="boom"), nf.start_run() as run:
        raise ValueError("boom")
    stored = client.get_run(run.run_id)
    assert stored.status == RunStatus.FAILED
    assert "ValueError: boom" in stored.tags["ninefold.error"]
    assert nf.active_run() is None


def test_keyboard_interrupt_marks_run_killed(client: Client) -> None:
    with pytest.raises(KeyboardInterrupt), nf.start_run() as run:
        raise KeyboardInterrupt
    stored = client.get_run(run.run_id)
    assert stored.status == RunStatus.KILLED
    assert "ninefold.error" not in stored.tags


def test_end_run_ends_active_run_with_status(client: Client) -> None:
    run = nf.start_run()
    nf.end_run("killed")
    assert nf.active_run() is None
    assert run.ended
    assert client.get_run(run.run_id).status == RunStatus.KILLED
    nf.end_run()  # no active run: a no-op


def test_logging_outside_a_run_says_how_to_start_one(project: object) -> None:
    calls = [
        lambda: nf.log_metric("acc", 1.0),
        lambda: nf.log_metrics({"acc": 1.0}),
        lambda: nf.log_param("C", 1),
        lambda: nf.log_params({"C": 1}),
        lambda: nf.set_tag("t", "v"),
        lambda: nf.set_tags({"t": "v"}),
        lambda: nf.log_text("x", "x.txt"),
        lambda: nf.log_dict({"a": 1}, "a.json"),
    ]
    for call in calls:
        with pytest.raises(NoActiveRun, match=r"nf\.start_run"):
            call()


def test_logging_to_an_ended_run_is_refused(client: Client) -> None:
    with nf.start_run(name="done") as run:
        nf.log_metric("acc", 0.5)
    calls = [
        lambda: run.log_metric("acc", 1.0),
        lambda: run.log_metrics({"acc": 1.0}),
        lambda: run.log_param("C", 1),
        lambda: run.set_tag("t", "v"),
        lambda: run.log_text("x", "x.txt"),
        lambda: run.log_dict({"a": 1}, "a.json"),
    ]
    for call in calls:
        with pytest.raises(StateError, match="has ended"):
            call()
    # After the run ended, the fluent API has no active run either.
    with pytest.raises(NoActiveRun):
        nf.log_metric("acc", 1.0)
    nf.flush()
    assert [p.value for p in client.metric_history(run.run_id, "acc")] == [0.5]
    stored = client.get_run(run.run_id)
    assert stored.params == {}
    assert "t" not in stored.tags
    assert client.list_artifacts(run.run_id, "x.txt") == []


def test_info_reflects_buffered_metrics(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_metric("loss", 0.25)
        assert own(run.info.metrics) == {"loss": 0.25}


def test_bad_experiment_or_run_name_is_refused(client: Client) -> None:
    with pytest.raises(InvalidName, match="Experiment"):
        nf.start_run(experiment="   ")
    with pytest.raises(InvalidName, match="Run name"):
        nf.start_run(name="x" * 300)
    assert nf.active_run() is None


def test_sys_exit_inside_a_run(client: Client) -> None:
    with pytest.raises(SystemExit), nf.start_run() as clean:
        sys.exit(0)
    with pytest.raises(SystemExit), nf.start_run() as failing:
        sys.exit(2)
    assert client.get_run(clean.run_id).status == RunStatus.FINISHED
    stored = client.get_run(failing.run_id)
    assert stored.status == RunStatus.FAILED
    assert stored.tags["ninefold.error"] == "SystemExit: 2"
