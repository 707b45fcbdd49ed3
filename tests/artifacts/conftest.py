"""An S3 endpoint on loopback (moto's server) and artifact stores on a folder and on S3."""

from __future__ import annotations

import socket
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ninefold.artifacts import ArtifactStore

CREDENTIALS = {"key": "testing", "secret": "testing"}
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1, one per test session."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    """A boto3 client of the moto server (for setting up and tampering, not for ninefold)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=CREDENTIALS["key"],
        aws_secret_access_key=CREDENTIALS["secret"],
        region_name=REGION,
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A fresh, empty bucket."""
    name = f"nf-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the environment so nothing reads ~/.aws or an instance profile."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["secret"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@dataclass
class StoreCase:
    """An artifact store plus a way to alter one of its blobs behind its back."""

    store: ArtifactStore
    overwrite: Callable[[str, bytes], None]
    raw_keys: Callable[[], list[str]]


def _local_case(root: Path) -> StoreCase:
    store = ArtifactStore(str(root))

    def overwrite(digest: str, data: bytes) -> None:
        path = Path(store.location(digest))
        path.chmod(path.stat().st_mode | stat.S_IWUSR)  # blobs are stored read-only
        path.write_bytes(data)

    def raw_keys() -> list[str]:
        blobs = root / "blobs"
        return sorted(p.relative_to(root).as_posix() for p in blobs.rglob("*") if p.is_file())

    return StoreCase(store, overwrite, raw_keys)


def _s3_case(endpoint: str, bucket: str, s3_client: Any) -> StoreCase:
    prefix = "team/artifacts"
    store = ArtifactStore(
        f"s3://{bucket}/{prefix}", {"client_kwargs": {"endpoint_url": endpoint}, **CREDENTIALS}
    )

    def overwrite(digest: str, data: bytes) -> None:
        key = f"{prefix}/blobs/{digest[:2]}/{digest[2:]}"
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)

    def raw_keys() -> list[str]:
        listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
        return sorted(o["Key"].removeprefix(prefix + "/") for o in listed.get("Contents", []))

    return StoreCase(store, overwrite, raw_keys)


@pytest.fixture(params=["local", "s3"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCase:
    """The same artifact-store contract, on a local folder and on S3 (moto on loopback)."""
    if request.param == "local":
        return _local_case(tmp_path / "artifacts")
    request.getfixturevalue("aws_env")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return _s3_case(endpoint, bucket, request.getfixturevalue("s3_client"))
