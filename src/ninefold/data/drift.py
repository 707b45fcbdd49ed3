"""Drift and skew: compare a current data set with a reference, column by column.

The same machinery answers "has this source changed over time?" (drift) and "does
serving data look like training data?" (skew). For each column shared by both sides:

1. **Test** whether the two windows could come from one distribution. Categorical
   columns (string, categorical, boolean): a chi-square test of *homogeneity* on the
   category counts. Numeric columns: on the reference's histogram bins, both a
   Kolmogorov-Smirnov test (strong on shifts of location) and a chi-square homogeneity
   test (strong on changes of shape), combined by Bonferroni (twice the smaller
   p-value). Both windows count as samples, so the null is right at any pair of sizes;
   sparse cells are pooled until every expected count reaches 5. With raw rows on both
   sides, ``numeric_test="ks"`` runs the exact two-sample KS test instead.
2. **Correct** the p-values across the columns tested (Holm by default, which bounds the
   chance of *any* false column alarm by ``alpha``; Benjamini-Hochberg on request).
3. **Measure** how large the change is: PSI on the reference bins and the Wasserstein
   distance in reference standard deviations for numeric columns; total variation
   distance (TVD), L-infinity, Jensen-Shannon distance and the share of unseen
   categories for categorical ones.
4. A column **alarms only when the corrected test rejects and the change exceeds a
   practical threshold** (:class:`DriftThresholds`; overridable per column in the
   schema). Large windows therefore stop alarming on trivial shifts, and small windows
   stop alarming on noise.

Every column also reports the smallest shift the window could have detected, so "no
drift" on a small window is not mistaken for evidence of stability.

The reference can be raw data or a stored :class:`~ninefold.data.profile.DatasetProfile`:
the current data is profiled on the reference's bins, and the verdicts are the same
either way, so raw reference rows are never needed again.

Example:
    >>> from ninefold.data import compare  # doctest: +SKIP
    >>> report = compare("train.parquet", "serving_2024_06.parquet")  # doctest: +SKIP
    >>> report.drift_detected, report.drifted_columns  # doctest: +SKIP
    (True, ['amount'])
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ninefold.data.profile import CATEGORY_KINDS, NUMERIC_KINDS
from ninefold.errors import DataError, InvalidArgument

if TYPE_CHECKING:
    from ninefold.data.profile import ColumnProfile, DatasetProfile

Correction = Literal["holm", "bh"]
NumericTest = Literal["binned", "ks"]
Status = Literal["drift", "ok", "too_small", "no_data", "missing", "new", "changed_type", "skipped"]

DEFAULT_ALPHA = 0.01
"""Family-wise error rate per comparison: the chance that *any* column alarms on pure noise.

1 % keeps the dataset-level false-alarm rate at or below 1 % at every window size
(``python -m bench.data.calibration``); with daily comparisons that is about one false
alarm in three months before the effect thresholds remove most of the rest.
"""

TIME_KINDS = frozenset({"datetime", "date"})
"""Kinds skipped by default: timestamps move forward by design, so they always 'drift'."""

ID_LIKE_FRACTION = 0.9
"""String columns whose distinct values reach this share of rows are identifiers: skipped."""

_ID_LIKE_MIN_ROWS = 50


NUMERIC_METRICS = ("psi", "wasserstein", "jensen_shannon", "mean_shift")
"""Effect sizes of numeric columns; any of them can carry a threshold in the schema."""

CATEGORICAL_METRICS = ("tvd", "linf", "jensen_shannon", "psi", "unseen_share")
"""Effect sizes of categorical columns; any of them can carry a threshold in the schema."""


@dataclass(frozen=True)
class DriftThresholds:
    """Practical thresholds: a column alarms only when its change is at least this large.

    A numeric column passes the effect check when its PSI *or* its normalised Wasserstein
    distance reaches its threshold; a categorical column when its TVD does. ``None``
    turns a metric off. The defaults were chosen with the calibration benchmark
    (``python -m bench --only data_calibration``; see ``docs/drift.md``).

    Attributes:
        psi: population stability index on the reference's histogram bins (numeric
            columns). 0.1 is the usual "moderate shift" line; for a normal feature it is
            a mean shift of about 0.32 standard deviations, so it mostly catches changes
            of shape that leave the mean in place.
        wasserstein: Wasserstein distance divided by the reference standard deviation
            (numeric columns). A mean shift of ``d`` standard deviations has a distance
            of ``d``; 0.05 alarms on shifts of a twentieth of a standard deviation or
            more, which a window of ~10,000 rows or more resolves reliably.
        tvd: total variation distance of category shares (categorical columns): the
            share of rows that would have to change category. 0.05 means five
            percentage points of the rows.
    """

    psi: float | None = 0.1
    wasserstein: float | None = 0.05
    tvd: float | None = 0.05

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_threshold(f.name, getattr(self, f.name), allow_none=True)

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], base: DriftThresholds | None = None
    ) -> DriftThresholds:
        """Thresholds from a mapping such as ``{"psi": 0.2}``; unset keys come from ``base``.

        Raises:
            InvalidArgument: an unknown key (e.g. a typo) or a bad value.
        """
        known = [f.name for f in fields(cls)]
        for key in values:
            if key not in known:
                raise InvalidArgument(
                    f"Unknown drift threshold {key!r}; use one of {known} "
                    "(per-column rules in the schema may name any effect size)."
                )
        return replace(base or cls(), **dict(values))

    def to_dict(self) -> dict[str, float | None]:
        """Plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def gate(self, family: str) -> dict[str, float]:
        """The metrics and thresholds that apply to a ``"numeric"`` or ``"categorical"`` column."""
        names = ("psi", "wasserstein") if family == "numeric" else ("tvd",)
        return {n: float(v) for n in names if (v := getattr(self, n)) is not None}


