"""Errors raised by pipelines (defined in :mod:`ninefold.errors`, the one exception tree)."""

from __future__ import annotations

from ninefold.errors import (
    PipelineDefinitionError,
    StepFailed,
    StepTimeout,
    SweepFailed,
    UnserializableOutput,
)

__all__ = [
    "PipelineDefinitionError",
    "StepFailed",
    "StepTimeout",
    "SweepFailed",
    "UnserializableOutput",
]
