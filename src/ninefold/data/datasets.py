"""Dataset versions: fingerprint content, store its profile, link it to the run (lineage).

``nf.log_dataset(df, name="train")`` hashes the content, and registers
``datasets:/train@1`` the first time, ``@2`` when the content changes, and
the same version again when it does not. The profile (and a schema, if
given) goes to the artifact store, so drift checks later need no raw rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ninefold.data._frames import load
from ninefold.data.profile import DatasetProfile
from ninefold.data.profiling import column_kind
from ninefold.data.schema import Schema
from ninefold.errors import InvalidArgument
from ninefold.uris import DatasetURI, parse_uri

if TYPE_CHECKING:
    import polars as pl

    from ninefold.store.datasets import DatasetVersion
    from ninefold.tracking.client import Client
    from ninefold.tracking.fluent import ActiveRun

FINGERPRINT_FORMAT = 1
"""Changes only if the canonical form below changes (it never silently does)."""


def fingerprint(data: Any) -> str:
    """A 64-hex-digit content hash, stable across runs, processes and library versions.

    It covers column names, their logical types and every value, in row order.
    Values are hashed in a canonical form (nulls as a bit mask, NaN and -0.0
    normalised, strings by their UTF-8 bytes), not as whatever buffers a
    library happened to produce, so the same table read from CSV, Parquet,
    pandas or polars gets the same fingerprint when the types agree.
    """
    df = load(data).df
    digest = hashlib.blake2b(digest_size=32)
    header = {
        "format": FINGERPRINT_FORMAT,
        "rows": df.height,
        "columns": [[name, _logical(dtype)] for name, dtype in df.schema.items()],
    }
    digest.update(json.dumps(header, separators=(",", ":")).encode())
    for name in df.columns:
        digest.update(b"\x00column\x00" + name.encode())
        for part in _canonical(df[name]):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()


def _logical(dtype: Any) -> str:
    kind = column_kind(dtype)
    if kind == "categorical":
        return "string"  # the same text, whether stored as a dictionary or not
    if kind in ("integer", "float"):
        return kind  # Int32 and Int64 holding the same numbers are the same content
    return str(dtype) if kind in ("datetime", "duration", "other") else kind


def _canonical(series: pl.Series) -> list[bytes]:
    import numpy as np
    import polars as pl

    series = series.rechunk()
    kind = column_kind(series.dtype)
    nulls = np.packbits(series.is_null().to_numpy()).tobytes()
    if kind in ("string", "categorical"):
        return [nulls, *_varlen(series.cast(pl.String).fill_null(""))]
    if kind == "float":
        values = series.cast(pl.Float64).fill_null(0.0).to_numpy() + 0.0  # -0.0 becomes 0.0
        values[np.isnan(values)] = np.nan  # one NaN bit pattern
        return [nulls, values.tobytes()]
    if kind == "integer":
        values = series.fill_null(0).to_numpy()
        signed = np.issubdtype(values.dtype, np.signedinteger)
        wide = values.astype(np.int64 if signed else np.uint64)
        return [nulls, b"s" if signed else b"u", wide.tobytes()]
    if kind == "boolean":
        return [nulls, series.fill_null(False).cast(pl.UInt8).to_numpy().tobytes()]
    if kind in ("datetime", "date", "duration"):
        return [nulls, series.to_physical().fill_null(0).cast(pl.Int64).to_numpy().tobytes()]
    if series.dtype == pl.Binary:
        return [nulls, *_varlen(series.fill_null(b""))]
    # Nested and exotic types: their values as JSON (rare, so a row loop is acceptable).
    text = json.dumps(series.to_list(), sort_keys=True, default=str, separators=(",", ":"))
    return [nulls, text.encode("utf-8")]


def _varlen(series: pl.Series) -> list[bytes]:
    """Byte lengths and the concatenated bytes of a string or binary column."""
    import polars as pl

    if series.dtype == pl.String:
        lengths = series.str.len_bytes()
        data = series.str.join("").item().encode("utf-8") if len(series) else b""
    else:
        lengths = series.bin.size()
        data = b"".join(series.to_list())
    return [lengths.cast(pl.Int64).to_numpy().tobytes(), data]


def _client(run: ActiveRun | None) -> Client:
    from ninefold.tracking.client import get_client

    return run.client if run is not None else get_client()


def log_dataset(
    data: Any,
    name: str,
    *,
    schema: Schema | None = None,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    context: str | None = None,
    run: ActiveRun | None = None,
    encoding: str | None = None,
) -> DatasetVersion:
    """Register ``data`` as a version of the data set ``name`` and link it to the run.

    Args:
        data: a data frame or the path of a data file.
        name: the data set's name (letters, digits, ``_ - .``).
        schema: a schema to store with a new version.
        description: free text of a new version.
        tags: tags of a new version.
        context: how the run used it (``"training"``, ``"evaluation"``...).
        run: the run to link to (default: the active run, if any).
        encoding: text encoding of a CSV file that is not UTF-8.

    Returns:
        The :class:`~ninefold.store.datasets.DatasetVersion`: new when the content
        is new, the existing one when it is not.

    Example:
        >>> with nf.start_run():  # doctest: +SKIP
        ...     dv = nf.log_dataset(train_df, name="churn-train", context="training")
        >>> dv.uri  # doctest: +SKIP
        'datasets:/churn-train@1'
    """
    from ninefold.data.profiling import profile
    from ninefold.store.datasets import check_dataset_name
    from ninefold.tracking.fluent import active_run

    check_dataset_name(name)
    run = run or active_run()
    client = _client(run)
    frame = load(data, encoding=encoding)
    digest = fingerprint(frame)
    existing = [v for v in client.store.datasets.find(digest) if v.name == name]
    if existing:
        version = existing[0]
    else:
        prof = profile(frame, duplicates=True)
        blob = client.artifacts.put_bytes(prof.to_json().encode("utf-8"))
        schema_digest = None
        if schema is not None:
            schema_digest = client.artifacts.put_bytes(schema.to_yaml().encode("utf-8")).digest
        version, _ = client.store.datasets.register(
            name,
            fingerprint=digest,
            num_rows=prof.num_rows,
            num_columns=prof.num_columns,
            profile_digest=blob.digest,
            schema_digest=schema_digest,
            run_id=run.run_id if run is not None else None,
            source=frame.source,
            description=description,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
        )
    if run is not None:
        run.log_input("dataset", version.ref, context)
    return version


def _resolve(uri_or_name: str, version: int | str | None) -> tuple[str, int | None]:
    if uri_or_name.startswith("datasets:"):
        uri = parse_uri(uri_or_name)
        assert isinstance(uri, DatasetURI)
        name, raw = uri.name, uri.version
        if version is not None:
            raise InvalidArgument("Give the version in the URI or as an argument, not both.")
    else:
        name, raw = uri_or_name, None if version is None else str(version)
    if raw is None or raw == "latest":
        return name, None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidArgument(
            f"Dataset version {raw!r} must be a positive number or 'latest', e.g. "
            f"datasets:/{name}@3."
        )
    return name, int(raw)


def get_dataset(
    uri_or_name: str, version: int | str | None = None, *, client: Client | None = None
) -> DatasetVersion:
    """A dataset version by URI (``datasets:/name@3``, ``datasets:/name`` = latest) or name.

    Raises:
        DatasetNotFound: no such data set or version.
    """
    name, number = _resolve(uri_or_name, version)
    c = client or _client(None)
    return c.store.datasets.get(name, number)


def load_dataset_profile(
    uri_or_name: str, version: int | str | None = None, *, client: Client | None = None
) -> DatasetProfile:
    """The stored profile of a dataset version, e.g. ``"datasets:/train@2"``."""
    c = client or _client(None)
    dv = get_dataset(uri_or_name, version, client=c)
    data = c.artifacts.read_bytes(dv.profile_digest, f"{dv.uri} profile")
    return DatasetProfile.from_json(data)


def load_dataset_schema(
    uri_or_name: str, version: int | str | None = None, *, client: Client | None = None
) -> Schema | None:
    """The schema stored with a dataset version, or None if it has none."""
    c = client or _client(None)
    dv = get_dataset(uri_or_name, version, client=c)
    if dv.schema_digest is None:
        return None
    text = c.artifacts.read_bytes(dv.schema_digest, f"{dv.uri} schema").decode("utf-8")
    return Schema.from_yaml(text, where=f"{dv.uri} schema")


def list_dataset_versions(name: str, *, client: Client | None = None) -> list[DatasetVersion]:
    """Versions of a data set, newest first."""
    c = client or _client(None)
    return c.store.datasets.list_versions(name)


def list_datasets(*, client: Client | None = None) -> list[str]:
    """Names of every registered data set."""
    c = client or _client(None)
    return c.store.datasets.names()
