"""The schedule API: what a schedule accepts, what it refuses and how it says so."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold.errors import AlreadyExists, InvalidArgument, NotFound
from ninefold.pipelines.schedules import (
    AlertFilter,
    add_schedule,
    describe_trigger,
    fire,
    get_schedule,
    list_schedules,
    next_slot,
    remove_schedule,
    schedule_history,
    set_schedule_enabled,
)
from ninefold.store.costs import Alert
from ninefold.tracking.client import Client
from tests.pipelines.conftest import WriteModule

FLOWS = """
import ninefold as nf

@nf.step
def add(x: int, y: int) -> int:
    return x + y

@nf.pipeline(name="simple")
def simple(x: int = 1, dataset_version: int = 0):
    return add(x, dataset_version)

@nf.pipeline(name="needs")
def needs(dataset_version: int, x: int):
    return add(x, dataset_version)
"""


@pytest.fixture
def flows(user_module: WriteModule, nf_client: Client) -> str:
    user_module("sched_api_flows", FLOWS)
    return "sched_api_flows"


def test_each_trigger_kind_is_stored_with_its_spec(flows: str) -> None:
    cron = add_schedule("c", f"{flows}:simple", cron="0 3 * * MON", timezone="Europe/Berlin")
    ds = add_schedule("d", f"{flows}:simple", on_dataset="sales")
    al = add_schedule("a", f"{flows}:simple", on_alert={"kind": "drift", "severity": ["error"]})
    rf = add_schedule("r", f"{flows}:simple", on_run_finished="train", statuses=["failed"])
    ex = add_schedule("e", f"{flows}:simple", on_run_finished="experiment:churn")
    mn = add_schedule("m", f"{flows}:simple", manual=True, params={"x": 3}, timeout_s=60)
    assert (cron.kind, cron.spec, cron.timezone) == ("cron", "0 3 * * MON", "Europe/Berlin")
    assert (ds.kind, ds.spec) == ("dataset", "sales")
    assert (al.kind, al.spec) == ("alert", "kind=drift,severity=error")
    assert (rf.kind, rf.spec, rf.options) == (
        "run_finished",
        "pipeline:train",
        {"statuses": ["failed"], "allow_loops": False},
    )
    assert ex.spec == "experiment:churn"
    assert (mn.kind, mn.params, mn.timeout_s) == ("manual", {"x": 3}, 60.0)
    assert [s.name for s in list_schedules()] == ["a", "c", "d", "e", "m", "r"]
    assert describe_trigger(cron) == "cron '0 3 * * MON' (At 03:00 on Monday, Europe/Berlin)"
    assert describe_trigger(rf) == "run of pipeline:train failed"
    slot = next_slot(cron)
    assert slot is not None
    assert next_slot(ds) is None


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({}, "needs exactly one trigger, got none"),
        ({"cron": "@daily", "manual": True}, "needs exactly one trigger, got ['cron', 'manual']"),
        ({"cron": "0 3 * * MNO"}, "day-of-week field 'MNO' is not valid"),
        ({"on_dataset": "sales", "timezone": "UTC"}, "timezone is only for cron schedules"),
        ({"cron": "@daily", "catchup": "all"}, "would run every missed cron slot"),
        ({"on_dataset": "sales", "catchup": "skip"}, "catchup='skip' is for cron schedules"),
        ({"cron": "@daily", "catchup": "never"}, "catchup='never' is not one of"),
        ({"on_dataset": "bad name!"}, "Dataset name 'bad name!' is not allowed"),
        ({"on_alert": "kind:drift"}, "must look like field=pattern"),
        ({"on_alert": "colour=red"}, "Alert filter field 'colour' is not known"),
        ({"on_run_finished": "job:x"}, "name a pipeline ('training' or 'pipeline:training')"),
        ({"on_run_finished": "x", "statuses": ["done"]}, "must be some of"),
        ({"manual": True, "timeout_s": 0}, "timeout_s=0 must be > 0 seconds"),
        ({"manual": True, "params": {"y": 1}}, "has no param(s) ['y']; its params are"),
        ({"manual": True, "params": {"x": object()}}, "params must be JSON values"),
    ],
)
def test_bad_schedules_are_refused_with_the_fix(
    flows: str, kwargs: dict[str, object], says: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        add_schedule("s", f"{flows}:simple", **kwargs)  # type: ignore[arg-type]
    assert says in str(err.value)
    assert list_schedules() == []


def test_a_required_param_must_come_from_somewhere(flows: str) -> None:
    with pytest.raises(InvalidArgument, match=r"needs param\(s\) \['dataset_version'\]"):
        add_schedule("s", f"{flows}:needs", cron="@daily", params={"x": 1})
    with pytest.raises(InvalidArgument, match=r"a dataset trigger offers \['dataset_name'"):
        add_schedule("s", f"{flows}:needs", on_dataset="sales")
    # The dataset trigger offers dataset_version; x is given.
    assert add_schedule("s", f"{flows}:needs", on_dataset="sales", params={"x": 1}).name == "s"


def test_target_and_name_are_checked(flows: str) -> None:
    with pytest.raises(InvalidArgument, match="must be MODULE:PIPELINE"):
        add_schedule("s", "no_colon", manual=True)
    with pytest.raises(nf.NinefoldError, match="no attribute 'nope'"):
        add_schedule("s", f"{flows}:nope", manual=True)
    with pytest.raises(InvalidArgument, match="Schedule name 'a b' is not allowed"):
        add_schedule("a b", f"{flows}:simple", manual=True)
    # Without the check the target is stored as given (imported where the scheduler runs).
    assert add_schedule("s", "elsewhere:pipe", manual=True, check=False).target == "elsewhere:pipe"


def test_names_are_unique_unless_replaced(flows: str) -> None:
    first = add_schedule("s", f"{flows}:simple", cron="@daily")
    with pytest.raises(AlreadyExists, match="--replace"):
        add_schedule("s", f"{flows}:simple", manual=True)
    second = add_schedule("s", f"{flows}:simple", manual=True, replace=True)
    assert second.kind == "manual"
    assert second.schedule_id != first.schedule_id
    assert get_schedule("s") == second


def test_fire_queues_remove_keeps_history(flows: str) -> None:
    add_schedule("s", f"{flows}:simple", manual=True)
    queued = fire("s", params={"x": 4})
    assert queued.status == "pending"
    assert queued.event["override"] == {"x": 4}
    assert [f.firing_id for f in schedule_history("s")] == [queued.firing_id]
    assert not set_schedule_enabled("s", False).enabled
    remove_schedule("s")
    with pytest.raises(NotFound, match="No schedule named 's'"):
        get_schedule("s")
    with pytest.raises(NotFound, match="No schedule named 's'"):
        schedule_history("s")
    assert [f.status for f in schedule_history()] == ["skipped"]


def test_alert_filters_match_globs_and_alternatives() -> None:
    wanted = AlertFilter.parse("source=monitor*,kind=drift|quality,subject=churn-*")
    assert wanted.text() == "source=monitor*,kind=drift|quality,subject=churn-*"

    def alert(source: str, kind: str, subject: str) -> Alert:
        return Alert("id", source, kind, "error", subject, "m", 0, {})

    assert wanted.matches(alert("monitoring", "quality", "churn-v2"))
    assert not wanted.matches(alert("budgets", "drift", "churn-v2"))
    assert not wanted.matches(alert("monitoring", "latency", "churn-v2"))
    assert not wanted.matches(alert("monitoring", "drift", "fraud"))
    assert AlertFilter.parse(True).matches(alert("a", "b", "c"))
    assert AlertFilter.parse("*").text() == "*"
