"""The artifact store contract, on a local folder and on S3: addressing, dedup, integrity."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

import pytest

from ninefold.artifacts import ArtifactStore
from ninefold.artifacts.blobstore import hash_file
from ninefold.errors import ArtifactNotFound, ConfigError, IntegrityError, MissingDependency
from tests.artifacts.conftest import StoreCase


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob_key(digest: str) -> str:
    return f"blobs/{digest[:2]}/{digest[2:]}"


def test_put_bytes_is_content_addressed(case: StoreCase) -> None:
    data = b"hello artifact store\n"
    info = case.store.put_bytes(data)
    assert info.digest == _sha(data)
    assert info.size == len(data)
    assert case.store.exists(info.digest)
    assert case.raw_keys() == [_blob_key(info.digest)]
    assert case.store.read_bytes(info.digest) == data
    assert case.store.size(info.digest) == len(data)


def test_put_file_matches_put_bytes(case: StoreCase, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # several read chunks
    src = tmp_path / "weights.bin"
    src.write_bytes(data)
    info = case.store.put_file(src)
    assert info == hash_file(src)
    assert info.digest == _sha(data)
    assert info.size == len(data)
    assert case.store.put_bytes(data) == info
    assert case.raw_keys() == [_blob_key(info.digest)]
    assert case.store.read_bytes(info.digest) == data


def test_same_bytes_twice_are_stored_once(case: StoreCase, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("same")
    b.write_text("same")
    first = case.store.put_file(a)
    second = case.store.put_file(b)
    third = case.store.put_bytes(b"same")
    other = case.store.put_bytes(b"different")
    assert first == second == third
    assert other.digest != first.digest
    assert sorted(case.store.digests()) == sorted({first.digest, other.digest})
    assert len(case.raw_keys()) == 2


def test_digests_lists_every_stored_blob(case: StoreCase) -> None:
    assert list(case.store.digests()) == []
    stored = {case.store.put_bytes(f"blob {i}".encode()).digest for i in range(5)}
    assert set(case.store.digests()) == stored
    assert len(list(case.store.digests())) == 5
    victim = sorted(stored)[0]
    case.store.delete(victim)
    assert not case.store.exists(victim)
    assert set(case.store.digests()) == stored - {victim}


def test_download_copies_and_checks(case: StoreCase, tmp_path: Path) -> None:
    data = b"model bytes" * 1000
    info = case.store.put_bytes(data)
    target = tmp_path / "out" / "nested" / "model.bin"
    assert case.store.download(info.digest, target) == target
    assert target.read_bytes() == data
    # Nothing else (no temporary file) is left next to the target.
    assert [p.name for p in target.parent.iterdir()] == ["model.bin"]
    case.store.verify(info.digest)


def test_missing_or_malformed_digest_is_not_found(case: StoreCase, tmp_path: Path) -> None:
    missing = _sha(b"never stored")
    assert not case.store.exists(missing)
    with pytest.raises(ArtifactNotFound, match=r"'runs:/r1/model\.pkl'.*missing"):
        case.store.read_bytes(missing, "runs:/r1/model.pkl")
    with pytest.raises(ArtifactNotFound):
        case.store.download(missing, tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()
    with pytest.raises(ArtifactNotFound, match="not a sha256 digest"):
        case.store.read_bytes("../../etc/passwd")
    with pytest.raises(ArtifactNotFound, match="not a sha256 digest"):
        case.store.exists("ABCD" * 16)  # upper case is not how digests are written


@pytest.mark.parametrize("how", ["same_length", "truncated"])
def test_altered_blob_is_refused_everywhere(case: StoreCase, tmp_path: Path, how: str) -> None:
    data = b"trusted weights " * 64
    info = case.store.put_bytes(data)
    tampered = data[:-1] + b"X" if how == "same_length" else data[:10]
    case.overwrite(info.digest, tampered)
    name = "runs:/0123abcd/models/churn/model.skops"
    actual = _sha(tampered)

    def check(exc: IntegrityError) -> None:
        message = str(exc)
        assert name in message
        assert info.digest in message
        assert actual in message

    with pytest.raises(IntegrityError) as err:
        case.store.read_bytes(info.digest, name)
    check(err.value)

    target = tmp_path / "dl" / "model.skops"
    with pytest.raises(IntegrityError) as err:
        case.store.download(info.digest, target, name)
    check(err.value)
    # The refused bytes never appear at the destination, not even as a temporary file.
    assert list(target.parent.iterdir()) == []

    with pytest.raises(IntegrityError) as err:
        case.store.verify(info.digest, name)
    check(err.value)


def test_s3_root_keeps_blobs_under_its_prefix(case: StoreCase) -> None:
    info = case.store.put_bytes(b"where am I")
    location = case.store.location(info.digest)
    assert location.endswith(_blob_key(info.digest))
    if case.store.local is None:
        assert location.startswith("s3://")
        assert "/team/artifacts/blobs/" in location
    else:
        assert Path(location).is_file()


# -- local folder only -------------------------------------------------------


def test_local_blobs_are_read_only_and_writes_leave_no_temp_files(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    store = ArtifactStore(str(root))
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(100_000))
    infos = [store.put_file(src), store.put_bytes(b"x" * 10), store.put_bytes(b"x" * 10)]
    files = sorted(p for p in (root / "blobs").rglob("*") if p.is_file())
    assert len(files) == 2
    for path in files:
        # Every file under blobs/ is a whole blob whose name is its digest.
        digest = path.parent.name + path.name
        assert _sha(path.read_bytes()) == digest
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert {i.digest for i in infos} == {p.parent.name + p.name for p in files}
    assert list((root / "tmp").iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_failed_local_write_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    store = ArtifactStore(str(root))
    store.put_bytes(b"existing")
    before = sorted(p for p in root.rglob("*") if p.is_file())
    # /proc/self/mem is a regular file whose first page cannot be read: the copy fails
    # after the temporary file was created.
    with pytest.raises(OSError):
        store.put_file("/proc/self/mem")
    assert sorted(p for p in root.rglob("*") if p.is_file()) == before
    assert list((root / "tmp").iterdir()) == []


def test_file_url_root_is_a_local_folder(tmp_path: Path) -> None:
    store = ArtifactStore(f"file://{tmp_path / 'arts'}")
    info = store.put_bytes(b"abc")
    assert store.local == (tmp_path / "arts").resolve()
    assert (tmp_path / "arts" / _blob_key(info.digest)).is_file()


def test_put_file_of_missing_source_is_artifact_not_found(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "artifacts"))
    with pytest.raises(ArtifactNotFound, match=r"missing\.bin"):
        store.put_file(tmp_path / "missing.bin")
    with pytest.raises(ArtifactNotFound, match="no such file"):
        store.put_file(tmp_path)  # a folder is not a file


def test_unusable_roots_name_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"'nope://bucket/x' is not a usable URL"):
        ArtifactStore("nope://bucket/x")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependency, match="needs the fsspec driver for gs://"):
            ArtifactStore("gs://bucket/x")
