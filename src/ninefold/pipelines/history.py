"""Reading past pipeline runs: list them, show their steps, explain their cache decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ninefold.errors import InvalidArgument
from ninefold.store import Run
from ninefold.store.costs import ResourceUsage
from ninefold.store.pipelines import PIPELINE_TAG, StepExecution

if TYPE_CHECKING:
    from ninefold.tracking.client import Client


@dataclass(frozen=True)
class PipelineRunRecord:
    """A stored pipeline run: the run itself, its step executions and child runs without one."""

    run: Run
    steps: list[StepExecution]
    unrecorded: list[Run]
    usage: dict[str, ResourceUsage] = field(default_factory=dict)
    """What each step run used (CPU, memory, I/O, wall), by step run id; hits have none."""

    @property
    def pipeline(self) -> str:
        """The pipeline's name."""
        return self.run.tags.get(PIPELINE_TAG, "")

    @property
    def hits(self) -> int:
        """How many steps reused cached outputs."""
        return sum(1 for s in self.steps if s.cache == "hit")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run": self.run.to_dict(),
            "pipeline": self.pipeline,
            "steps": [s.to_dict() for s in self.steps],
            "unrecorded": [r.to_dict() for r in self.unrecorded],
            "usage": {run_id: u.to_dict() for run_id, u in self.usage.items()},
        }


def _client(client: Client | None) -> Client:
    from ninefold.tracking.client import get_client

    return client or get_client()


def get_pipeline_run(run_id: str, *, client: Client | None = None) -> PipelineRunRecord:
    """A pipeline run with its steps; raises if the run is not a pipeline run."""
    c = _client(client)
    run = c.store.runs.get(run_id)
    if PIPELINE_TAG not in run.tags:
        raise InvalidArgument(
            f"Run {run_id} is not a pipeline run (no {PIPELINE_TAG} tag). "
            "List pipeline runs with: ninefold pipelines list"
        )
    steps = c.store.pipelines.steps_of(run_id)
    recorded = {s.run_id for s in steps}
    children = [r for r in c.store.runs.children(run_id) if r not in recorded]
    unrecorded = list(c.store.runs.get_many(children).values())
    usage = c.store.costs.usages_of([s.run_id for s in steps])
    return PipelineRunRecord(run, steps, unrecorded, usage)


def list_pipeline_runs(
    pipeline: str | None = None, *, limit: int | None = 50, client: Client | None = None
) -> list[PipelineRunRecord]:
    """Pipeline runs, newest first, optionally of one pipeline."""
    c = _client(client)
    return [
        get_pipeline_run(run_id, client=c)
        for run_id, _ in c.store.pipelines.pipeline_runs(pipeline, limit)
    ]


def explain(run_id: str, *, client: Client | None = None) -> list[dict[str, Any]]:
    """Each step's cache decision: ``hit`` with the run it reused, or the reasons it ran."""
    from ninefold.pipelines.runner import explain_lines

    record = get_pipeline_run(run_id, client=client)
    out = [
        {
            "node": s.node,
            "cache": s.cache,
            "status": None if s.status is None else str(s.status),
            "source_run_id": s.source_run_id,
            "reasons": explain_lines(s),
        }
        for s in record.steps
    ]
    out.extend(
        {
            "node": r.name,
            "cache": None,
            "status": str(r.status),
            "source_run_id": None,
            "reasons": ["not recorded: the step was stopped before it finished"],
        }
        for r in record.unrecorded
    )
    return out
