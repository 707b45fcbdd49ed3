"""``pipelines_fanout``: the 100-branch map (``fan100``) on the process executor and on Ray.

One fresh interpreter in a fresh project runs ``fan100`` (100 trivial steps
between a list step and a sum, cache off) inline, on ``process`` with 2
workers, and on a local Ray with 2 CPUs. Starting Ray is timed on its own
(``ray.init``) and kept out of the map times; the first Ray run also starts
and warms Ray's worker processes, so it is reported next to the later runs.
A process run starts its pool every time (the pool closes with the run).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from bench._harness import Context, ninefold_project, record, run_worker, step

WORKERS = 2


def worker_fanout(workers: int, repeats: int) -> dict[str, Any]:
    """Time fan100 inline, on process and on Ray (cache off), in this interpreter."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from bench.pipelines.flows import fan100

    expected = sum(i * i for i in range(100))

    def timed(**kwargs: Any) -> tuple[float, int]:
        t = time.perf_counter()
        run = fan100.run(cache=False, **kwargs)
        seconds = time.perf_counter() - t
        assert run.output() == expected
        return seconds, len(run.steps)

    inline = [timed()[0] for _ in range(repeats)]
    process = [timed(executor="process", max_workers=workers)[0] for _ in range(repeats)]
    t = time.perf_counter()
    ray.init(address="local", num_cpus=workers, include_dashboard=False)
    ray_start_s = time.perf_counter() - t
    try:
        ray_first_s, steps = timed(executor="ray")
        ray_warm = [timed(executor="ray")[0] for _ in range(repeats)]
    finally:
        t = time.perf_counter()
        ray.shutdown()
        ray_stop_s = time.perf_counter() - t
    return {
        "inline_s": statistics.median(inline),
        "process_s": statistics.median(process),
        "ray_start_s": ray_start_s,
        "ray_first_s": ray_first_s,
        "ray_s": statistics.median(ray_warm),
        "ray_stop_s": ray_stop_s,
        "steps": steps,
        "ray_version": ray.__version__,
    }


def bench(ctx: Context) -> dict[str, Any]:
    repeats = 1 if ctx.quick else 3
    with step("pipelines: 100-branch map on process and on Ray"):
        project = ninefold_project(ctx.folder("pipelines-fanout"))
        r = run_worker(
            "pipelines.fanout:worker_fanout",
            {"workers": WORKERS, "repeats": repeats},
            project,
            900,
        )
    per_step = {
        f"{name}_ms_per_step": r[f"{name}_s"] / r["steps"] * 1000
        for name in ("inline", "process", "ray")
    }
    return record(
        "pipelines_fanout",
        {**r, **per_step, "workers": WORKERS, "cpus": os.cpu_count()},
        None,
        r["ray_s"] / r["process_s"],
        "reported (no target); ratio = ray / process, Ray's start timed apart (ray_start_s)",
        None,
        repeats,
        "seconds per run (median), cache off",
    )
