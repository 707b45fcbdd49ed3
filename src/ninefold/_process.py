"""Who is this process, and is another one still alive?

A run records host, pid and the process start time; a pid alone is not enough
because pids are reused.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
from functools import cache


@cache
def hostname() -> str:
    """This machine's host name."""
    return socket.gethostname()


@cache
def username() -> str:
    """The user running this process (``unknown`` when it cannot be told)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def start_time(pid: int) -> float | None:
    """A process's start time (seconds since the epoch), or None if it does not exist."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped by its parent
            return None
        return float(proc.create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


_own_start: tuple[int, float | None] | None = None


def current() -> tuple[str, int, float | None]:
    """(host, pid, start time) of this process."""
    global _own_start
    pid = os.getpid()
    if _own_start is None or _own_start[0] != pid:  # read once per process (a fork is new)
        _own_start = (pid, start_time(pid))
    return hostname(), pid, _own_start[1]


def is_alive(pid: int, started: float | None) -> bool:
    """Whether the local process ``pid`` that started at ``started`` still runs."""
    now = start_time(pid)
    if now is None:
        return False
    if started is None:
        return True
    # Start times are rounded differently across calls; allow a small slack.
    return abs(now - started) < 1.0


def block_process_signals() -> None:
    """Keep SIGTERM and SIGINT away from this background thread.

    The kernel hands a process-wide signal to any thread that does not block
    it; Python runs the handler on the main thread only when that thread wakes.
    Blocking them here makes sure the main thread is the one interrupted.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
