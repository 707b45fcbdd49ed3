"""Metrics (buffered, stepped, non-finite values) and params (immutable, bounded)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import ninefold as nf
from ninefold.errors import InvalidArgument, InvalidName, ParamConflict
from ninefold.tracking.client import Client, get_client
from ninefold.tracking.writer import writer
from tests.tracking.helpers import own


def _raw_history(client: Client, run_id: str, key: str) -> list[tuple[float, int]]:
    """Points as stored, read without the flush that nf.get_metric_history does."""
    return [(p.value, p.step) for p in client.store.runs.metric_history(run_id, key)]


def test_buffered_points_are_written_by_flush(client: Client) -> None:
    with nf.start_run() as run:
        for i in range(5):
            nf.log_metric("loss", 1.0 / (i + 1))
        nf.flush()
        assert writer.pending() == 0
        assert _raw_history(client, run.run_id, "loss") == [
            (1.0, 0),
            (0.5, 1),
            (1.0 / 3, 2),
            (0.25, 3),
            (0.2, 4),
        ]
        nf.log_metric("loss", 0.1)
    # Ending the run writes what was still buffered.
    assert _raw_history(client, run.run_id, "loss")[-1] == (0.1, 5)
    assert len(_raw_history(client, run.run_id, "loss")) == 6


def test_steps_count_per_key_and_explicit_steps_are_kept(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_metric("a", 1.0)
        nf.log_metric("b", 10.0)
        nf.log_metric("a", 2.0)
        nf.log_metric("a", 3.0, step=10)
        nf.log_metric("a", 4.0)  # continues after the explicit step
        nf.log_metric("b", 20.0, step=np.int64(7))
        nf.log_metric("c", 5.0, step=3, timestamp=1_700_000_000_123)
        nf.log_metrics({"d": 1.0, "e": 2.0}, step=4, timestamp=1_600_000_000_000)
    a = nf.get_metric_history(run.run_id, "a")
    assert [(p.step, p.value) for p in a] == [(0, 1.0), (1, 2.0), (10, 3.0), (11, 4.0)]
    b = nf.get_metric_history(run.run_id, "b")
    assert [(p.step, p.value) for p in b] == [(0, 10.0), (7, 20.0)]
    (c,) = nf.get_metric_history(run.run_id, "c")
    assert (c.key, c.step, c.timestamp_ms) == ("c", 3, 1_700_000_000_123)
    d = nf.get_metric_history(run.run_id, "d")
    e = nf.get_metric_history(run.run_id, "e")
    assert [(p.step, p.timestamp_ms) for p in d + e] == [(4, 1_600_000_000_000)] * 2
    # The latest value is the one with the highest step.
    assert nf.get_run(run.run_id).metrics["a"] == 4.0


def test_nan_and_infinities_round_trip(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_metric("nan", float("nan"))
        nf.log_metric("pinf", float("inf"))
        nf.log_metric("ninf", float("-inf"))
        nf.log_metric("mixed", 1.0)
        nf.log_metric("mixed", math.nan)
        nf.log_metric("mixed", -math.inf)
    (p,) = nf.get_metric_history(run.run_id, "nan")
    assert math.isnan(p.value)
    (p,) = nf.get_metric_history(run.run_id, "pinf")
    assert p.value == math.inf
    (p,) = nf.get_metric_history(run.run_id, "ninf")
    assert p.value == -math.inf
    mixed = [p.value for p in nf.get_metric_history(run.run_id, "mixed")]
    assert mixed[0] == 1.0
    assert math.isnan(mixed[1])
    assert mixed[2] == -math.inf
    latest = nf.get_run(run.run_id).metrics
    assert math.isnan(latest["nan"])
    assert latest["pinf"] == math.inf
    assert latest["ninf"] == -math.inf
    assert latest["mixed"] == -math.inf


def test_numpy_scalars_are_accepted(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_metric("f32", np.float32(0.5))
        nf.log_metric("f64", np.float64(0.25))
        nf.log_metric("i64", np.int64(3))
        nf.log_metric("zero_d", np.array(2.5))
        nf.log_metrics({"i32": np.int32(7)})
    metrics = own(nf.get_run(run.run_id).metrics)
    assert metrics == {"f32": 0.5, "f64": 0.25, "i64": 3.0, "zero_d": 2.5, "i32": 7.0}


def test_array_of_several_values_is_refused(project: Path) -> None:
    with nf.start_run(), pytest.raises(InvalidArgument, match=r"'acc' needs a single number"):
        nf.log_metric("acc", np.array([0.5, 0.6]))  # type: ignore[arg-type]


def test_numpy_params_are_stored_as_plain_numbers(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_params({"n": np.int64(3), "ratio": np.float32(0.5)})
    assert nf.get_run(run.run_id).params == {"n": "3", "ratio": "0.5"}


def test_numpy_float64_param_is_stored_as_a_plain_number(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_param("lr", np.float64(0.125))
    assert nf.get_run(run.run_id).params == {"lr": "0.125"}


@pytest.mark.parametrize("value", ["0.5", None, b"1", [1.0], {"a": 1}])
def test_metric_of_wrong_type_is_refused(project: Path, value: object) -> None:
    with nf.start_run() as run:
        with pytest.raises(InvalidArgument, match=r"'acc' needs a number") as info:
            nf.log_metric("acc", value)  # type: ignore[arg-type]
        assert "log_text" in str(info.value)
    assert own(get_client().get_run(run.run_id).metrics) == {}


@pytest.mark.parametrize(
    ("step", "timestamp", "message"),
    [
        ("1", None, "step must be an integer"),
        (1.5, None, "step must be an integer"),
        (True, None, "step must be an integer"),
        (2**63, None, "step 9223372036854775808 does not fit in 64 bits"),
        (None, "now", "timestamp must be an integer"),
        (None, float("nan"), "timestamp must be an integer"),
        (None, -(2**70), "timestamp -1180591620717411303424 does not fit"),
    ],
)
def test_bad_step_or_timestamp_is_refused(
    project: Path, step: object, timestamp: object, message: str
) -> None:
    with nf.start_run() as run:
        with pytest.raises(InvalidArgument, match=message):
            nf.log_metric("acc", 1.0, step=step, timestamp=timestamp)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match=message):
            nf.log_metrics({"acc": 1.0}, step=step, timestamp=timestamp)  # type: ignore[arg-type]
        # The refused point was never queued: the run's later points are written.
        nf.log_metric("acc", 2.0)
    assert [p.value for p in nf.get_metric_history(run.run_id, "acc")] == [2.0]


def test_float_timestamp_and_extreme_steps_are_kept(project: Path) -> None:
    with nf.start_run() as run:
        nf.log_metric("a", 1.0, step=2**63 - 1, timestamp=1_700_000_000_123.0)
        nf.log_metric("a", 0.5, step=-(2**63))
    history = nf.get_metric_history(run.run_id, "a")
    assert [(p.step, p.timestamp_ms) for p in history][1] == (2**63 - 1, 1_700_000_000_123)
    assert history[0].step == -(2**63)


@pytest.mark.parametrize("key", ["", "../x", "a/../b", "/abs", "x" * 300, "semi;colon", 5])
def test_bad_metric_key_is_refused(project: Path, key: object) -> None:
    with nf.start_run() as run, pytest.raises(InvalidName, match="Metric key"):
        nf.log_metric(key, 1.0)  # type: ignore[arg-type]
    assert own(get_client().get_run(run.run_id).metrics) == {}


@pytest.mark.parametrize("key", ["", "../x", "x" * 300])
def test_bad_param_and_tag_keys_are_refused(project: Path, key: str) -> None:
    with nf.start_run():
        with pytest.raises(InvalidName, match="Param key"):
            nf.log_param(key, 1)
        with pytest.raises(InvalidName, match="Tag key"):
            nf.set_tag(key, 1)


def test_relogging_a_param_with_the_same_value_is_fine(client: Client) -> None:
    with nf.start_run(params={"C": 1.0}) as run:
        nf.log_param("C", 1.0)
        nf.log_params({"C": 1.0, "kernel": "rbf"})
    assert nf.get_run(run.run_id).params == {"C": "1.0", "kernel": "rbf"}


def test_relogging_a_param_with_another_value_is_a_conflict(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_param("lr", 0.1)
        with pytest.raises(ParamConflict) as info:
            nf.log_param("lr", 0.2)
        message = str(info.value)
        assert "'lr'" in message
        assert "'0.1'" in message
        assert "'0.2'" in message
        assert "immutable" in message
        # A conflicting batch writes nothing, not even its other keys.
        with pytest.raises(ParamConflict):
            nf.log_params({"new": 1, "lr": 0.3})
    assert nf.get_run(run.run_id).params == {"lr": "0.1"}


def test_long_param_value_suggests_log_text(client: Client) -> None:
    with nf.start_run() as run:
        with pytest.raises(InvalidArgument, match="log_text") as info:
            nf.log_param("config", "x" * 10_000)
        assert "'config'" in str(info.value)
        assert "10000" in str(info.value)
        nf.log_param("ok", "y" * 8000)  # the limit itself is allowed
    with pytest.raises(InvalidArgument, match="log_text"):
        nf.start_run(params={"config": "z" * 9000})
    assert nf.get_run(run.run_id).params == {"ok": "y" * 8000}


def test_tags_can_change(client: Client) -> None:
    with nf.start_run(tags={"stage": "dev"}) as run:
        nf.set_tag("stage", "prod")
        nf.set_tags({"owner": "ana", "n": 3})
    tags = nf.get_run(run.run_id).tags
    assert tags["stage"] == "prod"
    assert tags["owner"] == "ana"
    assert tags["n"] == "3"
