"""[concurrency] Eight writer processes logging metrics into one SQLite store at once.

Each writer is a fresh interpreter that opens the store, starts its run, says
READY and waits; all are released together. Each then makes its
``log_metric`` calls and ends its run (ninefold's ``end_run`` flushes what is
still buffered). Errors are counted three ways: a call that raised, a run that
could not end, a process that did not exit cleanly. Points landed are counted
afterwards with plain ``sqlite3`` in each tool's own ``metrics`` table (key
``x`` only: ninefold also records system metrics such as
``system/cpu_percent`` in each run). The
aggregate rate is points landed / (last writer done - first writer released).

ninefold runs twice: as a training loop would (flushes by the background
writer and at ``end_run``: few, large transactions), and a stress variant that
calls ``nf.flush()`` every 100 points (20 contended transactions per writer;
not with ``--quick``).
MLflow writes every call in its own transaction, so it runs fewer points per
writer (250; 100 with ``--quick``): the rate, not the total, is compared.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from bench._harness import (
    Context,
    barrier,
    mlflow_folder,
    ninefold_project,
    ratio,
    record,
    release_and_collect,
    run_worker,
    start_workers,
    step,
)
from bench._setup import mlflow_store, mlflow_uri, ninefold_client

WRITERS = 8
TARGET = 100.0


def ninefold_writer(points: int, flush_every: int) -> dict[str, Any]:
    """One writer: ``points`` calls of ``nf.log_metric`` in its own run."""
    import ninefold as nf

    ninefold_client()
    run = nf.start_run(experiment="concurrency", capture_environment=False)
    barrier()
    errors: list[str] = []
    start = time.perf_counter()
    for i in range(points):
        try:
            nf.log_metric("x", float(i), step=i)
            if flush_every and (i + 1) % flush_every == 0:
                nf.flush()
        except Exception as exc:
            errors.append(repr(exc))
    try:
        nf.end_run()
    except Exception as exc:
        errors.append(repr(exc))
    return {"run_id": run.run_id, "t0": start, "t1": time.perf_counter(), "errors": errors}


def mlflow_prepare() -> dict[str, Any]:
    """Create MLflow's store and experiment once, before the writers start."""
    _, exp_id, init_s = mlflow_store()
    return {"experiment_id": exp_id, "store_init_s": init_s}


def mlflow_writer(points: int, experiment_id: str, folder: str) -> dict[str, Any]:
    """One writer: ``points`` calls of ``mlflow.log_metric`` in its own run."""
    import mlflow

    mlflow.set_tracking_uri(mlflow_uri(folder))
    run = mlflow.start_run(experiment_id=experiment_id)
    barrier()
    errors: list[str] = []
    start = time.perf_counter()
    for i in range(points):
        try:
            mlflow.log_metric("x", float(i), step=i)
        except Exception as exc:
            errors.append(repr(exc))
    try:
        mlflow.end_run()
    except Exception as exc:
        errors.append(repr(exc))
    return {"run_id": run.info.run_id, "t0": start, "t1": time.perf_counter(), "errors": errors}


def _landed(db: Path, table_id: str, run_ids: list[str]) -> int:
    with sqlite3.connect(db) as con:
        marks = ", ".join("?" * len(run_ids))
        row = con.execute(
            f"SELECT count(*) FROM metrics WHERE key = 'x' AND {table_id} IN ({marks})", run_ids
        ).fetchone()
    return int(row[0])


def _summarise(
    results: list[dict[str, Any] | None], points: int, db: Path, table_id: str
) -> dict[str, Any]:
    done = [r for r in results if r is not None]
    errors = [e for r in done for e in r["errors"]]
    landed = _landed(db, table_id, [r["run_id"] for r in done]) if done else 0
    elapsed = max(r["t1"] for r in done) - min(r["t0"] for r in done) if done else float("nan")
    attempted = WRITERS * points
    return {
        "writers": WRITERS,
        "points_per_writer": points,
        "attempted": attempted,
        "landed": landed,
        "lost": attempted - landed,
        "errors": len(errors) + (len(results) - len(done)),
        "failed_processes": len(results) - len(done),
        "first_errors": errors[:3],
        "elapsed_s": elapsed,
        "points_per_s": landed / elapsed if done else 0.0,
        "writer_s_min": min((r["t1"] - r["t0"] for r in done), default=float("nan")),
        "writer_s_max": max((r["t1"] - r["t0"] for r in done), default=float("nan")),
    }


def _ninefold(ctx: Context, points: int, flush_every: int) -> dict[str, Any]:
    project = ninefold_project(ctx.folder(f"concurrency-ninefold-flush{flush_every}"))
    # Create the store first, so that the writers measure logging, not schema creation.
    run_worker("concurrency:ninefold_prepare", {}, project)
    started = start_workers(
        "concurrency:ninefold_writer",
        [{"points": points, "flush_every": flush_every}] * WRITERS,
        project,
        ready_timeout=300,
    )
    results = release_and_collect(started, timeout=300)
    return _summarise(results, points, project / ".ninefold" / "ninefold.db", "run_id")


def ninefold_prepare() -> dict[str, Any]:
    """Open the project's store once (creating it)."""
    _, init_s = ninefold_client()
    return {"store_init_s": init_s}


def bench(ctx: Context) -> dict[str, Any]:
    points = 2000
    points_ml = 100 if ctx.quick else 250
    with step(f"concurrency: ninefold, {WRITERS} writers x {points} points"):
        nf = _ninefold(ctx, points, 0)
    if not ctx.quick:
        with step(f"concurrency: ninefold, {WRITERS} x {points} points, nf.flush() every 100"):
            nf["flush_every_100"] = _ninefold(ctx, points, 100)
    ml = None
    if ctx.peer:
        folder = mlflow_folder(ctx.folder("concurrency-mlflow"))
        with step(f"concurrency: MLflow, {WRITERS} writers x {points_ml} points"):
            prep = run_worker("concurrency:mlflow_prepare", {}, folder)
            started = start_workers(
                "concurrency:mlflow_writer",
                [
                    {
                        "points": points_ml,
                        "experiment_id": prep["experiment_id"],
                        "folder": str(folder),
                    }
                ]
                * WRITERS,
                folder,
                ready_timeout=600,
            )
            results = release_and_collect(started, timeout=900)
        ml = _summarise(results, points_ml, folder / "mlflow.db", "run_uuid")
        ml["store_init_s"] = prep["store_init_s"]
    r = ratio(nf["points_per_s"], ml["points_per_s"]) if ml else None
    variants = [nf, nf["flush_every_100"]] if "flush_every_100" in nf else [nf]
    clean = all(v["errors"] == 0 and v["lost"] == 0 for v in variants)
    return record(
        "concurrency",
        nf,
        ml,
        r,
        f"0 errors, 0 lost points (both ninefold variants) and >= {TARGET:.0f}x MLflow's "
        "aggregate points/s",
        clean and (r >= TARGET if r is not None else None),
        WRITERS * points,
        "points/s aggregate (all writers together)",
        notes=f"MLflow: {WRITERS} writers x {points_ml} points (rate compared, not totals)",
    )
