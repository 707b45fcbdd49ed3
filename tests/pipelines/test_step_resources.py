"""Every step execution records what it used and is costed; its pipeline run is charged the rest."""

from __future__ import annotations

import json
import os

import pytest

import ninefold as nf
from ninefold.store import RunStatus
from ninefold.tracking.client import Client

_BIG = 64 * 1024 * 1024


@nf.step
def burn(n: int = 400_000) -> int:
    """CPU work: a sum of squares in pure Python."""
    return sum(i * i for i in range(n))


@nf.step
def grow(total: int) -> dict[str, int]:
    """Memory: holds 64 MiB while it runs, and reports its pid."""
    block = bytearray(_BIG)
    block[::4096] = b"x" * len(block[::4096])
    return {"pid": os.getpid(), "total": total % 1000, "size": len(block)}


@nf.pipeline
def work(n: int = 400_000):  # type: ignore[no-untyped-def]
    return grow(burn(n))


def _step_runs(client: Client, run: nf.pipelines.PipelineRun) -> dict[str, str]:
    return {s.node: s.run_id for s in run.steps}


def test_each_step_has_usage_and_a_cost_and_the_pipeline_run_is_charged_the_rest(
    nf_client: Client,
) -> None:
    run = work.run(cache=False)
    steps = _step_runs(nf_client, run)
    usage = {node: nf_client.store.costs.get_usage(rid) for node, rid in steps.items()}
    burn_usage, grow_usage = usage["burn"], usage["grow"]
    assert burn_usage is not None
    assert grow_usage is not None
    assert burn_usage.complete
    assert burn_usage.samples == 2
    assert burn_usage.cpu_s > 0
    assert burn_usage.wall_s > 0
    assert burn_usage.pid == os.getpid()
    assert grow_usage.rss_peak_bytes >= _BIG
    # No budget is set: the steps are costed by the next report, which refreshes first.
    assert all(nf_client.store.costs.get_cost(rid) is None for rid in steps.values())
    nf.costs.refresh_costs(client=nf_client)
    for rid in steps.values():
        cost = nf_client.store.costs.get_cost(rid)
        assert cost is not None
        assert not cost.partial
    parent = nf_client.store.costs.get_usage(run.run_id)
    assert parent is not None
    # The steps ran in this process inside the pipeline run: their CPU is theirs alone.
    assert parent.billed_wall_s <= parent.wall_s - burn_usage.wall_s + 1e-6


def test_with_a_budget_steps_are_costed_when_the_pipeline_ends(nf_client: Client) -> None:
    first = work.run(cache=False)
    experiment = nf_client.store.runs.get(first.run_id).experiment_id
    name = next(e.name for e in nf_client.store.experiments.list() if e.experiment_id == experiment)
    nf.costs.set_budget("experiment", name, 100, client=nf_client)
    run = work.run(cache=False)
    for rid in _step_runs(nf_client, run).values():
        cost = nf_client.store.costs.get_cost(rid)
        assert cost is not None
        assert cost.total_micros >= 0


def test_a_cache_hit_measures_nothing(nf_client: Client) -> None:
    work.run()
    again = work.run()
    assert again.executed == []
    for rid in _step_runs(nf_client, again).values():
        assert nf_client.store.costs.get_usage(rid) is None


@nf.step
def burn_then_fail(total: int) -> int:
    sum(i * i for i in range(200_000))
    raise ValueError(f"bad total {total}")


@nf.pipeline
def broken():  # type: ignore[no-untyped-def]
    return burn_then_fail(burn(1000))


def test_a_failed_step_keeps_its_usage(nf_client: Client) -> None:
    with pytest.raises(nf.pipelines.StepFailed, match="burn_then_fail"):
        broken.run(cache=False)
    from ninefold.pipelines.history import list_pipeline_runs

    (record,) = list_pipeline_runs(client=nf_client)
    steps = {s.node: s for s in nf_client.store.pipelines.steps_of(record.run.run_id)}
    assert steps["burn_then_fail"].status is RunStatus.FAILED
    usage = nf_client.store.costs.get_usage(steps["burn_then_fail"].run_id)
    assert usage is not None
    assert usage.cpu_s > 0


def test_steps_on_the_process_executor_are_measured_in_their_worker(nf_client: Client) -> None:
    run = work.run(cache=False, executor="process", max_workers=1)
    steps = _step_runs(nf_client, run)
    grow_usage = nf_client.store.costs.get_usage(steps["grow"])
    assert grow_usage is not None
    worker_pid = run.output()["pid"]
    assert worker_pid != os.getpid()
    assert grow_usage.pid == worker_pid
    # The worker's own memory, not the driver's (its peak is a lower bound: a worker whose
    # earlier high-water mark was higher shows only the ends of the step).
    assert grow_usage.rss_peak_bytes > 0
    assert grow_usage.cpu_s > 0


def test_resources_off_measures_no_step(nf_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NINEFOLD_RESOURCES", "0")
    run = work.run(cache=False)
    for rid in _step_runs(nf_client, run).values():
        assert nf_client.store.costs.get_usage(rid) is None


def test_a_pipeline_run_record_shows_what_each_step_used(nf_client: Client) -> None:
    from typer.testing import CliRunner

    from ninefold.cli.main import app
    from ninefold.pipelines.history import get_pipeline_run

    ran = work.run(cache=False)
    hit = work.run()
    record = get_pipeline_run(ran.run_id, client=nf_client)
    assert set(record.usage) == {s.run_id for s in record.steps}
    assert record.usage[ran.step("burn").run_id].cpu_s > 0
    assert get_pipeline_run(hit.run_id, client=nf_client).usage == {}  # hits used nothing
    shown = CliRunner().invoke(app, ["pipelines", "show", ran.run_id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert set(json.loads(shown.output)["usage"]) == set(record.usage)
