"""``ninefold db upgrade | info``."""

from __future__ import annotations

from typing import Annotated

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("upgrade")
def upgrade(as_json: JsonOpt = False) -> None:
    """Create or migrate the metadata store to the newest schema."""
    from ninefold.config import load_settings
    from ninefold.store.database import Database
    from ninefold.store.migrate import upgrade as do_upgrade

    settings = load_settings()
    db = Database(settings.store_url)
    before, after = do_upgrade(db)
    db.dispose()
    if as_json:
        emit_json({"store_url": db.safe_url(), "from": before, "to": after})
    elif before == after:
        console.print(f"Store {db.safe_url()} is up to date (revision {after}).")
    else:
        console.print(f"Store {db.safe_url()} upgraded from {before or 'empty'} to {after}.")


@app.command("info")
def info(as_json: JsonOpt = False) -> None:
    """Show where the metadata and artifact stores are, and their size."""
    from ninefold.tracking.client import get_client

    client = get_client()
    data = {
        "project_root": str(client.settings.project_root)
        if client.settings and client.settings.project_root
        else None,
        "store_url": client.store.db.safe_url(),
        "artifact_root": client.artifact_root,
        "runs": client.store.runs.count(),
        "experiments": len(client.store.experiments.list()),
        "models": len(client.store.models.list_models()),
    }
    if as_json:
        emit_json(data)
        return
    for k, v in data.items():
        console.print(f"[bold]{k}[/]: {v}")
