"""``python -m bench.costs [--quick] [--only NAME]``: the sampler benchmarks on their own."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._harness import Context, console, default_parent, emit, remove_tree
from bench.costs import BENCHMARKS, run_benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.costs", description=__doc__)
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"one of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="shorter windows, fewer repeats")
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
        root = Path(tempfile.mkdtemp(prefix="ninefold-bench-costs-", dir=default_parent()))
    ctx = Context(root=root, quick=args.quick, peer=False)
    try:
        for name in names:
            start = time.perf_counter()
            rec = run_benchmark(name, ctx)
            rec["elapsed_s"] = round(time.perf_counter() - start, 1)
            emit(rec)
            verdict = {True: "met", False: "missed", None: "undecided"}[rec["met"]]
            console.log(f"{name}: target {verdict}")
    finally:
        if args.dir is None:
            remove_tree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
