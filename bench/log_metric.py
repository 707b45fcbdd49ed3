"""[log_metric] One metric logged call by call in one run, including the flush at run end.

ninefold's ``nf.log_metric`` appends to an in-process buffer that a background
thread writes in batches; ``end_run`` flushes what is left. MLflow's
``mlflow.log_metric`` writes each point in its own transaction. The figure
compared is the end-to-end rate: points logged divided by the time from the
first call until ``end_run`` returned with every point stored.
"""

from __future__ import annotations

import time
from typing import Any

from bench._harness import Context, median, mlflow_folder, ninefold_project, ratio, record, step
from bench._harness import run_worker as _run
from bench._setup import latency_figures, mlflow_store, ninefold_client, ninefold_points

TARGET = 100.0


def ninefold_worker(n: int, repeats: int) -> dict[str, Any]:
    """``repeats`` runs of ``n`` calls each, in the project of the working directory."""
    import ninefold as nf

    client, init_s = ninefold_client()
    trials = []
    for _ in range(repeats):
        run = nf.start_run(experiment="bench")
        log, clock = nf.log_metric, time.perf_counter
        latencies = [0.0] * n
        start = clock()
        for i in range(n):
            t = clock()
            log("loss", 1.0 / (i + 1))
            latencies[i] = clock() - t
        looped = clock()
        nf.end_run()
        ended = clock()
        trials.append(
            {
                "calls_per_s": n / (looped - start),
                **latency_figures(latencies),
                "end_run_ms": (ended - looped) * 1e3,
                "points_per_s_e2e": n / (ended - start),
                "landed": ninefold_points(client, run.run_id, ["loss"]),
            }
        )
    figures = {k: median([t[k] for t in trials]) for k in trials[0] if k != "landed"}
    figures["landed_min"] = min(t["landed"] for t in trials)
    figures.update(attempted=n, repeats=repeats, store_init_s=init_s)
    return figures


def mlflow_worker(n: int) -> dict[str, Any]:
    """One MLflow run of ``n`` synchronous ``mlflow.log_metric`` calls."""
    import mlflow

    client, _, init_s = mlflow_store()
    run = mlflow.start_run()
    clock = time.perf_counter
    latencies = [0.0] * n
    start = clock()
    for i in range(n):
        t = clock()
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        latencies[i] = clock() - t
    looped = clock()
    mlflow.end_run()
    ended = clock()
    landed = len(client.get_metric_history(run.info.run_id, "loss"))
    return {
        "calls_per_s": n / (looped - start),
        **latency_figures(latencies),
        "end_run_ms": (ended - looped) * 1e3,
        "points_per_s_e2e": n / (ended - start),
        "landed_min": landed,
        "attempted": n,
        "repeats": 1,
        "store_init_s": init_s,
    }


def bench(ctx: Context) -> dict[str, Any]:
    n_nf, repeats = 2000, 5
    n_ml = 200 if ctx.quick else 2000
    folder = ctx.folder("log_metric")
    with step(f"log_metric: ninefold, {repeats} runs x {n_nf} calls"):
        nf = _run(
            "log_metric:ninefold_worker", {"n": n_nf, "repeats": repeats}, ninefold_project(folder)
        )
    ml = None
    if ctx.peer:
        with step(f"log_metric: MLflow, {n_ml} calls"):
            ml = _run("log_metric:mlflow_worker", {"n": n_ml}, mlflow_folder(folder))
    r = ratio(nf["points_per_s_e2e"], ml["points_per_s_e2e"]) if ml else None
    lost = nf["landed_min"] != n_nf
    met = (not lost) and (r >= TARGET if r is not None else None)
    return record(
        "log_metric",
        nf,
        ml,
        r,
        f">= {TARGET:.0f}x MLflow's end-to-end points/s (no point lost)",
        met,
        n_nf,
        "points/s end to end (first call to end_run returning); latencies in us",
        notes=f"MLflow measured on {n_ml} calls" + (" (--quick)" if ctx.quick else ""),
    )
