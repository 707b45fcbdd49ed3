"""Schedules and triggers: when a pipeline runs by itself.

A schedule is a row in the metadata store naming a pipeline (``module:attr``
or ``path/to/file.py:attr``), its params, and one trigger:

- ``cron="0 3 * * *"`` (with ``timezone="Europe/Berlin"``): at each slot;
- ``on_dataset="sales"``: on each new version of that data set;
- ``on_alert="kind=drift,severity=error"``: on each new alert matching a filter;
- ``on_run_finished="training"``: when a run of that pipeline (or
  ``"experiment:NAME"``) ends, as ``finished`` by default;
- ``manual=True``: only when fired by hand (:func:`fire`).

``ninefold scheduler`` (:class:`~ninefold.pipelines.scheduler.Scheduler`)
evaluates them. Every slot or event is claimed with a unique key before it
runs, so nothing runs twice, and after downtime only the latest missed cron
slot runs (or none, with ``catchup="skip"``).

Example:
    >>> import ninefold as nf
    >>> nf.add_schedule(  # doctest: +SKIP
    ...     "retrain", "pipelines/train.py:training", on_dataset="sales", params={"C": 0.5}
    ... )
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ninefold._ids import new_id, now_ms
from ninefold.errors import InvalidArgument
from ninefold.pipelines.cron import CronExpression
from ninefold.store.records import RunStatus
from ninefold.store.schedules import KINDS, Firing, Schedule

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Pipeline
    from ninefold.store.costs import Alert
    from ninefold.tracking.client import Client

CATCHUP = ("latest", "skip", "all")
"""What happens to slots or events that piled up: see :func:`add_schedule`."""

EVENT_PARAMS: dict[str, tuple[str, ...]] = {
    "cron": ("scheduled_ms", "scheduled_time"),
    "dataset": ("dataset_name", "dataset_version", "dataset_uri"),
    "alert": ("alert_id", "alert_source", "alert_kind", "alert_severity", "alert_subject"),
    "run_finished": ("upstream_run_id", "upstream_status", "upstream_experiment"),
    "manual": (),
}
"""The values each kind of trigger offers a pipeline: passed to the parameters it declares."""

ALERT_FIELDS = ("source", "kind", "severity", "subject")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")


def _client(client: Client | None) -> Client:
    from ninefold.tracking.client import get_client

    return client or get_client()


# -- alert filters -------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts fire a schedule: each field is a set of glob patterns (empty: any).

    Written as ``kind=drift,severity=error|critical,subject=iris-*``; the fields
    are ``source``, ``kind``, ``severity`` and ``subject`` (what the alert is about).
    """

    source: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any] | bool) -> AlertFilter:
        """A filter from text (``kind=drift,severity=error``), a dict, or True (any alert)."""
        if spec is True or spec in ("", "*"):
            return cls()
        if isinstance(spec, Mapping):
            items = [(str(k), v) for k, v in spec.items()]
        elif isinstance(spec, str):
            items = []
            for part in spec.split(","):
                key, sep, value = part.partition("=")
                if not sep or not key.strip() or not value.strip():
                    raise InvalidArgument(
                        f"Alert filter {spec!r}: {part.strip()!r} must look like field=pattern, "
                        f"e.g. 'kind=drift,severity=error|critical'; fields: {list(ALERT_FIELDS)}."
                    )
                items.append((key.strip(), value.strip()))
        else:
            raise InvalidArgument(
                f"on_alert={spec!r}: give a filter such as 'kind=drift,severity=error', a dict, "
                "or True for any alert."
            )
        values: dict[str, tuple[str, ...]] = {}
        for key, value in items:
            if key not in ALERT_FIELDS:
                raise InvalidArgument(
                    f"Alert filter field {key!r} is not known; use {list(ALERT_FIELDS)}, e.g. "
                    "'source=monitoring,kind=drift,subject=churn-*'."
                )
            options = value if isinstance(value, list | tuple) else str(value).split("|")
            values[key] = values.get(key, ()) + tuple(str(o).strip() for o in options if o)
        return cls(**values)

    def matches(self, alert: Alert) -> bool:
        """Whether ``alert`` passes every field's patterns."""
        for name in ALERT_FIELDS:
            patterns: tuple[str, ...] = getattr(self, name)
            if patterns and not any(
                fnmatch.fnmatchcase(str(getattr(alert, name)), p) for p in patterns
            ):
                return False
        return True

    def text(self) -> str:
        """The filter as written in a schedule (``*`` for any alert)."""
        parts = [
            f"{name}={'|'.join(getattr(self, name))}"
            for name in ALERT_FIELDS
            if getattr(self, name)
        ]
        return ",".join(parts) or "*"


