"""``ninefold artifacts list | get``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, fmt_size, table

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("list")
def list_artifacts(
    run_id: str,
    path: Annotated[str, typer.Argument(help="Only files under this path.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List the files logged to a run."""
    from ninefold.tracking.client import get_client

    entries = get_client().list_artifacts(run_id, path)
    if as_json:
        emit_json([{"path": e.path, "digest": e.digest, "size": e.size} for e in entries])
        return
    t = table(f"{len(entries)} file(s)", "path", "size", "sha256")
    for e in entries:
        t.add_row(e.path, fmt_size(e.size), e.digest[:12])
    console.print(t)


@app.command("get")
def get(
    uri: Annotated[
        str,
        typer.Argument(
            help="runs:/<run_id>/<path> or models:/<name>@<alias> or models:/<name>/<version>"
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Destination folder.")] = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Download an artifact file or folder (hash-checked) to a local folder."""
    from ninefold.registry.api import get_model_version
    from ninefold.tracking.client import get_client
    from ninefold.uris import ModelURI, RunArtifactURI, parse_uri

    client = get_client()
    parsed = parse_uri(uri)
    if isinstance(parsed, RunArtifactURI):
        local = client.download_artifacts(parsed.run_id, parsed.path, output)
    elif isinstance(parsed, ModelURI):
        mv = get_model_version(uri, client=client)
        local = client.artifacts.download(mv.digest, output / Path(mv.artifact_path).name, uri)
    else:
        raise typer.BadParameter("dataset URIs are fetched with `ninefold data` commands")
    if as_json:
        emit_json({"uri": uri, "path": str(local)})
    else:
        console.print(f"Downloaded {uri} → {local}")
