"""Worker processes for the data benchmarks: ours in this interpreter, peers in theirs.

Every measured task runs in a fresh interpreter (``python -m bench._worker``), so its
peak memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own. Peer tools
(Great Expectations, pandera, Evidently) run in the interpreter named by
``NINEFOLD_BENCH_PEERS_PYTHON`` when set (a separate virtual environment: Evidently
0.7 does not import with pandas 3 and would downgrade plotly in the project's), else
in this one.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._harness import worker_env


def peers_python() -> str:
    """The interpreter that runs the peer tools."""
    return os.environ.get("NINEFOLD_BENCH_PEERS_PYTHON") or sys.executable


@dataclass
class Handle:
    """A started worker."""

    proc: subprocess.Popen[bytes]
    out: Path
    log: Path
    target: str
    started: float


def spawn(target: str, kwargs: dict[str, Any], cwd: Path, *, python: str | None = None) -> Handle:
    """Start ``bench.<module>:<function>(**kwargs)`` in a fresh interpreter."""
    token = uuid.uuid4().hex[:8]
    out = cwd / f".result-{token}.json"
    log = cwd / f".worker-{target.replace(':', '-').replace('.', '-')}-{token}.log"
    env = worker_env()
    env.setdefault("POLARS_MAX_THREADS", "2")
    cmd = [python or sys.executable, "-m", "bench._worker", target, json.dumps(kwargs), str(out)]
    with log.open("w") as fh:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT
        )
    return Handle(proc, out, log, target, time.perf_counter())


def collect(handle: Handle, timeout: float | None = None) -> dict[str, Any]:
    """Wait for a worker; its result, or ``{"error": ...}`` when it failed or timed out."""
    remaining = (
        None if timeout is None else max(1.0, timeout - (time.perf_counter() - handle.started))
    )
    try:
        code = handle.proc.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
        handle.proc.kill()
        handle.proc.wait()
        return {"error": f"{handle.target} ran past {timeout:.0f} s and was stopped"}
    if code != 0 or not handle.out.exists():
        tail = handle.log.read_text(errors="replace").splitlines()[-12:]
        return {"error": f"{handle.target} failed (exit {code}): " + " | ".join(tail)[-1500:]}
    result: dict[str, Any] = json.loads(handle.out.read_text())
    handle.out.unlink()
    return result


def run(
    target: str,
    kwargs: dict[str, Any],
    cwd: Path,
    *,
    python: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Start a worker and wait for it."""
    return collect(spawn(target, kwargs, cwd, python=python), timeout)


def rss_mb() -> float:
    """Current resident memory of this process in MiB (from /proc; 0 if unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak() -> bool:
    """Reset this process's peak resident memory (Linux ``/proc/self/clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory of this process since :func:`reset_peak`, in MiB.

    ``VmHWM`` from /proc, which :func:`reset_peak` resets; where it is missing,
    ``ru_maxrss``. (``ru_maxrss`` alone is not enough: Linux carries it over ``exec``
    from the forked parent, so a worker started by a large parent reports the
    parent's size.)
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return maxrss_mb()


def maxrss_mb() -> float:
    """``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Wall and CPU seconds (all threads of the process) of a block."""

    def __enter__(self) -> Timer:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
