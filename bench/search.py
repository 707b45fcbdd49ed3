"""[search] A filtered, ordered run search over a large store, both tools.

Data: 500 run specs (100 with ``--quick``) (5 params + 5 metrics each, seeded random)
repeated until the store holds ``n_runs`` runs, in both tools, so that both
searches return exactly the same number of runs.

* ninefold: every run goes through the store API (``client.store.runs.create``
  with its params, metrics in ``client.store.runs.log_metrics`` batches of
  5,000 points); the creation rate is reported. The runs are created as by a
  loader on another host (``host="bench-loader"``), so that opening the store
  later does not check 100,000 process ids to reap crashed runs.
* MLflow: the first 500 (100) runs go through its fluent API (creation
  rate reported); the store then grows to ``n_runs`` by copying those runs'
  rows in SQL (every table with a ``run_uuid`` column) under fresh run ids,
  because creating 100,000 runs through MLflow's API takes hours here (~6-10
  runs/s). The database has MLflow's own schema and indexes.

Then, each in a fresh interpreter: ninefold ``nf.search_runs(FILTER,
order_by=ORDER, max_results=None)`` (all matches, a Polars frame) and with
``max_results=100``; MLflow ``mlflow.search_runs`` (all matches, a pandas
frame) and ``MlflowClient.search_runs(max_results=100)`` (first page). Each
result is checked: same count in both tools, every row matches, ordered.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import uuid
from typing import Any

from bench._harness import (
    Context,
    WorkerTimeout,
    console,
    median,
    mlflow_folder,
    ninefold_project,
    ratio,
    record,
    step,
)
from bench._harness import run_worker as _run
from bench._setup import mlflow_store, ninefold_client

FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
ORDER = "metrics.acc desc"
TARGET = 50.0
PAGE = 100


def templates(n: int) -> list[tuple[dict[str, str], dict[str, float]]]:
    """``n`` (params, metrics) pairs from a fixed seed."""
    rng = random.Random(20240501)
    out = []
    for i in range(n):
        params = {
            "lr": rng.choice(["0.1", "0.01", "0.001"]),
            "batch_size": rng.choice(["32", "64", "128", "256"]),
            "optimizer": rng.choice(["adam", "sgd", "adamw"]),
            "model": rng.choice(["mlp", "cnn", "rf", "gbm", "svm"]),
            "seed": str(i),
        }
        metrics = {
            "acc": rng.random(),
            "loss": rng.uniform(0, 2),
            "f1": rng.random(),
            "precision": rng.random(),
            "recall": rng.random(),
        }
        out.append((params, metrics))
    return out


def expected_matches(n_runs: int, n_templates: int) -> int:
    """How many of ``n_runs`` runs (``n_templates`` specs repeated) match :data:`FILTER`."""
    specs = templates(n_templates)
    return sum(
        1
        for i in range(n_runs)
        if specs[i % n_templates][1]["acc"] > 0.5 and specs[i % n_templates][0]["lr"] == "0.01"
    )


# -- ninefold -----------------------------------------------------------------


def ninefold_create(n_runs: int, n_templates: int, batch_runs: int) -> dict[str, Any]:
    """Create ``n_runs`` runs through the store API; metrics in batches."""
    from ninefold._ids import new_id, now_ms

    client, _ = ninefold_client()
    store = client.store
    exp = store.experiments.get_or_create("search")
    specs = templates(n_templates)
    clock = time.perf_counter
    create_s = metrics_s = 0.0
    pending: list[tuple[str, str, float, int, int]] = []
    start = clock()
    for i in range(n_runs):
        params, metrics = specs[i % n_templates]
        run_id = new_id()
        t = clock()
        store.runs.create(
            run_id=run_id,
            experiment_id=exp.experiment_id,
            name=f"run-{i}",
            parent_run_id=None,
            host="bench-loader",
            pid=os.getpid(),
            pid_started=None,
            user="bench",
            params_=params,
        )
        create_s += clock() - t
        stamp = now_ms()
        pending.extend((run_id, k, v, 0, stamp) for k, v in metrics.items())
        if len(pending) >= batch_runs * len(metrics) or i == n_runs - 1:
            t = clock()
            store.runs.log_metrics(pending)
            metrics_s += clock() - t
            pending = []
    elapsed = clock() - start
    return {
        "runs": store.runs.count(),
        "runs_per_s": n_runs / elapsed,
        "create_ms_per_run": create_s / n_runs * 1e3,
        "metrics_s": metrics_s,
        "create_s": elapsed,
    }


def _check_frame(df: Any, expected: int | None) -> bool:
    """All rows match the filter, acc is descending, and the count is as expected."""
    acc = list(df["metrics.acc"])
    lr = list(df["params.lr"])
    ok = all(a > 0.5 for a in acc) and all(v == "0.01" for v in lr)
    ok = ok and all(acc[i] >= acc[i + 1] for i in range(len(acc) - 1))
    return ok and (expected is None or len(acc) == expected)


def ninefold_search(repeats: int, expected: int) -> dict[str, Any]:
    """Time ``nf.search_runs`` for all matches and for the first page."""
    import ninefold as nf

    _, open_s = ninefold_client()
    clock = time.perf_counter
    all_s, page_s, checked = [], [], True
    for _ in range(repeats):
        t = clock()
        df = nf.search_runs(FILTER, order_by=[ORDER], max_results=None)
        all_s.append(clock() - t)
        checked = checked and _check_frame(df, expected)
        rows = len(df)
        t = clock()
        page = nf.search_runs(FILTER, order_by=[ORDER], max_results=PAGE)
        page_s.append(clock() - t)
        checked = checked and _check_frame(page, min(PAGE, expected))
    return {
        "all_s": median(all_s),
        "page_s": median(page_s),
        "matches": rows,
        "frame": type(df).__module__.split(".")[0],
        "repeats": repeats,
        "store_open_s": open_s,
        "verified": checked,
    }


# -- MLflow -------------------------------------------------------------------


def mlflow_create(n_api: int, n_runs: int) -> dict[str, Any]:
    """``n_api`` runs through MLflow's fluent API, then SQL copies up to ``n_runs``."""
    import mlflow

    _, exp_id, init_s = mlflow_store()
    specs = templates(n_api)
    clock = time.perf_counter
    start = clock()
    for i, (params, metrics) in enumerate(specs):
        with mlflow.start_run(experiment_id=exp_id, run_name=f"run-{i}"):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
    api_s = clock() - start
    start = clock()
    copied = clone_runs("mlflow.db", n_runs - n_api)
    return {
        "api_runs": n_api,
        "api_runs_per_s": n_api / api_s,
        "cloned_runs": copied,
        "clone_s": clock() - start,
        "store_init_s": init_s,
    }


