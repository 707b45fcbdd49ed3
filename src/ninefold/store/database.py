"""Engine setup, transactions and retries for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade, and a
write that still meets "database is locked" is retried with backoff. Every
write either commits whole or raises.
"""

from __future__ import annotations

import os
import random
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from ninefold.errors import ConfigError, StoreError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
WRITE_ATTEMPTS = 12
_WRITE = "ninefold_write"


def normalize_url(url: str) -> str:
    """Map user-facing URLs to the driver ninefold ships with.

    ``postgresql://`` and ``postgres://`` use psycopg 3; a bare path becomes a
    SQLite URL.
    """
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _is_retryable(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    if "database is locked" in text or "database is busy" in text:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in {"40001", "40P01"}  # serialization failure, deadlock


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); the driver must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # LIKE is case-sensitive on PostgreSQL; make SQLite agree (ILIKE stays
        # case-insensitive: SQLAlchemy renders it as lower(x) LIKE lower(y)).
        cur.execute("PRAGMA case_sensitive_like = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine plus read and retrying write transactions.

    Args:
        url: SQLAlchemy URL (``sqlite:///path``, ``postgresql://...``) or a file path.
    """

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        try:
            parsed = make_url(self.url)
        except Exception as exc:
            raise ConfigError(
                f"Store URL {url!r} is not a valid database URL. "
                "Use sqlite:///path/to/file.db or postgresql://user@host/db."
            ) from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:"):
                raise ConfigError("In-memory SQLite is not supported; give a file path.")
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # Pooled: closing the last connection to a WAL database checkpoints
            # it, which would make every small transaction pay for a checkpoint.
            # Forked children drop the pool (see _after_fork).
            self.engine = create_engine(
                self.url,
                pool_size=4,
                max_overflow=16,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _setup_sqlite(self.engine)
        elif self.dialect == "postgresql":
            try:
                self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=4)
            except ImportError as exc:
                raise ConfigError(
                    "PostgreSQL needs the psycopg driver: pip install 'ninefold[postgres]'"
                ) from exc
        else:
            raise ConfigError(
                f"Unsupported database {self.dialect!r} in {url!r}; use SQLite or PostgreSQL."
            )
        _open.add(self)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads; its implicit transaction ends on exit."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(
                f"Cannot read the metadata store at {self.safe_url()}: {exc.orig}"
            ) from exc

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying when the database is busy.

        ``work`` may run more than once, so it must only touch the database.
        """
        delay = 0.01
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(**{_WRITE: True})
                    with conn.begin():
                        return work(conn)
            except DBAPIError as exc:
                if _is_retryable(exc) and attempt < WRITE_ATTEMPTS - 1:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 2.0)
                    continue
                if isinstance(exc, OperationalError):
                    raise StoreError(
                        f"Write to the metadata store at {self.safe_url()} failed: {exc.orig}"
                    ) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def insert(self) -> Callable[..., Any]:
        """This dialect's ``insert`` (it has ``on_conflict_do_*`` for upserts).

        Imported on first use: the PostgreSQL dialect alone costs tens of milliseconds
        at start, and a SQLite store never needs it.
        """
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert

    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


_open: weakref.WeakSet[Database] = weakref.WeakSet()


def _after_fork() -> None:
    # A forked child must never use its parent's connections: forget them
    # without closing (closing would disturb the parent's sessions).
    for db in list(_open):
        db.engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
