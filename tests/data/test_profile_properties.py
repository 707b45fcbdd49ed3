"""Property: merging the profiles of two parts gives the profile of the whole."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ninefold.data import DatasetProfile, merge, profile

floats = st.one_of(
    st.none(),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1.5]),
)
ints = st.one_of(st.none(), st.integers(min_value=-1000, max_value=1000))
words = st.one_of(st.none(), st.sampled_from(["a", "b", "cc", "ddd", "é", ""]))


@st.composite
def frames(draw: st.DrawFn) -> tuple[pl.DataFrame, int]:
    rows = draw(st.integers(min_value=0, max_value=60))
    frame = pl.DataFrame(
        {
            "f": draw(st.lists(floats, min_size=rows, max_size=rows)),
            "i": draw(st.lists(ints, min_size=rows, max_size=rows)),
            "s": draw(st.lists(words, min_size=rows, max_size=rows)),
            "b": draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=rows, max_size=rows)),
        },
        schema={"f": pl.Float64, "i": pl.Int64, "s": pl.String, "b": pl.Boolean},
    )
    return frame, draw(st.integers(min_value=0, max_value=rows))


def _assert_same(merged: DatasetProfile, whole: DatasetProfile) -> None:
    assert merged.num_rows == whole.num_rows
    assert list(merged.columns) == list(whole.columns)
    for name, w in whole.columns.items():
        m = merged.columns[name]
        assert (m.kind, m.count, m.nulls) == (w.kind, w.count, w.nulls), name
        if w.numeric is not None:
            mn, wn = m.numeric, w.numeric
            assert mn is not None
            fields = ("count", "zeros", "negatives", "nan", "pos_inf", "neg_inf", "min", "max")
            assert [getattr(mn, f) for f in fields] == [getattr(wn, f) for f in fields], name
            assert mn.histogram == wn.histogram, name
            assert mn.mean == pytest.approx(wn.mean, rel=1e-9, abs=1e-6)
            assert mn.std == pytest.approx(wn.std, rel=1e-7, abs=1e-6)
        if w.categories is not None:
            assert m.categories is not None
            assert m.categories.as_dict() == w.categories.as_dict(), name
            assert m.categories.other == w.categories.other
            assert m.distinct == w.distinct
        if w.lengths is not None:
            assert m.lengths is not None
            assert (m.lengths.count, m.lengths.min, m.lengths.max) == (
                w.lengths.count,
                w.lengths.min,
                w.lengths.max,
            )
            assert m.lengths.mean == pytest.approx(w.lengths.mean)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_merged_profiles_equal_the_profile_of_the_concatenation(
    case: tuple[pl.DataFrame, int],
) -> None:
    frame, cut = case
    head, tail = frame.slice(0, cut), frame.slice(cut)
    shared = profile(frame)  # any profile works as the source of shared bins
    merged = merge(profile(head, reference=shared), profile(tail, reference=shared))
    _assert_same(merged, profile(frame, reference=shared))


@settings(max_examples=25, deadline=None)
@given(frames())
def test_merge_survives_json(case: tuple[pl.DataFrame, int]) -> None:
    frame, cut = case
    parts = [profile(frame.slice(0, cut)), profile(frame.slice(cut))]
    restored = [DatasetProfile.from_json(p.to_json()) for p in parts]
    assert merge(*restored) == merge(*parts)
