"""Schedules, their firings, the scheduler lease, and the event feeds triggers read.

A schedule says *what* to run (a pipeline target and its params) and *when*:
on a cron expression, a new dataset version, a new alert, a finished run, or
only by hand. Each time it fires, one row goes into ``schedule_firings`` with a
key naming the slot or event (``cron:<ms>``, ``dataset:iris@3``...). That key
is unique per schedule, so a slot or event is claimed by one insert and can
never run twice, whatever number of schedulers race for it or restart.

The lease row makes a second scheduler wait instead of doing the same work;
it is taken over when its holder died or stopped heartbeating.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from ninefold._ids import new_id, now_ms
from ninefold.errors import AlreadyExists, NotFound
from ninefold.store.costs import Alert
from ninefold.store.database import Database
from ninefold.store.pipelines import PIPELINE_TAG
from ninefold.store.schema import (
    alerts,
    dataset_versions,
    experiments,
    run_tags,
    runs,
    schedule_firings,
    scheduler_leases,
    schedules,
)

KINDS = ("cron", "dataset", "alert", "run_finished", "manual")
"""What can make a schedule fire."""

PENDING = "pending"
RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
KILLED = "killed"
SKIPPED = "skipped"
CRASHED = "crashed"
FIRING_STATUSES = (PENDING, RUNNING, FINISHED, FAILED, KILLED, SKIPPED, CRASHED)
"""A firing is ``pending`` (queued by hand), ``running``, then ended in one of the others."""

FIRING_TAG = "ninefold.trigger.firing"
"""Run tag holding the firing id of a triggered pipeline run."""

CHAIN_TAG = "ninefold.trigger.chain"
"""Run tag listing the schedules that led to a triggered run (comma-separated, oldest first)."""


@dataclass(frozen=True)
class Schedule:
    """A stored schedule.

    Attributes:
        schedule_id: its id.
        name: its unique name.
        target: the pipeline, ``module:attr`` or ``path/to/file.py:attr``.
        params: pipeline params given with the schedule.
        executor: the executor for the pipeline run (None: the pipeline's own).
        kind: ``cron``, ``dataset``, ``alert``, ``run_finished`` or ``manual``.
        spec: the cron expression, dataset name, alert filter or run filter.
        timezone: the zone of a cron expression (None: UTC).
        catchup: ``latest``, ``skip`` (cron) or ``all`` (events): what to do with
            slots or events that piled up.
        options: kind-specific settings (run_finished: ``statuses``, ``allow_loops``).
        timeout_s: how long one firing may run (None: the scheduler's default).
        enabled: whether the scheduler evaluates it.
        description: free text.
        created_ms: when it was added; only slots and events after it count.
        updated_ms: when it last changed.
        cursor_ms: the last cron slot handled; for event triggers, how far the
            event feeds were read (the next read looks a little behind it).
        cursor_key: the newest slot or event claimed.
        skipped_total: slots and events that were skipped or coalesced so far.
    """

    schedule_id: str
    name: str
    target: str
    params: dict[str, Any]
    executor: str | None
    kind: str
    spec: str
    timezone: str | None
    catchup: str
    options: dict[str, Any]
    timeout_s: float | None
    enabled: bool
    description: str | None
    created_ms: int
    updated_ms: int
    cursor_ms: int | None = None
    cursor_key: str | None = None
    skipped_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class Firing:
    """One firing of a schedule: the slot or event, what ran and how it ended.

    Attributes:
        firing_id: its id.
        schedule_id: the schedule's id.
        schedule: the schedule's name when it fired.
        event_key: the slot or event, unique per schedule (``cron:<ms>``,
            ``dataset:<name>@<version>``, ``alert:<id>``, ``run:<id>``, ``manual:<id>``).
        kind: what fired it.
        event: details of the slot or event (and the params it offers the pipeline).
        target: the pipeline that was run.
        params: the schedule's params at the time.
        executor: the executor asked for.
        timeout_s: the time limit asked for.
        status: ``pending``, ``running``, ``finished``, ``failed``, ``killed``,
            ``skipped`` or ``crashed``.
        skipped: missed slots or older events this firing stands for (not run).
        run_id: the pipeline run it started, once known.
        error: why it failed or was skipped.
        host: the host of the process running it.
        pid: that process's id.
        pid_started: that process's start time.
        created_ms: when it was recorded.
        claimed_ms: when a scheduler took it.
        heartbeat_ms: the last sign of life of the process running it.
        ended_ms: when it ended.
    """

    firing_id: str
    schedule_id: str
    schedule: str
    event_key: str
    kind: str
    event: dict[str, Any]
    target: str
    params: dict[str, Any]
    executor: str | None
    timeout_s: float | None
    status: str
    skipped: int = 0
    run_id: str | None = None
    error: str | None = None
    host: str | None = None
    pid: int | None = None
    pid_started: float | None = None
    created_ms: int = 0
    claimed_ms: int | None = None
    heartbeat_ms: int | None = None
    ended_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class NewFiring:
    """A firing to claim: the slot or event and the status it starts in."""

    event_key: str
    kind: str
    event: Mapping[str, Any]
    status: str = RUNNING
    skipped: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Owner:
    """The process that runs a firing or holds the lease."""

    host: str
    pid: int
    pid_started: float | None


@dataclass(frozen=True)
class Lease:
    """Who holds the scheduler lease, since when, and their last heartbeat."""

    name: str
    owner_id: str
    host: str
    pid: int
    pid_started: float | None
    started_ms: int
    heartbeat_ms: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class FinishedRun:
    """A top-level run that ended: what ``run_finished`` triggers look at."""

    run_id: str
    name: str
    experiment: str
    status: str
    end_ms: int
    pipeline: str | None
    chain: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class NewDatasetVersion:
    """A dataset version as ``dataset`` triggers see it."""

    name: str
    version: int
    created_ms: int
    run_id: str | None


_SCHEDULE_COLUMNS = (
    schedules.c.schedule_id,
    schedules.c.name,
    schedules.c.target,
    schedules.c.params,
    schedules.c.executor,
    schedules.c.kind,
    schedules.c.spec,
    schedules.c.timezone,
    schedules.c.catchup,
    schedules.c.options,
    schedules.c.timeout_s,
    schedules.c.enabled,
    schedules.c.description,
    schedules.c.created_ms,
    schedules.c.updated_ms,
    schedules.c.cursor_ms,
    schedules.c.cursor_key,
    schedules.c.skipped_total,
)

_FIRING_COLUMNS = tuple(schedule_firings.c)


def _schedule(row: Any) -> Schedule:
    return Schedule(
        schedule_id=row[0],
        name=row[1],
        target=row[2],
        params=json.loads(row[3]),
        executor=row[4],
        kind=row[5],
        spec=row[6],
        timezone=row[7],
        catchup=row[8],
        options=json.loads(row[9]),
        timeout_s=None if row[10] is None else float(row[10]),
        enabled=bool(row[11]),
        description=row[12],
        created_ms=int(row[13]),
        updated_ms=int(row[14]),
        cursor_ms=None if row[15] is None else int(row[15]),
        cursor_key=row[16],
        skipped_total=int(row[17]),
    )


def _firing(row: Any) -> Firing:
    m = row._mapping
    return Firing(
        firing_id=m["firing_id"],
        schedule_id=m["schedule_id"],
        schedule=m["schedule"],
        event_key=m["event_key"],
        kind=m["kind"],
        event=json.loads(m["event"]),
        target=m["target"],
        params=json.loads(m["params"]),
        executor=m["executor"],
        timeout_s=None if m["timeout_s"] is None else float(m["timeout_s"]),
        status=m["status"],
        skipped=int(m["skipped"]),
        run_id=m["run_id"],
        error=m["error"],
        host=m["host"],
        pid=None if m["pid"] is None else int(m["pid"]),
        pid_started=None if m["pid_started"] is None else float(m["pid_started"]),
        created_ms=int(m["created_ms"]),
        claimed_ms=None if m["claimed_ms"] is None else int(m["claimed_ms"]),
        heartbeat_ms=None if m["heartbeat_ms"] is None else int(m["heartbeat_ms"]),
        ended_ms=None if m["ended_ms"] is None else int(m["ended_ms"]),
    )


def _lease(row: Any) -> Lease:
    return Lease(row[0], row[1], row[2], int(row[3]), row[4], int(row[5]), int(row[6]))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class ScheduleRepository:
    """Schedules, firings, the scheduler lease and the feeds of events triggers read."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = db.insert

    def _inserted(self, conn: Connection, stmt: Any, key: Any) -> bool:
        """Run an ``INSERT ... ON CONFLICT DO NOTHING``; whether it inserted its row."""
        if self._db.dialect == "postgresql":
            # psycopg reports no row count for it; RETURNING tells.
            return conn.execute(stmt.returning(key)).first() is not None
        return int(conn.execute(stmt).rowcount) == 1

    # -- schedules -------------------------------------------------------

    def add(self, schedule: Schedule, *, replace: bool = False) -> Schedule:
        """Store a new schedule; with ``replace`` an existing one of that name goes first.

        A replaced schedule starts afresh (new id, no cursor); its firings stay
        in the history.
        """
        row = schedule.to_dict()
        row["params"] = _dumps(schedule.params)
        row["options"] = _dumps(schedule.options)
        row["enabled"] = int(schedule.enabled)

        def work(conn: Connection) -> None:
            existing = conn.execute(
                select(schedules.c.schedule_id).where(schedules.c.name == schedule.name)
            ).scalar()
            if existing is not None:
                if not replace:
                    raise AlreadyExists(
                        f"A schedule named {schedule.name!r} exists; remove it first "
                        "(ninefold schedule remove) or pass replace=True (--replace)."
                    )
                self._delete(conn, existing)
            conn.execute(schedules.insert().values(**row))

        self._db.write(work)
        return self.get(schedule.name)

    def get(self, name: str) -> Schedule:
        """The schedule called ``name``."""
        with self._db.read() as conn:
            row = conn.execute(select(*_SCHEDULE_COLUMNS).where(schedules.c.name == name)).first()
        if row is None:
            known = [s.name for s in self.all()][:20]
            raise NotFound(
                f"No schedule named {name!r}. Known schedules: {known or 'none'}. Add one with "
                "ninefold schedule add NAME PIPELINE --cron '0 3 * * *'."
            )
        return _schedule(row)

    def get_by_id(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id, or None when it was removed."""
        with self._db.read() as conn:
            row = conn.execute(
                select(*_SCHEDULE_COLUMNS).where(schedules.c.schedule_id == schedule_id)
            ).first()
        return None if row is None else _schedule(row)

    def all(self, *, enabled_only: bool = False) -> list[Schedule]:
        """Every schedule, by name."""
        query = select(*_SCHEDULE_COLUMNS).order_by(schedules.c.name)
        if enabled_only:
            query = query.where(schedules.c.enabled == 1)
        with self._db.read() as conn:
            return [_schedule(r) for r in conn.execute(query)]

    def remove(self, name: str) -> Schedule:
        """Delete a schedule; its queued firings are dropped, its history is kept."""
        schedule = self.get(name)
        self._db.write(lambda conn: self._delete(conn, schedule.schedule_id))
        return schedule

    def _delete(self, conn: Connection, schedule_id: str) -> None:
        conn.execute(
            update(schedule_firings)
            .where(
                schedule_firings.c.schedule_id == schedule_id,
                schedule_firings.c.status == PENDING,
            )
            .values(status=SKIPPED, error="the schedule was removed", ended_ms=now_ms())
        )
        conn.execute(delete(schedules).where(schedules.c.schedule_id == schedule_id))

    def set_enabled(self, name: str, enabled: bool) -> Schedule:
        """Pause or resume a schedule.

        Resuming moves a cron schedule's cursor to now, so the slots it missed
        while paused do not fire.
        """
        schedule = self.get(name)
        now = now_ms()
        values: dict[str, Any] = {"enabled": int(enabled), "updated_ms": now}
        if enabled and not schedule.enabled and schedule.kind == "cron":
            values["cursor_ms"] = now

        def work(conn: Connection) -> None:
            conn.execute(
                update(schedules)
                .where(schedules.c.schedule_id == schedule.schedule_id)
                .values(**values)
            )

        self._db.write(work)
        return self.get(name)

    # -- firings ---------------------------------------------------------

    def claim(
        self,
        schedule: Schedule,
        firings: Sequence[NewFiring],
        *,
        owner: Owner | None,
        cursor_ms: int | None = None,
        cursor_key: str | None = None,
        at_ms: int | None = None,
    ) -> list[Firing]:
        """Insert firings whose keys are new for this schedule; move its cursor; one transaction.

        An insert whose key the schedule already has is skipped: that slot or
        event was claimed before (by this or another scheduler). Only the
        firings inserted now are returned. ``cursor_ms`` only ever moves forward.
        """
        now = now_ms() if at_ms is None else at_ms
        rows: list[dict[str, Any]] = []
        for f in firings:
            running = f.status == RUNNING
            ended = f.status not in (RUNNING, PENDING)
            rows.append(
                {
                    "firing_id": new_id(),
                    "schedule_id": schedule.schedule_id,
                    "schedule": schedule.name,
                    "event_key": f.event_key,
                    "kind": f.kind,
                    "event": _dumps(dict(f.event)),
                    "target": schedule.target,
                    "params": _dumps(schedule.params),
                    "executor": schedule.executor,
                    "timeout_s": schedule.timeout_s,
                    "status": f.status,
                    "skipped": f.skipped,
                    "run_id": None,
                    "error": f.error,
                    "host": owner.host if running and owner else None,
                    "pid": owner.pid if running and owner else None,
                    "pid_started": owner.pid_started if running and owner else None,
                    "created_ms": now,
                    "claimed_ms": now if running else None,
                    "heartbeat_ms": now if running else None,
                    "ended_ms": now if ended else None,
                }
            )
        stmt = self._insert(schedule_firings).on_conflict_do_nothing(
            index_elements=[schedule_firings.c.schedule_id, schedule_firings.c.event_key]
        )

        def work(conn: Connection) -> list[str]:
            inserted: list[str] = []
            skipped = 0
            for row in rows:
                if self._inserted(conn, stmt.values(**row), schedule_firings.c.firing_id):
                    inserted.append(row["firing_id"])
                    skipped += int(row["skipped"]) + (1 if row["status"] == SKIPPED else 0)
            values: dict[str, Any] = {}
            if skipped:
                values["skipped_total"] = schedules.c.skipped_total + skipped
            if cursor_ms is not None:
                current = conn.execute(
                    select(schedules.c.cursor_ms).where(
                        schedules.c.schedule_id == schedule.schedule_id
                    )
                ).scalar()
                if current is None or cursor_ms > int(current):
                    values["cursor_ms"] = cursor_ms
                    values["cursor_key"] = cursor_key
            if values:
                conn.execute(
                    update(schedules)
                    .where(schedules.c.schedule_id == schedule.schedule_id)
                    .values(**values)
                )
            return inserted

        ids = self._db.write(work)
        return self.get_firings(ids)

    def queue(self, schedule: Schedule, event: Mapping[str, Any]) -> Firing:
        """Queue a firing by hand (status ``pending``); the scheduler runs it on its next tick."""
        key = f"manual:{new_id()}"
        (firing,) = self.claim(schedule, [NewFiring(key, "manual", event, PENDING)], owner=None)
        return firing

    def take(self, firing_id: str, owner: Owner, at_ms: int | None = None) -> bool:
        """Take a pending firing to run it; False when someone else took it first."""
        now = now_ms() if at_ms is None else at_ms

        def work(conn: Connection) -> int:
            return int(
                conn.execute(
                    update(schedule_firings)
                    .where(
                        schedule_firings.c.firing_id == firing_id,
                        schedule_firings.c.status == PENDING,
                    )
                    .values(
                        status=RUNNING,
                        host=owner.host,
                        pid=owner.pid,
                        pid_started=owner.pid_started,
                        claimed_ms=now,
                        heartbeat_ms=now,
                    )
                ).rowcount
            )

        return self._db.write(work) == 1

    def set_runner(self, firing_id: str, owner: Owner) -> None:
        """Record the process that now runs a firing (a child process started for it)."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(schedule_firings)
                .where(schedule_firings.c.firing_id == firing_id)
                .values(host=owner.host, pid=owner.pid, pid_started=owner.pid_started)
            )

        self._db.write(work)

    def set_run(self, firing_id: str, run_id: str) -> None:
        """Record the pipeline run a firing started."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(schedule_firings)
                .where(schedule_firings.c.firing_id == firing_id)
                .values(run_id=run_id)
            )

        self._db.write(work)

    def heartbeat(self, firing_ids: Iterable[str], at_ms: int | None = None) -> None:
        """Mark running firings as alive."""
        ids = list(firing_ids)
        if not ids:
            return
        now = now_ms() if at_ms is None else at_ms

        def work(conn: Connection) -> None:
            conn.execute(
                update(schedule_firings)
                .where(
                    schedule_firings.c.firing_id.in_(ids),
                    schedule_firings.c.status == RUNNING,
                )
                .values(heartbeat_ms=now)
            )

        self._db.write(work)

    def finish(
        self,
        firing_id: str,
        status: str,
        *,
        run_id: str | None = None,
        error: str | None = None,
        at_ms: int | None = None,
    ) -> bool:
        """End a running firing; False when it had already ended (nothing is overwritten)."""
        values: dict[str, Any] = {
            "status": status,
            "ended_ms": now_ms() if at_ms is None else at_ms,
        }
        if run_id is not None:
            values["run_id"] = run_id
        if error is not None:
            values["error"] = error[:5000]

        def work(conn: Connection) -> int:
            return int(
                conn.execute(
                    update(schedule_firings)
                    .where(
                        schedule_firings.c.firing_id == firing_id,
                        schedule_firings.c.status.in_((RUNNING, PENDING)),
                    )
                    .values(**values)
                ).rowcount
            )

        return self._db.write(work) == 1

    def get_firing(self, firing_id: str) -> Firing:
        """One firing."""
        found = self.get_firings([firing_id])
        if not found:
            raise NotFound(
                f"No firing with id {firing_id!r}. List them with: ninefold schedule history"
            )
        return found[0]

    def get_firings(self, firing_ids: Sequence[str]) -> list[Firing]:
        """These firings, in the order given (missing ones are left out)."""
        if not firing_ids:
            return []
        with self._db.read() as conn:
            rows = conn.execute(
                select(*_FIRING_COLUMNS).where(schedule_firings.c.firing_id.in_(list(firing_ids)))
            ).all()
        by_id = {r._mapping["firing_id"]: _firing(r) for r in rows}
        return [by_id[i] for i in firing_ids if i in by_id]

    def firings(
        self,
        schedule: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Firing]:
        """Firings, newest first, optionally of one schedule (by name) and some statuses."""
        query = select(*_FIRING_COLUMNS).order_by(
            schedule_firings.c.created_ms.desc(), schedule_firings.c.firing_id.desc()
        )
        if schedule is not None:
            query = query.where(schedule_firings.c.schedule == schedule)
        if statuses is not None:
            query = query.where(schedule_firings.c.status.in_(list(statuses)))
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [_firing(r) for r in conn.execute(query)]

    def known_keys(self, schedule_id: str, keys: Sequence[str]) -> set[str]:
        """Which of these event keys the schedule already has a firing for."""
        if not keys:
            return set()
        with self._db.read() as conn:
            return set(
                conn.execute(
                    select(schedule_firings.c.event_key).where(
                        schedule_firings.c.schedule_id == schedule_id,
                        schedule_firings.c.event_key.in_(list(keys)),
                    )
                ).scalars()
            )

    def last_firings(self) -> dict[str, Firing]:
        """The newest firing of each schedule that has one, by schedule id."""
        newest = (
            select(
                schedule_firings.c.schedule_id,
                func.max(schedule_firings.c.firing_id).label("firing_id"),
            )
            .group_by(schedule_firings.c.schedule_id)
            .subquery()
        )
        query = select(*_FIRING_COLUMNS).join(
            newest, newest.c.firing_id == schedule_firings.c.firing_id
        )
        with self._db.read() as conn:
            return {f.schedule_id: f for f in (_firing(r) for r in conn.execute(query))}

    # -- event feeds -----------------------------------------------------

    def dataset_versions_since(self, name: str, since_ms: int) -> list[NewDatasetVersion]:
        """Versions of dataset ``name`` registered at or after ``since_ms``, oldest first."""
        query = (
            select(
                dataset_versions.c.name,
                dataset_versions.c.version,
                dataset_versions.c.created_ms,
                dataset_versions.c.run_id,
            )
            .where(dataset_versions.c.name == name, dataset_versions.c.created_ms >= since_ms)
            .order_by(dataset_versions.c.version)
        )
        with self._db.read() as conn:
            return [
                NewDatasetVersion(r[0], int(r[1]), int(r[2]), r[3]) for r in conn.execute(query)
            ]

    def alerts_since(self, since_ms: int, *, limit: int = 1000) -> list[Alert]:
        """Alerts created at or after ``since_ms``, oldest first (at most ``limit``)."""
        query = (
            select(
                alerts.c.id,
                alerts.c.source,
                alerts.c.kind,
                alerts.c.severity,
                alerts.c.subject,
                alerts.c.message,
                alerts.c.created_ms,
                alerts.c.payload,
            )
            .where(alerts.c.created_ms >= since_ms)
            .order_by(alerts.c.created_ms, alerts.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [
                Alert(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), json.loads(r[7]))
                for r in conn.execute(query)
            ]

    def runs_finished_since(
        self,
        since_ms: int,
        *,
        statuses: Sequence[str],
        pipeline: str | None = None,
        experiment: str | None = None,
        limit: int = 1000,
    ) -> list[FinishedRun]:
        """Top-level runs that ended at or after ``since_ms`` in one of ``statuses``, oldest first.

        Filtered by pipeline name (the run's ``ninefold.pipeline`` tag) or
        experiment name when given.
        """
        # The end time alone narrows the search (through its index); the rest is
        # filtered on the few rows that ended since. Given more conditions,
        # SQLite without statistics would scan the status index instead.
        ended = (
            select(
                runs.c.run_id,
                runs.c.name,
                runs.c.experiment_id,
                runs.c.status,
                runs.c.end_ms,
                runs.c.parent_run_id,
            )
            .where(runs.c.end_ms >= since_ms)
            .order_by(runs.c.end_ms, runs.c.run_id)
        )
        wanted = set(statuses)
        with self._db.read() as conn:
            rows = [r for r in conn.execute(ended) if r[5] is None and r[3] in wanted]
            if not rows:
                return []
            names = dict(
                conn.execute(
                    select(experiments.c.experiment_id, experiments.c.name).where(
                        experiments.c.experiment_id.in_({r[2] for r in rows})
                    )
                ).all()
            )
            tags: dict[tuple[str, str], str] = {}
            ids = [r[0] for r in rows]
            for start in range(0, len(ids), 500):
                for run_id, key, value in conn.execute(
                    select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
                        run_tags.c.run_id.in_(ids[start : start + 500]),
                        run_tags.c.key.in_((PIPELINE_TAG, CHAIN_TAG)),
                    )
                ):
                    tags[(run_id, key)] = value
        out: list[FinishedRun] = []
        for run_id, name, experiment_id, status, end_ms, _ in rows:
            found = FinishedRun(
                run_id=run_id,
                name=name,
                experiment=names.get(experiment_id, ""),
                status=status,
                end_ms=int(end_ms),
                pipeline=tags.get((run_id, PIPELINE_TAG)),
                chain=tuple(c for c in tags.get((run_id, CHAIN_TAG), "").split(",") if c),
            )
            if pipeline is not None and found.pipeline != pipeline:
                continue
            if experiment is not None and found.experiment != experiment:
                continue
            out.append(found)
            if len(out) >= limit:
                break
        return out

    # -- the scheduler lease ---------------------------------------------

    def lease(self, name: str = "default") -> Lease | None:
        """The current holder of the lease, if any."""
        with self._db.read() as conn:
            row = conn.execute(
                select(*scheduler_leases.c).where(scheduler_leases.c.name == name)
            ).first()
        return None if row is None else _lease(row)

    def acquire_lease(
        self,
        owner_id: str,
        owner: Owner,
        *,
        stale_ms: int,
        holder_gone: Callable[[Lease], bool],
        name: str = "default",
        at_ms: int | None = None,
    ) -> tuple[bool, Lease]:
        """Take the lease if it is free, ours, stale, or its holder is gone.

        Args:
            owner_id: this scheduler's id.
            owner: this scheduler's process.
            stale_ms: a lease whose last heartbeat is older than this is free.
            holder_gone: tells whether the current holder's process has died.
            name: the lease (one per deployment by default).
            at_ms: the current time.

        Returns:
            Whether we hold it now, and the lease as it stands (ours or the holder's).
        """
        now = now_ms() if at_ms is None else at_ms
        mine = {
            "owner_id": owner_id,
            "host": owner.host,
            "pid": owner.pid,
            "pid_started": owner.pid_started,
            "started_ms": now,
            "heartbeat_ms": now,
        }

        def work(conn: Connection) -> tuple[bool, Lease]:
            inserted = self._inserted(
                conn,
                self._insert(scheduler_leases)
                .values(name=name, **mine)
                .on_conflict_do_nothing(index_elements=[scheduler_leases.c.name]),
                scheduler_leases.c.name,
            )
            row = conn.execute(
                select(*scheduler_leases.c).where(scheduler_leases.c.name == name)
            ).first()
            assert row is not None
            current = _lease(row)
            if inserted:
                return True, current
            if current.owner_id == owner_id:
                conn.execute(
                    update(scheduler_leases)
                    .where(scheduler_leases.c.name == name)
                    .values(heartbeat_ms=now)
                )
                return True, current
            if now - current.heartbeat_ms <= stale_ms and not holder_gone(current):
                return False, current
            taken = conn.execute(
                update(scheduler_leases)
                .where(
                    scheduler_leases.c.name == name,
                    scheduler_leases.c.owner_id == current.owner_id,
                )
                .values(**mine)
            ).rowcount
            if taken != 1:  # someone else took it over in between
                return False, current
            return True, Lease(name, owner_id, owner.host, owner.pid, owner.pid_started, now, now)

        return self._db.write(work)

    def renew_lease(self, owner_id: str, name: str = "default", at_ms: int | None = None) -> bool:
        """Heartbeat the lease; False when it is no longer ours."""
        now = now_ms() if at_ms is None else at_ms

        def work(conn: Connection) -> int:
            return int(
                conn.execute(
                    update(scheduler_leases)
                    .where(scheduler_leases.c.name == name, scheduler_leases.c.owner_id == owner_id)
                    .values(heartbeat_ms=now)
                ).rowcount
            )

        return self._db.write(work) == 1

    def release_lease(self, owner_id: str, name: str = "default") -> None:
        """Give the lease up (only if it is ours)."""

        def work(conn: Connection) -> None:
            conn.execute(
                delete(scheduler_leases).where(
                    scheduler_leases.c.name == name, scheduler_leases.c.owner_id == owner_id
                )
            )

        self._db.write(work)