def parse_run_filter(spec: str) -> tuple[str, str]:
    """``"training"`` or ``"pipeline:training"`` or ``"experiment:churn"`` as (field, name)."""
    field, sep, name = spec.partition(":")
    if not sep:
        field, name = "pipeline", spec
    if field not in ("pipeline", "experiment") or not name.strip():
        raise InvalidArgument(
            f"on_run_finished={spec!r}: name a pipeline ('training' or 'pipeline:training') "
            "or an experiment ('experiment:churn')."
        )
    return field, name.strip()


# -- the API -------------------------------------------------------------------------


def add_schedule(
    name: str,
    target: str,
    *,
    cron: str | None = None,
    timezone: str | None = None,
    on_dataset: str | None = None,
    on_alert: str | Mapping[str, Any] | bool | None = None,
    on_run_finished: str | None = None,
    manual: bool = False,
    params: Mapping[str, Any] | None = None,
    executor: str | None = None,
    catchup: str = "latest",
    timeout_s: float | None = None,
    statuses: Sequence[str] = ("finished",),
    allow_loops: bool = False,
    description: str | None = None,
    enabled: bool = True,
    replace: bool = False,
    check: bool = True,
    client: Client | None = None,
) -> Schedule:
    """Store a schedule that runs the pipeline ``target`` on one trigger.

    Args:
        name: the schedule's unique name (letters, digits, ``_ - .``).
        target: the pipeline, ``module:attr`` or ``path/to/file.py:attr``; the
            scheduler imports it from its working directory.
        cron: a 5-field cron expression or a shortcut (``@daily``).
        timezone: the IANA zone of ``cron`` (default UTC).
        on_dataset: a data set name: fire on each new version of it.
        on_alert: an alert filter (``"kind=drift,severity=error"``, a dict, or
            True for any alert): fire on each new matching alert.
        on_run_finished: a pipeline name (or ``"experiment:NAME"``): fire when one
            of its top-level runs ends in one of ``statuses``.
        manual: no trigger; the schedule runs only when fired by hand.
        params: pipeline params (values that JSON can store).
        executor: the executor of the pipeline run (default: the pipeline's).
        catchup: ``"latest"`` (default): of the slots or events that piled up
            while the scheduler was down or the previous firing ran, only the
            newest runs, once, and the others are counted as skipped;
            ``"skip"`` (cron only): a slot found late runs not at all;
            ``"all"`` (events only): every event runs, one after the other.
        timeout_s: stop a firing that runs longer (default: the scheduler's).
        statuses: for ``on_run_finished``, the end states that count.
        allow_loops: for ``on_run_finished``, also fire on runs that this
            schedule itself led to (off: a schedule never re-triggers itself).
        description: free text.
        enabled: False to store it paused.
        replace: replace a schedule of the same name (it starts afresh).
        check: import the pipeline now and check the params against it.
        client: the tracking client (default: the current project's).

    Returns:
        The stored :class:`~ninefold.store.schedules.Schedule`.

    Raises:
        InvalidArgument: no trigger or several, a cron typo (naming the field),
            an unknown param, or a param the pipeline needs that nobody gives.
    """
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 256:
        raise InvalidArgument(
            f"Schedule name {name!r} is not allowed: start with a letter or digit and use "
            "letters, digits, '_', '-' and '.'."
        )
    given = {
        "cron": cron is not None,
        "dataset": on_dataset is not None,
        "alert": on_alert is not None and on_alert is not False,
        "run_finished": on_run_finished is not None,
        "manual": bool(manual),
    }
    chosen = [k for k, v in given.items() if v]
    if len(chosen) != 1:
        raise InvalidArgument(
            f"Schedule {name!r} needs exactly one trigger, got {chosen or 'none'}: give one of "
            "cron='0 3 * * *', on_dataset=NAME, on_alert=FILTER, on_run_finished=PIPELINE or "
            "manual=True."
        )
    kind = chosen[0]
    if timezone is not None and kind != "cron":
        raise InvalidArgument(f"Schedule {name!r}: timezone is only for cron schedules.")
    options: dict[str, Any] = {}
    if kind == "cron":
        assert cron is not None
        expr = CronExpression.parse(cron, timezone)
        spec, zone_name = expr.text, expr.timezone
    elif kind == "dataset":
        from ninefold.store.datasets import check_dataset_name

        spec, zone_name = check_dataset_name(on_dataset), None
    elif kind == "alert":
        assert on_alert is not None
        spec, zone_name = AlertFilter.parse(on_alert).text(), None
    elif kind == "run_finished":
        assert on_run_finished is not None
        field, run_name = parse_run_filter(on_run_finished)
        spec, zone_name = f"{field}:{run_name}", None
        valid = {str(s) for s in RunStatus} - {"running"}
        wrong = [s for s in statuses if s not in valid]
        if wrong or not statuses:
            raise InvalidArgument(
                f"Schedule {name!r}: statuses {list(statuses)} must be some of {sorted(valid)}."
            )
        options = {"statuses": list(statuses), "allow_loops": bool(allow_loops)}
    else:
        spec, zone_name = "", None
    if catchup not in CATCHUP:
        raise InvalidArgument(
            f"Schedule {name!r}: catchup={catchup!r} is not one of {list(CATCHUP)}."
        )
    if catchup == "skip" and kind != "cron":
        raise InvalidArgument(
            f"Schedule {name!r}: catchup='skip' is for cron schedules; event triggers use "
            "'latest' (default) or 'all'."
        )
    if catchup == "all" and kind == "cron":
        raise InvalidArgument(
            f"Schedule {name!r}: catchup='all' would run every missed cron slot; cron schedules "
            "use 'latest' (default: the newest missed slot runs once) or 'skip'."
        )
    if timeout_s is not None and (
        isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0
    ):
        raise InvalidArgument(f"Schedule {name!r}: timeout_s={timeout_s!r} must be > 0 seconds.")
    clean_params = dict(params or {})
    try:
        json.dumps(clean_params)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"Schedule {name!r}: params must be JSON values (numbers, text, lists, dicts): {exc}."
        ) from None
    _check_target(target)
    c = _client(client)
    if check:
        from ninefold.pipelines.loading import load_pipeline

        check_params(load_pipeline(target), clean_params, kind, where=f"Schedule {name!r}")
    from ninefold.pipelines.loading import portable_target

    target = portable_target(target, c.settings.project_root if c.settings else None)
    now = now_ms()
    schedule = Schedule(
        schedule_id=new_id(),
        name=name,
        target=target,
        params=clean_params,
        executor=executor or None,
        kind=kind,
        spec=spec,
        timezone=zone_name,
        catchup=catchup,
        options=options,
        timeout_s=None if timeout_s is None else float(timeout_s),
        enabled=enabled,
        description=description,
        created_ms=now,
        updated_ms=now,
    )
    return c.store.schedules.add(schedule, replace=replace)


