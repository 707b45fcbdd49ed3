"""What the machine or container gives a process: cores and memory.

Inside a container the cgroup's CPU quota and memory limit are the allocation
(``cpu.max`` and ``memory.max`` on cgroup v2, ``cpu.cfs_quota_us`` and
``memory.limit_in_bytes`` on v1), not the host's totals. Limits nest, so the
tightest one on the path from the process's cgroup up to the root wins.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
_NO_LIMIT_V1 = 1 << 60  # v1 reports "unlimited" as a huge page-rounded number


@dataclass(frozen=True)
class Limits:
    """Cores and memory available to this process.

    Attributes:
        machine_cores: CPUs this process may run on (its affinity mask).
        machine_memory_bytes: physical memory of the host.
        cgroup_cores: the cgroup CPU quota in cores, or None when unlimited.
        cgroup_memory_bytes: the cgroup memory limit, or None when unlimited.
    """

    machine_cores: float
    machine_memory_bytes: int
    cgroup_cores: float | None = None
    cgroup_memory_bytes: int | None = None

    @property
    def cores(self) -> float:
        """Cores the process can use: the cgroup quota if tighter than the machine."""
        if self.cgroup_cores is None:
            return self.machine_cores
        return min(self.cgroup_cores, self.machine_cores)

    @property
    def memory_bytes(self) -> int:
        """Memory the process can use: the cgroup limit if tighter than the machine."""
        if self.cgroup_memory_bytes is None:
            return self.machine_memory_bytes
        return min(self.cgroup_memory_bytes, self.machine_memory_bytes)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """Controller -> cgroup path from ``/proc/self/cgroup`` (``""`` is the v2 hierarchy)."""
    text = _read(proc_cgroup)
    paths: dict[str, str] = {}
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else [""]
        for controller in controllers:
            paths[controller] = parts[2]
    return paths


def _ancestors(base: Path, relative: str) -> list[Path]:
    """``base/relative`` and each parent folder up to ``base`` itself."""
    folder = base / relative.strip("/") if relative.strip("/") else base
    out = [folder]
    while folder != base and base in folder.parents:
        folder = folder.parent
        out.append(folder)
    return out


def _v2_cpu(text: str | None) -> float | None:
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v2_memory(text: str | None) -> int | None:
    if not text or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _NO_LIMIT_V1 else None


def _tightest(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def read_cgroup_limits(
    root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_SELF_CGROUP
) -> tuple[float | None, int | None]:
    """The cgroup CPU quota (cores) and memory limit (bytes) of this process, None if unlimited.

    Args:
        root: where the cgroup filesystem is mounted.
        proc_cgroup: the process's cgroup membership file.
    """
    paths = _cgroup_paths(proc_cgroup)
    cores: list[float | None] = []
    memory: list[float | None] = []
    if "" in paths:  # cgroup v2 (unified)
        for folder in _ancestors(root, paths[""]):
            cores.append(_v2_cpu(_read(folder / "cpu.max")))
            memory.append(_v2_memory(_read(folder / "memory.max")))
    cpu_path = paths.get("cpu") or paths.get("cpuacct")
    if cpu_path is not None:  # cgroup v1
        for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            if not (root / mount).is_dir():
                continue
            for folder in _ancestors(root / mount, cpu_path):
                quota = _read(folder / "cpu.cfs_quota_us")
                period = _read(folder / "cpu.cfs_period_us")
                if quota and period:
                    cores.append(_v2_cpu(f"{quota} {period}" if quota != "-1" else "max 1"))
            break
    if "memory" in paths and (root / "memory").is_dir():
        for folder in _ancestors(root / "memory", paths["memory"]):
            memory.append(_v2_memory(_read(folder / "memory.limit_in_bytes")))
    mem = _tightest(memory)
    return _tightest(cores), None if mem is None else int(mem)


def machine_cores() -> float:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return float(len(os.sched_getaffinity(0)))
    return float(os.cpu_count() or 1)


_cache: tuple[float, int, Limits] | None = None
CACHE_S = 60.0
"""Limits are read again after this many seconds (they rarely change; runs start often)."""


def read_limits(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_SELF_CGROUP) -> Limits:
    """Machine and cgroup limits of this process (the default paths' answer is cached)."""
    global _cache
    default = root == CGROUP_ROOT and proc_cgroup == PROC_SELF_CGROUP
    now = time.monotonic()
    if default and _cache is not None and _cache[1] == os.getpid() and now - _cache[0] < CACHE_S:
        return _cache[2]
    cgroup_cores, cgroup_memory = read_cgroup_limits(root, proc_cgroup)
    limits = Limits(
        machine_cores=machine_cores(),
        machine_memory_bytes=int(psutil.virtual_memory().total),
        cgroup_cores=cgroup_cores,
        cgroup_memory_bytes=cgroup_memory,
    )
    if default:
        _cache = (now, os.getpid(), limits)
    return limits
