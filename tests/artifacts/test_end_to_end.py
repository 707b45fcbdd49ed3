"""Artifacts through the tracking API: an S3 artifact root, and corrupted blobs at read time."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Any

import pytest

import ninefold as nf
from ninefold.errors import IntegrityError
from ninefold.tracking.client import Client, get_client


def test_run_logs_artifacts_to_s3(
    project: Path,
    aws_env: None,
    s3_endpoint: str,
    s3_bucket: str,
    s3_client: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("NINEFOLD_ARTIFACT_ROOT", f"s3://{s3_bucket}/ninefold")
    monkeypatch.setenv("NINEFOLD_S3_ENDPOINT_URL", s3_endpoint)
    src = tmp_path / "weights.bin"
    src.write_bytes(b"\x00\x01" * 5000)
    with nf.start_run(experiment="s3-demo") as run:
        entry = nf.log_artifact(src, "model")
        nf.log_text("again", "notes.txt")
        nf.log_artifact(src, "copy")  # same bytes: no second object
    assert entry.path == "model/weights.bin"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert entry.digest == digest

    keys = [
        o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    ]  # the environment files are there too
    blob_key = f"ninefold/blobs/{digest[:2]}/{digest[2:]}"
    assert keys.count(blob_key) == 1
    assert all(k.startswith("ninefold/blobs/") for k in keys)
    assert s3_client.get_object(Bucket=s3_bucket, Key=blob_key)["Body"].read() == src.read_bytes()
    # Nothing was written to the local artifact folder.
    assert not (project / ".ninefold" / "artifacts" / "blobs").exists()

    paths = [e.path for e in nf.list_artifacts(run.run_id)]
    assert {"model/weights.bin", "copy/weights.bin", "notes.txt"} <= set(paths)
    assert [e.digest for e in nf.list_artifacts(run.run_id, "copy")] == [digest]
    got = nf.download_artifacts(run.run_id, "model/weights.bin", tmp_path / "dl")
    assert got.read_bytes() == src.read_bytes()
    assert get_client().read_text(run.run_id, "notes.txt") == "again"

    # Tampering with the object in the bucket is caught when the run's artifact is read.
    s3_client.put_object(Bucket=s3_bucket, Key=blob_key, Body=b"tampered")
    with pytest.raises(IntegrityError, match=r"runs:/.*/model/weights\.bin") as info:
        nf.download_artifacts(run.run_id, "model", tmp_path / "dl2")
    assert digest in str(info.value)
    assert hashlib.sha256(b"tampered").hexdigest() in str(info.value)
    assert not (tmp_path / "dl2" / "weights.bin").exists()


def _tamper_local(client: Client, digest: str, data: bytes) -> None:
    path = Path(client.artifacts.location(digest))
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    path.write_bytes(data)


def test_corrupt_run_artifact_is_refused_by_client_reads(client: Client, tmp_path: Path) -> None:
    with nf.start_run() as run:
        entry = nf.log_dict({"threshold": 0.5}, "config.json")
    _tamper_local(client, entry.digest, b'{"threshold": 0.99}')
    for read in (
        lambda: client.read_dict(run.run_id, "config.json"),
        lambda: client.read_artifact(run.run_id, "config.json"),
        lambda: nf.download_artifacts(run.run_id, "config.json", tmp_path / "dl"),
    ):
        with pytest.raises(IntegrityError, match=r"config\.json") as info:
            read()
        assert entry.digest in str(info.value)
        assert hashlib.sha256(b'{"threshold": 0.99}').hexdigest() in str(info.value)


def test_corrupt_model_is_refused_by_load_model(client: Client) -> None:
    model = {"weights": [1.0, 2.0, 3.0]}
    with nf.start_run():
        mv = nf.log_model(model, "tiny", format="pickle")
    assert nf.load_model("models:/tiny/1", trusted=True) == model
    tampered = b"not the pickle that was logged"
    _tamper_local(client, mv.digest, tampered)
    with pytest.raises(IntegrityError, match="models:/tiny/1") as info:
        nf.load_model("models:/tiny/1", trusted=True)
    assert mv.digest in str(info.value)
    assert hashlib.sha256(tampered).hexdigest() in str(info.value)
