"""The process executor: same lineage as inline, parallel branches and maps, dead workers."""

from __future__ import annotations

import os
import signal

import pytest

import ninefold as nf
from ninefold.pipelines import ProcessExecutor, StepFailed
from ninefold.tracking.client import Client
from tests.pipelines.conftest import running_runs
from tests.pipelines.fanflows import fan, numbers


def _lineage(client: Client, run_id: str) -> list[tuple[str, str, str, str]]:
    steps = client.store.pipelines.steps_of(run_id)
    return sorted((s.node, e.direction, e.name, e.digest) for s in steps for e in s.edges)


def test_process_executor_records_the_same_lineage_as_inline(nf_client: Client) -> None:
    inline = fan.run(cache=False)
    executor = ProcessExecutor(max_workers=2)
    process = fan.run(executor=executor, cache=False)
    assert process.executor == "process"
    assert process.output() == inline.output() == 55.0 + 5.0
    assert _lineage(nf_client, process.run_id) == _lineage(nf_client, inline.run_id)
    # Metrics logged inside a step in a worker land on that step's run.
    step = process.step("power[3]")
    assert nf_client.get_run(step.run_id).metrics == {"x": 3.0}
    # The cache is shared: a process run after an inline one hits everywhere.
    cached = fan.run(executor=ProcessExecutor(max_workers=2))
    assert cached.executed == []
    assert running_runs(nf_client) == []


@nf.step
def die(x: float) -> float:
    if x == 2.0:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@nf.pipeline
def deadly():  # type: ignore[no-untyped-def]
    return die.map(numbers(4))


def test_a_killed_worker_fails_its_step_and_leaves_nothing_running(nf_client: Client) -> None:
    with pytest.raises(StepFailed, match="worker process running step 'die") as info:
        deadly.run(executor="process", max_workers=1)
    assert running_runs(nf_client) == []
    assert nf_client.get_run(info.value.step_run_id).status == "failed"
    assert nf_client.get_run(info.value.pipeline_run_id).status == "failed"
