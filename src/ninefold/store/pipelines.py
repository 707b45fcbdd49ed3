"""Pipelines: one record per step execution and the lineage edges around it.

A step execution is a child run of its pipeline run. ``pipeline_steps`` keeps
what the cache needs (the key, its components, why it missed) and
``lineage_edges`` links the step run to the content-addressed artifacts it read
(``input``) and wrote (``output``). Upstream and downstream walks follow those
edges from any digest.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from ninefold._ids import now_ms
from ninefold.errors import RunNotFound
from ninefold.store.costs import ResourceUsage
from ninefold.store.database import _WRITE, WRITE_ATTEMPTS, Database, _is_retryable
from ninefold.store.records import ArtifactEntry, RunStatus
from ninefold.store.schema import (
    dataset_versions,
    lineage_edges,
    model_versions,
    params,
    pipeline_steps,
    run_artifacts,
    run_resources,
    run_tags,
    runs,
)

T = TypeVar("T")

PIPELINE_TAG = "ninefold.pipeline"
"""Run tag naming the pipeline of a pipeline run (its value is the pipeline's name)."""

INPUT = "input"
OUTPUT = "output"


@dataclass(frozen=True)
class LineageEdge:
    """An artifact a step run read (``input``) or wrote (``output``)."""

    run_id: str
    direction: str
    name: str
    digest: str
    size: int
    materializer: str
    type_name: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run_id": self.run_id,
            "direction": self.direction,
            "name": self.name,
            "digest": self.digest,
            "size": self.size,
            "materializer": self.materializer,
            "type": self.type_name,
        }


@dataclass(frozen=True)
class StepExecution:
    """One execution of a step inside a pipeline run (a cache hit counts as one).

    Attributes:
        run_id: the step's child run.
        pipeline_run_id: the pipeline run it belongs to.
        pipeline: the pipeline's name.
        node: the step's node in the graph (``train``, ``train[2]``).
        step: the step function, ``module:qualname``.
        cache_key: the hash of ``components``; None when it could not be computed.
        cache: ``hit``, ``miss`` or ``off``.
        source_run_id: for a hit, the step run whose outputs were reused.
        reasons: why the step missed (empty for a hit).
        components: what went into the cache key.
        seed: the seed the step ran with.
        attempts: how many times the function was called (0 for a hit).
        created_ms: when the execution was recorded.
        status: the step run's status.
    """

    run_id: str
    pipeline_run_id: str
    pipeline: str
    node: str
    step: str
    cache_key: str | None
    cache: str
    source_run_id: str | None
    reasons: list[str]
    components: dict[str, Any]
    seed: int | None
    attempts: int
    created_ms: int
    status: RunStatus | None = None
    edges: list[LineageEdge] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run_id": self.run_id,
            "pipeline_run_id": self.pipeline_run_id,
            "pipeline": self.pipeline,
            "node": self.node,
            "step": self.step,
            "status": None if self.status is None else str(self.status),
            "cache_key": self.cache_key,
            "cache": self.cache,
            "source_run_id": self.source_run_id,
            "reasons": list(self.reasons),
            "components": self.components,
            "seed": self.seed,
            "attempts": self.attempts,
            "created_ms": self.created_ms,
            "edges": [e.to_dict() for e in self.edges],
        }


@dataclass(frozen=True)
class NewRun:
    """The run row of a step recorded in one go (a cache hit: created and ended at once)."""

    experiment_id: str
    name: str
    parent_run_id: str
    host: str
    pid: int
    pid_started: float | None
    user: str
    start_ms: int
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRecord:
    """What :meth:`PipelineRepository.record` stores for one finished step execution."""

    execution: StepExecution
    edges: list[LineageEdge]
    status: RunStatus
    artifacts: list[ArtifactEntry] = field(default_factory=list)
    tags: Mapping[str, str] | None = None
    end_ms: int | None = None
    new_run: NewRun | None = None
    usage: ResourceUsage | None = None
    """What the step used where it ran (a cache hit has none)."""


_STEP_COLUMNS = (
    pipeline_steps.c.run_id,
    pipeline_steps.c.pipeline_run_id,
    pipeline_steps.c.pipeline,
    pipeline_steps.c.node,
    pipeline_steps.c.step,
    pipeline_steps.c.cache_key,
    pipeline_steps.c.cache,
    pipeline_steps.c.source_run_id,
    pipeline_steps.c.reasons,
    pipeline_steps.c.components,
    pipeline_steps.c.seed,
    pipeline_steps.c.attempts,
    pipeline_steps.c.created_ms,
    runs.c.status,
)

