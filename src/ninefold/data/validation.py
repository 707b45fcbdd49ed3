"""Check data against a :class:`~ninefold.data.schema.Schema` and report anomalies.

Validation is two queries. The first is one polars ``select`` that counts the
failures of every rule at once (nulls, ranges, categories, uniqueness,
outliers, duplicates...). The second runs only for the rules that failed and
fetches a few example values or row numbers for each. Every
:class:`Anomaly` says what is wrong and the likely fix in one sentence.

The anomaly kinds are listed in :data:`~ninefold.data.anomalies.KINDS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ninefold.data._frames import Frame, load
from ninefold.data.anomalies import KINDS, Anomaly, Severity, ValidationReport
from ninefold.data.profile import DatasetProfile
from ninefold.data.profiling import (
    EXACT_DISTINCT_ROWS,
    column_kind,
    decimals_as_floats,
    numeric_expr,
)
from ninefold.data.schema import ColumnSchema, Schema
from ninefold.errors import InvalidArgument

__all__ = ["KINDS", "Anomaly", "ValidationReport", "validate"]

if TYPE_CHECKING:
    import os

    import polars as pl

FEW_ROWS = 20
"""Below this many rows column statistics (constant, id-like, distinct counts) are not judged."""

COVERAGE_MIN_VALUES = 500
"""Domain coverage is judged only once a batch has this many values (and 50 per category)."""

SMALL_BATCH = 100
"""Below this many values a too-small distinct count is a warning, not an error."""

_NUMERIC = ("integer", "float", "datetime", "date", "duration")
_SEED = 0x5EED
_TEXT = ("string", "categorical")


def validate(
    data: Any,
    schema: Schema | DatasetProfile | str | os.PathLike[str],
    *,
    unnecessary: bool = True,
    examples: int = 5,
    profile: bool = False,
    encoding: str | None = None,
) -> ValidationReport:
    """Check ``data`` against ``schema``.

    Args:
        data: anything :func:`~ninefold.data.profile` accepts.
        schema: a :class:`Schema`, the path of a schema YAML file, or a reference
            profile (a schema is inferred from it).
        unnecessary: also warn about constant, all-null, id-like and duplicated columns.
        examples: example values (or row numbers) kept per anomaly.
        profile: also profile the batch and attach it (for HTML reports).
        encoding: text encoding of a CSV file that is not UTF-8.

    Returns:
        The :class:`ValidationReport`; ``report.raise_for_errors()`` turns errors
        into an exception.

    Example:
        >>> import polars as pl
        >>> from ninefold.data import infer_schema
        >>> ref = pl.DataFrame({"age": [30, 41, 25, 52] * 10})
        >>> report = validate(pl.DataFrame({"age": [33, -4]}), infer_schema(ref))
        >>> [(a.kind, a.severity) for a in report.errors]
        [('out_of_range', 'error')]
    """
    if isinstance(schema, DatasetProfile):
        from ninefold.data.inference import infer_schema

        schema = infer_schema(schema)
    elif not isinstance(schema, Schema):
        if isinstance(schema, str) or hasattr(schema, "__fspath__"):
            schema = Schema.load(schema)
        else:
            raise InvalidArgument(
                f"schema must be a Schema, a schema YAML path or a DatasetProfile, got "
                f"{type(schema).__name__}."
            )
    if examples < 0:
        raise InvalidArgument(f"examples must be 0 or more, got {examples}.")
    frame = load(data, encoding=encoding)
    report = _Validator(frame, schema, examples).run(unnecessary)
    if profile:
        from ninefold.data.profiling import profile as make_profile

        report.profile = make_profile(frame)
    return report


# -- the validator ------------------------------------------------------------------


def _pct(fraction: float) -> str:
    if fraction == 0:
        return "0 %"
    if fraction < 0.0001:
        return f"{fraction * 100:.2g} %"
    return f"{fraction * 100:.3g} %"


def _show(value: Any) -> str:
    text = repr(value.isoformat() if isinstance(value, datetime | date) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _compatible(expected: str, actual: str) -> str:
    """``ok``, ``integral`` (floats must hold whole numbers) or ``mismatch``."""
    if expected == actual or expected == "other" or actual == "other":
        return "ok"
    if {expected, actual} <= {"string", "categorical"}:
        return "ok"
    if expected == "float" and actual == "integer":
        return "ok"
    if expected == "integer" and actual == "float":
        return "integral"
    return "mismatch"


def _to_seconds(value: Any, kind: str) -> float | None:
    """A schema bound as a comparable number (epoch seconds for datetimes and dates)."""
    if value is None:
        return None
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            from datetime import UTC

            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return float(value)


@dataclass
class _Check:
    """One rule's failure count (first query) and, if it failed, its examples (second)."""

    kind: str
    column: str | None
    count_key: str
    examples: pl.Expr | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    exact: pl.Expr | None = None
    """An exact recount, run only when the first (hash-based) count is not 0."""


