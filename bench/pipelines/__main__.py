"""``python -m bench.pipelines [--quick] [--only NAME[,NAME]]``: one JSON line per benchmark."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench._harness import Context, default_parent, emit, remove_tree
from bench.pipelines import BENCHMARKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipelines", description=__doc__)
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"one of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    names = [n.strip() for n in (args.only or ",".join(BENCHMARKS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    root = Path(tempfile.mkdtemp(prefix="ninefold-bench-pipelines-", dir=default_parent()))
    ctx = Context(root=root, quick=args.quick, peer=False)
    try:
        for name in names:
            emit(BENCHMARKS[name](ctx))
    finally:
        remove_tree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
