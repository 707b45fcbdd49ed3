"""The resource sampler bound to a run: started by ``start_run``, stopped by ``ActiveRun.end``.

While the run is active its 15 s aggregates go to the metric writer as
``system/*`` metrics and its usage so far is saved with each aggregate, so a
run whose process dies is still costed from what was measured. When the run
ends the full usage is saved, less what nested runs on the same host measured
(they are charged for it themselves), the run is costed, and the budgets are
checked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import psutil

from ninefold import _process
from ninefold._ids import now_ms
from ninefold.costs.sampler import Bucket, ResourceSampler, UsageSummary
from ninefold.costs.settings import CostSettings, load_cost_settings
from ninefold.errors import NinefoldError
from ninefold.store.costs import CostingInputs, CostRecord, ResourceUsage

if TYPE_CHECKING:
    from pathlib import Path

    from ninefold.artifacts import ArtifactStore
    from ninefold.store import MetadataStore

# (run_id, key, value, step, timestamp_ms), as the metric writer takes them
MetricRow = tuple[str, str, float, int, int]


class _Settings(Protocol):
    @property
    def project_root(self) -> Path | None: ...


class TrackingClient(Protocol):
    """What the tracker needs from a tracking client."""

    @property
    def store(self) -> MetadataStore: ...

    @property
    def artifacts(self) -> ArtifactStore: ...

    @property
    def settings(self) -> _Settings | None: ...


def _usage(
    run_id: str, start_ms: int, summary: UsageSummary, complete: bool, samples: int
) -> ResourceUsage:
    host, pid, _ = _process.current()
    return ResourceUsage(
        run_id=run_id,
        host=host,
        pid=pid,
        start_ms=start_ms,
        updated_ms=now_ms(),
        complete=complete,
        samples=samples,
        wall_s=summary.wall_s,
        billed_wall_s=summary.wall_s,
        cpu_user_s=summary.cpu_user_s,
        cpu_system_s=summary.cpu_system_s,
        rss_byte_s=summary.rss_byte_s,
        rss_peak_bytes=summary.rss_peak_bytes,
        read_bytes=summary.read_bytes,
        write_bytes=summary.write_bytes,
        net_sent_bytes=summary.net_sent_bytes,
        net_recv_bytes=summary.net_recv_bytes,
        egress_bytes=0,
        gpu_count=summary.gpu_count,
        gpu_model=summary.gpu_model,
        gpu_busy_s=summary.gpu_busy_s,
        gpu_memory_peak_bytes=summary.gpu_memory_peak_bytes,
        machine_cores=summary.limits.machine_cores,
        machine_memory_bytes=summary.limits.machine_memory_bytes,
        cgroup_cores=summary.limits.cgroup_cores,
        cgroup_memory_bytes=summary.limits.cgroup_memory_bytes,
    )


def exclusive(
    usage: ResourceUsage, nested: list[ResourceUsage], tree_pids: set[int]
) -> ResourceUsage:
    """``usage`` less the nested runs' usage that it also measured.

    Nested runs in this process, or in a process of its tree (a pool worker),
    were measured by both samplers; their CPU, memory, I/O and GPU time goes
    to the nested run. Wall time is only removed for nested runs of this very
    process, which ran one after another inside this run's window.
    """
    inside = [u for u in nested if u.pid == usage.pid or u.pid in tree_pids]
    if not inside:
        return usage
    same = [u for u in inside if u.pid == usage.pid]

    def less(attr: str, among: list[ResourceUsage]) -> float:
        total: float = getattr(usage, attr) - sum(getattr(u, attr) for u in among)
        return max(0.0, total)

    gpu_busy = usage.gpu_busy_s
    if gpu_busy is not None:
        gpu_busy = max(0.0, gpu_busy - sum(u.gpu_busy_s or 0.0 for u in inside))
    return replace(
        usage,
        billed_wall_s=less("wall_s", same),
        cpu_user_s=less("cpu_user_s", inside),
        cpu_system_s=less("cpu_system_s", inside),
        rss_byte_s=less("rss_byte_s", inside),
        read_bytes=int(less("read_bytes", inside)),
        write_bytes=int(less("write_bytes", inside)),
        gpu_busy_s=gpu_busy,
    )


class RunResources:
    """The sampler of one run and what happens to its measurements."""

    def __init__(
        self,
        client: TrackingClient,
        run_id: str,
        emit: Callable[[list[MetricRow]], None],
        settings: CostSettings,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.emit = emit
        self.settings = settings
        self.start_ms = now_ms()
        self.sampler = ResourceSampler(
            settings.sample_interval_s,
            settings.bucket_s,
            child_refresh_s=settings.child_refresh_s,
            on_bucket=self._on_bucket,
            on_start=self._on_start,
        )
        self.usage: ResourceUsage | None = None

    @classmethod
    def start(
        cls, client: TrackingClient, run_id: str, emit: Callable[[list[MetricRow]], None]
    ) -> RunResources | None:
        """Start sampling for ``run_id``; system metrics go to ``emit``.

        Returns None, sampling nothing, when ``NINEFOLD_RESOURCES=0``.
        """
        if not enabled_by_env():
            return None
        root = client.settings.project_root if client.settings is not None else None
        try:
            resources = cls(client, run_id, emit, load_cost_settings(root))
            resources.sampler.start()
        except (NinefoldError, OSError, psutil.Error) as exc:
            # The run goes on unmeasured (reports mark it so); `ninefold cost report`
            # raises the same configuration error where it can be fixed.
            print(f"ninefold: run {run_id} will not be sampled: {exc}", file=sys.stderr)
            return None
        return resources

    def _on_start(self, summary: UsageSummary) -> None:
        # A first record, so that a run that dies before its first aggregate is still known.
        self.client.store.costs.save_usage(
            _usage(self.run_id, self.start_ms, summary, False, summary.samples)
        )

    def _on_bucket(self, bucket: Bucket, summary: UsageSummary) -> None:
        self.emit(
            [
                (self.run_id, key, float(value), bucket.index, bucket.end_ms)
                for key, value in bucket.metrics().items()
            ]
        )
        if not self.sampler.stopping:
            self.client.store.costs.save_usage(
                _usage(self.run_id, self.start_ms, summary, False, summary.samples)
            )

    def stop(self) -> ResourceUsage:
        """Stop sampling; save the usage, cost the run and check budgets.

        The usage is always saved; costing or budget problems (an invalid price
        table, an unreachable webhook) are reported on stderr and left for
        ``ninefold cost report`` to raise, so that they never fail the run.
        """
        summary = self.sampler.stop()
        measured = _usage(self.run_id, self.start_ms, summary, True, summary.samples)
        outcome: dict[str, Any] = {}

        def cost(inputs: CostingInputs) -> tuple[ResourceUsage, CostRecord | None]:
            from ninefold.costs.api import cost_of_ended_run

            usage = exclusive(measured, inputs.nested, self.sampler.seen_pids)
            outcome.clear()
            outcome["usage"] = usage
            try:
                return usage, cost_of_ended_run(inputs, usage, self.settings)
            except NinefoldError as exc:
                outcome["problem"] = str(exc)
                return usage, None

        store = self.client.store
        inputs = store.costs.finish_run(self.run_id, measured.host, cost)
        self.usage = outcome["usage"]
        if "problem" in outcome:
            print(
                f"ninefold: run {self.run_id} was not costed: {outcome['problem']}", file=sys.stderr
            )
        elif inputs.has_budgets:
            try:
                from ninefold.costs.budgets import check_budgets

                for status in check_budgets(store, self.settings):
                    for error in status.delivery_errors:
                        print(f"ninefold: budget alert not delivered: {error}", file=sys.stderr)
            except NinefoldError as exc:
                print(f"ninefold: budgets not checked: {exc}", file=sys.stderr)
        return self.usage


def cost_measured_runs(client: TrackingClient, usages: list[ResourceUsage]) -> None:
    """Cost runs whose usage was measured without a sampler (pipeline steps), in one transaction.

    Their usage rows are already stored with the runs. Where budgets are set,
    this adds a cost record for each, so the budget check at the end of the
    pipeline run that holds them sees them; otherwise it leaves them to the next
    report, which refreshes every run's cost first (costing a run reads its
    storage shares, which costs more than running a small step). Problems with
    the price table are reported on stderr, as for any run, and never fail the
    pipeline.
    """
    if not usages or not client.store.costs.has_budgets():
        return
    root = client.settings.project_root if client.settings is not None else None
    problems: list[str] = []
    try:
        settings = load_cost_settings(root)
        by_run = {u.run_id: u for u in usages}

        def cost(run_id: str, inputs: CostingInputs) -> tuple[ResourceUsage, CostRecord | None]:
            from ninefold.costs.api import cost_of_ended_run

            usage = by_run[run_id]
            try:
                return usage, cost_of_ended_run(inputs, usage, settings)
            except NinefoldError as exc:
                problems.append(str(exc))
                return usage, None

        for host in sorted({u.host for u in usages}):
            ids = [u.run_id for u in usages if u.host == host]
            client.store.costs.finish_runs(ids, host, cost)
    except NinefoldError as exc:
        problems.append(str(exc))
    if problems:
        print(f"ninefold: pipeline steps were not costed: {problems[0]}", file=sys.stderr)


def enabled_by_env() -> bool:
    """False when ``NINEFOLD_RESOURCES`` is ``0``, ``false`` or ``off``: no run samples."""
    return os.environ.get("NINEFOLD_RESOURCES", "1").strip().lower() not in ("0", "false", "off")
