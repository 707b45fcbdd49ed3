"""[params] Params logged one call at a time (each call is a synchronous write in both tools)."""

from __future__ import annotations

import time
from typing import Any

from bench._harness import Context, mlflow_folder, ninefold_project, ratio, record, step
from bench._harness import run_worker as _run
from bench._setup import latency_figures, mlflow_store, ninefold_client


def _figures(n: int, latencies: list[float], elapsed: float, landed: int) -> dict[str, Any]:
    return {
        "calls_per_s": n / elapsed,
        **latency_figures(latencies),
        "attempted": n,
        "landed": landed,
    }


def ninefold_worker(n: int) -> dict[str, Any]:
    """``n`` calls of ``nf.log_param`` in one run."""
    import ninefold as nf

    client, init_s = ninefold_client()
    run = nf.start_run(experiment="bench", capture_environment=False)
    clock = time.perf_counter
    latencies = [0.0] * n
    start = clock()
    for i in range(n):
        t = clock()
        nf.log_param(f"p{i}", i)
        latencies[i] = clock() - t
    elapsed = clock() - start
    nf.end_run()
    landed = len(client.get_run(run.run_id).params)
    return {**_figures(n, latencies, elapsed, landed), "store_init_s": init_s}


def mlflow_worker(n: int) -> dict[str, Any]:
    """``n`` calls of ``mlflow.log_param`` in one run."""
    import mlflow

    client, _, init_s = mlflow_store()
    run = mlflow.start_run()
    clock = time.perf_counter
    latencies = [0.0] * n
    start = clock()
    for i in range(n):
        t = clock()
        mlflow.log_param(f"p{i}", i)
        latencies[i] = clock() - t
    elapsed = clock() - start
    mlflow.end_run()
    landed = len(client.get_run(run.info.run_id).data.params)
    return {**_figures(n, latencies, elapsed, landed), "store_init_s": init_s}


def bench(ctx: Context) -> dict[str, Any]:
    n = 500
    n_ml = 100 if ctx.quick else 500
    folder = ctx.folder("params")
    with step(f"params: ninefold, {n} log_param calls"):
        nf = _run("params:ninefold_worker", {"n": n}, ninefold_project(folder))
    ml = None
    if ctx.peer:
        with step(f"params: MLflow, {n_ml} log_param calls"):
            ml = _run("params:mlflow_worker", {"n": n_ml}, mlflow_folder(folder))
    r = ratio(nf["calls_per_s"], ml["calls_per_s"]) if ml else None
    complete = nf["landed"] == n
    return record(
        "params",
        nf,
        ml,
        r,
        "no target in the issue; checked: every param stored and ninefold >= 1x MLflow",
        complete and (r >= 1 if r is not None else None),
        n,
        "calls/s; latencies in us",
        notes=f"MLflow measured on {n_ml} calls",
    )
