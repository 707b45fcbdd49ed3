"""log_model and load_model: versions, safe formats, trust and hash checks."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ninefold as nf
from ninefold.errors import (
    IntegrityError,
    InvalidArgument,
    InvalidName,
    NoActiveRun,
    StateError,
    UnsafeModelError,
)
from ninefold.tracking.client import Client
from tests.registry.helpers import MarkerOnLoad, ThresholdModel, double


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return x, y


def _fit(kind: str, x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logreg":
        return LogisticRegression(max_iter=500).fit(x, y)
    if kind == "forest":
        return RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)


def test_versions_count_up_per_name(client: Client) -> None:
    with nf.start_run(capture_environment=False) as run:
        first = nf.log_model(ThresholdModel(1.0), "counter")
        second = nf.log_model(ThresholdModel(2.0), "counter")
        other = nf.log_model(ThresholdModel(3.0), "another")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.run_id == second.run_id == run.run_id
    assert [v.version for v in nf.list_model_versions("counter")] == [2, 1]
    assert {m.name: m.latest_version for m in nf.list_models()} == {"another": 1, "counter": 2}


def test_versions_continue_across_runs(client: Client) -> None:
    with nf.start_run(capture_environment=False):
        nf.log_model(ThresholdModel(1.0), "m")
    with nf.start_run(capture_environment=False) as second_run:
        mv = nf.log_model(ThresholdModel(1.5), "m")
    assert mv.version == 2
    assert mv.run_id == second_run.run_id


def test_log_model_outside_a_run_is_refused(client: Client) -> None:
    with pytest.raises(NoActiveRun, match="start_run"):
        nf.log_model(ThresholdModel(1.0), "lonely")
    assert nf.list_models() == []


def test_log_model_into_an_ended_run_is_refused(client: Client) -> None:
    with nf.start_run(capture_environment=False) as run:
        pass
    with pytest.raises(StateError, match=run.run_id):
        nf.log_model(ThresholdModel(1.0), "late", run=run)
    assert nf.list_models() == []
    assert client.list_artifacts(run.run_id, "models") == []


def test_bad_tag_is_refused_before_anything_is_stored(client: Client) -> None:
    with (
        nf.start_run(capture_environment=False) as run,
        pytest.raises(InvalidName, match="Tag"),
    ):
        nf.log_model(ThresholdModel(1.0), "tagged", tags={"../x": 1})
    assert nf.list_models() == []
    assert client.list_artifacts(run.run_id, "models") == []


def test_log_model_into_an_explicit_run(client: Client) -> None:
    run = nf.start_run(capture_environment=False)
    try:
        with nf.start_run(capture_environment=False):
            mv = nf.log_model(ThresholdModel(1.0), "explicit", run=run)
    finally:
        run.end()
    assert mv.run_id == run.run_id


@pytest.mark.parametrize("kind", ["logreg", "forest", "pipeline"])
def test_sklearn_models_round_trip_with_skops(
    client: Client, iris: tuple[np.ndarray, np.ndarray], kind: str
) -> None:
    x, y = iris
    model = _fit(kind, x, y)
    with nf.start_run(capture_environment=False) as run:
        nf.log_model(_fit("logreg", x, y), "iris")
        mv = nf.log_model(model, "iris", input_example=x[:5])
    assert mv.version == 2
    assert mv.format == "skops"
    assert mv.artifact_path == "models/iris/model.skops"
    nf.set_alias("iris", "champion", 2)
    # The blob is really a skops archive (a zip), not a pickle.
    assert client.read_artifact(run.run_id, mv.artifact_path)[:2] == b"PK"

    by_alias = nf.load_model("models:/iris@champion")
    by_version = nf.load_model("models:/iris/2")
    for loaded in (by_alias, by_version):
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
        np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    version_one = nf.load_model("models:/iris/1")
    assert type(version_one).__name__ == "LogisticRegression"


def test_forest_needs_no_trust_because_sklearn_types_are_allowed(
    client: Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    import skops.io as sio

    x, y = iris
    forest = _fit("forest", x, y)
    with nf.start_run(capture_environment=False) as run:
        mv = nf.log_model(forest, "forest")
    data = client.read_artifact(run.run_id, mv.artifact_path)
    # skops itself does not trust the tree type; ninefold allows scikit-learn types.
    assert "sklearn.tree._tree.Tree" in sio.get_untrusted_types(data=data)
    loaded = nf.load_model("models:/forest/1")
    np.testing.assert_array_equal(loaded.predict(x), forest.predict(x))


def test_skops_types_outside_the_libraries_need_trust(
    client: Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    x, _ = iris
    model = FunctionTransformer(func=double).fit(x)
    with nf.start_run(capture_environment=False):
        mv = nf.log_model(model, "doubler")
    assert mv.format == "skops"
    name = f"{double.__module__}.double"
    with pytest.raises(UnsafeModelError) as info:
        nf.load_model("models:/doubler/1")
    assert name in str(info.value)
    assert "models:/doubler/1" in str(info.value)
    assert "trusted=" in str(info.value)
    for trusted in ([name], name, True):
        loaded = nf.load_model("models:/doubler/1", trusted=trusted)
        np.testing.assert_array_equal(loaded.transform(x), x * 2)


def test_builtin_functions_are_not_trusted_silently(client: Client) -> None:
    import builtins

    from sklearn.preprocessing import FunctionTransformer

    with nf.start_run(capture_environment=False):
        nf.log_model(FunctionTransformer(func=builtins.eval), "evil")
    with pytest.raises(UnsafeModelError, match=r"builtins\.eval"):
        nf.load_model("models:/evil/1")


def test_plain_python_object_is_a_pickle_that_needs_trust(client: Client) -> None:
    model = ThresholdModel(5.0)
    with nf.start_run(capture_environment=False):
        mv = nf.log_model(model, "plain")
    assert mv.format == "pickle"
    assert mv.artifact_path == "models/plain/model.pkl"
    with pytest.raises(UnsafeModelError) as info:
        nf.load_model("models:/plain/1")
    assert "pickle" in str(info.value)
    assert "trusted=True" in str(info.value)
    with pytest.raises(UnsafeModelError):
        nf.load_model("models:/plain/1", trusted=[f"{ThresholdModel.__module__}.ThresholdModel"])
    loaded = nf.load_model("models:/plain/1", trusted=True)
    assert isinstance(loaded, ThresholdModel)
    assert loaded.threshold == 5.0
    x = np.array([[4.0], [6.0]])
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_format_can_be_forced_and_is_checked(
    client: Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = iris
    with nf.start_run(capture_environment=False):
        mv = nf.log_model(_fit("logreg", x, y), "forced", format="pickle")
        with pytest.raises(InvalidArgument, match="onnx"):
            nf.log_model(_fit("logreg", x, y), "forced", format="onnx")
    assert mv.format == "pickle"
    assert [v.version for v in nf.list_model_versions("forced")] == [1]
    with pytest.raises(UnsafeModelError):
        nf.load_model("models:/forced/1")


def test_unpicklable_model_is_an_invalid_argument(client: Client) -> None:
    with nf.start_run(capture_environment=False), pytest.raises(InvalidArgument, match="pickle"):
        nf.log_model(lambda x: x, "lambda")
    assert nf.list_models() == []


def _corrupt(client: Client, digest: str) -> bytes:
    """Flip one byte of the stored blob's padding; returns the corrupted bytes."""
    location = Path(client.artifacts.location(digest))
    data = bytearray(location.read_bytes())
    at = data.index(b"x" * 64) + 10
    data[at] ^= 0x01
    os.chmod(location, 0o644)
    location.write_bytes(bytes(data))
    return bytes(data)


