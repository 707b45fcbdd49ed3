"""GPU utilisation and memory through NVML, when ``pynvml`` and a driver are present.

Only the GPUs this process can see count (``CUDA_VISIBLE_DEVICES`` by index or
UUID). Without ``pynvml`` (``pip install 'ninefold[gpu]'``), without a driver,
or after three failed reads in a row, :func:`open_gpus` returns None and the
reason is kept in :data:`unavailable_reason`; runs then record no GPU figures
rather than wrong ones.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from dataclasses import dataclass
from typing import Any

unavailable_reason: str | None = None
"""Why the last :func:`open_gpus` found no usable GPU, or None."""

_lock = threading.Lock()
_users = 0
_init_failure: str | None = None  # NVML failing to start does not get better within a process
MAX_FAILURES = 3


@dataclass(frozen=True)
class GpuReading:
    """One reading over the visible GPUs."""

    utilization_percent: float
    """Mean utilisation of the visible GPUs (device-wide, so other processes count too)."""
    busy_fraction_sum: float
    """Sum over GPUs of utilisation / 100: GPU-seconds busy per second."""
    memory_used_bytes: int
    """Memory used on the visible GPUs, summed."""


def _visible(nvml: Any, count: int) -> list[Any]:
    spec = os.environ.get("CUDA_VISIBLE_DEVICES")
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    if spec is None:
        return handles
    chosen: list[Any] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item.lstrip("-").isdigit():
            index = int(item)
            if index < 0:
                break  # CUDA stops at the first invalid index
            if index < count:
                chosen.append(handles[index])
            continue
        for handle in handles:
            uuid = nvml.nvmlDeviceGetUUID(handle)
            uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
            if uuid.startswith((item, f"GPU-{item}")):
                chosen.append(handle)
                break
    return chosen


def _after_fork_in_child() -> None:
    # A lock held by the parent's sampler at the fork would never be released here,
    # and NVML handles do not cross a fork: start over.
    global _lock, _users
    _lock = threading.Lock()
    _users = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class GpuProbe:
    """Reads the visible GPUs; create with :func:`open_gpus`, end with :meth:`close`."""

    def __init__(self, nvml: Any, handles: list[Any], model: str) -> None:
        self._nvml = nvml
        self._handles = handles
        self.model = model
        self.count = len(handles)
        self.failures = 0
        self.disabled = False

    def read(self) -> GpuReading | None:
        """Utilisation and memory now, or None when the read fails (disabled after 3)."""
        if self.disabled:
            return None
        try:
            utils = [self._nvml.nvmlDeviceGetUtilizationRates(h).gpu for h in self._handles]
            memory = sum(int(self._nvml.nvmlDeviceGetMemoryInfo(h).used) for h in self._handles)
        except Exception:
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self.disabled = True
            return None
        self.failures = 0
        return GpuReading(
            utilization_percent=sum(utils) / len(utils),
            busy_fraction_sum=sum(utils) / 100.0,
            memory_used_bytes=memory,
        )

    def close(self) -> None:
        """Release NVML (shut down when the last probe closes)."""
        global _users
        with _lock:
            _users -= 1
            if _users == 0:
                with contextlib.suppress(Exception):  # shutting down: nothing to do
                    self._nvml.nvmlShutdown()


def open_gpus() -> GpuProbe | None:
    """A probe over the GPUs this process sees, or None (see :data:`unavailable_reason`)."""
    global unavailable_reason, _users, _init_failure
    if _init_failure is not None:
        unavailable_reason = _init_failure
        return None
    try:
        pynvml: Any = importlib.import_module("pynvml")
    except ImportError:
        unavailable_reason = "pynvml is not installed (pip install 'ninefold[gpu]')"
        return None
    with _lock:
        try:
            pynvml.nvmlInit()
        except Exception as exc:
            unavailable_reason = _init_failure = f"NVML could not start: {exc}"
            return None
        _users += 1
    try:
        handles = _visible(pynvml, int(pynvml.nvmlDeviceGetCount()))
        if not handles:
            raise LookupError("no GPU is visible to this process")
        name = pynvml.nvmlDeviceGetName(handles[0])
    except Exception as exc:
        unavailable_reason = f"no usable GPU: {exc}"
        GpuProbe(pynvml, [], "").close()
        return None
    unavailable_reason = None
    model = name.decode() if isinstance(name, bytes) else str(name)
    return GpuProbe(pynvml, handles, model)
