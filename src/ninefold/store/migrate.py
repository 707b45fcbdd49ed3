"""Schema creation and Alembic migrations, applied automatically on open.

A fresh store is created in one transaction with ``create_all`` and stamped at
the head revision (replaying every migration is slow, and a test proves both
paths give the same tables). An older store is upgraded with Alembic. A store
at head costs one ``SELECT`` to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, MetaData, String, Table, inspect, select, text
from sqlalchemy.exc import DBAPIError

from ninefold.errors import StoreError
from ninefold.store.database import Database
from ninefold.store.schema import metadata

_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def _revisions() -> frozenset[str]:
    """Every revision: migration files are named ``NNNN_<what>.py`` with revision ``NNNN``."""
    return frozenset(p.name[:4] for p in _VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


REVISIONS = _revisions()
"""The revisions this version of ninefold can read or upgrade from."""

HEAD = max(REVISIONS)
"""The newest migration revision (each file in ``versions/`` is one, numbered in order)."""

_version_meta = MetaData()
alembic_version = Table(
    "alembic_version",
    _version_meta,
    Column("version_num", String(32), primary_key=True),
)


def current_revision(conn: Connection) -> str | None:
    """The store's schema revision, or None for an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(select(alembic_version.c.version_num)).scalar()


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def ensure_schema(db: Database) -> str:
    """Create or upgrade the schema so that the store is at :data:`HEAD`.

    Returns:
        What was done: ``"current"``, ``"created"`` or ``"upgraded"``.
    """
    with db.read() as conn:
        if _at_head(conn):
            return "current"

    def work(conn: Connection) -> str:
        if db.dialect == "postgresql":
            # Serialise concurrent first opens of the same database.
            conn.execute(text("SELECT pg_advisory_xact_lock(914591)"))
        revision = current_revision(conn)
        if revision == HEAD:
            return "current"
        if revision is None:
            tables = set(inspect(conn).get_table_names())
            if tables & set(metadata.tables):
                raise StoreError(
                    "The database has ninefold tables but no schema version; it was not "
                    "created by ninefold or is damaged. Point NINEFOLD_STORE_URL at another "
                    "database or restore it from a backup."
                )
            metadata.create_all(conn)
            _version_meta.create_all(conn)
            conn.execute(alembic_version.insert().values(version_num=HEAD))
            return "created"
        if revision not in REVISIONS:
            raise StoreError(
                f"The metadata store at {db.safe_url()} has schema revision {revision!r}, newer "
                f"than this ninefold knows (its newest is {HEAD!r}): it was written by a newer "
                "ninefold. Upgrade ninefold (pip install -U ninefold), or point "
                "NINEFOLD_STORE_URL at another database."
            )
        from alembic import command

        command.upgrade(_alembic_config(conn), "head")
        return "upgraded"

    return db.write(work)


def _at_head(conn: Connection) -> bool:
    try:
        return conn.execute(select(alembic_version.c.version_num)).scalar() == HEAD
    except DBAPIError:
        conn.rollback()
        return False


def upgrade(db: Database) -> tuple[str | None, str]:
    """Apply pending migrations explicitly (``ninefold db upgrade``).

    Returns:
        The revision before and after.
    """
    with db.read() as conn:
        before = current_revision(conn)
    ensure_schema(db)
    return before, HEAD
