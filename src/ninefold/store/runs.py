"""Runs: their lifecycle, params, tags, metric series, artifacts index and inputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from ninefold._ids import now_ms
from ninefold.errors import ParamConflict, RunNotFound, StoreError
from ninefold.store.database import Database
from ninefold.store.records import (
    ArtifactEntry,
    MetricPoint,
    Run,
    RunInput,
    RunStatus,
)
from ninefold.store.schema import (
    experiments,
    latest_metrics,
    metrics,
    params,
    run_artifacts,
    run_inputs,
    run_tags,
    runs,
)

# (run_id, key, value, step, timestamp_ms)
PointRow = tuple[str, str, float, int, int]

_RUN_COLUMNS = (
    runs.c.run_id,
    runs.c.experiment_id,
    experiments.c.name,
    runs.c.name,
    runs.c.parent_run_id,
    runs.c.status,
    runs.c.start_ms,
    runs.c.end_ms,
    runs.c.heartbeat_ms,
    runs.c.host,
    runs.c.pid,
    runs.c.user,
)


def _not_found(run_id: str) -> RunNotFound:
    return RunNotFound(f"No run with id {run_id!r}. List runs with: ninefold runs list")


def _from_db(value: float | None) -> float:
    return math.nan if value is None else float(value)


class RunRepository:
    """Everything stored per run."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._upsert = db.insert
        # Upserts built once and run with executemany (no per-call compile).
        tag = self._upsert(run_tags)
        self._upsert_tag = tag.on_conflict_do_update(
            index_elements=[run_tags.c.run_id, run_tags.c.key],
            set_={"value": tag.excluded.value},
        )
        art = self._upsert(run_artifacts)
        self._upsert_artifact = art.on_conflict_do_update(
            index_elements=[run_artifacts.c.run_id, run_artifacts.c.path],
            set_={"digest": art.excluded.digest, "size": art.excluded.size},
        )
        mark = "%s" if db.dialect == "postgresql" else "?"
        values = ", ".join([mark] * 5)
        columns = 'run_id, "key", step, timestamp_ms, value'
        self._insert_points_sql = f"INSERT INTO metrics ({columns}) VALUES ({values})"
        self._upsert_latest_sql = (
            f"INSERT INTO latest_metrics ({columns}) VALUES ({values}) "
            'ON CONFLICT (run_id, "key") DO UPDATE SET step = excluded.step, '
            "timestamp_ms = excluded.timestamp_ms, value = excluded.value "
            "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
            "AND excluded.timestamp_ms >= latest_metrics.timestamp_ms)"
        )

    # -- lifecycle -------------------------------------------------------

    def create(
        self,
        *,
        run_id: str,
        experiment_id: str,
        name: str,
        parent_run_id: str | None,
        host: str,
        pid: int,
        pid_started: float | None,
        user: str,
        params_: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        start_ms: int | None = None,
    ) -> None:
        """Insert a new running run with its first params and tags, in one transaction."""
        start = now_ms() if start_ms is None else start_ms

        def work(conn: Connection) -> None:
            conn.execute(
                runs.insert().values(
                    run_id=run_id,
                    experiment_id=experiment_id,
                    name=name,
                    parent_run_id=parent_run_id,
                    status=RunStatus.RUNNING.value,
                    start_ms=start,
                    end_ms=None,
                    heartbeat_ms=start,
                    host=host,
                    pid=pid,
                    pid_started=pid_started,
                    user=user,
                )
            )
            if params_:
                conn.execute(
                    params.insert(),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in params_.items()],
                )
            if tags:
                conn.execute(
                    run_tags.insert(),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
                )

        self._db.write(work)

    def set_status(self, run_id: str, status: RunStatus, end_ms: int | None = None) -> None:
        """Set a run's status; a terminal status also records the end time."""
        values: dict[str, Any] = {"status": status.value}
        if status is not RunStatus.RUNNING:
            values["end_ms"] = now_ms() if end_ms is None else end_ms

        def work(conn: Connection) -> int:
            return conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(**values)
            ).rowcount

        if self._db.write(work) == 0:
            raise _not_found(run_id)

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Record that the runs' process is alive."""
        if not run_ids:
            return
        stamp = now_ms()

        def work(conn: Connection) -> None:
            conn.execute(
                update(runs)
                .where(runs.c.run_id.in_(list(run_ids)), runs.c.status == RunStatus.RUNNING.value)
                .values(heartbeat_ms=stamp)
            )

        self._db.write(work)

    def running(self) -> list[tuple[str, str, int, float | None, int]]:
        """(run_id, host, pid, pid_started, heartbeat_ms) of every run marked running."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(
                    runs.c.run_id, runs.c.host, runs.c.pid, runs.c.pid_started, runs.c.heartbeat_ms
                ).where(runs.c.status == RunStatus.RUNNING.value)
            ).all()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def mark_crashed(self, run_ids: Sequence[str]) -> int:
        """Mark still-running runs as crashed; the end time is their last heartbeat."""
        if not run_ids:
            return 0

        ids = list(run_ids)

        def work(conn: Connection) -> int:
            marked = 0
            for start in range(0, len(ids), 10_000):  # below SQLite's bound-variable limit
                marked += conn.execute(
                    update(runs)
                    .where(
                        runs.c.run_id.in_(ids[start : start + 10_000]),
                        runs.c.status == RunStatus.RUNNING.value,
                    )
                    .values(status=RunStatus.CRASHED.value, end_ms=runs.c.heartbeat_ms)
                ).rowcount
            return marked

        return self._db.write(work)

    # -- reads -----------------------------------------------------------

    def get(self, run_id: str) -> Run:
        """The run with its params, tags and latest metrics; raises :class:`RunNotFound`."""
        found = self.get_many([run_id])
        if run_id not in found:
            raise _not_found(run_id)
        return found[run_id]

    def get_many(self, run_ids: Sequence[str]) -> dict[str, Run]:
        """Runs by id (unknown ids are left out), with params, tags and latest metrics."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        with self._db.read() as conn:
            rows = conn.execute(
                select(*_RUN_COLUMNS)
                .join(experiments, experiments.c.experiment_id == runs.c.experiment_id)
                .where(runs.c.run_id.in_(ids))
            ).all()
            p = _grouped(conn, params, ids)
            t = _grouped(conn, run_tags, ids)
            m: dict[str, dict[str, float]] = {}
            for rid, key, value in conn.execute(
                select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
                    latest_metrics.c.run_id.in_(ids)
                )
            ):
                m.setdefault(rid, {})[key] = _from_db(value)
        out: dict[str, Run] = {}
        for r in rows:
            out[r[0]] = Run(
                run_id=r[0],
                experiment_id=r[1],
                experiment=r[2],
                name=r[3],
                parent_run_id=r[4],
                status=RunStatus(r[5]),
                start_ms=r[6],
                end_ms=r[7],
                heartbeat_ms=r[8],
                host=r[9],
                pid=r[10],
                user=r[11],
                params=p.get(r[0], {}),
                tags=t.get(r[0], {}),
                metrics=m.get(r[0], {}),
            )
        return {rid: out[rid] for rid in ids if rid in out}

    def children(self, run_id: str) -> list[str]:
        """Ids of the runs nested directly under ``run_id``, oldest first."""
        with self._db.read() as conn:
            return list(
                conn.execute(
                    select(runs.c.run_id)
                    .where(runs.c.parent_run_id == run_id)
                    .order_by(runs.c.start_ms)
                ).scalars()
            )

    def exists(self, run_id: str) -> bool:
        """Whether a run with this id exists."""
        with self._db.read() as conn:
            return (
                conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
                is not None
            )

    def count(self) -> int:
        """How many runs the store holds."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(runs)).scalar() or 0)

    # -- params and tags -------------------------------------------------

    def log_params(self, run_id: str, values: Mapping[str, str]) -> None:
        """Add params; re-logging a key with the same value is a no-op, another value an error."""
        if not values:
            return

        def work(conn: Connection) -> None:
            existing = dict(
                conn.execute(
                    select(params.c.key, params.c.value).where(
                        params.c.run_id == run_id, params.c.key.in_(list(values))
                    )
                ).all()
            )
            for key, old in existing.items():
                if old != values[key]:
                    raise ParamConflict(
                        f"Param {key!r} of run {run_id} is already {old!r}; cannot change it to "
                        f"{values[key]!r}. Params are immutable: start a new run, or log the "
                        "changing value as a metric or tag."
                    )
            new = [
                {"run_id": run_id, "key": k, "value": v}
                for k, v in values.items()
                if k not in existing
            ]
            if new:
                conn.execute(params.insert(), new)

        for _ in range(3):
            try:
                self._db.write(work)
                return
            except SAIntegrityError as exc:
                if not self.exists(run_id):
                    raise _not_found(run_id) from exc
                # Another writer added one of these keys since we read them
                # (PostgreSQL runs writers concurrently): check against its value.
        raise StoreError(f"Params of run {run_id} kept changing while being logged; try again.")

    def set_tags(self, run_id: str, values: Mapping[str, str]) -> None:
        """Set tags, replacing earlier values of the same keys."""
        if not values:
            return

        def work(conn: Connection) -> None:
            conn.execute(
                self._upsert_tag,
                [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()],
            )

        try:
            self._db.write(work)
        except SAIntegrityError as exc:
            raise _not_found(run_id) from exc

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag (no error if it is absent)."""
        self._db.write(
            lambda conn: conn.execute(
                delete(run_tags).where(run_tags.c.run_id == run_id, run_tags.c.key == key)
            )
        )

    # -- metrics ---------------------------------------------------------

    def log_metrics(self, points: Sequence[PointRow]) -> None:
        """Append metric points in one transaction and update each series' latest value.

        The latest value of a series is the point with the highest step, then
        the newest timestamp. Rows go to the driver's ``executemany`` as plain
        tuples: this is the hot path of batched logging.
        """
        if not points:
            return
        latest: dict[tuple[str, str], PointRow] = {}
        for p in points:
            cur = latest.get((p[0], p[1]))
            if cur is None or (p[3], p[4]) >= (cur[3], cur[4]):
                latest[(p[0], p[1])] = p
        # NaN is stored as NULL (p[2] != p[2] is the fast NaN test).
        rows = [(p[0], p[1], p[3], p[4], None if p[2] != p[2] else p[2]) for p in points]
        latest_rows = [
            (p[0], p[1], p[3], p[4], None if p[2] != p[2] else p[2]) for p in latest.values()
        ]

        def work(conn: Connection) -> None:
            conn.exec_driver_sql(self._upsert_latest_sql, latest_rows)
            conn.exec_driver_sql(self._insert_points_sql, rows)

        try:
            self._db.write(work)
        except SAIntegrityError as exc:
            unknown = sorted({p[0] for p in points})
            raise RunNotFound(f"Cannot log metrics: no run among {unknown[:5]}.") from exc

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric series, ordered by step then time."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(metrics.c.value, metrics.c.step, metrics.c.timestamp_ms)
                .where(metrics.c.run_id == run_id, metrics.c.key == key)
                .order_by(metrics.c.step, metrics.c.timestamp_ms)
            ).all()
        return [MetricPoint(key, _from_db(v), s, t) for v, s, t in rows]

    def count_points(self, run_id: str) -> int:
        """How many metric points a run has."""
        with self._db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(metrics).where(metrics.c.run_id == run_id)
                ).scalar()
                or 0
            )

    # -- artifacts index and inputs ---------------------------------------

    def add_artifacts(self, run_id: str, entries: Iterable[ArtifactEntry]) -> None:
        """Record files logged to a run; logging a path again replaces it."""
        rows = [
            {
                "run_id": run_id,
                "path": e.path,
                "digest": e.digest,
                "size": e.size,
                "created_ms": now_ms(),
            }
            for e in entries
        ]
        if not rows:
            return
        try:
            self._db.write(lambda conn: conn.execute(self._upsert_artifact, rows))
        except SAIntegrityError as exc:
            raise _not_found(run_id) from exc

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactEntry]:
        """Files of a run whose path equals ``prefix`` or lies under it, sorted by path.

        Paths compare case-sensitively and ``%`` or ``_`` in them are plain
        characters on every backend (a LIKE would be case-insensitive on SQLite).
        """
        path = run_artifacts.c.path
        query = select(path, run_artifacts.c.digest, run_artifacts.c.size).where(
            run_artifacts.c.run_id == run_id
        )
        prefix = prefix.strip("/")
        if prefix:
            folder = prefix + "/"
            query = query.where(or_(path == prefix, func.substr(path, 1, len(folder)) == folder))
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        # Sorted here: ORDER BY would follow the PostgreSQL database's collation.
        return sorted((ArtifactEntry(r[0], r[1], r[2]) for r in rows), key=lambda e: e.path)

    def add_inputs(self, run_id: str, inputs: Iterable[RunInput]) -> None:
        """Record what a run consumed (lineage); recording the same input twice is a no-op."""
        rows = [
            {
                "run_id": run_id,
                "kind": i.kind,
                "ref": i.ref,
                "context": i.context,
                "created_ms": now_ms(),
            }
            for i in inputs
        ]
        if not rows:
            return
        stmt = self._upsert(run_inputs).values(rows).on_conflict_do_nothing()
        try:
            self._db.write(lambda conn: conn.execute(stmt))
        except SAIntegrityError as exc:
            raise _not_found(run_id) from exc

    def inputs(self, run_id: str) -> list[RunInput]:
        """What a run consumed, by time recorded (milliseconds), then kind and ref."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(run_inputs.c.kind, run_inputs.c.ref, run_inputs.c.context)
                .where(run_inputs.c.run_id == run_id)
                .order_by(run_inputs.c.created_ms, run_inputs.c.kind, run_inputs.c.ref)
            ).all()
        return [RunInput(r[0], r[1], r[2]) for r in rows]

    def consumers(self, kind: str, ref: str) -> list[str]:
        """Ids of the runs that consumed this input."""
        with self._db.read() as conn:
            return list(
                conn.execute(
                    select(run_inputs.c.run_id).where(
                        run_inputs.c.kind == kind, run_inputs.c.ref == ref
                    )
                ).scalars()
            )


def _grouped(conn: Connection, table: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for rid, key, value in conn.execute(
        select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(ids))
    ):
        out.setdefault(rid, {})[key] = value
    return out
