"""The resource sampler: what a process and its children use while a run is active.

Totals come from cumulative kernel counters, not from sampling, so they are
exact however short the run: CPU seconds from ``getrusage`` (this process and
its reaped children) plus the live children's own counters, I/O bytes from
``/proc/<pid>/io`` (which includes reaped children), host network bytes, and
peak RSS from the kernel's high-water marks (``VmHWM`` and ``ru_maxrss``).

A daemon thread samples every ``interval_s`` (1 s by default, the first sample
at once) for the time series: CPU % and RSS of the process tree, and GPU
utilisation and memory when NVML is available. Samples are folded into
``bucket_s`` aggregates (15 s by default) handed to ``on_bucket``; nothing is
kept per sample. The last, partial aggregate is handed over too, unless the
whole window sampled is shorter than a third of ``bucket_s`` (a run of a few
seconds has exact totals but no time series). The list of child processes is refreshed every
``child_refresh_s`` (5 s), not at each sample; children that start and end
between two refreshes are still counted in the totals through ``getrusage``.

Only the current process can be sampled (``getrusage`` is per process).
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from ninefold import _process
from ninefold.costs import gpu as _gpu
from ninefold.costs.children import table as _process_table
from ninefold.costs.limits import Limits, read_limits
from ninefold.costs.procstat import ProcessGone, ProcStat
from ninefold.errors import InvalidArgument, StateError

_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux


@dataclass(frozen=True)
class Bucket:
    """An aggregate of the samples taken over one window (``bucket_s`` long, the last shorter).

    Attributes:
        index: 0 for the first window of the run, then 1, 2, ...
        end_ms: UTC milliseconds at the window's last sample.
        seconds: how long the window lasted.
        samples: samples folded into it.
        cpu_percent: CPU of the process tree over the window, in % of one core.
        rss_bytes: mean resident memory of the process tree.
        rss_max_bytes: largest sampled resident memory of the tree.
        gpu_utilization_percent: mean utilisation of the visible GPUs, or None.
        gpu_memory_bytes: mean GPU memory used, or None.
    """

    index: int
    end_ms: int
    seconds: float
    samples: int
    cpu_percent: float
    rss_bytes: float
    rss_max_bytes: int
    gpu_utilization_percent: float | None
    gpu_memory_bytes: float | None

    def metrics(self) -> dict[str, float]:
        """The bucket as ``system/...`` metric values."""
        out = {
            "system/cpu_percent": self.cpu_percent,
            "system/rss_bytes": self.rss_bytes,
        }
        if self.gpu_utilization_percent is not None:
            out["system/gpu_utilization_percent"] = self.gpu_utilization_percent
        if self.gpu_memory_bytes is not None:
            out["system/gpu_memory_bytes"] = self.gpu_memory_bytes
        return out


@dataclass(frozen=True)
class UsageSummary:
    """Totals for the sampled window so far (or in full, from :meth:`ResourceSampler.stop`).

    Attributes:
        wall_s: elapsed seconds.
        cpu_user_s: user CPU seconds of the process tree.
        cpu_system_s: system CPU seconds of the process tree.
        rss_byte_s: integral of the tree's resident memory over time (byte-seconds).
        rss_peak_bytes: the largest of the kernel high-water marks (this process,
            a reaped child, a live child) and the largest sampled tree RSS.
        read_bytes: bytes read from storage by the tree.
        write_bytes: bytes written to storage by the tree.
        net_sent_bytes: bytes sent by the whole host (not only this process).
        net_recv_bytes: bytes received by the whole host.
        samples: samples taken.
        gpu_count: GPUs visible and readable through NVML (0 without NVML).
        gpu_model: the first visible GPU's name, or None.
        gpu_busy_s: GPU-seconds of utilisation (sum over GPUs of util * time), None without NVML.
        gpu_memory_peak_bytes: largest sampled GPU memory used, or None.
        gpu_note: why GPU figures are missing, or None.
        limits: cores and memory available (machine and cgroup).
    """

    wall_s: float
    cpu_user_s: float
    cpu_system_s: float
    rss_byte_s: float
    rss_peak_bytes: int
    read_bytes: int
    write_bytes: int
    net_sent_bytes: int
    net_recv_bytes: int
    samples: int
    gpu_count: int
    gpu_model: str | None
    gpu_busy_s: float | None
    gpu_memory_peak_bytes: int | None
    gpu_note: str | None
    limits: Limits

    @property
    def cpu_s(self) -> float:
        """User plus system CPU seconds."""
        return self.cpu_user_s + self.cpu_system_s


@dataclass
class _Counters:
    """Cumulative counters of the process tree at one instant."""

    mono: float
    user: float
    system: float
    read: int
    write: int
    net_sent: int
    net_recv: int


def _tree_times(procs: dict[int, ProcStat]) -> tuple[float, float, int]:
    """User and system CPU of this process, its reaped children and its live ``procs``,
    and the live children's resident memory. Children that ended are dropped from ``procs``:
    their time reaches ``RUSAGE_CHILDREN`` when they are reaped."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = me.ru_utime + reaped.ru_utime
    system = me.ru_stime + reaped.ru_stime
    rss = 0
    for pid, proc in list(procs.items()):
        try:
            child_user, child_system, child_rss = proc.read()
        except ProcessGone:
            proc.close()
            del procs[pid]
            continue
        user += child_user
        system += child_system
        rss += child_rss
    return user, system, rss


