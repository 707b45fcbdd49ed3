"""The metadata store: one SQL database (SQLite or PostgreSQL) behind repositories.

Opening a store creates or migrates its schema and marks runs whose process
died as ``crashed``. Feature packages talk to the store only through
:class:`MetadataStore` and its repositories.
"""

from __future__ import annotations

from ninefold import _process
from ninefold._ids import now_ms
from ninefold.store.costs import AlertRepository, CostRepository
from ninefold.store.database import Database
from ninefold.store.datasets import DatasetRepository
from ninefold.store.experiments import ExperimentRepository
from ninefold.store.migrate import ensure_schema
from ninefold.store.models import ModelRepository
from ninefold.store.pipelines import PipelineRepository
from ninefold.store.records import (
    AliasChange,
    ArtifactEntry,
    Experiment,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    Run,
    RunInput,
    RunStatus,
)
from ninefold.store.runs import RunRepository
from ninefold.store.schedules import ScheduleRepository
from ninefold.store.search import SearchResult, search

STALE_HEARTBEAT_MS = 10 * 60 * 1000
"""A run on another host whose heartbeat is older than this is taken as crashed."""

__all__ = [
    "AliasChange",
    "ArtifactEntry",
    "Experiment",
    "MetadataStore",
    "MetricPoint",
    "ModelVersion",
    "RegisteredModel",
    "Run",
    "RunInput",
    "RunStatus",
    "SearchResult",
]


class MetadataStore:
    """All metadata of one ninefold deployment.

    Args:
        url: SQLAlchemy URL or SQLite file path.
        reap: mark runs of dead processes as crashed while opening.
    """

    def __init__(self, url: str, *, reap: bool = True) -> None:
        self.db = Database(url)
        self.schema_action = ensure_schema(self.db)
        self.experiments = ExperimentRepository(self.db)
        self.runs = RunRepository(self.db)
        self.models = ModelRepository(self.db)
        self.datasets = DatasetRepository(self.db)
        self.costs = CostRepository(self.db)
        self.alerts = AlertRepository(self.db)
        self.pipelines = PipelineRepository(self.db)
        self.schedules = ScheduleRepository(self.db)
        if reap:
            self.reap_crashed()

    @property
    def url(self) -> str:
        """The database URL (with driver)."""
        return self.db.url

    def search(
        self,
        filter_text: str = "",
        order_by: list[str] | tuple[str, ...] = (),
        experiment_ids: list[str] | None = None,
        max_results: int | None = None,
    ) -> SearchResult:
        """Runs matching ``filter_text``, ordered (see :mod:`ninefold.store.filters`)."""
        return search(self.db, filter_text, order_by, experiment_ids, max_results)

    def reap_crashed(self) -> list[str]:
        """Mark running runs whose process is gone as crashed; returns their ids.

        A run on this host is crashed when its process (pid and start time) no
        longer exists; a run on another host when its heartbeat is stale.
        """
        host = _process.hostname()
        stale_before = now_ms() - STALE_HEARTBEAT_MS
        dead = [
            run_id
            for run_id, run_host, pid, started, heartbeat in self.runs.running()
            if (run_host == host and not _process.is_alive(pid, started))
            or (run_host != host and heartbeat < stale_before)
        ]
        self.runs.mark_crashed(dead)
        return dead

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()
