"""The scheduler: each slot or event fires once, catch-up after downtime, leases, failures.

Time is injected (``tick(now_ms)``); firings run inline unless a test is about
the child process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ninefold import _process
from ninefold._ids import now_ms
from ninefold.errors import StateError
from ninefold.pipelines.cron import CronExpression
from ninefold.pipelines.scheduler import Scheduler
from ninefold.pipelines.schedules import add_schedule, fire, list_schedules
from ninefold.store import RunStatus
from ninefold.store.costs import Alert
from ninefold.store.schedules import NewFiring, Owner
from ninefold.tracking.client import Client
from tests.pipelines.conftest import WriteModule, running_runs

DAY = 86_400_000
MODULE = "sched_flows"

FLOWS = """
import os
import time

import ninefold as nf

@nf.step
def add(x: int, y: int) -> int:
    return x + y

@nf.pipeline(name="simple")
def simple(x: int = 1, dataset_version: int = 0, alert_id: str = "", scheduled_ms: int = 0):
    return add(x, dataset_version)

@nf.pipeline(name="downstream")
def downstream(upstream_run_id: str, upstream_status: str = ""):
    return add(len(upstream_run_id), 0)

@nf.step
def explode(x: int) -> int:
    raise RuntimeError("kaboom")

@nf.pipeline(name="broken")
def broken(x: int = 1):
    return explode(x)

@nf.step(cache=False)
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds

@nf.pipeline(name="sleepy")
def sleepy(seconds: float = 30.0):
    return nap(seconds)

@nf.step(cache=False)
def die(code: int) -> int:
    os._exit(code)

@nf.pipeline(name="dying")
def dying(code: int = 3):
    return die(code)
"""


@pytest.fixture
def flows(user_module: WriteModule, nf_client: Client) -> Client:
    """The pipelines above importable as ``sched_flows``; the project's client (SQLite)."""
    user_module(MODULE, FLOWS)
    return nf_client


def target(name: str) -> str:
    return f"{MODULE}:{name}"


def first_slot(expr: str, after_ms: int) -> int:
    slot = CronExpression.parse(expr).next_after(after_ms)
    assert slot is not None
    return slot


def triggered_runs(client: Client, tag: str, value: str) -> list[str]:
    """Ids of the runs whose ``ninefold.trigger.<tag>`` tag is ``value``."""
    found = client.store.search(f"tags.`ninefold.trigger.{tag}` = '{value}'")
    return [r[0] for r in found.runs]


def quiet(_: str) -> None:
    """A scheduler log that prints nothing."""


def scheduler(client: Client, **kwargs: object) -> Scheduler:
    kwargs.setdefault("inline", True)
    return Scheduler(client, log=quiet, **kwargs)  # type: ignore[arg-type]


# -- cron ------------------------------------------------------------------------------


def test_a_cron_slot_fires_once_with_its_tags_and_params(flows: Client) -> None:
    s = add_schedule("nightly", target("simple"), cron="0 3 * * *", params={"x": 2})
    slot = first_slot("0 3 * * *", s.created_ms)
    sched = scheduler(flows)
    assert sched.tick(slot - 1000) == []
    (fired,) = sched.tick(slot + 5_000)
    assert fired.status == "finished"
    assert fired.skipped == 0
    assert sched.tick(slot + 6_000) == []
    assert scheduler(flows).tick(slot + 60_000) == []  # a fresh scheduler knows it too
    assert fired.run_id is not None
    run = flows.get_run(fired.run_id)
    assert run.status == RunStatus.FINISHED
    assert run.params["x"] == "2"
    assert run.params["scheduled_ms"] == str(slot)  # declared, so passed
    assert run.tags["ninefold.trigger.schedule"] == "nightly"
    assert run.tags["ninefold.trigger.kind"] == "cron"
    assert run.tags["ninefold.trigger.event"].startswith(
        time.strftime("%Y", time.gmtime(slot / 1000))
    )
    assert run.tags["ninefold.trigger.firing"] == fired.firing_id


def test_after_downtime_only_the_latest_missed_slot_runs(flows: Client) -> None:
    s = add_schedule("nightly", target("simple"), cron="0 3 * * *")
    slot = first_slot("0 3 * * *", s.created_ms)
    # The scheduler was down for three days and restarts at 09:00 on the third.
    (fired,) = scheduler(flows).tick(slot + 2 * DAY + 6 * 3600_000)
    assert fired.event_key == f"cron:{slot + 2 * DAY}"
    assert fired.skipped == 2
    assert fired.status == "finished"
    assert flows.store.schedules.get("nightly").skipped_total == 2
    assert scheduler(flows).tick(slot + 2 * DAY + 7 * 3600_000) == []
    assert len(flows.store.schedules.firings("nightly")) == 1