def clone_runs(db: str, copies: int) -> int:
    """Copy existing runs' rows (every table with ``run_uuid``) under fresh run ids.

    Copies cycle over the runs in creation order, so the data repeats the
    originals exactly. Returns the number of runs added.
    """
    con = sqlite3.connect(db, isolation_level=None)
    tables = []
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
        if "run_uuid" in cols:
            tables.append((name, cols))
    originals = [r[0] for r in con.execute("SELECT run_uuid FROM runs ORDER BY start_time")]
    rows: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name, cols in tables:
        by_run: dict[str, list[tuple[Any, ...]]] = {}
        for row in con.execute(f'SELECT {", ".join(cols)} FROM "{name}"'):
            by_run.setdefault(row[cols.index("run_uuid")], []).append(row)
        rows[name] = by_run
    con.execute("BEGIN")
    buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name, _ in tables}

    def flush() -> None:
        for name, cols in tables:
            if buffers[name]:
                marks = ", ".join("?" * len(cols))
                con.executemany(
                    f'INSERT INTO "{name}" ({", ".join(cols)}) VALUES ({marks})', buffers[name]
                )
                buffers[name].clear()

    for c in range(copies):
        src = originals[c % len(originals)]
        new = uuid.uuid4().hex
        for name, cols in tables:
            idx = cols.index("run_uuid")
            for row in rows[name].get(src, []):
                copy = [new if j == idx else v for j, v in enumerate(row)]
                if name == "runs" and "artifact_uri" in cols:
                    j = cols.index("artifact_uri")
                    copy[j] = str(copy[j]).replace(src, new)
                buffers[name].append(tuple(copy))
        if c % 5000 == 4999:
            flush()
    flush()
    con.execute("COMMIT")
    con.close()
    return copies


