"""Compute a :class:`~ninefold.data.profile.DatasetProfile` with a few column-parallel queries.

Each pass is one polars ``select`` over every column that needs it; no Python
loop touches rows:

1. moments: counts, nulls, NaN/inf, zeros, negatives, min, max, mean,
   variance, string lengths, distinct counts (exact up to
   :data:`EXACT_DISTINCT_ROWS` rows, HyperLogLog above);
2. shape: a sorted even sample of each numeric column (quantiles and
   histogram breaks; the whole column up to :data:`QUANTILE_SAMPLE` values)
   and the top categories of each string column;
3. histograms: for every break, the number of values below it;
4. only where needed: exact distinct counts of id-like columns and the counts
   of a reference's categories that fell out of a long tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ninefold.data._frames import Frame, load
from ninefold.data.profile import (
    DEFAULT_BINS,
    MAX_CATEGORIES,
    QUANTILES,
    CategoryCounts,
    ColumnProfile,
    DatasetProfile,
    DatetimeRange,
    Histogram,
    LengthStats,
    NumericStats,
)
from ninefold.errors import InvalidArgument

if TYPE_CHECKING:
    import polars as pl

EXACT_DISTINCT_ROWS = 200_000
"""Up to this many rows distinct counts are exact; above, HyperLogLog estimates (±2 %)."""

QUANTILE_SAMPLE = 100_000
"""Numeric columns with more finite values are sampled evenly for quantiles and bin breaks."""

NUMERIC = ("integer", "float", "datetime", "date", "duration")

ID_LIKE_FRACTION = 0.9
"""Columns whose estimated distinct count reaches this share of values get an exact count."""


def profile(
    data: Any,
    *,
    reference: DatasetProfile | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = MAX_CATEGORIES,
    duplicates: bool = False,
    encoding: str | None = None,
) -> DatasetProfile:
    """Profile a data set: per-column types, counts, moments, quantiles, histograms, categories.

    Args:
        data: a pandas or polars DataFrame, a pyarrow Table, or the path of a CSV,
            Parquet, Arrow, JSON or NDJSON file.
        reference: a profile of earlier data; its histogram breaks are reused so the
            two profiles can be compared bin by bin (drift), and its categories are
            always counted.
        bins: histogram bins per numeric column when there is no reference.
        max_categories: categories listed exactly before the rest is folded into ``other``.
        duplicates: also count exact duplicate rows (one more hash pass over all columns).
        encoding: text encoding of a CSV file that is not UTF-8.

    Returns:
        The :class:`DatasetProfile`; it holds no raw rows.

    Example:
        >>> import polars as pl
        >>> p = profile(pl.DataFrame({"x": [1.0, 2.0, None], "c": ["a", "b", "a"]}))
        >>> p["x"].nulls, p["x"].numeric.mean, p["c"].categories.as_dict()
        (1, 1.5, {'a': 2, 'b': 1})
    """
    if bins < 1:
        raise InvalidArgument(f"bins must be at least 1, got {bins}.")
    if max_categories < 1:
        raise InvalidArgument(f"max_categories must be at least 1, got {max_categories}.")
    frame = load(data, encoding=encoding)
    return _Profiler(frame, reference, bins, max_categories).run(duplicates)


def column_kind(dtype: pl.DataType) -> str:
    """The :data:`~ninefold.data.profile.ColumnKind` of a polars data type."""
    import polars as pl

    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "float"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.String:
        return "string"
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return "categorical"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Duration):
        return "duration"
    return "other"


def decimals_as_floats(df: pl.DataFrame) -> pl.DataFrame:
    """Decimal columns cast to Float64, which every statistic and check supports."""
    import polars as pl

    decimals = [n for n, t in df.schema.items() if isinstance(t, pl.Decimal)]
    return df.with_columns(pl.col(decimals).cast(pl.Float64)) if decimals else df


def numeric_expr(name: str, kind: str) -> pl.Expr:
    """The column as float-comparable numbers (datetimes and dates in epoch seconds)."""
    import polars as pl

    col = pl.col(name)
    if kind == "datetime":
        return col.dt.epoch("us").cast(pl.Float64) / 1e6
    if kind == "date":
        return col.dt.epoch("s").cast(pl.Float64)
    if kind == "duration":
        return col.dt.total_microseconds().cast(pl.Float64) / 1e6
    return col


def text_expr(name: str, kind: str) -> pl.Expr:
    """The column as strings (categoricals cast, booleans as ``true``/``false``)."""
    import polars as pl

    col = pl.col(name)
    if kind == "boolean":
        return pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
    if kind == "categorical":
        return col.cast(pl.String)
    return col


@dataclass
class _Col:
    index: int
    name: str
    dtype: Any
    kind: str

    def key(self, stat: str) -> str:
        return f"{self.index}\x1f{stat}"


class _Profiler:
    def __init__(
        self,
        frame: Frame,
        reference: DatasetProfile | None,
        bins: int,
        max_categories: int,
    ) -> None:

        df = frame.df
        df = decimals_as_floats(df)
        self.df = df
        self.frame = frame
        self.reference = reference
        self.bins = bins
        self.max_categories = max_categories
        self.rows = df.height
        self.cols = [
            _Col(i, name, dtype, column_kind(dtype))
            for i, (name, dtype) in enumerate(frame.df.schema.items())
        ]

    # -- passes ----------------------------------------------------------------

    def run(self, duplicates: bool) -> DatasetProfile:
        first = self._collect(self._moment_exprs())
        self.dirty = {
            c.index
            for c in self.cols
            if c.kind == "float"
            and (first[c.key("nan")] or first[c.key("pos_inf")] or first[c.key("neg_inf")])
        }
        samples, tops = self._shape(first)
        breaks = self._breaks(samples)
        below = self._collect(self._histogram_exprs(first, breaks))
        extra = self._collect(self._followup_exprs(first, tops))
        columns = {
            c.name: self._column(c, first, samples, tops, breaks, below, extra) for c in self.cols
        }
        dup = None
        if duplicates:
            dup = self.rows - self.df.n_unique() if self.rows and self.df.width else 0
        return DatasetProfile(
            num_rows=self.rows, columns=columns, duplicate_rows=dup, source=self.frame.source
        )

    def _collect(self, exprs: list[pl.Expr]) -> dict[str, Any]:
        if not exprs:
            return {}
        row = self.df.lazy().select(exprs).collect()
        return {name: row[name][0] for name in row.columns}

    def _finite(self, c: _Col) -> pl.Expr:
        """The column's finite values; the filter is paid only where NaN or inf were seen."""
        v = numeric_expr(c.name, c.kind)
        return v.filter(v.is_finite()) if c.index in self.dirty else v.drop_nulls()

    def _stat_exprs(self, c: _Col, v: pl.Expr) -> list[pl.Expr]:
        return [
            v.count().alias(c.key("count")),
            v.mean().alias(c.key("mean")),
            v.var().alias(c.key("var")),
            v.min().alias(c.key("min")),
            v.max().alias(c.key("max")),
        ]

    def _moment_exprs(self) -> list[pl.Expr]:
        import polars as pl

        exact = self.rows <= EXACT_DISTINCT_ROWS
        exprs: list[pl.Expr] = []
        for c in self.cols:
            col = pl.col(c.name)
            exprs.append(col.null_count().alias(c.key("nulls")))
            if c.kind == "other":
                continue
            if c.kind != "boolean":
                present = col.drop_nulls()
                distinct = present.n_unique() if exact else present.approx_n_unique()
                exprs.append(distinct.cast(pl.Int64).alias(c.key("distinct")))
            if c.kind in NUMERIC:
                v = numeric_expr(c.name, c.kind)
                # Plain aggregates here; columns with NaN or inf are redone on finite values.
                exprs += self._stat_exprs(c, v)
                exprs += [
                    (v == 0).sum().alias(c.key("zeros")),
                    (v < 0).sum().alias(c.key("negatives")),
                ]
                if c.kind == "float":
                    exprs += [
                        v.is_nan().sum().alias(c.key("nan")),
                        (v == math.inf).sum().alias(c.key("pos_inf")),
                        (v == -math.inf).sum().alias(c.key("neg_inf")),
                    ]
                if c.kind in ("datetime", "date"):
                    exprs += [col.min().alias(c.key("tmin")), col.max().alias(c.key("tmax"))]
            elif c.kind == "boolean":
                exprs += [col.sum().alias(c.key("true")), col.count().alias(c.key("count"))]
            elif c.kind in ("string", "categorical"):
                length = text_expr(c.name, c.kind).str.len_chars()
                exprs += [
                    length.min().alias(c.key("len_min")),
                    length.max().alias(c.key("len_max")),
                    length.mean().alias(c.key("len_mean")),
                ]
        return exprs

    def _shape(self, first: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sorted samples of numeric columns, top categories; fixes moments of NaN/inf columns."""
        import polars as pl

        exprs: list[pl.Expr] = []
        for c in self.cols:
            if c.kind in NUMERIC:
                count = int(first[c.key("count")] or 0)
                if c.index in self.dirty:
                    count -= sum(int(first[c.key(k)]) for k in ("nan", "pos_inf", "neg_inf"))
                    exprs += self._stat_exprs(c, self._finite(c))
                step = max(1, math.ceil(count / QUANTILE_SAMPLE))
                fin = self._finite(c)
                sample = fin.gather_every(step) if step > 1 else fin
                exprs.append(sample.cast(pl.Float64).sort().implode().alias(c.key("sample")))
        frames = [self.df.lazy().select(exprs)] if exprs else []
        named = [c for c in self.cols if c.kind in ("string", "categorical")]
        for c in named:
            # group_by per column runs in parallel and beats value_counts inside a select.
            frames.append(
                self.df.lazy()
                .select(text_expr(c.name, c.kind).alias("value"))
                .drop_nulls()
                .group_by("value")
                .len(name="n")
                .top_k(self.max_categories + 1, by=["n", "value"], reverse=[False, True])
            )
        results = pl.collect_all(frames) if frames else []
        samples: dict[str, Any] = {}
        if exprs:
            row = results[0]
            for name in row.columns:
                value = row[name][0]
                if name.endswith("\x1fsample"):
                    samples[name] = value.to_numpy()  # sorted float64, no Python objects
                else:
                    first[name] = value
        tops = {
            c.key("top"): dict(zip(r["value"].to_list(), r["n"].to_list(), strict=True))
            for c, r in zip(named, results[1 if exprs else 0 :], strict=True)
        }
        return samples, tops

    def _reference_column(self, c: _Col) -> ColumnProfile | None:
        if self.reference is None:
            return None
        return self.reference.columns.get(c.name)

    def _breaks(self, samples: dict[str, Any]) -> dict[str, list[float]]:
        import numpy as np

        result: dict[str, list[float]] = {}
        for c in self.cols:
            key = c.key("sample")
            if key not in samples:
                continue
            ref = self._reference_column(c)
            if ref is not None and ref.numeric is not None:
                result[key] = list(ref.numeric.histogram.breaks)
                continue
            sample = samples[key]
            if not len(sample):
                result[key] = []
                continue
            probs = np.linspace(0.0, 1.0, self.bins + 1)[1:-1]
            cuts = np.quantile(sample, probs) if len(probs) else []
            if c.kind == "integer":
                # Whole-number breaks: each bin then starts at a value the column can hold.
                cuts = np.ceil(cuts)
            unique = sorted({float(x) for x in cuts})
            if not unique:
                unique = [float(np.median(sample))]
            result[key] = unique
        return result

    def _histogram_exprs(
        self, first: dict[str, Any], breaks: dict[str, list[float]]
    ) -> list[pl.Expr]:
        exprs = []
        for c in self.cols:
            cuts = breaks.get(c.key("sample"))
            if not cuts or not first.get(c.key("count")):
                continue
            v = self._finite(c) if c.index in self.dirty else numeric_expr(c.name, c.kind)
            exprs += [(v < b).sum().alias(c.key(f"below{i}")) for i, b in enumerate(cuts)]
        return exprs

    def _followup_exprs(self, first: dict[str, Any], tops: dict[str, Any]) -> list[pl.Expr]:
        import polars as pl

        exprs: list[pl.Expr] = []
        for c in self.cols:
            if c.kind == "integer" and self.rows > EXACT_DISTINCT_ROWS:
                count = int(first[c.key("count")] or 0)
                if count and first[c.key("distinct")] >= ID_LIKE_FRACTION * count:
                    exprs.append(
                        pl.col(c.name).drop_nulls().n_unique().alias(c.key("exact_distinct"))
                    )
            top = tops.get(c.key("top"))
            if top is None or len(top) <= self.max_categories:
                continue
            non_null = self.rows - int(first[c.key("nulls")])
            if self.rows > EXACT_DISTINCT_ROWS and first[c.key("distinct")] >= (
                ID_LIKE_FRACTION * non_null
            ):
                exprs.append(
                    text_expr(c.name, c.kind).drop_nulls().n_unique().alias(c.key("exact_distinct"))
                )
            ref = self._reference_column(c)
            if ref is not None and ref.categories is not None and ref.categories.values:
                s = text_expr(c.name, c.kind)
                wanted = pl.Series(ref.categories.values, dtype=pl.String)
                hits = s.filter(s.is_in(wanted.implode())).value_counts(sort=False, name="n")
                exprs.append(hits.implode().alias(c.key("ref_counts")))
        return exprs

    # -- assembly ----------------------------------------------------------------

    def _column(
        self,
        c: _Col,
        first: dict[str, Any],
        samples: dict[str, Any],
        tops: dict[str, Any],
        breaks: dict[str, list[float]],
        below: dict[str, Any],
        extra: dict[str, Any],
    ) -> ColumnProfile:
        nulls = int(first[c.key("nulls")])
        distinct = first.get(c.key("distinct"))
        exact_distinct = extra.get(c.key("exact_distinct"))
        out = ColumnProfile(
            name=c.name,
            dtype=str(c.dtype),
            kind=c.kind,
            count=self.rows,
            nulls=nulls,
            distinct=int(exact_distinct if exact_distinct is not None else distinct or 0),
            distinct_exact=exact_distinct is not None
            or self.rows <= EXACT_DISTINCT_ROWS
            or c.kind == "boolean",
            mixed_types=self.frame.mixed_types.get(c.name),
        )
        if c.kind in NUMERIC:
            out.numeric = self._numeric(c, first, samples, breaks, below)
            if c.kind in ("datetime", "date"):
                tz = getattr(c.dtype, "time_zone", None)
                out.datetime = DatetimeRange(
                    _iso(first[c.key("tmin")]), _iso(first[c.key("tmax")]), tz
                )
        elif c.kind == "boolean":
            true = int(first[c.key("true")] or 0)
            false = int(first[c.key("count")]) - true
            counts = {k: v for k, v in (("true", true), ("false", false)) if v}
            out.categories = CategoryCounts.from_mapping(counts)
            out.distinct = len(counts)
        elif c.kind in ("string", "categorical"):
            out.lengths = LengthStats(
                count=self.rows - nulls,
                min=_int(first[c.key("len_min")]),
                max=_int(first[c.key("len_max")]),
                mean=float(first[c.key("len_mean")] or 0.0),
            )
            out.categories = self._categories(c, tops, extra)
            if out.categories.exact:
                out.distinct, out.distinct_exact = len(out.categories.values), True
        elif c.kind == "other":
            out.distinct, out.distinct_exact = 0, self.rows == nulls
        return out

    def _numeric(
        self,
        c: _Col,
        first: dict[str, Any],
        samples: dict[str, Any],
        breaks: dict[str, list[float]],
        below: dict[str, Any],
    ) -> NumericStats:
        import numpy as np

        count = int(first[c.key("count")] or 0)
        cuts = breaks.get(c.key("sample"), [])
        cum = [int(below.get(c.key(f"below{i}")) or 0) for i in range(len(cuts))]
        counts = [b - a for a, b in zip([0, *cum], [*cum, count], strict=True)]
        sample = samples.get(c.key("sample"), np.empty(0))
        quantiles: dict[str, float] = {}
        if len(sample):
            values = np.quantile(sample, QUANTILES)
            quantiles = {f"{q:g}": float(v) for q, v in zip(QUANTILES, values, strict=True)}
        var = first[c.key("var")]
        mean = first[c.key("mean")]
        lo, hi = first[c.key("min")], first[c.key("max")]
        if c.kind == "integer":
            lo, hi = _int(lo), _int(hi)
        else:
            lo = None if lo is None else float(lo)
            hi = None if hi is None else float(hi)
        return NumericStats(
            count=count,
            mean=float(mean) if count and mean is not None else 0.0,
            m2=float(var) * (count - 1) if count > 1 and var is not None else 0.0,
            min=lo,
            max=hi,
            zeros=int(first[c.key("zeros")] or 0),
            negatives=int(first[c.key("negatives")] or 0),
            nan=int(first.get(c.key("nan")) or 0),
            pos_inf=int(first.get(c.key("pos_inf")) or 0),
            neg_inf=int(first.get(c.key("neg_inf")) or 0),
            quantiles=quantiles,
            quantiles_exact=len(sample) == count,
            histogram=Histogram(list(cuts), counts),
        )

    def _categories(self, c: _Col, tops: dict[str, Any], extra: dict[str, Any]) -> CategoryCounts:
        counts: dict[str, int] = {str(k): int(v) for k, v in tops.get(c.key("top"), {}).items()}
        other = 0
        if len(counts) > self.max_categories:
            # Only the top categories are known; the rest of the non-null values is 'other'.
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            counts = dict(ordered[: self.max_categories])
            hits = extra.get(c.key("ref_counts"))
            for item in hits.to_list() if hits is not None else []:
                value = next(v for k, v in item.items() if k != "n")
                counts[str(value)] = int(item["n"])
            non_null = self.rows - int(self.df[c.name].null_count())
            other = non_null - sum(counts.values())
        return CategoryCounts.from_mapping(counts, other, limit=len(counts))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.isoformat())
