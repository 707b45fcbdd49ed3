"""The scheduler: one loop that fires schedules when their slot or event comes.

Each :meth:`Scheduler.tick` looks at every enabled schedule once: the cron
slots that came due, dataset versions, alerts and finished runs that are new
since its cursor, and firings queued by hand. Before anything runs, the slot or
event is claimed by inserting a firing whose key is unique per schedule, so it
runs at most once, even with two schedulers racing or after a restart. A
schedule never overlaps itself: while one of its firings runs, what comes due
waits, and the catch-up policy then decides what runs.

A firing runs in a child process by default (``python -m
ninefold.pipelines._fire``), so a crashing or hanging pipeline cannot take the
scheduler down, and a firing past its timeout is stopped. ``inline=True`` runs
firings in the scheduler's own process (tests, ``--once`` from cron).

The triggered pipeline run is tagged ``ninefold.trigger.schedule``,
``ninefold.trigger.kind``, ``ninefold.trigger.event`` (``sales@3``, an alert id,
a slot time, a run id), ``ninefold.trigger.firing`` and
``ninefold.trigger.chain``; the trigger's values (see
:data:`~ninefold.pipelines.schedules.EVENT_PARAMS`) are passed to the
parameters the pipeline declares, unless the schedule's params set them.

One scheduler per store runs :meth:`Scheduler.run_forever`: it holds a lease
row with a heartbeat; another one is refused (or waits with ``wait=True``)
until the holder stops, dies, or stops heartbeating.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from ninefold import _process
from ninefold._ids import new_id, now_ms
from ninefold.errors import InvalidArgument, StateError
from ninefold.pipelines.cron import CronExpression, slot_text
from ninefold.pipelines.schedules import AlertFilter, parse_run_filter
from ninefold.store.records import RunStatus
from ninefold.store.schedules import (
    CHAIN_TAG,
    CRASHED,
    FAILED,
    FINISHED,
    FIRING_TAG,
    KILLED,
    PENDING,
    RUNNING,
    SKIPPED,
    Firing,
    Lease,
    NewFiring,
    Owner,
    Schedule,
)

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Pipeline
    from ninefold.tracking.client import Client

LOOKBACK_MS = 10 * 60 * 1000
"""Events are looked for this far behind the cursor, for writes that committed late."""

STALE_MS = 10 * 60 * 1000
"""A firing on another host whose heartbeat is older than this is taken as crashed."""

HEARTBEAT_S = 30.0
"""How often the process running a firing marks it alive."""

DEFAULT_TIMEOUT_S = 6 * 3600.0
"""How long a firing may run when neither the schedule nor the scheduler says."""

TAG_SCHEDULE = "ninefold.trigger.schedule"
TAG_KIND = "ninefold.trigger.kind"
TAG_EVENT = "ninefold.trigger.event"


def _log_stderr(message: str) -> None:
    stamp = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} ninefold scheduler: {message}", file=sys.stderr, flush=True)


def _error_summary(exc: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:5000]


def _this_process() -> Owner:
    host, pid, started = _process.current()
    return Owner(host, pid, started)


# -- events --------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A slot or event a schedule may fire on.

    Attributes:
        key: unique per schedule (``cron:<ms>``, ``dataset:sales@3``...).
        kind: the trigger kind.
        time_ms: when it happened (the slot time for cron).
        label: a short description, stored as the run's ``ninefold.trigger.event`` tag.
        params: what it offers the pipeline's parameters.
        chain: the schedules that led to it (for run events).
    """

    key: str
    kind: str
    time_ms: int
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        """What the firing stores about it."""
        return {
            "label": self.label,
            "time_ms": self.time_ms,
            "params": self.params,
            "chain": list(self.chain),
        }


def trigger_tags(firing: Firing) -> dict[str, str]:
    """The tags of the pipeline run a firing starts."""
    chain = [*firing.event.get("chain", []), firing.schedule]
    return {
        TAG_SCHEDULE: firing.schedule,
        TAG_KIND: firing.kind,
        TAG_EVENT: str(firing.event.get("label", firing.event_key)),
        FIRING_TAG: firing.firing_id,
        CHAIN_TAG: ",".join(chain),
    }


