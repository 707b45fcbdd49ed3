"""``ninefold schedule add | list | show | fire | history | pause | resume | remove`` and
``ninefold scheduler``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ninefold.cli._render import JSON_HELP, console, emit_json, err_console, fmt_time, table

if TYPE_CHECKING:
    from ninefold.store.schedules import Firing, Schedule

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A pipeline param as name=value (repeatable)."),
]
NameArg = Annotated[str, typer.Argument(help="The schedule's name.")]

_FIRING_STYLE = {
    "pending": "cyan",
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "killed": "yellow",
    "skipped": "dim",
    "crashed": "bold red",
}


def _status(status: str | None) -> str:
    if status is None:
        return "-"
    return f"[{_FIRING_STYLE.get(status, 'white')}]{status}[/]"


def _raw_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs without the pipeline at hand: JSON where it parses, else text."""
    from ninefold.errors import InvalidArgument

    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidArgument(f"--param {pair!r} must look like name=value.")
        try:
            out[name.strip()] = json.loads(raw)
        except ValueError:
            out[name.strip()] = raw
    return out


def _params(target: str, pairs: list[str], check: bool) -> dict[str, Any]:
    if not pairs:
        return {}
    if not check:
        return _raw_params(pairs)
    from ninefold.pipelines.loading import load_pipeline, parse_params

    return parse_params(pairs, load_pipeline(target))


def _schedule_row(schedule: Schedule, last: Firing | None) -> dict[str, Any]:
    from ninefold.pipelines.schedules import describe_trigger, next_slot

    data = schedule.to_dict()
    data["trigger"] = describe_trigger(schedule)
    data["next_ms"] = next_slot(schedule) if schedule.enabled else None
    data["last_firing"] = None if last is None else last.to_dict()
    return data


