"""``ninefold experiments list``."""

from __future__ import annotations

from typing import Annotated

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, fmt_time, table

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_experiments(
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List experiments with their number of runs."""
    from ninefold.tracking.client import get_client

    client = get_client()
    exps = client.store.experiments.list()
    counts = client.store.experiments.run_counts()
    if as_json:
        emit_json(
            [
                {
                    "experiment_id": e.experiment_id,
                    "name": e.name,
                    "description": e.description,
                    "created_ms": e.created_ms,
                    "runs": counts.get(e.experiment_id, 0),
                }
                for e in exps
            ]
        )
        return
    t = table(f"{len(exps)} experiment(s)", "name", "runs", "created", "id")
    for e in exps:
        t.add_row(
            e.name, str(counts.get(e.experiment_id, 0)), fmt_time(e.created_ms), e.experiment_id
        )
    console.print(t)