class _Validator:
    def __init__(self, frame: Frame, schema: Schema, examples: int) -> None:
        self.frame = frame
        self.df = decimals_as_floats(frame.df)
        self.schema = schema
        self.k = examples
        self.rows = self.df.height
        self.present = {n: column_kind(t) for n, t in self.df.schema.items()}
        self.anomalies: list[Anomaly] = []
        self.exprs: list[pl.Expr] = []
        self.checks: list[_Check] = []

    def add(
        self,
        kind: str,
        column: str | None,
        severity: Severity,
        count: int,
        message: str,
        examples: list[Any] | None = None,
        rows_based: bool = True,
    ) -> None:
        fraction = count / self.rows if rows_based and self.rows else 0.0
        self.anomalies.append(
            Anomaly(
                kind,
                column,
                severity,
                int(count),
                fraction,
                [_jsonable(e) for e in (examples or [])],
                message,
            )
        )

    def _key(self, label: str) -> str:
        return f"{len(self.exprs)}\x1f{label}"

    def measure(self, expr: pl.Expr, label: str) -> str:
        key = self._key(label)
        self.exprs.append(expr.alias(key))
        return key

    # -- orchestration ------------------------------------------------------------

    def run(self, unnecessary: bool) -> ValidationReport:
        self._presence()
        checked: dict[str, ColumnSchema] = {}
        for name, rule in self.schema.columns.items():
            if name in self.present and self._types(name, rule):
                checked[name] = rule
        if self.rows == 0:
            self.add(
                "empty_dataset",
                None,
                "error",
                0,
                "The data set has no rows; check the query or file that produced it.",
            )
        else:
            for name, rule in checked.items():
                self._plan_column(name, rule)
            self._plan_dataset()
            if unnecessary:
                self._plan_unnecessary()
            values = self._collect(self.exprs)
            self._judge(values)
        self._row_count()
        order = {"error": 0, "warning": 1}
        position = {name: i for i, name in enumerate([*self.schema.columns, *self.present])}
        self.anomalies.sort(
            key=lambda a: (order[a.severity], position.get(a.column or "", -1), a.kind)
        )
        return ValidationReport(self.anomalies, self.rows, len(self.present), self.frame.source)

    def _collect(self, exprs: list[pl.Expr]) -> dict[str, Any]:
        if not exprs:
            return {}
        row = self.df.lazy().select(exprs).collect()
        return {name: row[name][0] for name in row.columns}

    # -- schema-level checks -----------------------------------------------------------

    def _presence(self) -> None:
        extra = [c for c in self.present if c not in self.schema.columns]
        for name, rule in self.schema.columns.items():
            if name not in self.present and rule.required:
                similar = self._renamed(name, rule, extra)
                hint = (
                    f" A column {similar!r} is new in the data: was it renamed? Rename it back "
                    "or update the schema."
                    if similar
                    else " Add it to the data, or set `required: false` in the schema."
                )
                self.add(
                    "missing_column",
                    name,
                    "error",
                    0,
                    f"{name}: required column is missing.{hint}",
                    rows_based=False,
                )
        if not self.schema.dataset.allow_extra_columns:
            for name in self.present:
                if name not in self.schema.columns:
                    self.add(
                        "unexpected_column",
                        name,
                        "warning",
                        0,
                        f"{name}: column is not in the schema. Add it to the schema, drop it, "
                        "or set `allow_extra_columns: true` under dataset.",
                        rows_based=False,
                    )

    def _renamed(self, name: str, rule: ColumnSchema, extra: list[str]) -> str | None:
        """The unexpected column that most likely is ``name`` under a new name."""
        import difflib

        same_case = [c for c in extra if c.lower() == name.lower()]
        if same_case:
            return same_case[0]
        close = difflib.get_close_matches(name, extra, n=1, cutoff=0.6)
        if close:
            return close[0]
        same_type = [c for c in extra if _compatible(rule.type, self.present[c]) != "mismatch"]
        missing = [n for n in self.schema.columns if n not in self.present]
        return same_type[0] if len(same_type) == 1 and len(missing) == 1 else None

    def _types(self, name: str, rule: ColumnSchema) -> bool:
        """Report type problems; True when the column's values can be checked."""
        mixed = self.frame.mixed_types.get(name)
        if mixed:
            self.add(
                "mixed_types",
                name,
                "error",
                self.rows - int(self.df[name].null_count()),
                f"{name}: one column mixes values of types {', '.join(mixed)}; they were read "
                f"as text. Convert the column to {rule.type} where the data is produced.",
            )
            return False
        actual = self.present[name]
        if self.df[name].null_count() == self.rows:
            return True  # nothing to type-check; the null rule applies
        verdict = _compatible(rule.type, actual)
        if verdict == "mismatch":
            dtype = self.df.schema[name]
            self.add(
                "type_mismatch",
                name,
                "error",
                self.rows,
                f"{name}: expected {rule.type}, got {actual} ({dtype}). Fix the type where the "
                f"data is produced (e.g. a parse or cast), or change `type` in the schema.",
            )
            return False
        if verdict == "integral":
            import polars as pl

            v = pl.col(name)
            bad = v.is_finite() & (v != v.floor())
            key = self.measure(bad.sum(), "integral")
            self.checks.append(
                _Check(
                    "type_mismatch",
                    name,
                    key,
                    pl.col(name).filter(bad).unique(maintain_order=True).head(self.k),
                )
            )
        return True

    # -- planning: one expression per rule ------------------------------------------------

    def _plan_column(self, name: str, rule: ColumnSchema) -> None:
        import polars as pl

        col = pl.col(name)
        actual = self.present[name]
        self.checks.append(
            _Check(
                "null_fraction",
                name,
                self.measure(col.null_count(), "nulls"),
                pl.int_range(pl.len()).filter(col.is_null()).head(self.k),
                {"max": rule.max_null_fraction},
            )
        )
        if actual == "float" and not (rule.allow_nan and rule.allow_inf):
            bad = pl.lit(False)
            if not rule.allow_nan:
                bad = bad | col.is_nan()
            if not rule.allow_inf:
                bad = bad | col.is_infinite()
            self.checks.append(
                _Check(
                    "non_finite",
                    name,
                    self.measure(bad.sum(), "nonfinite"),
                    col.filter(bad).unique(maintain_order=True).head(self.k),
                )
            )
        if actual in _NUMERIC:
            self._plan_numeric(name, rule, actual)
        if rule.categories is not None:
            self._plan_categories(name, rule, actual)
        if rule.distinct is not None and actual != "other":
            if rule.distinct.max is None and (rule.distinct.min or 0) <= 2:
                # "At least two values" needs no hash: the min and max differ.
                expr = (col.min() != col.max()).cast(pl.Int64) + 1
                distinct = pl.when(col.count() == 0).then(0).otherwise(expr)
            else:
                distinct = col.drop_nulls().n_unique()
            self.checks.append(
                _Check("distinct_count", name, self.measure(distinct, "distinct"), None)
            )
        if rule.unique and name not in self.schema.dataset.keys:
            dupes = col.count() - col.drop_nulls().n_unique()
            self.checks.append(
                _Check(
                    "unique_violation",
                    name,
                    self.measure(dupes, "unique"),
                    col.filter(col.is_duplicated() & col.is_not_null())
                    .unique(maintain_order=True)
                    .head(self.k),
                )
            )

    def _plan_numeric(self, name: str, rule: ColumnSchema, actual: str) -> None:
        import polars as pl

        v = numeric_expr(name, actual)
        finite = v.is_finite() if actual == "float" else v.is_not_null()
        if rule.range is not None and (rule.range.min is not None or rule.range.max is not None):
            lo = _to_seconds(rule.range.min, actual)
            hi = _to_seconds(rule.range.max, actual)
            outside = pl.lit(False)
            if lo is not None:
                outside = outside | (v < lo)
            if hi is not None:
                outside = outside | (v > hi)
            bad = finite & outside
            self.checks.append(
                _Check(
                    "out_of_range",
                    name,
                    self.measure(bad.sum(), "range"),
                    pl.col(name).filter(bad).unique(maintain_order=True).head(self.k),
                    {"rule": rule, "lo": rule.range.min, "hi": rule.range.max},
                )
            )
        if rule.outliers is not None and actual in ("integer", "float", "duration"):
            center, scale = rule.outliers.center, rule.outliers.scale
            if center is None or scale is None:
                center, scale = self._robust(name, actual)
            if scale and scale > 0 and center is not None:
                limit = rule.outliers.z * scale
                distance = (v - center).abs()
                bad = finite & (distance > limit)
                self.checks.append(
                    _Check(
                        "outliers",
                        name,
                        self.measure(bad.sum(), "outliers"),
                        _farthest(name, actual, bad, center, self.k),
                        {"center": center, "limit": limit, "z": rule.outliers.z},
                    )
                )

    def _robust(self, name: str, kind: str) -> tuple[float | None, float | None]:
        """The batch's own median and IQR / 1.349, from an even sample."""
        import polars as pl

        v = numeric_expr(name, kind)
        fin = v.filter(v.is_finite()) if kind == "float" else v.drop_nulls()
        step = max(1, self.rows // 100_000)
        sample = fin.gather_every(step).cast(pl.Float64)
        row = self._collect(
            [
                sample.quantile(0.25).alias("q25"),
                sample.quantile(0.5).alias("q50"),
                sample.quantile(0.75).alias("q75"),
            ]
        )
        if row.get("q50") is None:
            return None, None
        return float(row["q50"]), (float(row["q75"]) - float(row["q25"])) / 1.349

    def _plan_categories(self, name: str, rule: ColumnSchema, actual: str) -> None:
        import polars as pl

        assert rule.categories is not None
        s = _as_text(name, actual)
        allowed = pl.Series(rule.categories, dtype=pl.String).implode()
        unseen = s.is_not_null() & ~s.is_in(allowed)
        vc = s.filter(unseen).value_counts(sort=False, name="n")
        self.checks.append(
            _Check(
                "new_category",
                name,
                self.measure(unseen.sum(), "unseen"),
                vc.top_k_by(vc.struct.field("n"), self.k),
                {"rule": rule},
            )
        )
        if rule.min_domain_coverage is not None and rule.categories:
            seen = s.filter(s.is_in(allowed)).n_unique()
            missing = pl.Series(rule.categories, dtype=pl.String)
            self.checks.append(
                _Check(
                    "low_domain_coverage",
                    name,
                    self.measure(seen, "coverage"),
                    pl.lit(missing).filter(~pl.lit(missing).is_in(s.implode())).head(self.k),
                    {"rule": rule},
                )
            )

    def _plan_dataset(self) -> None:
        import polars as pl

        rules = self.schema.dataset
        if rules.max_duplicate_fraction is not None and self.df.width:
            # Distinct 64-bit row hashes first (half the cost of comparing whole rows);
            # a collision could only overstate duplicates, and any found are recounted exactly.
            row = pl.struct(pl.all())
            self.checks.append(
                _Check(
                    "duplicate_rows",
                    None,
                    self.measure(pl.len() - row.hash(_SEED).n_unique(), "duprows"),
                    pl.int_range(pl.len()).filter(row.is_duplicated()).head(self.k),
                    {"max": rules.max_duplicate_fraction},
                    exact=pl.len() - row.n_unique(),
                )
            )
        keys = [k for k in rules.keys if k in self.present]
        if keys and len(keys) == len(rules.keys):
            key = pl.struct(keys) if len(keys) > 1 else pl.col(keys[0])
            first = key.hash(_SEED).n_unique() if len(keys) > 1 else key.n_unique()
            self.checks.append(
                _Check(
                    "duplicate_keys",
                    ", ".join(keys),
                    self.measure(pl.len() - first, "dupkeys"),
                    key.filter(key.is_duplicated()).unique(maintain_order=True).head(self.k),
                    exact=pl.len() - key.n_unique() if len(keys) > 1 else None,
                )
            )

    def _plan_unnecessary(self) -> None:
        import polars as pl

        exact = self.rows <= EXACT_DISTINCT_ROWS
        keys = set(self.schema.dataset.keys)
        self.column_stats: dict[str, dict[str, str]] = {}
        for name, kind in self.present.items():
            if name in self.frame.mixed_types:
                continue
            col = pl.col(name)
            stats = {"nulls": self.measure(col.null_count(), "u_nulls")}
            if kind != "other":
                stats["constant"] = self.measure(
                    (col.min() == col.max()) & (col.null_count() == 0), "u_const"
                )
                stats["hash"] = self.measure(col.hash(0x9E3779B9).sum(), "u_hash")
            if kind in ("integer", "string") and name not in keys and self.rows >= FEW_ROWS:
                distinct = col.drop_nulls().n_unique() if exact else col.approx_n_unique()
                stats["distinct"] = self.measure(distinct, "u_distinct")
            self.column_stats[name] = stats

    # -- judging -----------------------------------------------------------------------

    def _judge(self, values: dict[str, Any]) -> None:
        recount = [c for c in self.checks if c.exact is not None and values[c.count_key]]
        if recount:
            exact = self._collect(
                [c.exact.alias(c.count_key) for c in recount if c.exact is not None]
            )
            values.update(exact)
        failing = [c for c in self.checks if self._fails(c, values)]
        wanted = [
            c.examples.implode().alias(f"{i}\x1fex")
            for i, c in enumerate(failing)
            if c.examples is not None
        ]
        found: dict[str, Any] = {}
        if wanted and self.k:
            import polars as pl

            frames = [self.df.lazy().select(e) for e in wanted]
            for result in pl.collect_all(frames):
                name = result.columns[0]
                found[name] = _examples(result[name])
        for i, check in enumerate(failing):
            self._report(check, values[check.count_key], found.get(f"{i}\x1fex", []))
        if hasattr(self, "column_stats"):
            self._report_unnecessary(values)

    def _fails(self, check: _Check, values: dict[str, Any]) -> bool:
        count = values[check.count_key]
        if check.kind == "null_fraction":
            return bool(count) and count / self.rows > check.extra["max"]
        if check.kind == "distinct_count":
            return self._distinct_fails(check, int(count or 0))
        if check.kind == "low_domain_coverage":
            return self._coverage_fails(check, int(count or 0))
        return bool(count)

    def _report(self, check: _Check, count: Any, examples: list[Any]) -> None:
        name = check.column
        kind = check.kind
        n = int(count or 0)
        fraction = n / self.rows if self.rows else 0.0
        if kind == "null_fraction":
            self.add(
                kind,
                name,
                "error",
                n,
                f"{name}: {_pct(fraction)} of rows are null ({n}), above the allowed "
                f"{_pct(check.extra['max'])}. Fix the source of the missing values, impute "
                "them, or raise `max_null_fraction`.",
                examples,
            )
        elif kind == "non_finite":
            self.add(
                kind,
                name,
                "error",
                n,
                f"{name}: {n} NaN or infinite value(s) ({_pct(fraction)}), e.g. a division by "
                "zero or a log of 0 upstream. Replace them with nulls, or set `allow_nan` / "
                "`allow_inf` in the schema.",
                examples,
            )
        elif kind == "type_mismatch":
            self.add(
                kind,
                name,
                "error",
                n,
                f"{name}: expected whole numbers, but {n} value(s) have a fractional part "
                f"(e.g. {_show(examples[0]) if examples else '?'}). Round or cast them where "
                "the data is produced, or change `type` to float.",
                examples,
            )
        elif kind == "out_of_range":
            rule: ColumnSchema = check.extra["rule"]
            bound = f"[{check.extra['lo']}, {check.extra['hi']}]"
            severity: Severity = "error" if fraction > rule.max_out_of_range_fraction else "warning"
            self.add(
                kind,
                name,
                severity,
                n,
                f"{name}: {n} value(s) ({_pct(fraction)}) outside the range {bound}, e.g. "
                f"{', '.join(_show(e) for e in examples[:3])}. Check the unit or source of "
                "these values; if they are valid, widen `range` in the schema.",
                examples,
            )
        elif kind == "new_category":
            rule = check.extra["rule"]
            severity = "error" if fraction > rule.max_unseen_fraction else "warning"
            shown = ", ".join(f"{e['value']!r} ({e['count']} rows)" for e in examples[:3])
            self.add(
                kind,
                name,
                severity,
                n,
                f"{name}: {n} value(s) ({_pct(fraction)}) not among the known categories: "
                f"{shown}. If they are legitimate, add them to `categories` in the schema; "
                "otherwise fix the source (typo, new code, casing).",
                examples,
            )
        elif kind == "low_domain_coverage":
            self._coverage(check, n, examples)
        elif kind == "distinct_count":
            self._distinct(check, n)
        elif kind == "unique_violation":
            self.add(
                kind,
                name,
                "error",
                n,
                f"{name}: {n} repeated value(s) in a column that must be unique, e.g. "
                f"{', '.join(_show(e) for e in examples[:3])}. Drop duplicate rows "
                "(ninefold.data.drop_duplicates) or fix the join that repeats them.",
                examples,
            )
        elif kind == "duplicate_rows":
            limit = check.extra["max"]
            severity = "error" if fraction > limit else "warning"
            self.add(
                kind,
                None,
                severity,
                n,
                f"{n} row(s) ({_pct(fraction)}) repeat an earlier row exactly (allowed "
                f"{_pct(limit)}). Remove them with ninefold.data.drop_duplicates, or find the "
                "join or retry that duplicated them.",
                examples,
            )
        elif kind == "duplicate_keys":
            self.add(
                kind,
                name,
                "error",
                n,
                f"Key ({name}): {n} row(s) ({_pct(fraction)}) repeat a key of an earlier row, "
                f"e.g. {', '.join(_show(e) for e in examples[:3])}. Keep one row per key "
                "(ninefold.data.drop_duplicates(keys=...)) or fix the key columns.",
                examples,
            )
        elif kind == "outliers":
            self.add(
                kind,
                name,
                "warning",
                n,
                f"{name}: {n} value(s) ({_pct(fraction)}) lie more than {check.extra['z']:g} "
                f"robust standard deviations from the median {check.extra['center']:.6g}, "
                f"e.g. {', '.join(_show(e) for e in examples[:3])}. Look for unit errors or "
                "sentinel values (-1, 999999); if the tail is real, raise `outliers.z`.",
                examples,
            )

    def _non_null(self, name: str | None) -> int:
        return self.rows - int(self.df[name].null_count()) if name else 0

    def _coverage_fails(self, check: _Check, seen: int) -> bool:
        rule: ColumnSchema = check.extra["rule"]
        assert rule.categories is not None
        assert rule.min_domain_coverage is not None
        total = len(rule.categories)
        if self._non_null(check.column) < max(COVERAGE_MIN_VALUES, 50 * total):
            return False  # too few values to expect every category
        return seen / total < rule.min_domain_coverage

    def _coverage(self, check: _Check, seen: int, examples: list[Any]) -> None:
        rule: ColumnSchema = check.extra["rule"]
        assert rule.categories is not None
        assert rule.min_domain_coverage is not None
        total = len(rule.categories)
        self.add(
            "low_domain_coverage",
            check.column,
            "warning",
            total - seen,
            f"{check.column}: only {seen} of {total} known categories appear "
            f"({seen / total:.0%}, expected at least {rule.min_domain_coverage:.0%}); missing "
            f"e.g. {', '.join(_show(e) for e in examples[:3])}. A filter or upstream change "
            "may have dropped them.",
            examples,
            rows_based=False,
        )

    def _distinct_fails(self, check: _Check, distinct: int) -> bool:
        assert check.column is not None
        bounds = self.schema.columns[check.column].distinct
        assert bounds is not None
        non_null = self._non_null(check.column)
        if non_null == 0:
            return False
        low = bounds.min is not None and distinct < bounds.min and non_null >= bounds.min
        high = bounds.max is not None and distinct > bounds.max
        return low or high

    def _distinct(self, check: _Check, distinct: int) -> None:
        name = check.column
        assert name is not None
        bounds = self.schema.columns[name].distinct
        assert bounds is not None
        low = bounds.min is not None and distinct < bounds.min
        severity: Severity = "warning" if low and self._non_null(name) < SMALL_BATCH else "error"
        if low:
            message = (
                f"{name}: {distinct} distinct value(s), expected at least {bounds.min}. A "
                "constant column often means a broken upstream feature or a default value."
            )
        else:
            message = (
                f"{name}: {distinct} distinct values, expected at most {bounds.max}. New values "
                "may come from a changed source; raise `distinct.max` if they are expected."
            )
        self.add("distinct_count", name, severity, distinct, message, rows_based=False)

    def _report_unnecessary(self, values: dict[str, Any]) -> None:
        groups: dict[tuple[str, int, int], list[str]] = {}
        for name, stats in self.column_stats.items():
            nulls = int(values[stats["nulls"]])
            if nulls == self.rows:
                self.add(
                    "all_null_column",
                    name,
                    "warning",
                    nulls,
                    f"{name}: every value is null; the column carries no information. Drop it "
                    "(ninefold.data.drop_columns) or fix what should fill it.",
                )
                continue
            if "constant" in stats and values[stats["constant"]] and self.rows >= FEW_ROWS:
                value = self.df[name][0]
                self.add(
                    "constant_column",
                    name,
                    "warning",
                    self.rows,
                    f"{name}: every row holds the same value {_show(value)}; a constant "
                    "cannot help a model. Drop it, or check the upstream default that set it.",
                    [value],
                )
                continue
            if "distinct" in stats:
                distinct = int(values[stats["distinct"]] or 0)
                non_null = self.rows - nulls
                looks_unique = distinct == non_null or self.rows > EXACT_DISTINCT_ROWS
                if distinct >= 0.99 * non_null and nulls == 0 and looks_unique:
                    self.add(
                        "id_like_column",
                        name,
                        "warning",
                        distinct,
                        f"{name}: a different value on every row, like an identifier; "
                        "as a feature it lets a model memorise rows. Drop it from the "
                        "features, or declare it in dataset.keys.",
                        rows_based=False,
                    )
            if "hash" in stats:
                sig = (str(self.df.schema[name]), nulls, int(values[stats["hash"]]))
                groups.setdefault(sig, []).append(name)
        for names in groups.values():
            first = names[0]
            for other in names[1:]:
                if self.df[first].equals(self.df[other], null_equal=True):
                    self.add(
                        "duplicated_column",
                        other,
                        "warning",
                        self.rows,
                        f"{other}: holds exactly the same values as {first!r}. Drop one of "
                        "them (ninefold.data.drop_columns).",
                        [first],
                        rows_based=False,
                    )

    def _row_count(self) -> None:
        rules = self.schema.dataset
        if self.rows == 0:
            return  # already an empty_dataset error
        if self.rows < FEW_ROWS:
            self.add(
                "few_rows",
                None,
                "warning",
                self.rows,
                f"Only {self.rows} row(s): constant, id-like and distinct-count checks need at "
                f"least {FEW_ROWS} and were not judged. Validate a larger batch for them.",
                rows_based=False,
            )
        if rules.min_rows is not None and self.rows < rules.min_rows:
            self.add(
                "row_count",
                None,
                "error",
                self.rows,
                f"The data set has {self.rows} rows, fewer than the expected minimum "
                f"{rules.min_rows}. Check for a failed extract or an over-eager filter, or lower "
                "`min_rows`.",
                rows_based=False,
            )
        if rules.max_rows is not None and self.rows > rules.max_rows:
            self.add(
                "row_count",
                None,
                "error",
                self.rows,
                f"The data set has {self.rows} rows, more than the expected maximum "
                f"{rules.max_rows}. Check for duplicated loads or a missing filter, or raise "
                "`max_rows`.",
                rows_based=False,
            )


def _as_text(name: str, kind: str) -> pl.Expr:
    import polars as pl

    from ninefold.data.profiling import text_expr

    if kind in (*_TEXT, "boolean"):
        return text_expr(name, kind)
    return pl.col(name).cast(pl.String)


def _farthest(name: str, kind: str, bad: pl.Expr, center: float, k: int) -> pl.Expr:
    """The ``k`` distinct flagged values farthest from ``center``, farthest first."""
    import polars as pl

    values = pl.col(name).filter(bad).unique()
    number = values.dt.total_microseconds() / 1e6 if kind == "duration" else values
    return values.top_k_by((number.cast(pl.Float64) - center).abs(), k)


def _examples(series: pl.Series) -> list[Any]:
    values = series[0]
    items = values.to_list() if hasattr(values, "to_list") else list(values or [])
    out = []
    for item in items:
        if isinstance(item, dict) and "n" in item:
            value = next(v for k, v in item.items() if k != "n")
            out.append({"value": value, "count": int(item["n"])})
        else:
            out.append(item)
    if out and all(isinstance(e, dict) for e in out):
        out.sort(key=lambda e: (-e["count"], str(e["value"])))
    return out
