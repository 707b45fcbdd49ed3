"""Migration 0003 adds the cost tables to a store created at 0002, matching the schema exactly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ninefold.store import MetadataStore
from ninefold.store.database import Database
from ninefold.store.migrate import HEAD, _alembic_config, current_revision
from ninefold.store.schema import metadata

COST_TABLES = {"run_resources", "run_costs", "budgets", "alerts"}


def test_upgrade_from_0002_creates_the_cost_tables(store_url: str) -> None:
    db = Database(store_url)
    db.write(lambda conn: command.upgrade(_alembic_config(conn), "0002"))
    with db.read() as conn:
        assert current_revision(conn) == "0002"
        assert not COST_TABLES & set(inspect(conn).get_table_names())
    db.dispose()
    store = MetadataStore(store_url)
    try:
        assert store.schema_action == "upgraded"
        with store.db.read() as conn:
            assert current_revision(conn) == HEAD >= "0003"
            assert set(inspect(conn).get_table_names()) >= COST_TABLES
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert store.costs.list_budgets() == []
        assert store.alerts.list() == []
    finally:
        store.close()