def firing_params(pipeline: Pipeline, firing: Firing) -> dict[str, Any]:
    """The params a firing runs the pipeline with.

    The schedule's params, plus each value the trigger offers whose name the
    pipeline declares as a parameter and the schedule's params do not set,
    plus the params given when firing by hand (those win).
    """
    params = dict(firing.params)
    declared = pipeline.signature.parameters
    for key, value in dict(firing.event.get("params", {})).items():
        if key in declared and key not in params:
            params[key] = value
    params.update(firing.event.get("override", {}))
    return params


def execute_firing(client: Client, firing: Firing) -> Firing:
    """Run a claimed firing's pipeline in this process and record how it ended.

    The firing is heartbeated while it runs. A pipeline that fails is recorded
    as ``failed`` with its error; an interrupt (SIGINT, SIGTERM) as ``killed``
    and then raised again.
    """
    from ninefold.pipelines.loading import load_pipeline, resolve_target
    from ninefold.tracking import fluent

    repo = client.store.schedules
    outer = fluent.active_run()
    run_id: str | None = None
    experiment: str | None = None
    status, error = FINISHED, None
    interrupt: BaseException | None = None
    with _heartbeating(client, firing.firing_id):
        try:
            root = client.settings.project_root if client.settings else None
            pipeline = load_pipeline(resolve_target(firing.target, root))
            experiment = pipeline.experiment
            result = pipeline.run(
                firing_params(pipeline, firing),
                executor=firing.executor,
                client=client,
                tags=trigger_tags(firing),
            )
            run_id = result.run_id
        except Exception as exc:
            status, error = FAILED, _error_summary(exc)
            run_id = getattr(exc, "pipeline_run_id", None) or None
        except BaseException as exc:  # KeyboardInterrupt, SystemExit from SIGTERM
            status, error, interrupt = KILLED, f"interrupted: {_error_summary(exc)}", exc
    if run_id is None and experiment is not None:
        run_id = _find_run(client, firing, experiment)
    if status != FINISHED:
        # Interrupted before the runner could end its runs, they are still open
        # here: end them now, or the exit hook would close them as finished.
        ended_as = RunStatus.KILLED if interrupt is not None else RunStatus.FAILED
        while (left := fluent.active_run()) is not None and left is not outer:
            left.end(ended_as)
        if run_id is not None and client.store.runs.get(run_id).status == RunStatus.RUNNING:
            client.store.runs.set_status(run_id, ended_as)
    repo.finish(firing.firing_id, status, run_id=run_id, error=error)
    if interrupt is not None:
        raise interrupt
    return repo.get_firing(firing.firing_id)


def _find_run(client: Client, firing: Firing, experiment: str | None = None) -> str | None:
    """The pipeline run a firing started (found by its firing tag), if any."""
    experiment_ids = None
    if experiment is not None:
        found = client.store.experiments.find(experiment)
        if found is None:
            return None
        experiment_ids = [found.experiment_id]
    result = client.store.search(
        f"tags.`{FIRING_TAG}` = '{firing.firing_id}'",
        experiment_ids=experiment_ids,
        max_results=1,
    )
    return result.runs[0][0] if result.runs else None


@contextmanager
def _beating(name: str, every_s: float, beat: Callable[[], bool]) -> Iterator[None]:
    """Call ``beat`` every ``every_s`` seconds on a daemon thread while the block runs.

    The thread stops early when ``beat`` returns False. It never takes SIGINT or
    SIGTERM: those stay with the thread that runs the block.
    """
    stop = threading.Event()

    def loop() -> None:
        _process.block_process_signals()
        while not stop.wait(every_s):
            if not beat():
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _heartbeating(
    client: Client, firing_id: str, every_s: float = HEARTBEAT_S
) -> AbstractContextManager[None]:
    def beat() -> bool:
        try:
            client.store.schedules.heartbeat([firing_id])
        except Exception as exc:  # a missed beat is not fatal; the next one may work
            _log_stderr(f"could not heartbeat firing {firing_id}: {exc}")
        return True

    return _beating(f"ninefold-firing-{firing_id[:8]}", every_s, beat)


