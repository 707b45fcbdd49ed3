"""One process's CPU times and resident memory, read with a single system call.

On Linux ``/proc/<pid>/stat`` holds both the CPU times (own and of reaped
children) and the resident set size. :class:`ProcStat` keeps that file open
and re-reads it with ``pread``, so a sample of a process costs one system call
instead of psutil's open, read and close of two files. The open file belongs
to that very process: if it ends and its pid is reused, reads fail instead of
silently reporting the newcomer. Elsewhere psutil is used.
"""

from __future__ import annotations

import os
import sys

import psutil

_LINUX = sys.platform.startswith("linux")
_TICK = os.sysconf("SC_CLK_TCK") if _LINUX else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if _LINUX else 4096


class ProcessGone(Exception):
    """The process ended (or can no longer be read)."""


class ProcStat:
    """Cheap repeated reads of one process.

    Args:
        pid: the process id.

    Raises:
        ProcessGone: the process does not exist (any more).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: int | None = None
        try:
            self.process = psutil.Process(pid)
        except psutil.Error as exc:
            raise ProcessGone(pid) from exc
        if _LINUX:
            try:
                self._fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
            except OSError as exc:
                if not psutil.pid_exists(pid):
                    raise ProcessGone(pid) from exc
                # /proc is not readable here: psutil's way below still may be

    def read(self) -> tuple[float, float, int]:
        """``(user s, system s, rss bytes)``; CPU includes the process's reaped children."""
        if self._fd is None:
            try:
                with self.process.oneshot():
                    t = self.process.cpu_times()
                    rss = int(self.process.memory_info().rss)
            except psutil.Error as exc:
                raise ProcessGone(self.pid) from exc
            return t.user + t.children_user, t.system + t.children_system, rss
        try:
            data = os.pread(self._fd, 2048, 0)
        except OSError as exc:
            raise ProcessGone(self.pid) from exc
        if not data:
            raise ProcessGone(self.pid)
        # The command name is in parentheses and may hold spaces or ')'.
        rest = data[data.rfind(b")") + 2 :].split()
        try:
            utime, stime, cutime, cstime = (int(rest[i]) for i in (11, 12, 13, 14))
            rss_pages = int(rest[21])
        except (IndexError, ValueError) as exc:
            raise ProcessGone(self.pid) from exc
        return (utime + cutime) / _TICK, (stime + cstime) / _TICK, rss_pages * _PAGE

    def io(self) -> tuple[int, int]:
        """Bytes read from and written to storage (0, 0 when the system does not say)."""
        try:
            counters = self.process.io_counters()  # type: ignore[attr-defined,unused-ignore]
        except (psutil.Error, AttributeError, NotImplementedError, OSError):
            return 0, 0
        return int(counters.read_bytes), int(counters.write_bytes)

    def close(self) -> None:
        """Release the open file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()
