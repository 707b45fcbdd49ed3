"""Benchmarks of the resource sampler behind ninefold's expense monitoring (issue 5, item 8).

Run through the common runner (``python -m bench --only cost_overhead,cost_slowdown``)
or on their own (``python -m bench.costs [--quick]``). Each prints one JSON line.

- ``cost_overhead``: CPU the sampler uses, as a share of one core, at the default
  1 s interval and at 0.1 s, measured with the sampler thread's own CPU clock
  (and, as a cross-check, the whole process's CPU against an idle baseline).
- ``cost_slowdown``: wall time of a CPU-bound pure-Python workload with the sampler
  on versus off, in the same process, interleaved, repeated; the median of the
  paired on/off ratios.
"""

from __future__ import annotations

from typing import Any

# name -> "module:function" under bench.costs; each function takes the runner's Context
BENCHMARKS: dict[str, str] = {
    "cost_overhead": "overhead:bench",
    "cost_slowdown": "slowdown:bench",
}


def run_benchmark(name: str, ctx: Any) -> dict[str, Any]:
    """Run one cost benchmark by name and return its JSON record."""
    import importlib

    module, func = BENCHMARKS[name].split(":")
    result: dict[str, Any] = getattr(importlib.import_module(f"bench.costs.{module}"), func)(ctx)
    return result
