"""Lineage: from a model version, an artifact or a run, upstream and downstream (each backend)."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold.pipelines import downstream, upstream
from ninefold.tracking.client import Client
from tests.registry.helpers import ThresholdModel


@nf.step
def raw(n: int = 5) -> list[float]:
    return [float(i) for i in range(n)]


@nf.step
def features(xs: list[float]) -> list[float]:
    return [x / 2 for x in xs]


@nf.step(trusted=True)
def register(xs: list[float]) -> int:
    mv = nf.log_model(ThresholdModel(sum(xs)), "lineage-model")
    return mv.version


@nf.step
def report(xs: list[float]) -> str:
    return f"{len(xs)} rows"


@nf.pipeline
def modelling():  # type: ignore[no-untyped-def]
    feats = features(raw())
    return register(feats), report(feats)


def test_upstream_of_a_model_version_reaches_the_first_step(client: Client) -> None:
    run = modelling.run(client=client)
    version = run.output()[0]
    graph = upstream(f"models:/lineage-model/{version}", client=client)
    step_runs = {s.node: s.run_id for s in run.steps}
    assert set(graph.runs) == {step_runs["register"], step_runs["features"], step_runs["raw"]}
    assert graph.root == f"model:lineage-model/{version}"
    features_out = next(e.digest for e in run.step("features").edges if e.direction == "output")
    assert features_out in graph.artifacts
    assert (f"run:{step_runs['register']}", graph.root, "registered") in graph.edges
    text = graph.to_text()
    assert "<- [registered] run register" in text
    assert "run raw" in text


def test_downstream_of_an_artifact_reaches_every_consumer_and_the_model(client: Client) -> None:
    run = modelling.run(client=client)
    raw_out = next(e.digest for e in run.step("raw").edges if e.direction == "output")
    graph = downstream(f"sha256:{raw_out}", client=client)
    nodes = {graph.nodes[f"run:{r}"]["name"] for r in graph.runs}
    assert nodes == {"features", "register", "report"}
    assert graph.models == ["lineage-model/1"]
    # From the pipeline run itself: its steps and all they produced.
    whole = downstream(run.run_id, client=client)
    assert {graph.nodes[f"run:{r}"]["name"] for r in graph.runs} <= {
        whole.nodes[f"run:{r}"]["name"] for r in whole.runs
    }
    assert "lineage-model/1" in whole.models


def test_a_bad_reference_says_what_is_accepted(client: Client) -> None:
    with pytest.raises(nf.NinefoldError, match="not a lineage reference"):
        upstream("nonsense", client=client)
