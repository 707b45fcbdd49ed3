"""The resource sampler on real processes: CPU of the tree, children, peaks, cgroups, no NVML."""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from ninefold.costs import gpu
from ninefold.costs.limits import read_cgroup_limits
from ninefold.costs.sampler import Bucket, ResourceSampler, UsageSummary
from ninefold.errors import InvalidArgument, StateError
from tests.costs.conftest import burn

CHILD_BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def test_cpu_of_this_process_is_counted() -> None:
    sampler = ResourceSampler(interval_s=0.02, bucket_s=0.1)
    sampler.start()
    before = time.process_time()
    burn(0.4)
    spent = time.process_time() - before
    usage = sampler.stop()
    assert usage.cpu_s >= 0.9 * spent
    assert usage.samples >= 2
    assert usage.wall_s > 0
    assert usage.rss_peak_bytes > 10 * 2**20
    assert usage.rss_byte_s > 0
    assert sampler.errors == []


def test_buckets_aggregate_samples_into_metrics() -> None:
    buckets: list[tuple[Bucket, UsageSummary]] = []
    sampler = ResourceSampler(
        interval_s=0.02, bucket_s=0.1, on_bucket=lambda b, u: buckets.append((b, u))
    )
    sampler.start()
    burn(0.5)
    sampler.stop()
    assert len(buckets) >= 2
    assert [b.index for b, _ in buckets] == list(range(len(buckets)))
    assert sum(b.samples for b, _ in buckets) <= sampler.stop().samples
    for bucket, _ in buckets:
        metrics = bucket.metrics()
        assert set(metrics) == {"system/cpu_percent", "system/rss_bytes"}
        assert 0 <= metrics["system/cpu_percent"] < 100 * (os.cpu_count() or 1) + 50
        assert metrics["system/rss_bytes"] > 0
    # CPU-bound: some bucket saw real CPU use.
    assert max(b.cpu_percent for b, _ in buckets) > 20
    # Totals handed with buckets only grow.
    cpu = [u.cpu_s for _, u in buckets]
    assert cpu == sorted(cpu)


def test_children_cpu_is_included_also_when_they_are_killed() -> None:
    sampler = ResourceSampler(interval_s=0.02, bucket_s=0.1, child_refresh_s=0.02)
    sampler.start()
    child_cpu = 0.0
    # One child that finishes, one that is killed while it works.
    done = subprocess.Popen([sys.executable, "-c", CHILD_BURN.format(s=0.4)])
    _, _, usage_done = os.wait4(done.pid, 0)
    done.returncode = 0
    child_cpu += usage_done.ru_utime + usage_done.ru_stime
    killed = subprocess.Popen([sys.executable, "-c", CHILD_BURN.format(s=30)])
    time.sleep(0.6)
    killed.send_signal(signal.SIGKILL)
    _, _, usage_killed = os.wait4(killed.pid, 0)
    killed.returncode = -9
    child_cpu += usage_killed.ru_utime + usage_killed.ru_stime
    usage = sampler.stop()
    assert child_cpu > 0.4
    assert usage.cpu_s >= 0.9 * child_cpu
    assert sampler.seen_pids >= {killed.pid}
    assert sampler.errors == []


def test_children_that_live_and_die_quickly_do_not_break_sampling() -> None:
    buckets: list[Bucket] = []
    sampler = ResourceSampler(
        interval_s=0.005,
        bucket_s=0.05,
        child_refresh_s=0.005,
        on_bucket=lambda b, u: buckets.append(b),
    )
    sampler.start()
    procs = []
    for i in range(40):
        p = subprocess.Popen(["sleep", "30"])
        procs.append(p)
        if i % 2:
            p.kill()
            p.wait()
        if i % 10 == 0:
            time.sleep(0.02)
    for p in procs:
        p.kill()
        p.wait()
    usage = sampler.stop()
    assert sampler.errors == []
    assert usage.samples > 1
    for b in buckets:
        assert math.isfinite(b.cpu_percent)
        assert b.cpu_percent >= 0
        assert b.rss_bytes > 0
    assert len({p.pid for p in procs} & sampler.seen_pids) > 0


def test_peak_rss_includes_a_child_that_has_exited() -> None:
    sampler = ResourceSampler(interval_s=0.05)
    sampler.start()
    size = 300 * 2**20
    code = f"b = bytearray({size})\nfor i in range(0, len(b), 4096): b[i] = 1\n"
    subprocess.run([sys.executable, "-c", code], check=True)
    usage = sampler.stop()
    assert usage.rss_peak_bytes >= size
    # It came from the child: this process never held that much.
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if own_peak < size:
        assert usage.rss_peak_bytes > own_peak


