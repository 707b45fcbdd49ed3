"""Schema inference and validation: every anomaly kind, severities, messages, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from ninefold.data import (
    ColumnSchema,
    CountRange,
    DatasetRules,
    Range,
    Schema,
    ValidationReport,
    infer_schema,
    profile,
    validate,
)
from ninefold.data.schema import Outliers
from ninefold.errors import DataValidationError, InvalidArgument
from tests.data.helpers import mixed_frame


def _only(report: ValidationReport, kind: str) -> list[tuple[str | None, str, int]]:
    return [(a.column, a.severity, a.count) for a in report.by_kind(kind)]


def test_inferred_schema_covers_every_axis() -> None:
    df = mixed_frame(5_000)
    schema = infer_schema(df)
    assert schema.dataset.keys == ["customer_id"]
    assert schema.dataset.min_rows == 1
    assert schema["customer_id"].range is None  # new ids are expected
    age = schema["age"]
    assert age.type == "integer"
    assert age.range is not None
    assert age.range.min == 0  # never negative in the reference: 0 stays the floor
    assert isinstance(age.range.max, int)
    assert age.range.max > 89
    assert age.distinct == CountRange(min=2)
    assert schema["plan"].categories == ["basic", "pro", "team"]
    assert schema["plan"].min_domain_coverage == 1.0
    assert schema["plan"].max_null_fraction == 0.0
    score = schema["score"]
    assert 0 < score.max_null_fraction < 0.1
    assert score.outliers is not None
    assert score.outliers.center == pytest.approx(50.0, abs=0.5)
    assert score.outliers.scale == pytest.approx(10.0, rel=0.1)
    assert schema["signup"].range is None  # time moves on
    assert schema["active"].categories is None  # booleans need no domain


def test_inferred_schema_accepts_a_fresh_sample_of_the_same_distribution() -> None:
    schema = infer_schema(mixed_frame(5_000, seed=1))
    fresh = mixed_frame(5_000, seed=2).with_columns(pl.col("customer_id") + 10_000)
    report = validate(fresh, schema)
    assert report.ok, report.errors


def test_clean_data_passes_and_raise_for_errors_returns_the_report() -> None:
    df = mixed_frame(1_000)
    report = validate(df, infer_schema(df))
    assert report.ok
    assert report.raise_for_errors() is report
    assert report.summary().startswith("Validation passed: 1000 rows, 7 columns")


def test_schema_level_anomalies() -> None:
    schema = Schema(
        {
            "a": ColumnSchema("float"),
            "b": ColumnSchema("string"),
            "gone": ColumnSchema("integer"),
            "optional": ColumnSchema("integer", required=False),
            "Amount": ColumnSchema("float"),
        }
    )
    df = pl.DataFrame({"a": ["x", "y"], "b": ["p", "q"], "extra": [1, 2], "amount": [1.0, 2.0]})
    report = validate(df, schema)
    assert _only(report, "type_mismatch") == [("a", "error", 2)]
    assert {c for c, *_ in _only(report, "missing_column")} == {"gone", "Amount"}
    renamed = next(a for a in report.by_kind("missing_column") if a.column == "Amount")
    assert "A column 'amount' is new in the data: was it renamed?" in renamed.message
    gone = next(a for a in report.by_kind("missing_column") if a.column == "gone")
    assert "was it renamed" not in gone.message
    assert {c for c, *_ in _only(report, "unexpected_column")} == {"extra", "amount"}
    relaxed = Schema(schema.columns, DatasetRules(allow_extra_columns=True))
    assert not validate(df, relaxed).by_kind("unexpected_column")


def test_a_renamed_column_is_pointed_out() -> None:
    df = mixed_frame(300)
    schema = infer_schema(df)
    report = validate(df.rename({"income": "annual_income"}), schema)
    missing = report.by_kind("missing_column")[0]
    assert (missing.column, missing.severity) == ("income", "error")
    assert "'annual_income' is new in the data: was it renamed?" in missing.message
    assert _only(report, "unexpected_column") == [("annual_income", "warning", 0)]
    report = validate(df.rename({"plan": "tier"}), schema)
    assert "'tier' is new in the data" in report.by_kind("missing_column")[0].message


def test_integers_stored_as_floats_are_fine_until_a_fraction_appears() -> None:
    schema = Schema({"n": ColumnSchema("integer", max_null_fraction=0.5)})
    # pandas turns an int column with a missing value into float64.
    assert validate(pd.DataFrame({"n": [1, None, 3]}), schema).ok
    report = validate(pl.DataFrame({"n": [1.0, 2.5, 3.0]}), schema)
    assert _only(report, "type_mismatch") == [("n", "error", 1)]
    assert report.by_kind("type_mismatch")[0].examples == [2.5]


def test_mixed_type_column_is_an_error_not_a_crash() -> None:
    schema = Schema({"code": ColumnSchema("integer")})
    report = validate(pd.DataFrame({"code": [1, "A7", 3]}), schema)
    assert _only(report, "mixed_types") == [("code", "error", 3)]
    assert "int, str" in report.by_kind("mixed_types")[0].message


def test_value_anomalies_with_counts_examples_and_fixes() -> None:
    schema = Schema(
        {
            "age": ColumnSchema("integer", range=Range(0, 120), max_out_of_range_fraction=0.1),
            "x": ColumnSchema("float", max_null_fraction=0.1),
            "plan": ColumnSchema("string", categories=["basic", "pro"]),
        }
    )
    df = pl.DataFrame(
        {
            "age": [30, -1, 200, 40, 50, 60, 70, 80, 90, 100],
            "x": [1.0, None, None, math.nan, math.inf, 2.0, 3.0, 4.0, 5.0, 6.0],
            "plan": ["basic", "pro", "PRO", "PRO", "gold", "basic", "pro", "basic", "pro", "pro"],
        }
    )
    report = validate(df, schema)
    out = report.by_kind("out_of_range")[0]
    assert (out.severity, out.count, out.fraction) == ("error", 2, 0.2)
    assert out.examples == [-1, 200]
    assert "widen `range`" in out.message
    nulls = report.by_kind("null_fraction")[0]
    assert (nulls.count, nulls.examples) == (2, [1, 2])  # row numbers
    assert "20 %" in nulls.message
    assert _only(report, "non_finite") == [("x", "error", 2)]
    new = report.by_kind("new_category")[0]
    assert new.count == 3
    assert new.examples == [{"value": "PRO", "count": 2}, {"value": "gold", "count": 1}]
    assert "'PRO' (2 rows)" in new.message
    assert not report.ok
    with pytest.raises(DataValidationError, match="FAILED") as info:
        report.raise_for_errors()
    assert info.value.report is report


def test_rare_violations_are_warnings_below_the_tolerance() -> None:
    schema = Schema(
        {
            "v": ColumnSchema("float", range=Range(0.0, 1.0), max_out_of_range_fraction=0.01),
            "c": ColumnSchema("string", categories=["a"], max_unseen_fraction=0.01),
        }
    )
    df = pl.DataFrame({"v": [0.5] * 999 + [7.0], "c": ["a"] * 999 + ["b"]})
    report = validate(df, schema, unnecessary=False)
    assert report.ok
    assert _only(report, "out_of_range") == [("v", "warning", 1)]
    assert _only(report, "new_category") == [("c", "warning", 1)]


def test_domain_coverage_is_judged_only_with_enough_values() -> None:
    schema = Schema(
        {"c": ColumnSchema("string", categories=["a", "b", "c"], min_domain_coverage=1.0)}
    )
    few = validate(pl.DataFrame({"c": ["a", "b"] * 10}), schema)
    assert not few.by_kind("low_domain_coverage")
    many = validate(pl.DataFrame({"c": ["a", "b"] * 500}), schema)
    coverage = many.by_kind("low_domain_coverage")[0]
    assert (coverage.severity, coverage.count, coverage.examples) == ("warning", 1, ["c"])


def test_distinct_counts_and_uniqueness() -> None:
    schema = Schema(
        {
            "k": ColumnSchema("integer", unique=True),
            "flag": ColumnSchema("integer", distinct=CountRange(min=2)),
            "level": ColumnSchema("string", distinct=CountRange(max=2)),
        }
    )
    df = pl.DataFrame(
        {"k": [*range(198), 5, 5], "flag": [1] * 200, "level": ["a", "b", "c", "d"] * 50}
    )
    report = validate(df, schema)
    assert _only(report, "unique_violation") == [("k", "error", 2)]
    assert report.by_kind("unique_violation")[0].examples == [5]
    assert _only(report, "distinct_count") == [("flag", "error", 1), ("level", "error", 4)]
    # With few rows a single value is plausible: a warning.
    small = validate(df.head(10), schema)
    assert _only(small, "distinct_count") == [("level", "error", 4), ("flag", "warning", 1)]


def test_dataset_level_anomalies() -> None:
    schema = Schema(
        {"id": ColumnSchema("integer"), "v": ColumnSchema("float")},
        DatasetRules(min_rows=5, max_rows=8, keys=["id"], max_duplicate_fraction=0.1),
    )
    df = pl.DataFrame(
        {"id": [1, 2, 2, 3, 3, 3, 4, 5, 6], "v": [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 6.0]}
    )
    report = validate(df, schema, unnecessary=False)
    assert _only(report, "duplicate_keys") == [("id", "error", 3)]
    assert report.by_kind("duplicate_keys")[0].examples == [2, 3]
    assert _only(report, "duplicate_rows") == [(None, "error", 3)]
    assert _only(report, "row_count") == [(None, "error", 9)]
    assert "more than the expected maximum 8" in report.by_kind("row_count")[0].message
    few = validate(df.head(2), schema, unnecessary=False)
    assert "fewer than the expected minimum 5" in few.by_kind("row_count")[0].message


def test_empty_dataset_is_one_error() -> None:
    df = mixed_frame(100)
    report = validate(df.clear(), infer_schema(df))
    assert [a.kind for a in report.anomalies] == ["empty_dataset"]
    assert report.errors[0].severity == "error"


def test_one_row_window_is_reported_not_crashed() -> None:
    df = mixed_frame(2_000)
    report = validate(df.head(1), infer_schema(df))
    assert report.ok  # nothing wrong can be proven from one plausible row
    assert [a.kind for a in report.anomalies] == ["few_rows"]
    assert "Only 1 row(s)" in report.anomalies[0].message


def test_outliers_are_warnings_relative_to_the_reference() -> None:
    schema = Schema({"x": ColumnSchema("float", outliers=Outliers(z=5.0, center=0.0, scale=1.0))})
    report = validate(pl.DataFrame({"x": [0.1, -0.3, 12.0, -7.5, 4.9]}), schema)
    out = report.by_kind("outliers")[0]
    assert (out.severity, out.count) == ("warning", 2)
    assert out.examples == [12.0, -7.5]  # most extreme first
    # Without a centre and scale the batch's own median and IQR are used.
    own = Schema({"x": ColumnSchema("float", outliers=Outliers(z=6.0))})
    values = [float(i % 10) for i in range(200)] + [500.0]
    assert _only(validate(pl.DataFrame({"x": values}), own), "outliers") == [("x", "warning", 1)]


def test_unnecessary_columns_are_warned_about() -> None:
    n = 100
    df = pl.DataFrame(
        {
            "key": list(range(n)),
            "code": [f"u{i}" for i in range(n)],
            "const": [7] * n,
            "empty": pl.Series([None] * n, dtype=pl.Float64),
            "x": [float(i % 7) for i in range(n)],
            "x_copy": [float(i % 7) for i in range(n)],
        }
    )
    report = validate(df, Schema(dataset=DatasetRules(keys=[], allow_extra_columns=True)))
    kinds = {(a.kind, a.column) for a in report.anomalies}
    assert kinds == {
        ("id_like_column", "key"),
        ("id_like_column", "code"),
        ("constant_column", "const"),
        ("all_null_column", "empty"),
        ("duplicated_column", "x_copy"),
    }
    assert report.ok
    assert not validate(
        df, Schema(dataset=DatasetRules(allow_extra_columns=True)), unnecessary=False
    ).anomalies


def test_schema_from_a_profile_or_a_yaml_path(tmp_path: Path) -> None:
    df = mixed_frame(500)
    prof = profile(df)
    assert validate(df, prof).ok
    path = infer_schema(prof).save(tmp_path / "schema.yaml")
    assert validate(df, path).ok
    assert validate(df, str(path)).ok
    with pytest.raises(InvalidArgument, match="schema must be a Schema"):
        validate(df, 42)  # type: ignore[arg-type]


def test_report_json_round_trip() -> None:
    df = mixed_frame(300).with_columns(pl.lit("zzz").alias("plan"))
    report = validate(df, infer_schema(mixed_frame(300)), profile=True)
    assert report.profile is not None
    again = ValidationReport.from_dict(__import__("json").loads(report.to_json()))
    assert again == report
    assert again.profile == report.profile


def test_dates_time_zones_and_decimals() -> None:
    import datetime as dt
    import decimal

    df = pl.DataFrame(
        {
            "price": pl.Series(
                [decimal.Decimal("1.10"), decimal.Decimal("9.99")], dtype=pl.Decimal(10, 2)
            ),
            "day": [dt.date(2024, 1, 1), dt.date(2024, 3, 1)],
            "at": pl.Series(
                [
                    dt.datetime(2024, 1, 1, 0, tzinfo=dt.UTC),
                    dt.datetime(2024, 1, 1, 5, tzinfo=dt.UTC),
                ]
            ).dt.convert_time_zone("Europe/Paris"),
        }
    )
    schema = Schema(
        {
            "price": ColumnSchema("float", range=Range(0, 5)),
            "day": ColumnSchema("date", range=Range("2024-01-01", "2024-01-31")),
            # 03:00 in Paris is 02:00 UTC: only the first value is earlier.
            "at": ColumnSchema("datetime", range=Range("2024-01-01T03:00:00+01:00", None)),
        }
    )
    report = validate(df, schema, unnecessary=False)
    found = {a.column: (a.count, a.examples) for a in report.by_kind("out_of_range")}
    assert found == {
        "price": (1, [9.99]),
        "day": (1, ["2024-03-01"]),
        "at": (1, ["2024-01-01T01:00:00+01:00"]),
    }
    day = next(a for a in report.anomalies if a.column == "day")
    assert "e.g. '2024-03-01'" in day.message
