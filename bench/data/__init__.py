"""Benchmarks of ninefold's data validation and drift (issue 3, item 9).

Run through the common runner (``python -m bench --only data_profile,data_calibration``)
or on their own (``python -m bench.data [--quick | --full]``). Each prints one JSON
line. See ``bench/data/README.md`` for sizes, peers and how memory is measured.
"""

from __future__ import annotations

from typing import Any

# name -> "module:function" under bench.data; each function takes (ctx, full=, rows=)
BENCHMARKS: dict[str, str] = {
    "data_profile": "throughput:bench_profile",
    "data_infer": "throughput:bench_infer",
    "data_validate": "throughput:bench_validate",
    "data_compare": "throughput:bench_compare",
    "data_calibration": "calibration:bench",
}


def run_benchmark(name: str, ctx: Any, *, full: bool = False, rows: Any = None) -> dict[str, Any]:
    """Run one data benchmark by name and return its JSON record."""
    import importlib

    module, func = BENCHMARKS[name].split(":")
    fn = getattr(importlib.import_module(f"bench.data.{module}"), func)
    if module == "calibration":
        result: dict[str, Any] = fn(ctx, full=full)
    else:
        result = fn(ctx, full=full, rows=rows)
    return result
