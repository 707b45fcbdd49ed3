"""Materializers: values survive the round trip, bytes are stable, pickle needs trust."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import ninefold as nf
from ninefold.errors import UnsafeModelError
from ninefold.pipelines import StepFailed, UnserializableOutput
from ninefold.pipelines.materializers import (
    Materializer,
    dump_value,
    load_value,
    register_materializer,
    unregister_materializer,
)
from ninefold.store import RunStatus
from ninefold.tracking.client import Client
from tests.pipelines.conftest import running_runs


def round_trip(value: Any, trusted: bool = False) -> tuple[str, Any]:
    m, data = dump_value(value, trusted=trusted, where="test value")
    again = dump_value(value, trusted=trusted, where="test value")[1]
    assert data == again, "the same value must give the same bytes"
    return m.name, load_value(m.name, data, trusted=trusted, where="test value")


def test_plain_values_round_trip_as_json_with_tuples_and_non_finite_floats() -> None:
    value = {"a": [1, 2.5, None, True], "t": (1, "x"), "nan": math.nan, "inf": -math.inf}
    name, back = round_trip(value)
    assert name == "json"
    assert back["a"] == [1, 2.5, None, True]
    assert back["t"] == (1, "x")
    assert math.isnan(back["nan"])
    assert back["inf"] == -math.inf
    assert round_trip(np.float64(0.25)) == ("json", 0.25)
    assert round_trip(b"\x00raw") == ("bytes", b"\x00raw")


def test_numpy_arrays_round_trip_as_npy() -> None:
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)
    name, back = round_trip(arr)
    assert name == "numpy.npy"
    assert back.dtype == np.int16
    np.testing.assert_array_equal(back, arr)


def test_pandas_frames_and_series_round_trip_as_parquet() -> None:
    df = pd.DataFrame({"x": [1.5, 2.5], "c": ["a", "b"]}, index=pd.Index([10, 20], name="id"))
    name, back = round_trip(df)
    assert name == "pandas.parquet"
    pd.testing.assert_frame_equal(back, df)
    series = pd.Series([1, 2, 3], name="s")
    pd.testing.assert_series_equal(round_trip(series)[1], series)
    unnamed = pd.Series([0.5])
    assert round_trip(unnamed)[1].name is None


def test_polars_frames_and_series_round_trip_as_parquet() -> None:
    df = pl.DataFrame({"x": [1, 2], "y": ["a", None]})
    name, back = round_trip(df)
    assert name == "polars.parquet"
    assert back.equals(df)
    series = pl.Series("s", [1.0, 2.0])
    back_series = round_trip(series)[1]
    assert isinstance(back_series, pl.Series)
    assert back_series.name == "s"
    assert back_series.to_list() == [1.0, 2.0]


def _fit() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y), X


@pytest.mark.slow
def test_scikit_learn_models_round_trip_with_skops_and_stable_bytes() -> None:
    model, X = _fit()
    name, back = round_trip(model)
    assert name == "sklearn.skops"
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    # The same model dumped in another process gives the same bytes (skops alone does not).
    import hashlib

    here = hashlib.sha256(dump_value(model, trusted=False, where="m")[1]).hexdigest()
    code = (
        "import hashlib\n"
        "from tests.pipelines.test_materializers import _fit\n"
        "from ninefold.pipelines.materializers import dump_value\n"
        "print(hashlib.sha256(dump_value(_fit()[0], trusted=False, where='m')[1]).hexdigest())\n"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    assert there == here


class Opaque:
    def __init__(self, v: int) -> None:
        self.v = v


def test_pickle_is_used_only_when_trusted_and_loading_it_needs_trust() -> None:
    with pytest.raises(UnserializableOutput, match=r"tests\.pipelines\.test_materializers\.Opaque"):
        dump_value(Opaque(1), trusted=False, where="output 'output' of step 'make'")
    m, data = dump_value(Opaque(3), trusted=True, where="x")
    assert m.name == "pickle"
    with pytest.raises(UnsafeModelError, match="trusted=True"):
        load_value("pickle", data, trusted=False, where="input 'x' of step 'use'")
    assert load_value("pickle", data, trusted=True, where="x").v == 3


class OpaqueMaterializer(Materializer):
    name = "test.opaque"
    extension = "txt"

    def handles(self, value: Any) -> bool:
        return isinstance(value, Opaque)

    def dump(self, value: Any) -> bytes:
        return str(value.v).encode()

    def load(self, data: bytes) -> Any:
        return Opaque(int(data))


@nf.step
def make_opaque(v: int = 7) -> Opaque:
    return Opaque(v)


@nf.step
def unwrap(o: Opaque) -> int:
    return o.v


@nf.pipeline
def opaque_flow(v: int = 7):  # type: ignore[no-untyped-def]
    return unwrap(make_opaque(v))


def test_a_registered_materializer_is_used_and_named_on_the_artifact(nf_client: Client) -> None:
    register_materializer(OpaqueMaterializer())
    try:
        run = opaque_flow.run()
        assert run.output() == 7
        edge = next(e for e in run.step("make_opaque").edges if e.direction == "output")
        assert edge.materializer == "test.opaque"
        assert edge.type_name == "tests.pipelines.test_materializers.Opaque"
        files = nf_client.list_artifacts(run.step("make_opaque").run_id)
        assert [f.path for f in files] == ["outputs/output.txt"]
    finally:
        unregister_materializer("test.opaque")


def test_an_unserialisable_output_fails_the_step_naming_step_and_type(nf_client: Client) -> None:
    with pytest.raises(StepFailed) as info:
        opaque_flow.run()
    message = str(info.value)
    assert "'make_opaque'" in message
    assert "tests.pipelines.test_materializers.Opaque" in message
    assert "register_materializer" in message
    assert info.value.node == "make_opaque"
    assert running_runs(nf_client) == []
    step_run = nf_client.get_run(info.value.step_run_id)
    assert step_run.status is RunStatus.FAILED
    assert "UnserializableOutput" in step_run.tags["ninefold.error"]
    assert nf_client.get_run(info.value.pipeline_run_id).status is RunStatus.FAILED


def test_a_trusted_step_stores_with_pickle(nf_client: Client) -> None:
    trusted_make = nf.step(trusted=True, name="trusted_make")(make_opaque.fn)
    trusted_unwrap = nf.step(trusted=True, name="trusted_unwrap")(unwrap.fn)

    @nf.pipeline
    def trusted_flow():  # type: ignore[no-untyped-def]
        return trusted_unwrap(trusted_make(5))

    assert trusted_flow.run().output() == 5
