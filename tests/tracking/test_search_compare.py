"""search_runs and compare_runs as DataFrames (polars, pandas) and records."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

import ninefold as nf
from ninefold.errors import FilterSyntaxError, InvalidArgument, RunNotFound
from ninefold.tracking.client import Client
from tests.tracking.helpers import own_names

BASE = ["run_id", "experiment", "name", "status", "start_time", "end_time", "parent_run_id", "user"]


def _sweep() -> list[str]:
    ids = []
    for name, c, acc, team in (("a", 0.1, 0.80, "vision"), ("b", 1.0, 0.91, "vision")):
        with nf.start_run(
            experiment="sweep",
            name=name,
            params={"C": c, "kernel": "rbf"},
            tags={"team": team},
            capture_environment=False,
        ) as run:
            nf.log_metric("acc", acc - 0.1)
            nf.log_metric("acc", acc)
            ids.append(run.run_id)
    with nf.start_run(
        experiment="other", name="c", params={"C": 10.0}, capture_environment=False
    ) as run:
        nf.log_metric("loss", float("nan"))
        ids.append(run.run_id)
    return ids


def test_search_runs_returns_a_polars_frame(client: Client) -> None:
    import polars as pl

    a, b, c = _sweep()
    df = nf.search_runs()
    assert isinstance(df, pl.DataFrame)
    assert own_names(df.columns) == [
        *BASE,
        "metrics.acc",
        "metrics.loss",
        "params.C",
        "params.kernel",
        "tags.team",
    ]
    start_type = df.schema["start_time"]
    assert isinstance(start_type, pl.Datetime)
    assert start_type.time_zone == "UTC"
    assert df.schema["metrics.acc"] == pl.Float64
    assert df["run_id"].to_list() == [c, b, a]  # newest first
    row = df.filter(pl.col("run_id") == b).row(0, named=True)
    assert row["experiment"] == "sweep"
    assert row["name"] == "b"
    assert row["status"] == "finished"
    assert row["metrics.acc"] == 0.91  # the latest value
    assert row["params.C"] == "1.0"
    assert row["tags.team"] == "vision"
    assert row["metrics.loss"] is None
    start = client.get_run(b).start_ms
    assert row["start_time"] == datetime.fromtimestamp(start / 1000, tz=UTC)
    loss = df.filter(pl.col("run_id") == c)["metrics.loss"][0]
    assert math.isnan(loss)


def test_search_runs_filters_orders_and_limits(client: Client) -> None:
    a, b, c = _sweep()
    df = nf.search_runs("metrics.acc > 0.85 and params.kernel = 'rbf'")
    assert df["run_id"].to_list() == [b]
    assert nf.search_runs("params.C = '10.0'")["run_id"].to_list() == [c]
    df = nf.search_runs(order_by=["metrics.acc asc"], experiments=["sweep"])
    assert df["run_id"].to_list() == [a, b]
    df = nf.search_runs("tags.team = 'vision'", max_results=1)
    assert df.height == 1
    empty = nf.search_runs("params.C = 'nope'")
    assert empty.height == 0
    assert empty.columns[: len(BASE)] == BASE


def test_search_runs_as_pandas_and_records(client: Client) -> None:
    import pandas as pd

    _, b, _ = _sweep()
    pdf = nf.search_runs("params.C = '1.0'", output="pandas")
    assert isinstance(pdf, pd.DataFrame)
    assert list(pdf["run_id"]) == [b]
    assert list(pdf.columns[: len(BASE)]) == BASE
    assert pdf["metrics.acc"].iloc[0] == 0.91

    records = nf.search_runs("params.C = '1.0'", output="records")
    assert isinstance(records, list)
    assert len(records) == 1
    assert records[0]["run_id"] == b
    assert records[0]["params.kernel"] == "rbf"
    assert records[0]["metrics.acc"] == 0.91


def test_search_runs_bad_input(client: Client) -> None:
    _sweep()
    with pytest.raises(FilterSyntaxError) as info:
        nf.search_runs("metrics.acc > ")
    assert info.value.text == "metrics.acc > "
    with pytest.raises(FilterSyntaxError):
        nf.search_runs("params.C = 'unterminated")
    with pytest.raises(InvalidArgument, match="output"):
        nf.search_runs(output="excel")  # type: ignore[arg-type]


def test_compare_runs_marks_rows_that_differ(client: Client) -> None:
    import polars as pl

    a, b, c = _sweep()
    df = nf.compare_runs([a, b, c])
    assert isinstance(df, pl.DataFrame)
    assert df.columns == ["key", "a", "b", "c", "differs"]
    rows = {r["key"]: r for r in df.iter_rows(named=True)}
    assert set(own_names(rows)) == {
        "run_id",
        "status",
        "start_time",
        "params.C",
        "params.kernel",
        "metrics.acc",
        "metrics.loss",
        "tags.team",
    }
    assert (rows["params.C"]["a"], rows["params.C"]["b"], rows["params.C"]["c"]) == (
        "0.1",
        "1.0",
        "10.0",
    )
    assert rows["params.kernel"]["c"] is None
    assert rows["run_id"]["a"] == a
    differs = {k: r["differs"] for k, r in rows.items()}
    assert differs["run_id"] is True
    assert differs["status"] is False
    assert differs["params.C"] is True
    assert differs["params.kernel"] is True  # missing in run c
    assert differs["metrics.acc"] is True


def test_compare_runs_same_values_do_not_differ(client: Client) -> None:
    ids = []
    for _ in range(2):
        with nf.start_run(name="twin", params={"C": 1}, capture_environment=False) as run:
            nf.log_metric("acc", 0.5)
            ids.append(run.run_id)
    records = nf.compare_runs(ids, output="records")
    assert isinstance(records, list)
    by_key = {r["key"]: r for r in records}
    # Two runs with one name get the end of their id in the column name.
    columns = [k for k in records[0] if k not in ("key", "differs")]
    assert columns == [f"twin ({ids[0][-8:]})", f"twin ({ids[1][-8:]})"]
    assert by_key["params.C"]["differs"] is False
    assert by_key["metrics.acc"]["differs"] is False
    assert by_key["status"]["differs"] is False
    assert by_key["run_id"]["differs"] is True


def test_unknown_run_ids_are_run_not_found(client: Client) -> None:
    a, _, _ = _sweep()
    missing = "0" * 32
    with pytest.raises(RunNotFound, match=missing):
        nf.compare_runs([a, missing])
    with pytest.raises(RunNotFound, match=missing):
        nf.get_run(missing)
    with pytest.raises(RunNotFound):
        nf.get_metric_history(missing, "acc")
    with pytest.raises(RunNotFound):
        nf.list_artifacts(missing)