def _check_threshold(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
    ):
        raise InvalidArgument(
            f"Drift threshold {name!r} must be a number >= 0"
            f"{' or None' if allow_none else ''}, got {value!r}."
        )


DEFAULT_THRESHOLDS = DriftThresholds()


@dataclass
class ColumnDrift:
    """The verdict on one column.

    Attributes:
        column: the column name.
        kind: ``"numeric"`` or ``"categorical"`` (or the profile kind of a skipped column).
        status: ``"drift"``, ``"ok"``, ``"too_small"`` (the window cannot be tested),
            ``"no_data"`` (a side has no values), ``"missing"`` (absent from the current
            data), ``"new"`` (absent from the reference), ``"changed_type"`` or
            ``"skipped"``.
        message: one sentence saying what was found.
        test: ``"ks+chi2"`` (numeric, on the reference bins), ``"ks"`` (numeric, exact on
            raw rows) or ``"chi2"`` (categorical); None when no test ran.
        statistics: the statistics of the tests run: ``ks_d`` and ``ks_p``,
            ``chi2``, ``chi2_dof`` and ``chi2_p``.
        pvalue: the raw p-value.
        pvalue_adjusted: the p-value after the correction across columns.
        rejected: whether the corrected test rejects "no change" at ``alpha``.
        effects: effect sizes by name (``psi``, ``wasserstein``, ``jensen_shannon``,
            ``mean_shift`` for numeric; ``tvd``, ``linf``, ``jensen_shannon``, ``psi``,
            ``unseen_share`` for categorical).
        thresholds: the practical thresholds applied to this column.
        effect_exceeds: whether an effect reached its threshold.
        min_detectable: the smallest shift this window could have turned into an alarm
            (the larger of what the test can see and the threshold), in ``unit``.
        unit: ``"sigma"`` (a mean shift of a normal feature, in reference standard
            deviations) or ``"tvd"`` (share of rows moving between categories).
        null_effect: the effect size two samples of one distribution show at these sizes
            (PSI for numeric, TVD for categorical): differences below it are noise.
        reference_count: values tested on the reference side (non-null, finite).
        current_count: values tested on the current side.
        reference_null_fraction: share of null (and NaN/inf) rows in the reference.
        current_null_fraction: the same share in the current data.
    """

    column: str
    kind: str
    status: Status
    message: str
    test: str | None = None
    statistics: dict[str, float] = field(default_factory=dict)
    pvalue: float | None = None
    pvalue_adjusted: float | None = None
    rejected: bool = False
    effects: dict[str, float | None] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    effect_exceeds: bool = False
    min_detectable: float | None = None
    unit: str | None = None
    null_effect: float | None = None
    reference_count: int = 0
    current_count: int = 0
    reference_null_fraction: float | None = None
    current_null_fraction: float | None = None

    @property
    def drifted(self) -> bool:
        """Whether this column alarms."""
        return self.status == "drift"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN and infinities become None)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


