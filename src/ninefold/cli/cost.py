"""``ninefold cost report | run | budget | prices | storage | estimate``."""

from __future__ import annotations

from typing import Annotated

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, err_console, fmt_size, table

app = typer.Typer(no_args_is_help=True)
budget_app = typer.Typer()
app.add_typer(budget_app, name="budget", help="Monthly budgets and their alerts.")

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def _money(micros: int, currency: str) -> str:
    from ninefold.costs.money import fmt_money

    return fmt_money(micros, currency)


def _amount(micros: int) -> str:
    from ninefold.costs.money import fmt_money

    return fmt_money(micros, "").strip()


def _warn(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"[yellow]warning[/]: {line}", highlight=False, soft_wrap=True)


@app.command("report")
def report(
    by: Annotated[
        str,
        typer.Option(
            "--by", "-b", help="Group by run, pipeline, experiment, model, project or day."
        ),
    ] = "experiment",
    since: Annotated[
        str | None, typer.Option("--since", help="Runs started on or after (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Runs started before (YYYY-MM-DD).")
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Only this experiment.")
    ] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="Show the N biggest groups.")] = 20,
    html: Annotated[
        str | None, typer.Option("--html", help="Also write a Plotly HTML report here.")
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Recompute every run's cost first.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Spend of the runs, grouped, biggest first; idle (allocated but unused) shown as waste."""
    from ninefold.costs import api

    rep = api.cost_report(
        by, since=since, until=until, experiment=experiment, refresh=refresh, storage=False
    )
    if html:
        from ninefold.costs.report import write_html_report

        days = api.cost_report(
            "day", since=since, until=until, experiment=experiment, refresh=False
        ).groups
        exps = (
            rep.groups
            if by == "experiment"
            else api.cost_report(
                "experiment", since=since, until=until, experiment=experiment, refresh=False
            ).groups
        )
        path = write_html_report(days, exps, html, currency=rep.currency)
        if not as_json:
            console.print(f"HTML report written to {path}")
    if as_json:
        emit_json(rep.to_dict())
        return
    cur = rep.currency
    t = table(
        f"Spend by {by} in {rep.currency} ({rep.runs} runs, prices {rep.price_version})",
        by,
        "runs",
        "cpu",
        "memory",
        "gpu",
        "storage",
        "egress",
        "idle",
        "total",
    )
    for g in rep.groups[:top] if by != "day" else rep.groups[-top:]:
        t.add_row(
            g.label,
            f"{g.runs}" + (f" ({g.partial} partial)" if g.partial else ""),
            _amount(g.cpu_micros),
            _amount(g.memory_micros),
            _amount(g.gpu_micros),
            _amount(g.storage_micros),
            _amount(g.egress_micros),
            _amount(g.idle_micros),
            f"[bold]{_amount(g.total_micros)}[/]",
        )
    console.print(t)
    share = 100 * rep.idle_micros / rep.total_micros if rep.total_micros else 0.0
    console.print(
        f"Total [bold]{_money(rep.total_micros, cur)}[/], of which idle "
        f"{_money(rep.idle_micros, cur)} ({share:.0f} %)."
    )
    if len(rep.groups) > top:
        console.print(f"({len(rep.groups) - top} smaller groups not shown; use --top)")
    notes = []
    if rep.partial_runs:
        notes.append(
            f"{rep.partial_runs} run(s) have a partial cost (crashed, still running, or "
            f"not measured; {rep.unmeasured_runs} without resource records)."
        )
    _warn(notes + rep.warnings)


@app.command("run")
def run(run_id: str, as_json: JsonOpt = False) -> None:
    """One run's cost: what it was allocated, what it used, and what that cost."""
    from ninefold.costs import api

    cost = api.run_cost(run_id)
    rec = cost.record
    if as_json:
        data = rec.to_dict()
        data.update(
            hours=cost.hours,
            cpu_core_hours_used=cost.cpu_core_hours_used,
            memory_gib_hours_used=cost.memory_gib_hours_used,
            gpu_hours_used=cost.gpu_hours_used,
            allocation_detail=None if cost.allocation is None else cost.allocation.__dict__,
            notes=list(cost.notes),
        )
        emit_json(data)
        return
    cur = rec.currency
    t = table(f"Run {run_id} (prices {rec.price_version})", "resource", "cost")
    for name in ("cpu", "memory", "gpu", "storage", "egress"):
        t.add_row(name, _money(getattr(rec, f"{name}_micros"), cur))
    t.add_row("[bold]total[/]", f"[bold]{_money(rec.total_micros, cur)}[/]")
    t.add_row("idle (waste)", _money(rec.idle_micros, cur))
    console.print(t)
    if cost.allocation is not None:
        a = cost.allocation
        console.print(
            f"Allocated ({a.source}): {a.cores:g} cores, {fmt_size(a.memory_bytes)}, "
            f"{a.gpus} GPU(s) for {cost.hours * 3600:.1f} s; used "
            f"{cost.cpu_core_hours_used * 3600:.1f} core-s, "
            f"{cost.memory_gib_hours_used * 3600:.2f} GiB-s; storage {fmt_size(rec.storage_bytes)}."
        )
    _warn(list(cost.notes))


@app.command("prices")
def prices(
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="Validate this price file (over the defaults)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The price table in use: each rate and instance with its source and date."""
    from datetime import UTC, datetime

    from ninefold.costs import api
    from ninefold.costs.prices import load_price_file

    settings = api.cost_settings()
    tab = load_price_file(file) if file else api.price_table()
    stale = tab.stale(datetime.now(tz=UTC).date(), settings.stale_after_days)
    if as_json:
        data = tab.to_dict()
        data["warnings"] = stale
        emit_json(data)
        return
    t = table(
        f"Rates ({tab.currency}, version {tab.version})",
        "resource",
        "unit",
        "price",
        "date",
        "source",
    )
    for r in sorted(tab.rates.values(), key=lambda r: r.key):
        t.add_row(r.key, r.unit, str(r.price), r.date.isoformat(), r.source)
    console.print(t)
    t = table("Instances", "name", "vCPU", "GiB", "GPUs", "per hour", "date", "source")
    for i in sorted(tab.instances.values(), key=lambda i: i.name):
        gpus = f"{i.gpus} x {i.gpu_model}" if i.gpus else "0"
        t.add_row(
            i.name, str(i.vcpu), str(i.memory_gib), gpus, str(i.price), i.date.isoformat(), i.source
        )
    console.print(t)
    console.print("Read from: " + ", ".join(tab.origins))
    if settings.instance:
        console.print(f"This project prices its machine as [bold]{settings.instance}[/].")
    _warn(stale)


@app.command("storage")
def storage(
    top: Annotated[int, typer.Option("--top", "-n", help="Show the N largest runs.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Bytes in the artifact store: per run, deduplication savings, unreferenced blobs."""
    from ninefold.costs import api

    acc = api.storage_report()
    if as_json:
        data = acc.to_dict()
        data["by_run"] = acc.by_run
        emit_json(data)
        return
    console.print(
        f"Store: {fmt_size(acc.store_bytes or 0)} in {acc.store_blobs} blobs; referenced "
        f"{fmt_size(acc.referenced_bytes)} (would be {fmt_size(acc.logical_bytes)} without "
        f"deduplication: {fmt_size(acc.dedup_savings_bytes)} saved); unreferenced "
        f"{fmt_size(acc.unreferenced_bytes or 0)} in {acc.unreferenced_blobs} blobs "
        "(ninefold gc removes them)."
    )
    t = table("By experiment", "experiment", "bytes")
    for name, size in sorted(acc.by_experiment.items(), key=lambda kv: -kv[1]):
        t.add_row(name, fmt_size(size))
    console.print(t)
    t = table("Largest runs (shared blobs split evenly)", "run_id", "bytes")
    for run_id, size in sorted(acc.by_run.items(), key=lambda kv: -kv[1])[:top]:
        t.add_row(run_id, fmt_size(size))
    console.print(t)
    if acc.missing:
        _warn([f"{len(acc.missing)} referenced blob(s) are missing from the store."])


@app.command("estimate")
def estimate(
    experiment: str,
    name: Annotated[
        str | None, typer.Option("--name", help="Only past runs with this name.")
    ] = None,
    last: Annotated[int, typer.Option("--last", help="Use the N most recent runs.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Predict a run's cost from the experiment's recent finished runs."""
    from ninefold.costs import api

    est = api.estimate_run_cost(experiment, name=name, last=last)
    if as_json:
        emit_json(est.to_dict())
        return
    console.print(
        f"A run of [bold]{experiment}[/]{f' named {name!r}' if name else ''} should cost about "
        f"[bold]{_money(est.median_micros, est.currency)}[/] (range "
        f"{_money(est.low_micros, est.currency)} to {_money(est.high_micros, est.currency)}, "
        f"median duration {est.median_duration_s:.1f} s; from {est.runs} recent run(s))."
    )


# -- budgets -------------------------------------------------------------------


@budget_app.callback(invoke_without_command=True)
def budget_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List budgets with this month's actual and projected spend (no alerts are sent)."""
    if ctx.invoked_subcommand is not None:
        return
    from ninefold.costs import api

    budgets = api.list_budgets()
    if as_json:
        emit_json([b.to_dict() for b in budgets])
        return
    if not budgets:
        console.print("No budgets. Set one with: ninefold cost budget set experiment NAME AMOUNT")
        return
    t = table("Budgets", "scope", "subject", "monthly", "thresholds %", "webhook")
    for b in budgets:
        t.add_row(
            b.scope,
            b.subject,
            _money(b.amount_micros, b.currency),
            ", ".join(str(x) for x in b.thresholds),
            b.webhook_url or "-",
        )
    console.print(t)
    console.print("Check them against this month's spend with: ninefold cost budget check")


@budget_app.command("set")
def budget_set(
    scope: Annotated[str, typer.Argument(help="project or experiment")],
    subject: Annotated[str, typer.Argument(help="the project's or experiment's name")],
    amount: Annotated[str, typer.Argument(help="monthly amount, in the price table's currency")],
    threshold: Annotated[
        list[int] | None,
        typer.Option("--threshold", "-t", help="Alert at this % (repeatable; 50 80 100)."),
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST this budget's alerts here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set (or replace) a monthly budget."""
    from ninefold.costs import api

    b = api.set_budget(
        scope, subject, amount, thresholds=threshold or (50, 80, 100), webhook_url=webhook
    )
    if as_json:
        emit_json(b.to_dict())
        return
    console.print(
        f"Budget for {b.scope} [bold]{b.subject}[/]: {_money(b.amount_micros, b.currency)} "
        f"per month, alerts at {', '.join(str(x) for x in b.thresholds)} %."
    )


@budget_app.command("delete")
def budget_delete(
    scope: Annotated[str, typer.Argument(help="project or experiment")],
    subject: Annotated[str, typer.Argument(help="the project's or experiment's name")],
) -> None:
    """Remove a budget."""
    from ninefold.costs import api

    api.delete_budget(scope, subject)
    console.print(f"Budget for {scope} {subject!r} removed.")


@budget_app.command("check")
def budget_check(as_json: JsonOpt = False) -> None:
    """Compare budgets with this month's spend; record and send the alerts that are due."""
    from ninefold.costs import api

    statuses = api.budget_status()
    if as_json:
        emit_json([s.to_dict() for s in statuses])
        return
    if not statuses:
        console.print("No budgets.")
        return
    t = table(
        f"Budgets, {statuses[0].month}", "budget", "monthly", "actual", "projected", "new alerts"
    )
    for s in statuses:
        cur = s.budget.currency
        style = "red" if s.actual_percent >= 100 else "yellow" if s.projected_percent >= 80 else ""
        t.add_row(
            f"{s.budget.scope}/{s.budget.subject}",
            _money(s.budget.amount_micros, cur),
            f"[{style or 'default'}]{_money(s.actual_micros, cur)} ({s.actual_percent:.0f} %)[/]",
            f"{_money(s.projected_micros, cur)} ({s.projected_percent:.0f} %)",
            str(len(s.alerts)),
        )
    console.print(t)
    for s in statuses:
        for a in s.alerts:
            console.print(f"[bold]{a.severity}[/]: {a.message}", highlight=False)
    _warn([e for s in statuses for e in s.delivery_errors])