def _check_target(target: object) -> None:
    if not isinstance(target, str) or ":" not in target or target.endswith(":"):
        raise InvalidArgument(
            f"Pipeline target {target!r} must be MODULE:PIPELINE or path/to/file.py:PIPELINE, "
            "e.g. examples/pipelines/continuous.py:continuous_training."
        )


def check_params(pipeline: Pipeline, params: Mapping[str, Any], kind: str, *, where: str) -> None:
    """Refuse params the pipeline lacks, and required params neither given nor offered."""
    declared = pipeline.signature.parameters
    unknown = [k for k in params if k not in declared]
    if unknown:
        raise InvalidArgument(
            f"{where}: pipeline {pipeline.name!r} has no param(s) {unknown}; its params are "
            f"{list(declared)}."
        )
    offered = EVENT_PARAMS.get(kind, ())
    missing = [
        p.name
        for p in declared.values()
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in params
        and p.name not in offered
    ]
    if missing:
        hint = f" (a {kind} trigger offers {list(offered)})" if offered else ""
        raise InvalidArgument(
            f"{where}: pipeline {pipeline.name!r} needs param(s) {missing} that nothing gives"
            f"{hint}; pass them as params (--param name=value) or give them defaults."
        )


def get_schedule(name: str, *, client: Client | None = None) -> Schedule:
    """The schedule called ``name``."""
    return _client(client).store.schedules.get(name)


