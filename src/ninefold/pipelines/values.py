"""Plain values as canonical JSON: the form of params in cache keys and of small outputs.

Plain values are ``None``, bools, ints, floats, strings and lists, tuples and
string-keyed dicts of them. NumPy scalars count as the Python number they
hold. Tuples are kept apart from lists so that they come back as tuples.
"""

from __future__ import annotations

import json
import math
from typing import Any

TUPLE_TAG = "__ninefold_tuple__"
FLOAT_TAG = "__ninefold_float__"


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data; raises :class:`TypeError` naming the first unsupported part."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        v = float(value)
        # JSON has no NaN or infinity; keep them exact and readable.
        return {FLOAT_TAG: repr(v)} if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {TUPLE_TAG: [encode(v) for v in value]}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict key {k!r} is a {type(k).__name__}, not a str")
            out[k] = encode(v)
        return out
    if (
        type(value).__module__ == "numpy"
        and hasattr(value, "item")
        and getattr(value, "ndim", 1) == 0
    ):
        return encode(value.item())
    raise TypeError(f"{type(value).__module__}.{type(value).__qualname__} is not a plain value")


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if len(data) == 1 and TUPLE_TAG in data:
            return tuple(decode(v) for v in data[TUPLE_TAG])
        if len(data) == 1 and FLOAT_TAG in data:
            return float(data[FLOAT_TAG])
        return {k: decode(v) for k, v in data.items()}
    return data


def canonical(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text."""
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def display(value: Any) -> str:
    """A short readable form of a plain value for messages (``0.1``, ``'rf'``, ``[1, 2]``)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
