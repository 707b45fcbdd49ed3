"""Costs: measured resource usage per run, cost records, budgets, and alerts.

:class:`CostRepository` keeps what the resource sampler measured for each run
(``run_resources``), what that usage cost (``run_costs``, integer
micro-currency), and monthly budgets. :class:`AlertRepository` is the general
alert log shared by budgets and monitoring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Table,
    and_,
    delete,
    func,
    inspect,
    select,
    update,
)

from ninefold.store.database import Database
from ninefold.store.schema import (
    alerts,
    budgets,
    experiments,
    model_versions,
    run_artifacts,
    run_costs,
    run_resources,
    run_tags,
    runs,
)

RESOURCE_TAG_PREFIX = "ninefold.resources."
"""Run tags under this prefix declare the resources a run was given (``cpu``, ``memory_gib``...)."""


@dataclass
class ResourceUsage:
    """What one run used, as measured by the resource sampler.

    CPU, memory, I/O and GPU figures exclude nested runs that ran in the same
    process (those are charged to the nested run); ``wall_s`` is the run's
    whole duration and ``billed_wall_s`` the part not covered by such nested runs.
    ``net_*`` are host-wide counters; ``egress_bytes`` is only what is known to
    have left the network (reported with :meth:`CostRepository.add_egress`).
    """

    run_id: str
    host: str
    pid: int
    start_ms: int
    updated_ms: int
    complete: bool
    samples: int
    wall_s: float
    billed_wall_s: float
    cpu_user_s: float
    cpu_system_s: float
    rss_byte_s: float
    rss_peak_bytes: int
    read_bytes: int
    write_bytes: int
    net_sent_bytes: int
    net_recv_bytes: int
    egress_bytes: int
    gpu_count: int
    gpu_model: str | None
    gpu_busy_s: float | None
    gpu_memory_peak_bytes: int | None
    machine_cores: float
    machine_memory_bytes: int
    cgroup_cores: float | None
    cgroup_memory_bytes: int | None

    @property
    def cpu_s(self) -> float:
        """CPU seconds, user plus system."""
        return self.cpu_user_s + self.cpu_system_s

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (every field is a plain value: no deep copy needed)."""
        return {name: getattr(self, name) for name in _USAGE_FIELDS}


@dataclass(frozen=True)
class CostRecord:
    """The cost of one run in integer micro-units of ``currency`` (1 USD = 1,000,000)."""

    run_id: str
    currency: str
    price_version: str
    allocation: str
    cpu_micros: int
    memory_micros: int
    gpu_micros: int
    storage_micros: int
    egress_micros: int
    total_micros: int
    idle_micros: int
    storage_bytes: int
    partial: bool
    computed_ms: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class CostRow:
    """A cost record with the run facts roll-ups group by."""

    cost: CostRecord
    run_name: str
    experiment: str
    parent_run_id: str | None
    status: str
    start_ms: int
    end_ms: int | None


@dataclass(frozen=True)
class RunFacts:
    """What costing needs to know about a run besides its usage."""

    run_id: str
    name: str
    experiment: str
    parent_run_id: str | None
    status: str
    start_ms: int
    end_ms: int | None
    declared: dict[str, str]


@dataclass(frozen=True)
class CostingInputs:
    """What costing a just-ended run reads from the store."""

    facts: RunFacts | None
    nested: list[ResourceUsage]
    storage_bytes: int
    """The run's share of the bytes of the blobs its artifacts use (see :func:`_storage_share`)."""
    has_budgets: bool


@dataclass(frozen=True)
class BlobRef:
    """One reference to a blob: who holds it and, when known, its size."""

    digest: str
    size: int | None
    run_id: str | None
    holder: str


@dataclass(frozen=True)
class Budget:
    """A monthly spending limit for the project or one experiment."""

    budget_id: str
    scope: str
    subject: str
    amount_micros: int
    currency: str
    thresholds: tuple[int, ...]
    webhook_url: str | None
    created_ms: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class Alert:
    """An alert record (budgets, monitoring ...); ``payload`` holds the details."""

    id: str
    source: str
    kind: str
    severity: str
    subject: str
    message: str
    created_ms: int
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return asdict(self)


_USAGE_FIELDS = [f.name for f in fields(ResourceUsage)]
_COST_FIELDS = [f.name for f in fields(CostRecord)]