@dataclass
class DriftReport:
    """The result of :func:`compare`.

    Attributes:
        columns: one :class:`ColumnDrift` per column of either side, reference order first.
        alpha: the family-wise error rate (Holm) or false discovery rate (BH) used.
        correction: ``"holm"`` or ``"bh"``.
        reference_rows: rows in the reference.
        current_rows: rows in the current data.
        tested: number of columns that entered the test family.
        reference_profile: the reference's profile (for reports; not serialised).
        current_profile: the current data's profile, on the reference's bins.
    """

    columns: list[ColumnDrift]
    alpha: float
    correction: str
    reference_rows: int
    current_rows: int
    tested: int
    reference_profile: DatasetProfile | None = field(default=None, repr=False, compare=False)
    current_profile: DatasetProfile | None = field(default=None, repr=False, compare=False)

    @property
    def drift_detected(self) -> bool:
        """Whether any column alarms (the dataset-level verdict)."""
        return any(c.drifted for c in self.columns)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the columns that alarm."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def missing_columns(self) -> list[str]:
        """Reference columns absent from the current data."""
        return [c.column for c in self.columns if c.status == "missing"]

    @property
    def new_columns(self) -> list[str]:
        """Current columns absent from the reference."""
        return [c.column for c in self.columns if c.status == "new"]

    @property
    def ok(self) -> bool:
        """No drift, and every reference column is present with a comparable type."""
        return not self.drift_detected and not any(
            c.status in ("missing", "changed_type") for c in self.columns
        )

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise DataError(
            f"The drift report has no column {column!r}; its columns: "
            f"{[c.column for c in self.columns][:20]}."
        )

    def summary(self) -> str:
        """One sentence for logs and the command line."""
        if self.tested == 0 and self.columns:
            head = (
                f"No column could be tested (the current data has {self.current_rows:,} rows); "
                "see each column's status."
            )
        elif self.drift_detected:
            names = ", ".join(self.drifted_columns)
            head = (
                f"Drift detected in {len(self.drifted_columns)} of {self.tested} columns: {names}."
            )
        else:
            head = f"No drift detected in {self.tested} tested columns."
        missing = self.missing_columns
        if missing:
            head += f" Missing from the current data: {', '.join(missing)}."
        return head

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "drift_detected": self.drift_detected,
            "ok": self.ok,
            "summary": self.summary(),
            "alpha": self.alpha,
            "correction": self.correction,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "tested": self.tested,
            "drifted_columns": self.drifted_columns,
            "missing_columns": self.missing_columns,
            "new_columns": self.new_columns,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_json(self, indent: int | None = None) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# -- entry point ---------------------------------------------------------------------


def compare(
    reference: Any,
    current: Any,
    schema: Any = None,
    *,
    correction: Correction = "holm",
    alpha: float = DEFAULT_ALPHA,
    thresholds: DriftThresholds | Mapping[str, float] | None = None,
    columns: Iterable[str] | None = None,
    numeric_test: NumericTest = "binned",
    include_time: bool = False,
    rule: Literal["drift", "skew"] = "drift",
) -> DriftReport:
    """Compare ``current`` with ``reference``, column by column, for drift or skew.

    Args:
        reference: the reference data (pandas/polars/Arrow frame or a data file path), a
            :class:`~ninefold.data.profile.DatasetProfile`, the path of a profile saved
            as JSON, or a stored dataset version (``"datasets:/train@3"``).
        current: the data to check (same forms; a profile should have been computed with
            ``profile(data, reference=...)`` so that its bins line up).
        schema: an optional :class:`~ninefold.data.Schema` (or its YAML path); a
            column's ``drift`` rule (``skew`` with ``rule="skew"``) replaces its
            threshold (``drift: {metric: psi, threshold: 0.2}``; without ``metric`` the
            threshold applies to ``wasserstein`` for numeric and ``tvd`` for
            categorical columns) or turns the check off (``drift: {enabled: false}``).
        correction: ``"holm"`` (family-wise error rate) or ``"bh"`` (false discovery rate).
        alpha: the error rate the correction controls; see :data:`DEFAULT_ALPHA`.
        thresholds: practical thresholds for every column (:class:`DriftThresholds` or a
            mapping of some of its fields).
        columns: compare only these columns (default: every column).
        numeric_test: ``"binned"`` (KS and chi-square on the reference bins; works with
            stored profiles) or ``"ks"`` (exact two-sample Kolmogorov-Smirnov; needs raw
            data on both sides).
        include_time: also compare datetime and date columns (off by default: they move
            forward by design).
        rule: which per-column schema rule applies: ``"drift"`` (the same source over
            time) or ``"skew"`` (training versus serving).

    Returns:
        A :class:`DriftReport`; ``report.drift_detected`` is the dataset-level verdict.

    Raises:
        InvalidArgument: a bad ``alpha``, ``correction``, ``numeric_test`` or threshold.
        DataError: data or a profile that cannot be read.
    """
    if correction not in ("holm", "bh"):
        raise InvalidArgument(f"correction must be 'holm' or 'bh', got {correction!r}.")
    if numeric_test not in ("binned", "ks"):
        raise InvalidArgument(f"numeric_test must be 'binned' or 'ks', got {numeric_test!r}.")
    if rule not in ("drift", "skew"):
        raise InvalidArgument(f"rule must be 'drift' or 'skew', got {rule!r}.")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must be between 0 and 1 (e.g. 0.01), got {alpha!r}.")
    base = _thresholds(thresholds)
    ref_profile, ref_frame = _reference(reference)
    cur_profile, cur_frame = _current(current, ref_profile)
    if numeric_test == "ks" and (ref_frame is None or cur_frame is None):
        raise InvalidArgument(
            "numeric_test='ks' needs the raw reference and current rows, but a profile was "
            "given; use numeric_test='binned' (the default) with stored profiles."
        )
    settings = _schema_settings(schema, rule)
    wanted = list(columns) if columns is not None else None
    if wanted is not None:
        unknown = [
            c for c in wanted if c not in ref_profile.columns and c not in cur_profile.columns
        ]
        if unknown:
            raise InvalidArgument(
                f"Column {unknown[0]!r} is in neither data set; columns: "
                f"{list(ref_profile.columns)[:20]}."
            )
    names = [n for n in ref_profile.columns if wanted is None or n in wanted]
    names += [
        n
        for n in cur_profile.columns
        if n not in ref_profile.columns and (wanted is None or n in wanted)
    ]

    pending: list[_Pending] = []
    results: list[ColumnDrift] = []
    for name in names:
        col_rule = settings.get(name)
        outcome = _column(
            name,
            ref_profile.columns.get(name),
            cur_profile.columns.get(name),
            base,
            col_rule,
            include_time=include_time,
            numeric_test=numeric_test,
            frames=(ref_frame, cur_frame),
        )
        results.append(outcome.result)
        if outcome.pending is not None:
            pending.append(outcome.pending)
    _hint_renames(results, ref_profile, cur_profile)
    _decide(pending, correction, alpha)
    return DriftReport(
        columns=results,
        alpha=float(alpha),
        correction=correction,
        reference_rows=ref_profile.num_rows,
        current_rows=cur_profile.num_rows,
        tested=len(pending),
        reference_profile=ref_profile,
        current_profile=cur_profile,
    )


