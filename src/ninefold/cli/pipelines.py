"""``ninefold pipelines run | sweep | diff | list | show | explain | graph | lineage``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape

from ninefold.cli._render import (
    JSON_HELP,
    console,
    emit_json,
    fmt_duration,
    fmt_size,
    fmt_time,
    status_text,
    table,
)

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Pipeline

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A pipeline param as name=value (repeatable)."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="A YAML file of params (name: value); --param overrides it.",
        dir_okay=False,
    ),
]


def _params(pipeline: Pipeline, config: Path | None, pairs: list[str] | None) -> dict[str, Any]:
    from ninefold.pipelines.loading import parse_params, read_params_file

    base = read_params_file(config, pipeline) if config is not None else {}
    return {**base, **parse_params(pairs or [], pipeline)}


Spec = Annotated[
    str, typer.Argument(help="MODULE:PIPELINE or path/to/file.py:PIPELINE", metavar="PIPELINE")
]

_CACHE_STYLE = {"hit": "green", "miss": "yellow", "off": "magenta"}


def _cache_text(cache: str | None) -> str:
    if cache is None:
        return "-"
    return f"[{_CACHE_STYLE.get(cache, 'white')}]{cache}[/]"


@app.command("run")
def run_cmd(
    spec: Spec,
    param: ParamOpt = None,
    config: ConfigOpt = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            "-x",
            help="inline (default), process, ray (local Ray) or ray://HOST:PORT (a Ray cluster).",
        ),
    ] = "",
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Worker processes (process); steps in flight (ray)."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="The run's seed.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say which steps would hit the cache; run nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a pipeline: every step is a tracked child run; cached steps are skipped."""
    from ninefold.pipelines.loading import load_pipeline
    from ninefold.pipelines.planning import plan_pipeline
    from ninefold.pipelines.runner import explain_lines

    pipeline = load_pipeline(spec)
    params = _params(pipeline, config, param)
    if dry_run:
        plan = plan_pipeline(pipeline, params, seed=seed, cache=False if no_cache else None)
        if as_json:
            emit_json([p.to_dict() for p in plan])
            return
        t = table(f"Plan for {pipeline.name}", "step", "action", "why")
        for p in plan:
            why = f"cached in run {p.source_run_id}" if p.action == "hit" else "; ".join(p.reasons)
            style = "green" if p.action == "hit" else "yellow"
            t.add_row(escape(p.node), f"[{style}]{p.action}[/]", escape(why))
        console.print(t)
        return
    kwargs: dict[str, object] = {}
    if seed is not None:
        kwargs["seed"] = seed
    result = pipeline.run(
        params,
        executor=executor or None,
        cache=False if no_cache else None,
        max_workers=workers,
        **kwargs,  # type: ignore[arg-type]
    )
    if as_json:
        emit_json(result.to_dict())
        return
    console.print(
        f"[bold]{result.pipeline}[/] run {result.run_id} {status_text(str(result.status))}: "
        f"{len(result.steps)} steps, {len(result.hits)} from the cache, "
        f"{len(result.executed)} ran ({result.executor})"
    )
    t = table(None, "step", "cache", "why")
    for s in result.steps:
        t.add_row(escape(s.node), _cache_text(s.cache), escape("; ".join(explain_lines(s))))
    console.print(t)


