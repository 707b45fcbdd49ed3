"""Sweeps: one pipeline run per combination, shared steps cached, metrics ready to compare."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold.errors import InvalidArgument
from ninefold.pipelines import PipelineDefinitionError
from ninefold.tracking.client import Client

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
