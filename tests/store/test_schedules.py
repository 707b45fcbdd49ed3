"""Contract: schedules, firings (claimed at most once), the scheduler lease and event feeds."""

from __future__ import annotations

import threading

import pytest

from ninefold import _process
from ninefold._ids import new_id, now_ms
from ninefold.errors import AlreadyExists, NotFound
from ninefold.store import MetadataStore, RunStatus
from ninefold.store.costs import Alert
from ninefold.store.pipelines import PIPELINE_TAG
from ninefold.store.schedules import (
    CHAIN_TAG,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    SKIPPED,
    Lease,
    NewFiring,
    Owner,
    Schedule,
)
from tests.store.helpers import MakeRun

ME = Owner(*_process.current())


def _schedule(name: str = "nightly", kind: str = "cron", spec: str = "0 3 * * *") -> Schedule:
    now = now_ms()
    return Schedule(
        schedule_id=new_id(),
        name=name,
        target="flows:train",
        params={"C": 0.5},
        executor=None,
        kind=kind,
        spec=spec,
        timezone=None,
        catchup="latest",
        options={},
        timeout_s=None,
        enabled=True,
        description=None,
        created_ms=now,
        updated_ms=now,
    )


def test_add_get_list_remove(store: MetadataStore) -> None:
    added = store.schedules.add(_schedule("b"))
    store.schedules.add(_schedule("a", "dataset", "sales"))
    assert store.schedules.get("b") == added
    assert added.params == {"C": 0.5}
    assert [s.name for s in store.schedules.all()] == ["a", "b"]
    with pytest.raises(AlreadyExists, match="'b' exists"):
        store.schedules.add(_schedule("b"))
    replaced = store.schedules.add(_schedule("b", "manual", ""), replace=True)
    assert replaced.kind == "manual"
    assert replaced.schedule_id != added.schedule_id
    store.schedules.remove("a")
    with pytest.raises(NotFound, match=r"No schedule named 'a'.*\['b'\]"):
        store.schedules.get("a")


def test_a_key_is_claimed_once(store: MetadataStore) -> None:
    s = store.schedules.add(_schedule())
    first = store.schedules.claim(s, [NewFiring("cron:1", "cron", {"label": "x"})], owner=ME)
    again = store.schedules.claim(s, [NewFiring("cron:1", "cron", {"label": "x"})], owner=ME)
    assert [f.status for f in first] == [RUNNING]
    assert first[0].pid == ME.pid
    assert first[0].params == {"C": 0.5}
    assert again == []
    assert store.schedules.known_keys(s.schedule_id, ["cron:1", "cron:2"]) == {"cron:1"}


