"""Signatures inferred from input examples, and the example kept as an artifact."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import ninefold as nf
from ninefold.tracking.client import Client
from tests.registry.helpers import ThresholdModel


@pytest.fixture(scope="module")
def fitted() -> tuple[Any, Any, Any]:
    """A model fitted on a DataFrame (named features), one fitted on arrays, and the frame."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    frame = load_iris(as_frame=True)
    x, y = frame.data, frame.target
    on_frame = LogisticRegression(max_iter=500).fit(x, y)
    on_array = LogisticRegression(max_iter=500).fit(x.to_numpy(), y.to_numpy())
    return on_frame, on_array, x


def _log(model: Any, example: Any) -> tuple[nf.ModelVersion, str]:
    with nf.start_run(capture_environment=False) as run:
        mv = nf.log_model(model, "sig", input_example=example)
    return mv, run.run_id


def test_signature_from_pandas(client: Client, fitted: tuple[Any, Any, Any]) -> None:
    model, _, x = fitted
    example = x.head(8).astype({"sepal width (cm)": "float32"})
    _log(ThresholdModel(1.0), None)
    mv, _ = _log(model, example)
    assert mv.signature is not None
    inputs = mv.signature["inputs"]
    assert inputs["type"] == "dataframe"
    assert [c["name"] for c in inputs["columns"]] == list(example.columns)
    assert [c["dtype"] for c in inputs["columns"]] == [str(t) for t in example.dtypes]
    assert "float32" in [c["dtype"] for c in inputs["columns"]]
    outputs = mv.signature["outputs"]
    assert outputs == {
        "type": "tensor",
        "dtype": str(model.predict(example).dtype),
        "shape": [-1],
    }
    # What was stored is what comes back.
    assert nf.get_model_version("models:/sig/2").signature == mv.signature


def test_signature_from_polars(client: Client, fitted: tuple[Any, Any, Any]) -> None:
    import polars as pl

    model, _, x = fitted
    example = pl.from_pandas(x.head(5)).with_columns(pl.col("petal width (cm)").cast(pl.Float32))
    mv, _ = _log(model, example)
    assert mv.signature is not None
    inputs = mv.signature["inputs"]
    assert inputs["type"] == "dataframe"
    assert [c["name"] for c in inputs["columns"]] == example.columns
    assert [c["dtype"] for c in inputs["columns"]] == [str(t) for t in example.dtypes]
    assert "Float32" in [c["dtype"] for c in inputs["columns"]]
    assert mv.signature["outputs"]["dtype"] == str(model.predict(example).dtype)


def test_signature_from_numpy(client: Client, fitted: tuple[Any, Any, Any]) -> None:
    _, model, x = fitted
    example = x.to_numpy()[:6].astype(np.float32)
    mv, _ = _log(model, example)
    assert mv.signature is not None
    assert mv.signature["inputs"] == {"type": "tensor", "dtype": "float32", "shape": [-1, 4]}
    assert mv.signature["outputs"]["dtype"] == str(model.predict(example).dtype)
    assert mv.signature["outputs"]["shape"] == [-1]


def test_no_example_no_signature_no_example_file(client: Client) -> None:
    mv, run_id = _log(ThresholdModel(1.0), None)
    assert mv.signature is None
    paths = {e.path for e in client.list_artifacts(run_id, "models/sig")}
    assert "models/sig/input_example.json" not in paths


def test_a_failing_predict_is_recorded_not_raised(client: Client) -> None:
    mv, _ = _log(ThresholdModel(1.0), [["a", "b"], ["c", "d"]])
    assert mv.signature is not None
    assert mv.signature["outputs"] is None
    assert "outputs_error" in mv.signature


def test_input_example_artifact_holds_the_first_rows(
    client: Client, fitted: tuple[Any, Any, Any]
) -> None:
    import polars as pl

    on_frame, on_array, x = fitted
    frame = x.head(12)
    examples: dict[str, Any] = {
        "pandas": frame,
        "polars": pl.from_pandas(frame),
        "numpy": frame.to_numpy(),
    }
    for kind, example in examples.items():
        _, run_id = _log(on_array if kind == "numpy" else on_frame, example)
        paths = {e.path for e in client.list_artifacts(run_id, "models/sig")}
        assert "models/sig/input_example.json" in paths, kind
        stored = json.loads(client.read_text(run_id, "models/sig/input_example.json"))
        assert stored["data"] == frame.head(5).to_numpy().tolist(), kind
        if kind != "numpy":
            assert stored["columns"] == list(frame.columns), kind
