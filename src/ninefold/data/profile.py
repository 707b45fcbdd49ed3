"""Dataset profiles: small, JSON-serialisable, mergeable statistics of a data set.

A :class:`DatasetProfile` holds one :class:`ColumnProfile` per column and no raw
rows. Numeric columns (integers, floats, and datetimes/dates/durations as
seconds) carry :class:`NumericStats` with a :class:`Histogram`; string,
categorical and boolean columns carry :class:`CategoryCounts`. Drift
(:mod:`ninefold.data.drift`) compares two profiles through exactly these
histograms and category counts, so a stored reference profile replaces the
reference rows.

Structures, stable by contract:

* ``Histogram.breaks`` are the interior cut points ``b_1 < ... < b_{k-1}``;
  ``Histogram.counts`` has ``k = len(breaks) + 1`` entries: bin 0 is
  ``(-inf, b_1)``, bin ``i`` is ``[b_i, b_{i+1})`` and the last bin is
  ``[b_{k-1}, +inf)``. Only finite values are counted (NaN and ±inf are
  counted in :class:`NumericStats`). Profiling with ``reference=`` reuses the
  reference's breaks, so two histograms of the same column line up bin by bin.
* ``CategoryCounts.values``/``counts`` list categories by decreasing count
  (then value); ``other`` counts the non-null values not listed. Up to
  :data:`MAX_CATEGORIES` levels are listed exactly; beyond that the top levels
  are kept (plus every level of the reference, when profiling with one).

Merging (:func:`merge`) is exact for counts, nulls, NaN/inf, zeros, negatives,
min, max, mean and variance (Chan's parallel update of count/mean/M2),
category counts and histograms on shared breaks. When the breaks differ, the
right-hand histogram is re-binned onto the left's assuming values spread
evenly inside a bin; merged quantiles are read from the merged histogram
(approximate, ``quantiles_exact`` is False); merged distinct counts are exact
only when both sides list every category, otherwise an estimate.

Import names with ``from ninefold.data.profile import ...``: the package
attribute ``ninefold.data.profile`` is the :func:`~ninefold.data.profile`
function.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ninefold._ids import now_ms
from ninefold.errors import DataError

PROFILE_FORMAT = 1
"""Version of the JSON layout written by :meth:`DatasetProfile.to_dict`."""

DEFAULT_BINS = 20
"""Histogram bins per numeric column (cut at quantiles of the first profile)."""

MAX_CATEGORIES = 1000
"""Categories listed with exact counts; above this, the top ones plus ``other``."""

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Quantiles every numeric column records."""

ColumnKind = Literal[
    "integer",
    "float",
    "boolean",
    "string",
    "categorical",
    "datetime",
    "date",
    "duration",
    "other",
]
"""What a column holds, independent of its exact storage type."""

NUMERIC_KINDS: frozenset[str] = frozenset({"integer", "float", "datetime", "date", "duration"})
"""Kinds profiled with :class:`NumericStats` (datetimes as epoch seconds)."""

CATEGORY_KINDS: frozenset[str] = frozenset({"string", "categorical", "boolean"})
"""Kinds profiled with :class:`CategoryCounts`."""


def _qkey(q: float) -> str:
    return f"{q:g}"


# -- histograms ---------------------------------------------------------------


