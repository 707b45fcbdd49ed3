"""Command line of ``python -m bench``: pick benchmarks, make folders, print one JSON line each."""

from __future__ import annotations

import argparse
import importlib
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._harness import (
    Context,
    WorkerError,
    compile_sources,
    console,
    default_parent,
    emit,
    filesystem_type,
    record,
    remove_tree,
)

# name -> module holding ``bench(ctx)``; the order is the order of a full run
BENCHMARKS: dict[str, str] = {
    "import": "startup:bench_import",
    "cli_help": "startup:bench_cli_help",
    "log_metric": "log_metric:bench",
    "log_batch": "log_batch:bench",
    "params": "params:bench",
    "artifacts": "artifacts:bench",
    "concurrency": "concurrency:bench",
    "search": "search:bench",
    # data validation and drift (bench/data; also `python -m bench.data --full`)
    "data_profile": "data.throughput:bench_profile",
    "data_infer": "data.throughput:bench_infer",
    "data_validate": "data.throughput:bench_validate",
    "data_compare": "data.throughput:bench_compare",
    "data_calibration": "data.calibration:bench",
    # pipelines (bench/pipelines; also `python -m bench.pipelines`)
    "pipelines_overhead": "pipelines.run:bench_overhead",
    "pipelines_chain10": "pipelines.run:bench_chain10",
    "pipelines_lr3": "pipelines.run:bench_lr3",
    "pipelines_map": "pipelines.run:bench_map",
    "pipelines_fanout": "pipelines.fanout:bench",  # 100-branch map: process vs Ray
    "pipelines_peers": "pipelines.compare:bench_peers",  # + ZenML, Kedro, Metaflow, Prefect
    # resource sampler of expense monitoring (bench/costs; also `python -m bench.costs`)
    "cost_overhead": "costs.overhead:bench",
    "cost_slowdown": "costs.slowdown:bench",
}


def _function(name: str) -> Callable[[Context], dict[str, Any]]:
    module, func = BENCHMARKS[name].split(":")
    fn: Callable[[Context], dict[str, Any]] = getattr(
        importlib.import_module(f"bench.{module}"), func
    )
    return fn


# group name -> its benchmarks; a prefix such as ``data`` also selects every ``data_*``
GROUPS: dict[str, list[str]] = {
    "tracking": [
        "import",
        "cli_help",
        "log_metric",
        "log_batch",
        "params",
        "artifacts",
        "concurrency",
        "search",
    ],
}


def _expand(token: str) -> list[str]:
    if token in BENCHMARKS:
        return [token]
    if token in GROUPS:
        return GROUPS[token]
    return [n for n in BENCHMARKS if n.startswith(f"{token}_")]


def _names(text: str | None) -> list[str]:
    if not text:
        return list(BENCHMARKS)
    names: list[str] = []
    for token in (t.strip() for t in text.split(",") if t.strip()):
        found = _expand(token)
        if not found:
            raise SystemExit(
                f"bench: unknown benchmark {token!r}; choose from: {', '.join(BENCHMARKS)} "
                f"or a group: {', '.join(GROUPS)}, or a prefix such as 'data'"
            )
        names.extend(n for n in found if n not in names)
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="ninefold tracking benchmarks, side by side with MLflow. "
        "One JSON line per benchmark on stdout; progress on stderr.",
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help=f"run only these ({', '.join(BENCHMARKS)}), a group ({', '.join(GROUPS)}) "
        "or a prefix (data, pipelines, cost)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--no-peer", action="store_true", help="skip MLflow (ninefold only)")
    parser.add_argument(
        "--dir",
        type=Path,
        help="working folder (kept); default: a fresh temp folder on the repo's disk, removed",
    )
    parser.add_argument("--keep", action="store_true", help="keep the default temp folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = _names(args.only)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        root = Path(args.dir).resolve() / time.strftime("run-%Y%m%d-%H%M%S")
        root.mkdir()
        keep = True
    else:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="ninefold-bench-", dir=default_parent()))
        keep = args.keep
    console.log(
        f"working folder {root} ({filesystem_type(root)}); "
        f"{'quick' if args.quick else 'default'} sizes; "
        f"{'ninefold only' if args.no_peer else 'ninefold and MLflow'}"
    )
    ctx = Context(root=root, quick=args.quick, peer=not args.no_peer)
    compile_sources()
    failures = 0
    start = time.perf_counter()
    try:
        for name in names:
            t = time.perf_counter()
            try:
                rec = _function(name)(ctx)
            except (WorkerError, Exception) as exc:
                failures += 1
                console.print(f"[red]{name} failed[/]: {exc}")
                if not isinstance(exc, WorkerError):
                    console.print(traceback.format_exc())
                rec = record(name, {}, None, None, "", False, 0, "", error=str(exc)[-2000:])
            rec["elapsed_s"] = round(time.perf_counter() - t, 1)
            emit(rec)
            status = {True: "[green]met[/]", False: "[red]missed[/]", None: "[yellow]n/a[/]"}
            console.log(f"{name}: ratio {rec['ratio']} target {status[rec['met']]}")
    finally:
        if not keep:
            remove_tree(root)
    console.log(f"done in {time.perf_counter() - start:.0f} s, {failures} failed")
    return 1 if failures else 0
