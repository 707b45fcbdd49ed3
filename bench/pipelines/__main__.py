"""``python -m bench.pipelines [--quick] [--only NAME[,NAME]] [--peers]``: one JSON line each.

Without ``--peers`` the ninefold-only benchmarks run; ``--peers`` adds
``pipelines_peers`` (ninefold next to ZenML, Kedro, Metaflow and Prefect).
"""

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
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run pipelines_peers: the same pipelines in ZenML, Kedro, Metaflow, Prefect",
    )
    args = parser.parse_args(argv)
    default = [n for n in BENCHMARKS if n != "pipelines_peers" or args.peers]
    names = [n.strip() for n in (args.only or ",".join(default)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    root = Path(tempfile.mkdtemp(prefix="ninefold-bench-pipelines-", dir=default_parent()))
    ctx = Context(root=root, quick=args.quick, peer=args.peers)
    try:
        for name in names:
            emit(BENCHMARKS[name](ctx))
    finally:
        remove_tree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
