"""Storage accounting (each blob counted once) and garbage collection of unreferenced blobs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import Connection, text

import ninefold as nf
from ninefold import costs
from ninefold.tracking.client import Client


def _disk_bytes(root: str) -> tuple[int, set[str]]:
    """Bytes and digests of the blob files under an artifact root, read straight from disk."""
    total, digests = 0, set()
    for folder, _, files in os.walk(Path(root) / "blobs"):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
            digests.add(os.path.basename(folder) + name)
    return total, digests


def _shared_history(client: Client) -> list[str]:
    shared = "x" * 10_001  # logged by three runs: one blob
    ids = []
    for i in range(3):
        with nf.start_run(experiment=f"e{i % 2}", capture_environment=i == 0) as run:
            nf.log_text(shared, "data/shared.txt")
            nf.log_text(f"own {i} " * (100 * (i + 1)), "own.txt")
            nf.log_text(shared, "data/again.txt")  # the same blob twice in one run
            ids.append(run.run_id)
    return ids


def test_storage_attributed_to_runs_sums_to_the_real_store_size(client: Client) -> None:
    ids = _shared_history(client)
    acc = costs.storage_report(client=client)
    disk, digests = _disk_bytes(client.artifact_root)
    assert acc.store_bytes == disk
    assert acc.store_blobs == len(digests)
    assert sum(acc.by_run.values()) == disk
    assert set(acc.by_run) == set(ids)
    assert acc.unreferenced_bytes == 0
    assert sum(acc.by_experiment.values()) == disk
    assert acc.by_experiment["e1"] == acc.by_run[ids[1]]
    assert acc.by_experiment["e0"] == acc.by_run[ids[0]] + acc.by_run[ids[2]]
    # The 10,001-byte blob is shared by three runs: 3,334 + 3,334 + 3,333.
    own = {
        rid: sum(a.size for a in client.list_artifacts(rid) if a.path == "own.txt") for rid in ids
    }
    env = acc.by_run[ids[0]] - own[ids[0]] - 3334  # run 0 also holds its environment files
    assert sorted(acc.by_run[r] - own[r] for r in ids[1:]) == [3333, 3334]
    assert env > 0
    assert acc.logical_bytes == acc.referenced_bytes + acc.dedup_savings_bytes
    assert acc.dedup_savings_bytes == 10_001 * 5  # six references to the shared blob, one stored
    # Run costs carry the same shares.
    report = costs.cost_report("run", client=client)
    assert sum(g.storage_bytes for g in report.groups) == disk


def test_the_share_costed_at_run_end_is_the_accounting_split(client: Client) -> None:
    ids = _shared_history(client)
    acc = costs.storage_report(client=client)
    # What the database computes for one run (counting users and ranks) is what the
    # accounting of the whole store gives it, byte for byte.
    assert {rid: client.store.costs.storage_share(rid) for rid in ids} == acc.by_run


def test_gc_removes_only_blobs_nothing_references(client: Client) -> None:
    ids = _shared_history(client)
    store, blobs = client.store, client.artifacts
    orphan = blobs.put_bytes(b"nobody uses me")
    model_blob = blobs.put_bytes(b"a model registered from a file, not from a run")
    store.models.create_version(
        "m", run_id=None, artifact_path="model.pkl", digest=model_blob.digest,
        size=model_blob.size, format="pickle", signature=None, git_commit=None,
        description=None, tags={},
    )  # fmt: skip
    profile = blobs.put_bytes(b"a dataset profile")
    extra = blobs.put_bytes(b"referenced by a table added later")

    def refer(conn: Connection) -> None:
        conn.execute(
            text(
                "INSERT INTO dataset_versions (name, version, fingerprint, num_rows, num_columns,"
                " profile_digest, created_ms) VALUES ('d', 1, 'f', 1, 1, :p, 0)"
            ),
            {"p": profile.digest},
        )
        conn.execute(text("CREATE TABLE later_refs (thing_digest VARCHAR(64))"))
        conn.execute(text("INSERT INTO later_refs VALUES (:d)"), {"d": extra.digest})

    store.db.write(refer)
    before, digests_before = _disk_bytes(client.artifact_root)

    young = costs.gc(client=client)  # everything was just written: too young to touch
    assert young.candidates == []
    assert young.skipped_young == 1

    dry = costs.gc(min_age_s=0, client=client)
    assert dry.dry_run
    assert dry.candidates == [orphan.digest]
    assert dry.candidate_bytes == orphan.size
    assert _disk_bytes(client.artifact_root)[0] == before

    done = costs.gc(delete=True, min_age_s=0, client=client)
    assert done.deleted == [orphan.digest]
    after, digests_after = _disk_bytes(client.artifact_root)
    assert after == before - orphan.size
    assert digests_after == digests_before - {orphan.digest}
    for run_id in ids:  # every run's artifacts still read back, hash-checked
        for entry in client.list_artifacts(run_id):
            blobs.verify(entry.digest, entry.path)
    assert costs.gc(delete=True, min_age_s=0, client=client).deleted == []


def test_gc_min_age_uses_the_blob_time(client: Client) -> None:
    old = client.artifacts.put_bytes(b"left over from long ago")
    path = client.artifacts.location(old.digest)
    stamp = time.time() - 7200
    os.utime(path, (stamp, stamp))
    client.artifacts.put_bytes(b"just written, maybe about to be referenced")
    rep = costs.gc(min_age_s=3600, client=client)
    assert rep.candidates == [old.digest]
    assert rep.skipped_young == 1
