"""Storage accounting and garbage collection of the content-addressed artifact store.

Blobs are stored once per content, however many runs, model versions or
dataset versions use them. Accounting charges each blob once: its bytes are
split evenly (in whole bytes that add up exactly) among the runs that
reference it, so the bytes attributed to runs plus the bytes referenced only
by entities without a run plus unreferenced bytes equal the store's real size.

:func:`collect_garbage` removes blobs that nothing references: no run
artifact, no model version, and no row of any table with a ``digest`` or
``*_digest`` column (dataset versions and tables added later are found in the
live database). It is a dry run unless asked to delete; it skips blobs younger
than ``min_age_s`` (a run may have stored the bytes and not yet committed the
row that references them) and checks the references again just before
deleting.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ninefold.artifacts import ArtifactStore
from ninefold.costs.accounting import split_evenly
from ninefold.errors import ArtifactNotFound
from ninefold.store import MetadataStore
from ninefold.store.costs import BlobRef


@dataclass(frozen=True)
class StorageAccounting:
    """Where the bytes of the artifact store go.

    Attributes:
        store_bytes: real bytes in the artifact store (each blob once), or None when not scanned.
        store_blobs: blobs in the store, or None when not scanned.
        referenced_bytes: bytes of the distinct blobs something references.
        logical_bytes: bytes if every reference had its own copy.
        dedup_savings_bytes: ``logical_bytes - referenced_bytes``.
        by_run: bytes attributed to each run (shared blobs split evenly).
        by_experiment: the same, added up per experiment.
        unowned_bytes: bytes referenced only by entities without a run
            (e.g. a model version registered from a file).
        unreferenced_bytes: bytes of blobs nothing references (``ninefold gc`` can remove them).
        unreferenced_blobs: how many such blobs.
        missing: referenced digests whose blob is not in the store.
    """

    store_bytes: int | None
    store_blobs: int | None
    referenced_bytes: int
    logical_bytes: int
    dedup_savings_bytes: int
    by_run: dict[str, int]
    by_experiment: dict[str, int]
    unowned_bytes: int
    unreferenced_bytes: int | None
    unreferenced_blobs: int | None
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "store_bytes": self.store_bytes,
            "store_blobs": self.store_blobs,
            "referenced_bytes": self.referenced_bytes,
            "logical_bytes": self.logical_bytes,
            "dedup_savings_bytes": self.dedup_savings_bytes,
            "runs": len(self.by_run),
            "run_bytes": sum(self.by_run.values()),
            "by_experiment": dict(self.by_experiment),
            "unowned_bytes": self.unowned_bytes,
            "unreferenced_bytes": self.unreferenced_bytes,
            "unreferenced_blobs": self.unreferenced_blobs,
            "missing": list(self.missing),
        }


def _sizes(
    refs: list[BlobRef], artifacts: ArtifactStore | None
) -> tuple[dict[str, int], list[str]]:
    sizes: dict[str, int] = {}
    for ref in refs:
        if ref.size is not None:
            sizes.setdefault(ref.digest, ref.size)
    missing: list[str] = []
    for digest in {r.digest for r in refs} - set(sizes):
        if artifacts is None:
            continue
        try:
            sizes[digest] = artifacts.size(digest)
        except ArtifactNotFound:
            missing.append(digest)
    return sizes, sorted(missing)


def attribute(refs: list[BlobRef], sizes: dict[str, int]) -> tuple[dict[str, int], int]:
    """Bytes per run (each blob split evenly among the runs using it) and unowned bytes."""
    owners: dict[str, set[str]] = defaultdict(set)
    for ref in refs:
        owners.setdefault(ref.digest, set())
        if ref.run_id is not None:
            owners[ref.digest].add(ref.run_id)
    by_run: dict[str, int] = defaultdict(int)
    unowned = 0
    for digest, runs in owners.items():
        size = sizes.get(digest)
        if size is None:
            continue
        if not runs:
            unowned += size
            continue
        for run_id, share in split_evenly(size, list(runs)).items():
            by_run[run_id] += share
    return dict(by_run), unowned


def storage_accounting(
    store: MetadataStore, artifacts: ArtifactStore | None, *, scan: bool = True
) -> StorageAccounting:
    """Account for every byte of the artifact store.

    Args:
        store: the metadata store holding the references.
        artifacts: the artifact store (sizes of blobs the metadata does not size,
            and the scan).
        scan: list the artifact store to measure its real size and the
            unreferenced blobs (one listing; skip it when only the per-run
            figures are needed).
    """
    refs = store.costs.blob_references()
    sizes, missing = _sizes(refs, artifacts)
    by_run, unowned = attribute(refs, sizes)
    referenced = {r.digest for r in refs}
    referenced_bytes = sum(sizes.get(d, 0) for d in referenced)
    logical = sum(sizes.get(r.digest, 0) for r in refs)
    store_bytes = store_blobs = unreferenced_bytes = unreferenced_blobs = None
    if scan and artifacts is not None:
        store_bytes = store_blobs = unreferenced_bytes = unreferenced_blobs = 0
        for digest in artifacts.digests():
            try:
                size = artifacts.size(digest)
            except ArtifactNotFound:
                continue  # removed while we listed
            store_bytes += size
            store_blobs += 1
            if digest not in referenced:
                unreferenced_bytes += size
                unreferenced_blobs += 1
    by_experiment: dict[str, int] = defaultdict(int)
    if by_run:
        experiment_of = {f.run_id: f.experiment for f in store.costs.run_facts()}
        for run_id, size in by_run.items():
            by_experiment[experiment_of.get(run_id, "?")] += size
    return StorageAccounting(
        store_bytes=store_bytes,
        store_blobs=store_blobs,
        referenced_bytes=referenced_bytes,
        logical_bytes=logical,
        dedup_savings_bytes=logical - referenced_bytes,
        by_run=by_run,
        by_experiment=dict(by_experiment),
        unowned_bytes=unowned,
        unreferenced_bytes=unreferenced_bytes,
        unreferenced_blobs=unreferenced_blobs,
        missing=missing,
    )


@dataclass(frozen=True)
class GarbageReport:
    """What :func:`collect_garbage` found and did.

    Attributes:
        candidates: digests of unreferenced blobs old enough to remove.
        candidate_bytes: their total size.
        skipped_young: unreferenced blobs left alone because they are newer than ``min_age_s``.
        deleted: digests actually removed (empty on a dry run).
        deleted_bytes: their total size.
        dry_run: True when nothing was deleted on purpose.
    """

    candidates: list[str]
    candidate_bytes: int
    skipped_young: int
    deleted: list[str]
    deleted_bytes: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "dry_run": self.dry_run,
            "candidates": list(self.candidates),
            "candidate_bytes": self.candidate_bytes,
            "skipped_young": self.skipped_young,
            "deleted": list(self.deleted),
            "deleted_bytes": self.deleted_bytes,
        }


def _age_s(artifacts: ArtifactStore, digest: str, now: float) -> float | None:
    """Seconds since the blob was written, or None when the store cannot tell."""
    location = artifacts.location(digest)
    try:
        if artifacts.local is not None:
            return now - os.path.getmtime(location)
        info = artifacts.fs.info(location.split("://", 1)[-1])
    except (OSError, FileNotFoundError):
        return None
    stamp = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if stamp is None:
        return None
    if hasattr(stamp, "timestamp"):
        return now - float(stamp.timestamp())
    try:
        return now - float(stamp)
    except (TypeError, ValueError):
        return None


def collect_garbage(
    store: MetadataStore,
    artifacts: ArtifactStore,
    *,
    delete: bool = False,
    min_age_s: float = 3600.0,
) -> GarbageReport:
    """Find, and with ``delete=True`` remove, blobs that nothing references.

    Args:
        store: the metadata store whose references protect blobs.
        artifacts: the artifact store to clean.
        delete: remove the blobs; by default only report them (dry run).
        min_age_s: leave blobs younger than this alone (a writer may not have
            committed its reference yet). Blobs whose age the store cannot
            tell are only removed when this is 0.
    """
    referenced = store.costs.referenced_digests()
    now = time.time()
    candidates: list[str] = []
    sizes: dict[str, int] = {}
    young = 0
    for digest in artifacts.digests():
        if digest in referenced:
            continue
        if min_age_s > 0:
            age = _age_s(artifacts, digest, now)
            if age is None or age < min_age_s:
                young += 1
                continue
        try:
            sizes[digest] = artifacts.size(digest)
        except ArtifactNotFound:
            continue
        candidates.append(digest)
    deleted: list[str] = []
    if delete and candidates:
        # A run may have started using a candidate since the listing: look again.
        still_free = set(candidates) - store.costs.referenced_digests()
        for digest in candidates:
            if digest in still_free:
                artifacts.delete(digest)
                deleted.append(digest)
    return GarbageReport(
        candidates=candidates,
        candidate_bytes=sum(sizes[d] for d in candidates),
        skipped_young=young,
        deleted=deleted,
        deleted_bytes=sum(sizes[d] for d in deleted),
        dry_run=not delete,
    )
