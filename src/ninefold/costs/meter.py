"""A step meter: what one pipeline step used, read from counters at its start and end.

A pipeline's steps are short and many, so they are not sampled by a thread of
their own (see :mod:`ninefold.costs.sampler`, which samples the pipeline run).
Instead the process that runs a step reads its kernel counters before and
after: CPU seconds (``getrusage`` of the process and its reaped children),
storage bytes (``/proc/self/io``) and resident memory. The step's usage is
stored with its run, so costs, roll-ups and budgets see every step, and the
pipeline run that ran it in the same process is charged only the rest (see
:func:`ninefold.costs.tracker.exclusive`).

Reading the counters costs a few tens of microseconds. Memory is known at the
two ends only: ``rss_byte_s`` is their mean times the wall time, and the peak is
the larger of the two unless the process's lifetime high-water mark rose while
the step ran, in which case that mark is the step's peak. So the peak is exact
for a step that grows the process past its earlier peak, and a lower bound
otherwise (a step that allocates and frees less than an earlier step did).
"""

from __future__ import annotations

import os
import resource
import sys
import time

from ninefold import _process
from ninefold._ids import now_ms
from ninefold.costs.limits import read_limits
from ninefold.costs.procstat import ProcStat
from ninefold.store.costs import ResourceUsage

_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux

_stat: tuple[int, ProcStat] | None = None  # this process's counters, opened once


def _me() -> ProcStat:
    global _stat
    pid = os.getpid()
    if _stat is None or _stat[0] != pid:  # a forked or spawned worker opens its own
        _stat = (pid, ProcStat(pid))
    return _stat[1]


class StepMeter:
    """Counters read when a step starts; :meth:`stop` turns them into the step's usage.

    Example:
        >>> meter = StepMeter()
        >>> usage = meter.stop("0123abcd")
        >>> usage.samples
        2
    """

    def __init__(self) -> None:
        stat = self._stat = _me()
        self.start_ms = now_ms()
        self._t0 = time.perf_counter()
        self._cpu0 = self._cpu()
        self._io0 = stat.io()
        self._rss0 = stat.read()[2]
        self._hwm0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @staticmethod
    def _cpu() -> tuple[float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + reaped.ru_utime, me.ru_stime + reaped.ru_stime

    def stop(self, run_id: str) -> ResourceUsage:
        """The usage of the step run ``run_id`` from its start until now."""
        wall = max(0.0, time.perf_counter() - self._t0)
        user, system = self._cpu()
        read, write = self._stat.io()
        rss = self._stat.read()[2]
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = max(self._rss0, rss)
        if hwm > self._hwm0:  # the process's high-water mark rose during the step
            peak = max(peak, hwm * _MAXRSS_UNIT)
        limits = read_limits()
        host, pid, _ = _process.current()
        return ResourceUsage(
            run_id=run_id,
            host=host,
            pid=pid,
            start_ms=self.start_ms,
            updated_ms=now_ms(),
            complete=True,
            samples=2,
            wall_s=wall,
            billed_wall_s=wall,
            cpu_user_s=max(0.0, user - self._cpu0[0]),
            cpu_system_s=max(0.0, system - self._cpu0[1]),
            rss_byte_s=(self._rss0 + rss) / 2 * wall,
            rss_peak_bytes=int(peak),
            read_bytes=max(0, read - self._io0[0]),
            write_bytes=max(0, write - self._io0[1]),
            net_sent_bytes=0,
            net_recv_bytes=0,
            egress_bytes=0,
            gpu_count=0,
            gpu_model=None,
            gpu_busy_s=None,
            gpu_memory_peak_bytes=None,
            machine_cores=limits.machine_cores,
            machine_memory_bytes=limits.machine_memory_bytes,
            cgroup_cores=limits.cgroup_cores,
            cgroup_memory_bytes=limits.cgroup_memory_bytes,
        )
