"""``ninefold models list | show | alias | history | challenge``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, fmt_size, fmt_time, table

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("list")
def list_models(as_json: JsonOpt = False) -> None:
    """List registered models with their latest version and aliases."""
    from ninefold.registry import api

    models = api.list_models()
    if as_json:
        emit_json(
            [
                {
                    "name": m.name,
                    "latest_version": m.latest_version,
                    "aliases": m.aliases,
                    "tags": m.tags,
                    "description": m.description,
                    "updated_ms": m.updated_ms,
                }
                for m in models
            ]
        )
        return
    t = table(f"{len(models)} model(s)", "name", "latest", "aliases", "updated")
    for m in models:
        aliases = ", ".join(f"@{a}→v{v}" for a, v in sorted(m.aliases.items())) or "-"
        t.add_row(
            m.name,
            f"v{m.latest_version}" if m.latest_version else "-",
            aliases,
            fmt_time(m.updated_ms),
        )
    console.print(t)


@app.command("show")
def show_model(
    name: Annotated[
        str, typer.Argument(help="Model name or URI (models:/name@alias, models:/name/3).")
    ],
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Version number or alias.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a model's versions, or one version with its signature and lineage."""
    from ninefold.registry import api

    if name.startswith("models:") and version is not None:
        raise typer.BadParameter(
            f"{name} already names a version; drop --version or give a plain model name"
        )
    if name.startswith("models:") or version is not None:
        lineage = api.model_lineage(
            name
            if version is None
            else f"models:/{name}/{version}"
            if version.isdigit()
            else f"models:/{name}@{version}"
        )
        if as_json:
            emit_json(lineage.to_dict())
            return
        mv = lineage.version
        console.print(
            f"[bold]{mv.uri}[/]  format {mv.format}  {fmt_size(mv.size)}  sha256 {mv.digest[:16]}"
        )
        console.print(
            f"aliases: {', '.join('@' + a for a in mv.aliases) or '-'}   "
            f"created {fmt_time(mv.created_ms)}"
        )
        if mv.description:
            console.print(mv.description)
        console.print(f"run: {mv.run_id or '-'}   git commit: {mv.git_commit or '-'}")
        for i in lineage.inputs:
            console.print(f"input: {i.kind} {i.ref}")
        if mv.signature:
            console.print("signature:", json.dumps(mv.signature, indent=2))
        return
    versions = api.list_model_versions(name)
    if as_json:
        emit_json([v.to_dict() for v in versions])
        return
    t = table(
        f"{name}: {len(versions)} version(s)",
        "version",
        "aliases",
        "format",
        "run",
        "created",
        ids=("run",),
    )
    for v in versions:
        t.add_row(
            f"v{v.version}",
            ", ".join("@" + a for a in v.aliases) or "-",
            v.format,
            v.run_id or "-",
            fmt_time(v.created_ms),
        )
    console.print(t)


@app.command("alias")
def alias(
    name: str,
    alias: str,
    version: Annotated[int | None, typer.Argument(help="Version to point the alias at.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Point an alias (e.g. champion) at a version, or remove it with --delete."""
    from ninefold.registry import api

    if delete:
        api.delete_alias(name, alias)
        result: dict[str, Any] = {"name": name, "alias": alias, "version": None}
    else:
        if version is None:
            raise typer.BadParameter("give the VERSION to point the alias at, or --delete")
        before = api.set_alias(name, alias, version)
        result = {"name": name, "alias": alias, "version": version, "previous_version": before}
    if as_json:
        emit_json(result)
    elif delete:
        console.print(f"Removed @{alias} from {name}.")
    else:
        moved = f" (was v{result['previous_version']})" if result.get("previous_version") else ""
        console.print(f"{name}@{alias} → v{version}{moved}")


@app.command("history")
def history(
    name: str, alias: Annotated[str | None, typer.Argument()] = None, as_json: JsonOpt = False
) -> None:
    """Show every move of a model's aliases."""
    from ninefold.registry import api

    changes = api.alias_history(name, alias)
    if as_json:
        emit_json([c.__dict__ for c in changes])
        return
    t = table(f"Alias history of {name}", "when", "alias", "from", "to", "by")
    for c in changes:
        t.add_row(
            fmt_time(c.changed_ms),
            "@" + c.alias,
            f"v{c.previous_version}" if c.previous_version else "-",
            f"v{c.version}" if c.version else "(removed)",
            c.user,
        )
    console.print(t)


@app.command("challenge")
def challenge(
    name: str,
    version: int,
    metric: Annotated[str, typer.Option("--metric", "-m", help="The metric to compare.")],
    margin: Annotated[
        float, typer.Option("--margin", help="How much better it must be (default 0).")
    ] = 0.0,
    lower_is_better: Annotated[
        bool, typer.Option("--lower-is-better", help="For losses and errors (rmse, log_loss).")
    ] = False,
    relative: Annotated[
        bool, typer.Option("--relative", help="Read --margin as a fraction of the champion's.")
    ] = False,
    champion_alias: Annotated[str, typer.Option("--champion-alias")] = "champion",
    challenger_alias: Annotated[str, typer.Option("--challenger-alias")] = "challenger",
    as_json: JsonOpt = False,
) -> None:
    """Make VERSION the challenger; promote it to champion if it wins by --margin."""
    from ninefold.registry.gate import challenge as run_gate

    decision = run_gate(
        name,
        version,
        metric=metric,
        margin=margin,
        higher_is_better=not lower_is_better,
        relative=relative,
        champion_alias=champion_alias,
        challenger_alias=challenger_alias,
    )
    if as_json:
        emit_json(decision.to_dict())
        return
    style = {"promoted": "green", "rejected": "yellow"}.get(decision.decision, "white")
    console.print(f"{name} v{version}: [{style}]{decision.decision}[/]")
    console.print(decision.reason, highlight=False, markup=False)
