"""[import] and [cli_help]: start-up costs, each measured in fresh interpreters.

``import``: wall time of ``python -c "import X"`` for ninefold, MLflow and a
bare ``python -c pass`` (runs interleaved, median of 5); the import's own cost
is that minus the bare interpreter. Also ``python -X importtime``: the
cumulative time of the top-level package's line (one run each).

``cli_help``: wall time of ``ninefold --help`` through the installed console
script (median of 5, after one unmeasured warm-up run); ``mlflow --help`` for
reference (not with ``--quick``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._harness import Context, median, ratio, record, step, worker_env

RUNS = 5
QUICK_RUNS = 3
IMPORT_TARGET = 10.0
HELP_TARGET_S = 0.5


def _wall(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=cwd,
        env=worker_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def importtime_ms(module: str, cwd: Path) -> float:
    """Cumulative import time of ``module`` from ``python -X importtime``, in ms."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=cwd,
        env=worker_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    # lines: "import time: <self us> | <cumulative us> | <indented name>"
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1]) / 1000
    raise RuntimeError(f"no importtime line for {module!r}")


def bench_import(ctx: Context) -> dict[str, Any]:
    runs = QUICK_RUNS if ctx.quick else RUNS
    folder = ctx.folder("import")
    modules = ["ninefold", "mlflow"] if ctx.peer else ["ninefold"]
    walls: dict[str, list[float]] = {m: [] for m in ["<bare>", *modules]}
    with step(f"import: {', '.join(modules)} and a bare interpreter, {runs} runs each"):
        for _ in range(runs):
            walls["<bare>"].append(_wall([sys.executable, "-c", "pass"], folder))
            for m in modules:
                walls[m].append(_wall([sys.executable, "-c", f"import {m}"], folder))
        bare = median(walls["<bare>"])
        figures = {
            m: {
                "wall_s": median(walls[m]),
                "wall_min_s": min(walls[m]),
                "wall_max_s": max(walls[m]),
                "import_s": median(walls[m]) - bare,
                "importtime_ms": importtime_ms(m, folder),
                "runs": runs,
            }
            for m in modules
        }
    nf = {**figures["ninefold"], "bare_interpreter_s": bare}
    ml = figures.get("mlflow")
    r = ratio(ml["import_s"], nf["import_s"]) if ml else None
    return record(
        "import",
        nf,
        ml,
        r,
        f">= {IMPORT_TARGET:.0f}x faster import than MLflow (ratio of medians, bare "
        "interpreter start subtracted)",
        r >= IMPORT_TARGET if r is not None else None,
        runs,
        "seconds (wall, fresh interpreter); importtime in ms",
        importtime_ratio=ratio(ml["importtime_ms"], nf["importtime_ms"]) if ml else None,
        wall_ratio=ratio(ml["wall_s"], nf["wall_s"]) if ml else None,
    )


def _help(script: str, folder: Path, runs: int) -> dict[str, Any]:
    cmd = [str(Path(sys.executable).parent / script), "--help"]
    _wall(cmd, folder)  # warm-up: first run after install compiles bytecode
    walls = [_wall(cmd, folder) for _ in range(runs)]
    return {
        "wall_s": median(walls),
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "runs": runs,
    }


def bench_cli_help(ctx: Context) -> dict[str, Any]:
    folder = ctx.folder("cli_help")
    with step(f"cli_help: ninefold --help, {RUNS} runs"):
        nf = _help("ninefold", folder, RUNS)
    ml = None
    if ctx.peer and not ctx.quick:  # for reference only: skipped with --quick
        with step(f"cli_help: mlflow --help, {RUNS} runs"):
            ml = _help("mlflow", folder, RUNS)
    return record(
        "cli_help",
        nf,
        ml,
        ratio(ml["wall_s"], nf["wall_s"]) if ml else None,
        f"ninefold --help < {HELP_TARGET_S} s (median wall); MLflow for reference",
        nf["wall_s"] < HELP_TARGET_S,
        RUNS,
        "seconds (wall)",
    )
