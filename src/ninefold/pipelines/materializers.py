"""Materializers: how step outputs become bytes in the artifact store and back.

Built in, tried in this order after any you register:

============================  =======================  =========================
value                         materializer             format
============================  =======================  =========================
plain values (numbers, str,   ``json``                 canonical JSON
lists, tuples, dicts)
``bytes``                     ``bytes``                the bytes themselves
numpy arrays (not object)     ``numpy.npy``            ``.npy``, no pickle
pandas DataFrame / Series     ``pandas.parquet``       Parquet (Arrow)
polars DataFrame / Series     ``polars.parquet``       Parquet (Arrow)
scikit-learn estimators       ``sklearn.skops``        skops, made byte-stable
anything picklable            ``pickle``               only for ``trusted`` steps
============================  =======================  =========================

Formats are deterministic: the same value gives the same bytes, so the same
digest, so downstream steps keep hitting the cache when an upstream step re-runs
and produces the same result.

Register your own with :func:`register_materializer`; a worker process needs
the same registration, so do it at import time of the module defining the steps.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from abc import ABC, abstractmethod
from typing import Any

from ninefold.errors import InvalidArgument, UnsafeModelError
from ninefold.pipelines.errors import UnserializableOutput
from ninefold.pipelines.values import decode, encode


class Materializer(ABC):
    """Turns values of some types into bytes and back.

    Subclass it, set ``name`` (stored with every artifact, so keep it stable)
    and ``extension``, and implement :meth:`handles`, :meth:`dump` and
    :meth:`load`. ``dump`` should be deterministic.
    """

    name: str = ""
    extension: str = ""
    safe: bool = True
    """False when loading can run arbitrary code (pickle): only trusted steps may use it."""

    @abstractmethod
    def handles(self, value: Any) -> bool:
        """Whether this materializer can store ``value``."""

    @abstractmethod
    def dump(self, value: Any) -> bytes:
        """The bytes of ``value``."""

    @abstractmethod
    def load(self, data: bytes) -> Any:
        """The value stored in ``data``."""


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".")[0]


class JsonMaterializer(Materializer):
    """Plain values as canonical JSON (tuples come back as tuples)."""

    name = "json"
    extension = "json"

    def handles(self, value: Any) -> bool:
        """Plain values only."""
        try:
            encode(value)
        except TypeError:
            return False
        return True

    def dump(self, value: Any) -> bytes:
        """Canonical JSON: sorted keys, no spaces."""
        return json.dumps(
            encode(value), sort_keys=True, separators=(",", ":"), allow_nan=False
        ).encode()

    def load(self, data: bytes) -> Any:
        """Parse the JSON."""
        return decode(json.loads(data))


class BytesMaterializer(Materializer):
    """Raw bytes, stored as they are."""

    name = "bytes"
    extension = "bin"

    def handles(self, value: Any) -> bool:
        """``bytes`` and ``bytearray``."""
        return isinstance(value, bytes | bytearray)

    def dump(self, value: Any) -> bytes:
        """The bytes."""
        return bytes(value)

    def load(self, data: bytes) -> Any:
        """The bytes."""
        return data


class NumpyMaterializer(Materializer):
    """NumPy arrays as ``.npy`` (object arrays are refused: they would need pickle)."""

    name = "numpy.npy"
    extension = "npy"

    def handles(self, value: Any) -> bool:
        """Arrays whose dtype is not ``object``."""
        if _module_of(value) != "numpy":
            return False
        import numpy as np

        return isinstance(value, np.ndarray) and not value.dtype.hasobject

    def dump(self, value: Any) -> bytes:
        """``np.save`` without pickle."""
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return buf.getvalue()

    def load(self, data: bytes) -> Any:
        """``np.load`` without pickle."""
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


_SERIES_COLUMN = "__ninefold_series__"


class PandasMaterializer(Materializer):
    """pandas DataFrames and Series as Parquet through pyarrow (index and dtypes kept)."""

    name = "pandas.parquet"
    extension = "parquet"

    def handles(self, value: Any) -> bool:
        """DataFrames and Series."""
        if _module_of(value) != "pandas":
            return False
        import pandas as pd

        return isinstance(value, pd.DataFrame | pd.Series)

    def dump(self, value: Any) -> bytes:
        """Parquet bytes; a Series is stored as a one-column frame."""
        import pandas as pd

        from ninefold._deps import require

        pa = require("pyarrow", "pandas", "Storing pandas frames")
        pq = require("pyarrow.parquet", "pandas", "Storing pandas frames")
        frame = value
        if isinstance(value, pd.Series):
            frame = value.to_frame(_SERIES_COLUMN if value.name is None else value.name)
        table = pa.Table.from_pandas(frame)
        meta = dict(table.schema.metadata or {})
        if isinstance(value, pd.Series):
            meta[b"ninefold.series"] = b"1"
        table = table.replace_schema_metadata(meta)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()

    def load(self, data: bytes) -> Any:
        """A DataFrame or Series."""
        from ninefold._deps import require

        pq = require("pyarrow.parquet", "pandas", "Loading pandas frames")
        table = pq.read_table(io.BytesIO(data))
        frame = table.to_pandas()
        if (table.schema.metadata or {}).get(b"ninefold.series") == b"1":
            series = frame.iloc[:, 0]
            if series.name == _SERIES_COLUMN:
                series.name = None
            return series
        return frame


class PolarsMaterializer(Materializer):
    """polars DataFrames and Series as Parquet."""

    name = "polars.parquet"
    extension = "parquet"

    def handles(self, value: Any) -> bool:
        """DataFrames and Series."""
        if _module_of(value) != "polars":
            return False
        import polars as pl

        return isinstance(value, pl.DataFrame | pl.Series)

    def dump(self, value: Any) -> bytes:
        """Parquet bytes; a Series is stored as a one-column frame named after it."""
        import polars as pl

        frame = value
        if isinstance(value, pl.Series):
            frame = value.to_frame().rename({value.name: f"{_SERIES_COLUMN}{value.name}"})
        buf = io.BytesIO()
        frame.write_parquet(buf, statistics=False)
        return buf.getvalue()

    def load(self, data: bytes) -> Any:
        """A DataFrame or Series."""
        import polars as pl

        frame = pl.read_parquet(io.BytesIO(data))
        if frame.width == 1 and frame.columns[0].startswith(_SERIES_COLUMN):
            column = frame.columns[0]
            return frame.to_series().rename(column[len(_SERIES_COLUMN) :])
        return frame


class SklearnMaterializer(Materializer):
    """scikit-learn estimators and pipelines with skops: loading runs no pickle code."""

    name = "sklearn.skops"
    extension = "skops"

    def handles(self, value: Any) -> bool:
        """scikit-learn estimators."""
        from ninefold.registry.formats import is_sklearn

        return is_sklearn(value)

    def dump(self, value: Any) -> bytes:
        """skops bytes (byte-stable: equal models give equal bytes)."""
        from ninefold.registry import formats

        return formats.dump(value, "skops")

    def load(self, data: bytes) -> Any:
        """The estimator; types outside scikit-learn, NumPy and SciPy are refused."""
        from ninefold.registry import formats

        return formats.load(data, "skops", False, "a step output")


class PickleMaterializer(Materializer):
    """Anything picklable; loading can run arbitrary code, so only trusted steps use it."""

    name = "pickle"
    extension = "pkl"
    safe = False

    def handles(self, value: Any) -> bool:
        """Any value (pickling may still fail in :meth:`dump`)."""
        return True

    def dump(self, value: Any) -> bytes:
        """Pickle protocol 5."""
        return pickle.dumps(value, protocol=5)

    def load(self, data: bytes) -> Any:
        """Unpickle (the caller has checked trust)."""
        return pickle.loads(data)


_BUILTIN: list[Materializer] = [
    JsonMaterializer(),
    BytesMaterializer(),
    NumpyMaterializer(),
    PandasMaterializer(),
    PolarsMaterializer(),
    SklearnMaterializer(),
    PickleMaterializer(),
]
_registered: list[Materializer] = []


def register_materializer(materializer: Materializer) -> None:
    """Add a materializer; it is tried before the built-in ones (latest registered first).

    Registering another one with the same ``name`` replaces it.
    """
    if not isinstance(materializer, Materializer):
        raise InvalidArgument(
            "register_materializer needs a Materializer instance, got "
            f"{type(materializer).__name__}."
        )
    if not materializer.name or not re.match(r"^[A-Za-z0-9_.\-]+$", materializer.name):
        raise InvalidArgument(
            f"Materializer name {materializer.name!r} must be non-empty letters, digits, '_-.'."
        )
    _registered[:] = [m for m in _registered if m.name != materializer.name]
    _registered.insert(0, materializer)


def unregister_materializer(name: str) -> None:
    """Remove a materializer added with :func:`register_materializer` (no error if absent)."""
    _registered[:] = [m for m in _registered if m.name != name]


def materializers() -> list[Materializer]:
    """Every materializer in the order they are tried."""
    return [*_registered, *_BUILTIN]


def get_materializer(name: str) -> Materializer:
    """The materializer called ``name``; raises naming the registered ones."""
    for m in materializers():
        if m.name == name:
            return m
    known = ", ".join(m.name for m in materializers())
    raise InvalidArgument(
        f"No materializer named {name!r} is registered in this process (known: {known}). "
        "Import the module that registers it before loading this artifact."
    )


def type_name(value: Any) -> str:
    """``module.QualName`` of a value's type."""
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def dump_value(value: Any, *, trusted: bool, where: str) -> tuple[Materializer, bytes]:
    """Pick the first materializer that handles ``value`` and serialise it.

    Args:
        value: the value.
        trusted: whether pickle may be used.
        where: what produced it (``step 'train', output 'output'``), for messages.

    Raises:
        UnserializableOutput: no materializer handles the value, or the one
            that claims it fails.
    """
    for m in materializers():
        if not m.safe and not trusted:
            continue
        if m.handles(value):
            try:
                return m, m.dump(value)
            except Exception as exc:
                raise UnserializableOutput(
                    f"The {where} is a {type_name(value)}; materializer {m.name!r} could not "
                    f"store it: {type(exc).__name__}: {exc}"
                ) from exc
    raise UnserializableOutput(
        f"The {where} is a {type_name(value)}, which no materializer can store. Return a "
        "supported type (plain values, bytes, numpy arrays, pandas or polars frames, "
        "scikit-learn estimators), register a materializer with "
        "ninefold.pipelines.register_materializer(), or mark the step trusted=True to store "
        "it with pickle."
    )


def load_value(name: str, data: bytes, *, trusted: bool, where: str) -> Any:
    """Deserialise bytes written by the materializer ``name``.

    Raises:
        UnsafeModelError: the materializer is pickle and the step is not trusted.
    """
    m = get_materializer(name)
    if not m.safe and not trusted:
        raise UnsafeModelError(
            f"The {where} is stored with {name!r}; loading it can run arbitrary code. Mark the "
            "step (or the pipeline) trusted=True if you trust whoever wrote this store."
        )
    return m.load(data)
