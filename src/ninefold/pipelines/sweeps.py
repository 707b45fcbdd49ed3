"""Sweeps: one pipeline run per combination of params, grouped under a parent run."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ninefold._ids import now_ms
from ninefold._names import check_key
from ninefold.errors import InvalidArgument, InvalidName

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Pipeline
    from ninefold.pipelines.executors import Executor
    from ninefold.pipelines.runner import PipelineRun
    from ninefold.tracking.client import Client

SWEEP_TAG = "ninefold.pipeline.sweep"


@dataclass
class SweepResult:
    """A finished sweep: its parent run and one pipeline run per combination."""

    run_id: str
    runs: list[PipelineRun] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"run_id": self.run_id, "runs": [r.to_dict() for r in self.runs]}


def combinations(
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Every param combination of a grid (dict of lists), or the list of dicts given."""
    if isinstance(grid, Mapping):
        keys = list(grid)
        for key in keys:
            values = grid[key]
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
                raise InvalidArgument(
                    f"Sweep grid: {key!r} needs a non-empty list of values, got {values!r}."
                )
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    items: object = grid
    if isinstance(items, list | tuple):
        out = []
        for item in items:
            if not isinstance(item, Mapping):
                raise InvalidArgument(
                    f"Sweep list: every item must be a dict of params, got {item!r}."
                )
            out.append(dict(item))
        if not out:
            raise InvalidArgument("A sweep needs at least one combination of params.")
        return out
    raise InvalidArgument(
        f"A sweep needs a dict of lists or a list of dicts, got {type(grid).__name__}."
    )


def _lift_metrics(client: Client, run: PipelineRun) -> None:
    """Copy each step's latest metrics onto the pipeline run as ``<step>/<metric>``."""
    sources = {s.node: s.source_run_id or s.run_id for s in run.steps}
    found = client.store.runs.get_many(list(sources.values()))
    stamp = now_ms()
    points = []
    for node, source in sources.items():
        step_run = found.get(source)
        if step_run is None:
            continue
        for key, value in step_run.metrics.items():
            name = f"{node}/{key}"
            try:
                check_key(name, "Metric")
            except InvalidName:
                continue
            points.append((run.run_id, name, value, 0, stamp))
    client.store.runs.log_metrics(points)


def run_sweep(
    pipeline: Pipeline,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    executor: str | Executor | None,
    cache: bool | None,
    seed: int | None,
    client: Client | None,
    max_workers: int | None,
) -> SweepResult:
    """Run a sweep (see :meth:`ninefold.pipelines.Pipeline.sweep`)."""
    from ninefold.tracking.client import get_client
    from ninefold.tracking.fluent import start_run

    combos = combinations(grid)
    for params in combos:
        pipeline.bind_params(params)  # refuse a bad combination before anything runs
    client = client or get_client()
    result = SweepResult("")
    with start_run(
        experiment=pipeline.experiment,
        name=f"{pipeline.name}-sweep",
        tags={SWEEP_TAG: pipeline.name, "ninefold.pipeline.sweep.size": str(len(combos))},
        capture_environment=False,
        client=client,
    ) as parent:
        result.run_id = parent.run_id
        for params in combos:
            run = pipeline.run(
                params,
                executor=executor,
                cache=cache,
                seed=seed,
                client=client,
                max_workers=max_workers,
            )
            _lift_metrics(client, run)
            result.runs.append(run)
    return result
