"""Cleaning: each step does its job and says what it did."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from ninefold.data import (
    ColumnSchema,
    Range,
    Schema,
    drop_columns,
    drop_duplicates,
    drop_unnecessary_columns,
    handle_missing,
    quarantine,
    validate,
)
from ninefold.data.cleaning import REASON_COLUMN
from ninefold.errors import DataError, InvalidArgument


def test_drop_exact_and_key_duplicates() -> None:
    df = pl.DataFrame({"id": [1, 1, 2, 2, 3], "v": ["a", "a", "b", "c", "d"]})
    exact, summary = drop_duplicates(df)
    assert exact["v"].to_list() == ["a", "b", "c", "d"]
    assert (summary.rows_before, summary.rows_after, summary.rows_removed) == (5, 4, 1)
    by_key, summary = drop_duplicates(df, keys=["id"], keep="last")
    assert by_key["v"].to_list() == ["a", "c", "d"]
    assert summary.details == {"keys": ["id"], "keep": "last"}
    with pytest.raises(InvalidArgument, match=r"no column\(s\) \['nope'\]"):
        drop_duplicates(df, keys=["nope"])
    with pytest.raises(InvalidArgument, match="keep must be"):
        drop_duplicates(df, keep="middle")


def test_pandas_in_pandas_out() -> None:
    df = pd.DataFrame({"a": [1, 1, 2]})
    out, summary = drop_duplicates(df)
    assert isinstance(out, pd.DataFrame)
    assert out["a"].tolist() == [1, 2]
    assert json.loads(json.dumps(summary.to_dict()))["rows_removed"] == 1


def test_missing_value_policies_record_the_values_used() -> None:
    df = pl.DataFrame(
        {
            "x": [1.0, None, 3.0, math.nan, 10.0],
            "n": [1, None, 2, 2, 5],
            "c": ["a", "b", None, "b", None],
            "k": [1, 2, None, 4, 5],
        }
    )
    out, summary = handle_missing(df, {"x": "median", "n": "mean", "c": "mode", "k": "keep"})
    assert out["x"].to_list() == [1.0, 3.0, 3.0, 3.0, 10.0]  # NaN counts as missing
    assert out["n"].to_list() == [1, 2, 2, 2, 5]  # mean 2.5 rounds to a whole number
    assert out["c"].to_list() == ["a", "b", "b", "b", "b"]
    assert out["k"].null_count() == 1
    filled = summary.details["filled"]
    assert filled["x"] == {"policy": "median", "value": 3.0, "count": 2}
    assert filled["c"] == {"policy": "mode", "value": "b", "count": 2}
    assert "k" not in filled
    dropped, summary = handle_missing(df, "drop", columns=["x", "c"])
    assert dropped.height == 1
    assert summary.rows_removed == 4
    const, _ = handle_missing(df, "constant", columns=["c"], fill_value="?")
    assert const["c"].to_list() == ["a", "b", "?", "b", "?"]


def test_missing_value_policy_errors() -> None:
    df = pl.DataFrame({"c": ["a", None], "e": pl.Series([None, None], dtype=pl.Float64)})
    with pytest.raises(InvalidArgument, match="'median' needs numbers"):
        handle_missing(df, {"c": "median"})
    with pytest.raises(InvalidArgument, match="policy 'avg' for 'c' is unknown"):
        handle_missing(df, {"c": "avg"})
    with pytest.raises(InvalidArgument, match="needs fill_value"):
        handle_missing(df, "constant")
    with pytest.raises(DataError, match="no values to take it from"):
        handle_missing(df, {"e": "median"})


def test_drop_unnecessary_columns_keeps_what_is_asked() -> None:
    n = 50
    df = pl.DataFrame(
        {
            "id": list(range(n)),
            "const": [1] * n,
            "empty": pl.Series([None] * n, dtype=pl.String),
            "x": [i % 5 for i in range(n)],
            "x2": [i % 5 for i in range(n)],
        }
    )
    out, summary = drop_unnecessary_columns(df, keep=["const"])
    assert out.columns == ["id", "const", "x"]
    assert summary.details["reasons"] == {"empty": "all_null_column", "x2": "duplicated_column"}
    out, summary = drop_unnecessary_columns(df, kinds=["id_like_column"])
    assert summary.columns_removed == ["id"]
    with pytest.raises(InvalidArgument, match="Unknown kinds"):
        drop_unnecessary_columns(df, kinds=["boring"])
    out, summary = drop_columns(df, ["x2", "empty"])
    assert out.columns == ["id", "const", "x"]
    assert summary.columns_removed == ["x2", "empty"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_quarantine_moves_rows_that_break_the_schema(tmp_path: Path, suffix: str) -> None:
    schema = Schema(
        {
            "age": ColumnSchema("integer", range=Range(0, 120)),
            "plan": ColumnSchema("string", categories=["a", "b"], max_null_fraction=0.5),
            "x": ColumnSchema("float", allow_nan=True),
        }
    )
    df = pl.DataFrame(
        {
            "age": [30, -5, None, 40, 50],
            "plan": ["a", "b", "a", "zzz", None],
            "x": [1.0, math.nan, 2.0, math.inf, 3.0],
        }
    )
    target = tmp_path / f"rejected{suffix}"
    kept, summary = quarantine(df, schema, target)
    assert kept["age"].to_list() == [30, 50]
    assert summary.path == str(target)
    assert summary.details["reasons"] == {
        "age: out of range": 1,
        "age: null": 1,
        "plan: unknown category": 1,
        "x: infinite": 1,
    }
    rejected = pl.read_parquet(target) if suffix == ".parquet" else pl.read_csv(target)
    assert rejected.height == 3
    reasons = rejected[REASON_COLUMN].to_list()
    if suffix == ".csv":
        assert reasons[2] == "plan: unknown category; x: infinite"
    else:
        assert reasons[2] == ["plan: unknown category", "x: infinite"]
    assert validate(kept, schema, unnecessary=False).ok


def test_quarantine_writes_an_empty_file_when_all_rows_pass(tmp_path: Path) -> None:
    schema = Schema({"a": ColumnSchema("integer")})
    kept, summary = quarantine(pl.DataFrame({"a": [1, 2]}), schema, tmp_path / "q.parquet")
    assert kept.height == 2
    assert pl.read_parquet(tmp_path / "q.parquet").height == 0
    assert summary.details["reasons"] == {}
    with pytest.raises(InvalidArgument, match=r"must end in \.parquet or \.csv"):
        quarantine(pl.DataFrame({"a": [1]}), schema, tmp_path / "q.xlsx")
