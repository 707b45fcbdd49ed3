"""compare(): verdicts on seeded data with and without known shifts, and the edge cases."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ninefold.data.drift import DriftThresholds, compare
from ninefold.data.profiling import profile
from ninefold.errors import InvalidArgument

LEVELS = ["a", "b", "c", "d", "e"]
SHARES = np.array([0.35, 0.25, 0.2, 0.15, 0.05])


def frame(
    n: int,
    seed: int,
    *,
    shift: float = 0.0,
    shares: np.ndarray = SHARES,
    levels: list[str] = LEVELS,
) -> pl.DataFrame:
    """Three numeric columns (one integer) and one categorical; ``shift`` moves ``x`` in sd."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "x": rng.normal(10.0 + 2.0 * shift, 2.0, n),
            "y": rng.lognormal(0.0, 0.7, n),
            "k": rng.poisson(4.0, n),
            "cat": rng.choice(levels, size=n, p=shares),
        }
    )


@pytest.mark.parametrize("n", [1_000, 100_000])
def test_no_alarm_between_samples_of_one_distribution(n: int) -> None:
    for seed in range(3):
        report = compare(frame(n, seed), frame(n, 100 + seed))
        assert not report.drift_detected, report.summary()
        assert report.ok
        assert report.tested == 4
        assert all(c.status == "ok" for c in report.columns)


def test_half_sigma_mean_shift_alarms_at_10k_rows() -> None:
    report = compare(frame(10_000, 1), frame(10_000, 2, shift=0.5))
    assert report.drift_detected
    assert report.drifted_columns == ["x"]
    x = report["x"]
    assert x.rejected
    assert x.pvalue_adjusted is not None
    assert x.pvalue_adjusted < 1e-10
    assert x.effects["wasserstein"] == pytest.approx(0.5, abs=0.05)
    assert x.effects["mean_shift"] == pytest.approx(0.5, abs=0.05)
    assert x.effects["psi"] > 0.1
    assert "Distribution changed" in x.message


def test_categorical_frequency_change_is_detected() -> None:
    moved = SHARES + np.array([-0.15, 0.0, 0.15, 0.0, 0.0])  # 15 points from 'a' to 'c'
    report = compare(frame(5_000, 3), frame(5_000, 4, shares=moved))
    assert report.drifted_columns == ["cat"]
    cat = report["cat"]
    assert cat.kind == "categorical"
    assert cat.effects["tvd"] == pytest.approx(0.15, abs=0.03)
    assert cat.effects["linf"] == pytest.approx(0.15, abs=0.03)
    assert cat.effects["unseen_share"] == 0.0


def test_unseen_category_share_is_reported() -> None:
    levels = [*LEVELS, "NEW"]
    shares = np.append(SHARES * 0.8, 0.2)
    report = compare(frame(4_000, 5), frame(4_000, 6, shares=shares, levels=levels))
    cat = report["cat"]
    assert cat.effects["unseen_share"] == pytest.approx(0.2, abs=0.02)
    assert cat.status == "drift"
    assert "unseen" in cat.message


def test_stored_profile_gives_the_same_verdict_as_raw_reference(tmp_path: Path) -> None:
    ref = frame(20_000, 7)
    cur = frame(8_000, 8, shift=0.3)
    path = profile(ref).save(tmp_path / "reference.json")
    from_raw = compare(ref, cur)
    from_profile = compare(path, cur)
    assert from_raw.drifted_columns == from_profile.drifted_columns == ["x"]
    for a, b in zip(from_raw.columns, from_profile.columns, strict=True):
        assert a.status == b.status
        assert a.pvalue == pytest.approx(b.pvalue, rel=1e-9, abs=1e-300)
        for name, value in a.effects.items():
            assert value == pytest.approx(b.effects[name], rel=1e-9)


def test_current_may_be_a_profile_on_the_reference_bins() -> None:
    ref = profile(frame(10_000, 9))
    cur = profile(frame(10_000, 10, shift=0.5), reference=ref)
    report = compare(ref, cur)
    assert report.drifted_columns == ["x"]


def test_renamed_column_is_reported_not_a_crash() -> None:
    ref = frame(2_000, 11)
    cur = frame(2_000, 12).rename({"y": "y_renamed"})
    report = compare(ref, cur)
    assert report.missing_columns == ["y"]
    assert report.new_columns == ["y_renamed"]
    assert not report.drift_detected
    assert not report.ok  # a reference column could not be checked
    assert "renamed to 'y_renamed'" in report["y"].message
    assert "Missing from the current data: y" in report.summary()


def test_one_row_window_is_too_small_and_never_alarms() -> None:
    cur = frame(1, 13).with_columns(pl.lit(1e6).alias("x"))  # wildly off, but one row
    report = compare(frame(5_000, 14), cur)
    assert not report.drift_detected
    assert {c.status for c in report.columns} == {"too_small"}
    assert "Too few values" in report["x"].message
    assert report.tested == 0


