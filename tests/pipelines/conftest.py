"""Fixtures for pipeline tests: a project on SQLite, a module written to disk, store checks."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ninefold.store import RunStatus
from ninefold.tracking.client import Client


@pytest.fixture
def nf_client(project: Path) -> Iterator[Client]:
    """The client of a fresh project (SQLite store and local artifacts in the project)."""
    from ninefold.tracking.client import get_client

    return get_client()


WriteModule = Callable[[str, str], ModuleType]


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriteModule]:
    """Write a module of "user code" to disk and import it; writing it again re-imports it."""
    folder = tmp_path / "usercode"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    names: list[str] = []

    def write(name: str, source: str) -> ModuleType:
        path = folder / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        sys.modules.pop(name, None)
        names.append(name)
        return importlib.import_module(name)

    yield write
    for name in names:
        sys.modules.pop(name, None)


def running_runs(client: Client) -> list[str]:
    """Ids of runs still marked running."""
    return [r[0] for r in client.store.runs.running()]


def statuses(client: Client, run_ids: list[str]) -> dict[str, RunStatus]:
    """Status of each run."""
    return {rid: run.status for rid, run in client.store.runs.get_many(run_ids).items()}
