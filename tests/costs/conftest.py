"""Fixtures for the cost tests: a project that samples fast, and helpers that burn CPU."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ninefold.tracking.client import Client

FAST_SAMPLING = """
[costs]
sample_interval_s = 0.05
bucket_s = 0.2
child_refresh_s = 0.05
"""


def burn(cpu_seconds: float) -> None:
    """Spin until this thread has used ``cpu_seconds`` of CPU."""
    start = time.thread_time()
    x = 0
    while time.thread_time() - start < cpu_seconds:
        x += sum(range(2000))


@pytest.fixture
def fast_project(project: Path) -> Path:
    """The test project, sampling every 50 ms into 200 ms aggregates."""
    with (project / "ninefold.toml").open("a") as fh:
        fh.write(FAST_SAMPLING)
    return project


@pytest.fixture
def cost_client(client: Client, fast_project: Path) -> Client:
    """A client on each backend, in a project that samples fast."""
    return client