def _usage(row: Any) -> ResourceUsage:
    values = dict(zip(_USAGE_FIELDS, row, strict=True))
    values["complete"] = bool(values["complete"])
    return ResourceUsage(**values)


def _cost(row: Any) -> CostRecord:
    values = dict(zip(_COST_FIELDS, row, strict=True))
    values["partial"] = bool(values["partial"])
    return CostRecord(**values)


def _budget(row: Any) -> Budget:
    return Budget(
        budget_id=row[0],
        scope=row[1],
        subject=row[2],
        amount_micros=int(row[3]),
        currency=row[4],
        thresholds=tuple(int(t) for t in row[5].split(",") if t),
        webhook_url=row[6],
        created_ms=int(row[7]),
    )


_BUDGET_COLUMNS = (
    budgets.c.budget_id,
    budgets.c.scope,
    budgets.c.subject,
    budgets.c.amount_micros,
    budgets.c.currency,
    budgets.c.thresholds,
    budgets.c.webhook_url,
    budgets.c.created_ms,
)


class CostRepository:
    """Resource usage, cost records and budgets."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = db.insert
        self._upserts: dict[str, Any] = {}

    def _upsert(self, conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
        stmt = self._upserts.get(table.name)
        if stmt is None:  # built once: it is the same statement for every row
            insert = self._insert(table)
            stmt = self._upserts[table.name] = insert.on_conflict_do_update(
                index_elements=[key],
                set_={c.name: insert.excluded[c.name] for c in table.c if c.name != key},
            )
        conn.execute(stmt, rows)

    # -- usage -----------------------------------------------------------

    def save_usage(self, usage: ResourceUsage) -> None:
        """Insert or replace the usage of one run."""
        row = usage.to_dict()
        row["complete"] = int(usage.complete)
        self._db.write(lambda conn: self._upsert(conn, run_resources, "run_id", [row]))

    def get_usage(self, run_id: str) -> ResourceUsage | None:
        """The usage recorded for a run, or None."""
        cols = [run_resources.c[n] for n in _USAGE_FIELDS]
        with self._db.read() as conn:
            row = conn.execute(select(*cols).where(run_resources.c.run_id == run_id)).first()
        return None if row is None else _usage(row)

    def usages_of(self, run_ids: Sequence[str]) -> dict[str, ResourceUsage]:
        """The usage of each of ``run_ids`` that has one, by run id."""
        if not run_ids:
            return {}
        cols = [run_resources.c[n] for n in _USAGE_FIELDS]
        with self._db.read() as conn:
            rows = conn.execute(select(*cols).where(run_resources.c.run_id.in_(list(run_ids))))
            return {row[0]: _usage(row) for row in rows}

    def usages(self) -> dict[str, ResourceUsage]:
        """The usage of every run that has one, by run id."""
        cols = [run_resources.c[n] for n in _USAGE_FIELDS]
        with self._db.read() as conn:
            return {row[0]: _usage(row) for row in conn.execute(select(*cols))}

    def nested_usages(self, parent_run_id: str, host: str) -> list[ResourceUsage]:
        """Usage of the direct child runs of a run that ran on the same host."""
        with self._db.read() as conn:
            return _nested(conn, parent_run_id, host)

    def storage_share(self, run_id: str) -> int:
        """The bytes of the blobs a run's artifacts use, each split evenly among its users."""
        with self._db.read() as conn:
            return _storage_share(conn, run_id)

    def finish_run(
        self,
        run_id: str,
        host: str,
        cost: Callable[[CostingInputs], tuple[ResourceUsage, CostRecord | None]],
    ) -> CostingInputs:
        """Read what costing a just-ended run needs, then store its usage and cost.

        One transaction: ``cost`` gets the inputs and returns the final usage
        and (when it could be computed) the cost record. It may be called more
        than once if the database is busy, so it must only compute.
        """
        return self.finish_runs([run_id], host, lambda _run_id, inputs: cost(inputs))[0]

    def finish_runs(
        self,
        run_ids: Sequence[str],
        host: str,
        cost: Callable[[str, CostingInputs], tuple[ResourceUsage, CostRecord | None]],
    ) -> list[CostingInputs]:
        """:meth:`finish_run` for several runs (the steps of a pipeline) in one transaction.

        ``cost`` gets each run's id and inputs.
        """

        def work(conn: Connection) -> list[CostingInputs]:
            has_budgets = conn.execute(select(budgets.c.budget_id).limit(1)).first() is not None
            done = []
            for run_id in run_ids:
                facts = _facts(conn, run_id)
                inputs = CostingInputs(
                    facts=facts[0] if facts else None,
                    nested=_nested(conn, run_id, host),
                    storage_bytes=_storage_share(conn, run_id),
                    has_budgets=has_budgets,
                )
                usage, record = cost(run_id, inputs)
                row = usage.to_dict()
                row["complete"] = int(usage.complete)
                self._upsert(conn, run_resources, "run_id", [row])
                if record is not None:
                    cost_row = record.to_dict()
                    cost_row["partial"] = int(record.partial)
                    self._upsert(conn, run_costs, "run_id", [cost_row])
                done.append(inputs)
            return done

        return self._db.write(work)

    def add_egress(self, run_id: str, nbytes: int) -> bool:
        """Add bytes known to have left the network to a run's usage; False if it has none."""

        def work(conn: Connection) -> int:
            result = conn.execute(
                update(run_resources)
                .where(run_resources.c.run_id == run_id)
                .values(egress_bytes=run_resources.c.egress_bytes + nbytes)
            )
            return int(result.rowcount)

        return self._db.write(work) > 0

    # -- runs and references ---------------------------------------------

    def run_facts(self, run_id: str | None = None) -> list[RunFacts]:
        """Every run (or one) with its experiment name and the resources its tags declare."""
        with self._db.read() as conn:
            return _facts(conn, run_id)

    def blob_references(self) -> list[BlobRef]:
        """Every reference to a blob, from every table with a digest column.

        ``run_artifacts`` and ``model_versions`` are read with their sizes and
        runs; any other table with a ``digest`` or ``*_digest`` column (dataset
        versions, and tables added later) is found in the live database and read
        generically, with its ``run_id`` column when it has one.
        """
        refs: list[BlobRef] = []
        with self._db.read() as conn:
            for digest, size, run_id in conn.execute(
                select(run_artifacts.c.digest, run_artifacts.c.size, run_artifacts.c.run_id)
            ):
                refs.append(BlobRef(digest, int(size), run_id, f"run:{run_id}"))
            for digest, size, run_id, name, version in conn.execute(
                select(
                    model_versions.c.digest,
                    model_versions.c.size,
                    model_versions.c.run_id,
                    model_versions.c.name,
                    model_versions.c.version,
                )
            ):
                refs.append(BlobRef(digest, int(size), run_id, f"model:{name}/{version}"))
            known = {run_artifacts.name, model_versions.name}
            for table in _digest_tables(conn, known):
                digest_cols = [c for c in table.c if _is_digest_column(c.name)]
                run_col = table.c.get("run_id")
                for col in digest_cols:
                    query = select(col, run_col) if run_col is not None else select(col)
                    for row in conn.execute(query.where(col.is_not(None))):
                        run_id = row[1] if run_col is not None else None
                        refs.append(BlobRef(row[0], None, run_id, f"{table.name}.{col.name}"))
        return refs

    def referenced_digests(self) -> set[str]:
        """The digest of every blob that anything references."""
        return {ref.digest for ref in self.blob_references()}

    def model_runs(self) -> list[tuple[str, str]]:
        """``(model name, run id)`` for each model version made by a run."""
        query = (
            select(model_versions.c.name, model_versions.c.run_id)
            .where(model_versions.c.run_id.is_not(None))
            .distinct()
        )
        with self._db.read() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]

    # -- costs -----------------------------------------------------------

    def save_costs(self, records: Sequence[CostRecord]) -> None:
        """Insert or replace cost records, in one transaction."""
        if not records:
            return
        rows = []
        for record in records:
            row = record.to_dict()
            row["partial"] = int(record.partial)
            rows.append(row)
        self._db.write(lambda conn: self._upsert(conn, run_costs, "run_id", rows))

    def get_cost(self, run_id: str) -> CostRecord | None:
        """The stored cost of a run, or None."""
        cols = [run_costs.c[n] for n in _COST_FIELDS]
        with self._db.read() as conn:
            row = conn.execute(select(*cols).where(run_costs.c.run_id == run_id)).first()
        return None if row is None else _cost(row)

    def cost_rows(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        experiment: str | None = None,
    ) -> list[CostRow]:
        """Stored costs of runs started in ``[since_ms, until_ms)``, with their run facts."""
        cols = [run_costs.c[n] for n in _COST_FIELDS]
        query = (
            select(
                *cols,
                runs.c.name,
                experiments.c.name,
                runs.c.parent_run_id,
                runs.c.status,
                runs.c.start_ms,
                runs.c.end_ms,
            )
            .join(runs, runs.c.run_id == run_costs.c.run_id)
            .join(experiments, experiments.c.experiment_id == runs.c.experiment_id)
            .where(*_window(since_ms, until_ms, experiment))
            .order_by(runs.c.start_ms, runs.c.run_id)
        )
        n = len(cols)
        with self._db.read() as conn:
            return [
                CostRow(
                    _cost(row[:n]),
                    row[n],
                    row[n + 1],
                    row[n + 2],
                    row[n + 3],
                    row[n + 4],
                    row[n + 5],
                )
                for row in conn.execute(query)
            ]

    def total_micros(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        experiment: str | None = None,
    ) -> int:
        """The sum of stored run costs (runs started in the window), computed by the database."""
        query = (
            select(func.coalesce(func.sum(run_costs.c.total_micros), 0))
            .join(runs, runs.c.run_id == run_costs.c.run_id)
            .join(experiments, experiments.c.experiment_id == runs.c.experiment_id)
            .where(*_window(since_ms, until_ms, experiment))
        )
        with self._db.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    # -- budgets ---------------------------------------------------------

    def save_budget(self, budget: Budget) -> Budget:
        """Create the budget, or replace the one with the same scope and subject."""

        def work(conn: Connection) -> Budget:
            existing = conn.execute(
                select(budgets.c.budget_id, budgets.c.created_ms).where(
                    budgets.c.scope == budget.scope, budgets.c.subject == budget.subject
                )
            ).first()
            values = {
                "scope": budget.scope,
                "subject": budget.subject,
                "amount_micros": budget.amount_micros,
                "currency": budget.currency,
                "thresholds": ",".join(str(t) for t in budget.thresholds),
                "webhook_url": budget.webhook_url,
            }
            if existing is None:
                conn.execute(
                    budgets.insert().values(
                        budget_id=budget.budget_id, created_ms=budget.created_ms, **values
                    )
                )
                return budget
            conn.execute(update(budgets).where(budgets.c.budget_id == existing[0]).values(**values))
            return Budget(
                existing[0],
                budget.scope,
                budget.subject,
                budget.amount_micros,
                budget.currency,
                budget.thresholds,
                budget.webhook_url,
                int(existing[1]),
            )

        return self._db.write(work)

    def list_budgets(self) -> list[Budget]:
        """Every budget, by scope and subject."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(*_BUDGET_COLUMNS).order_by(budgets.c.scope, budgets.c.subject)
            )
            return [_budget(r) for r in rows]

    def has_budgets(self) -> bool:
        """Whether any budget is set (one cheap query, made at every run end)."""
        with self._db.read() as conn:
            return conn.execute(select(budgets.c.budget_id).limit(1)).first() is not None

    def delete_budget(self, scope: str, subject: str) -> bool:
        """Remove a budget; False if there was none."""

        def work(conn: Connection) -> int:
            result = conn.execute(
                delete(budgets).where(budgets.c.scope == scope, budgets.c.subject == subject)
            )
            return int(result.rowcount)

        return self._db.write(work) > 0


def _nested(conn: Connection, parent_run_id: str, host: str) -> list[ResourceUsage]:
    cols = [run_resources.c[n] for n in _USAGE_FIELDS]
    query = (
        select(*cols)
        .join(runs, runs.c.run_id == run_resources.c.run_id)
        .where(runs.c.parent_run_id == parent_run_id, run_resources.c.host == host)
    )
    return [_usage(row) for row in conn.execute(query)]


def _storage_share(conn: Connection, run_id: str) -> int:
    """``run_id``'s share of its blobs: the same split as ``accounting.split_evenly``.

    A blob of ``size`` bytes used by ``n`` runs costs each ``size // n`` bytes, and
    one byte more to the first ``size % n`` of them in run id order. The database
    counts the users and this run's rank among them, so a blob shared by every run
    (an environment file) costs the same to account for in the ten-thousandth run
    as in the first.
    """
    other = run_artifacts.alias("other")
    mine = run_artifacts.alias("mine")
    users = (
        select(func.count(func.distinct(other.c.run_id)))
        .where(other.c.digest == mine.c.digest)
        .scalar_subquery()
    )
    before = (
        select(func.count(func.distinct(other.c.run_id)))
        .where(other.c.digest == mine.c.digest, other.c.run_id < run_id)
        .scalar_subquery()
    )
    query = (
        select(func.max(mine.c.size), users, before)
        .where(mine.c.run_id == run_id)
        .group_by(mine.c.digest)
    )
    total = 0
    for size, n, rank in conn.execute(query):
        base, extra = divmod(int(size), int(n))
        total += base + (1 if int(rank) < extra else 0)
    return total


def _facts(conn: Connection, run_id: str | None) -> list[RunFacts]:
    query = select(
        runs.c.run_id,
        runs.c.name,
        experiments.c.name,
        runs.c.parent_run_id,
        runs.c.status,
        runs.c.start_ms,
        runs.c.end_ms,
    ).join(experiments, experiments.c.experiment_id == runs.c.experiment_id)
    tag_query = select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
        run_tags.c.key.like(RESOURCE_TAG_PREFIX + "%")
    )
    if run_id is not None:
        query = query.where(runs.c.run_id == run_id)
        tag_query = tag_query.where(run_tags.c.run_id == run_id)
    rows = conn.execute(query).all()
    declared: dict[str, dict[str, str]] = {}
    for rid, key, value in conn.execute(tag_query):
        declared.setdefault(rid, {})[key[len(RESOURCE_TAG_PREFIX) :]] = value
    return [
        RunFacts(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], declared.get(r[0], {}))
        for r in rows
    ]


def _window(since_ms: int | None, until_ms: int | None, experiment: str | None) -> list[Any]:
    conditions: list[Any] = []
    if since_ms is not None:
        conditions.append(runs.c.start_ms >= since_ms)
    if until_ms is not None:
        conditions.append(runs.c.start_ms < until_ms)
    if experiment is not None:
        conditions.append(experiments.c.name == experiment)
    return conditions


def _is_digest_column(name: str) -> bool:
    return name == "digest" or name.endswith("_digest")


def _digest_tables(conn: Connection, skip: set[str]) -> Iterable[Table]:
    """Tables of the live database (other than ``skip``) with a digest column."""
    inspector = inspect(conn)
    meta = MetaData()
    for name in inspector.get_table_names():
        if name in skip:
            continue
        columns = inspector.get_columns(name)
        if not any(_is_digest_column(c["name"]) for c in columns):
            continue
        yield Table(name, meta, *[Column(c["name"], c["type"]) for c in columns])


class AlertRepository:
    """The alert log: budgets write here, and monitoring will too."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, alert: Alert) -> None:
        """Store one alert."""
        row = alert.to_dict()
        row["payload"] = json.dumps(alert.payload, sort_keys=True, default=str)
        self._db.write(lambda conn: conn.execute(alerts.insert().values(**row)))

    def list(
        self,
        *,
        source: str | None = None,
        kind: str | None = None,
        subject: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """Alerts, newest first, optionally filtered."""
        conditions: list[Any] = []
        if source is not None:
            conditions.append(alerts.c.source == source)
        if kind is not None:
            conditions.append(alerts.c.kind == kind)
        if subject is not None:
            conditions.append(alerts.c.subject == subject)
        if since_ms is not None:
            conditions.append(alerts.c.created_ms >= since_ms)
        query = select(
            alerts.c.id,
            alerts.c.source,
            alerts.c.kind,
            alerts.c.severity,
            alerts.c.subject,
            alerts.c.message,
            alerts.c.created_ms,
            alerts.c.payload,
        ).order_by(alerts.c.created_ms.desc(), alerts.c.id.desc())
        if conditions:
            query = query.where(and_(*conditions))
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [
                Alert(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), json.loads(r[7]))
                for r in conn.execute(query)
            ]
