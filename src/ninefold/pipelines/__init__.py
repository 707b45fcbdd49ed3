"""Pipelines: typed steps, a graph known before anything runs, a cache that explains itself.

Example:
    >>> import ninefold as nf
    >>> @nf.step
    ... def load() -> list[float]:
    ...     return [1.0, 2.0, 3.0]
    >>> @nf.step(retries=2)
    ... def scale(xs: list[float], factor: float = 2.0) -> list[float]:
    ...     return [x * factor for x in xs]
    >>> @nf.pipeline
    ... def demo(factor: float = 2.0):
    ...     return scale(load(), factor=factor)
    >>> run = demo.run({"factor": 3.0})  # doctest: +SKIP
    >>> run.output()  # doctest: +SKIP
    [3.0, 6.0, 9.0]

Each pipeline run is a tracked run and each step execution a child run with
its params, seed and content-addressed inputs and outputs. A step is skipped
when its cache key (code, params, inputs, library versions, seed) matches an
earlier execution; ``ninefold pipelines explain RUN`` says why the others ran.

This package imports nothing heavy until a pipeline runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ninefold.pipelines.definition import Graph, Pipeline, Ref, Step, pipeline, step
from ninefold.pipelines.errors import (
    PipelineDefinitionError,
    StepFailed,
    StepTimeout,
    SweepFailed,
    UnserializableOutput,
)
from ninefold.pipelines.seeds import derive_seed, seed_everything

if TYPE_CHECKING:
    from ninefold.pipelines.compare import RunDiff, diff_runs
    from ninefold.pipelines.executors import Executor, InlineExecutor, ProcessExecutor
    from ninefold.pipelines.lineage import LineageGraph, downstream, upstream
    from ninefold.pipelines.materializers import (
        Materializer,
        register_materializer,
        unregister_materializer,
    )
    from ninefold.pipelines.planning import PlannedStep
    from ninefold.pipelines.ray_executor import RayExecutor
    from ninefold.pipelines.reproduce import ReproduceReport, reproduce
    from ninefold.pipelines.runner import PipelineRun
    from ninefold.pipelines.sweeps import SweepResult

_LAZY = {
    "RunDiff": "ninefold.pipelines.compare",
    "diff_runs": "ninefold.pipelines.compare",
    "Executor": "ninefold.pipelines.executors",
    "InlineExecutor": "ninefold.pipelines.executors",
    "ProcessExecutor": "ninefold.pipelines.executors",
    "RayExecutor": "ninefold.pipelines.ray_executor",
    "LineageGraph": "ninefold.pipelines.lineage",
    "downstream": "ninefold.pipelines.lineage",
    "upstream": "ninefold.pipelines.lineage",
    "Materializer": "ninefold.pipelines.materializers",
    "register_materializer": "ninefold.pipelines.materializers",
    "unregister_materializer": "ninefold.pipelines.materializers",
    "PipelineRun": "ninefold.pipelines.runner",
    "SweepResult": "ninefold.pipelines.sweeps",
    "PlannedStep": "ninefold.pipelines.planning",
    "ReproduceReport": "ninefold.pipelines.reproduce",
    "reproduce": "ninefold.pipelines.reproduce",
}

__all__ = [
    "Executor",
    "Graph",
    "InlineExecutor",
    "LineageGraph",
    "Materializer",
    "Pipeline",
    "PipelineDefinitionError",
    "PipelineRun",
    "PlannedStep",
    "ProcessExecutor",
    "RayExecutor",
    "Ref",
    "ReproduceReport",
    "RunDiff",
    "Step",
    "StepFailed",
    "StepTimeout",
    "SweepFailed",
    "SweepResult",
    "UnserializableOutput",
    "derive_seed",
    "diff_runs",
    "downstream",
    "pipeline",
    "register_materializer",
    "reproduce",
    "seed_everything",
    "step",
    "unregister_materializer",
    "upstream",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ninefold.pipelines' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