# -- inputs ---------------------------------------------------------------------------


def _thresholds(value: DriftThresholds | Mapping[str, float] | None) -> DriftThresholds:
    if value is None:
        return DEFAULT_THRESHOLDS
    if isinstance(value, DriftThresholds):
        return value
    if isinstance(value, Mapping):
        return DriftThresholds.from_mapping(value)
    raise InvalidArgument(
        f"thresholds must be DriftThresholds or a mapping like {{'psi': 0.2}}, got {value!r}."
    )


def _looks_like_profile(path: Path) -> DatasetProfile | None:
    from ninefold.data.profile import DatasetProfile

    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and "columns" in data and "num_rows" in data:
        return DatasetProfile.from_dict(data)
    return None


def _reference(reference: Any) -> tuple[DatasetProfile, Any]:
    """The reference as a profile, plus its polars frame when raw rows were given."""
    from ninefold.data._frames import load
    from ninefold.data.profile import DatasetProfile
    from ninefold.data.profiling import profile

    if isinstance(reference, DatasetProfile):
        return reference, None
    if isinstance(reference, str) and reference.startswith("datasets:"):
        from ninefold.data.datasets import load_dataset_profile

        return load_dataset_profile(reference), None
    if isinstance(reference, str | os.PathLike):
        stored = _looks_like_profile(Path(reference))
        if stored is not None:
            return stored, None
    frame = load(reference)
    return profile(frame), frame.df


def _current(current: Any, ref: DatasetProfile) -> tuple[DatasetProfile, Any]:
    from ninefold.data._frames import load
    from ninefold.data.profile import DatasetProfile
    from ninefold.data.profiling import profile

    if isinstance(current, DatasetProfile):
        return current, None
    if isinstance(current, str | os.PathLike):
        stored = _looks_like_profile(Path(current))
        if stored is not None:
            return stored, None
    frame = load(current)
    return profile(frame, reference=ref), frame.df


@dataclass(frozen=True)
class _Rule:
    """A column's rule from the schema: on or off, and optionally its own gate."""

    enabled: bool = True
    metric: str | None = None
    threshold: float | None = None


def _schema_settings(schema: Any, rule: str) -> dict[str, _Rule]:
    """Per-column drift (or skew) rules of a schema (a Schema, or its YAML path)."""
    if schema is None:
        return {}
    if isinstance(schema, str | os.PathLike):
        from ninefold.data.schema import Schema

        schema = Schema.load(schema)
    columns = getattr(schema, "columns", None)
    if not isinstance(columns, Mapping):
        raise InvalidArgument(
            f"schema must be a ninefold Schema or the path of its YAML file, got {schema!r}."
        )
    out: dict[str, _Rule] = {}
    for name, spec in columns.items():
        found = getattr(spec, rule, None)
        if found is None:
            continue
        out[name] = _Rule(
            enabled=bool(getattr(found, "enabled", True)),
            metric=getattr(found, "metric", None),
            threshold=getattr(found, "threshold", None),
        )
    return out