_EDGE_COLUMNS = (
    lineage_edges.c.run_id,
    lineage_edges.c.direction,
    lineage_edges.c.name,
    lineage_edges.c.digest,
    lineage_edges.c.size,
    lineage_edges.c.materializer,
    lineage_edges.c.type_name,
)


def _execution(row: Any) -> StepExecution:
    return StepExecution(
        run_id=row[0],
        pipeline_run_id=row[1],
        pipeline=row[2],
        node=row[3],
        step=row[4],
        cache_key=row[5],
        cache=row[6],
        source_run_id=row[7],
        reasons=json.loads(row[8]),
        components=json.loads(row[9]),
        seed=None if row[10] is None else int(row[10]),
        attempts=int(row[11]),
        created_ms=int(row[12]),
        status=None if row[13] is None else RunStatus(row[13]),
    )


def _edge(row: Any) -> LineageEdge:
    return LineageEdge(row[0], row[1], row[2], row[3], int(row[4]), row[5], row[6])


def _steps_query() -> Any:
    return select(*_STEP_COLUMNS).join(runs, runs.c.run_id == pipeline_steps.c.run_id, isouter=True)


class PipelineRepository:
    """Step executions, their cache keys and lineage edges."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = db.insert
        self._session: tuple[int, Connection] | None = None
        self._prepared: dict[str, Any] | None = None

    # -- writes ----------------------------------------------------------

    def finish_step(
        self,
        execution: StepExecution,
        edges: Sequence[LineageEdge],
        *,
        status: RunStatus,
        artifacts: Sequence[ArtifactEntry] = (),
        tags: Mapping[str, str] | None = None,
        end_ms: int | None = None,
        new_run: NewRun | None = None,
    ) -> None:
        """Record a step execution, its edges, files and tags and end its run, in one transaction.

        A step run is never left ``running`` with half its lineage: either all
        of this is stored or none of it. With ``new_run`` the run row is created
        in the same transaction (a cache hit needs no separate start).
        """
        self.record(
            [StepRecord(execution, list(edges), status, list(artifacts), tags, end_ms, new_run)]
        )

    def record(
        self, records: Sequence[StepRecord], start: tuple[str, NewRun] | None = None
    ) -> None:
        """Record finished step executions, then start the run of the next step, in one transaction.

        Running steps one after the other, the end of one step and the start of
        the next share a commit.
        """
        if not records and start is None:
            return
        new_runs = [(r.execution.run_id, r.new_run) for r in records if r.new_run is not None]
        if start is not None:
            new_runs.append(start)
        run_rows, param_rows, new_tag_rows = _run_rows(new_runs)
        ends: list[dict[str, Any]] = []
        step_rows: list[dict[str, Any]] = []
        edge_rows: list[dict[str, Any]] = []
        file_rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        usage_rows: list[dict[str, Any]] = []
        for record in records:
            step_row, edges, files, tags, stamp = _rows(record)
            if record.usage is not None:
                usage_rows.append(
                    {**record.usage.to_dict(), "complete": int(record.usage.complete)}
                )
            ends.append({"rid": record.execution.run_id, "st": record.status.value, "end": stamp})
            step_rows.append(step_row)
            edge_rows.extend(edges)
            file_rows.extend(files)
            tag_rows.extend(tags)
        statements = self._statements()

        def work(conn: Connection) -> None:
            # Executemany with prebuilt statements: one round of compilation per kind of row.
            if run_rows:
                conn.execute(statements["runs"], run_rows)
            if param_rows:
                conn.execute(statements["params"], param_rows)
            if new_tag_rows:
                conn.execute(statements["tags"], new_tag_rows)
            if ends:
                updated = conn.execute(statements["end"], ends).rowcount
                if conn.dialect.supports_sane_multi_rowcount and updated != len(ends):
                    raise RunNotFound(
                        f"Some of the step runs {[e['rid'] for e in ends]} do not exist."
                    )
            if step_rows:
                conn.execute(statements["steps"], step_rows)
            if edge_rows:
                conn.execute(statements["edges"], edge_rows)
            if file_rows:
                conn.execute(statements["files"], file_rows)
            if tag_rows:
                conn.execute(statements["tags_upsert"], tag_rows)
            if usage_rows:
                conn.execute(statements["usage"], usage_rows)

        try:
            self._write(work)
        except SAIntegrityError as exc:
            ids = [r.execution.run_id for r in records]
            raise RunNotFound(
                f"Cannot record step runs {ids}: already recorded, or a run does not exist "
                f"({exc.orig})."
            ) from exc

    def _statements(self) -> dict[str, Any]:
        if self._prepared is None:
            files = self._insert(run_artifacts)
            tags = self._insert(run_tags)
            self._prepared = {
                "runs": runs.insert(),
                "params": params.insert(),
                "tags": run_tags.insert(),
                "end": update(runs)
                .where(runs.c.run_id == bindparam("rid"))
                .values(status=bindparam("st"), end_ms=bindparam("end")),
                "steps": pipeline_steps.insert(),
                "usage": run_resources.insert(),
                "edges": lineage_edges.insert(),
                "files": files.on_conflict_do_update(
                    index_elements=[run_artifacts.c.run_id, run_artifacts.c.path],
                    set_={"digest": files.excluded.digest, "size": files.excluded.size},
                ),
                "tags_upsert": tags.on_conflict_do_update(
                    index_elements=[run_tags.c.run_id, run_tags.c.key],
                    set_={"value": tags.excluded.value},
                ),
            }
        return self._prepared

    @contextmanager
    def session(self) -> Iterator[None]:
        """Use one connection for this repository's reads and writes (from this thread).

        A pipeline run makes a few short transactions per step; opening a
        connection for each (and, on SQLite, checkpointing the write-ahead log
        when the last one closes) would cost more than the transactions.
        """
        if self._session is not None:
            yield
            return
        conn = self._db.engine.connect()
        self._session = (threading.get_ident(), conn)
        try:
            yield
        finally:
            self._session = None
            conn.close()

    def _held(self) -> Connection | None:
        held = self._session
        if held is not None and held[0] == threading.get_ident():
            return held[1]
        return None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        conn = self._held()
        if conn is None:
            with self._db.read() as fresh:
                yield fresh
            return
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()

    def _write(self, work: Callable[[Connection], T]) -> T:
        conn = self._held()
        if conn is None:
            return self._db.write(work)
        if conn.in_transaction():
            conn.rollback()
        delay = 0.01
        for attempt in range(WRITE_ATTEMPTS):
            conn.execution_options(**{_WRITE: True})
            try:
                with conn.begin():
                    return work(conn)
            except DBAPIError as exc:
                if _is_retryable(exc) and attempt < WRITE_ATTEMPTS - 1:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 2.0)
                    continue
                raise
            finally:
                conn.execution_options(**{_WRITE: False})
        raise AssertionError("unreachable")  # pragma: no cover

    def start_step(self, run_id: str, new_run: NewRun) -> None:
        """Create a step's run (status ``running``) with its params and tags."""
        try:
            self._write(lambda conn: _insert_run(conn, run_id, new_run))
        except SAIntegrityError as exc:
            raise RunNotFound(
                f"Cannot start step run {run_id!r} under {new_run.parent_run_id!r}: {exc.orig}"
            ) from exc

    # -- cache -----------------------------------------------------------

    def cached(self, cache_key: str) -> tuple[StepExecution, list[LineageEdge]] | None:
        """The newest finished execution with this cache key and its outputs, in one read."""
        query = (
            _steps_query()
            .where(
                pipeline_steps.c.cache_key == cache_key,
                pipeline_steps.c.cache != "hit",
                runs.c.status == RunStatus.FINISHED.value,
            )
            .order_by(pipeline_steps.c.created_ms.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            outputs = [
                _edge(r)
                for r in conn.execute(
                    select(*_EDGE_COLUMNS)
                    .where(lineage_edges.c.run_id == row[0], lineage_edges.c.direction == OUTPUT)
                    .order_by(lineage_edges.c.name)
                )
            ]
        return _execution(row), outputs

    def previous(
        self, pipeline: str, node: str, step: str, exclude_pipeline_run: str | None = None
    ) -> StepExecution | None:
        """The newest finished execution of the same node of the same pipeline.

        Falls back to the newest finished execution of the same step function
        in another pipeline run. Used to explain why a step missed the cache.
        """
        finished = runs.c.status == RunStatus.FINISHED.value
        conditions = [finished]
        if exclude_pipeline_run is not None:
            conditions.append(pipeline_steps.c.pipeline_run_id != exclude_pipeline_run)
        order = pipeline_steps.c.created_ms.desc()
        with self._read() as conn:
            row = conn.execute(
                _steps_query()
                .where(pipeline_steps.c.pipeline == pipeline, pipeline_steps.c.node == node)
                .where(*conditions)
                .order_by(order)
                .limit(1)
            ).first()
            if row is None:
                row = conn.execute(
                    _steps_query()
                    .where(pipeline_steps.c.step == step)
                    .where(*conditions)
                    .order_by(order)
                    .limit(1)
                ).first()
        return None if row is None else _execution(row)

    # -- reads -----------------------------------------------------------

    def get(self, run_id: str) -> StepExecution | None:
        """The execution recorded for a step run (with its edges), or None."""
        with self._read() as conn:
            row = conn.execute(_steps_query().where(pipeline_steps.c.run_id == run_id)).first()
            if row is None:
                return None
            edges = [
                _edge(r)
                for r in conn.execute(
                    select(*_EDGE_COLUMNS)
                    .where(lineage_edges.c.run_id == run_id)
                    .order_by(lineage_edges.c.direction, lineage_edges.c.name)
                )
            ]
        execution = _execution(row)
        return _with_edges(execution, edges)

    def steps_of(self, pipeline_run_id: str) -> list[StepExecution]:
        """Every recorded step execution of a pipeline run, in order, with edges."""
        with self._read() as conn:
            rows = conn.execute(
                _steps_query()
                .where(pipeline_steps.c.pipeline_run_id == pipeline_run_id)
                .order_by(pipeline_steps.c.created_ms, pipeline_steps.c.run_id)
            ).all()
            ids = [r[0] for r in rows]
            edges: dict[str, list[LineageEdge]] = {}
            if ids:
                for r in conn.execute(
                    select(*_EDGE_COLUMNS)
                    .where(lineage_edges.c.run_id.in_(ids))
                    .order_by(lineage_edges.c.direction, lineage_edges.c.name)
                ):
                    edges.setdefault(r[0], []).append(_edge(r))
        return [_with_edges(_execution(r), edges.get(r[0], [])) for r in rows]

    def edges_of(self, run_ids: Sequence[str], direction: str | None = None) -> list[LineageEdge]:
        """Edges of these step runs (inputs, outputs or both)."""
        if not run_ids:
            return []
        query = select(*_EDGE_COLUMNS).where(lineage_edges.c.run_id.in_(list(run_ids)))
        if direction is not None:
            query = query.where(lineage_edges.c.direction == direction)
        with self._read() as conn:
            return [_edge(r) for r in conn.execute(query.order_by(lineage_edges.c.name))]

    def edges_for(
        self, digests: Sequence[str], direction: str, *, skip_hits: bool = False
    ) -> list[LineageEdge]:
        """Edges that read (``input``) or wrote (``output``) any of these digests.

        With ``skip_hits``, edges of cache hits are left out: a hit links outputs
        that an earlier execution produced.
        """
        if not digests:
            return []
        query = select(*_EDGE_COLUMNS).where(
            lineage_edges.c.digest.in_(list(digests)), lineage_edges.c.direction == direction
        )
        if skip_hits:
            query = query.outerjoin(
                pipeline_steps, pipeline_steps.c.run_id == lineage_edges.c.run_id
            ).where(or_(pipeline_steps.c.cache.is_(None), pipeline_steps.c.cache != "hit"))
        with self._read() as conn:
            return [_edge(r) for r in conn.execute(query)]

    def pipeline_runs(
        self, pipeline: str | None = None, limit: int | None = 50
    ) -> list[tuple[str, str]]:
        """``(run_id, pipeline name)`` of pipeline runs, newest first."""
        query = (
            select(runs.c.run_id, run_tags.c.value)
            .join(run_tags, run_tags.c.run_id == runs.c.run_id)
            .where(run_tags.c.key == PIPELINE_TAG)
            .order_by(runs.c.start_ms.desc(), runs.c.run_id.desc())
        )
        if pipeline is not None:
            query = query.where(run_tags.c.value == pipeline)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]

    def models_with_digests(self, digests: Sequence[str]) -> list[tuple[str, int, str | None, str]]:
        """``(name, version, run_id, digest)`` of model versions stored as any of these blobs."""
        if not digests:
            return []
        query = select(
            model_versions.c.name,
            model_versions.c.version,
            model_versions.c.run_id,
            model_versions.c.digest,
        ).where(model_versions.c.digest.in_(list(digests)))
        with self._read() as conn:
            return [(r[0], int(r[1]), r[2], r[3]) for r in conn.execute(query)]

    def dataset_version(self, name: str, version: int | None) -> tuple[int, str | None] | None:
        """``(version, run_id)`` of a dataset version (the latest when ``version`` is None)."""
        query = select(dataset_versions.c.version, dataset_versions.c.run_id).where(
            dataset_versions.c.name == name
        )
        if version is None:
            query = query.order_by(dataset_versions.c.version.desc()).limit(1)
        else:
            query = query.where(dataset_versions.c.version == version)
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (int(row[0]), row[1])

    def running_steps(self, pipeline_run_id: str) -> list[str]:
        """Child runs of a pipeline run still marked running."""
        with self._read() as conn:
            return list(
                conn.execute(
                    select(runs.c.run_id).where(
                        runs.c.parent_run_id == pipeline_run_id,
                        runs.c.status == RunStatus.RUNNING.value,
                    )
                ).scalars()
            )


def _rows(
    record: StepRecord,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], int]:
    execution = record.execution
    stamp = now_ms() if record.end_ms is None else record.end_ms
    step_row = {
        "run_id": execution.run_id,
        "pipeline_run_id": execution.pipeline_run_id,
        "pipeline": execution.pipeline,
        "node": execution.node,
        "step": execution.step,
        "cache_key": execution.cache_key,
        "cache": execution.cache,
        "source_run_id": execution.source_run_id,
        "reasons": json.dumps(execution.reasons),
        "components": json.dumps(execution.components, sort_keys=True),
        "seed": execution.seed,
        "attempts": execution.attempts,
        "created_ms": execution.created_ms,
    }
    edge_rows = [
        {
            "run_id": e.run_id,
            "direction": e.direction,
            "name": e.name,
            "digest": e.digest,
            "size": e.size,
            "materializer": e.materializer,
            "type_name": e.type_name[:256],
            "created_ms": stamp,
        }
        for e in record.edges
    ]
    file_rows = [
        {
            "run_id": execution.run_id,
            "path": a.path,
            "digest": a.digest,
            "size": a.size,
            "created_ms": stamp,
        }
        for a in record.artifacts
    ]
    tag_rows = [
        {"run_id": execution.run_id, "key": k, "value": v} for k, v in (record.tags or {}).items()
    ]
    return step_row, edge_rows, file_rows, tag_rows, stamp


