"""``python -m bench.data``: the data benchmarks on their own, with a ``--full`` size option.

The same benchmarks run through ``python -m bench --only data_profile,...``; this entry
point adds ``--full`` (the issue's complete sizes, hours on a 2-core machine) and
``--rows`` (override the sizes of the throughput benchmarks). See bench/data/README.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import traceback
from pathlib import Path

from bench._harness import Context, console, default_parent, emit, record, remove_tree
from bench.data import BENCHMARKS, run_benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.data", description=__doc__)
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"one of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--full", action="store_true", help="the issue's full sizes (slow)")
    parser.add_argument("--no-peer", action="store_true", help="skip GX, pandera, Evidently")
    parser.add_argument(
        "--rows", help="comma-separated row counts for the throughput benchmarks (e.g. 1e6,1e7)"
    )
    parser.add_argument("--dir", type=Path, help="working folder (kept)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in (args.only or ",".join(BENCHMARKS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    if args.dir is not None:
        root = args.dir.resolve() / time.strftime("run-%Y%m%d-%H%M%S")
        root.mkdir(parents=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="ninefold-bench-data-", dir=default_parent()))
    ctx = Context(root=root, quick=args.quick, peer=not args.no_peer)
    rows = [int(float(x)) for x in args.rows.split(",")] if args.rows else None
    failures = 0
    try:
        for name in names:
            start = time.perf_counter()
            try:
                rec = run_benchmark(name, ctx, full=args.full, rows=rows)
            except Exception as exc:
                failures += 1
                console.print(f"[red]{name} failed[/]: {exc}\n{traceback.format_exc()}")
                rec = record(name, {}, None, None, "", False, 0, "", error=str(exc)[-2000:])
            rec["elapsed_s"] = round(time.perf_counter() - start, 1)
            emit(rec)
    finally:
        if args.dir is None:
            remove_tree(root)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
