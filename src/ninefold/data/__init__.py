"""Data validation: profiles, schemas, anomalies, cleaning and dataset versions.

Example:
    >>> from ninefold import data as nfd
    >>> prof = nfd.profile("train.parquet")  # doctest: +SKIP
    >>> schema = nfd.infer_schema(prof)  # doctest: +SKIP
    >>> nfd.validate("batch.parquet", schema).raise_for_errors()  # doctest: +SKIP

Heavy libraries (polars, scipy, plotly) are imported inside the functions that use them.
"""

from __future__ import annotations

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

__all__ = [
    "CategoryCounts",
    "ColumnProfile",
    "DatasetProfile",
    "DatetimeRange",
    "Histogram",
    "LengthStats",
    "NumericStats",
    "merge",
]
