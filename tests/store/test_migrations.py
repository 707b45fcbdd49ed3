"""Contract: schema creation, Alembic migrations and schema versions (every backend).

A new store is made with ``create_all`` and stamped at head; an old one is
upgraded by the migrations. These tests prove both paths give the same schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text

from ninefold.errors import StoreError
from ninefold.store import MetadataStore
from ninefold.store.database import Database
from ninefold.store.migrate import HEAD, _alembic_config, alembic_version, current_revision
from ninefold.store.schema import experiments, metadata
from tests.conftest import POSTGRES_URL, _postgres_schema_url

FIRST = "0001"


def _fresh(request: pytest.FixtureRequest, tmp_path: Path, label: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / label / 'ninefold.db'}"
    elif POSTGRES_URL:
        yield from _postgres_schema_url()
    else:
        pytest.skip("NINEFOLD_TEST_POSTGRES_URL is not set")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that ninefold has never opened."""
    yield from _fresh(request, tmp_path, "empty")


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two never-opened databases on the same backend."""
    for first in _fresh(request, tmp_path, "a"):
        for second in _fresh(request, tmp_path, "b"):
            yield first, second


def _migrate(url: str, revision: str = "head") -> None:
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    finally:
        db.dispose()


def _differences(url: str) -> list[Any]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        db.dispose()


def _structure(conn: Connection) -> dict[str, Any]:
    """Every table's columns, keys and indexes as reflected from the database."""
    insp = inspect(conn)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["name"])
                for f in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
        }
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        out["without rowid"] = sorted(n for n, sql in rows if "WITHOUT ROWID" in sql.upper())
    return out


def _reflect(url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return _structure(conn)
    finally:
        db.dispose()


def test_migrations_from_empty_build_exactly_the_declared_schema(empty_url: str) -> None:
    _migrate(empty_url)

    assert _differences(empty_url) == []
    store = MetadataStore(empty_url)
    try:
        assert store.schema_action == "current"
        with store.db.read() as conn:
            assert current_revision(conn) == HEAD
    finally:
        store.close()


def test_created_and_migrated_stores_have_the_same_schema(pair: tuple[str, str]) -> None:
    created_url, migrated_url = pair
    created = MetadataStore(created_url)
    assert created.schema_action == "created"
    created.close()
    _migrate(migrated_url)

    assert _differences(created_url) == []
    created_schema, migrated_schema = _reflect(created_url), _reflect(migrated_url)
    assert set(metadata.tables) | {"alembic_version"} <= set(created_schema)
    assert created_schema == migrated_schema


def test_an_old_store_is_upgraded_on_open_and_keeps_its_data(empty_url: str) -> None:
    if HEAD == FIRST:
        pytest.skip("only one migration so far")
    _migrate(empty_url, FIRST)
    db = Database(empty_url)
    with db.engine.begin() as conn:
        conn.execute(
            experiments.insert().values(
                experiment_id="e" * 32, name="kept", description=None, created_ms=1
            )
        )
    db.dispose()

    store = MetadataStore(empty_url)
    try:
        assert store.schema_action == "upgraded"
        assert store.experiments.get("kept").experiment_id == "e" * 32
        with store.db.read() as conn:
            assert current_revision(conn) == HEAD
    finally:
        store.close()
    assert _differences(empty_url) == []


def test_reopening_a_store_is_current(store_url: str) -> None:
    first = MetadataStore(store_url)
    second = MetadataStore(store_url)
    try:
        assert second.schema_action == "current"
        assert second.experiments.create("x") == first.experiments.get("x")
    finally:
        first.close()
        second.close()


def test_first_open_creates_at_head(empty_url: str) -> None:
    store = MetadataStore(empty_url)
    try:
        assert store.schema_action == "created"
        with store.db.read() as conn:
            assert current_revision(conn) == HEAD
    finally:
        store.close()


def test_tables_without_a_schema_version_are_refused(empty_url: str) -> None:
    db = Database(empty_url)
    with db.engine.begin() as conn:
        metadata.create_all(conn)
    db.dispose()

    with pytest.raises(StoreError, match="no schema version") as info:
        MetadataStore(empty_url)
    assert "NINEFOLD_STORE_URL" in str(info.value)


def test_a_store_from_a_newer_ninefold_is_refused(empty_url: str) -> None:
    MetadataStore(empty_url).close()
    db = Database(empty_url)
    with db.engine.begin() as conn:
        conn.execute(alembic_version.update().values(version_num="9999"))
    db.dispose()

    with pytest.raises(StoreError) as info:
        MetadataStore(empty_url)
    message = str(info.value)
    assert "'9999'" in message
    assert HEAD in message
    assert "upgrade ninefold" in message.lower()

    db = Database(empty_url)
    with db.engine.connect() as conn:
        assert conn.execute(select(alembic_version.c.version_num)).scalar() == "9999"
    db.dispose()
