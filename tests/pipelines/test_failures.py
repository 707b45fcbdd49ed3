"""Failures: retries with backoff, timeouts, resume through the cache, nothing left running."""

from __future__ import annotations

from pathlib import Path

import pytest

import ninefold as nf
from ninefold.pipelines import StepFailed, StepTimeout
from ninefold.store import RunStatus
from ninefold.tracking.client import Client
from tests.pipelines.conftest import running_runs, statuses


def _bump(counter: str) -> int:
    path = Path(counter)
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


@nf.step
def source(n: int = 3) -> list[int]:
    return list(range(n))


@nf.step(retries=3, retry_delay_s=0.01, backoff=2.0)
def flaky(xs: list[int], counter: str, fail_times: int = 2) -> int:
    if _bump(counter) <= fail_times:
        raise ConnectionError("service unavailable")
    return sum(xs)


@nf.pipeline
def flaky_flow(counter: str, fail_times: int = 2):  # type: ignore[no-untyped-def]
    return flaky(source(), counter=counter, fail_times=fail_times)


def test_a_flaky_step_succeeds_within_its_retries(nf_client: Client, tmp_path: Path) -> None:
    counter = str(tmp_path / "count")
    run = flaky_flow.run({"counter": counter})
    assert run.output() == 3
    step = run.step("flaky")
    assert step.attempts == 3
    tags = nf_client.get_run(step.run_id).tags
    assert tags["ninefold.pipeline.attempts"] == "3"
    assert (
        tags["ninefold.pipeline.retried_after"].count("ConnectionError: service unavailable") == 2
    )


def test_a_step_that_fails_every_attempt_fails_the_run_and_nothing_stays_running(
    nf_client: Client, tmp_path: Path
) -> None:
    counter = str(tmp_path / "count")
    with pytest.raises(
        StepFailed, match=r"Step 'flaky' of pipeline 'flaky_flow' failed after 4"
    ) as info:
        flaky_flow.run({"counter": counter, "fail_times": 10})
    assert Path(counter).read_text() == "4"
    assert "ConnectionError: service unavailable" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert running_runs(nf_client) == []
    pipeline_run = nf_client.get_run(info.value.pipeline_run_id)
    assert pipeline_run.status is RunStatus.FAILED
    assert "flaky" in pipeline_run.tags["ninefold.error"]
    children = nf_client.store.runs.children(info.value.pipeline_run_id)
    assert statuses(nf_client, children) == {
        children[0]: RunStatus.FINISHED,
        children[1]: RunStatus.FAILED,
    }
    files = [f.path for f in nf_client.list_artifacts(info.value.step_run_id)]
    assert files == ["errors/traceback.txt"]
    trace = nf_client.read_text(info.value.step_run_id, "errors/traceback.txt")
    assert "raise ConnectionError" in trace


@nf.step(timeout_s=0.3)
def slow(xs: list[int]) -> int:
    import time

    time.sleep(30)
    return 0


@nf.pipeline
def slow_flow():  # type: ignore[no-untyped-def]
    return slow(source())


def test_a_step_past_its_timeout_is_stopped_and_recorded(nf_client: Client) -> None:
    with pytest.raises(StepTimeout, match=r"timeout_s=0\.3") as info:
        slow_flow.run()
    tags = nf_client.get_run(info.value.step_run_id).tags
    assert tags["ninefold.pipeline.timed_out"] == "true"
    assert running_runs(nf_client) == []


@nf.step
def stage_a(n: int = 3) -> list[int]:
    return list(range(n))


@nf.step
def stage_b(xs: list[int]) -> list[int]:
    return [x * 10 for x in xs]


@nf.step
def stage_c(xs: list[int], flag: str) -> int:
    if Path(flag).exists():
        raise RuntimeError("bad data in stage_c")
    return sum(xs)


@nf.pipeline
def staged(flag: str):  # type: ignore[no-untyped-def]
    return stage_c(stage_b(stage_a()), flag=flag)


def test_a_re_run_after_a_failure_resumes_at_the_failed_step(
    nf_client: Client, tmp_path: Path
) -> None:
    flag = tmp_path / "broken"
    flag.write_text("1")
    with pytest.raises(StepFailed, match="bad data in stage_c"):
        staged.run({"flag": str(flag)})
    flag.unlink()
    run = staged.run({"flag": str(flag)})
    assert run.hits == ["stage_a", "stage_b"]
    assert run.executed == ["stage_c"]
    assert run.step("stage_c").reasons[0] == "no earlier successful execution of this step"
    assert run.output() == 30
    assert running_runs(nf_client) == []


@nf.step
def interrupt(xs: list[int]) -> int:
    raise KeyboardInterrupt


@nf.pipeline
def interrupted():  # type: ignore[no-untyped-def]
    return interrupt(source())


def test_an_interrupt_marks_the_runs_killed(nf_client: Client) -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupted.run()
    assert running_runs(nf_client) == []
    (pipeline_run_id, _), *_ = nf_client.store.pipelines.pipeline_runs("interrupted")
    assert nf_client.get_run(pipeline_run_id).status is RunStatus.KILLED
    children = nf_client.store.runs.children(pipeline_run_id)
    assert set(statuses(nf_client, children).values()) == {RunStatus.FINISHED, RunStatus.KILLED}
