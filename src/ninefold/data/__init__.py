"""Data validation: profiles, schemas, anomalies, cleaning and dataset versions.

Example:
    >>> from ninefold import data as nfd
    >>> prof = nfd.profile("train.parquet")  # doctest: +SKIP
    >>> schema = nfd.infer_schema(prof)  # doctest: +SKIP
    >>> schema.save("schema.yaml")  # doctest: +SKIP
    >>> nfd.validate("batch.parquet", schema).raise_for_errors()  # doctest: +SKIP

Importing this package is light: polars, scipy and plotly are imported inside
the functions that use them.
"""

from __future__ import annotations

from ninefold.data.cleaning import (
    Cleaned,
    CleaningSummary,
    drop_columns,
    drop_duplicates,
    drop_unnecessary_columns,
    handle_missing,
    quarantine,
)
from ninefold.data.datasets import (
    fingerprint,
    get_dataset,
    list_dataset_versions,
    list_datasets,
    load_dataset_profile,
    load_dataset_schema,
    log_dataset,
)
from ninefold.data.drift import ColumnDrift, DriftReport, DriftThresholds, compare
from ninefold.data.drift_report import drift_report
from ninefold.data.inference import infer_schema

# The submodule ``profile`` must be imported before the function ``profile`` is
# bound below, so that the package attribute stays the function.
from ninefold.data.profile import (
    CategoryCounts,
    ColumnProfile,
    DatasetProfile,
    DatetimeRange,
    Histogram,
    LengthStats,
    NumericStats,
    merge,
)
from ninefold.data.profiling import profile
from ninefold.data.schema import (
    ColumnSchema,
    CountRange,
    DatasetRules,
    DriftRule,
    Outliers,
    Range,
    Schema,
)
from ninefold.data.validation import Anomaly, ValidationReport, validate

__all__ = [
    "Anomaly",
    "CategoryCounts",
    "Cleaned",
    "CleaningSummary",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnSchema",
    "CountRange",
    "DatasetProfile",
    "DatasetRules",
    "DatetimeRange",
    "DriftReport",
    "DriftRule",
    "DriftThresholds",
    "Histogram",
    "LengthStats",
    "NumericStats",
    "Outliers",
    "Range",
    "Schema",
    "ValidationReport",
    "compare",
    "drift_report",
    "drop_columns",
    "drop_duplicates",
    "drop_unnecessary_columns",
    "fingerprint",
    "get_dataset",
    "handle_missing",
    "infer_schema",
    "list_dataset_versions",
    "list_datasets",
    "load_dataset_profile",
    "load_dataset_schema",
    "log_dataset",
    "merge",
    "profile",
    "quarantine",
    "validate",
]
