"""What validation finds: :class:`Anomaly` and the :class:`ValidationReport` that holds them.

Severities: ``error`` fails the report (``report.ok`` is False, the CLI exits
1); ``warning`` is shown but passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ninefold.data.profile import DatasetProfile
from ninefold.errors import DataValidationError

Severity = Literal["error", "warning"]

KINDS = (
    "missing_column",
    "unexpected_column",
    "type_mismatch",
    "mixed_types",
    "null_fraction",
    "non_finite",
    "out_of_range",
    "new_category",
    "low_domain_coverage",
    "distinct_count",
    "unique_violation",
    "empty_dataset",
    "row_count",
    "duplicate_rows",
    "duplicate_keys",
    "outliers",
    "constant_column",
    "all_null_column",
    "id_like_column",
    "duplicated_column",
    "few_rows",
)
"""Every anomaly kind :func:`validate` reports."""


@dataclass
class Anomaly:
    """One problem found in the data.

    Attributes:
        kind: one of :data:`KINDS`.
        column: the column, or None for dataset-level anomalies.
        severity: ``"error"`` or ``"warning"``.
        count: rows (or values, columns) affected.
        fraction: ``count`` as a share of the rows (0.0 when not row-based).
        examples: a few offending values or row numbers.
        message: what is wrong and the likely fix.
    """

    kind: str
    column: str | None
    severity: Severity
    count: int
    fraction: float
    examples: list[Any]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "kind": self.kind,
            "column": self.column,
            "severity": self.severity,
            "count": self.count,
            "fraction": self.fraction,
            "examples": list(self.examples),
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Anomaly:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass
class ValidationReport:
    """The anomalies of one data set against one schema.

    Attributes:
        anomalies: errors first, then warnings; each group in column order.
        num_rows: rows validated.
        num_columns: columns in the data.
        source: the file validated, if any.
        profile: the batch's profile, when ``validate(..., profile=True)``.
    """

    anomalies: list[Anomaly]
    num_rows: int
    num_columns: int
    source: str | None = None
    profile: DatasetProfile | None = field(default=None, compare=False)

    @property
    def errors(self) -> list[Anomaly]:
        """Error-severity anomalies."""
        return [a for a in self.anomalies if a.severity == "error"]

    @property
    def warnings(self) -> list[Anomaly]:
        """Warning-severity anomalies."""
        return [a for a in self.anomalies if a.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error-severity anomaly."""
        return not self.errors

    def by_kind(self, kind: str) -> list[Anomaly]:
        """Anomalies of one kind."""
        return [a for a in self.anomalies if a.kind == kind]

    def summary(self) -> str:
        """One line: rows, columns, errors and warnings."""
        verdict = "passed" if self.ok else "FAILED"
        return (
            f"Validation {verdict}: {self.num_rows} rows, {self.num_columns} columns, "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)."
        )

    def raise_for_errors(self) -> ValidationReport:
        """Raise :class:`~ninefold.errors.DataValidationError` if there are errors; else self."""
        if self.ok:
            return self
        lines = [f"- {a.message}" for a in self.errors[:10]]
        more = len(self.errors) - 10
        if more > 0:
            lines.append(f"- ... and {more} more error(s)")
        raise DataValidationError(self.summary() + "\n" + "\n".join(lines), report=self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the profile, if any, included)."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "num_rows": self.num_rows,
            "num_columns": self.num_columns,
            "source": self.source,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "anomalies": [a.to_dict() for a in self.anomalies],
        }
        if self.profile is not None:
            data["profile"] = self.profile.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """Inverse of :meth:`to_dict`."""
        prof = data.get("profile")
        return cls(
            anomalies=[Anomaly.from_dict(a) for a in data["anomalies"]],
            num_rows=int(data["num_rows"]),
            num_columns=int(data["num_columns"]),
            source=data.get("source"),
            profile=DatasetProfile.from_dict(prof) if prof else None,
        )

    def to_json(self, indent: int | None = None) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=str)