def _gate(family: str, base: DriftThresholds, rule: _Rule | None, column: str) -> dict[str, float]:
    """The effect sizes and thresholds that decide whether a shift matters."""
    if rule is None or (rule.metric is None and rule.threshold is None):
        return base.gate(family)
    valid = NUMERIC_METRICS if family == "numeric" else CATEGORICAL_METRICS
    metric = rule.metric or ("wasserstein" if family == "numeric" else "tvd")
    if metric not in valid:
        raise InvalidArgument(
            f"Column {column!r}: drift metric {metric!r} does not apply to {family} columns; "
            f"use one of {list(valid)} in the schema."
        )
    threshold = rule.threshold
    if threshold is None:
        default = getattr(base, metric, None)
        if default is None:
            raise InvalidArgument(
                f"Column {column!r}: drift metric {metric!r} has no default threshold; "
                "give one in the schema (drift: {metric: ..., threshold: ...})."
            )
        threshold = float(default)
    _check_threshold(f"{column}.{metric}", threshold)
    return {metric: float(threshold)}


# -- one column ---------------------------------------------------------------------------


@dataclass
class _Pending:
    """A tested column waiting for the correction across columns."""

    result: ColumnDrift
    gate: dict[str, float]
    kind: str
    # What is needed to compute the detection limit once the family size is known.
    ref_shares: list[float]
    n: int
    m: int


@dataclass
class _Outcome:
    result: ColumnDrift
    pending: _Pending | None = None


def _null_fraction(col: ColumnProfile) -> float:
    bad = col.nulls
    if col.numeric is not None:
        bad += col.numeric.nan + col.numeric.pos_inf + col.numeric.neg_inf
    return bad / col.count if col.count else 0.0


def _family(col: ColumnProfile) -> str:
    if col.kind in NUMERIC_KINDS:
        return "numeric"
    if col.kind in CATEGORY_KINDS:
        return "categorical"
    return col.kind


def _column(
    name: str,
    ref: ColumnProfile | None,
    cur: ColumnProfile | None,
    base_limits: DriftThresholds,
    rule: _Rule | None,
    *,
    include_time: bool,
    numeric_test: str,
    frames: tuple[Any, Any],
) -> _Outcome:
    if ref is None:
        assert cur is not None
        return _Outcome(
            ColumnDrift(
                name,
                _family(cur),
                "new",
                f"Column {name!r} is in the current data but not in the reference; "
                "it was not compared.",
                current_null_fraction=_null_fraction(cur),
            )
        )
    if cur is None:
        return _Outcome(
            ColumnDrift(
                name,
                _family(ref),
                "missing",
                f"Column {name!r} is in the reference but missing from the current data.",
                reference_null_fraction=_null_fraction(ref),
            )
        )
    base = ColumnDrift(
        name,
        _family(ref),
        "ok",
        "",
        reference_null_fraction=_null_fraction(ref),
        current_null_fraction=_null_fraction(cur),
    )
    if _family(ref) != _family(cur):
        base.status = "changed_type"
        base.message = (
            f"Column {name!r} holds {ref.kind} values in the reference but {cur.kind} values "
            "in the current data; it cannot be compared. Cast it back or update the reference."
        )
        return _Outcome(base)
    enabled = rule is None or rule.enabled
    skip = _skip_reason(ref, enabled=enabled, include_time=include_time)
    if skip:
        base.status, base.kind, base.message = "skipped", ref.kind, skip
        return _Outcome(base)
    gate = _gate(base.kind, base_limits, rule, name)
    base.thresholds = dict(gate)
    if base.kind == "numeric":
        return _numeric(base, ref, cur, gate, numeric_test, frames)
    return _categorical(base, ref, cur, gate)


def _skip_reason(ref: ColumnProfile, *, enabled: bool, include_time: bool) -> str:
    if not enabled:
        return "Drift checks are turned off for this column in the schema."
    if ref.kind in TIME_KINDS and not include_time:
        return (
            "Timestamps move forward by design, so they are not compared "
            "(pass include_time=True to compare them)."
        )
    if ref.kind not in NUMERIC_KINDS and ref.kind not in CATEGORY_KINDS:
        return f"Columns of kind {ref.kind!r} ({ref.dtype}) are not compared."
    if (
        ref.kind in ("string", "categorical")
        and ref.non_null >= _ID_LIKE_MIN_ROWS
        and ref.distinct >= ID_LIKE_FRACTION * ref.non_null
    ):
        return (
            "An identifier-like column (almost every value distinct): category shares carry "
            "no information, so it is not compared."
        )
    return ""


def _no_data(base: ColumnDrift, n: int, m: int) -> _Outcome:
    side = (
        "either side" if n == 0 and m == 0 else ("the reference" if n == 0 else "the current data")
    )
    base.status = "no_data"
    base.message = f"No values to compare: the column is empty or all null in {side}."
    return _Outcome(base)


