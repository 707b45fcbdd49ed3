"""Runs sample their resources, store system metrics and usage, and are costed when they end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ninefold as nf
from ninefold import costs
from ninefold.config import load_settings
from ninefold.costs.prices import load_prices
from ninefold.errors import InvalidArgument, NotFound
from ninefold.store import MetadataStore
from ninefold.tracking.client import Client
from tests.costs.conftest import FAST_SAMPLING, burn


def test_a_run_doing_cpu_work_records_system_metrics_usage_and_cost(cost_client: Client) -> None:
    with nf.start_run(experiment="costs", capture_environment=False) as run:
        burn(0.5)
    cpu = nf.get_metric_history(run.run_id, "system/cpu_percent")
    rss = nf.get_metric_history(run.run_id, "system/rss_bytes")
    assert len(cpu) >= 2
    assert len(rss) == len(cpu)
    assert [p.step for p in cpu] == list(range(len(cpu)))
    assert max(p.value for p in cpu) > 20
    assert min(p.value for p in rss) > 10 * 2**20
    usage = cost_client.store.costs.get_usage(run.run_id)
    assert usage is not None
    assert usage.complete
    assert usage.cpu_s >= 0.45
    assert usage.samples >= len(cpu)
    cost = cost_client.store.costs.get_cost(run.run_id)
    assert cost is not None
    assert cost.price_version == load_prices().version
    assert cost.cpu_micros > 0
    assert cost.total_micros == sum(
        (
            cost.cpu_micros,
            cost.memory_micros,
            cost.gpu_micros,
            cost.storage_micros,
            cost.egress_micros,
        )
    )


def test_resources_false_records_nothing_and_the_run_is_unmeasured(cost_client: Client) -> None:
    with nf.start_run(experiment="costs", resources=False, capture_environment=False) as run:
        burn(0.05)
    assert cost_client.store.costs.get_usage(run.run_id) is None
    assert cost_client.store.runs.metric_history(run.run_id, "system/cpu_percent") == []
    cost = costs.run_cost(run.run_id, client=cost_client)
    assert cost.record.allocation == "unmeasured"
    assert cost.record.partial


def test_declared_resources_are_charged(cost_client: Client) -> None:
    tags = {"ninefold.resources.cpu": "64", "ninefold.resources.memory_gib": "1"}
    with nf.start_run(experiment="costs", tags=tags, capture_environment=False) as run:
        burn(0.05)
    rec = costs.run_cost(run.run_id, client=cost_client)
    assert rec.allocation is not None
    assert rec.allocation.source == "declared"
    assert rec.allocation.cores == 64
    assert rec.allocation.memory_bytes == 2**30
    assert rec.record.idle_micros > 0.9 * rec.record.cpu_micros


def test_nested_run_usage_is_charged_once(cost_client: Client) -> None:
    with nf.start_run(experiment="pipe", name="pipeline", capture_environment=False) as parent:
        burn(0.05)
        with nf.start_run(name="step") as child:
            burn(0.4)
    store = cost_client.store
    p, c = store.costs.get_usage(parent.run_id), store.costs.get_usage(child.run_id)
    assert p is not None
    assert c is not None
    assert c.cpu_s >= 0.35
    assert p.cpu_s < c.cpu_s  # the step's work is the step's, not the pipeline's too
    assert p.billed_wall_s <= p.wall_s - c.wall_s + 1e-6
    report = costs.cost_report("pipeline", client=cost_client)
    [pipeline] = report.groups
    assert pipeline.runs == 2
    assert pipeline.label == "pipeline"
    assert pipeline.total_micros == report.total_micros


def test_add_egress_is_priced(cost_client: Client) -> None:
    with nf.start_run(experiment="costs", capture_environment=False) as run:
        pass
    costs.add_egress(run.run_id, 3 * 10**9, client=cost_client)
    rec = costs.run_cost(run.run_id, client=cost_client).record
    assert rec.egress_micros == 3 * 90_000  # 0.09 USD per GB by default
    with pytest.raises(NotFound, match="has no resource record"):
        costs.add_egress("0" * 32, 10, client=cost_client)
    with pytest.raises(InvalidArgument, match="whole number of bytes"):
        costs.add_egress(run.run_id, -1, client=cost_client)


CRASHING_RUN = """
import os, time
import ninefold as nf
run = nf.start_run(experiment="crash", capture_environment=False)
print(run.run_id, flush=True)
start = time.thread_time()
while time.thread_time() - start < 0.8:
    sum(range(2000))
time.sleep(0.4)  # let the sampler store an aggregate
os._exit(9)  # die without ending the run
"""


def test_a_crashed_run_is_still_costed_from_its_samples(fast_project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINEFOLD_")}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_RUN)],
        cwd=fast_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 9, out.stderr
    run_id = out.stdout.split()[0]
    store = MetadataStore(str(fast_project / ".ninefold" / "ninefold.db"))
    try:
        assert store.runs.get(run_id).status == "crashed"
        usage = store.costs.get_usage(run_id)
        assert usage is not None
        assert not usage.complete
        assert usage.cpu_s > 0.3
        client = Client(settings=load_settings(fast_project))
        cost = costs.run_cost(run_id, client=client)
        client.close()
    finally:
        store.close()
    assert cost.record.partial
    assert cost.record.cpu_micros > 0
    assert cost.cpu_core_hours_used * 3600 > 0.3
    assert any("crashed" in note for note in cost.notes)


def test_fast_sampling_settings_reach_the_sampler(fast_project: Path) -> None:
    assert "sample_interval_s = 0.05" in FAST_SAMPLING
    from ninefold.costs.settings import load_cost_settings

    settings = load_cost_settings(fast_project)
    assert settings.sample_interval_s == 0.05
    assert settings.bucket_s == 0.2


def test_bad_cost_settings_do_not_break_runs_but_reports_raise(
    client: Client, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ninefold.errors import ConfigError

    with (project / "ninefold.toml").open("a") as fh:
        fh.write("\n[costs]\nsample_interval_s = 0\n")
    with nf.start_run(experiment="costs", capture_environment=False) as run:
        nf.log_metric("loss", 1.0)
    assert "will not be sampled" in capsys.readouterr().err
    assert client.get_run(run.run_id).status == "finished"
    assert client.store.costs.get_usage(run.run_id) is None
    with pytest.raises(ConfigError, match=r"'sample_interval_s' must be a positive number"):
        costs.cost_report(client=client)