def test_all_null_columns_report_no_data() -> None:
    ref = frame(1_000, 15).with_columns(pl.lit(None, dtype=pl.Float64).alias("empty"))
    cur = frame(1_000, 16).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("empty"),
        pl.lit(None, dtype=pl.Float64).alias("x"),
        pl.lit(None, dtype=pl.String).alias("cat"),
    )
    report = compare(ref, cur)
    assert report["empty"].status == "no_data"
    assert report["x"].status == "no_data"
    assert "all null in the current data" in report["x"].message
    assert report["x"].current_null_fraction == 1.0
    assert report["cat"].status == "no_data"
    assert report.tested == 2
    assert not report.drift_detected


def test_infinities_are_left_out_of_the_distribution_and_counted() -> None:
    ref = frame(3_000, 17)
    cur = frame(3_000, 18)
    x = cur["x"].to_numpy().copy()
    x[:300] = np.inf
    x[300:330] = -np.inf
    cur = cur.with_columns(pl.Series("x", x))
    report = compare(ref, cur)
    col = report["x"]
    assert col.current_count == 2_670
    assert col.current_null_fraction == pytest.approx(0.11)
    assert col.status == "ok"
    assert math.isfinite(col.effects["wasserstein"] or math.nan)
    json.loads(report.to_json())  # no NaN or inf leaks into JSON


def test_significant_but_trivial_shift_does_not_alarm() -> None:
    report = compare(frame(200_000, 19), frame(200_000, 20, shift=0.03))
    x = report["x"]
    assert x.rejected
    assert x.status == "ok"
    assert not x.effect_exceeds
    assert "below the practical threshold" in x.message


def test_thresholds_can_be_raised_and_lowered() -> None:
    ref, cur = frame(10_000, 21), frame(10_000, 22, shift=0.5)
    strict = compare(ref, cur, thresholds={"psi": 5.0, "wasserstein": 5.0})
    assert not strict.drift_detected
    assert strict["x"].rejected
    assert strict["x"].thresholds["psi"] == 5.0
    small = compare(
        frame(200_000, 19), frame(200_000, 20, shift=0.03), thresholds={"wasserstein": 0.01}
    )
    assert small.drifted_columns == ["x"]


def test_min_detectable_shift_shrinks_with_the_window() -> None:
    small = compare(frame(500, 23), frame(500, 24))["x"]
    large = compare(frame(50_000, 23), frame(50_000, 24))["x"]
    assert small.unit == "sigma"
    assert small.min_detectable is not None
    assert large.min_detectable is not None
    assert small.min_detectable > large.min_detectable
    # With many rows, the practical threshold is the binding limit.
    assert large.min_detectable == pytest.approx(0.05)
    assert small.min_detectable > 0.2
    cat = compare(frame(150, 23), frame(150, 24))["cat"]
    assert cat.unit == "tvd"
    assert cat.min_detectable is not None
    assert cat.min_detectable > 0.1
    assert cat.null_effect is not None
    assert 0 < cat.null_effect < cat.min_detectable


def test_benjamini_hochberg_and_ks_options() -> None:
    ref, cur = frame(5_000, 25), frame(5_000, 26, shift=0.5)
    bh = compare(ref, cur, correction="bh")
    assert bh.correction == "bh"
    assert bh.drifted_columns == ["x"]
    ks = compare(ref, cur, numeric_test="ks")
    assert ks["x"].test == "ks"
    assert ks["x"].statistics["ks_d"] == pytest.approx(0.197, abs=0.03)  # 2 Phi(0.25) - 1
    assert ks.drifted_columns == ["x"]
    with pytest.raises(InvalidArgument, match="raw reference"):
        compare(profile(ref), cur, numeric_test="ks")


def test_bad_arguments_name_the_value_and_the_fix() -> None:
    ref = frame(100, 27)
    with pytest.raises(InvalidArgument, match="alpha"):
        compare(ref, ref, alpha=5)
    with pytest.raises(InvalidArgument, match="'holm' or 'bh'"):
        compare(ref, ref, correction="bonferroni")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="Unknown drift threshold 'psx'"):
        compare(ref, ref, thresholds={"psx": 0.1})
    with pytest.raises(InvalidArgument, match=">= 0"):
        DriftThresholds(tvd=-1)
    with pytest.raises(InvalidArgument, match="neither data set"):
        compare(ref, ref, columns=["nope"])


def test_time_identifier_and_type_changes() -> None:
    n = 400
    start = datetime(2024, 1, 1)
    ref = frame(n, 28).with_columns(
        pl.Series("when", [start + timedelta(hours=i) for i in range(n)]),
        pl.Series("user", [f"u{i}" for i in range(n)]),
    )
    cur = frame(n, 29).with_columns(
        pl.Series("when", [start + timedelta(days=90, hours=i) for i in range(n)]),
        pl.Series("user", [f"v{i}" for i in range(n)]),
        pl.col("k").cast(pl.String),
    )
    report = compare(ref, cur)
    assert report["when"].status == "skipped"
    assert report["user"].status == "skipped"
    assert "identifier" in report["user"].message
    assert report["k"].status == "changed_type"
    assert not report.ok
    timed = compare(ref, cur, include_time=True, columns=["when"])
    assert timed.drifted_columns == ["when"]