# -- child processes -----------------------------------------------------------------


@dataclass
class _Child:
    firing: Firing
    proc: subprocess.Popen[bytes]
    deadline: float
    timeout_s: float


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the child's process group, then SIGKILL what is left after ``grace_s``."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


# -- the scheduler -------------------------------------------------------------------


class Scheduler:
    """Evaluates schedules and runs their firings.

    Args:
        client: the tracking client (default: the current project's).
        poll_s: seconds between ticks in :meth:`run_forever`.
        inline: run firings in this process (no timeout) instead of a child process.
        timeout_s: the time limit of a firing whose schedule sets none.
        grace_s: a cron slot found later than this is "missed" (for
            ``catchup="skip"``); default ``max(60, 2 * poll_s)``.
        max_running: at most this many child firings at once.
        lease_ttl_s: another scheduler takes the lease over when ours has not
            been heartbeated for this long.
        stop_grace_s: on shutdown, how long running firings get to finish
            before they are stopped and marked ``killed``.
        log: where progress lines go (default: stderr).

    Example:
        >>> sched = Scheduler(inline=True)  # doctest: +SKIP
        >>> fired = sched.tick()  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        poll_s: float = 30.0,
        inline: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        grace_s: float | None = None,
        max_running: int = 4,
        lease_ttl_s: float = 90.0,
        stop_grace_s: float = 30.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        from ninefold.tracking.client import get_client

        if poll_s <= 0:
            raise InvalidArgument(f"poll_s={poll_s!r} must be > 0 seconds.")
        self.client = client or get_client()
        self.repo = self.client.store.schedules
        self.poll_s = float(poll_s)
        self.inline = inline
        self.timeout_s = float(timeout_s)
        self.grace_ms = int(1000 * (grace_s if grace_s is not None else max(60.0, 2 * poll_s)))
        self.max_running = max(1, int(max_running))
        self.lease_ttl_ms = int(lease_ttl_s * 1000)
        self.stop_grace_s = float(stop_grace_s)
        self.log = log or _log_stderr
        self.owner_id = new_id()
        self.owner = _this_process()
        self._children: dict[str, _Child] = {}
        self._inline_firing: str | None = None
        self._stop = threading.Event()
        self._lease_lost = threading.Event()
        self._holds_lease = False
        self._crons: dict[tuple[str, str | None], CronExpression] = {}

    # -- one pass ------------------------------------------------------

    def tick(self, now_ms: int | None = None) -> list[Firing]:
        """Evaluate every enabled schedule once and start what came due.

        Args:
            now_ms: the time to evaluate at (UTC ms; default: now). Tests pass
                it instead of sleeping.

        Returns:
            The firings started in this tick: ended ones with ``inline=True``,
            running ones otherwise (see :meth:`wait`).
        """
        now = _clock() if now_ms is None else now_ms
        self._reap_children()
        self._reap_orphans()
        busy = {f.schedule_id for f in self.repo.firings(statuses=[RUNNING])}
        started: list[Firing] = []
        for schedule in self.repo.all(enabled_only=True):
            if schedule.schedule_id in busy or schedule.kind == "manual":
                continue
            if self._full() or self._stop.is_set():
                break
            try:
                claimed = self._evaluate(schedule, now)
            except Exception as exc:  # one bad schedule must not stop the others
                self.log(f"schedule {schedule.name!r} could not be evaluated: {exc}")
                continue
            for firing in claimed:
                busy.add(firing.schedule_id)
                started.append(self._start(firing))
        for firing in reversed(self.repo.firings(statuses=[PENDING])):
            if firing.schedule_id in busy or self._full() or self._stop.is_set():
                continue
            if self.repo.take(firing.firing_id, self.owner):
                busy.add(firing.schedule_id)
                started.append(self._start(self.repo.get_firing(firing.firing_id)))
        return started

    def run_pending(self, firing_id: str) -> Firing:
        """Take one queued firing and run it now (in this process when ``inline``)."""
        if not self.repo.take(firing_id, self.owner):
            found = self.repo.get_firing(firing_id)
            raise StateError(
                f"Firing {firing_id} of schedule {found.schedule!r} is {found.status}, not "
                "pending: another scheduler took it."
            )
        firing = self._start(self.repo.get_firing(firing_id))
        if not self.inline:
            self.wait()
            firing = self.repo.get_firing(firing_id)
        return firing

    def _full(self) -> bool:
        return not self.inline and len(self._children) >= self.max_running

    # -- deciding --------------------------------------------------------

    def _cron(self, schedule: Schedule) -> CronExpression:
        key = (schedule.spec, schedule.timezone)
        expr = self._crons.get(key)
        if expr is None:
            expr = self._crons[key] = CronExpression.parse(schedule.spec, schedule.timezone)
        return expr

    def _evaluate(self, schedule: Schedule, now: int) -> list[Firing]:
        if schedule.kind == "cron":
            return self._evaluate_cron(schedule, now)
        # For event triggers the cursor is how far the feeds were read; each
        # read looks LOOKBACK_MS behind it for writes that committed late, and
        # the unique event keys drop what was seen before.
        scanned = min(now, _clock())
        events = self._events(schedule, now)
        known = self.repo.known_keys(schedule.schedule_id, [e.key for e in events])
        fresh = sorted((e for e in events if e.key not in known), key=lambda e: (e.time_ms, e.key))
        if not fresh:
            cursor = schedule.cursor_ms
            if cursor is None or cursor < scanned - LOOKBACK_MS:
                self.repo.claim(schedule, [], owner=None, cursor_ms=scanned)
            return []
        if schedule.catchup == "all":
            # The oldest runs now; the others queue up and run one after the other.
            claims = [NewFiring(fresh[0].key, fresh[0].kind, fresh[0].data())] + [
                NewFiring(e.key, e.kind, e.data(), PENDING) for e in fresh[1:]
            ]
        else:
            newest = fresh[-1]
            claims = [NewFiring(newest.key, newest.kind, newest.data())] + [
                NewFiring(e.key, e.kind, e.data(), SKIPPED, error=f"superseded by {newest.label}")
                for e in fresh[:-1]
            ]
        claimed = self.repo.claim(
            schedule, claims, owner=self.owner, cursor_ms=scanned, cursor_key=fresh[-1].key
        )
        return [f for f in claimed if f.status == RUNNING]

    def _evaluate_cron(self, schedule: Schedule, now: int) -> list[Firing]:
        expr = self._cron(schedule)
        base = schedule.cursor_ms if schedule.cursor_ms is not None else schedule.created_ms
        latest = expr.latest_at_or_before(now)
        if latest is None or latest <= base:
            return []
        missed = expr.count_between(base, latest)
        when = slot_text(latest, schedule.timezone)
        event = Event(
            f"cron:{latest}",
            "cron",
            latest,
            when,
            {"scheduled_ms": latest, "scheduled_time": when},
        )
        late_ms = now - latest
        if schedule.catchup == "skip" and late_ms > self.grace_ms:
            claim = NewFiring(
                event.key,
                "cron",
                event.data(),
                SKIPPED,
                skipped=missed,
                error=f"slot found {late_ms / 1000:.0f} s late; catchup='skip'",
            )
        else:
            claim = NewFiring(event.key, "cron", event.data(), skipped=missed)
        claimed = self.repo.claim(
            schedule, [claim], owner=self.owner, cursor_ms=latest, cursor_key=event.key
        )
        for f in claimed:
            if f.skipped:
                self.log(
                    f"schedule {schedule.name!r}: {f.skipped} missed slot(s) before {when} "
                    f"were not run (catchup={schedule.catchup!r})"
                )
        return [f for f in claimed if f.status == RUNNING]

    def _since(self, schedule: Schedule) -> int:
        cursor = schedule.cursor_ms if schedule.cursor_ms is not None else schedule.created_ms
        return max(schedule.created_ms, cursor - LOOKBACK_MS)

    def _events(self, schedule: Schedule, now: int) -> list[Event]:
        since = self._since(schedule)
        if schedule.kind == "dataset":
            return [
                Event(
                    f"dataset:{v.name}@{v.version}",
                    "dataset",
                    v.created_ms,
                    f"{v.name}@{v.version}",
                    {
                        "dataset_name": v.name,
                        "dataset_version": v.version,
                        "dataset_uri": f"datasets:/{v.name}@{v.version}",
                    },
                )
                for v in self.repo.dataset_versions_since(schedule.spec, since)
                if v.created_ms <= now
            ]
        if schedule.kind == "alert":
            wanted = AlertFilter.parse(schedule.spec)
            return [
                Event(
                    f"alert:{a.id}",
                    "alert",
                    a.created_ms,
                    f"{a.kind} {a.subject} ({a.id})",
                    {
                        "alert_id": a.id,
                        "alert_source": a.source,
                        "alert_kind": a.kind,
                        "alert_severity": a.severity,
                        "alert_subject": a.subject,
                    },
                )
                for a in self.repo.alerts_since(since)
                if a.created_ms <= now and wanted.matches(a)
            ]
        if schedule.kind == "run_finished":
            field_, name = parse_run_filter(schedule.spec)
            allow_loops = bool(schedule.options.get("allow_loops", False))
            finished = self.repo.runs_finished_since(
                since,
                statuses=schedule.options.get("statuses", ["finished"]),
                pipeline=name if field_ == "pipeline" else None,
                experiment=name if field_ == "experiment" else None,
            )
            return [
                Event(
                    f"run:{r.run_id}",
                    "run_finished",
                    r.end_ms,
                    r.run_id,
                    {
                        "upstream_run_id": r.run_id,
                        "upstream_status": r.status,
                        "upstream_experiment": r.experiment,
                    },
                    r.chain,
                )
                for r in finished
                if r.end_ms <= now and (allow_loops or schedule.name not in r.chain)
            ]
        return []

    # -- running ---------------------------------------------------------

    def _start(self, firing: Firing) -> Firing:
        self.log(
            f"firing {firing.firing_id} of {firing.schedule!r} ({firing.kind}: "
            f"{firing.event.get('label', firing.event_key)}) -> {firing.target}"
        )
        if self.inline:
            self._inline_firing = firing.firing_id
            try:
                ended = execute_firing(self.client, firing)
            finally:
                self._inline_firing = None
            self._log_end(ended)
            return ended
        return self._spawn(firing)

    def _spawn(self, firing: Firing) -> Firing:
        env = dict(os.environ)
        env["NINEFOLD_STORE_URL"] = self.client.store_url
        env["NINEFOLD_ARTIFACT_ROOT"] = self.client.artifact_root
        # The child imports the pipeline as this process would: the folders added
        # to sys.path here (not the interpreter's own) go first on its path.
        prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
        extra = [p for p in sys.path if p and os.path.isdir(p) and not p.startswith(prefixes)]
        env["PYTHONPATH"] = os.pathsep.join([*extra, env.get("PYTHONPATH", "")]).strip(os.pathsep)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ninefold.pipelines._fire", firing.firing_id],
                env=env,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            self.repo.finish(firing.firing_id, FAILED, error=f"could not start a process: {exc}")
            return self.repo.get_firing(firing.firing_id)
        started = _process.start_time(proc.pid)
        self.repo.set_runner(firing.firing_id, Owner(self.owner.host, proc.pid, started))
        timeout = firing.timeout_s or self.timeout_s
        self._children[firing.firing_id] = _Child(firing, proc, time.monotonic() + timeout, timeout)
        return self.repo.get_firing(firing.firing_id)

    def _reap_children(self, block: bool = False) -> list[Firing]:
        ended: list[Firing] = []
        for firing_id, child in list(self._children.items()):
            code = child.proc.poll()
            if code is None and time.monotonic() > child.deadline:
                self.repo.finish(
                    firing_id,
                    FAILED,
                    error=f"timed out after {child.timeout_s:g} s; the process was stopped",
                )
                _stop_group(child.proc, 10.0)
                code = child.proc.returncode
            if code is None and block:
                code = child.proc.wait()
            if code is None:
                continue
            del self._children[firing_id]
            ended.append(self._after_child(child, code))
        return ended

    def _after_child(self, child: _Child, code: int) -> Firing:
        firing = self.repo.get_firing(child.firing.firing_id)
        run_id = firing.run_id or _find_run(self.client, firing)
        if firing.status == RUNNING:
            self.repo.finish(
                firing.firing_id,
                FAILED,
                run_id=run_id,
                error=f"the firing's process exited with code {code} before recording a result",
            )
        elif run_id and not firing.run_id:
            self.repo.set_run(firing.firing_id, run_id)
        # Runs the dead child left "running" are marked crashed.
        self.client.store.reap_crashed()
        ended = self.repo.get_firing(firing.firing_id)
        self._log_end(ended)
        return ended

    def _log_end(self, firing: Firing) -> None:
        tail = f": {firing.error.splitlines()[0][:300]}" if firing.error else ""
        run = f" run {firing.run_id}" if firing.run_id else ""
        self.log(f"firing {firing.firing_id} of {firing.schedule!r} {firing.status}{run}{tail}")

    def _reap_orphans(self) -> None:
        """Mark running firings whose process is gone as crashed (not ours, not alive)."""
        mine = set(self._children)
        if self._inline_firing:
            mine.add(self._inline_firing)
        stale_before = _clock() - STALE_MS
        for firing in self.repo.firings(statuses=[RUNNING]):
            if firing.firing_id in mine or firing.pid is None:
                continue
            if firing.host == self.owner.host:
                gone = not _process.is_alive(firing.pid, firing.pid_started)
            else:
                gone = (firing.heartbeat_ms or firing.created_ms) < stale_before
            if gone:
                run_id = _find_run(self.client, firing)
                self.repo.finish(
                    firing.firing_id,
                    CRASHED,
                    run_id=run_id,
                    error=f"the process running it (pid {firing.pid} on {firing.host}) died",
                )
                self.log(f"firing {firing.firing_id} of {firing.schedule!r} crashed")

    def wait(self, timeout_s: float | None = None) -> list[Firing]:
        """Wait for the child firings started so far to end; returns them ended."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        ended: list[Firing] = []
        while self._children:
            ended += self._reap_children()
            if not self._children:
                break
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return ended

    @property
    def running(self) -> list[str]:
        """Ids of the firings this scheduler is running now."""
        ids = list(self._children)
        if self._inline_firing:
            ids.append(self._inline_firing)
        return ids

    # -- the lease -------------------------------------------------------

    def acquire_lease(self, *, wait: bool = False) -> Lease:
        """Become the one scheduler of this store.

        Raises:
            StateError: another live scheduler holds the lease (and ``wait`` is False).
        """
        host = self.owner.host

        def gone(lease: Lease) -> bool:
            return lease.host == host and not _process.is_alive(lease.pid, lease.pid_started)

        while True:
            ok, lease = self.repo.acquire_lease(
                self.owner_id, self.owner, stale_ms=self.lease_ttl_ms, holder_gone=gone
            )
            if ok:
                self._holds_lease = True
                self._lease_lost.clear()
                return lease
            if not wait:
                raise StateError(_busy_message(lease, self.lease_ttl_ms))
            if self._stop.wait(min(self.poll_s, self.lease_ttl_ms / 4000)):
                raise StateError("Stopped while waiting for the scheduler lease.")

    def release_lease(self) -> None:
        """Give the lease up."""
        if self._holds_lease:
            self._holds_lease = False
            self.repo.release_lease(self.owner_id)

    def _lease_heartbeat(self) -> AbstractContextManager[None]:
        def beat() -> bool:
            try:
                if not self.repo.renew_lease(self.owner_id):
                    self._lease_lost.set()
                    self._stop.set()
                    return False
            except Exception as exc:
                self.log(f"could not heartbeat the lease: {exc}")
            return True

        every = max(0.05, self.lease_ttl_ms / 4000)
        return _beating("ninefold-scheduler-lease", every, beat)

    # -- the loop --------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run_forever` to finish after the current tick."""
        self._stop.set()

    def run_forever(self, *, wait_for_lease: bool = False) -> None:
        """Tick every ``poll_s`` seconds until stopped (SIGTERM, SIGINT or :meth:`stop`).

        Holds the lease throughout. On a stop signal, running firings get
        ``stop_grace_s`` to finish; then they are stopped and marked
        ``killed``, and the lease is released. An inline firing is interrupted
        (its pipeline run is marked killed).

        Args:
            wait_for_lease: wait for another scheduler to stop instead of failing.

        Raises:
            StateError: another scheduler holds the lease, or took it over.
        """
        self._serve(once=False, wait_for_lease=wait_for_lease)

    def run_once(self, *, wait_for_lease: bool = False) -> list[Firing]:
        """Take the lease, tick once, wait for the firings, release the lease.

        For running the scheduler from cron, a systemd timer or CI instead of
        as a long-lived process.

        Returns:
            The firings started, as they ended.
        """
        return self._serve(once=True, wait_for_lease=wait_for_lease)

    def _serve(self, *, once: bool, wait_for_lease: bool) -> list[Firing]:
        restore = self._install_signals()
        started: list[Firing] = []
        try:
            self.acquire_lease(wait=wait_for_lease)
        except BaseException:
            restore()
            raise
        try:
            self.log(
                f"started (pid {self.owner.pid}, poll {self.poll_s:g} s, "
                f"{'inline' if self.inline else 'child processes'})"
            )
            with self._lease_heartbeat():
                while not self._stop.is_set():
                    if once:
                        started = self.tick()
                        self.wait()
                        break
                    try:
                        self.tick()
                    except Exception as exc:  # the store may be briefly unreachable
                        self.log(f"tick failed: {_error_summary(exc)}")
                    self._stop.wait(self.poll_s)
                    self._reap_children()
        except KeyboardInterrupt:
            self.log("interrupted")
        finally:
            self._shutdown()
            restore()
        if self._lease_lost.is_set():
            raise StateError(
                "The scheduler lease was taken over by another scheduler (this one's heartbeat "
                "was late); stopped so that the two do not run side by side."
            )
        return self.repo.get_firings([f.firing_id for f in started])

    def _shutdown(self) -> None:
        if self._children:
            self.log(
                f"stopping: waiting up to {self.stop_grace_s:g} s for {len(self._children)} "
                "firing(s)"
            )
            self.wait(self.stop_grace_s)
        for firing_id, child in list(self._children.items()):
            self.repo.finish(
                firing_id, KILLED, error="the scheduler stopped before the firing ended"
            )
            _stop_group(child.proc, 10.0)
            self._after_child(child, child.proc.returncode or -signal.SIGTERM)
            del self._children[firing_id]
        try:
            self.release_lease()
        except Exception as exc:
            self.log(f"could not release the lease: {exc}")
        self.log("stopped")

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum: int, frame: FrameType | None) -> None:
            first = not self._stop.is_set()
            self._stop.set()
            if self._inline_firing is not None or not first:
                raise KeyboardInterrupt
            self.log(f"received {signal.Signals(signum).name}; finishing")

        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


def _clock() -> int:
    return now_ms()


def _busy_message(lease: Lease, ttl_ms: int) -> str:
    since = datetime.fromtimestamp(lease.started_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    beat = max(0.0, (now_ms() - lease.heartbeat_ms) / 1000)
    return (
        f"Another scheduler is running: pid {lease.pid} on {lease.host}, started {since} UTC, "
        f"last heartbeat {beat:.0f} s ago. Only one scheduler runs per store; stop that one "
        f"first, or start this one with --wait to take over when it stops (a scheduler that "
        f"died, or whose heartbeat is over {ttl_ms / 1000:g} s old, is taken over at once)."
    )


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Event",
    "Scheduler",
    "execute_firing",
    "firing_params",
    "trigger_tags",
]
