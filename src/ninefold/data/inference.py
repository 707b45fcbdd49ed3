"""Infer a :class:`~ninefold.data.schema.Schema` from a profile (or from data).

Every rule is filled in where the reference supports it, with a tolerance so
that a fresh sample of the same distribution passes:

* ``max_null_fraction``: 0 if the reference had no nulls, else
  ``max(1.5 x observed, observed + 0.02)``.
* ``range``: the observed min/max widened on each side by half the 1 %-99 %
  quantile spread (whole numbers for integers); a side that never went below
  0 (or above 1 for values in [0, 1]) keeps that natural bound. Datetime and
  date columns get no range: time moves on. ``max_out_of_range_fraction`` is
  0.001, so a rare value beyond the envelope is a warning, not an error.
* ``categories``: string and categorical columns whose levels are all known,
  at most :data:`MAX_DOMAIN`, and repeat (at most one level per
  :data:`ROWS_PER_LEVEL` values, or at most 20 levels). ``max_unseen_fraction``
  is three times the Good-Turing estimate of the unseen mass (levels seen
  once / values). ``min_domain_coverage`` is 1.0 when every level had at
  least 1 % of the values.
* ``unique``: integer and string columns with at least 20 values, all
  different (and then no range or outlier rule: new ids are expected); an
  id-like one of them becomes the dataset key instead.
* ``distinct.min: 2`` for columns that were not constant.
* ``outliers``: centre = median, scale = IQR / 1.349, ``z`` = at least 6,
  three times the reference's own 1 %/99 % reach and the reference's farthest
  value, so heavy tails do not alarm and the reference itself has none: an
  outlier is a value more extreme than anything seen (a warning), an
  out-of-range value is far beyond that.
* dataset: ``min_rows: 1``; ``max_duplicate_fraction`` = ``max(0.01, 2 x
  observed)``.

Drift and skew thresholds are left to the drift module's defaults; set them
per column in the YAML.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ninefold.data.profile import ColumnProfile, DatasetProfile
from ninefold.data.schema import (
    ColumnSchema,
    CountRange,
    DatasetRules,
    Outliers,
    Range,
    Schema,
)

MAX_DOMAIN = 1000
"""Most categories an inferred domain lists."""

ROWS_PER_LEVEL = 5
"""A string column is a category domain when it has at most one level per this many values."""

RANGE_WIDEN = 0.5
"""Share of the 1 %-99 % quantile spread added beyond the observed min and max."""

OUT_OF_RANGE_TOLERANCE = 0.001
"""Inferred share of out-of-range values reported as a warning rather than an error."""

MIN_UNIQUE_VALUES = 20
"""Fewest values before all-different values are taken as a uniqueness rule."""

_ID_NAME = re.compile(r"(^|[_\-. ])(id|key|uuid|guid)$|^(id|key|uuid|guid)([_\-. ]|$)|[a-z]Id$")


def infer_schema(data_or_profile: Any, **profile_options: Any) -> Schema:
    """A schema that the given data (or the data behind a profile) satisfies.

    Args:
        data_or_profile: a :class:`DatasetProfile`, or data that
            :func:`~ninefold.data.profile` accepts (profiled with duplicates counted).
        **profile_options: passed to :func:`~ninefold.data.profile` for data.

    Returns:
        The :class:`Schema`; save it with ``schema.save("schema.yaml")``.

    Example:
        >>> import polars as pl
        >>> s = infer_schema(pl.DataFrame({"plan": ["a", "b"] * 20, "n": range(40)}))
        >>> s["plan"].categories, s["n"].unique
        (['a', 'b'], True)
    """
    if isinstance(data_or_profile, DatasetProfile):
        prof = data_or_profile
    else:
        from ninefold.data.profiling import profile

        profile_options.setdefault("duplicates", True)
        prof = profile(data_or_profile, **profile_options)
    columns = {name: _column(col) for name, col in prof.columns.items()}
    keys = _keys(prof, columns)
    for key in keys:
        columns[key].unique = False  # the dataset key check covers it
    dup = prof.duplicate_rows
    observed = dup / prof.num_rows if dup is not None and prof.num_rows else 0.0
    dataset = DatasetRules(
        min_rows=1,
        keys=keys,
        max_duplicate_fraction=_round_up(max(0.01, 2 * observed)),
    )
    return Schema(columns, dataset)


def _round_up(value: float, digits: int = 4) -> float:
    scale = 10.0**digits
    return min(1.0, float(math.ceil(value * scale - 1e-9)) / scale)


def _column(col: ColumnProfile) -> ColumnSchema:
    out = ColumnSchema(type=col.kind)
    nf = col.null_fraction
    out.max_null_fraction = 0.0 if nf == 0 else _round_up(max(1.5 * nf, nf + 0.02))
    if col.non_null == 0:
        return out
    num = col.numeric
    if num is not None:
        out.allow_nan = num.nan > 0
        out.allow_inf = (num.pos_inf + num.neg_inf) > 0
    if num is not None and num.count and col.kind in ("integer", "float", "duration"):
        out.range = _range(col)
        out.max_out_of_range_fraction = OUT_OF_RANGE_TOLERANCE
        out.outliers = _outliers(col)
    cats = col.categories
    if cats is not None and col.kind in ("string", "categorical") and _is_domain(col):
        out.categories = sorted(cats.values)  # sorted: re-inferring gives small diffs
        singletons = sum(1 for c in cats.counts if c == 1)
        out.max_unseen_fraction = _round_up(3 * singletons / col.non_null) if singletons else 0.0
        if min(cats.counts) >= 0.01 * col.non_null:
            out.min_domain_coverage = 1.0
    if col.distinct >= 2:
        out.distinct = CountRange(min=2)
    if (
        col.kind in ("integer", "string", "categorical")
        and col.distinct_exact
        and col.non_null >= MIN_UNIQUE_VALUES
        and col.distinct == col.non_null
    ):
        # An identifier: new batches bring new values, so no range, outliers or count rule.
        out.unique = True
        out.range, out.outliers, out.distinct = None, None, None
        out.max_out_of_range_fraction = 0.0
    return out


def _is_domain(col: ColumnProfile) -> bool:
    cats = col.categories
    if cats is None or not cats.exact or not cats.values or len(cats.values) > MAX_DOMAIN:
        return False
    return len(cats.values) <= max(20, col.non_null // ROWS_PER_LEVEL) and (
        len(cats.values) < col.non_null
    )


def _range(col: ColumnProfile) -> Range:
    num = col.numeric
    assert num is not None
    assert num.min is not None
    assert num.max is not None
    lo, hi = float(num.min), float(num.max)
    q01 = num.quantile(0.01)
    q99 = num.quantile(0.99)
    spread = (q99 - q01) if q01 is not None and q99 is not None else 0.0
    spread = spread or (hi - lo) or abs(hi) or 1.0
    low, high = lo - RANGE_WIDEN * spread, hi + RANGE_WIDEN * spread
    if lo >= 0 and low < 0:
        low = 0.0
    if lo >= 0 and hi <= 1 and high > 1 and col.kind == "float":
        high = 1.0
    if col.kind == "integer":
        return Range(math.floor(low), math.ceil(high))
    return Range(_tidy(low, "down"), _tidy(high, "up"))


def _tidy(value: float, direction: str) -> float:
    """Round to 6 significant digits, away from the data, so YAML stays readable."""
    if value == 0 or not math.isfinite(value):
        return value
    short = float(f"{value:.6g}")
    if (direction == "down" and short > value) or (direction == "up" and short < value):
        step = abs(short) * 1e-5
        nudged = float(f"{short - step if direction == 'down' else short + step:.6g}")
        ok = nudged <= value if direction == "down" else nudged >= value
        return nudged if ok and math.isfinite(nudged) else value
    return short


def _outliers(col: ColumnProfile) -> Outliers | None:
    num = col.numeric
    assert num is not None
    q = {p: num.quantile(p) for p in (0.01, 0.25, 0.5, 0.75, 0.99)}
    if any(v is None for v in q.values()):
        return None
    q01, q25, q50, q75, q99 = (float(q[p]) for p in (0.01, 0.25, 0.5, 0.75, 0.99))  # type: ignore[arg-type]
    scale = (q75 - q25) / 1.349
    if scale <= 0 or not math.isfinite(scale):
        return None
    reach = max(q99 - q50, q50 - q01) / scale
    farthest = max(abs(float(num.max or 0) - q50), abs(float(num.min or 0) - q50)) / scale
    if not (math.isfinite(3 * reach) and math.isfinite(farthest)):
        return None  # a spread too small for floats to express: no outlier rule
    z = float(max(6.0, math.ceil(3 * reach), math.ceil(farthest)))
    return Outliers(z=z, center=_tidy(q50, "down"), scale=_tidy(scale, "up"))


def _keys(prof: DatasetProfile, columns: dict[str, ColumnSchema]) -> list[str]:
    unique = [name for name, col in columns.items() if col.unique]
    for name in unique:
        if _ID_NAME.search(name.lower()) or _ID_NAME.search(name):
            return [name]
    return []
