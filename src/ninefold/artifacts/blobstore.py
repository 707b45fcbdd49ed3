"""Content-addressed blob storage on a local folder or any fsspec filesystem."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ninefold.errors import ArtifactNotFound, ConfigError, IntegrityError, MissingDependency

CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its digest and size in bytes."""

    digest: str
    size: int


def hash_file(path: str | os.PathLike[str]) -> BlobInfo:
    """SHA-256 and size of a local file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return BlobInfo(h.hexdigest(), size)


def _check_digest(digest: str) -> str:
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise ArtifactNotFound(f"{digest!r} is not a sha256 digest (64 lowercase hex characters).")
    return digest


class ArtifactStore:
    """Blobs keyed by SHA-256 under ``root`` (a folder, ``file://``, ``s3://bucket/prefix``, ...).

    Args:
        root: where blobs live.
        storage_options: passed to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}``).
    """

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        self.root = root
        options = dict(storage_options or {})
        if "://" not in root or root.startswith("file://"):
            self.local: Path | None = Path(root.removeprefix("file://")).expanduser().resolve()
            self.local.mkdir(parents=True, exist_ok=True)
            self.fs: Any = None
            self.base = str(self.local)
        else:
            self.local = None
            try:
                import fsspec

                self.fs, self.base = fsspec.core.url_to_fs(root, **options)
            except ImportError as exc:
                scheme = root.split("://", 1)[0]
                extra = {"s3": "s3", "gs": "gcs", "gcs": "gcs"}.get(scheme, scheme)
                raise MissingDependency(
                    f"Artifact root {root!r} needs the fsspec driver for {scheme}://: "
                    f"pip install 'ninefold[{extra}]'"
                ) from exc
            except ValueError as exc:
                raise ConfigError(f"Artifact root {root!r} is not a usable URL: {exc}") from exc
            self.base = self.base.rstrip("/")

    # -- paths -----------------------------------------------------------

    def _key(self, digest: str) -> str:
        return f"{self.base}/blobs/{digest[:2]}/{digest[2:]}"

    def location(self, digest: str) -> str:
        """Where the blob with this digest lives (a path or URL)."""
        key = self._key(_check_digest(digest))
        if self.local is not None:
            return key
        return f"{self.root.split('://', 1)[0]}://{key}"

    # -- writes ----------------------------------------------------------

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""
        key = self._key(_check_digest(digest))
        return os.path.exists(key) if self.local is not None else bool(self.fs.exists(key))

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store a local file; returns its digest and size. Stores nothing if already present."""
        src = Path(path)
        if not src.is_file():
            raise ArtifactNotFound(f"Cannot log {str(src)!r}: no such file.")
        if self.local is not None:
            return self._put_local_file(src)
        info = hash_file(src)
        key = self._key(info.digest)
        if not self.fs.exists(key):
            self.fs.put_file(str(src), key)
        return info

    def _put_local_file(self, src: Path) -> BlobInfo:
        assert self.local is not None
        tmp_dir = self.local / "tmp"
        tmp_dir.mkdir(exist_ok=True)
        h = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            # Hash while copying: one read of the source.
            with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
                while chunk := fin.read(CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    fout.write(chunk)
            return self._commit_local(tmp, BlobInfo(h.hexdigest(), size))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _commit_local(self, tmp: str, info: BlobInfo) -> BlobInfo:
        final = self._key(info.digest)
        if not os.path.exists(final):
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        return info

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store bytes; returns their digest and size."""
        info = BlobInfo(hashlib.sha256(data).hexdigest(), len(data))
        key = self._key(info.digest)
        if self.local is not None:
            if os.path.exists(key):
                return info
            tmp_dir = self.local / "tmp"
            tmp_dir.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=tmp_dir)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                return self._commit_local(tmp, info)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        if not self.fs.exists(key):
            self.fs.pipe_file(key, data)
        return info

    # -- reads -----------------------------------------------------------

    def _open(self, digest: str, name: str) -> Any:
        key = self._key(_check_digest(digest))
        try:
            if self.local is not None:
                return open(key, "rb")
            return self.fs.open(key, "rb")
        except FileNotFoundError as exc:
            raise ArtifactNotFound(
                f"Artifact {name!r}: blob sha256:{digest} is missing from {self.root}. "
                "It was deleted outside ninefold; re-log the artifact."
            ) from exc

    def read_bytes(self, digest: str, name: str = "") -> bytes:
        """The blob's bytes, after checking they still hash to ``digest``."""
        with self._open(digest, name or digest) as fh:
            data: bytes = fh.read()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise _corrupt(name or digest, digest, actual, self.location(digest))
        return data

    def download(self, digest: str, dest: str | os.PathLike[str], name: str = "") -> Path:
        """Copy a blob to ``dest`` (atomically), checking its hash on the way."""
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with self._open(digest, name or digest) as fin, os.fdopen(fd, "wb") as fout:
                while chunk := fin.read(CHUNK):
                    h.update(chunk)
                    fout.write(chunk)
            if h.hexdigest() != digest:
                raise _corrupt(name or digest, digest, h.hexdigest(), self.location(digest))
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def verify(self, digest: str, name: str = "") -> None:
        """Raise :class:`IntegrityError` unless the blob still hashes to ``digest``."""
        h = hashlib.sha256()
        with self._open(digest, name or digest) as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
        if h.hexdigest() != digest:
            raise _corrupt(name or digest, digest, h.hexdigest(), self.location(digest))

    def size(self, digest: str) -> int:
        """Size of a stored blob in bytes."""
        key = self._key(_check_digest(digest))
        try:
            return os.path.getsize(key) if self.local is not None else int(self.fs.size(key))
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"Blob sha256:{digest} is not stored in {self.root}.") from exc

    def digests(self) -> Iterator[str]:
        """Every stored digest (for accounting and garbage collection)."""
        if self.local is not None:
            blobs = self.local / "blobs"
            if not blobs.is_dir():
                return
            for prefix in sorted(os.listdir(blobs)):
                for rest in sorted(os.listdir(blobs / prefix)):
                    yield prefix + rest
            return
        for key in self.fs.find(f"{self.base}/blobs"):
            parts = key.rstrip("/").split("/")
            yield parts[-2] + parts[-1]

    def delete(self, digest: str) -> None:
        """Remove a blob (callers make sure nothing references it)."""
        key = self._key(_check_digest(digest))
        if self.local is not None:
            if os.path.exists(key):
                os.chmod(key, 0o644)
                os.unlink(key)
        elif self.fs.exists(key):
            self.fs.rm_file(key)


def _corrupt(name: str, expected: str, actual: str, where: str) -> IntegrityError:
    return IntegrityError(
        f"Artifact {name!r} is corrupt: it was stored with sha256 {expected} but the bytes at "
        f"{where} now hash to {actual}. Refusing to use it; re-log the artifact or restore the "
        "blob from a backup."
    )