def test_corrupt_blob_is_refused_before_deserialising(client: Client, tmp_path: Path) -> None:
    proof = tmp_path / "proof-the-marker-works"
    marker = tmp_path / "deserialised"
    with nf.start_run(capture_environment=False):
        nf.log_model(MarkerOnLoad(proof), "booby")
        mv = nf.log_model(MarkerOnLoad(marker), "booby")
    # The marker mechanism works: loading an intact version runs __reduce__.
    nf.load_model("models:/booby/1", trusted=True)
    assert proof.exists()

    corrupted = _corrupt(client, mv.digest)
    with pytest.raises(IntegrityError) as info:
        nf.load_model("models:/booby/2", trusted=True)
    message = str(info.value)
    assert "models:/booby/2" in message
    assert mv.digest in message
    import hashlib

    assert hashlib.sha256(corrupted).hexdigest() in message
    assert not marker.exists()
    # The corrupted bytes were still a working pickle: only the hash check stopped them.
    pickle.loads(corrupted)
    assert marker.exists()


def test_corrupt_skops_blob_is_an_integrity_error(
    client: Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = iris
    with nf.start_run(capture_environment=False):
        mv = nf.log_model(_fit("logreg", x, y), "tampered")
    location = Path(client.artifacts.location(mv.digest))
    os.chmod(location, 0o644)
    data = bytearray(location.read_bytes())
    data[len(data) // 2] ^= 0xFF
    location.write_bytes(bytes(data))
    nf.set_alias("tampered", "prod", 1)
    with pytest.raises(IntegrityError, match="models:/tampered@prod"):
        nf.load_model("models:/tampered@prod")


def test_missing_blob_is_an_artifact_not_found(client: Client) -> None:
    from ninefold.errors import ArtifactNotFound

    with nf.start_run(capture_environment=False):
        mv = nf.log_model(ThresholdModel(1.0), "gone")
    client.artifacts.delete(mv.digest)
    with pytest.raises(ArtifactNotFound, match="models:/gone/1"):
        nf.load_model("models:/gone/1", trusted=True)


def test_loading_inside_a_run_records_the_model_as_an_input(client: Client) -> None:
    with nf.start_run(capture_environment=False):
        nf.log_model(ThresholdModel(1.0), "upstream")
    nf.set_alias("upstream", "champion", 1)
    with nf.start_run(capture_environment=False) as consumer:
        nf.load_model("models:/upstream@champion", trusted=True)
    inputs = client.inputs(consumer.run_id)
    assert [(i.kind, i.ref) for i in inputs] == [("model", "upstream/1")]


def test_model_files_are_logged_to_the_run(client: Client) -> None:
    with nf.start_run(capture_environment=False) as run:
        mv = nf.log_model(ThresholdModel(1.0), "files", description="a threshold", tags={"t": 1})
    paths = {e.path for e in client.list_artifacts(run.run_id, "models/files")}
    assert paths == {"models/files/model.pkl", "models/files/model.json"}
    meta = client.read_dict(run.run_id, "models/files/model.json")
    assert meta["format"] == "pickle"
    assert meta["sha256"] == mv.digest
    assert meta["class"] == f"{ThresholdModel.__module__}.ThresholdModel"
    assert mv.description == "a threshold"
    assert mv.tags == {"t": "1"}
    assert mv.size == len(client.read_artifact(run.run_id, "models/files/model.pkl"))