def list_schedules(*, client: Client | None = None) -> list[Schedule]:
    """Every schedule, by name."""
    return _client(client).store.schedules.all()


def remove_schedule(name: str, *, client: Client | None = None) -> Schedule:
    """Delete a schedule; its past firings stay in the history, queued ones are dropped."""
    return _client(client).store.schedules.remove(name)


def set_schedule_enabled(name: str, enabled: bool, *, client: Client | None = None) -> Schedule:
    """Pause (False) or resume (True) a schedule; a resumed cron schedule skips what it missed."""
    return _client(client).store.schedules.set_enabled(name, enabled)


def fire(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    wait: bool = False,
    client: Client | None = None,
) -> Firing:
    """Fire a schedule by hand.

    Args:
        name: the schedule (of any kind).
        params: params for this firing only; they win over the schedule's.
        wait: run it now in this process and return when it ended; by
            default it is queued and the scheduler runs it on its next tick.
        client: the tracking client.

    Returns:
        The queued :class:`~ninefold.store.schedules.Firing` (``pending``), or
        with ``wait`` the ended one.
    """
    c = _client(client)
    schedule = c.store.schedules.get(name)
    override = dict(params or {})
    try:
        json.dumps(override)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"fire({name!r}): params must be JSON values: {exc}.") from None
    event = {"label": "manual", "time_ms": now_ms(), "params": {}, "override": override}
    firing = c.store.schedules.queue(schedule, event)
    if not wait:
        return firing
    from ninefold.pipelines.scheduler import Scheduler

    return Scheduler(c, inline=True).run_pending(firing.firing_id)


def schedule_history(
    name: str | None = None, *, limit: int = 50, client: Client | None = None
) -> list[Firing]:
    """Firings, newest first (of one schedule when ``name`` is given)."""
    c = _client(client)
    if name is not None:
        c.store.schedules.get(name)  # a clear error for a typo
    return c.store.schedules.firings(name, limit=limit)


def describe_trigger(schedule: Schedule) -> str:
    """The trigger in words: ``cron '0 3 * * *' (At 03:00 every day, Europe/Berlin)``."""
    if schedule.kind == "cron":
        expr = CronExpression.parse(schedule.spec, schedule.timezone)
        return f"cron {schedule.spec!r} ({expr.explain()}, {schedule.timezone or 'UTC'})"
    if schedule.kind == "dataset":
        return f"new version of dataset {schedule.spec!r}"
    if schedule.kind == "alert":
        return f"alert {schedule.spec}"
    if schedule.kind == "run_finished":
        statuses = "/".join(schedule.options.get("statuses", ["finished"]))
        return f"run of {schedule.spec} {statuses}"
    return "manual"


def next_slot(schedule: Schedule, after_ms: int | None = None) -> int | None:
    """The next cron slot of a cron schedule (None for other kinds)."""
    if schedule.kind != "cron":
        return None
    expr = CronExpression.parse(schedule.spec, schedule.timezone)
    return expr.next_after(now_ms() if after_ms is None else after_ms)


__all__ = [
    "CATCHUP",
    "EVENT_PARAMS",
    "KINDS",
    "AlertFilter",
    "add_schedule",
    "check_params",
    "describe_trigger",
    "fire",
    "get_schedule",
    "list_schedules",
    "next_slot",
    "parse_run_filter",
    "remove_schedule",
    "schedule_history",
    "set_schedule_enabled",
]
