"""Profiles: statistics against numpy, types, inputs, serialisation, merging, bad input."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ninefold.data import DatasetProfile, Histogram, merge, profile
from ninefold.data.profile import MAX_CATEGORIES, CategoryCounts
from ninefold.errors import DataError, InvalidArgument
from tests.data.helpers import mixed_frame


def test_numeric_statistics_match_numpy() -> None:
    df = mixed_frame(3_000)
    p = profile(df)
    score = df["score"].drop_nulls().to_numpy()
    col = p["score"]
    assert col.count == 3_000
    assert col.nulls == df["score"].null_count() > 0
    num = col.numeric
    assert num is not None
    assert num.count == len(score)
    assert num.mean == pytest.approx(score.mean(), rel=1e-12)
    assert num.std == pytest.approx(score.std(ddof=1), rel=1e-10)
    assert num.min == score.min()
    assert num.max == score.max()
    assert num.quantiles_exact
    assert num.quantile(0.25) == pytest.approx(np.quantile(score, 0.25))
    assert num.histogram.total == len(score)
    # Bins are cut at quantiles: each of the 20 holds about 5 % of the values.
    shares = np.array(num.histogram.counts[1:-1]) / len(score)
    assert np.all(np.abs(shares - 0.05) < 0.01)


def test_histogram_counts_follow_the_left_closed_convention() -> None:
    ref = profile(pl.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), bins=2)
    breaks = ref["x"].numeric.histogram.breaks  # type: ignore[union-attr]
    cur = profile(pl.DataFrame({"x": [-5.0, breaks[0], breaks[0] - 1e-9, 99.0]}), reference=ref)
    hist = cur["x"].numeric.histogram  # type: ignore[union-attr]
    assert hist.breaks == breaks
    # (-inf, b) holds -5 and b - tiny; [b, +inf) holds b itself and 99.
    assert hist.counts == [2, 2]


def test_integer_columns_get_whole_number_breaks() -> None:
    p = profile(pl.DataFrame({"stars": [1, 2, 3, 4, 5] * 40}))
    hist = p["stars"].numeric.histogram  # type: ignore[union-attr]
    assert all(b == int(b) for b in hist.breaks)
    assert hist.counts == [0, 40, 40, 40, 40, 40]


def test_kinds_and_their_parts() -> None:
    p = profile(mixed_frame(500))
    kinds = {name: col.kind for name, col in p.columns.items()}
    assert kinds == {
        "customer_id": "integer",
        "age": "integer",
        "income": "float",
        "score": "float",
        "plan": "string",
        "active": "boolean",
        "signup": "datetime",
    }
    assert p["plan"].categories is not None
    assert p["plan"].lengths is not None
    assert p["plan"].lengths.min == 3
    assert p["plan"].lengths.max == 5
    assert set(p["active"].categories.values) == {"true", "false"}  # type: ignore[union-attr]
    assert p["signup"].datetime is not None
    assert p["signup"].datetime.min == "2024-01-01T00:00:00"
    assert p["signup"].numeric is not None  # epoch seconds, for drift
    assert p["signup"].numeric.min == dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()


def test_categories_are_exact_up_to_the_limit_then_top_k_plus_other() -> None:
    values = [f"v{i:04d}" for i in range(MAX_CATEGORIES + 50)]
    counts = dict.fromkeys(values, 1) | {"common": 500}
    frame = pl.DataFrame({"c": [v for v, n in counts.items() for _ in range(n)]})
    cats = profile(frame)["c"].categories
    assert cats is not None
    assert not cats.exact
    assert len(cats.values) == MAX_CATEGORIES
    assert cats.values[0] == "common"
    assert cats.counts[0] == 500
    assert cats.total == frame.height
    assert cats.other == frame.height - sum(cats.counts)
    small = profile(pl.DataFrame({"c": ["a", "b", "b", None]}))["c"]
    assert small.categories == CategoryCounts(["b", "a"], [2, 1], 0)
    assert small.distinct == 2
    assert small.distinct_exact


def test_reference_categories_are_counted_even_in_a_long_tail() -> None:
    ref = profile(pl.DataFrame({"c": ["rare"] * 3 + ["x"] * 10}))
    tail = [f"t{i}" for i in range(30) for _ in range(5)]
    cur = profile(pl.DataFrame({"c": [*tail, "rare"]}), reference=ref, max_categories=10)
    cats = cur["c"].categories
    assert cats is not None
    assert cats.as_dict()["rare"] == 1
    assert cats.total == len(tail) + 1


def test_nan_and_infinities_are_counted_apart_from_the_moments() -> None:
    df = pl.DataFrame({"x": [1.0, 2.0, math.nan, math.inf, -math.inf, None, 0.0, -3.0]})
    num = profile(df)["x"].numeric
    assert num is not None
    assert (num.nan, num.pos_inf, num.neg_inf) == (1, 1, 1)
    assert num.count == 4
    assert num.mean == pytest.approx(0.0)
    assert (num.min, num.max) == (-3.0, 2.0)
    assert num.zeros == 1
    assert num.negatives == 2  # -3 and -inf
    assert num.histogram.total == 4


def test_one_row_and_empty_frames_profile_without_error() -> None:
    one = profile(pl.DataFrame({"x": [3.5], "c": ["a"]}))
    assert one["x"].numeric.std == 0.0  # type: ignore[union-attr]
    assert one["x"].numeric.histogram.total == 1  # type: ignore[union-attr]
    empty = profile(pl.DataFrame({"x": [3.5], "c": ["a"]}).clear())
    assert empty.num_rows == 0
    assert empty["x"].numeric.count == 0  # type: ignore[union-attr]
    assert empty["x"].numeric.min is None  # type: ignore[union-attr]
    assert empty["c"].categories.total == 0  # type: ignore[union-attr]
    assert DatasetProfile.from_json(empty.to_json()) == empty


def test_all_null_columns_profile_as_empty() -> None:
    df = pl.DataFrame({"nothing": [None, None, None], "x": [1.0, None, None]})
    p = profile(df)
    assert p["nothing"].kind == "other"
    assert p["nothing"].nulls == 3
    assert p["x"].null_fraction == pytest.approx(2 / 3)


def test_mixed_type_object_column_is_read_as_text_and_remembered() -> None:
    df = pd.DataFrame({"code": [1, "A7", 3.5, None], "ok": [1, 2, 3, 4]})
    col = profile(df)["code"]
    assert col.kind == "string"
    assert col.mixed_types == ["float", "int", "str"]
    assert col.nulls == 1
    assert col.categories is not None
    assert set(col.categories.values) == {"1", "A7", "3.5"}


def test_pandas_arrow_and_files_give_the_same_statistics(tmp_path: Path) -> None:
    df = mixed_frame(400).drop("signup")
    reference = profile(df)
    csv = tmp_path / "d.csv"
    parquet = tmp_path / "d.parquet"
    df.write_csv(csv)
    df.write_parquet(parquet)
    for source in (df.to_pandas(), df.to_arrow(), pa.Table.from_pandas(df.to_pandas()), parquet):
        other = profile(source)
        assert other["income"].numeric.mean == pytest.approx(  # type: ignore[union-attr]
            reference["income"].numeric.mean  # type: ignore[union-attr]
        )
        assert other["plan"].categories == reference["plan"].categories
    from_csv = profile(csv)
    assert from_csv.source == str(csv)
    assert from_csv["age"].numeric.histogram == reference["age"].numeric.histogram  # type: ignore[union-attr]


def test_non_utf8_csv_is_a_clear_error_and_reads_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("city,n\nZürich,1\nMálaga,2\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid UTF-8.*offset 8.*encoding="):
        profile(path)
    p = profile(path, encoding="latin-1")
    assert p["city"].categories.as_dict() == {"Zürich": 1, "Málaga": 1}  # type: ignore[union-attr]


def test_bad_paths_and_types_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        profile(tmp_path / "missing.parquet")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DataError, match="Cannot tell the format"):
        profile(tmp_path / "data.xlsx")
    with pytest.raises(InvalidArgument, match=r"Cannot read data of type builtins\.list"):
        profile([1, 2, 3])
    with pytest.raises(InvalidArgument, match="bins must be at least 1"):
        profile(pl.DataFrame({"x": [1]}), bins=0)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="Cannot read"):
        profile(broken)


def test_profile_json_round_trip_is_exact_and_small(tmp_path: Path) -> None:
    p = profile(mixed_frame(20_000), duplicates=True)
    saved = p.save(tmp_path / "p.json")
    again = DatasetProfile.load(saved)
    assert again == p
    assert json.loads(saved.read_text())["format"] == 1
    # No raw rows: the size depends on the columns, not on the 20 000 rows.
    assert saved.stat().st_size < 40_000


def test_profile_from_a_newer_format_is_refused() -> None:
    data = profile(pl.DataFrame({"x": [1]})).to_dict()
    data["format"] = 99
    with pytest.raises(DataError, match="newer than this ninefold reads"):
        DatasetProfile.from_dict(data)
    with pytest.raises(DataError, match="must be JSON"):
        DatasetProfile.from_json("{not json")


def test_duplicates_are_counted_when_asked() -> None:
    df = pl.DataFrame({"a": [1, 1, 2, 1], "b": ["x", "x", "y", "z"]})
    assert profile(df).duplicate_rows is None
    assert profile(df, duplicates=True).duplicate_rows == 1


def test_merge_with_different_bins_keeps_counts_and_moments() -> None:
    rng = np.random.default_rng(5)
    a = pl.DataFrame({"x": rng.normal(0, 1, 3_000)})
    b = pl.DataFrame({"x": rng.normal(2, 1, 2_000)})
    merged = merge(profile(a), profile(b))
    whole = profile(pl.concat([a, b]))
    m, w = merged["x"].numeric, whole["x"].numeric
    assert m is not None
    assert w is not None
    assert m.count == w.count
    assert m.histogram.total == 5_000
    assert m.histogram.breaks == profile(a)["x"].numeric.histogram.breaks  # type: ignore[union-attr]
    assert m.mean == pytest.approx(w.mean, rel=1e-9)
    assert m.std == pytest.approx(w.std, rel=1e-9)
    assert not m.quantiles_exact
    # Quantiles read from the merged histogram land close to the exact ones.
    assert m.quantile(0.5) == pytest.approx(w.quantile(0.5), abs=0.1)


def test_merge_of_a_column_missing_on_one_side_counts_it_as_null() -> None:
    left = profile(pl.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}))
    right = profile(pl.DataFrame({"x": [3.0]}))
    merged = merge(left, right)
    assert merged.num_rows == 3
    assert merged["y"].count == 3
    assert merged["y"].nulls == 1
    with pytest.raises(DataError, match="Cannot merge column 'x'"):
        merge(left, profile(pl.DataFrame({"x": ["text"]})))


def test_histogram_helpers() -> None:
    h = Histogram([0.0, 10.0], [5, 10, 5])
    assert h.edges(-10.0, 20.0) == [-10.0, 0.0, 10.0, 20.0]
    assert h.quantile(0.5, -10.0, 20.0) == pytest.approx(5.0)
    assert h.cumulative(10.0, -10.0, 20.0) == pytest.approx(15.0)
    rebinned = h.rebin([5.0], -10.0, 20.0)
    assert rebinned.counts == [10, 10]
    with pytest.raises(DataError, match="needs 3 counts"):
        Histogram([0.0, 1.0], [1, 2])
