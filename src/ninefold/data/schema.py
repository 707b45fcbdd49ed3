"""The data schema: what a data set is expected to look like, as YAML a person reviews.

A :class:`Schema` has one :class:`ColumnSchema` per column and
:class:`DatasetRules` for the whole table. :func:`~ninefold.data.infer_schema`
writes one from a profile; people edit it in pull requests; :func:`~ninefold.data.validate`
checks data against it. Loading is strict: an unknown key (a typo) raises
:class:`~ninefold.errors.SchemaError` naming the key and the valid ones.

Example YAML::

    # ninefold data schema
    format: 1
    dataset:
      min_rows: 1
      keys: [customer_id]
      max_duplicate_fraction: 0.01
    columns:
      age:
        type: integer
        range: {min: 0, max: 130}
        max_out_of_range_fraction: 0.001
      plan:
        type: string
        max_null_fraction: 0.02
        categories: [basic, pro, team]
        drift: {threshold: 0.2}
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ninefold.errors import SchemaError

SCHEMA_FORMAT = 1
"""Version of the YAML layout."""

TYPES = (
    "integer",
    "float",
    "boolean",
    "string",
    "categorical",
    "datetime",
    "date",
    "duration",
    "other",
)
"""Valid values of ``type`` (the profile's column kinds)."""

_HEADER = (
    "# ninefold data schema: the expected shape of a data set.\n"
    "# Edit and review it like code; see docs/data.md for every key.\n"
)


# -- strict loading helpers -------------------------------------------------------


def _check_keys(data: Any, allowed: list[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SchemaError(f"{where} must be a mapping, got {type(data).__name__}: {data!r}.")
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SchemaError(
                f"Unknown key {key!r} in {where}.{hint} Valid keys: {', '.join(allowed)}."
            )
    return data


def _number(
    value: Any, where: str, *, low: float | None = None, high: float | None = None
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise SchemaError(f"{where} must be a number, got {value!r}.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SchemaError(f"{where} must be between {low} and {high}, got {value!r}.")
    return value


def _fraction(value: Any, where: str) -> float:
    return float(_number(value, where, low=0.0, high=1.0))


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"{where} must be a non-negative whole number, got {value!r}.")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(f"{where} must be true or false, got {value!r}.")
    return value


def _bound(value: Any, where: str) -> float | int | str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise SchemaError(
                f"{where} must be a number or an ISO date/time such as 2024-01-31, got {value!r}."
            ) from None
        return value
    return _number(value, where)


def _names(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"{where} must be a list of column names, got {value!r}.")
    return list(value)


# -- rules ----------------------------------------------------------------------


@dataclass
class Range:
    """Inclusive bounds; ``None`` leaves a side open.

    Numbers for numeric columns, ISO 8601 text for datetime and date columns,
    seconds for durations.
    """

    min: float | int | str | None = None
    max: float | int | str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only the bounds that are set."""
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Range:
        """Strictly parsed from YAML."""
        data = _check_keys(data, ["min", "max"], where)
        lo = _bound(data.get("min"), f"{where}.min")
        hi = _bound(data.get("max"), f"{where}.max")
        numbers = isinstance(lo, int | float) and isinstance(hi, int | float)
        texts = isinstance(lo, str) and isinstance(hi, str)
        if (numbers or texts) and lo > hi:  # type: ignore[operator]
            raise SchemaError(f"{where}: min {lo!r} is above max {hi!r}; swap them.")
        return cls(lo, hi)


@dataclass
class CountRange:
    """Inclusive bounds on a count (e.g. distinct values)."""

    min: int | None = None
    max: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only the bounds that are set."""
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> CountRange:
        """Strictly parsed from YAML."""
        data = _check_keys(data, ["min", "max"], where)
        lo = None if data.get("min") is None else _count(data["min"], f"{where}.min")
        hi = None if data.get("max") is None else _count(data["max"], f"{where}.max")
        if lo is not None and hi is not None and lo > hi:
            raise SchemaError(f"{where}: min {lo} is above max {hi}; swap them.")
        return cls(lo, hi)


@dataclass
class Outliers:
    """Values further than ``z`` robust standard deviations from the centre are outliers.

    Attributes:
        z: how many scales away a value must be.
        center: the median (from the reference); the batch's own median when None.
        scale: a robust standard deviation, ``IQR / 1.349``; the batch's own when None.
    """

    z: float = 6.0
    center: float | None = None
    scale: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set."""
        data: dict[str, Any] = {"z": self.z}
        if self.center is not None:
            data["center"] = self.center
        if self.scale is not None:
            data["scale"] = self.scale
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Outliers:
        """Strictly parsed from YAML."""
        data = _check_keys(data, ["z", "center", "scale"], where)
        z = _number(data.get("z", 6.0), f"{where}.z", low=0.0)
        center = data.get("center")
        scale = data.get("scale")
        return cls(
            float(z),
            None if center is None else float(_number(center, f"{where}.center")),
            None if scale is None else float(_number(scale, f"{where}.scale", low=0.0)),
        )


@dataclass
class DriftRule:
    """When a column counts as drifted (read by :mod:`ninefold.data.drift`).

    Attributes:
        threshold: the practical effect size above which a shift matters; the
            drift module's documented default when None.
        metric: the effect size the threshold applies to (e.g. ``"psi"``); the
            default metric of the column's type when None.
        enabled: False skips the column.
    """

    threshold: float | None = None
    metric: str | None = None
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that differ from the defaults."""
        data: dict[str, Any] = {}
        if self.threshold is not None:
            data["threshold"] = self.threshold
        if self.metric is not None:
            data["metric"] = self.metric
        if not self.enabled:
            data["enabled"] = False
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> DriftRule:
        """Strictly parsed from YAML."""
        data = _check_keys(data, ["threshold", "metric", "enabled"], where)
        threshold = data.get("threshold")
        metric = data.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise SchemaError(f"{where}.metric must be a metric name, got {metric!r}.")
        return cls(
            None if threshold is None else float(_number(threshold, f"{where}.threshold", low=0)),
            metric,
            _flag(data.get("enabled", True), f"{where}.enabled"),
        )


@dataclass
class ColumnSchema:
    """Expectations for one column. Only ``type`` is needed; every rule is optional.

    Attributes:
        type: one of :data:`TYPES`.
        required: a missing column is an error (else it is skipped).
        max_null_fraction: the largest share of nulls allowed.
        range: allowed values of a numeric, datetime or date column.
        max_out_of_range_fraction: share of values outside ``range`` tolerated as a
            warning; more is an error.
        categories: allowed values of a string, categorical or boolean column.
        max_unseen_fraction: share of values outside ``categories`` tolerated as a
            warning; more is an error.
        min_domain_coverage: smallest share of ``categories`` that must appear
            (checked once the batch has enough values to expect all of them).
        distinct: bounds on the number of distinct non-null values.
        unique: every non-null value must be different.
        allow_nan: NaN is a valid value of this float column.
        allow_inf: ±inf are valid values of this float column.
        outliers: flag values far from the bulk (warnings).
        drift: drift rule (same source over time).
        skew: skew rule (training versus serving).
        description: free text for people.
    """

    type: str
    required: bool = True
    max_null_fraction: float = 0.0
    range: Range | None = None
    max_out_of_range_fraction: float = 0.0
    categories: list[str] | None = None
    max_unseen_fraction: float = 0.0
    min_domain_coverage: float | None = None
    distinct: CountRange | None = None
    unique: bool = False
    allow_nan: bool = False
    allow_inf: bool = False
    outliers: Outliers | None = None
    drift: DriftRule | None = None
    skew: DriftRule | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that differ from the defaults, in a fixed order."""
        data: dict[str, Any] = {}
        defaults = ColumnSchema(type=self.type)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "type" and value == getattr(defaults, f.name):
                continue
            data[f.name] = value.to_dict() if hasattr(value, "to_dict") else value
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ColumnSchema:
        """Strictly parsed from YAML."""
        data = _check_keys(data, [f.name for f in fields(cls)], where)
        kind = data.get("type")
        if kind not in TYPES:
            raise SchemaError(
                f"{where}.type must be one of {', '.join(TYPES)}, got {kind!r}."
                if kind is not None
                else f"{where} needs a 'type' ({', '.join(TYPES)})."
            )
        out = cls(type=kind)
        for key, value in data.items():
            at = f"{where}.{key}"
            if key == "type" or value is None:
                continue
            if key in ("required", "unique", "allow_nan", "allow_inf"):
                setattr(out, key, _flag(value, at))
            elif key in (
                "max_null_fraction",
                "max_out_of_range_fraction",
                "max_unseen_fraction",
                "min_domain_coverage",
            ):
                setattr(out, key, _fraction(value, at))
            elif key == "range":
                out.range = Range.from_dict(value, at)
            elif key == "distinct":
                out.distinct = CountRange.from_dict(value, at)
            elif key == "categories":
                if not isinstance(value, list):
                    raise SchemaError(f"{at} must be a list of values, got {value!r}.")
                out.categories = [_category(v) for v in value]
            elif key == "outliers":
                out.outliers = Outliers.from_dict(value, at)
            elif key in ("drift", "skew"):
                setattr(out, key, DriftRule.from_dict(value, at))
            elif key == "description":
                out.description = str(value)
        return out


def _category(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class DatasetRules:
    """Expectations for the whole table.

    Attributes:
        min_rows: fewest rows allowed (1 means "not empty").
        max_rows: most rows allowed.
        keys: columns that together identify a row; duplicates are errors.
        max_duplicate_fraction: share of exact duplicate rows tolerated as a
            warning; more is an error. None skips the (costly) check.
        allow_extra_columns: columns not in the schema are fine (else a warning).
    """

    min_rows: int | None = None
    max_rows: int | None = None
    keys: list[str] = field(default_factory=list)
    max_duplicate_fraction: float | None = None
    allow_extra_columns: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that differ from the defaults."""
        data: dict[str, Any] = {}
        defaults = DatasetRules()
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name):
                data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "dataset") -> DatasetRules:
        """Strictly parsed from YAML."""
        data = _check_keys(data, [f.name for f in fields(cls)], where)
        out = cls()
        if data.get("min_rows") is not None:
            out.min_rows = _count(data["min_rows"], f"{where}.min_rows")
        if data.get("max_rows") is not None:
            out.max_rows = _count(data["max_rows"], f"{where}.max_rows")
        if out.min_rows is not None and out.max_rows is not None and out.min_rows > out.max_rows:
            raise SchemaError(
                f"{where}: min_rows {out.min_rows} is above max_rows {out.max_rows}; swap them."
            )
        if data.get("keys") is not None:
            out.keys = _names(data["keys"], f"{where}.keys")
        if data.get("max_duplicate_fraction") is not None:
            out.max_duplicate_fraction = _fraction(
                data["max_duplicate_fraction"], f"{where}.max_duplicate_fraction"
            )
        if data.get("allow_extra_columns") is not None:
            out.allow_extra_columns = _flag(
                data["allow_extra_columns"], f"{where}.allow_extra_columns"
            )
        return out


# -- the schema -------------------------------------------------------------------


@dataclass
class Schema:
    """Expectations for a data set: columns (in order) and dataset-level rules.

    Example:
        >>> s = Schema({"age": ColumnSchema("integer", range=Range(0, 130))})
        >>> Schema.from_yaml(s.to_yaml()) == s
        True
    """

    columns: dict[str, ColumnSchema] = field(default_factory=dict)
    dataset: DatasetRules = field(default_factory=DatasetRules)

    def __getitem__(self, name: str) -> ColumnSchema:
        try:
            return self.columns[name]
        except KeyError:
            raise SchemaError(
                f"The schema has no column {name!r}; its columns: {list(self.columns)[:20]}."
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in YAML order: format, dataset, columns."""
        return {
            "format": SCHEMA_FORMAT,
            "dataset": self.dataset.to_dict(),
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "schema") -> Schema:
        """Strictly parsed; raises :class:`SchemaError` naming any bad key or value."""
        data = _check_keys(data, ["format", "dataset", "columns"], where)
        fmt = data.get("format", SCHEMA_FORMAT)
        if fmt != SCHEMA_FORMAT:
            raise SchemaError(
                f"{where}.format is {fmt!r}; this ninefold reads format {SCHEMA_FORMAT}."
            )
        columns_data = data.get("columns") or {}
        if not isinstance(columns_data, dict):
            raise SchemaError(f"{where}.columns must map column names to rules.")
        columns = {
            str(name): ColumnSchema.from_dict(rules, f"columns.{name}")
            for name, rules in columns_data.items()
        }
        dataset = DatasetRules.from_dict(data.get("dataset") or {}, "dataset")
        unknown_keys = [k for k in dataset.keys if k not in columns]
        if unknown_keys:
            raise SchemaError(
                f"dataset.keys names {unknown_keys}, which are not columns of the schema "
                f"({', '.join(list(columns)[:20])})."
            )
        return cls(columns, dataset)

    def to_yaml(self) -> str:
        """Readable YAML (short lists and bounds inline), with a header comment."""
        import yaml

        text = yaml.safe_dump(
            self.to_dict(),
            sort_keys=False,
            default_flow_style=None,
            allow_unicode=True,
            width=100,
        )
        return _HEADER + text

    @classmethod
    def from_yaml(cls, text: str, where: str = "schema") -> Schema:
        """Parse YAML text; raises :class:`SchemaError` on bad YAML or bad rules."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SchemaError(f"{where} is not valid YAML: {exc}") from exc
        if data is None:
            raise SchemaError(f"{where} is empty; it needs at least 'columns'.")
        return cls.from_dict(data, where)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the schema as YAML (atomically); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.to_yaml(), encoding="utf-8")
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Schema:
        """Read a schema YAML file; errors name the file and the bad key."""
        p = Path(path)
        if not p.exists():
            raise SchemaError(
                f"Schema file {str(p)!r} does not exist. Create one with: "
                "ninefold data infer DATA --out schema.yaml"
            )
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError(f"Schema file {str(p)!r} is not UTF-8 text: {exc}") from exc
        try:
            return cls.from_yaml(text, where=str(p))
        except SchemaError as exc:
            if str(p) in str(exc):
                raise
            raise SchemaError(f"{p}: {exc}") from exc
