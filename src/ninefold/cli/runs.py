"""``ninefold runs list | show | compare``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ninefold.cli._render import (
    JSON_HELP,
    console,
    emit_json,
    fmt_duration,
    fmt_size,
    fmt_time,
    fmt_value,
    status_text,
    table,
)

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


MAX_METRIC_COLUMNS = 5


def _metric_columns(records: list[dict[str, Any]], order_by: list[str]) -> list[str]:
    """Metric columns worth a table column: those ordered by first, then user metrics.

    System metrics (``system/*``, from the resource sampler) only show when ordered by.
    """
    present = {k for r in records for k in r if k.startswith("metrics.") and r[k] is not None}
    ordered = [
        key
        for entry in order_by
        if (key := "metrics." + entry.split()[0].split(".", 1)[-1]) in present
        and entry.startswith(("metrics.", "metric."))
    ]
    rest = sorted(k for k in present - set(ordered) if not k.startswith("metrics.system/"))
    return list(dict.fromkeys(ordered + rest))[:MAX_METRIC_COLUMNS]


@app.command("list")
def list_runs(
    filter: Annotated[
        str,
        typer.Option("--filter", "-f", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\""),
    ] = "",
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc desc' (repeatable)"),
    ] = None,
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", help="Only these experiments.")
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", help="At most this many runs.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List runs, newest first, optionally filtered and ordered."""
    from ninefold.tracking.client import get_client

    records = get_client().search_runs(
        filter, order_by or [], max_results, experiment, output="records"
    )
    assert isinstance(records, list)
    if as_json:
        emit_json(records)
        return
    metric_keys = _metric_columns(records, order_by or [])
    t = table(
        f"{len(records)} run(s)",
        "run_id",
        "experiment",
        "name",
        "status",
        "started",
        *[k.removeprefix("metrics.") for k in metric_keys],
        ids=("run_id",),
    )
    for r in records:
        start = r["start_time"]
        t.add_row(
            r["run_id"],
            r["experiment"],
            r["name"],
            status_text(r["status"]),
            start.strftime("%Y-%m-%d %H:%M:%S") if start else "-",
            *[fmt_value(r.get(k)) for k in metric_keys],
        )
    console.print(t)


@app.command("show")
def show_run(run_id: str, as_json: JsonOpt = False) -> None:
    """Show one run: params, metrics, tags, artifacts, inputs and registered models."""
    from ninefold.tracking.client import get_client

    client = get_client()
    run = client.get_run(run_id)
    artifacts = client.list_artifacts(run_id)
    inputs = client.inputs(run_id)
    models = client.store.models.versions_of_run(run_id)
    children = client.store.runs.children(run_id)
    if as_json:
        data = run.to_dict()
        data["artifacts"] = [
            {"path": a.path, "digest": a.digest, "size": a.size} for a in artifacts
        ]
        data["inputs"] = [{"kind": i.kind, "ref": i.ref, "context": i.context} for i in inputs]
        data["models"] = [m.uri for m in models]
        data["children"] = children
        emit_json(data)
        return
    console.print(
        f"[bold]{run.name}[/] ({run.run_id})  {status_text(str(run.status))}\n"
        f"experiment [bold]{run.experiment}[/]  started {fmt_time(run.start_ms)}  "
        f"duration {fmt_duration(run.start_ms, run.end_ms)}  user {run.user}@{run.host}"
    )
    if run.parent_run_id:
        console.print(f"parent run {run.parent_run_id}")
    for title, values in (
        ("Params", run.params),
        ("Metrics (latest)", run.metrics),
        ("Tags", run.tags),
    ):
        if values:
            t = table(title, "key", "value")
            for k, v in sorted(values.items()):
                t.add_row(k, fmt_value(v))
            console.print(t)
    if artifacts:
        t = table("Artifacts", "path", "size", "sha256")
        for a in artifacts:
            t.add_row(a.path, fmt_size(a.size), a.digest[:12])
        console.print(t)
    if inputs:
        t = table("Inputs", "kind", "ref", "context")
        for i in inputs:
            t.add_row(i.kind, i.ref, i.context or "-")
        console.print(t)
    if models:
        console.print("Registered models: " + ", ".join(m.uri for m in models))
    if children:
        console.print(
            f"Child runs: {len(children)} (ninefold runs list -f \"parent_run_id = '{run_id}'\")"
        )


@app.command("compare")
def compare(run_ids: list[str], as_json: JsonOpt = False) -> None:
    """Compare runs side by side: params, latest metrics and tags; differing rows highlighted."""
    from ninefold.tracking.client import get_client

    # The same id twice would make two identical columns; compare each run once.
    records = get_client().compare_runs(list(dict.fromkeys(run_ids)), output="records")
    assert isinstance(records, list)
    if as_json:
        emit_json(records)
        return
    columns = [c for c in records[0] if c not in ("key", "differs")] if records else []
    t = table("Comparison", "key", *columns)
    for row in records:
        if row["key"].startswith("tags.ninefold."):
            continue
        style = "bold yellow" if row.get("differs") else None
        t.add_row(row["key"], *[row[c] or "-" for c in columns], style=style)
    console.print(t)