def test_sampler_settings_and_lifecycle_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="interval_s must be a positive number"):
        ResourceSampler(interval_s=0)
    with pytest.raises(InvalidArgument, match="bucket_s"):
        ResourceSampler(bucket_s=-1)
    sampler = ResourceSampler()
    with pytest.raises(StateError, match="never started"):
        sampler.stop()
    sampler.start()
    with pytest.raises(StateError, match="already started"):
        sampler.start()
    first = sampler.stop()
    assert sampler.stop() is first


def test_without_pynvml_gpu_figures_are_absent_not_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails as if not installed
    monkeypatch.setattr(gpu, "_init_failure", None)
    assert gpu.open_gpus() is None
    assert gpu.unavailable_reason is not None
    assert "pynvml is not installed" in gpu.unavailable_reason
    sampler = ResourceSampler(interval_s=0.02)
    sampler.start()
    usage = sampler.stop()
    assert usage.gpu_count == 0
    assert usage.gpu_busy_s is None
    assert usage.gpu_memory_peak_bytes is None
    assert usage.gpu_note is not None
    assert "pynvml" in usage.gpu_note


def test_nvml_without_a_driver_falls_back_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pynvml")
    monkeypatch.setattr(gpu, "_init_failure", None)
    probe = gpu.open_gpus()
    if probe is not None:
        probe.close()
        pytest.skip("this machine has a working NVIDIA driver")
    assert gpu.unavailable_reason is not None
    assert gpu.unavailable_reason.startswith(("NVML could not start", "no usable GPU"))
    # The failure is remembered: later runs do not retry loading the library.
    assert gpu.open_gpus() is None


def _cgroup_v2(tmp_path: Path, cpu: dict[str, str], memory: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cg"
    for rel, text in cpu.items():
        (root / rel).mkdir(parents=True, exist_ok=True)
        (root / rel / "cpu.max").write_text(text + "\n")
    for rel, text in memory.items():
        (root / rel).mkdir(parents=True, exist_ok=True)
        (root / rel / "memory.max").write_text(text + "\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/kubepods/pod1/ctr\n")
    return root, proc


def test_cgroup_v2_limits_take_the_tightest_on_the_path(tmp_path: Path) -> None:
    root, proc = _cgroup_v2(
        tmp_path,
        cpu={"kubepods/pod1": "150000 100000", "kubepods/pod1/ctr": "max 100000"},
        memory={"kubepods": "8589934592", "kubepods/pod1/ctr": "2147483648"},
    )
    assert read_cgroup_limits(root, proc) == (1.5, 2 * 2**30)


def test_cgroup_unlimited_or_absent_is_none(tmp_path: Path) -> None:
    root, proc = _cgroup_v2(tmp_path, cpu={"": "max 100000"}, memory={"": "max"})
    assert read_cgroup_limits(root, proc) == (None, None)
    assert read_cgroup_limits(tmp_path / "missing", tmp_path / "missing-file") == (None, None)


def test_cgroup_v1_quota_and_memory_limit(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    cpu = root / "cpu,cpuacct" / "docker" / "abc"
    cpu.mkdir(parents=True)
    (cpu / "cpu.cfs_quota_us").write_text("250000\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    mem = root / "memory" / "docker" / "abc"
    mem.mkdir(parents=True)
    (mem / "memory.limit_in_bytes").write_text(str(4 * 2**30))
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712")
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n")
    assert read_cgroup_limits(root, proc) == (2.5, 4 * 2**30)


def test_a_window_shorter_than_a_third_of_a_bucket_yields_no_bucket() -> None:
    buckets: list[Bucket] = []
    sampler = ResourceSampler(
        interval_s=0.05, bucket_s=30.0, on_bucket=lambda b, u: buckets.append(b)
    )
    sampler.start()
    burn(0.05)
    usage = sampler.stop()
    assert buckets == []
    assert usage.cpu_s > 0
    longer: list[Bucket] = []
    sampler = ResourceSampler(
        interval_s=0.02, bucket_s=0.3, on_bucket=lambda b, u: longer.append(b)
    )
    sampler.start()
    time.sleep(0.15)
    sampler.stop()
    assert len(longer) == 1
    assert longer[0].seconds >= 0.1


def test_a_forked_child_can_sample_while_the_parent_samples() -> None:
    # A pool worker forked while the parent's sampler thread holds its locks must
    # not deadlock when it starts a sampler of its own.
    from ninefold.costs import children

    parent = ResourceSampler(interval_s=0.01, child_refresh_s=0.01)
    parent.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        with children.table._lock:  # as if the sampler thread held it at the fork
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 1
                try:
                    child = ResourceSampler(interval_s=0.01)
                    child.start()
                    burn(0.05)
                    code = 0 if child.stop().cpu_s > 0 else 2
                finally:
                    os._exit(code)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    parent.stop()
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung: a lock held at the fork was never released")
    assert os.waitstatus_to_exitcode(done[1]) == 0