def test_catchup_skip_drops_late_slots_but_runs_timely_ones(flows: Client) -> None:
    s = add_schedule("hourly", target("simple"), cron="0 * * * *", catchup="skip")
    slot = first_slot("0 * * * *", s.created_ms)
    sched = scheduler(flows)
    assert sched.tick(slot + 20 * 60_000) == []  # 20 minutes late: skipped
    (skipped,) = flows.store.schedules.firings("hourly")
    assert (skipped.status, skipped.run_id) == ("skipped", None)
    assert "late; catchup='skip'" in (skipped.error or "")
    (fired,) = sched.tick(slot + 3600_000 + 10_000)  # the next slot, on time
    assert fired.status == "finished"


def test_two_schedulers_racing_for_a_slot_fire_it_once(
    client: Client, user_module: WriteModule
) -> None:
    user_module(MODULE, FLOWS)
    s = add_schedule("nightly", target("simple"), cron="0 3 * * *", client=client)
    slot = first_slot("0 3 * * *", s.created_ms)
    schedulers = [scheduler(client) for _ in range(3)]
    barrier = threading.Barrier(len(schedulers))
    fired: list[int] = []

    def tick(sched: Scheduler) -> None:
        barrier.wait()
        fired.append(len(sched.tick(slot + 1000)))

    threads = [threading.Thread(target=tick, args=(sc,)) for sc in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(fired) == [0, 0, 1]
    (firing,) = client.store.schedules.firings("nightly")
    assert firing.status == "finished"
    assert triggered_runs(client, "schedule", "nightly") == [firing.run_id]


def test_a_schedule_never_overlaps_itself(flows: Client) -> None:
    s = add_schedule("nightly", target("simple"), cron="0 3 * * *")
    slot = first_slot("0 3 * * *", s.created_ms)
    me = Owner(*_process.current())
    (running,) = flows.store.schedules.claim(s, [NewFiring("manual:x", "manual", {})], owner=me)
    sched = scheduler(flows)
    assert sched.tick(slot + 1000) == []  # its previous firing still runs (in a live process)
    flows.store.schedules.finish(running.firing_id, "finished")
    (fired,) = sched.tick(slot + DAY + 1000)
    assert fired.event_key == f"cron:{slot + DAY}"
    assert fired.skipped == 1


# -- events ----------------------------------------------------------------------------


def register(client: Client, name: str, content: str) -> int:
    version, _ = client.store.datasets.register(
        name, fingerprint=content, num_rows=1, num_columns=1, profile_digest="p"
    )
    return version.version


def test_each_new_dataset_version_fires_once(flows: Client) -> None:
    register(flows, "sales", "before")  # registered before the schedule: not an event
    add_schedule("on-sales", target("simple"), on_dataset="sales")
    sched = scheduler(flows)
    assert sched.tick() == []
    register(flows, "other", "x")
    assert sched.tick() == []
    v2 = register(flows, "sales", "v2")
    (fired,) = sched.tick()
    assert fired.event["label"] == f"sales@{v2}"
    assert fired.run_id is not None
    run = flows.get_run(fired.run_id)
    assert run.params["dataset_version"] == str(v2)
    assert run.tags["ninefold.trigger.event"] == f"sales@{v2}"
    assert sched.tick() == []
    # Two versions between ticks: the newest runs, the other is recorded as superseded.
    register(flows, "sales", "v3")
    v4 = register(flows, "sales", "v4")
    (fired,) = sched.tick()
    assert fired.event["label"] == f"sales@{v4}"
    history = {f.event_key: f for f in flows.store.schedules.firings("on-sales")}
    assert history["dataset:sales@3"].status == "skipped"
    assert history["dataset:sales@3"].error == f"superseded by sales@{v4}"
    assert sched.tick() == []


def test_catchup_all_runs_every_event_in_turn(flows: Client) -> None:
    add_schedule("each", target("simple"), on_dataset="sales", catchup="all")
    for content in ("a", "b", "c"):
        register(flows, "sales", content)
    sched = scheduler(flows)
    labels = [f.event["label"] for _ in range(4) for f in sched.tick()]
    assert labels == ["sales@1", "sales@2", "sales@3"]
    assert {f.status for f in flows.store.schedules.firings("each")} == {"finished"}


def test_schedule_params_win_over_event_values(flows: Client) -> None:
    add_schedule("pinned", target("simple"), on_dataset="sales", params={"dataset_version": 7})
    register(flows, "sales", "a")
    (fired,) = scheduler(flows).tick()
    assert fired.run_id is not None
    assert flows.get_run(fired.run_id).params["dataset_version"] == "7"


def test_matching_alerts_fire(flows: Client) -> None:
    add_schedule("on-drift", target("simple"), on_alert="kind=drift,subject=churn*")

    def alert(alert_id: str, kind: str, subject: str) -> None:
        flows.store.alerts.add(
            Alert(alert_id, "monitoring", kind, "error", subject, "msg", now_ms(), {})
        )

    sched = scheduler(flows)
    alert("a1", "latency", "churn")
    alert("a2", "drift", "fraud")
    assert sched.tick() == []
    alert("a3", "drift", "churn-v2")
    (fired,) = sched.tick()
    assert fired.event_key == "alert:a3"
    assert fired.run_id is not None
    assert flows.get_run(fired.run_id).params["alert_id"] == "a3"
    assert sched.tick() == []


def test_a_finished_run_fires_its_downstream_once(flows: Client) -> None:
    module = sys.modules[MODULE]
    add_schedule("after", target("downstream"), on_run_finished="simple")
    sched = scheduler(flows)
    upstream = module.simple.run({"x": 5})
    (fired,) = sched.tick()
    assert fired.event_key == f"run:{upstream.run_id}"
    assert fired.run_id is not None
    run = flows.get_run(fired.run_id)
    assert run.params["upstream_run_id"] == upstream.run_id
    assert run.params["upstream_status"] == "finished"
    assert sched.tick() == []
    with pytest.raises(Exception, match="kaboom"):
        module.broken.run()
    assert sched.tick() == []  # only "finished" counts by default


def test_a_schedule_does_not_retrigger_itself(flows: Client) -> None:
    module = sys.modules[MODULE]
    add_schedule("again", target("simple"), on_run_finished="simple")
    sched = scheduler(flows)
    module.simple.run({"x": 1})
    (fired,) = sched.tick()  # on the run started by hand
    assert fired.run_id is not None
    assert flows.get_run(fired.run_id).tags["ninefold.trigger.chain"] == "again"
    assert sched.tick() == []  # its own run finished: no loop


def test_a_loop_runs_when_asked_for(flows: Client) -> None:
    module = sys.modules[MODULE]
    add_schedule("loop", target("simple"), on_run_finished="simple", allow_loops=True)
    sched = scheduler(flows)
    module.simple.run({"x": 1})
    (first,) = sched.tick()
    (second,) = sched.tick()
    assert second.event_key == f"run:{first.run_id}"
    assert second.run_id is not None
    assert flows.get_run(second.run_id).tags["ninefold.trigger.chain"] == "loop,loop"


def test_manual_firings_run_on_the_next_tick(flows: Client) -> None:
    add_schedule("by-hand", target("simple"), manual=True, params={"x": 1})
    sched = scheduler(flows)
    assert sched.tick() == []
    queued = fire("by-hand", params={"x": 9})
    (ran,) = sched.tick()
    assert ran.firing_id == queued.firing_id
    assert ran.status == "finished"
    assert ran.run_id is not None
    assert flows.get_run(ran.run_id).params["x"] == "9"
    assert flows.get_run(ran.run_id).tags["ninefold.trigger.kind"] == "manual"
    now = fire("by-hand", wait=True)
    assert now.status == "finished"
    assert sched.tick() == []


# -- failures --------------------------------------------------------------------------


def test_a_failing_pipeline_is_recorded_and_the_scheduler_goes_on(flows: Client) -> None:
    add_schedule("a-broken", target("broken"), manual=True)
    add_schedule("b-fine", target("simple"), manual=True)
    broken = fire("a-broken")
    fine = fire("b-fine")
    sched = scheduler(flows)
    ended = {f.firing_id: f for f in sched.tick()}
    assert ended[broken.firing_id].status == "failed"
    assert "kaboom" in (ended[broken.firing_id].error or "")
    run_id = ended[broken.firing_id].run_id
    assert run_id is not None
    assert flows.get_run(run_id).status == RunStatus.FAILED
    assert ended[fine.firing_id].status == "finished"
    assert running_runs(flows) == []


def test_a_firing_whose_process_died_is_marked_crashed(flows: Client) -> None:
    s = add_schedule("m", target("simple"), manual=True)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = Owner(_process.hostname(), proc.pid, _process.start_time(proc.pid))
    proc.kill()
    proc.wait()
    (orphan,) = flows.store.schedules.claim(s, [NewFiring("manual:1", "manual", {})], owner=dead)
    scheduler(flows).tick()
    ended = flows.store.schedules.get_firing(orphan.firing_id)
    assert ended.status == "crashed"
    assert f"pid {proc.pid}" in (ended.error or "")


# -- the lease -------------------------------------------------------------------------


def test_a_second_scheduler_is_refused_while_the_first_lives(flows: Client) -> None:
    first = scheduler(flows)
    first.acquire_lease()
    second = scheduler(flows)
    with pytest.raises(StateError, match=f"Another scheduler is running: pid {os.getpid()}"):
        second.acquire_lease()
    first.release_lease()
    assert second.acquire_lease().owner_id == second.owner_id
    second.release_lease()
    assert flows.store.schedules.lease() is None


def test_the_lease_of_a_dead_scheduler_is_taken_over(flows: Client) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = Owner(_process.hostname(), proc.pid, _process.start_time(proc.pid))
    ok, _ = flows.store.schedules.acquire_lease(
        "dead-one", dead, stale_ms=3_600_000, holder_gone=lambda _: False
    )
    assert ok
    alive = scheduler(flows)
    proc.kill()
    proc.wait()
    lease = alive.acquire_lease()
    assert lease.owner_id == alive.owner_id
    assert lease.pid == os.getpid()


# -- child processes -------------------------------------------------------------------


def test_a_firing_runs_in_a_child_process(flows: Client) -> None:
    add_schedule("child", target("simple"), manual=True, params={"x": 3})
    queued = fire("child")
    sched = scheduler(flows, inline=False)
    (started,) = sched.tick()
    assert started.status in ("running", "finished")
    (ended,) = sched.wait(timeout_s=120)
    assert ended.firing_id == queued.firing_id
    assert ended.status == "finished", ended.error
    assert ended.pid not in (None, os.getpid())
    assert ended.run_id is not None
    assert flows.get_run(ended.run_id).status == RunStatus.FINISHED


def test_a_child_that_dies_or_hangs_cannot_take_the_scheduler_down(flows: Client) -> None:
    add_schedule("dies", target("dying"), manual=True, params={"code": 3})
    add_schedule("hangs", target("sleepy"), manual=True, timeout_s=1.0)
    fire("dies")
    fire("hangs")
    sched = scheduler(flows, inline=False)
    assert len(sched.tick()) == 2
    ended = {f.schedule: f for f in sched.wait(timeout_s=120)}
    assert ended["dies"].status == "failed"
    assert "exited with code 3" in (ended["dies"].error or "")
    assert ended["hangs"].status == "failed"
    assert "timed out after 1 s" in (ended["hangs"].error or "")
    for firing in ended.values():
        assert firing.run_id is not None
        assert flows.get_run(firing.run_id).status != RunStatus.RUNNING
    assert running_runs(flows) == []


# -- stopping --------------------------------------------------------------------------


def _wait_for(check: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_sigterm_marks_the_running_firing_and_releases_the_lease(
    flows: Client, project: Path, tmp_path: Path
) -> None:
    add_schedule("slow", target("sleepy"), manual=True)
    queued = fire("slow")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "usercode"))
    script = Path(sys.executable).with_name("ninefold")
    proc = subprocess.Popen(
        [str(script), "scheduler", "--inline", "--poll", "0.2"],
        cwd=project,
        env=env,
        stderr=subprocess.PIPE,
    )
    repo = flows.store.schedules

    def step_started() -> bool:
        runs = triggered_runs(flows, "firing", queued.firing_id)
        return bool(runs and flows.store.runs.children(runs[0]))

    try:
        _wait_for(step_started)  # the pipeline is inside its 30 s step
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    ended = repo.get_firing(queued.firing_id)
    assert ended.status == "killed"
    assert repo.lease() is None
    assert ended.run_id is not None
    (step,) = flows.store.runs.children(ended.run_id)
    assert flows.get_run(ended.run_id).status == RunStatus.KILLED
    assert flows.get_run(step).status == RunStatus.KILLED
    assert running_runs(flows) == []


# -- targets ---------------------------------------------------------------------------


def test_a_file_target_is_kept_relative_to_the_project_and_found_from_anywhere(
    project: Path, nf_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    flows_dir = project / "pipelines"
    flows_dir.mkdir()
    (flows_dir / "filed_flows.py").write_text(FLOWS)
    work = project / "notebooks"
    work.mkdir()
    monkeypatch.chdir(work)  # added from a subfolder, with a path relative to it
    s = add_schedule("by-file", "../pipelines/filed_flows.py:simple", manual=True)
    assert s.target == "pipelines/filed_flows.py:simple"
    assert list_schedules()[0].target == "pipelines/filed_flows.py:simple"
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the scheduler runs from another folder
    fire("by-file", params={"x": 4}, client=nf_client)
    (ran,) = scheduler(nf_client).tick()
    assert ran.status == "finished", ran.error
    assert ran.run_id is not None
    assert nf_client.get_run(ran.run_id).params["x"] == "4"
    sys.modules.pop("filed_flows", None)
