"""Input/output signatures inferred from an example, and examples as JSON."""

from __future__ import annotations

import json
from typing import Any

EXAMPLE_ROWS = 5


def _kind(obj: Any) -> str:
    mod = type(obj).__module__.split(".")[0]
    name = type(obj).__name__
    if mod == "pandas" and name == "DataFrame":
        return "pandas"
    if mod == "polars" and name == "DataFrame":
        return "polars"
    if mod == "numpy" and name == "ndarray":
        return "ndarray"
    if mod in ("pandas", "polars") and name == "Series":
        return "series"
    return type(obj).__name__


def infer_schema(obj: Any) -> dict[str, Any] | None:
    """Describe the columns or shape of ``obj``; None when it cannot be described."""
    kind = _kind(obj)
    if kind == "pandas":
        return {
            "type": "dataframe",
            "columns": [{"name": str(c), "dtype": str(t)} for c, t in obj.dtypes.items()],
        }
    if kind == "polars":
        return {
            "type": "dataframe",
            "columns": [{"name": c, "dtype": str(t)} for c, t in obj.schema.items()],
        }
    if kind == "ndarray":
        return {"type": "tensor", "dtype": str(obj.dtype), "shape": [-1, *obj.shape[1:]]}
    if kind == "series":
        return {"type": "tensor", "dtype": str(obj.dtype), "shape": [-1]}
    if isinstance(obj, dict):
        return {"type": "dict", "fields": {str(k): type(v).__name__ for k, v in obj.items()}}
    if isinstance(obj, list | tuple) and obj:
        import numpy as np

        try:
            arr = np.asarray(obj)
        except ValueError:
            return {"type": "list", "length": len(obj)}
        if arr.dtype != object:
            return infer_schema(arr)
        return {"type": "list", "length": len(obj)}
    return None


def infer_signature(model: Any, example: Any) -> dict[str, Any] | None:
    """``{"inputs": ..., "outputs": ...}`` from an example and the model's prediction on it."""
    if example is None:
        return None
    signature: dict[str, Any] = {"inputs": infer_schema(example), "outputs": None}
    predict = getattr(model, "predict", None)
    if callable(predict):
        try:
            signature["outputs"] = infer_schema(predict(example))
        except Exception as exc:  # the model's own error; record it instead of failing
            signature["outputs_error"] = f"{type(exc).__name__}: {exc}"[:500]
    return signature


def example_json(example: Any) -> str | None:
    """The first rows of an example as JSON (``{"columns": [...], "data": [...]}`` for frames)."""
    kind = _kind(example)
    if kind == "pandas":
        head = example.head(EXAMPLE_ROWS)
        payload: Any = {"columns": [str(c) for c in head.columns], "data": head.to_numpy().tolist()}
    elif kind == "polars":
        head = example.head(EXAMPLE_ROWS)
        payload = {"columns": head.columns, "data": [list(r) for r in head.iter_rows()]}
    elif kind == "ndarray":
        payload = {"data": example[:EXAMPLE_ROWS].tolist()}
    elif isinstance(example, dict | list | tuple):
        payload = {"data": example}
    else:
        return None
    try:
        return json.dumps(payload, default=str)
    except (TypeError, ValueError):
        return None