def test_racing_claims_insert_one_firing(store_url: str) -> None:
    stores = [MetadataStore(store_url) for _ in range(4)]
    try:
        s = stores[0].schedules.add(_schedule())
        barrier = threading.Barrier(len(stores))
        won: list[int] = []

        def claim(st: MetadataStore) -> None:
            barrier.wait()
            got = st.schedules.claim(s, [NewFiring("cron:7", "cron", {})], owner=ME)
            won.append(len(got))

        threads = [threading.Thread(target=claim, args=(st,)) for st in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(won) == [0, 0, 0, 1]
        assert len(stores[0].schedules.firings("nightly")) == 1
    finally:
        for st in stores:
            st.close()


def test_cursor_only_moves_forward_and_skips_are_counted(store: MetadataStore) -> None:
    s = store.schedules.add(_schedule())
    store.schedules.claim(
        s, [NewFiring("cron:200", "cron", {}, skipped=3)], owner=ME, cursor_ms=200
    )
    store.schedules.claim(s, [NewFiring("cron:100", "cron", {}, SKIPPED)], owner=ME, cursor_ms=100)
    after = store.schedules.get("nightly")
    assert after.cursor_ms == 200
    assert after.skipped_total == 4  # 3 missed slots + 1 skipped firing


def test_pending_firings_are_taken_once_and_end_once(store: MetadataStore) -> None:
    s = store.schedules.add(_schedule("m", "manual", ""))
    queued = store.schedules.queue(s, {"label": "manual"})
    assert queued.status == PENDING
    assert queued.event_key.startswith("manual:")
    assert store.schedules.take(queued.firing_id, ME)
    assert not store.schedules.take(queued.firing_id, ME)
    assert store.schedules.finish(queued.firing_id, FAILED, error="boom")
    assert not store.schedules.finish(queued.firing_id, FINISHED)
    ended = store.schedules.get_firing(queued.firing_id)
    assert (ended.status, ended.error) == (FAILED, "boom")
    assert ended.ended_ms is not None


def test_removing_drops_queued_firings_and_keeps_history(store: MetadataStore) -> None:
    s = store.schedules.add(_schedule("m", "manual", ""))
    done = store.schedules.claim(s, [NewFiring("manual:1", "manual", {})], owner=ME)[0]
    store.schedules.finish(done.firing_id, FINISHED)
    queued = store.schedules.queue(s, {})
    store.schedules.remove("m")
    history = {f.firing_id: f for f in store.schedules.firings("m")}
    assert history[done.firing_id].status == FINISHED
    assert history[queued.firing_id].status == SKIPPED
    assert store.schedules.last_firings() == {s.schedule_id: history[queued.firing_id]}


def test_pausing_a_cron_schedule_forgets_missed_slots_on_resume(store: MetadataStore) -> None:
    s = store.schedules.add(_schedule())
    assert not store.schedules.set_enabled("nightly", False).enabled
    assert [x.name for x in store.schedules.all(enabled_only=True)] == []
    resumed = store.schedules.set_enabled("nightly", True)
    assert resumed.enabled
    assert resumed.cursor_ms is not None
    assert resumed.cursor_ms >= s.created_ms


def test_lease_is_exclusive_until_stale_or_gone(store: MetadataStore) -> None:
    repo = store.schedules

    def alive(_: Lease) -> bool:
        return False

    ok, lease = repo.acquire_lease("a", ME, stale_ms=60_000, holder_gone=alive, at_ms=1_000)
    assert ok
    assert lease.owner_id == "a"
    ok, lease = repo.acquire_lease("b", ME, stale_ms=60_000, holder_gone=alive, at_ms=2_000)
    assert not ok
    assert lease.owner_id == "a"
    assert repo.renew_lease("a", at_ms=30_000)
    assert not repo.renew_lease("b")
    # Stale: no heartbeat for more than a minute.
    ok, lease = repo.acquire_lease("b", ME, stale_ms=60_000, holder_gone=alive, at_ms=95_000)
    assert ok
    assert lease.owner_id == "b"
    assert not repo.renew_lease("a")
    # Gone: the holder's process died.
    ok, _ = repo.acquire_lease("c", ME, stale_ms=60_000, holder_gone=lambda _: True, at_ms=96_000)
    assert ok
    repo.release_lease("b")  # not ours any more: nothing happens
    current = repo.lease()
    assert current is not None
    assert current.owner_id == "c"
    repo.release_lease("c")
    assert repo.lease() is None


def test_dataset_feed(store: MetadataStore) -> None:
    def register(name: str, fp: str) -> None:
        store.datasets.register(name, fingerprint=fp, num_rows=1, num_columns=1, profile_digest="p")

    since = now_ms()
    register("sales", "a")
    register("other", "b")
    register("sales", "c")
    found = store.schedules.dataset_versions_since("sales", since)
    assert [(v.name, v.version) for v in found] == [("sales", 1), ("sales", 2)]
    assert store.schedules.dataset_versions_since("sales", now_ms() + 1000) == []


def test_alert_feed(store: MetadataStore) -> None:
    for i, created in enumerate((100, 300, 200)):
        store.alerts.add(
            Alert(f"id{i}", "monitoring", "drift", "error", "churn", "m", created, {"i": i})
        )
    found = store.schedules.alerts_since(200)
    assert [a.id for a in found] == ["id2", "id1"]
    assert found[0].payload == {"i": 2}


def test_finished_runs_feed(store: MetadataStore, make_run: MakeRun) -> None:
    since = now_ms()
    a = make_run("a", tags={PIPELINE_TAG: "train", CHAIN_TAG: "s1,s2"})
    b = make_run("b", tags={PIPELINE_TAG: "score"})
    child = make_run("child", parent_run_id=a, tags={PIPELINE_TAG: "train"})
    failed = make_run("f", tags={PIPELINE_TAG: "train"})
    running = make_run("r", tags={PIPELINE_TAG: "train"})
    other = store.experiments.create("other").experiment_id
    elsewhere = make_run("e", experiment_id=other)
    for run_id in (a, b, child, elsewhere):
        store.runs.set_status(run_id, RunStatus.FINISHED)
    store.runs.set_status(failed, RunStatus.FAILED)
    feed = store.schedules.runs_finished_since
    train = feed(since, statuses=["finished"], pipeline="train")
    assert [(r.run_id, r.pipeline, r.chain) for r in train] == [(a, "train", ("s1", "s2"))]
    assert {r.run_id for r in feed(since, statuses=["finished", "failed"])} == {
        a,
        b,
        failed,
        elsewhere,
    }
    assert [r.run_id for r in feed(since, statuses=["finished"], experiment="other")] == [elsewhere]
    assert running not in {r.run_id for r in feed(since, statuses=["finished", "failed"])}
    assert feed(now_ms() + 60_000, statuses=["finished"]) == []
