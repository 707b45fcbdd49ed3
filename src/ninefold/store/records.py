"""Plain records returned by the metadata store."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Lifecycle of a run. ``crashed`` is set by the store when a run's process died."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"
    CRASHED = "crashed"


TERMINAL_STATUSES = frozenset(
    {RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED, RunStatus.CRASHED}
)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str
    name: str
    description: str | None
    created_ms: int


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric series."""

    key: str
    value: float
    step: int
    timestamp_ms: int


@dataclass(frozen=True)
class Run:
    """A run with its params, tags and the latest value of each metric."""

    run_id: str
    experiment_id: str
    experiment: str
    name: str
    parent_run_id: str | None
    status: RunStatus
    start_ms: int
    end_ms: int | None
    heartbeat_ms: int
    host: str
    pid: int
    user: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (NaN and infinities become strings)."""
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "experiment": self.experiment,
            "name": self.name,
            "parent_run_id": self.parent_run_id,
            "status": str(self.status),
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "host": self.host,
            "pid": self.pid,
            "user": self.user,
            "params": dict(self.params),
            "tags": dict(self.tags),
            "metrics": {k: json_float(v) for k, v in self.metrics.items()},
        }


@dataclass(frozen=True)
class ArtifactEntry:
    """A file logged to a run: its path in the run and the blob that holds it."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class RunInput:
    """Something a run consumed: a dataset version, a model version, ..."""

    kind: str
    ref: str
    context: str | None


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with its versions' aliases and tags."""

    name: str
    description: str | None
    created_ms: int
    updated_ms: int
    latest_version: int | None
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a registered model."""

    name: str
    version: int
    run_id: str | None
    artifact_path: str
    digest: str
    size: int
    format: str
    signature: dict[str, Any] | None
    git_commit: str | None
    description: str | None
    created_ms: int
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """``models:/name/version``."""
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "run_id": self.run_id,
            "artifact_path": self.artifact_path,
            "digest": self.digest,
            "size": self.size,
            "format": self.format,
            "signature": self.signature,
            "git_commit": self.git_commit,
            "description": self.description,
            "created_ms": self.created_ms,
            "aliases": list(self.aliases),
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class AliasChange:
    """One move of an alias: from which version to which, when, by whom."""

    name: str
    alias: str
    version: int | None
    previous_version: int | None
    changed_ms: int
    user: str


def json_float(value: float) -> float | str:
    """JSON has no NaN or infinity; render them as strings, keep other floats."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return value
