"""``ninefold gc``: remove artifact blobs that nothing references."""

from __future__ import annotations

from typing import Annotated

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, fmt_size


def gc(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete; without it nothing is removed.")
    ] = False,
    min_age: Annotated[
        float,
        typer.Option(
            "--min-age", help="Leave blobs younger than this many seconds (writes in flight)."
        ),
    ] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Find blobs that no run, model version or dataset version uses; --yes removes them."""
    from ninefold.costs import api

    rep = api.gc(delete=yes, min_age_s=min_age)
    if as_json:
        emit_json(rep.to_dict())
        return
    if not rep.candidates:
        console.print("Nothing to collect: every blob is referenced.")
    elif rep.dry_run:
        console.print(
            f"{len(rep.candidates)} unreferenced blob(s), {fmt_size(rep.candidate_bytes)}, "
            "would be removed. Run again with --yes to delete them."
        )
    else:
        console.print(
            f"Removed {len(rep.deleted)} blob(s), {fmt_size(rep.deleted_bytes)}"
            + (
                f"; {len(rep.candidates) - len(rep.deleted)} became referenced meanwhile."
                if len(rep.deleted) < len(rep.candidates)
                else "."
            )
        )
    if rep.skipped_young:
        console.print(
            f"{rep.skipped_young} unreferenced blob(s) newer than {min_age:g} s were left alone."
        )