def mlflow_search(kind: str, n_runs: int, expected: int) -> dict[str, Any]:
    """One MLflow search: ``all`` (``mlflow.search_runs``) or ``page`` (first 100)."""
    import mlflow

    client, exp_id, _ = mlflow_store(create=False)
    clock = time.perf_counter
    t = clock()
    if kind == "all":
        df = mlflow.search_runs(
            experiment_ids=[exp_id], filter_string=FILTER, order_by=[ORDER], max_results=n_runs
        )
        elapsed = clock() - t
        ok = _check_frame(df, expected)
        return {"s": elapsed, "matches": len(df), "verified": ok}
    page = client.search_runs([exp_id], FILTER, max_results=PAGE, order_by=[ORDER])
    elapsed = clock() - t
    acc = [r.data.metrics["acc"] for r in page]
    lr = [r.data.params["lr"] for r in page]
    ok = len(acc) == min(PAGE, expected) and all(a > 0.5 for a in acc)
    ok = ok and all(v == "0.01" for v in lr) and acc == sorted(acc, reverse=True)
    return {"s": elapsed, "matches": len(page), "verified": ok}


# -- the benchmark ------------------------------------------------------------


def bench(ctx: Context) -> dict[str, Any]:
    n_runs = 10_000 if ctx.quick else 100_000
    n_api = 100 if ctx.quick else 500
    limit = 60.0 if ctx.quick else 150.0
    expected = expected_matches(n_runs, n_api)
    folder = ctx.folder("search")
    project = ninefold_project(folder)
    with step(f"search: ninefold, creating {n_runs:,} runs through the store API"):
        created = _run(
            "search:ninefold_create",
            {"n_runs": n_runs, "n_templates": n_api, "batch_runs": 1000},
            project,
        )
    with step("search: ninefold searches"):
        nf = _run("search:ninefold_search", {"repeats": 3, "expected": expected}, project)
    nf["create"] = created
    ml: dict[str, Any] | None = None
    if ctx.peer:
        ml = {}
        mfolder = mlflow_folder(folder)
        with step(f"search: MLflow, {n_api} runs via its API, copied in SQL to {n_runs:,}"):
            ml["create"] = _run("search:mlflow_create", {"n_api": n_api, "n_runs": n_runs}, mfolder)
        for kind in ("page", "all"):
            with step(f"search: MLflow search ({kind}), limit {limit:.0f} s"):
                try:
                    res = _run(
                        "search:mlflow_search",
                        {"kind": kind, "n_runs": n_runs, "expected": expected},
                        mfolder,
                        timeout=limit,
                    )
                except WorkerTimeout:
                    console.log(f"[yellow]MLflow search ({kind}) passed {limit:.0f} s; stopped[/]")
                    res = {"s": None, "timed_out_after_s": limit}
            ml[f"{kind}_s"] = res["s"]
            ml[f"{kind}_result"] = res
    ratios: dict[str, Any] | None = None
    if ml is not None:
        ratios = {}
        for kind in ("all", "page"):
            res = ml[f"{kind}_result"]
            # A search stopped at the limit gives a lower bound on the ratio.
            mlflow_s = res["s"] if res["s"] is not None else res["timed_out_after_s"]
            ratios[kind] = ratio(mlflow_s, nf[f"{kind}_s"])
            ratios[f"{kind}_is_lower_bound"] = res["s"] is None
    worst = min(ratios["all"], ratios["page"]) if ratios else None
    verified = nf["verified"] and (
        ml is None or all(ml[f"{k}_result"].get("verified", True) for k in ("all", "page"))
    )
    return record(
        "search",
        nf,
        ml,
        worst,
        f">= {TARGET:.0f}x faster than MLflow for both the full result and the first page of "
        f"{PAGE} (ratio = the smaller of the two)",
        verified and (worst >= TARGET if worst is not None else None),
        n_runs,
        "seconds per search; ratio = MLflow s / ninefold s",
        ratios=ratios,
        filter=FILTER,
        order_by=ORDER,
        expected_matches=expected,
    )