def _run_rows(
    new_runs: Sequence[tuple[str, NewRun]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    run_rows: list[dict[str, Any]] = []
    param_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    for run_id, new in new_runs:
        run_rows.append(
            {
                "run_id": run_id,
                "experiment_id": new.experiment_id,
                "name": new.name,
                "parent_run_id": new.parent_run_id,
                "status": RunStatus.RUNNING.value,
                "start_ms": new.start_ms,
                "end_ms": None,
                "heartbeat_ms": new.start_ms,
                "host": new.host,
                "pid": new.pid,
                "pid_started": new.pid_started,
                "user": new.user,
            }
        )
        param_rows.extend({"run_id": run_id, "key": k, "value": v} for k, v in new.params.items())
        tag_rows.extend({"run_id": run_id, "key": k, "value": v} for k, v in new.tags.items())
    return run_rows, param_rows, tag_rows


def _insert_run(conn: Connection, run_id: str, new: NewRun) -> None:
    conn.execute(
        runs.insert().values(
            run_id=run_id,
            experiment_id=new.experiment_id,
            name=new.name,
            parent_run_id=new.parent_run_id,
            status=RunStatus.RUNNING.value,
            start_ms=new.start_ms,
            end_ms=None,
            heartbeat_ms=new.start_ms,
            host=new.host,
            pid=new.pid,
            pid_started=new.pid_started,
            user=new.user,
        )
    )
    if new.params:
        conn.execute(
            params.insert(),
            [{"run_id": run_id, "key": k, "value": v} for k, v in new.params.items()],
        )
    if new.tags:
        conn.execute(
            run_tags.insert(),
            [{"run_id": run_id, "key": k, "value": v} for k, v in new.tags.items()],
        )


def _with_edges(execution: StepExecution, edges: list[LineageEdge]) -> StepExecution:
    return replace(execution, edges=edges)
