"""Sampler CPU overhead as a share of one core, at 1 s and 0.1 s intervals.

The work is done in a fresh interpreter that has four idle child processes (as a
training job with DataLoader workers would) and an otherwise idle main thread:

- ``sampler``: a bare :class:`ResourceSampler`; its thread's CPU time is read
  with the thread's own CPU clock (``pthread_getcpuclockid``), so time spent
  waiting for a core on a loaded machine does not count;
- ``run``: the sampler as a run uses it, its 15 s aggregates stored in a real
  SQLite store (system metrics and the usage record), measured the same way;
- ``process``: the whole process's CPU over the same window minus an idle
  window of the same length, a cross-check that nothing else was started.

Each shape is measured ``repeats`` times and the median reported.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench._harness import Context, ninefold_project, record, run_worker, step

TARGET_SHARE = 0.1  # % of one core at the default 1 s interval


def _thread_cpu(ident: int) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(ident))


def _window(make: Any, seconds: float) -> dict[str, float]:
    sampler = make()
    t0 = time.perf_counter()
    sampler.start()
    start_s = time.perf_counter() - t0
    thread = sampler._thread
    assert thread is not None
    assert thread.ident is not None
    cpu0, proc0, wall0 = _thread_cpu(thread.ident), time.process_time(), time.perf_counter()
    time.sleep(seconds)
    cpu1, proc1, wall1 = _thread_cpu(thread.ident), time.process_time(), time.perf_counter()
    t1 = time.perf_counter()
    usage = sampler.stop()
    stop_s = time.perf_counter() - t1
    wall = wall1 - wall0
    return {
        "thread_share_pct": 100 * (cpu1 - cpu0) / wall,
        "process_cpu_s": proc1 - proc0,
        "wall_s": wall,
        "samples": usage.samples,
        "cpu_us_per_sample": 1e6 * (cpu1 - cpu0) / max(1, usage.samples - 2),
        "start_ms": 1000 * start_s,
        "stop_ms": 1000 * stop_s,
    }


def measure(interval: float, seconds: float, repeats: int, children: int) -> dict[str, Any]:
    """In a worker: the overhead of each shape at one interval (see the module docs)."""
    from ninefold._ids import new_id
    from ninefold.costs.sampler import ResourceSampler
    from ninefold.costs.tracker import RunResources
    from ninefold.tracking.client import get_client
    from ninefold.tracking.writer import writer

    kids = [subprocess.Popen(["sleep", "3600"]) for _ in range(children)]
    client = get_client()
    run_id = new_id()
    try:
        exp = client.store.experiments.get_or_create("bench")
        client.store.runs.create(
            run_id=run_id, experiment_id=exp.experiment_id, name="bench", parent_run_id=None,
            host="h", pid=1, pid_started=None, user="u",
        )  # fmt: skip
        shapes: dict[str, list[dict[str, float]]] = {"sampler": [], "run": [], "idle": []}
        for _ in range(repeats):
            shapes["sampler"].append(
                _window(lambda: ResourceSampler(interval, 15.0, child_refresh_s=5.0), seconds)
            )

            def as_run() -> ResourceSampler:
                res = RunResources(
                    client, run_id, lambda rows: writer.add_many(client, rows),
                    _settings(interval),
                )  # fmt: skip
                return res.sampler

            shapes["run"].append(_window(as_run, seconds))
            p0, w0 = time.process_time(), time.perf_counter()
            time.sleep(seconds)
            shapes["idle"].append(
                {"process_cpu_s": time.process_time() - p0, "wall_s": time.perf_counter() - w0}
            )
        writer.flush()
    finally:
        for kid in kids:
            kid.kill()
            kid.wait()
    out: dict[str, Any] = {"interval_s": interval, "window_s": seconds, "repeats": repeats}
    idle = statistics.median(w["process_cpu_s"] for w in shapes["idle"])
    for shape in ("sampler", "run"):
        windows = shapes[shape]
        out[shape] = {
            "share_pct": round(statistics.median(w["thread_share_pct"] for w in windows), 4),
            "process_share_pct": round(
                statistics.median(100 * (w["process_cpu_s"] - idle) / w["wall_s"] for w in windows),
                4,
            ),
            "cpu_us_per_sample": round(
                statistics.median(w["cpu_us_per_sample"] for w in windows), 1
            ),
            "samples": int(statistics.median(w["samples"] for w in windows)),
            "start_ms": round(statistics.median(w["start_ms"] for w in windows), 2),
            "stop_ms": round(statistics.median(w["stop_ms"] for w in windows), 2),
        }
    return out


def _settings(interval: float) -> Any:
    from ninefold.costs.settings import CostSettings

    return CostSettings(project="bench", sample_interval_s=interval, bucket_s=15.0)


def bench(ctx: Context) -> dict[str, Any]:
    """``cost_overhead``: sampler CPU at 1 s and 0.1 s (one JSON line)."""
    folder = ctx.folder("cost_overhead")
    project: Path = ninefold_project(folder)
    sizes = {1.0: (8.0, 1) if ctx.quick else (30.0, 3), 0.1: (4.0, 1) if ctx.quick else (10.0, 3)}
    results = {}
    for interval, (seconds, repeats) in sizes.items():
        with step(f"sampler overhead at {interval:g} s ({repeats} x {seconds:g} s windows)"):
            results[f"{interval:g}s"] = run_worker(
                "costs.overhead:measure",
                {"interval": interval, "seconds": seconds, "repeats": repeats, "children": 4},
                project,
                timeout=60 + 4 * seconds * repeats,
            )
    at_1s = results["1s"]
    share = at_1s["run"]["share_pct"]
    checks = [
        {
            "target": f"sampler (as a run uses it) <= {TARGET_SHARE} % of one core at 1 s",
            "value": share,
            "met": share <= TARGET_SHARE,
        },
        {
            "target": f"bare sampler <= {TARGET_SHARE} % of one core at 1 s",
            "value": at_1s["sampler"]["share_pct"],
            "met": at_1s["sampler"]["share_pct"] <= TARGET_SHARE,
        },
    ]
    return record(
        "cost_overhead",
        results,
        None,
        None,
        f"<= {TARGET_SHARE} % of one core at the default 1 s interval",
        all(c["met"] for c in checks),
        int(at_1s["run"]["samples"]),
        "% of one core (sampler thread CPU clock / wall), median of windows; 4 idle children",
        checks=checks,
    )