@app.command("sweep")
def sweep_cmd(
    spec: Spec,
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            "-g",
            help="A param and its values, comma-separated: C=0.1,1,10 (repeatable; every "
            "combination runs).",
        ),
    ],
    param: ParamOpt = None,
    config: ConfigOpt = None,
    executor: Annotated[
        str,
        typer.Option("--executor", "-x", help="inline (default, one after another), process, ray."),
    ] = "",
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Worker processes (process); steps in flight (ray)."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    sort: Annotated[
        str | None,
        typer.Option("--sort", help="Order by this metric, highest first, e.g. evaluate/auc."),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help="Show only these metrics (repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a pipeline once per combination of params, under one sweep run; compare metrics.

    Each combination is a pipeline run with its steps' metrics lifted onto it
    as ``<step>/<metric>``; steps the combinations share run once. Exits 1 when
    a combination failed (the others still run).
    """
    from ninefold.errors import SweepFailed
    from ninefold.pipelines.loading import load_pipeline, parse_params
    from ninefold.pipelines.sweeps import SweepResult
    from ninefold.tracking.client import get_client

    pipeline = load_pipeline(spec)
    fixed = _params(pipeline, config, param)
    axes: dict[str, list[object]] = {}
    for item in grid:
        name, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise typer.BadParameter(f"{item!r} must look like name=v1,v2,...", param_hint="--grid")
        axes[name.strip()] = [
            parse_params([f"{name.strip()}={v.strip()}"], pipeline)[name.strip()]
            for v in values.split(",")
        ]
    combos: dict[str, list[object]] = {**{k: [v] for k, v in fixed.items()}, **axes}
    failed: SweepFailed | None = None
    try:
        result: SweepResult = pipeline.sweep(
            combos,
            executor=executor or None,
            cache=False if no_cache else None,
            max_workers=workers,
        )
    except SweepFailed as exc:
        failed = exc
        result = cast(SweepResult, exc.result)
    client = get_client()
    found = client.store.runs.get_many([r.run_id for r in result.runs])
    rows = []
    for r in result.runs:
        metrics = dict(found[r.run_id].metrics) if r.run_id in found else {}
        rows.append((r, {k: v for k, v in metrics.items() if "/" in k}))
    if sort is not None:
        rows.sort(key=lambda row: (sort not in row[1], -row[1].get(sort, 0.0)))
    if as_json:
        data = result.to_dict()
        data["metrics"] = {r.run_id: m for r, m in rows}
        emit_json(data)
    else:
        keys = metric or sorted({k for _, m in rows for k in m})
        t = table(
            f"Sweep {result.run_id}: {len(result.runs)} finished, {len(result.failures)} failed",
            "run_id",
            *axes,
            "hits",
            *keys,
        )
        for r, m in rows:
            t.add_row(
                r.run_id,
                *(escape(str(r.params.get(a))) for a in axes),
                f"{len(r.hits)}/{len(r.steps)}",
                *(f"{m[k]:.6g}" if k in m else "-" for k in keys),
            )
        console.print(t)
        for f in result.failures:
            console.print(f"[red]failed[/] {f.params} at step {f.node}: {escape(f.error)}")
        console.print(f"Compare: ninefold runs compare {' '.join(r.run_id for r, _ in rows[:4])}")
    if failed is not None:
        raise typer.Exit(1)


@app.command("diff")
def diff_cmd(
    run_a: Annotated[str, typer.Argument(help="A pipeline run.", metavar="RUN_A")],
    run_b: Annotated[
        str, typer.Argument(help="Another run of the same pipeline.", metavar="RUN_B")
    ],
    as_json: JsonOpt = False,
) -> None:
    """What differs between two pipeline runs: params, code, environment, then each step.

    Exits 0 when every output of every step is bit-identical, 1 otherwise (like ``diff``).
    """
    from ninefold.cli.reproduce import steps_table
    from ninefold.pipelines.compare import diff_runs

    d = diff_runs(run_a, run_b)
    if as_json:
        emit_json(d.to_dict())
    else:
        console.print(f"[bold]{run_a}[/] -> [bold]{run_b}[/]")
        for line in d.params:
            console.print(f"  params.{line}", markup=False, highlight=False)
        if d.commit:
            console.print(f"  code: {d.commit}", markup=False, highlight=False)
        for line in d.environment[:15]:
            console.print(f"  {line}", markup=False, highlight=False)
        steps_table(d.steps, "A", "B")
        if d.identical:
            console.print(f"[green]Identical:[/] every output of the {len(d.steps)} steps.")
        else:
            where = (
                f"; they part at step [bold]{escape(d.first_divergence)}[/] (same input "
                "artifacts, other outputs: see the params and code above)"
                if d.first_divergence
                else ""
            )
            console.print(f"[yellow]Steps that differ:[/] {escape(', '.join(d.differing))}{where}.")
    if not d.identical:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="Only runs of this pipeline.")
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", help="At most this many runs.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List pipeline runs, newest first."""
    from ninefold.pipelines.history import list_pipeline_runs

    records = list_pipeline_runs(pipeline, limit=max_results)
    if as_json:
        emit_json([r.to_dict() for r in records])
        return
    t = table(
        f"{len(records)} pipeline run(s)",
        "run_id",
        "pipeline",
        "status",
        "started",
        "duration",
        "steps",
        "cached",
    )
    for r in records:
        t.add_row(
            r.run.run_id,
            r.pipeline,
            status_text(str(r.run.status)),
            fmt_time(r.run.start_ms),
            fmt_duration(r.run.start_ms, r.run.end_ms),
            str(len(r.steps) + len(r.unrecorded)),
            str(r.hits),
        )
    console.print(t)


