"""Cleaning that records what it did.

Each function returns a :class:`Cleaned`: the cleaned data (the same kind of
frame that came in: pandas stays pandas, anything else becomes polars) and a
:class:`CleaningSummary` to log with the run, e.g.
``nf.log_dict(summary.to_dict(), "cleaning/dedup.json")``. Unpack it as
``df, summary = drop_duplicates(df)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ninefold.data._frames import load
from ninefold.data.profiling import column_kind, numeric_expr, text_expr
from ninefold.data.schema import Schema
from ninefold.errors import DataError, InvalidArgument

if TYPE_CHECKING:
    import polars as pl

POLICIES = ("drop", "median", "mean", "mode", "constant", "keep")
"""Missing-value policies of :func:`handle_missing`."""

REASON_COLUMN = "_ninefold_reasons"
"""Column added to quarantined rows: the rules each row broke."""


@dataclass
class CleaningSummary:
    """What a cleaning step did.

    Attributes:
        action: the function that ran (``drop_duplicates``, ``handle_missing``...).
        rows_before: rows going in.
        rows_after: rows coming out.
        columns_removed: columns dropped.
        details: step-specific facts (fill values per column, rows per reason...).
        path: the file written (quarantine), if any.
    """

    action: str
    rows_before: int
    rows_after: int
    columns_removed: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    path: str | None = None

    @property
    def rows_removed(self) -> int:
        """Rows dropped or moved out."""
        return self.rows_before - self.rows_after

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "action": self.action,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "rows_removed": self.rows_removed,
            "columns_removed": list(self.columns_removed),
            "details": self.details,
            "path": self.path,
        }


@dataclass
class Cleaned:
    """Cleaned data and the summary of what was done; unpacks as ``(data, summary)``."""

    data: Any
    summary: CleaningSummary

    def __iter__(self) -> Iterator[Any]:
        yield self.data
        yield self.summary


def _frame(data: Any) -> pl.DataFrame:
    return load(data).df


def _restore(df: pl.DataFrame, original: Any) -> Any:
    if type(original).__module__.split(".")[0] == "pandas":
        return df.to_pandas()
    return df


def _check_columns(df: pl.DataFrame, names: Sequence[str], what: str) -> list[str]:
    if isinstance(names, str):
        names = [names]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise InvalidArgument(
            f"{what}: no column(s) {missing} in the data; its columns: {df.columns[:20]}."
        )
    return list(names)


def drop_duplicates(
    data: Any, keys: Sequence[str] | None = None, *, keep: str = "first"
) -> Cleaned:
    """Drop exact duplicate rows, or rows repeating a key.

    Args:
        data: a data frame (or anything :func:`~ninefold.data.profile` accepts).
        keys: columns that identify a row; None compares whole rows.
        keep: ``"first"`` or ``"last"`` occurrence to keep.

    Example:
        >>> import polars as pl
        >>> df, s = drop_duplicates(pl.DataFrame({"id": [1, 1, 2], "x": [5, 6, 7]}), keys=["id"])
        >>> df["x"].to_list(), s.rows_removed
        ([5, 7], 1)
    """
    if keep not in ("first", "last"):
        raise InvalidArgument(f"keep must be 'first' or 'last', got {keep!r}.")
    df = _frame(data)
    subset = _check_columns(df, keys, "drop_duplicates") if keys else None
    which: Literal["first", "last"] = "first" if keep == "first" else "last"
    out = df.unique(subset=subset, keep=which, maintain_order=True)
    summary = CleaningSummary(
        "drop_duplicates",
        df.height,
        out.height,
        details={"keys": subset, "keep": keep},
    )
    return Cleaned(_restore(out, data), summary)


def handle_missing(
    data: Any,
    policy: str | Mapping[str, str] = "drop",
    *,
    columns: Sequence[str] | None = None,
    fill_value: Any = None,
) -> Cleaned:
    """Apply a missing-value policy per column; NaN counts as missing in float columns.

    Args:
        data: a data frame.
        policy: one of :data:`POLICIES` for every column, or ``{column: policy}``.
            ``drop`` removes rows with a missing value, ``median``/``mean`` fill
            numeric columns, ``mode`` fills with the most frequent value,
            ``constant`` fills with ``fill_value``, ``keep`` leaves the column.
        columns: the columns a single policy applies to (default: all with nulls).
        fill_value: the value for ``constant``.

    Returns:
        :class:`Cleaned`; ``summary.details["filled"]`` maps each filled column to
        the value used and the count filled, so serving can apply the same values.
    """
    import polars as pl

    df = _frame(data)
    if isinstance(policy, str):
        names = _check_columns(df, columns, "handle_missing") if columns else list(df.columns)
        plan = dict.fromkeys(names, policy)
    else:
        plan = dict(policy)
        _check_columns(df, list(plan), "handle_missing")
    for name, how in plan.items():
        if how not in POLICIES:
            raise InvalidArgument(
                f"Missing-value policy {how!r} for {name!r} is unknown; use one of "
                f"{', '.join(POLICIES)}."
            )
        if how == "constant" and fill_value is None:
            raise InvalidArgument("The 'constant' policy needs fill_value=...")
    floats = [n for n in plan if df.schema[n].is_float()]
    if floats:
        df = df.with_columns(pl.col(floats).fill_nan(None))
    filled: dict[str, dict[str, Any]] = {}
    fills: list[pl.Expr] = []
    for name, how in plan.items():
        nulls = int(df[name].null_count())
        if how in ("keep", "drop") or nulls == 0:
            continue
        value = _fill_value(df, name, how, fill_value)
        if value is None:
            raise DataError(
                f"Cannot fill column {name!r} with its {how}: it has no values to take it from. "
                "Use policy 'constant' or 'drop'."
            )
        fills.append(pl.col(name).fill_null(pl.lit(value, dtype=df.schema[name])))
        filled[name] = {"policy": how, "value": _plain(value), "count": nulls}
    out = df.with_columns(fills) if fills else df
    dropped_by = [n for n, how in plan.items() if how == "drop"]
    if dropped_by:
        out = out.drop_nulls(subset=dropped_by)
    summary = CleaningSummary(
        "handle_missing",
        df.height,
        out.height,
        details={"filled": filled, "dropped_on": dropped_by},
    )
    return Cleaned(_restore(out, data), summary)


def _fill_value(df: pl.DataFrame, name: str, how: str, constant: Any) -> Any:
    col = df[name]
    if how == "constant":
        return constant
    kind = column_kind(col.dtype)
    if how in ("median", "mean"):
        if kind not in ("integer", "float"):
            raise InvalidArgument(
                f"Column {name!r} holds {kind} values; '{how}' needs numbers. Use 'mode' or "
                "'constant'."
            )
        value = col.median() if how == "median" else col.mean()
        if value is None:
            return None
        return round(float(value)) if kind == "integer" else value  # type: ignore[arg-type]
    modes = col.drop_nulls().mode().sort()
    return modes[0] if len(modes) else None


def _plain(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def drop_columns(data: Any, columns: Sequence[str]) -> Cleaned:
    """Drop the named columns."""
    df = _frame(data)
    names = _check_columns(df, columns, "drop_columns")
    out = df.drop(names)
    summary = CleaningSummary("drop_columns", df.height, out.height, columns_removed=names)
    return Cleaned(_restore(out, data), summary)


def drop_unnecessary_columns(
    data: Any,
    *,
    keep: Sequence[str] = (),
    kinds: Sequence[str] = ("all_null_column", "constant_column", "duplicated_column"),
) -> Cleaned:
    """Drop columns that carry no information: all null, constant, or a copy of another.

    Args:
        data: a data frame.
        keep: columns never dropped (e.g. keys, the label).
        kinds: which findings to act on; add ``"id_like_column"`` to drop
            identifier-like columns as well.

    Returns:
        :class:`Cleaned`; ``summary.details["reasons"]`` says why each column went.
    """
    from ninefold.data.validation import validate

    allowed = {"all_null_column", "constant_column", "duplicated_column", "id_like_column"}
    unknown = set(kinds) - allowed
    if unknown:
        raise InvalidArgument(f"Unknown kinds {sorted(unknown)}; use some of {sorted(allowed)}.")
    df = _frame(data)
    report = validate(df, Schema(), unnecessary=True, examples=0)
    reasons = {
        a.column: a.kind
        for a in report.anomalies
        if a.kind in kinds and a.column is not None and a.column not in keep
    }
    out = df.drop(list(reasons))
    summary = CleaningSummary(
        "drop_unnecessary_columns",
        df.height,
        out.height,
        columns_removed=list(reasons),
        details={"reasons": reasons},
    )
    return Cleaned(_restore(out, data), summary)


def quarantine(
    data: Any,
    schema: Schema | str | os.PathLike[str],
    path: str | os.PathLike[str],
) -> Cleaned:
    """Move rows that break the schema's row-level rules into a separate file.

    Row-level rules: a null where the column allows none (``max_null_fraction: 0``),
    NaN or inf where not allowed, a value outside ``range``, a value outside
    ``categories``, a fractional value in an integer column. The quarantined
    rows keep their columns plus :data:`REASON_COLUMN` listing what they broke.

    Args:
        data: a data frame.
        schema: a :class:`Schema` or the path of its YAML.
        path: where to write the rejected rows: ``.parquet`` or ``.csv``.

    Returns:
        :class:`Cleaned` with the rows that passed; ``summary.details["reasons"]``
        counts rows per broken rule and ``summary.path`` is the file (written even
        when empty, so a pipeline always finds it).
    """
    import polars as pl

    if not isinstance(schema, Schema):
        schema = Schema.load(schema)
    target = Path(path)
    if target.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidArgument(f"Quarantine file {str(target)!r} must end in .parquet or .csv.")
    df = _frame(data)
    rules = _row_rules(df, schema)
    if rules:
        reasons = pl.concat_list(
            [
                pl.when(cond.fill_null(False)).then(pl.lit(label)).otherwise(None)
                for label, cond in rules
            ]
        ).list.drop_nulls()
        tagged = df.with_columns(reasons.alias(REASON_COLUMN))
    else:
        tagged = df.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(REASON_COLUMN))
    bad_mask = tagged[REASON_COLUMN].list.len() > 0
    rejected = tagged.filter(bad_mask)
    passed = tagged.filter(~bad_mask).drop(REASON_COLUMN)
    counts = (
        rejected.select(pl.col(REASON_COLUMN).explode().value_counts(sort=True))
        .unnest(REASON_COLUMN)
        .rows()
        if rejected.height
        else []
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".csv":
        rejected.with_columns(pl.col(REASON_COLUMN).list.join("; ")).write_csv(target)
    else:
        rejected.write_parquet(target)
    summary = CleaningSummary(
        "quarantine",
        df.height,
        passed.height,
        details={"reasons": {str(label): int(n) for label, n in counts}},
        path=str(target),
    )
    return Cleaned(_restore(passed, data), summary)


def _row_rules(df: pl.DataFrame, schema: Schema) -> list[tuple[str, pl.Expr]]:
    """(label, condition that marks a bad row) for every row-level rule of the schema."""
    import polars as pl

    from ninefold.data.validation import _to_seconds

    rules: list[tuple[str, pl.Expr]] = []
    for name, rule in schema.columns.items():
        if name not in df.columns:
            continue
        kind = column_kind(df.schema[name])
        col = pl.col(name)
        if rule.max_null_fraction == 0:
            rules.append((f"{name}: null", col.is_null()))
        if kind == "float":
            if not rule.allow_nan:
                rules.append((f"{name}: NaN", col.is_nan()))
            if not rule.allow_inf:
                rules.append((f"{name}: infinite", col.is_infinite()))
            if rule.type == "integer":
                rules.append(
                    (f"{name}: not a whole number", col.is_finite() & (col != col.floor()))
                )
        if rule.range is not None and kind in ("integer", "float", "datetime", "date", "duration"):
            v = numeric_expr(name, kind)
            lo = _to_seconds(rule.range.min, kind)
            hi = _to_seconds(rule.range.max, kind)
            outside = pl.lit(False)
            if lo is not None:
                outside = outside | (v < lo)
            if hi is not None:
                outside = outside | (v > hi)
            finite = v.is_finite() if kind == "float" else v.is_not_null()
            rules.append((f"{name}: out of range", finite & outside))
        if rule.categories is not None:
            s = (
                text_expr(name, kind)
                if kind in ("string", "categorical", "boolean")
                else col.cast(pl.String)
            )
            allowed = pl.Series(rule.categories, dtype=pl.String).implode()
            rules.append((f"{name}: unknown category", s.is_not_null() & ~s.is_in(allowed)))
    return rules
