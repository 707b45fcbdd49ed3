"""[log_batch] A million metric points, batched, against MLflow and plain sqlite3.

ninefold, three ways, each into a fresh run of the project's default store:

* ``fluent_log_metrics``: ``nf.log_metrics({10 keys}, step=s)`` for every step,
  then ``end_run`` (the background writer flushes while the loop runs);
* ``fluent_log_metric``: the same points through ``nf.log_metric``, one call each;
* ``store_chunks``: ``client.store.runs.log_metrics(rows)`` in chunks of 1,000
  prepared rows (the store-level path the writer uses).

MLflow: ``MlflowClient.log_batch`` with 1,000 prepared ``Metric`` objects per
call, on fewer points (it is ~100x slower). Yardstick: the same rows inserted
with ``sqlite3.executemany`` into a fresh WAL file in the same folder, in
transactions of the same size, into a table shaped and indexed like ninefold's
``metrics`` table; once with ``synchronous=NORMAL`` (ninefold's setting, the
one compared) and once with SQLite's default ``FULL`` (fsync per commit).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench._harness import Context, mlflow_folder, ninefold_project, ratio, record, step
from bench._harness import run_worker as _run
from bench._setup import mlflow_store, ninefold_client, ninefold_points

KEYS = [f"m{i}" for i in range(10)]
CHUNK = 1000
TARGET_MLFLOW = 50.0
TARGET_SQLITE = 2.0


def _rows(run_id: str, points: int) -> list[tuple[str, str, float, int, int]]:
    """(run_id, key, value, step, timestamp_ms): ten keys per step."""
    t0 = int(time.time() * 1000)
    return [(run_id, KEYS[i % 10], i * 1e-3, i // 10, t0 + i // 10) for i in range(points)]


def ninefold_worker(points: int, chunk: int) -> dict[str, Any]:
    """The three ninefold paths on ``points`` points each."""
    import ninefold as nf

    client, _ = ninefold_client()
    clock = time.perf_counter
    out: dict[str, Any] = {}

    run = nf.start_run(experiment="bench", capture_environment=False)
    values = dict.fromkeys(KEYS, 0.5)
    start = clock()
    for s in range(points // len(KEYS)):
        nf.log_metrics(values, step=s)
    looped = clock()
    nf.end_run()
    ended = clock()
    out["fluent_log_metrics"] = {
        "calls_per_s": points / len(KEYS) / (looped - start),
        "points_per_s_e2e": points / (ended - start),
        "end_run_s": ended - looped,
        "landed": ninefold_points(client, run.run_id, KEYS),
    }

    run = nf.start_run(experiment="bench", capture_environment=False)
    log = nf.log_metric
    start = clock()
    for i in range(points):
        log(KEYS[i % 10], i * 1e-3, step=i // 10)
    looped = clock()
    nf.end_run()
    ended = clock()
    out["fluent_log_metric"] = {
        "calls_per_s": points / (looped - start),
        "points_per_s_e2e": points / (ended - start),
        "end_run_s": ended - looped,
        "landed": ninefold_points(client, run.run_id, KEYS),
    }

    run = nf.start_run(experiment="bench", capture_environment=False)
    rows = _rows(run.run_id, points)
    write = client.store.runs.log_metrics
    start = clock()
    for i in range(0, points, chunk):
        write(rows[i : i + chunk])
    elapsed = clock() - start
    nf.end_run()
    out["store_chunks"] = {
        "points_per_s": points / elapsed,
        "chunk": chunk,
        "landed": ninefold_points(client, run.run_id, KEYS),
    }
    out["attempted"] = points
    return out


def sqlite_worker(points: int, chunk: int, synchronous: str) -> dict[str, Any]:
    """Plain ``sqlite3``: the same rows into a fresh WAL file, one transaction per chunk."""
    import sqlite3

    path = Path(f"yardstick-{synchronous.lower()}.db")
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute(f"PRAGMA synchronous = {synchronous}")
    con.execute(
        "CREATE TABLE metrics (run_id VARCHAR(32) NOT NULL, key VARCHAR(250) NOT NULL, "
        "step BIGINT NOT NULL, timestamp_ms BIGINT NOT NULL, value FLOAT)"
    )
    con.execute("CREATE INDEX ix_metrics ON metrics (run_id, key, step)")
    rows = [(r[0], r[1], r[3], r[4], r[2]) for r in _rows(os.urandom(16).hex(), points)]
    clock = time.perf_counter
    start = clock()
    for i in range(0, points, chunk):
        con.execute("BEGIN")
        con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows[i : i + chunk])
        con.execute("COMMIT")
    elapsed = clock() - start
    landed = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    con.close()
    return {"points_per_s": points / elapsed, "points": points, "landed": landed}


def mlflow_worker(points: int, batch: int) -> dict[str, Any]:
    """``MlflowClient.log_batch`` of prepared ``Metric`` objects, ``batch`` per call."""
    import sqlite3

    from mlflow.entities import Metric

    client, exp_id, init_s = mlflow_store()
    run_id = client.create_run(exp_id).info.run_id
    metrics = [Metric(r[1], r[2], r[4], r[3]) for r in _rows(run_id, points)]
    clock = time.perf_counter
    start = clock()
    for i in range(0, points, batch):
        client.log_batch(run_id, metrics=metrics[i : i + batch])
    elapsed = clock() - start
    client.set_terminated(run_id)
    with sqlite3.connect("mlflow.db") as con:
        landed = con.execute(
            "SELECT count(*) FROM metrics WHERE run_uuid = ?", (run_id,)
        ).fetchone()[0]
    return {
        "points_per_s": points / elapsed,
        "batch": batch,
        "attempted": points,
        "landed": landed,
        "store_init_s": init_s,
    }


def bench(ctx: Context) -> dict[str, Any]:
    points = 100_000 if ctx.quick else 1_000_000
    points_ml = 20_000 if ctx.quick else 100_000
    folder = ctx.folder("log_batch")
    with step(f"log_batch: ninefold, 3 paths x {points:,} points"):
        nf = _run(
            "log_batch:ninefold_worker",
            {"points": points, "chunk": CHUNK},
            ninefold_project(folder),
        )
    with step(f"log_batch: plain sqlite3, {points:,} rows (NORMAL) and {points // 10:,} (FULL)"):
        normal = _run(
            "log_batch:sqlite_worker",
            {"points": points, "chunk": CHUNK, "synchronous": "NORMAL"},
            folder,
        )
        full = _run(
            "log_batch:sqlite_worker",
            {"points": points // 10, "chunk": CHUNK, "synchronous": "FULL"},
            folder,
        )
    nf["sqlite3_yardstick"] = {"synchronous_normal": normal, "synchronous_full": full}
    ml = None
    if ctx.peer:
        with step(f"log_batch: MLflow log_batch, {points_ml:,} points"):
            ml = _run(
                "log_batch:mlflow_worker",
                {"points": points_ml, "batch": CHUNK},
                mlflow_folder(folder),
            )

    store_rate = nf["store_chunks"]["points_per_s"]
    fluent_rate = nf["fluent_log_metrics"]["points_per_s_e2e"]
    vs_sqlite = ratio(normal["points_per_s"], store_rate)
    vs_mlflow = ratio(store_rate, ml["points_per_s"]) if ml else None
    fluent_vs_mlflow = ratio(fluent_rate, ml["points_per_s"]) if ml else None
    lost = [
        k
        for k in ("fluent_log_metrics", "fluent_log_metric", "store_chunks")
        if nf[k]["landed"] != points
    ]
    checks: dict[str, Any] = {
        "store_vs_mlflow": {
            "value": vs_mlflow,
            "target": f">= {TARGET_MLFLOW:.0f}",
            "met": vs_mlflow >= TARGET_MLFLOW if vs_mlflow else None,
        },
        "fluent_vs_mlflow": {
            "value": fluent_vs_mlflow,
            "target": f">= {TARGET_MLFLOW:.0f}",
            "met": fluent_vs_mlflow >= TARGET_MLFLOW if fluent_vs_mlflow else None,
        },
        "sqlite3_over_store": {
            "value": vs_sqlite,
            "target": f"<= {TARGET_SQLITE:.0f}",
            "met": vs_sqlite <= TARGET_SQLITE if vs_sqlite else None,
        },
        "lost_points": {"value": lost, "target": "none", "met": not lost},
    }
    # Context, not a target: how far above MLflow the raw SQLite insert itself is.
    ceiling = ratio(normal["points_per_s"], ml["points_per_s"]) if ml else None
    decided = [c["met"] for c in checks.values() if c["met"] is not None]
    return record(
        "log_batch",
        nf,
        ml,
        vs_mlflow,
        f">= {TARGET_MLFLOW:.0f}x MLflow log_batch (store path, chunks of {CHUNK}) and "
        f"plain sqlite3 (same rows, same chunks, synchronous=NORMAL) <= {TARGET_SQLITE:.0f}x "
        "faster than the store path",
        all(decided) if len(decided) == len(checks) else (False if False in decided else None),
        points,
        "points/s",
        checks=checks,
        sqlite3_over_mlflow=ceiling,
        notes=f"MLflow measured on {points_ml:,} points; sqlite3 FULL on {points // 10:,}",
    )
