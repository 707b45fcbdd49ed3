"""Shared fixtures: a fresh project folder per test and stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from ninefold.store import MetadataStore
from ninefold.tracking import fluent
from ninefold.tracking.client import Client, reset_clients
from ninefold.tracking.writer import writer

POSTGRES_URL = os.environ.get("NINEFOLD_TEST_POSTGRES_URL")

# Property tests: no per-example deadline (CI machines are shared and slow) and a
# fixed example sequence, so a run fails or passes the same way every time.
# Explore fresh examples locally with: HYPOTHESIS_PROFILE=explore make test
settings.register_profile("ninefold", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ninefold"))


def _end_active_runs() -> None:
    while (run := fluent.active_run()) is not None:
        run.end("killed")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty ninefold project (``ninefold.toml``) as the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "ninefold.toml").write_text("[tracking]\nflush_interval_s = 0.2\n")
    monkeypatch.chdir(root)
    for var in ("NINEFOLD_STORE_URL", "NINEFOLD_ARTIFACT_ROOT", "NINEFOLD_EXPERIMENT"):
        monkeypatch.delenv(var, raising=False)
    reset_clients()
    yield root
    _end_active_runs()
    writer.flush()
    reset_clients()


def _postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    assert POSTGRES_URL is not None
    from sqlalchemy import create_engine, text

    from ninefold.store.database import normalize_url

    schema = f"nf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty metadata store, once on SQLite and once on PostgreSQL.

    The PostgreSQL variant runs when ``NINEFOLD_TEST_POSTGRES_URL`` is set and is
    skipped otherwise.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'ninefold.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("NINEFOLD_TEST_POSTGRES_URL is not set")
    yield from _postgres_schema_url()


@pytest.fixture
def store(store_url: str) -> Iterator[MetadataStore]:
    """An open, empty metadata store on each backend."""
    s = MetadataStore(store_url)
    yield s
    s.close()


@pytest.fixture
def client(store_url: str, tmp_path: Path, project: Path) -> Iterator[Client]:
    """A tracking client over an empty store (each backend) and a local artifact folder.

    The fluent API (``nf.start_run``) uses the same store: the project's
    settings point at it through ``NINEFOLD_STORE_URL``.
    """
    os.environ["NINEFOLD_STORE_URL"] = store_url
    try:
        reset_clients()
        from ninefold.tracking.client import get_client

        yield get_client()
    finally:
        _end_active_runs()
        writer.flush()
        reset_clients()
        del os.environ["NINEFOLD_STORE_URL"]
