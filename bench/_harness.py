"""Shared machinery: working folders, worker processes, statistics and the JSON record."""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
console = Console(stderr=True, highlight=False, log_path=False)

_MEMORY_FS = {"tmpfs", "ramfs"}
_DROPPED_ENV = (
    "NINEFOLD_STORE_URL",
    "NINEFOLD_ARTIFACT_ROOT",
    "NINEFOLD_EXPERIMENT",
    "NINEFOLD_HOME",
    "NINEFOLD_S3_ENDPOINT_URL",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
    # Installed packages carry their bytecode; measuring with source compiles on every
    # start (as a sandbox with this variable set would) measures the compiler.
    "PYTHONDONTWRITEBYTECODE",
)


def compile_sources() -> None:
    """Write the bytecode of ninefold and the benchmarks, as ``pip install`` does for packages.

    Workers would otherwise compile sources on their first start (or on every start
    where ``PYTHONDONTWRITEBYTECODE`` is set), and cold timings would measure that.
    """
    import compileall

    for folder in ("src", "bench", "examples"):
        compileall.compile_dir(REPO / folder, quiet=1)


class WorkerError(RuntimeError):
    """A worker process failed; the message carries the tail of its stderr."""


class WorkerTimeout(RuntimeError):
    """A worker process ran past its time limit and was killed."""

    def __init__(self, target: str, limit_s: float) -> None:
        super().__init__(f"{target} ran past {limit_s:.0f} s and was stopped")
        self.limit_s = limit_s


