"""Finding a process's descendants cheaply, with a cache of the host's process table.

Walking every process on the host at each sample is what makes naive samplers
expensive (``psutil.Process.children(recursive=True)`` reads every
``/proc/<pid>/stat``: milliseconds on a busy host). On Linux this module keeps
one table ``pid -> (parent pid, start time)`` for the whole process: a refresh
lists ``/proc`` and reads ``stat`` only for pids it has not seen, so a refresh
on a quiet host costs one directory listing. Elsewhere it falls back to psutil.
"""

from __future__ import annotations

import os
import sys
import threading

import psutil

_PROC = "/proc"


def _stat_fields(pid: int) -> tuple[int, int] | None:
    """``(parent pid, start time in clock ticks)`` from ``/proc/<pid>/stat``, or None if gone."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces or ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        return int(rest[1]), int(rest[19])
    except (IndexError, ValueError):
        return None


class ProcessTable:
    """The host's processes and their parents, refreshed incrementally (Linux)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parents: dict[int, tuple[int, int]] = {}
        self.linux = sys.platform.startswith("linux") and os.path.isdir(f"{_PROC}/self")

    def descendants(self, root: int) -> list[int]:
        """Pids of every live descendant of ``root`` (not ``root`` itself), refreshed now."""
        if not self.linux:
            try:
                return [p.pid for p in psutil.Process(root).children(recursive=True)]
            except psutil.Error:
                return []
        with self._lock:
            self._refresh()
            children: dict[int, list[int]] = {}
            for pid, (ppid, _) in self._parents.items():
                children.setdefault(ppid, []).append(pid)
        found: list[int] = []
        stack = list(children.get(root, ()))
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(children.get(pid, ()))
        return found

    def _refresh(self) -> None:
        try:
            names = os.listdir(_PROC)
        except OSError:
            return
        live = {int(n) for n in names if n.isdigit()}
        parents = self._parents
        for pid in list(parents):
            if pid not in live:
                del parents[pid]
        for pid in live:
            if pid not in parents:
                fields = _stat_fields(pid)
                if fields is not None:
                    parents[pid] = fields


table = ProcessTable()
"""The process-wide table shared by every sampler."""


def _after_fork_in_child() -> None:
    # The parent's sampler thread may have held the lock at the fork; the child
    # (a pool worker starting its own runs) needs a fresh one.
    table._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