def test_report_serialises_to_plain_json() -> None:
    report = compare(frame(2_000, 30), frame(2_000, 31, shift=0.5))
    data = json.loads(report.to_json())
    assert data["drift_detected"] is True
    assert data["drifted_columns"] == ["x"]
    x = next(c for c in data["columns"] if c["column"] == "x")
    assert x["status"] == "drift"
    assert set(x["effects"]) == {"psi", "wasserstein", "jensen_shannon", "mean_shift"}


def test_schema_rules_override_thresholds_per_column(tmp_path: Path) -> None:
    from ninefold.data.schema import ColumnSchema, DriftRule, Schema

    ref, cur = frame(10_000, 32), frame(10_000, 33, shift=0.5)
    shifted_cat = SHARES + np.array([-0.15, 0.0, 0.15, 0.0, 0.0])
    cur = cur.with_columns(frame(10_000, 34, shares=shifted_cat)["cat"])
    schema = Schema(
        columns={
            "x": ColumnSchema(type="float", drift=DriftRule(metric="psi", threshold=2.0)),
            "y": ColumnSchema(type="float", drift=DriftRule(enabled=False)),
            "k": ColumnSchema(type="integer"),
            "cat": ColumnSchema(type="string", skew=DriftRule(threshold=0.5)),
        }
    )
    path = schema.save(tmp_path / "schema.yaml")
    report = compare(ref, cur, path)
    assert report["x"].thresholds == {"psi": 2.0}
    assert report["x"].rejected
    assert report["x"].status == "ok"  # PSI ~0.25, far below the column's 2.0
    assert report["y"].status == "skipped"
    assert report["k"].thresholds == {"psi": 0.1, "wasserstein": 0.05}
    assert report.drifted_columns == ["cat"]  # its drift rule is the default one
    skew = compare(ref, cur, schema, rule="skew")
    assert skew["cat"].thresholds == {"tvd": 0.5}
    assert skew.drifted_columns == ["x"]
    bad = Schema(
        columns={"cat": ColumnSchema(type="string", drift=DriftRule(metric="wasserstein"))}
    )
    with pytest.raises(InvalidArgument, match="does not apply to categorical"):
        compare(ref, cur, bad)


def test_long_tail_categories_beyond_the_listed_ones_do_not_fake_drift() -> None:
    # More levels than a profile lists (1,000): the rest is folded into 'other', and the
    # listed ones were picked for being frequent in the reference sample.
    rng = np.random.default_rng(35)
    flat = np.array([f"v{i}" for i in range(2_000)])
    same = compare(
        pl.DataFrame({"c": flat[rng.integers(0, 2_000, 6_000)]}),
        pl.DataFrame({"c": flat[rng.integers(0, 2_000, 6_000)]}),
    )
    assert same["c"].status == "too_small", same["c"].message
    assert "max_categories" in same["c"].message
    zipf = 1.0 / np.arange(1, 3_001) ** 1.1
    zipf /= zipf.sum()
    names = np.array([f"z{i}" for i in range(3_000)])

    def draw(n: int, shares: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame({"c": names[rng.choice(3_000, size=n, p=shares)]})

    for _ in range(3):
        quiet = compare(draw(20_000, zipf), draw(20_000, zipf))
        assert quiet["c"].status == "ok", quiet["c"].message
        assert quiet["c"].effects["unseen_share"] is None  # unknowable beyond the listed
    moved = zipf * (1 - (zipf[0] + 0.1)) / (1 - zipf[0])
    moved[0] = zipf[0] + 0.1
    shifted = compare(draw(20_000, zipf), draw(20_000, moved / moved.sum()))
    assert shifted["c"].status == "drift"


def test_reference_may_be_a_stored_dataset_version(project: Path) -> None:
    from ninefold.data.datasets import log_dataset

    version = log_dataset(frame(5_000, 36), "train")
    report = compare(version.uri, frame(5_000, 37, shift=0.5))
    assert report.reference_rows == 5_000
    assert report.drifted_columns == ["x"]


def test_constant_columns_and_an_empty_current_frame() -> None:
    ref = frame(1_000, 38).with_columns(pl.lit(5.0).alias("const"), pl.lit("a").alias("one"))
    cur = frame(1_000, 39).with_columns(pl.lit(5.0).alias("const"), pl.lit("a").alias("one"))
    report = compare(ref, cur)
    assert report["const"].status == "ok"
    assert report["const"].pvalue == 1.0
    assert report["one"].status == "ok"
    assert not report.drift_detected
    empty = compare(ref, cur.head(0))
    assert {c.status for c in empty.columns} == {"no_data"}
    assert empty.tested == 0
    assert "No column could be tested (the current data has 0 rows)" in empty.summary()
    assert not empty.drift_detected