def _too_small(base: ColumnDrift, n: int, m: int) -> _Outcome:
    base.status = "too_small"
    base.message = (
        f"Too few values to test ({n} in the reference, {m} in the current data): every "
        "category or bin would hold fewer than 5 expected values."
    )
    return _Outcome(base)


def _numeric(
    base: ColumnDrift,
    ref: ColumnProfile,
    cur: ColumnProfile,
    gate: dict[str, float],
    numeric_test: str,
    frames: tuple[Any, Any],
) -> _Outcome:
    from ninefold.data import stats

    rn, cn = ref.numeric, cur.numeric
    assert rn is not None
    assert cn is not None
    n, m = rn.count, cn.count
    base.reference_count, base.current_count = n, m
    if n == 0 or m == 0:
        return _no_data(base, n, m)
    ref_counts = list(rn.histogram.counts)
    hist = cn.histogram
    if list(hist.breaks) != list(rn.histogram.breaks):
        hist = hist.rebin(list(rn.histogram.breaks), _f(cn.min), _f(cn.max))
    cur_counts = list(hist.counts)
    chi = stats.chi2_homogeneity(ref_counts, cur_counts)
    if (chi.dof == 0 and _cells(ref_counts, cur_counts) > 1) or math.isnan(chi.pvalue):
        return _too_small(base, n, m)
    if numeric_test == "ks":
        ref_values, cur_values = (_finite_values(df, ref.name, ref.kind) for df in frames)
        ks = stats.ks_test(ref_values, cur_values)
        base.test, base.pvalue = "ks", ks.pvalue
        base.statistics = {"ks_d": ks.statistic, "ks_p": ks.pvalue}
    else:
        ks = stats.ks_binned(ref_counts, cur_counts)
        base.test, base.pvalue = "ks+chi2", stats.combine_min(ks, chi)
        base.statistics = {
            "ks_d": ks.statistic,
            "ks_p": ks.pvalue,
            "chi2": chi.statistic,
            "chi2_dof": float(chi.dof or 0),
            "chi2_p": chi.pvalue,
        }
    std = rn.std
    wasserstein = stats.normalised(_wasserstein(rn, cn, hist.counts), std)
    mean_shift = stats.normalised(abs(cn.mean - rn.mean), std)
    base.effects = {
        "psi": stats.psi(ref_counts, cur_counts),
        "wasserstein": wasserstein,
        "jensen_shannon": stats.jensen_shannon(ref_counts, cur_counts),
        "mean_shift": mean_shift,
    }
    base.effect_exceeds = _exceeds(base.effects, gate)
    base.unit = "sigma"
    nonempty = sum(1 for a, b in zip(ref_counts, cur_counts, strict=True) if a + b > 0)
    base.null_effect = stats.null_psi(n, m, nonempty)
    shares = [c / n for c in ref_counts]
    return _Outcome(base, _Pending(base, gate, "numeric", shares, n, m))


def _finite_values(df: Any, name: str, kind: str) -> Any:
    import polars as pl

    from ninefold.data.profiling import numeric_expr

    v = numeric_expr(name, kind).cast(pl.Float64)
    return df.select(v.filter(v.is_finite()).alias("v"))["v"].to_numpy()


