"""Fixtures of the store contract suite.

``store_url`` and ``store`` override the project-wide fixtures with cheaper
equivalents, because this suite opens a store in almost every test: on SQLite
each test gets a copy of a store file created once per session; on PostgreSQL
all tests share one schema created once per session, emptied before each test
(creating 15 tables costs ~0.3 s per test there). Tests that need a database
that has never been opened (migrations) make their own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete

from ninefold import _process
from ninefold._ids import new_id
from ninefold.store import Experiment, MetadataStore
from ninefold.store.schema import metadata
from tests.conftest import POSTGRES_URL, _postgres_schema_url
from tests.store.helpers import MakeRun


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file at the head revision, to be copied by each test."""
    path = tmp_path_factory.mktemp("template") / "ninefold.db"
    MetadataStore(f"sqlite:///{path}").close()
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_session_store() -> Iterator[MetadataStore]:
    """A store in a PostgreSQL schema of its own, shared by the session's tests."""
    if not POSTGRES_URL:
        pytest.skip("NINEFOLD_TEST_POSTGRES_URL is not set")
    for url in _postgres_schema_url():
        store = MetadataStore(url)
        yield store
        store.close()


def _empty(store: MetadataStore) -> None:
    def work(conn: Connection) -> None:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))

    store.db.write(work)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store at head, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "store" / "ninefold.db"
        path.parent.mkdir()
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    shared: MetadataStore = request.getfixturevalue("postgres_session_store")
    _empty(shared)
    return shared.url


@pytest.fixture
def store(store_url: str) -> Iterator[MetadataStore]:
    """An open, empty metadata store on each backend."""
    s = MetadataStore(store_url)
    yield s
    s.close()


@pytest.fixture
def experiment(store: MetadataStore) -> Experiment:
    """An experiment called ``exp`` in the test's store."""
    return store.experiments.create("exp", description="contract tests")


@pytest.fixture
def make_run(store: MetadataStore, experiment: Experiment) -> MakeRun:
    """Create a running run (of this process, by default) and return its id."""
    this_host, this_pid, this_started = _process.current()

    def make(
        name: str = "run",
        *,
        experiment_id: str | None = None,
        parent_run_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        start_ms: int | None = None,
        host: str | None = None,
        pid: int | None = None,
        pid_started: float | None = None,
    ) -> str:
        run_id = new_id()
        store.runs.create(
            run_id=run_id,
            experiment_id=experiment_id or experiment.experiment_id,
            name=name,
            parent_run_id=parent_run_id,
            host=this_host if host is None else host,
            pid=this_pid if pid is None else pid,
            pid_started=this_started if pid is None else pid_started,
            user="tester",
            params_=params,
            tags=tags,
            start_ms=start_ms,
        )
        return run_id

    return make