@app.command("show")
def show_cmd(run_id: str, as_json: JsonOpt = False) -> None:
    """Show a pipeline run: params, then each step with its cache decision and outputs."""
    from ninefold.pipelines.history import get_pipeline_run

    record = get_pipeline_run(run_id)
    if as_json:
        emit_json(record.to_dict())
        return
    run = record.run
    console.print(
        f"[bold]{record.pipeline}[/] run {run.run_id}  {status_text(str(run.status))}  "
        f"started {fmt_time(run.start_ms)}  duration {fmt_duration(run.start_ms, run.end_ms)}"
    )
    if run.params:
        console.print("params: " + ", ".join(f"{k}={v}" for k, v in sorted(run.params.items())))
    for key in ("ninefold.seed", "ninefold.pipeline.executor", "ninefold.git.commit"):
        if key in run.tags:
            console.print(f"{key.rsplit('.', 1)[-1]}: {run.tags[key]}")
    if "ninefold.error" in run.tags:
        console.print(f"[red]error:[/] {run.tags['ninefold.error']}")
    t = table("Steps", "step", "status", "cache", "attempts", "cpu s", "peak rss", "outputs")
    for s in record.steps:
        outputs = ", ".join(
            f"{e.name}={e.digest[:12]} ({e.materializer}, {fmt_size(e.size)})"
            for e in s.edges
            if e.direction == "output"
        )
        used = record.usage.get(s.run_id)
        t.add_row(
            escape(s.node),
            status_text(str(s.status)) if s.status else "-",
            _cache_text(s.cache),
            str(s.attempts),
            "-" if used is None else f"{used.cpu_s:.3g}",
            "-" if used is None else fmt_size(used.rss_peak_bytes),
            outputs or "-",
        )
    for r in record.unrecorded:
        t.add_row(escape(r.name), status_text(str(r.status)), "-", "-", "-", "-", "-")
    console.print(t)


@app.command("explain")
def explain_cmd(run_id: str, as_json: JsonOpt = False) -> None:
    """Why each step of a pipeline run hit the cache or ran."""
    from ninefold.pipelines.history import explain

    rows = explain(run_id)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        head = f"[bold]{escape(row['node'])}[/]  {_cache_text(row['cache'])}"
        if row["status"] and row["status"] != "finished":
            head += f"  {status_text(row['status'])}"
        console.print(head)
        for reason in row["reasons"]:
            console.print(f"  - {reason}", highlight=False, markup=False)


_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@app.command("graph")
def graph_cmd(
    spec: Annotated[
        str,
        typer.Argument(
            help="MODULE:PIPELINE, path/to/file.py:PIPELINE, or the id of a pipeline run "
            "(each step coloured by what happened to it: cache hit, ran, failed).",
            metavar="PIPELINE|RUN",
        ),
    ],
    param: ParamOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="text (default), mermaid, json, svg or html (standalone page)."
        ),
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a pipeline's steps and how they connect (or how a run went), as text or a picture."""
    from ninefold.errors import InvalidArgument
    from ninefold.pipelines import graph_render

    formats = ("text", "mermaid", "json", "svg", "html")
    fmt = "json" if as_json else fmt
    if fmt not in formats:
        raise InvalidArgument(f"--format {fmt!r}: use {', '.join(formats)}.")
    if _RUN_ID.match(spec):
        if param:
            raise InvalidArgument("--param applies to a pipeline, not to a run: drop it.")
        view = graph_render.run_view(spec)
        as_dict, graph_text = view.to_dict, {"text": view.to_text, "mermaid": view.to_mermaid}
    else:
        from ninefold.pipelines.loading import load_pipeline, parse_params

        pipeline = load_pipeline(spec)
        graph = pipeline.graph(parse_params(param or [], pipeline))
        view = graph_render.GraphView.from_graph(graph)
        as_dict, graph_text = graph.to_dict, {"text": graph.to_text, "mermaid": graph.to_mermaid}
    if fmt == "json":
        text = json.dumps(as_dict(), indent=2, default=repr)
    elif fmt == "svg":
        text = graph_render.graph_svg(view)
    elif fmt == "html":
        text = graph_render.graph_html(view)
    else:
        text = graph_text[fmt]()
    if output is None:
        if fmt == "json":
            emit_json(json.loads(text))
        else:
            typer.echo(text.rstrip("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    console.print(f"Wrote {fmt} of {len(view.nodes)} steps to {output}", highlight=False)


@app.command("lineage")
def lineage_cmd(
    ref: Annotated[
        str,
        typer.Argument(
            help="An artifact digest, a run id, models:/name/3, models:/name@alias or "
            "datasets:/name@3."
        ),
    ],
    downstream: Annotated[
        bool, typer.Option("--downstream", help="What was made from it (default: upstream).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Trace what went into an artifact, run or model version, or what came out of it."""
    from ninefold.pipelines import lineage

    graph = lineage.downstream(ref) if downstream else lineage.upstream(ref)
    if as_json:
        emit_json(graph.to_dict())
        return
    console.print(graph.to_text(), highlight=False, markup=False)
