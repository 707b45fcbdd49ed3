"""Experiments: named groups of runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from ninefold._ids import new_id, now_ms
from ninefold._names import check_name
from ninefold.errors import AlreadyExists, ExperimentNotFound
from ninefold.store.database import Database
from ninefold.store.records import Experiment
from ninefold.store.schema import experiments, runs


def _record(row: Any) -> Experiment:
    return Experiment(row[0], row[1], row[2], row[3])


_COLUMNS = (
    experiments.c.experiment_id,
    experiments.c.name,
    experiments.c.description,
    experiments.c.created_ms,
)


class ExperimentRepository:
    """Create, find and list experiments."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, name: str, description: str | None = None) -> Experiment:
        """Create an experiment; raises :class:`AlreadyExists` if the name is taken."""
        check_name(name, "Experiment")
        exp = Experiment(new_id(), name, description, now_ms())

        def work(conn: Connection) -> None:
            conn.execute(
                experiments.insert().values(
                    experiment_id=exp.experiment_id,
                    name=name,
                    description=description,
                    created_ms=exp.created_ms,
                )
            )

        try:
            self._db.write(work)
        except SAIntegrityError as exc:
            raise AlreadyExists(f"Experiment {name!r} already exists.") from exc
        return exp

    def get_or_create(self, name: str) -> Experiment:
        """The experiment called ``name``, created if it does not exist yet."""
        found = self.find(name)
        if found is not None:
            return found
        try:
            return self.create(name)
        except AlreadyExists:  # another process created it meanwhile
            return self.get(name)

    def find(self, name_or_id: str) -> Experiment | None:
        """The experiment with this name (or id), or None."""
        with self._db.read() as conn:
            row = conn.execute(select(*_COLUMNS).where(experiments.c.name == name_or_id)).first()
            if row is None:
                row = conn.execute(
                    select(*_COLUMNS).where(experiments.c.experiment_id == name_or_id)
                ).first()
        return None if row is None else _record(row)

    def get(self, name_or_id: str) -> Experiment:
        """The experiment with this name (or id); raises :class:`ExperimentNotFound`."""
        found = self.find(name_or_id)
        if found is None:
            raise ExperimentNotFound(
                f"No experiment named {name_or_id!r}. List them with: ninefold experiments list"
            )
        return found

    def list(self) -> list[Experiment]:
        """All experiments, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(select(*_COLUMNS).order_by(experiments.c.created_ms)).all()
        return [_record(r) for r in rows]

    def run_counts(self) -> dict[str, int]:
        """Number of runs per experiment id."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(runs.c.experiment_id, func.count()).group_by(runs.c.experiment_id)
            ).all()
        return {r[0]: int(r[1]) for r in rows}
