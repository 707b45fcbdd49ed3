"""Sweeps: one pipeline run per combination, shared steps cached, metrics ready to compare."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold.errors import InvalidArgument, StepFailed, SweepFailed
from ninefold.pipelines import PipelineDefinitionError, ProcessExecutor
from ninefold.pipelines.sweeps import KeyClaims, SweepResult, combinations
from ninefold.store import RunStatus
from ninefold.tracking.client import Client
from tests.pipelines.conftest import running_runs, statuses

CALLS: list[str] = []


@nf.step
def data() -> list[float]:
    CALLS.append("data")
    return [1.0, 2.0, 3.0]


@nf.step
def model(xs: list[float], C: float, power: int) -> float:
    CALLS.append("model")
    score = sum(x**power for x in xs) * C
    nf.log_metric("score", score)
    return score


@nf.pipeline
def tune(C: float = 1.0, power: int = 1):  # type: ignore[no-untyped-def]
    return model(data(), C=C, power=power)


def test_a_grid_runs_every_combination_and_shares_the_cached_steps(nf_client: Client) -> None:
    CALLS.clear()
    sweep = tune.sweep({"C": [0.5, 2.0], "power": [1, 2]})
    assert [r.params for r in sweep.runs] == [
        {"C": 0.5, "power": 1},
        {"C": 0.5, "power": 2},
        {"C": 2.0, "power": 1},
        {"C": 2.0, "power": 2},
    ]
    assert CALLS.count("data") == 1
    assert CALLS.count("model") == 4
    assert [r.output() for r in sweep.runs] == [3.0, 7.0, 12.0, 28.0]
    children = nf_client.store.runs.children(sweep.run_id)
    assert children == [r.run_id for r in sweep.runs]
    best = nf.search_runs(
        f"parent_run_id = '{sweep.run_id}'", order_by=["metrics.model/score desc"], output="records"
    )
    assert isinstance(best, list)
    assert best[0]["params.C"] == "2.0"
    assert best[0]["metrics.model/score"] == 28.0
    # Again: every step of every combination comes from the cache, metrics still lifted.
    CALLS.clear()
    again = tune.sweep([{"C": 2.0, "power": 2}])
    assert CALLS == []
    assert nf_client.get_run(again.runs[0].run_id).metrics["model/score"] == 28.0


def test_a_bad_grid_is_refused_before_anything_runs(nf_client: Client) -> None:
    with pytest.raises(InvalidArgument, match="'C' needs a non-empty list"):
        tune.sweep({"C": []})
    with pytest.raises(PipelineDefinitionError, match=r"no param\(s\) \['D'\]"):
        tune.sweep([{"C": 1.0}, {"D": 1}])
    assert nf_client.store.runs.count() == 0


# -- parallel sweeps -------------------------------------------------------------------


@nf.step
def checked(xs: list[float], C: float) -> float:
    if C < 0:
        raise ValueError(f"C must be positive, got {C}")
    nf.log_metric("total", sum(xs) * C)
    return sum(xs) * C


@nf.pipeline
def guarded(C: float = 1.0):  # type: ignore[no-untyped-def]
    return checked(data(), C=C)


def _keys(client: Client, run_ids: list[str]) -> list[dict[str, tuple[str | None, list[str]]]]:
    """Per pipeline run: each node's cache key and output digests."""
    out = []
    for run_id in run_ids:
        steps = client.store.pipelines.steps_of(run_id)
        out.append(
            {
                s.node: (s.cache_key, sorted(e.digest for e in s.edges if e.direction == "output"))
                for s in steps
            }
        )
    return out


