"""Pipeline benchmarks (issue 4): per-step overhead, a 10-step chain cold and cached,
a 3-step scikit-learn pipeline, and a 100-branch map on the process executor.

Each benchmark prints one JSON line (``python -m bench --only pipelines_overhead``
or ``python -m bench.pipelines``). The pipelines are in :mod:`bench.pipelines.flows`.

* ``pipelines_overhead``: framework cost per step inside a warm interpreter,
  with full lineage recorded and the cache off: (10-step run - the same ten
  plain calls) / 10, median of 15 runs; wall and CPU. Target: under 2 ms.
* ``pipelines_chain10``: ``python -c "run chain10"`` as a whole process in a fresh
  project (cold: creates the store), then the same command again (fully cached),
  next to a plain script of the same calls; median of 3. Target: cached at most
  half the cold time.
* ``pipelines_lr3``: the scikit-learn pipeline cold and cached in one process,
  next to plain calls.
* ``pipelines_map``: a 100-branch map, inline and on the process executor (2 workers).
* ``pipelines_fanout``: the same map on ``process`` and on a local Ray (2 CPUs),
  with Ray's start timed apart (:mod:`bench.pipelines.fanout`).

* ``pipelines_peers``: ninefold next to ZenML, Kedro, Metaflow and Prefect in the same
  run, every tool measured by the same loop (chain10 and lr3 as whole processes, cold
  and second run; in-process overhead per step), with ratios and the issue's targets.
  The peers run in their own virtual environments (``bench/pipelines/peers/setup.sh``);
  ``python -m bench.pipelines --peers`` or ``python -m bench --only pipelines``. See
  ``bench/pipelines/README.md``.
"""

from __future__ import annotations

from bench.pipelines.compare import bench_peers
from bench.pipelines.fanout import bench as bench_fanout
from bench.pipelines.run import bench_chain10, bench_lr3, bench_map, bench_overhead

BENCHMARKS = {
    "pipelines_overhead": bench_overhead,
    "pipelines_chain10": bench_chain10,
    "pipelines_lr3": bench_lr3,
    "pipelines_map": bench_map,
    "pipelines_fanout": bench_fanout,
    "pipelines_peers": bench_peers,
}

__all__ = [
    "BENCHMARKS",
    "bench_chain10",
    "bench_fanout",
    "bench_lr3",
    "bench_map",
    "bench_overhead",
    "bench_peers",
]
