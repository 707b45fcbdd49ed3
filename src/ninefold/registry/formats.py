"""How models become bytes and back.

* ``skops``: scikit-learn estimators and pipelines. Loading runs no pickle
  code; types outside scikit-learn, NumPy and SciPy must be trusted explicitly.
* ``pickle``: anything else. Unpickling can run arbitrary code, so loading
  requires ``trusted=True``.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from ninefold._deps import require
from ninefold.errors import InvalidArgument, UnsafeModelError

FORMATS = ("skops", "pickle")
LIBRARY_PREFIXES = ("sklearn.", "numpy.", "scipy.")
# Plain containers skops may list; never a blanket ``builtins.`` (that would let
# ``builtins.eval`` or ``builtins.exec`` into a model unasked).
SAFE_TYPES = frozenset(
    {
        "builtins.bytearray",
        "builtins.bytes",
        "builtins.complex",
        "builtins.frozenset",
        "builtins.range",
        "builtins.set",
        "builtins.slice",
        "collections.Counter",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
    }
)


def is_sklearn(model: Any) -> bool:
    """Whether ``model`` is a scikit-learn estimator (or pipeline)."""
    return any(c.__module__.split(".")[0] == "sklearn" for c in type(model).__mro__)


def choose_format(model: Any, format: str | None) -> str:
    """The format to save ``model`` in: skops for scikit-learn, pickle otherwise."""
    if format is None:
        return "skops" if is_sklearn(model) else "pickle"
    if format not in FORMATS:
        raise InvalidArgument(f"Unknown model format {format!r}; use one of {', '.join(FORMATS)}.")
    return format


_ID_FILE = re.compile(r"^(\d+)(\.[A-Za-z0-9]+)$")


def stable_skops(data: bytes) -> bytes:
    """skops bytes rewritten so that equal models give equal bytes.

    skops names its members after ``id()`` of objects and stamps zip entries
    with the current time; both change from one process to the next. Ids are
    renumbered in the order they appear and every entry gets a fixed time.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}

    def new_id(old: int) -> int:
        return ids.setdefault(old, len(ids) + 1)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    out[key] = new_id(value)
                elif key == "file" and isinstance(value, str) and (m := _ID_FILE.match(value)):
                    out[key] = f"{new_id(int(m[1]))}{m[2]}"
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    renamed = walk(schema)
    names = {info.filename for info in src.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        stamp = (1980, 1, 1, 0, 0, 0)
        entry = zipfile.ZipInfo("schema.json", date_time=stamp)
        dst.writestr(entry, json.dumps(renamed, indent=2).encode())
        moved: list[tuple[str, str]] = []
        for name in names - {"schema.json"}:
            m = _ID_FILE.match(name)
            if m is None or int(m[1]) not in ids:
                raise ValueError(f"unexpected member {name!r} in a skops file")
            moved.append((f"{ids[int(m[1])]}{m[2]}", name))
        for new, old in sorted(moved, key=lambda p: (len(p[0]), p[0])):
            dst.writestr(zipfile.ZipInfo(new, date_time=stamp), src.read(old))
    return out.getvalue()


def dump(model: Any, format: str) -> bytes:
    """Serialise a model; skops output is byte-stable, so equal models get equal digests."""
    if format == "skops":
        sio = require("skops.io", "sklearn", "Saving scikit-learn models")
        data: bytes = sio.dumps(model)
        try:
            return stable_skops(data)
        except (ValueError, KeyError, zipfile.BadZipFile):  # a layout this code does not know
            return data
    try:
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidArgument(f"Cannot pickle {type(model).__name__}: {exc}") from exc


def load(data: bytes, format: str, trusted: bool | Sequence[str], where: str) -> Any:
    """Deserialise a model whose bytes were already hash-checked.

    Args:
        data: the model's bytes.
        format: ``skops`` or ``pickle``.
        trusted: True to trust everything; a list of type names to trust them.
        where: the model URI, for messages.
    """
    if format == "skops":
        sio = require("skops.io", "sklearn", "Loading scikit-learn models")
        untrusted: list[str] = sio.get_untrusted_types(data=data)
        if trusted is True:
            allowed = untrusted
        else:
            extra = {trusted} if isinstance(trusted, str) else set(trusted or ())
            allowed = [
                t
                for t in untrusted
                if t.startswith(LIBRARY_PREFIXES) or t in SAFE_TYPES or t in extra
            ]
            unknown = sorted(set(untrusted) - set(allowed))
            if unknown:
                raise UnsafeModelError(
                    f"{where} contains types that are not part of scikit-learn, NumPy or SciPy: "
                    f"{unknown}. If you trust this model, load it with trusted=True or "
                    f"trusted={unknown!r}."
                )
        return sio.loads(data, trusted=allowed)
    if format == "pickle":
        if trusted is not True:
            raise UnsafeModelError(
                f"{where} is a pickle; unpickling can run arbitrary code. If you trust who "
                "logged it, load it with trusted=True."
            )
        return pickle.loads(data)
    raise InvalidArgument(f"{where} has unknown format {format!r}; this ninefold cannot load it.")