def _f(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _knots(numeric: Any, counts: list[int]) -> tuple[list[float], list[float]]:
    """Points of a column's distribution function: stored quantiles and histogram breaks.

    Only points between the 1st and 99th percentile are used, so the noisy extremes (the
    minimum and maximum, the long outer bins) do not dominate the distance.
    """
    points: list[tuple[float, float]] = []
    for key, value in numeric.quantiles.items():
        points.append((float(value), float(key)))
    total = float(numeric.count)
    below = 0.0
    for brk, count in zip(numeric.histogram.breaks, counts, strict=False):
        below += count
        points.append((float(brk), below / total))
    points.sort()
    xs: list[float] = []
    fs: list[float] = []
    top = 0.0
    for x, f in points:
        top = max(top, f)  # keep the function non-decreasing across both sources
        if 0.01 <= top <= 0.99:
            xs.append(x)
            fs.append(top)
    return xs, fs


def _wasserstein(rn: Any, cn: Any, cur_counts: list[int]) -> float:
    """Wasserstein distance (data units) between the central 98 % of two profiled columns."""
    from ninefold.data import stats

    rx, rf = _knots(rn, list(rn.histogram.counts))
    cx, cf = _knots(cn, list(cur_counts))
    if not rx or not cx:
        return math.nan
    distance = stats.wasserstein_cdfs(rx, rf, cx, cf)
    covered = min(rf[-1], cf[-1]) - max(rf[0], cf[0])
    return distance / covered if covered > 0.5 else distance


def _categorical(
    base: ColumnDrift, ref: ColumnProfile, cur: ColumnProfile, gate: dict[str, float]
) -> _Outcome:
    from ninefold.data import stats

    rc, cc = ref.categories, cur.categories
    assert rc is not None
    assert cc is not None
    ref_map, cur_map = rc.as_dict(), cc.as_dict()
    n, m = rc.total, cc.total
    levels = _category_cells(rc, cc)
    ref_counts = [ref_map.get(v, 0) for v in levels]
    cur_counts = [cur_map.get(v, 0) for v in levels]
    ref_rest, cur_rest = n - sum(ref_counts), m - sum(cur_counts)
    if ref_rest or cur_rest:
        ref_counts.append(ref_rest)
        cur_counts.append(cur_rest)
    base.reference_count, base.current_count = n, m
    if n == 0 or m == 0:
        return _no_data(base, n, m)
    if not levels and not (rc.exact and cc.exact):
        base.status = "too_small"
        base.message = (
            "No category is frequent enough to compare: the profiles list only their top "
            f"{max(len(rc.values), len(cc.values)):,} categories, and shares of the rest "
            "cannot be compared without bias. Profile the reference with a larger "
            "max_categories."
        )
        return _Outcome(base)
    result = stats.chi2_homogeneity(ref_counts, cur_counts)
    if (result.dof == 0 and _cells(ref_counts, cur_counts) > 1) or math.isnan(result.pvalue):
        return _too_small(base, n, m)
    base.test, base.pvalue = "chi2", result.pvalue
    base.statistics = {
        "chi2": result.statistic,
        "chi2_dof": float(result.dof or 0),
        "chi2_p": result.pvalue,
    }
    unseen: float | None = None
    if rc.exact and (cc.exact or all(v in cur_map for v in rc.values)):
        # Every reference level is known on both sides: the rest of the current is unseen.
        unseen = (m - sum(cur_map.get(v, 0) for v in rc.values)) / m
    base.effects = {
        "tvd": stats.tvd(ref_counts, cur_counts),
        "linf": stats.linf(ref_counts, cur_counts),
        "jensen_shannon": stats.jensen_shannon(ref_counts, cur_counts),
        "psi": stats.psi(ref_counts, cur_counts),
        "unseen_share": unseen,
    }
    base.effect_exceeds = _exceeds(base.effects, gate)
    base.unit = "tvd"
    shares = [c / n for c in ref_counts]
    base.null_effect = stats.null_tvd(shares, n, m)
    return _Outcome(base, _Pending(base, gate, "categorical", shares, n, m))


def _category_cells(rc: Any, cc: Any) -> list[str]:
    """The categories that get their own cell in the homogeneity table; the rest share one.

    A category qualifies when its count is known on both sides: listed there, or that
    side lists every category (an absent one then has count 0). When a side lists only
    its top categories, the listed ones were *selected* for being frequent in that
    sample, so near the cut-off their counts run high by chance and a comparison would
    see drift that is not there. Then only categories whose pooled count lies well
    above the cut-off (where that selection almost never matters) get a cell; choosing
    by pooled counts treats both samples alike, so it adds no bias of its own.
    """
    ref_map, cur_map = rc.as_dict(), cc.as_dict()
    candidates = [*rc.values, *(v for v in cc.values if v not in ref_map)]
    known = [v for v in candidates if (v in ref_map or rc.exact) and (v in cur_map or cc.exact)]
    n, m = rc.total, cc.total
    cut = 0.0
    for side, total in ((rc, n), (cc, m)):
        if not side.exact and side.counts and total:
            low = float(min(side.counts))
            cut = max(cut, (low + 5.0 * math.sqrt(low) + 5.0) * (n + m) / total)
    if cut == 0.0:
        return known
    return [v for v in known if ref_map.get(v, 0) + cur_map.get(v, 0) >= cut]


def _cells(ref_counts: list[int], cur_counts: list[int]) -> int:
    """Cells holding values on either side (one cell: a single value or bin on both)."""
    return sum(1 for a, b in zip(ref_counts, cur_counts, strict=True) if a + b > 0)


def _reaches(value: float | None, threshold: float) -> bool:
    return value is not None and not math.isnan(value) and value >= threshold


def _exceeds(effects: Mapping[str, float | None], gate: Mapping[str, float]) -> bool:
    """Whether any gated effect size reaches its threshold."""
    return any(_reaches(effects.get(metric), limit) for metric, limit in gate.items())


# -- across columns ------------------------------------------------------------------------


def _decide(pending: list[_Pending], correction: str, alpha: float) -> None:
    """Correct the p-values across the tested columns and settle each verdict."""
    from ninefold.data import stats

    if not pending:
        return
    pvalues = [p.result.pvalue if p.result.pvalue is not None else math.nan for p in pending]
    adjusted = stats.holm(pvalues) if correction == "holm" else stats.benjamini_hochberg(pvalues)
    # Detection limits at the strictest level a column can face (alpha / family size):
    # what this window can see when only one column changes.
    level = alpha / len(pending)
    for p, adj in zip(pending, adjusted, strict=True):
        r = p.result
        r.pvalue_adjusted = float(adj)
        r.rejected = bool(adj <= alpha)
        r.min_detectable = _min_detectable(p, level)
        if r.rejected and r.effect_exceeds:
            r.status = "drift"
        r.message = _message(r, alpha)


def _min_detectable(p: _Pending, level: float) -> float:
    """The smallest shift that would pass both the test (at ``level``) and the gate."""
    from ninefold.data import stats

    if p.kind == "numeric":
        if p.result.test == "ks":
            test_limit = stats.ks_normal_shift(p.n, p.m, level)
        else:
            # Two tests share the level (Bonferroni); the better one sets the limit.
            test_limit = min(
                stats.ks_normal_shift(p.n, p.m, level / 2),
                stats.binned_normal_shift(p.ref_shares, p.n, p.m, level / 2),
            )
        # Each gated effect size as the normal mean shift (in sd) that reaches it.
        c = stats.normal_shift_sensitivity(p.ref_shares)
        per_sd2 = {"psi": c, "jensen_shannon": c / (8 * math.log(2))}
    else:
        test_limit = stats.critical_tvd(p.ref_shares, p.n, p.m, level)
        # Each gated effect size as the share of rows moved between the two largest
        # categories (the least visible move) that reaches it.
        top = sorted((x for x in p.ref_shares if x > 0), reverse=True)[:2]
        inverse = sum(1 / x for x in top) if len(top) == 2 else 0.0
        per_sd2 = {"psi": inverse, "jensen_shannon": inverse / (8 * math.log(2))}
    limits = []
    for metric, threshold in p.gate.items():
        if metric in per_sd2:
            scale = per_sd2[metric]
            root = threshold if metric == "jensen_shannon" else math.sqrt(threshold)
            limits.append(root / math.sqrt(scale) if scale > 0 else math.inf)
        else:  # wasserstein, mean_shift (sd); tvd, linf, unseen_share (share of rows)
            limits.append(threshold)
    return max(test_limit, min(limits, default=0.0))


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}"