def _hwm_bytes(pid: int | str) -> int:
    """The kernel's peak RSS of one process (``VmHWM``), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ResourceSampler:
    """Samples this process and its children on a daemon thread.

    Args:
        interval_s: seconds between samples.
        bucket_s: seconds folded into one :class:`Bucket`.
        child_refresh_s: how often the list of child processes is refreshed.
        gpu: read GPUs through NVML when available.
        on_bucket: called on the sampler thread with each finished bucket and
            the totals so far; exceptions it raises are kept in :attr:`errors`.
        on_start: called once on the sampler thread after the second sample
            (unless the sampler is stopping by then), with the totals so far.

    Example:
        >>> sampler = ResourceSampler(interval_s=0.5)
        >>> sampler.start()
        >>> total = sum(i * i for i in range(10**6))
        >>> usage = sampler.stop()
        >>> usage.cpu_s > 0
        True
    """

    def __init__(
        self,
        interval_s: float = 1.0,
        bucket_s: float = 15.0,
        *,
        child_refresh_s: float = 5.0,
        gpu: bool = True,
        on_bucket: Callable[[Bucket, UsageSummary], None] | None = None,
        on_start: Callable[[UsageSummary], None] | None = None,
    ) -> None:
        for name, value in (
            ("interval_s", interval_s),
            ("bucket_s", bucket_s),
            ("child_refresh_s", child_refresh_s),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidArgument(
                    f"ResourceSampler: {name} must be a positive number of seconds, got {value!r}."
                )
        self.interval_s = float(interval_s)
        self.bucket_s = float(max(bucket_s, interval_s))
        self.child_refresh_s = float(child_refresh_s)
        self.on_bucket = on_bucket
        self.on_start = on_start
        self.errors: list[BaseException] = []
        self._want_gpu = gpu
        self._pid = os.getpid()
        self._me = ProcStat(self._pid)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopped = False
        self._final: UsageSummary | None = None
        self.seen_pids: set[int] = set()
        """Every descendant process seen while sampling."""
        self._b_start = self._b_end = self._b_cpu = self._b_gpu_util = 0.0
        self._b_rss_sum = self._b_rss_max = self._b_samples = self._b_gpu_mem = self._b_gpu_n = 0

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Read the starting counters, take the first sample and start the thread."""
        if self._started:
            raise StateError("This ResourceSampler was already started; create a new one.")
        self._started = True
        self.limits = read_limits()
        self._gpu = _gpu.open_gpus() if self._want_gpu else None
        self._gpu_note = None if self._gpu is not None else _gpu.unavailable_reason
        if not self._want_gpu:
            self._gpu_note = "GPU sampling turned off"
        self._children: dict[int, ProcStat] = {}
        self._refresh_children()
        user, system, _ = _tree_times(self._children)
        read, write = self._tree_io()
        net = self._net()
        self._c0 = _Counters(time.monotonic(), user, system, read, write, *net)
        self._last_io = (read, write)
        self._last_net = net
        self._samples = 0
        self._rss_byte_s = 0.0
        self._rss_peak = 0
        self._gpu_busy_s = 0.0 if self._gpu is not None else None
        self._gpu_mem_peak: int | None = 0 if self._gpu is not None else None
        self._prev_t = self._c0.mono
        self._prev_cpu = user + system
        self._prev_rss: int | None = None
        self._bucket_index = 0
        self._reset_bucket(self._c0.mono)
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="ninefold-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> UsageSummary:
        """Stop the thread, take a last sample and return the totals (idempotent)."""
        if not self._started:
            raise StateError("This ResourceSampler was never started.")
        if self._final is not None:
            return self._final
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._refresh_children()
            self._sample()
            self._last_io = self._tree_io()
            self._last_net = self._net()
            summary = self._summary()
            # The last, partial window is kept when it follows full ones or is long
            # enough to mean something; a run shorter than a third of a window keeps
            # its exact totals only.
            keep = self._bucket_index > 0 or self._b_end - self._b_start >= self.bucket_s / 3
            bucket = self._close_bucket() if self._b_samples > 0 and keep else None
        if bucket is not None and self.on_bucket is not None:
            self._deliver(bucket, summary)
        if self._gpu is not None:
            self._gpu.close()
        for proc in self._children.values():
            proc.close()
        self._me.close()
        self._final = summary
        return summary

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    def snapshot(self) -> UsageSummary:
        """Totals so far, without stopping."""
        with self._lock:
            return self._summary()

    # -- the thread ------------------------------------------------------

    def _loop(self) -> None:
        _process.block_process_signals()
        started = self.on_start is None
        next_t = time.monotonic() + self.interval_s
        last_refresh = time.monotonic()
        while not self._stop.wait(max(0.0, next_t - time.monotonic())):
            now = time.monotonic()
            next_t += self.interval_s
            if next_t < now:  # fell behind (suspended, overloaded): do not catch up
                next_t = now + self.interval_s
            bucket: Bucket | None = None
            summary: UsageSummary | None = None
            try:
                with self._lock:
                    if now - last_refresh >= self.child_refresh_s:
                        self._refresh_children()
                        last_refresh = now
                    self._sample()
                    if time.monotonic() - self._b_start >= self.bucket_s:
                        self._last_io = self._tree_io()
                        self._last_net = self._net()
                        summary = self._summary()
                        bucket = self._close_bucket()
            except Exception as exc:  # keep sampling; the error is reported at stop
                self.errors.append(exc)
            if not started and not self._stop.is_set():
                started = True
                try:
                    assert self.on_start is not None
                    self.on_start(self.snapshot())
                except Exception as exc:
                    self.errors.append(exc)
            if bucket is not None and summary is not None and self.on_bucket is not None:
                self._deliver(bucket, summary)

    def _deliver(self, bucket: Bucket, summary: UsageSummary) -> None:
        assert self.on_bucket is not None
        try:
            self.on_bucket(bucket, summary)
        except Exception as exc:
            self.errors.append(exc)

    # -- reading ---------------------------------------------------------

    def _refresh_children(self) -> None:
        pids = set(_process_table.descendants(self._pid))
        self.seen_pids |= pids
        for pid in list(self._children):
            if pid not in pids:
                self._children.pop(pid).close()
        for pid in pids - set(self._children):
            with contextlib.suppress(ProcessGone):
                self._children[pid] = ProcStat(pid)

    def _sample(self) -> None:
        now = time.monotonic()
        user, system, rss = _tree_times(self._children)
        cpu = user + system
        with contextlib.suppress(ProcessGone):
            rss += self._me.read()[2]
        dt = now - self._prev_t
        if self._prev_rss is not None and dt > 0:
            self._rss_byte_s += (rss + self._prev_rss) / 2 * dt
        reading = self._gpu.read() if self._gpu is not None else None
        if reading is not None and dt > 0 and self._gpu_busy_s is not None:
            self._gpu_busy_s += reading.busy_fraction_sum * dt
            self._gpu_mem_peak = max(self._gpu_mem_peak or 0, reading.memory_used_bytes)
        self._samples += 1
        self._rss_peak = max(self._rss_peak, rss)
        # bucket
        self._b_cpu += max(0.0, cpu - self._prev_cpu)
        self._b_rss_sum += rss
        self._b_rss_max = max(self._b_rss_max, rss)
        self._b_samples += 1
        if reading is not None:
            self._b_gpu_util += reading.utilization_percent
            self._b_gpu_mem += reading.memory_used_bytes
            self._b_gpu_n += 1
        self._b_end = now
        self._prev_t, self._prev_cpu, self._prev_rss = now, cpu, rss

    def _reset_bucket(self, start: float) -> None:
        self._b_start = start
        self._b_end = start
        self._b_cpu = 0.0
        self._b_rss_sum = 0
        self._b_rss_max = 0
        self._b_samples = 0
        self._b_gpu_util = 0.0
        self._b_gpu_mem = 0
        self._b_gpu_n = 0

    def _close_bucket(self) -> Bucket:
        seconds = self._b_end - self._b_start
        n = max(1, self._b_samples)
        bucket = Bucket(
            index=self._bucket_index,
            end_ms=time.time_ns() // 1_000_000,
            seconds=seconds,
            samples=self._b_samples,
            cpu_percent=100.0 * self._b_cpu / seconds if seconds > 0 else 0.0,
            rss_bytes=self._b_rss_sum / n,
            rss_max_bytes=self._b_rss_max,
            gpu_utilization_percent=self._b_gpu_util / self._b_gpu_n if self._b_gpu_n else None,
            gpu_memory_bytes=self._b_gpu_mem / self._b_gpu_n if self._b_gpu_n else None,
        )
        self._bucket_index += 1
        self._reset_bucket(self._b_end)
        return bucket

    def _tree_io(self) -> tuple[int, int]:
        """Storage bytes of this process (reaped children included on Linux) and live children."""
        read, write = self._me.io()
        for proc in list(self._children.values()):
            r, w = proc.io()
            read += r
            write += w
        return read, write

    def _net(self) -> tuple[int, int]:
        try:
            net = psutil.net_io_counters()
        except (OSError, RuntimeError):
            return 0, 0
        return int(net.bytes_sent), int(net.bytes_recv)

    def _peak_rss(self) -> int:
        mine = _hwm_bytes("self") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (
            _MAXRSS_UNIT
        )
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * _MAXRSS_UNIT
        live = max((_hwm_bytes(pid) for pid in self._children), default=0)
        return max(mine, reaped, live, self._rss_peak)

    def _summary(self) -> UsageSummary:
        # Children alive at the start are in both c0 and now (or, once reaped, in
        # RUSAGE_CHILDREN), so the difference is exactly the time spent since.
        user, system, _ = _tree_times(dict(self._children))
        c0 = self._c0
        read, write = self._last_io
        sent, recv = self._last_net
        return UsageSummary(
            wall_s=max(0.0, self._prev_t - c0.mono),
            cpu_user_s=max(0.0, user - c0.user),
            cpu_system_s=max(0.0, system - c0.system),
            rss_byte_s=self._rss_byte_s,
            rss_peak_bytes=self._peak_rss(),
            read_bytes=max(0, read - c0.read),
            write_bytes=max(0, write - c0.write),
            net_sent_bytes=max(0, sent - c0.net_sent),
            net_recv_bytes=max(0, recv - c0.net_recv),
            samples=self._samples,
            gpu_count=self._gpu.count if self._gpu is not None else 0,
            gpu_model=self._gpu.model if self._gpu is not None else None,
            gpu_busy_s=self._gpu_busy_s,
            gpu_memory_peak_bytes=self._gpu_mem_peak,
            gpu_note=self._gpu_note,
            limits=self.limits,
        )
