"""Types and small helpers shared by the store contract tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class MakeRun(Protocol):
    """The ``make_run`` fixture: create a running run and return its id."""

    def __call__(
        self,
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
    ) -> str: ...
