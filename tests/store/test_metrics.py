"""Contract: metric series and their latest values (every backend)."""

from __future__ import annotations

import math

import pytest

from ninefold._ids import new_id
from ninefold.errors import RunNotFound
from ninefold.store import MetadataStore, MetricPoint
from tests.store.helpers import MakeRun


def _same(a: float, b: float) -> bool:
    """Equality that treats NaN as equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_a_batch_is_stored_as_a_history_per_key(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run()

    store.runs.log_metrics(
        [
            (run_id, "loss", 0.9, 0, 100),
            (run_id, "acc", 0.5, 0, 100),
            (run_id, "loss", 0.7, 1, 200),
            (run_id, "loss", 0.4, 2, 300),
        ]
    )
    store.runs.log_metrics([])

    assert store.runs.metric_history(run_id, "loss") == [
        MetricPoint("loss", 0.9, 0, 100),
        MetricPoint("loss", 0.7, 1, 200),
        MetricPoint("loss", 0.4, 2, 300),
    ]
    assert store.runs.metric_history(run_id, "acc") == [MetricPoint("acc", 0.5, 0, 100)]
    assert store.runs.metric_history(run_id, "never") == []
    assert store.runs.get(run_id).metrics == {"loss": 0.4, "acc": 0.5}
    assert store.runs.count_points(run_id) == 4


def test_one_batch_may_hold_several_runs(store: MetadataStore, make_run: MakeRun) -> None:
    a, b = make_run("a"), make_run("b")

    store.runs.log_metrics([(a, "m", 1.0, 0, 1), (b, "m", 2.0, 0, 1), (b, "m", 3.0, 1, 2)])

    assert store.runs.get(a).metrics == {"m": 1.0}
    assert store.runs.get(b).metrics == {"m": 3.0}
    assert (store.runs.count_points(a), store.runs.count_points(b)) == (1, 2)
    assert store.runs.count_points(new_id()) == 0


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_special_values_round_trip(store: MetadataStore, make_run: MakeRun, special: float) -> None:
    run_id = make_run()

    store.runs.log_metrics([(run_id, "m", 1.5, 0, 10), (run_id, "m", special, 1, 20)])

    history = store.runs.metric_history(run_id, "m")
    assert [p.step for p in history] == [0, 1]
    assert history[0].value == 1.5
    assert _same(history[1].value, special)
    assert _same(store.runs.get(run_id).metrics["m"], special)


def test_a_special_value_is_replaced_as_latest_by_a_later_step(
    store: MetadataStore, make_run: MakeRun
) -> None:
    run_id = make_run()

    store.runs.log_metrics([(run_id, "m", math.nan, 0, 10), (run_id, "n", math.inf, 0, 10)])
    store.runs.log_metrics([(run_id, "m", 2.0, 1, 20), (run_id, "n", -1.0, 1, 20)])

    assert store.runs.get(run_id).metrics == {"m": 2.0, "n": -1.0}


def test_latest_is_highest_step_across_out_of_order_batches(
    store: MetadataStore, make_run: MakeRun
) -> None:
    run_id = make_run()

    store.runs.log_metrics([(run_id, "loss", 0.3, 5, 500), (run_id, "loss", 0.5, 3, 300)])
    # An older step arriving later must not replace the latest value...
    store.runs.log_metrics([(run_id, "loss", 0.9, 1, 900)])
    assert store.runs.get(run_id).metrics["loss"] == 0.3
    # ...a higher step does, whatever its timestamp.
    store.runs.log_metrics([(run_id, "loss", 0.2, 6, 50)])
    assert store.runs.get(run_id).metrics["loss"] == 0.2
    assert [p.step for p in store.runs.metric_history(run_id, "loss")] == [1, 3, 5, 6]


def test_latest_at_equal_step_is_the_newest_timestamp(
    store: MetadataStore, make_run: MakeRun
) -> None:
    run_id = make_run()

    store.runs.log_metrics([(run_id, "m", 1.0, 2, 200), (run_id, "m", 2.0, 2, 100)])
    assert store.runs.get(run_id).metrics["m"] == 1.0
    store.runs.log_metrics([(run_id, "m", 3.0, 2, 150)])
    assert store.runs.get(run_id).metrics["m"] == 1.0
    store.runs.log_metrics([(run_id, "m", 4.0, 2, 250)])
    assert store.runs.get(run_id).metrics["m"] == 4.0

    # History is ordered by step, then time.
    assert [p.value for p in store.runs.metric_history(run_id, "m")] == [2.0, 3.0, 1.0, 4.0]


def test_metrics_of_unknown_run_raise_and_write_nothing(
    store: MetadataStore, make_run: MakeRun
) -> None:
    known = make_run()
    missing = new_id()

    with pytest.raises(RunNotFound, match=missing):
        store.runs.log_metrics([(known, "m", 1.0, 0, 1), (missing, "m", 2.0, 0, 1)])

    assert store.runs.count_points(known) == 0
    assert store.runs.count_points(missing) == 0
    assert store.runs.get(known).metrics == {}


def test_large_batch_is_counted_exactly(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run()
    points = [(run_id, f"k{i % 7}", float(i), i // 7, 1_000 + i) for i in range(2_000)]

    store.runs.log_metrics(points)

    assert store.runs.count_points(run_id) == 2_000
    latest = store.runs.get(run_id).metrics
    # For each key the last point logged has the highest step.
    expected = {p[1]: p[2] for p in points}
    assert latest == expected