_LABELS = {
    "psi": ("PSI", ""),
    "wasserstein": ("Wasserstein", " sd"),
    "mean_shift": ("mean shift", " sd"),
    "jensen_shannon": ("Jensen-Shannon", ""),
    "tvd": ("TVD", ""),
    "linf": ("L-inf", ""),
    "unseen_share": ("unseen share", ""),
}


def _message(r: ColumnDrift, alpha: float) -> str:
    e = r.effects
    parts = []
    for metric, threshold in r.thresholds.items():
        label, unit = _LABELS.get(metric, (metric, ""))
        parts.append(f"{label} {_fmt(e.get(metric))}{unit} (threshold {_fmt(threshold)}{unit})")
    sizes = ", ".join(parts)
    unseen = e.get("unseen_share")
    if unseen and "unseen_share" not in r.thresholds:
        sizes += f"; {_fmt(100 * unseen)}% of rows in unseen categories"
    if r.kind == "numeric":
        limit = f"mean shifts of about {_fmt(r.min_detectable)} sd"
    else:
        limit = f"about {_fmt(100 * (r.min_detectable or 0))}% of rows changing category"
    p = f"corrected p = {_fmt(r.pvalue_adjusted)}"
    if r.status == "drift":
        return f"Distribution changed: {sizes}; {p}."
    if r.rejected:
        return (
            f"A real but small change, below the practical threshold: {sizes}; {p}. "
            "Lower the threshold if changes this small matter."
        )
    return (
        f"No significant change ({p}, alpha {_fmt(alpha)}); {sizes}. "
        f"This window can detect {limit} or more."
    )


def _hint_renames(results: list[ColumnDrift], ref: DatasetProfile, cur: DatasetProfile) -> None:
    """Point out a likely rename: one missing and one new column of the same kind."""
    missing = [r for r in results if r.status == "missing"]
    new = [r for r in results if r.status == "new"]
    for gone in missing:
        candidates = [r for r in new if r.kind == gone.kind]
        if len(candidates) == 1:
            other = candidates[0].column
            gone.message += f" Was it renamed to {other!r}? Rename it back or update the reference."
            candidates[0].message += f" Is it the reference column {gone.column!r} renamed?"
        else:
            gone.message += " Restore the column, or drop it from the reference."


__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_THRESHOLDS",
    "ColumnDrift",
    "DriftReport",
    "DriftThresholds",
    "compare",
]
