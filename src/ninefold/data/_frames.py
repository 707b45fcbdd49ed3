"""Turn what users pass (pandas, polars, Arrow, a file path) into one polars DataFrame.

Everything in :mod:`ninefold.data` works on polars; this module is the one
place that converts. pandas goes through Arrow once. Object columns that hold
values of several Python types (a common pandas accident) are turned into
strings and remembered, so validation can report them instead of crashing.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ninefold.errors import DataError, InvalidArgument

if TYPE_CHECKING:
    import polars as pl

_CSV = (".csv", ".tsv", ".txt")
_PARQUET = (".parquet", ".pq")
_IPC = (".arrow", ".feather", ".ipc")
_JSON = (".json",)
_NDJSON = (".ndjson", ".jsonl")
_SUFFIXES = _CSV + _PARQUET + _IPC + _JSON + _NDJSON
_TYPE_SAMPLE = 10_000


@dataclass
class Frame:
    """A loaded data set.

    Attributes:
        df: the data as a polars DataFrame.
        source: the file it came from, if any.
        mixed_types: per column, the Python type names found in an object column
            that mixed several types (the column was converted to strings).
    """

    df: pl.DataFrame
    source: str | None = None
    mixed_types: dict[str, list[str]] = field(default_factory=dict)


def load(data: Any, *, encoding: str | None = None) -> Frame:
    """Load ``data`` (pandas/polars DataFrame or LazyFrame, Arrow table, path) as polars.

    Args:
        data: the data set, or the path of a CSV, TSV, Parquet, Arrow/Feather, JSON
            or NDJSON file.
        encoding: text encoding of a CSV file when it is not UTF-8 (e.g. ``"cp1252"``).

    Raises:
        DataError: the file is missing, unreadable or not valid UTF-8.
        InvalidArgument: ``data`` is of a type ninefold cannot read.
    """
    import polars as pl

    if isinstance(data, Frame):
        return data
    if isinstance(data, str | os.PathLike):
        return _read_path(Path(data), encoding)
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        return _fix_objects(data)
    if isinstance(data, pl.Series):
        return _fix_objects(data.to_frame())
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(data)
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if hasattr(data, "to_table") and not isinstance(data, pa.Table):
            data = data.to_table()  # a pyarrow.dataset.Dataset
        try:
            frame = pl.from_arrow(data)
        except Exception as exc:
            raise DataError(f"Cannot convert the Arrow data to polars: {exc}") from exc
        return _fix_objects(frame if isinstance(frame, pl.DataFrame) else frame.to_frame())
    raise InvalidArgument(
        f"Cannot read data of type {type(data).__module__}.{type(data).__qualname__}. "
        "Pass a pandas or polars DataFrame, a pyarrow Table, or the path of a CSV or "
        "Parquet file."
    )


def _read_path(path: Path, encoding: str | None) -> Frame:
    import polars as pl

    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist. Check the path.")
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise DataError(
                f"{str(path)!r} is a folder without .parquet files; pass a file instead."
            )
        return Frame(_guard(lambda: pl.read_parquet(files), path), str(path))
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataError(
            f"Cannot tell the format of {str(path)!r} from its suffix {suffix or '(none)'!r}. "
            f"Use one of: {', '.join(_SUFFIXES)}."
        )
    if suffix in _PARQUET:
        df = _guard(lambda: pl.read_parquet(path), path)
    elif suffix in _IPC:
        df = _guard(lambda: pl.read_ipc(path), path)
    elif suffix in _NDJSON:
        df = _guard(lambda: pl.read_ndjson(path), path)
    elif suffix in _JSON:
        df = _guard(lambda: pl.read_json(path), path)
    else:
        df = _read_csv(path, suffix, encoding)
    return _fix_objects(df, source=str(path))


def _read_csv(path: Path, suffix: str, encoding: str | None) -> pl.DataFrame:
    import polars as pl

    sep = "\t" if suffix == ".tsv" else ","
    kwargs: dict[str, Any] = {"separator": sep, "infer_schema_length": 10_000}
    if encoding is None or encoding.replace("-", "").lower() == "utf8":
        try:
            return pl.read_csv(path, **kwargs)
        except pl.exceptions.ComputeError as exc:
            if "utf" not in str(exc).lower():
                raise DataError(f"Cannot read CSV file {str(path)!r}: {exc}") from exc
            raise _not_utf8(path) from exc
    try:
        text = path.read_bytes().decode(encoding)
    except LookupError as exc:
        raise DataError(
            f"Unknown text encoding {encoding!r} for {str(path)!r}; use a Python codec name "
            "such as 'latin-1', 'cp1252' or 'utf-16'."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{str(path)!r} is not valid {encoding}: byte {exc.start} cannot be decoded "
            f"({exc.reason}). Pass the file's real encoding."
        ) from exc
    return _guard(lambda: pl.read_csv(io.BytesIO(text.encode("utf-8")), **kwargs), path)


def _not_utf8(path: Path) -> DataError:
    offset = "?"
    sample = b""
    try:
        raw = path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = str(exc.start)
        sample = raw[max(0, exc.start - 10) : exc.start + 10]
    return DataError(
        f"CSV file {str(path)!r} is not valid UTF-8 (first bad byte at offset {offset}, "
        f"near {sample!r}). Pass its encoding, e.g. encoding='cp1252' in Python or "
        "--encoding cp1252 on the command line, or re-save the file as UTF-8."
    )


def _guard(read: Any, path: Path) -> pl.DataFrame:
    try:
        df: pl.DataFrame = read()
    except OSError as exc:
        raise DataError(f"Cannot read {str(path)!r}: {exc}") from exc
    except Exception as exc:
        # polars raises its own exception classes for malformed files.
        raise DataError(f"Cannot read {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    return df


def _from_pandas(data: Any) -> Frame:
    import pandas as pd
    import polars as pl

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise InvalidArgument(f"Cannot read a pandas {type(data).__name__}; pass a DataFrame.")
    if not data.columns.is_unique:
        dupes = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise DataError(
            f"The DataFrame has duplicate column names {dupes}; rename them before profiling."
        )
    mixed: dict[str, list[str]] = {}
    fixed = {}
    for name in data.columns:
        col = data[name]
        if col.dtype == object:
            kind = pd.api.types.infer_dtype(col, skipna=True)
            if kind not in ("string", "empty", "boolean", "bytes", "date", "datetime", "decimal"):
                types = _type_names(col.dropna().head(_TYPE_SAMPLE).tolist())
                if len(types) > 1 or kind in ("mixed", "mixed-integer", "mixed-integer-float"):
                    mixed[str(name)] = types
                    fixed[name] = col.map(lambda v: None if _is_missing(v) else str(v)).astype(
                        "string"
                    )
    if fixed:
        data = data.assign(**{str(k): v for k, v in fixed.items()})
    data = data.rename(columns={c: str(c) for c in data.columns if not isinstance(c, str)})
    try:
        df = pl.from_pandas(data, include_index=False)
    except Exception as exc:
        raise DataError(
            f"Cannot convert the pandas DataFrame to Arrow: {type(exc).__name__}: {exc}. "
            "Cast the offending column to one type first."
        ) from exc
    frame = _fix_objects(df)
    frame.mixed_types.update(mixed)
    return frame


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _type_names(values: list[Any]) -> list[str]:
    return sorted({type(v).__name__ for v in values if not _is_missing(v)})


def _fix_objects(df: pl.DataFrame, source: str | None = None) -> Frame:
    """Convert polars Object columns (arbitrary Python values) to strings, noting mixed types."""
    import polars as pl

    mixed: dict[str, list[str]] = {}
    replace = []
    for name, dtype in df.schema.items():
        if dtype == pl.Object:
            values = df[name].to_list()
            types = _type_names(values[:_TYPE_SAMPLE])
            if len(types) > 1:
                mixed[name] = types
            replace.append(
                pl.Series(
                    name, [None if _is_missing(v) else str(v) for v in values], dtype=pl.String
                )
            )
    if replace:
        df = df.with_columns(replace)
    return Frame(df, source, mixed)