@dataclass
class Histogram:
    """Counts of finite values between cut points (see the module docstring).

    Attributes:
        breaks: strictly increasing interior cut points.
        counts: one count per bin, ``len(breaks) + 1`` of them.
    """

    breaks: list[float]
    counts: list[int]

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.breaks) + 1:
            raise DataError(
                f"A histogram with {len(self.breaks)} breaks needs {len(self.breaks) + 1} "
                f"counts, got {len(self.counts)}."
            )

    @property
    def total(self) -> int:
        """Number of values counted."""
        return sum(self.counts)

    def edges(self, lo: float | None, hi: float | None) -> list[float]:
        """Finite bin edges for plotting: the open ends closed at ``lo`` and ``hi``.

        Args:
            lo: the smallest value (e.g. the column minimum), None if unknown.
            hi: the largest value, None if unknown.
        """
        if not self.breaks:
            low = 0.0 if lo is None else float(lo)
            high = low if hi is None else float(hi)
            return [low, high if high > low else low + 1.0]
        first, last = self.breaks[0], self.breaks[-1]
        width = (last - first) / max(1, len(self.breaks) - 1) or 1.0
        low = float(lo) if lo is not None and float(lo) < first else first - width
        if hi is not None and float(hi) > last:
            high = float(hi)
        elif hi is not None and float(hi) == last:
            high = last + width * 1e-6  # the last bin holds only the maximum itself
        else:
            high = last + width
        return [low, *self.breaks, high]

    def cumulative(self, x: float, lo: float | None, hi: float | None) -> float:
        """Estimated number of counted values below ``x`` (uniform spread inside a bin)."""
        edges = self.edges(lo, hi)
        below = 0.0
        for i, count in enumerate(self.counts):
            left, right = edges[i], edges[i + 1]
            if x >= right:
                below += count
            elif x > left:
                below += count * (x - left) / (right - left)
                break
            else:
                break
        return below

    def quantile(self, q: float, lo: float | None, hi: float | None) -> float | None:
        """Estimated ``q``-quantile, interpolating inside the bin that holds it."""
        total = self.total
        if total == 0:
            return None
        edges = self.edges(lo, hi)
        target = q * total
        seen = 0.0
        for i, count in enumerate(self.counts):
            if count and seen + count >= target:
                left, right = edges[i], edges[i + 1]
                value = left + (right - left) * (target - seen) / count
                if lo is not None:
                    value = max(value, float(lo))
                if hi is not None:
                    value = min(value, float(hi))
                return value
            seen += count
        return float(hi) if hi is not None else edges[-1]

    def rebin(self, breaks: list[float], lo: float | None, hi: float | None) -> Histogram:
        """These counts redistributed onto other ``breaks`` (approximate unless equal)."""
        if list(breaks) == list(self.breaks):
            return Histogram(list(breaks), list(self.counts))
        cum = [self.cumulative(b, lo, hi) for b in breaks]
        total = float(self.total)
        bounds = [0.0, *cum, total]
        raw = [max(0.0, bounds[i + 1] - bounds[i]) for i in range(len(breaks) + 1)]
        counts = _round_preserving(raw, self.total)
        return Histogram(list(breaks), counts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {"breaks": list(self.breaks), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        """Inverse of :meth:`to_dict`."""
        return cls([float(b) for b in data["breaks"]], [int(c) for c in data["counts"]])


def _round_preserving(values: list[float], total: int) -> list[int]:
    """Round to integers that still add up to ``total`` (largest remainders first)."""
    floors = [math.floor(v) for v in values]
    missing = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: values[i] - floors[i], reverse=True)
    for i in order[: max(0, missing)]:
        floors[i] += 1
    return floors


# -- per-kind statistics --------------------------------------------------------


@dataclass
class NumericStats:
    """Moments, extremes, quantiles and a histogram of a numeric column's finite values.

    Datetimes, dates and durations are measured in seconds (since the epoch for
    datetimes and dates).

    Attributes:
        count: finite values (not null, not NaN, not ±inf).
        mean: their mean (0.0 when ``count`` is 0).
        m2: sum of squared deviations from the mean (``variance * (count - 1)``).
        min: smallest finite value (an ``int`` for integer columns), None if none.
        max: largest finite value.
        zeros: values equal to 0.
        negatives: values below 0 (including -inf).
        nan: NaN values (floats only).
        pos_inf: +inf values.
        neg_inf: -inf values.
        quantiles: value at each of :data:`QUANTILES`, keyed ``"0.5"`` etc.
        quantiles_exact: whether the quantiles were computed from every value
            (otherwise from an even sample, or a merged histogram).
        histogram: counts of the finite values.
    """

    count: int
    mean: float
    m2: float
    min: float | int | None
    max: float | int | None
    zeros: int
    negatives: int
    nan: int
    pos_inf: int
    neg_inf: int
    quantiles: dict[str, float]
    quantiles_exact: bool
    histogram: Histogram

    @property
    def variance(self) -> float:
        """Sample variance (``ddof=1``); 0.0 with fewer than two values."""
        return self.m2 / (self.count - 1) if self.count > 1 else 0.0

    @property
    def std(self) -> float:
        """Sample standard deviation (``ddof=1``)."""
        return math.sqrt(max(0.0, self.variance))

    def quantile(self, q: float) -> float | None:
        """The stored quantile ``q``, or an estimate from the histogram."""
        key = _qkey(q)
        if key in self.quantiles:
            return self.quantiles[key]
        return self.histogram.quantile(q, _num(self.min), _num(self.max))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["histogram"] = self.histogram.to_dict()
        data["quantiles"] = dict(self.quantiles)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericStats:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["histogram"] = Histogram.from_dict(data["histogram"])
        values["quantiles"] = {str(k): float(v) for k, v in data["quantiles"].items()}
        return cls(**values)


def _num(value: float | int | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class CategoryCounts:
    """Frequencies of the values of a string, categorical or boolean column.

    Attributes:
        values: categories, most frequent first (booleans as ``"true"``/``"false"``).
        counts: the count of each category.
        other: non-null values not listed (0 when every category is listed).
    """

    values: list[str]
    counts: list[int]
    other: int = 0

    def __post_init__(self) -> None:
        if len(self.values) != len(self.counts):
            raise DataError(
                f"Category counts need one count per value: {len(self.values)} values, "
                f"{len(self.counts)} counts."
            )

    @property
    def exact(self) -> bool:
        """Whether every category is listed."""
        return self.other == 0

    @property
    def total(self) -> int:
        """Non-null values counted (listed plus ``other``)."""
        return sum(self.counts) + self.other

    def as_dict(self) -> dict[str, int]:
        """``{category: count}`` of the listed categories."""
        return dict(zip(self.values, self.counts, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {"values": list(self.values), "counts": list(self.counts), "other": self.other}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoryCounts:
        """Inverse of :meth:`to_dict`."""
        return cls(
            [str(v) for v in data["values"]], [int(c) for c in data["counts"]], int(data["other"])
        )

    @classmethod
    def from_mapping(
        cls, counts: dict[str, int], other: int = 0, limit: int = MAX_CATEGORIES
    ) -> CategoryCounts:
        """Sorted by count (then value); beyond ``limit`` the rest is folded into ``other``."""
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept, rest = ordered[:limit], ordered[limit:]
        return cls([k for k, _ in kept], [v for _, v in kept], other + sum(v for _, v in rest))


@dataclass
class LengthStats:
    """Lengths (in characters) of a string column's non-null values."""

    count: int
    min: int | None
    max: int | None
    mean: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {"count": self.count, "min": self.min, "max": self.max, "mean": self.mean}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LengthStats:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass
class DatetimeRange:
    """Earliest and latest value of a datetime or date column, as ISO 8601 text."""

    min: str | None
    max: str | None
    time_zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {"min": self.min, "max": self.max, "time_zone": self.time_zone}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatetimeRange:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


# -- columns and data sets ------------------------------------------------------


@dataclass
class ColumnProfile:
    """Statistics of one column.

    Attributes:
        name: column name.
        dtype: the polars data type, e.g. ``"Int64"`` or ``"Datetime(time_unit='us', ...)"``.
        kind: what the column holds (see :data:`ColumnKind`).
        count: rows, nulls included.
        nulls: null values.
        distinct: distinct non-null values.
        distinct_exact: whether ``distinct`` is exact (else a HyperLogLog estimate).
        numeric: for numeric kinds.
        categories: for string, categorical and boolean kinds.
        lengths: string lengths, for string and categorical kinds.
        datetime: range of datetime and date kinds.
        mixed_types: Python types found when the source column mixed several
            (the values were profiled as strings).
    """

    name: str
    dtype: str
    kind: str
    count: int
    nulls: int
    distinct: int
    distinct_exact: bool
    numeric: NumericStats | None = None
    categories: CategoryCounts | None = None
    lengths: LengthStats | None = None
    datetime: DatetimeRange | None = None
    mixed_types: list[str] | None = None

    @property
    def non_null(self) -> int:
        """Rows with a value."""
        return self.count - self.nulls

    @property
    def null_fraction(self) -> float:
        """Share of null rows (0.0 for an empty column)."""
        return self.nulls / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (absent parts are omitted)."""
        data: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "kind": self.kind,
            "count": self.count,
            "nulls": self.nulls,
            "distinct": self.distinct,
            "distinct_exact": self.distinct_exact,
        }
        for part in ("numeric", "categories", "lengths", "datetime"):
            value = getattr(self, part)
            if value is not None:
                data[part] = value.to_dict()
        if self.mixed_types:
            data["mixed_types"] = list(self.mixed_types)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            dtype=data["dtype"],
            kind=data["kind"],
            count=int(data["count"]),
            nulls=int(data["nulls"]),
            distinct=int(data["distinct"]),
            distinct_exact=bool(data["distinct_exact"]),
            numeric=NumericStats.from_dict(data["numeric"]) if "numeric" in data else None,
            categories=(
                CategoryCounts.from_dict(data["categories"]) if "categories" in data else None
            ),
            lengths=LengthStats.from_dict(data["lengths"]) if "lengths" in data else None,
            datetime=DatetimeRange.from_dict(data["datetime"]) if "datetime" in data else None,
            mixed_types=data.get("mixed_types"),
        )


@dataclass
class DatasetProfile:
    """Statistics of a whole data set: one :class:`ColumnProfile` per column, in order.

    Attributes:
        num_rows: rows in the data set.
        columns: column profiles by name, in the data set's column order.
        duplicate_rows: rows that repeat an earlier row exactly (None when not computed).
        source: the file the data came from, if any.
        created_ms: when the profile was computed (UTC ms); not compared by ``==``.
    """

    num_rows: int
    columns: dict[str, ColumnProfile]
    duplicate_rows: int | None = None
    source: str | None = None
    created_ms: int = field(default_factory=now_ms, compare=False)

    @property
    def num_columns(self) -> int:
        """Number of columns."""
        return len(self.columns)

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise DataError(
                f"The profile has no column {name!r}; its columns: {list(self.columns)[:20]}."
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "format": PROFILE_FORMAT,
            "num_rows": self.num_rows,
            "duplicate_rows": self.duplicate_rows,
            "source": self.source,
            "created_ms": self.created_ms,
            "columns": [c.to_dict() for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        """Inverse of :meth:`to_dict`; raises :class:`DataError` on a newer format."""
        fmt = data.get("format", PROFILE_FORMAT)
        if not isinstance(fmt, int) or fmt > PROFILE_FORMAT:
            raise DataError(
                f"Profile format {fmt!r} is newer than this ninefold reads ({PROFILE_FORMAT}); "
                "upgrade ninefold."
            )
        try:
            columns = [ColumnProfile.from_dict(c) for c in data["columns"]]
            return cls(
                num_rows=int(data["num_rows"]),
                columns={c.name: c for c in columns},
                duplicate_rows=data.get("duplicate_rows"),
                source=data.get("source"),
                created_ms=int(data.get("created_ms") or now_ms()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"Not a ninefold dataset profile: {type(exc).__name__}: {exc}") from exc

    def to_json(self, indent: int | None = None) -> str:
        """The profile as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetProfile:
        """Read a profile from JSON text."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DataError(f"A profile must be JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise DataError("A profile must be a JSON object with 'num_rows' and 'columns'.")
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile as JSON (atomically); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.to_json(indent=1), encoding="utf-8")
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DatasetProfile:
        """Read a profile written by :meth:`save`."""
        p = Path(path)
        if not p.exists():
            raise DataError(f"Profile file {str(p)!r} does not exist.")
        return cls.from_json(p.read_text(encoding="utf-8"))


# -- merging --------------------------------------------------------------------


def merge(*profiles: DatasetProfile) -> DatasetProfile:
    """The profile of the concatenation of the parts the ``profiles`` describe.

    Columns are matched by name; a column missing from one part counts as all
    null there. See the module docstring for what is exact and what is estimated.

    Raises:
        DataError: no profiles, or a column whose kinds cannot be combined.
    """
    if not profiles:
        raise DataError("merge() needs at least one profile.")
    result = profiles[0]
    for other in profiles[1:]:
        result = _merge_two(result, other)
    return result


def _merge_two(a: DatasetProfile, b: DatasetProfile) -> DatasetProfile:
    names = list(a.columns) + [n for n in b.columns if n not in a.columns]
    columns = {}
    for name in names:
        left = a.columns.get(name) or _absent(b.columns[name], a.num_rows)
        right = b.columns.get(name) or _absent(a.columns[name], b.num_rows)
        columns[name] = _merge_columns(left, right)
    dup = None
    if a.duplicate_rows is not None and b.duplicate_rows is not None:
        # Rows duplicated across the two parts are not visible here: a lower bound.
        dup = a.duplicate_rows + b.duplicate_rows
    return DatasetProfile(
        num_rows=a.num_rows + b.num_rows,
        columns=columns,
        duplicate_rows=dup,
        source=None,
    )


def _absent(like: ColumnProfile, rows: int) -> ColumnProfile:
    """An all-null column shaped like ``like``, for a part that lacks the column."""
    empty = ColumnProfile(
        name=like.name,
        dtype=like.dtype,
        kind=like.kind,
        count=rows,
        nulls=rows,
        distinct=0,
        distinct_exact=True,
    )
    if like.numeric is not None:
        empty.numeric = _empty_numeric(like.numeric.histogram.breaks)
    if like.categories is not None:
        empty.categories = CategoryCounts([], [], 0)
    if like.lengths is not None:
        empty.lengths = LengthStats(0, None, None, 0.0)
    if like.datetime is not None:
        empty.datetime = DatetimeRange(None, None, like.datetime.time_zone)
    return empty


def _empty_numeric(breaks: list[float]) -> NumericStats:
    return NumericStats(
        count=0,
        mean=0.0,
        m2=0.0,
        min=None,
        max=None,
        zeros=0,
        negatives=0,
        nan=0,
        pos_inf=0,
        neg_inf=0,
        quantiles={},
        quantiles_exact=True,
        histogram=Histogram(list(breaks), [0] * (len(breaks) + 1)),
    )


def _merged_kind(a: ColumnProfile, b: ColumnProfile) -> tuple[str, str]:
    if a.kind == b.kind:
        return a.kind, a.dtype
    kinds = {a.kind, b.kind}
    if kinds == {"integer", "float"}:
        return "float", a.dtype if a.kind == "float" else b.dtype
    if kinds == {"string", "categorical"}:
        return "string", "String"
    if a.non_null == 0:
        return b.kind, b.dtype
    if b.non_null == 0:
        return a.kind, a.dtype
    raise DataError(
        f"Cannot merge column {a.name!r}: it holds {a.kind} ({a.dtype}) in one profile and "
        f"{b.kind} ({b.dtype}) in the other. Cast it to one type before profiling."
    )


def _merge_columns(a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    kind, dtype = _merged_kind(a, b)
    out = ColumnProfile(
        name=a.name,
        dtype=dtype,
        kind=kind,
        count=a.count + b.count,
        nulls=a.nulls + b.nulls,
        distinct=0,
        distinct_exact=False,
    )
    if a.numeric is not None or b.numeric is not None:
        out.numeric = _merge_numeric(a.numeric, b.numeric)
    if a.categories is not None or b.categories is not None:
        out.categories = _merge_categories(a.categories, b.categories)
    if a.lengths is not None or b.lengths is not None:
        out.lengths = _merge_lengths(a.lengths, b.lengths)
    if a.datetime is not None or b.datetime is not None:
        out.datetime = _merge_datetime(a.datetime, b.datetime)
    mixed = sorted(set(a.mixed_types or []) | set(b.mixed_types or []))
    out.mixed_types = mixed or None
    out.distinct, out.distinct_exact = _merge_distinct(a, b, out)
    return out


def _merge_distinct(a: ColumnProfile, b: ColumnProfile, out: ColumnProfile) -> tuple[int, bool]:
    if a.non_null == 0:
        return b.distinct, b.distinct_exact
    if b.non_null == 0:
        return a.distinct, a.distinct_exact
    cats = out.categories
    if (
        cats is not None
        and cats.exact
        and a.categories is not None
        and b.categories is not None
        and a.categories.exact
        and b.categories.exact
    ):
        return len(cats.values), True
    # Estimate: near-unique parts (ids) are taken as disjoint, others as overlapping.
    nearly_unique = a.distinct >= 0.5 * a.non_null and b.distinct >= 0.5 * b.non_null
    estimate = a.distinct + b.distinct if nearly_unique else max(a.distinct, b.distinct)
    return min(estimate, out.non_null), False


def _merge_numeric(a: NumericStats | None, b: NumericStats | None) -> NumericStats:
    if a is None:
        assert b is not None
        return NumericStats.from_dict(b.to_dict())
    if b is None:
        return NumericStats.from_dict(a.to_dict())
    n = a.count + b.count
    if n == 0:
        mean, m2 = 0.0, 0.0
    elif a.count == 0:
        mean, m2 = b.mean, b.m2
    elif b.count == 0:
        mean, m2 = a.mean, a.m2
    else:
        # Chan et al.'s parallel update of mean and the sum of squared deviations.
        delta = b.mean - a.mean
        mean = a.mean + delta * b.count / n
        m2 = a.m2 + b.m2 + delta * delta * a.count * b.count / n
    lo = _pick(min, a.min, b.min)
    hi = _pick(max, a.max, b.max)
    histogram = _merge_histograms(a, b)
    quantiles: dict[str, float] = {}
    exact = n == 0
    if a.count == 0 or b.count == 0:
        src = b if a.count == 0 else a
        quantiles, exact = dict(src.quantiles), src.quantiles_exact
    else:
        for q in QUANTILES:
            value = histogram.quantile(q, _num(lo), _num(hi))
            if value is not None:
                quantiles[_qkey(q)] = value
    return NumericStats(
        count=n,
        mean=mean,
        m2=m2,
        min=lo,
        max=hi,
        zeros=a.zeros + b.zeros,
        negatives=a.negatives + b.negatives,
        nan=a.nan + b.nan,
        pos_inf=a.pos_inf + b.pos_inf,
        neg_inf=a.neg_inf + b.neg_inf,
        quantiles=quantiles,
        quantiles_exact=exact,
        histogram=histogram,
    )


def _merge_histograms(a: NumericStats, b: NumericStats) -> Histogram:
    # Keep the bins of the side that has values (the left one when both have).
    base, extra = (b, a) if a.count == 0 and b.count > 0 else (a, b)
    breaks = list(base.histogram.breaks)
    moved = extra.histogram.rebin(breaks, _num(extra.min), _num(extra.max))
    counts = [x + y for x, y in zip(base.histogram.counts, moved.counts, strict=True)]
    return Histogram(breaks, counts)


def _pick(fn: Any, x: Any, y: Any) -> Any:
    if x is None:
        return y
    if y is None:
        return x
    return fn(x, y)


def _merge_categories(a: CategoryCounts | None, b: CategoryCounts | None) -> CategoryCounts:
    counts: dict[str, int] = {}
    other = 0
    for part in (a, b):
        if part is None:
            continue
        for value, count in zip(part.values, part.counts, strict=True):
            counts[value] = counts.get(value, 0) + count
        other += part.other
    return CategoryCounts.from_mapping(counts, other)


def _merge_lengths(a: LengthStats | None, b: LengthStats | None) -> LengthStats:
    parts = [p for p in (a, b) if p is not None and p.count]
    count = sum(p.count for p in parts)
    if not count:
        return LengthStats(0, None, None, 0.0)
    return LengthStats(
        count=count,
        min=min(p.min for p in parts if p.min is not None),
        max=max(p.max for p in parts if p.max is not None),
        mean=sum(p.mean * p.count for p in parts) / count,
    )


def _merge_datetime(a: DatetimeRange | None, b: DatetimeRange | None) -> DatetimeRange:
    parts = [p for p in (a, b) if p is not None]
    lows = [p.min for p in parts if p.min is not None]
    highs = [p.max for p in parts if p.max is not None]
    return DatetimeRange(
        min(lows) if lows else None,
        max(highs) if highs else None,
        parts[0].time_zone if parts else None,
    )