# -- folders ------------------------------------------------------------------


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` (``ext4``, ``tmpfs`` ...), from /proc/mounts."""
    path = path.resolve()
    best, kind = "", "unknown"
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = path == Path(mount) or str(path).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, parts[2]
    return kind


def default_parent() -> Path:
    """Where fresh working folders go: the system temp folder if it is on the repo's disk.

    A temp folder in memory (tmpfs) or on another device would make SQLite
    commits and file copies look faster than on the disk a project lives on,
    so then a folder inside ``bench/.work`` is used instead.
    """
    tmp = Path(tempfile.gettempdir())
    same_device = tmp.stat().st_dev == REPO.stat().st_dev
    if same_device and filesystem_type(tmp) not in _MEMORY_FS:
        return tmp
    fallback = REPO / "bench" / ".work"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


@dataclass
class Context:
    """What every benchmark gets: its sizes, whether to run MLflow, and where to work."""

    root: Path
    quick: bool
    peer: bool

    def folder(self, name: str) -> Path:
        """A fresh, empty folder for one benchmark (or one part of it)."""
        path = self.root / name
        suffix = 1
        while path.exists():
            suffix += 1
            path = self.root / f"{name}-{suffix}"
        path.mkdir(parents=True)
        return path


def ninefold_project(folder: Path) -> Path:
    """An empty ninefold project (a ``ninefold.toml``); its default store is ``.ninefold/``."""
    project = folder / "ninefold-project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "ninefold.toml").write_text("# benchmark project: default embedded store\n")
    return project


def mlflow_folder(folder: Path) -> Path:
    """Where MLflow keeps ``mlflow.db`` and its artifact folder for one benchmark."""
    path = folder / "mlflow"
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- worker processes ---------------------------------------------------------


def worker_env() -> dict[str, str]:
    """The environment of worker processes: no inherited store settings, no telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["GIT_PYTHON_REFRESH"] = "quiet"
    return env


def worker_command(target: str, kwargs: dict[str, Any], out: Path) -> list[str]:
    """The command line that runs ``bench.<module>:<function>(**kwargs)`` in a fresh interpreter."""
    return [sys.executable, "-m", "bench._worker", target, json.dumps(kwargs), str(out)]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_worker(
    target: str, kwargs: dict[str, Any], cwd: Path, timeout: float | None = None
) -> dict[str, Any]:
    """Run a benchmark function in a fresh interpreter inside ``cwd`` and return its result.

    Its stdout and stderr go to a log file next to the result, shown on failure.
    """
    token = uuid.uuid4().hex[:8]
    out = cwd / f".result-{token}.json"
    log = cwd / f".worker-{target.replace(':', '-')}-{token}.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            worker_command(target, kwargs, out),
            cwd=cwd,
            env=worker_env(),
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise WorkerTimeout(target, timeout or 0.0) from None
    if code != 0 or not out.exists():
        raise WorkerError(f"{target} failed (exit {code}); last lines of {log}:\n{_tail(log)}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


def barrier() -> None:
    """In a worker started by :func:`start_workers`: say ready, then wait for the go."""
    print("READY", flush=True)
    sys.stdin.readline()


@dataclass
class Started:
    """A worker process started with a barrier, and where its result will land."""

    proc: subprocess.Popen[str]
    out: Path
    log: Path


def start_workers(
    target: str, kwargs_list: Sequence[dict[str, Any]], cwd: Path, ready_timeout: float
) -> list[Started]:
    """Start one worker per kwargs; return once each has printed READY (the go is not sent)."""
    started = []
    for i, kwargs in enumerate(kwargs_list):
        token = f"{i}-{uuid.uuid4().hex[:6]}"
        out = cwd / f".result-{token}.json"
        log = cwd / f".worker-{target.replace(':', '-')}-{token}.log"
        proc = subprocess.Popen(
            worker_command(target, kwargs, out),
            cwd=cwd,
            env=worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        started.append(Started(proc, out, log))
    deadline = time.monotonic() + ready_timeout
    for s in started:
        assert s.proc.stdout is not None
        ready, _, _ = select.select([s.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = s.proc.stdout.readline() if ready else ""  # READY, or "" if it died
        if line.strip() != "READY":
            for other in started:
                other.proc.kill()
            raise WorkerError(f"{target} did not get ready; last lines:\n{_tail(s.log)}")
    return started


def release_and_collect(started: list[Started], timeout: float) -> list[dict[str, Any] | None]:
    """Send the go to every worker at once, wait for them, and read their results.

    A worker that fails gives None (its exit code is an error for the caller to count).
    """
    for s in started:
        assert s.proc.stdin is not None
        s.proc.stdin.write("GO\n")
        s.proc.stdin.flush()
    deadline = time.monotonic() + timeout
    results: list[dict[str, Any] | None] = []
    for s in started:
        try:
            s.proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.communicate()
        if s.proc.returncode == 0 and s.out.exists():
            results.append(json.loads(s.out.read_text()))
        else:
            console.print(f"[red]worker failed (exit {s.proc.returncode}):[/]\n{_tail(s.log)}")
            results.append(None)
    return results


# -- statistics ---------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated between order statistics."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def sig(value: Any, digits: int = 4) -> Any:
    """Round floats to ``digits`` significant digits (recursively in dicts and lists)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0:
            return value
        return round(value, max(0, digits - 1 - math.floor(math.log10(abs(value)))))
    if isinstance(value, dict):
        return {k: sig(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sig(v, digits) for v in value]
    return value


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


# -- output -------------------------------------------------------------------


def record(
    bench: str,
    ninefold: dict[str, Any],
    mlflow: dict[str, Any] | None,
    ratio_value: float | None,
    target: str,
    met: bool | None,
    n: int,
    unit: str,
    **extra: Any,
) -> dict[str, Any]:
    """One benchmark's result in the shape every benchmark prints."""
    rec = {
        "bench": bench,
        "ninefold": ninefold,
        "mlflow": mlflow,
        "ratio": ratio_value,
        "target": target,
        "met": met,
        "n": n,
        "unit": unit,
    }
    rec.update(extra)
    return sig(rec)


def emit(rec: dict[str, Any]) -> None:
    """Print one record as one JSON line on stdout."""
    sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()


@contextmanager
def step(text: str) -> Iterator[None]:
    """Show a spinner with ``text`` on stderr, then how long the step took."""
    start = time.perf_counter()
    with console.status(text):
        yield
    console.log(f"{text} [dim]({time.perf_counter() - start:.1f} s)[/]")


def remove_tree(path: Path) -> None:
    """Delete a working folder, ignoring what is already gone."""
    shutil.rmtree(path, ignore_errors=True)
