"""Errors raised by pipelines; each derives from a class of :mod:`ninefold.errors`.

::

    InvalidArgument
    ├── PipelineDefinitionError   the pipeline or a step is defined or called wrongly
    └── UnserializableOutput      a step returned a value no materializer can store
    StateError
    └── StepFailed                a step raised (after its retries) or its worker died
        └── StepTimeout           a step ran past its ``timeout_s``
"""

from __future__ import annotations

from ninefold.errors import InvalidArgument, StateError


class PipelineDefinitionError(InvalidArgument):
    """A pipeline or step is defined or called in a way that cannot be run."""


class UnserializableOutput(InvalidArgument):
    """A step returned a value that no registered materializer can store."""


class StepFailed(StateError):
    """A step of a pipeline run failed; the pipeline run is marked failed.

    Attributes:
        pipeline_run_id: the failed pipeline run.
        step_run_id: the failed step's run.
        node: the step's node in the graph.
    """

    def __init__(
        self, message: str, *, pipeline_run_id: str = "", step_run_id: str = "", node: str = ""
    ) -> None:
        self.pipeline_run_id = pipeline_run_id
        self.step_run_id = step_run_id
        self.node = node
        super().__init__(message)


class StepTimeout(StepFailed):
    """A step ran longer than its ``timeout_s``."""
