"""Slowdown of a CPU-bound workload with the resource sampler on versus off.

In one fresh interpreter, a pure-Python workload (it holds the GIL all the time,
the worst case for a sampler thread) runs alternately without and with a
sampler started just before it and stopped just after it; the order of each
pair alternates. The figure is the median over pairs of ``on / off - 1`` of the
wall time, at the default 1 s interval and at 0.1 s. The main thread's own CPU
time is reported too: it moves with cache effects but not with waiting.

When the pairs disagree by more than twice the target (the interquartile range
of the pair ratios), ``met`` is ``null``: on a machine shared with other jobs
the difference cannot be resolved, and the sampler's own CPU share
(``cost_overhead``) is the better bound.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench._harness import Context, ninefold_project, record, run_worker, step

TARGET_PCT = 1.0


def _work(n: int) -> int:
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total


def _calibrate(seconds: float) -> int:
    n = 200_000
    while True:
        t = time.perf_counter()
        _work(n)
        took = time.perf_counter() - t
        if took > 0.2:
            return int(n * seconds / took)
        n *= 2


def measure(interval: float, seconds: float, pairs: int) -> dict[str, Any]:
    """In a worker: paired off/on timings of the workload."""
    from ninefold.costs.sampler import ResourceSampler

    n = _calibrate(seconds)
    _work(n)  # warm-up
    ratios, cpu_ratios, off_s, on_s = [], [], [], []
    for pair in range(pairs):
        timings: dict[bool, tuple[float, float]] = {}
        for on in (False, True) if pair % 2 == 0 else (True, False):
            sampler = ResourceSampler(interval, 15.0) if on else None
            w0, c0 = time.perf_counter(), time.thread_time()
            if sampler is not None:
                sampler.start()
            _work(n)
            if sampler is not None:
                sampler.stop()
            timings[on] = (time.perf_counter() - w0, time.thread_time() - c0)
        off_s.append(timings[False][0])
        on_s.append(timings[True][0])
        ratios.append(timings[True][0] / timings[False][0])
        cpu_ratios.append(timings[True][1] / timings[False][1])
    quart = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return {
        "interval_s": interval,
        "workload_s": round(statistics.median(off_s), 3),
        "pairs": pairs,
        "slowdown_pct": round(100 * (statistics.median(ratios) - 1), 3),
        "slowdown_iqr_pct": [round(100 * (quart[0] - 1), 3), round(100 * (quart[2] - 1), 3)],
        "main_thread_cpu_pct": round(100 * (statistics.median(cpu_ratios) - 1), 3),
        "median_off_s": round(statistics.median(off_s), 4),
        "median_on_s": round(statistics.median(on_s), 4),
    }


def bench(ctx: Context) -> dict[str, Any]:
    """``cost_slowdown``: CPU-bound workload, sampler on vs off (one JSON line)."""
    project = ninefold_project(ctx.folder("cost_slowdown"))
    seconds, pairs = (1.0, 5) if ctx.quick else (3.0, 9)
    results = {}
    for interval in (1.0, 0.1):
        with step(f"workload slowdown at {interval:g} s ({pairs} pairs of {seconds:g} s)"):
            results[f"{interval:g}s"] = run_worker(
                "costs.slowdown:measure",
                {"interval": interval, "seconds": seconds, "pairs": pairs},
                project,
                timeout=120 + 6 * seconds * pairs,
            )
    at_1s = results["1s"]
    low, high = at_1s["slowdown_iqr_pct"]
    # A median is only evidence when the pairs agree: if their spread is wider than
    # the target itself (other jobs on a shared machine), the target cannot be decided.
    resolved = high - low <= 2 * TARGET_PCT
    met = (at_1s["slowdown_pct"] <= TARGET_PCT) if resolved else None
    return record(
        "cost_slowdown",
        results,
        None,
        None,
        f"<= {TARGET_PCT} % slower with the sampler on at 1 s (median of paired runs)",
        met,
        pairs,
        "% wall-time slowdown of a pure-Python workload, median of on/off pair ratios",
        resolved=resolved,
        note=None
        if resolved
        else (
            f"pairs spread over {high - low:.1f} points (interquartile), wider than the "
            f"{TARGET_PCT} % target: too noisy to decide here; rerun on a quiet machine"
        ),
    )
