"""Dry runs: which steps a pipeline run would take from the cache, and why the others would run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ninefold.pipelines import cache as cache_mod
from ninefold.pipelines.definition import Pipeline
from ninefold.pipelines.executors import ArtifactSpec
from ninefold.pipelines.fingerprint import Fingerprinter
from ninefold.pipelines.seeds import derive_seed

if TYPE_CHECKING:
    from ninefold.tracking.client import Client


@dataclass
class PlannedStep:
    """What a run would do with one step: ``hit`` the cache or ``run``, and why."""

    node: str
    action: str
    reasons: list[str]
    source_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "node": self.node,
            "action": self.action,
            "reasons": self.reasons,
            "source_run_id": self.source_run_id,
        }


def plan_pipeline(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None,
    *,
    client: Client | None = None,
    seed: int | None = None,
    cache: bool | None = None,
) -> list[PlannedStep]:
    """Which steps a run would take from the cache, without running or recording anything.

    A step whose inputs come from a step that will run cannot be known ahead:
    it is planned to run, naming that upstream step.
    """
    from ninefold.tracking.client import get_client

    graph = pipeline.graph(params)
    client = client or get_client()
    use_cache = pipeline.cache if cache is None else cache
    run_seed = pipeline.seed if seed is None else seed
    fingerprints = Fingerprinter()
    known: dict[str, dict[str, ArtifactSpec | list[ArtifactSpec]]] = {}
    plan: list[PlannedStep] = []
    for node in graph.nodes.values():
        unknown = [u for u in node.upstream if u not in known]
        if unknown:
            plan.append(
                PlannedStep(node.id, "run", [f"depends on {', '.join(unknown)}, which will run"])
            )
            continue
        if node.map_items is not None:
            plan.append(
                PlannedStep(node.id, "run", ["a map over a step output is planned when it runs"])
            )
            continue
        inputs: dict[str, ArtifactSpec | list[ArtifactSpec]] = {}
        for name, value in node.inputs.items():
            if isinstance(value, list):
                specs = []
                for ref in value:
                    spec = known[ref.node][ref.output]
                    assert isinstance(spec, ArtifactSpec)
                    specs.append(spec)
                inputs[name] = specs
            else:
                inputs[name] = known[value.node][value.output]
        step_seed = None if run_seed is None else derive_seed(run_seed, node.id)
        parts = cache_mod.components(
            step=node.step.qualified_name,
            code=fingerprints.step(node.step.fn),
            params=node.params,
            inputs=cache_mod.input_digests(inputs),
            seed=step_seed,
            outputs=node.step.outputs,
        )
        found = cache_mod.lookup(
            client,
            pipeline=pipeline.name,
            node=node.id,
            step=node.step.qualified_name,
            parts=parts,
            key=cache_mod.cache_key(parts),
            run_cache=use_cache,
            step_cache=node.step.cache,
            expire_s=node.step.expire_s,
        )
        if found.cache == "hit":
            known[node.id] = dict(cache_mod.hit_outputs(found))
            assert found.source is not None
            plan.append(PlannedStep(node.id, "hit", [], found.source.run_id))
        else:
            plan.append(PlannedStep(node.id, "run", found.reasons))
    return plan


__all__ = ["PlannedStep", "plan_pipeline"]