@app.command("add")
def add_cmd(
    name: NameArg,
    target: Annotated[
        str,
        typer.Argument(
            help="The pipeline: MODULE:PIPELINE or path/to/file.py:PIPELINE.", metavar="PIPELINE"
        ),
    ],
    cron: Annotated[
        str | None, typer.Option("--cron", help="A cron expression, e.g. '0 3 * * *' or @daily.")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Time zone of --cron, e.g. Europe/Berlin (UTC).")
    ] = None,
    on_dataset: Annotated[
        str | None, typer.Option("--on-dataset", help="Fire on each new version of this data set.")
    ] = None,
    on_alert: Annotated[
        str | None,
        typer.Option(
            "--on-alert",
            help="Fire on each new alert matching a filter, e.g. 'kind=drift,severity=error' "
            "('*' for any).",
        ),
    ] = None,
    on_run_finished: Annotated[
        str | None,
        typer.Option(
            "--on-run-finished",
            help="Fire when a run of this pipeline ends (or experiment:NAME).",
        ),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", help="With --on-run-finished: end states that count (default finished)."
        ),
    ] = None,
    manual: Annotated[bool, typer.Option("--manual", help="Fire only by hand.")] = False,
    param: ParamOpt = None,
    executor: Annotated[
        str | None, typer.Option("--executor", "-x", help="Executor of the pipeline run.")
    ] = None,
    catchup: Annotated[
        str,
        typer.Option(
            "--catchup",
            help="latest (default: only the newest missed slot or event runs), skip (cron: "
            "missed slots do not run) or all (events: each runs).",
        ),
    ] = "latest",
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop a firing after this many seconds.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="Free text.")] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Store it paused.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a schedule of the same name.")
    ] = False,
    no_check: Annotated[
        bool,
        typer.Option(
            "--no-check",
            help="Do not import the pipeline now (it is importable only where the scheduler runs).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a schedule: run PIPELINE on a cron expression or a trigger."""
    from ninefold.pipelines.schedules import add_schedule, describe_trigger

    schedule = add_schedule(
        name,
        target,
        cron=cron,
        timezone=tz,
        on_dataset=on_dataset,
        on_alert=on_alert,
        on_run_finished=on_run_finished,
        manual=manual,
        params=_params(target, param or [], not no_check),
        executor=executor,
        catchup=catchup,
        timeout_s=timeout,
        statuses=tuple(status or ("finished",)),
        description=description,
        enabled=not paused,
        replace=replace,
        check=not no_check,
    )
    if as_json:
        emit_json(_schedule_row(schedule, None))
        return
    console.print(
        f"Added schedule [bold]{escape(schedule.name)}[/]: {escape(schedule.target)} on "
        f"{escape(describe_trigger(schedule))}. Run [bold]ninefold scheduler[/] to evaluate it."
    )


@app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """List schedules with their trigger, last firing and next cron slot."""
    from ninefold.pipelines.schedules import list_schedules
    from ninefold.tracking.client import get_client

    schedules = list_schedules()
    last = get_client().store.schedules.last_firings()
    rows = [_schedule_row(s, last.get(s.schedule_id)) for s in schedules]
    if as_json:
        emit_json(rows)
        return
    t = table(f"{len(rows)} schedule(s)", "name", "trigger", "pipeline", "last", "next")
    for s, row in zip(schedules, rows, strict=True):
        lf = row["last_firing"]
        last_text = "-" if lf is None else f"{_status(lf['status'])} {fmt_time(lf['created_ms'])}"
        nxt = "paused" if not s.enabled else fmt_time(row["next_ms"]) if row["next_ms"] else "-"
        t.add_row(escape(s.name), escape(row["trigger"]), escape(s.target), last_text, nxt)
    console.print(t)


@app.command("show")
def show_cmd(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show a schedule, its next cron slots and its recent firings."""
    from ninefold.pipelines.cron import CronExpression
    from ninefold.pipelines.schedules import get_schedule, schedule_history

    schedule = get_schedule(name)
    firings = schedule_history(name, limit=10)
    row = _schedule_row(schedule, firings[0] if firings else None)
    upcoming: list[int] = []
    if schedule.kind == "cron" and schedule.enabled:
        from ninefold._ids import now_ms

        upcoming = CronExpression.parse(schedule.spec, schedule.timezone).upcoming(now_ms(), 5)
    if as_json:
        row["upcoming_ms"] = upcoming
        row["firings"] = [f.to_dict() for f in firings]
        emit_json(row)
        return
    console.print(
        f"[bold]{escape(schedule.name)}[/]  {escape(schedule.target)}  on "
        f"{escape(row['trigger'])}{'' if schedule.enabled else '  [yellow]paused[/]'}"
    )
    details = {
        "params": json.dumps(schedule.params) if schedule.params else None,
        "executor": schedule.executor,
        "catchup": schedule.catchup,
        "timeout": f"{schedule.timeout_s:g} s" if schedule.timeout_s else None,
        "skipped so far": str(schedule.skipped_total) if schedule.skipped_total else None,
        "description": schedule.description,
    }
    for key, value in details.items():
        if value:
            console.print(f"{key}: {escape(value)}", highlight=False)
    if upcoming:
        console.print("next: " + ", ".join(f"{fmt_time(ms)} UTC" for ms in upcoming))
    _print_firings(firings, "Recent firings")


def _note(firing: Firing) -> str:
    """Why a firing failed or was skipped, in one line (the error class left out)."""
    note = firing.error.splitlines()[0] if firing.error else ""
    head, sep, rest = note.partition(": ")
    if sep and head.replace(".", "").replace("_", "").isalnum() and head[:1].isalpha():
        note = rest  # "ninefold.errors.StepFailed: Step ..." -> "Step ..."
    if firing.skipped:
        note = f"{firing.skipped} missed slot(s) not run" + (f"; {note}" if note else "")
    return note


def _print_firings(firings: list[Firing], title: str) -> None:
    t = table(title, "#", "schedule", "event", "status", "when", "run", ids=("run",))
    notes = []
    for number, f in enumerate(firings, 1):
        t.add_row(
            str(number),
            escape(f.schedule),
            escape(str(f.event.get("label", f.event_key))),
            _status(f.status),
            fmt_time(f.created_ms),
            f.run_id or "-",
        )
        note = _note(f)
        if note:
            notes.append(f"#{number} {escape(note[:300])}")
    console.print(t)
    for line in notes:
        console.print(line, highlight=False)


@app.command("history")
def history_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this schedule's firings.")] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List firings, newest first: what fired, when, which run it started and how it ended."""
    from ninefold.pipelines.schedules import schedule_history

    firings = schedule_history(name, limit=max_results)
    if as_json:
        emit_json([f.to_dict() for f in firings])
        return
    _print_firings(firings, f"{len(firings)} firing(s)")


@app.command("fire")
def fire_cmd(
    name: NameArg,
    param: ParamOpt = None,
    now: Annotated[
        bool, typer.Option("--now", help="Run it here and now instead of queueing it.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fire a schedule by hand: queued for the scheduler, or run at once with --now."""
    from ninefold.pipelines.schedules import fire, get_schedule

    schedule = get_schedule(name)
    params = _params(schedule.target, param or [], True) if param else None
    firing = fire(name, params=params, wait=now)
    if as_json:
        emit_json(firing.to_dict())
    elif firing.status == "pending":
        console.print(
            f"Queued firing {firing.firing_id} of [bold]{escape(name)}[/]; the scheduler runs it "
            "on its next tick (or run: ninefold scheduler --once)."
        )
    else:
        run = f" run {firing.run_id}" if firing.run_id else ""
        console.print(
            f"Firing {firing.firing_id} of [bold]{escape(name)}[/] {_status(firing.status)}{run}"
        )
        if firing.error:
            err_console.print(escape(firing.error), highlight=False)
    if firing.status not in ("pending", "finished"):
        raise typer.Exit(code=1)


@app.command("pause")
def pause_cmd(name: NameArg, as_json: JsonOpt = False) -> None:
    """Pause a schedule (the scheduler leaves it alone until resumed)."""
    from ninefold.pipelines.schedules import set_schedule_enabled

    schedule = set_schedule_enabled(name, False)
    if as_json:
        emit_json(schedule.to_dict())
        return
    console.print(f"Paused schedule [bold]{escape(name)}[/].")


@app.command("resume")
def resume_cmd(name: NameArg, as_json: JsonOpt = False) -> None:
    """Resume a paused schedule; a cron schedule does not run the slots it missed meanwhile."""
    from ninefold.pipelines.schedules import set_schedule_enabled

    schedule = set_schedule_enabled(name, True)
    if as_json:
        emit_json(schedule.to_dict())
        return
    console.print(f"Resumed schedule [bold]{escape(name)}[/].")


@app.command("remove")
def remove_cmd(name: NameArg, as_json: JsonOpt = False) -> None:
    """Remove a schedule; its firings stay in the history."""
    from ninefold.pipelines.schedules import remove_schedule

    schedule = remove_schedule(name)
    if as_json:
        emit_json(schedule.to_dict())
        return
    console.print(f"Removed schedule [bold]{escape(name)}[/].")


def scheduler_cmd(
    once: Annotated[
        bool,
        typer.Option("--once", help="One tick, wait for its firings, exit (for cron or systemd)."),
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between ticks.")] = 30.0,
    inline: Annotated[
        bool,
        typer.Option("--inline", help="Run firings in this process, not in child processes."),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Time limit of a firing whose schedule sets none (s)."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="If another scheduler runs, wait to take over from it."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the scheduler: fire schedules on their cron slots and triggers until stopped.

    One scheduler runs per store; a second one exits with a message (or waits,
    with --wait). With --once it exits 1 when a firing failed.
    """
    from ninefold.pipelines.scheduler import DEFAULT_TIMEOUT_S, Scheduler

    def log(message: str) -> None:
        from ninefold._ids import now_ms

        err_console.print(
            f"{fmt_time(now_ms())} {escape(message)}", highlight=False, soft_wrap=True
        )

    sched = Scheduler(
        poll_s=poll,
        inline=inline,
        timeout_s=timeout or DEFAULT_TIMEOUT_S,
        log=log,
    )
    if not once:
        sched.run_forever(wait_for_lease=wait)
        return
    ended = sched.run_once(wait_for_lease=wait)
    if as_json:
        emit_json([f.to_dict() for f in ended])
    elif ended:
        summary = ", ".join(f"{escape(f.schedule)} {_status(f.status)}" for f in ended)
        console.print(f"{len(ended)} firing(s): {summary}")
    else:
        console.print("Nothing was due.")
    if any(f.status != "finished" for f in ended):
        raise typer.Exit(code=1)