def test_a_parallel_sweep_matches_the_sequential_one_and_runs_shared_steps_once(
    nf_client: Client,
) -> None:
    grid = {"C": [0.5, 2.0], "power": [1, 2]}
    sweep = tune.sweep(grid, executor=ProcessExecutor(max_workers=2))
    assert [r.params for r in sweep.runs] == combinations(grid)
    assert [r.output() for r in sweep.runs] == [3.0, 7.0, 12.0, 28.0]
    assert {r.executor for r in sweep.runs} == {"process"}
    assert nf_client.store.runs.children(sweep.run_id) == sorted(r.run_id for r in sweep.runs)
    parent = nf_client.get_run(sweep.run_id)
    assert parent.status == RunStatus.FINISHED
    assert parent.tags["ninefold.pipeline.sweep.parallel"] == "2"
    # The shared step ran once; the other combinations hit its outputs, even those
    # that asked for it while it was running.
    data_steps = [r.step("data") for r in sweep.runs]
    ran = [s for s in data_steps if s.cache == "miss"]
    assert len(ran) == 1
    assert {s.source_run_id for s in data_steps if s.cache == "hit"} == {ran[0].run_id}
    assert [r.step("model").cache for r in sweep.runs] == ["miss"] * 4
    # Metrics logged in the worker processes land on their step runs and are lifted.
    assert [nf_client.get_run(r.run_id).metrics["model/score"] for r in sweep.runs] == [
        3.0,
        7.0,
        12.0,
        28.0,
    ]
    # Same cache keys and outputs as one combination after another, inline, no cache.
    sequential = tune.sweep(grid, cache=False)
    assert _keys(nf_client, [r.run_id for r in sweep.runs]) == _keys(
        nf_client, [r.run_id for r in sequential.runs]
    )
    assert running_runs(nf_client) == []


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_a_failing_combination_fails_only_itself(nf_client: Client, executor: str) -> None:
    with pytest.raises(SweepFailed) as info:
        guarded.sweep({"C": [1.0, -1.0, 2.0]}, executor=executor, max_workers=2)
    error = info.value
    assert "1 of 3 combination(s)" in str(error)
    assert "{'C': -1.0}" in str(error)
    assert "C must be positive, got -1.0" in str(error)
    assert isinstance(error, StepFailed)
    assert error.node == "checked"
    result = error.result
    assert isinstance(result, SweepResult)
    assert [r.params for r in result.runs] == [{"C": 1.0}, {"C": 2.0}]
    assert [r.output() for r in result.runs] == [6.0, 12.0]
    assert [(f.params, f.node) for f in result.failures] == [({"C": -1.0}, "checked")]
    failed_run = result.failures[0].run_id
    assert error.pipeline_run_id == failed_run
    children = nf_client.store.runs.children(error.sweep_run_id)
    assert sorted(children) == sorted([failed_run, *(r.run_id for r in result.runs)])
    assert statuses(nf_client, children) == {
        failed_run: RunStatus.FAILED,
        result.runs[0].run_id: RunStatus.FINISHED,
        result.runs[1].run_id: RunStatus.FINISHED,
    }
    parent = nf_client.get_run(error.sweep_run_id)
    assert parent.status == RunStatus.FAILED
    assert "SweepFailed" in parent.tags["ninefold.error"]
    assert running_runs(nf_client) == []


def test_max_parallel_one_runs_the_combinations_in_turn(nf_client: Client) -> None:
    sweep = tune.sweep(
        [{"C": 1.0, "power": 1}, {"C": 1.0, "power": 3}], executor="process", max_parallel=1
    )
    assert nf_client.get_run(sweep.run_id).tags["ninefold.pipeline.sweep.parallel"] == "1"
    assert [r.output() for r in sweep.runs] == [6.0, 36.0]
    assert [r.step("data").cache for r in sweep.runs] == ["miss", "hit"]
    with pytest.raises(InvalidArgument, match="max_parallel=0 must be a positive integer"):
        tune.sweep({"C": [1.0]}, max_parallel=0)


def test_key_claims_let_one_holder_compute_a_key() -> None:
    claims = KeyClaims()
    assert claims.claim("k") is None
    waiting = claims.claim("k")
    assert waiting is not None
    assert not waiting.done()
    claims.release("k", ok=False)  # failed: the next one computes it again
    assert waiting.done()
    assert claims.claim("k") is None
    claims.release("k", ok=True)
    done = claims.claim("k")  # computed: waiting is over at once, then a cache hit
    assert done is not None
    assert done.done()
