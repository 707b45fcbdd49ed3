"""``ninefold schedule ...`` and ``ninefold scheduler --once`` round trips, as a user types them."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ninefold import _process
from ninefold.store.schedules import Owner
from ninefold.tracking.client import get_client
from tests.cli.conftest import Invoke, as_json

FLOWS = """
import ninefold as nf

@nf.step
def add(x: int, y: int) -> int:
    return x + y

@nf.pipeline(name="simple")
def simple(x: int = 1, dataset_version: int = 0):
    return add(x, dataset_version)

@nf.step
def explode(x: int) -> int:
    raise RuntimeError("kaboom")

@nf.pipeline(name="broken")
def broken(x: int = 1):
    return explode(x)
"""


@pytest.fixture
def flows(project: Path) -> Iterator[str]:
    """A pipeline file in the project; the target prefix ``sched_cli_flows.py``."""
    (project / "sched_cli_flows.py").write_text(textwrap.dedent(FLOWS))
    yield "sched_cli_flows.py"
    sys.modules.pop("sched_cli_flows", None)


def test_add_list_show_fire_history_remove(cli: Invoke, flows: str) -> None:
    added = as_json(
        cli(
            "schedule", "add", "nightly", f"{flows}:simple", "--cron", "0 3 * * 1-5",
            "--tz", "Europe/Berlin", "--param", "x=4", "--json",
        )
    )  # fmt: skip
    assert (added["kind"], added["spec"], added["timezone"]) == (
        "cron",
        "0 3 * * 1-5",
        "Europe/Berlin",
    )
    assert added["params"] == {"x": 4}
    assert "Monday through Friday" in added["trigger"]
    assert added["next_ms"] is not None
    cli("schedule", "add", "on-data", f"{flows}:simple", "--on-dataset", "sales")
    listed = as_json(cli("schedule", "list", "--json"))
    assert [s["name"] for s in listed] == ["nightly", "on-data"]
    text = cli("schedule", "list").stdout
    assert "nightly" in text
    assert "new version of dataset 'sales'" in text

    queued = as_json(cli("schedule", "fire", "nightly", "--param", "x=7", "--json"))
    assert queued["status"] == "pending"
    ran = as_json(cli("scheduler", "--once", "--inline", "--json"))
    assert [(f["firing_id"], f["status"]) for f in ran] == [(queued["firing_id"], "finished")]
    assert get_client().get_run(ran[0]["run_id"]).params["x"] == "7"

    history = as_json(cli("schedule", "history", "nightly", "--json"))
    assert [h["firing_id"] for h in history] == [queued["firing_id"]]
    shown = as_json(cli("schedule", "show", "nightly", "--json"))
    assert len(shown["upcoming_ms"]) == 5
    assert shown["firings"][0]["run_id"] == ran[0]["run_id"]
    assert "Recent firings" in cli("schedule", "show", "nightly").stdout

    cli("schedule", "pause", "nightly")
    assert as_json(cli("schedule", "show", "nightly", "--json"))["enabled"] is False
    cli("schedule", "resume", "nightly")
    cli("schedule", "remove", "on-data")
    assert [s["name"] for s in as_json(cli("schedule", "list", "--json"))] == ["nightly"]


def test_a_cron_typo_is_a_clear_error(cli: Invoke, flows: str) -> None:
    result = cli("schedule", "add", "s", f"{flows}:simple", "--cron", "0 3 * * MNO", code=1)
    assert "day-of-week field 'MNO' is not valid" in result.stderr
    assert "SUN-SAT" in result.stderr
    assert as_json(cli("schedule", "list", "--json")) == []


def test_bad_input_exits_1_with_the_fix(cli: Invoke, flows: str) -> None:
    missing = cli("schedule", "remove", "nope", code=1)
    assert "No schedule named 'nope'" in missing.stderr
    both = cli("schedule", "add", "s", f"{flows}:simple", "--cron", "@daily", "--manual", code=1)
    assert "needs exactly one trigger" in both.stderr
    param = cli("schedule", "add", "s", f"{flows}:simple", "--manual", "-p", "y=1", code=1)
    assert "has no such param" in param.stderr
    cli("schedule", "add", "s", f"{flows}:simple", "--manual")
    again = cli("schedule", "add", "s", f"{flows}:simple", "--manual", code=1)
    assert "--replace" in again.stderr


def test_fire_now_and_a_failing_firing_exit_1(cli: Invoke, flows: str) -> None:
    cli("schedule", "add", "ok", f"{flows}:simple", "--manual")
    cli("schedule", "add", "bad", f"{flows}:broken", "--manual")
    done = as_json(cli("schedule", "fire", "ok", "--now", "--json"))
    assert done["status"] == "finished"
    failed = cli("schedule", "fire", "bad", "--now", code=1)
    assert "failed" in failed.stdout
    assert "kaboom" in failed.stderr
    cli("schedule", "fire", "bad")
    ran = cli("scheduler", "--once", "--inline", code=1)
    assert "bad failed" in ran.stdout
    assert "Nothing was due." in cli("scheduler", "--once", "--inline").stdout


def test_a_second_scheduler_is_refused(cli: Invoke, project: Path) -> None:
    repo = get_client().store.schedules
    ok, _ = repo.acquire_lease(
        "someone-else", Owner(*_process.current()), stale_ms=60_000, holder_gone=lambda _: False
    )
    assert ok
    refused = cli("scheduler", "--once", code=1)
    assert "Another scheduler is running" in refused.stderr
    assert "--wait" in refused.stderr
    lease = repo.lease()
    assert lease is not None
    assert lease.owner_id == "someone-else"
