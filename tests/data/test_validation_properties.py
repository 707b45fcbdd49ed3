"""Property: a schema inferred from data accepts that same data (no error-severity anomaly)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ninefold.data import Schema, infer_schema, validate

floats = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, math.nan, math.inf, -math.inf, 1e-300, -2.5]),
)
ints = st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62))
text = st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["a", "b", "c"]))
moments = st.one_of(
    st.none(), st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1))
)


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    rows = draw(st.integers(min_value=1, max_value=80))

    def column(values: st.SearchStrategy[object]) -> list[object]:
        # Low-cardinality columns too, so domains, keys and constants get inferred.
        pool = draw(st.lists(values, min_size=1, max_size=draw(st.integers(1, rows))))
        return [draw(st.sampled_from(pool)) for _ in range(rows)]

    return pl.DataFrame(
        {
            "f": column(floats),
            "i": column(ints),
            "s": column(text),
            "b": column(st.one_of(st.none(), st.booleans())),
            "t": column(moments),
            "id": list(range(rows)),
        },
        schema={
            "f": pl.Float64,
            "i": pl.Int64,
            "s": pl.String,
            "b": pl.Boolean,
            "t": pl.Datetime("us"),
            "id": pl.Int64,
        },
    )


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames())
def test_inferred_schema_accepts_its_own_data(frame: pl.DataFrame) -> None:
    schema = infer_schema(frame)
    report = validate(frame, schema)
    assert report.ok, [a.message for a in report.errors]
    # The schema survives its YAML form unchanged, and still accepts the data.
    again = Schema.from_yaml(schema.to_yaml())
    assert again == schema
    assert validate(frame, again).ok


def test_spread_too_small_for_floats_gets_no_outlier_rule() -> None:
    # Found by Hypothesis: a robust scale of ~1e-274 next to values of ~1e33
    # overflowed the outlier rule's z to infinity.
    frame = pl.DataFrame({"a": [-1.0599e-274, -4.9041e33, 0.0, 1e-300, 5.0] * 11})
    schema = infer_schema(frame)
    assert schema["a"].outliers is None
    assert validate(frame, schema).ok
