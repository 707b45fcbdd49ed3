"""Entry point of the ``ninefold`` command and its single error boundary."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from ninefold import __version__
from ninefold.errors import NinefoldError


class NinefoldGroup(TyperGroup):
    """Root group: turns ninefold's own errors into a message and exit code 1, not a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NinefoldError as exc:
            from ninefold.cli._render import err_console

            err_console.print(
                f"[bold red]Error[/] ({type(exc).__name__}): {exc}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=1) from exc


app = typer.Typer(
    name="ninefold",
    cls=NinefoldGroup,
    help="ninefold: tracking, registry, data validation, pipelines, monitoring and costs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ninefold {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """ninefold: the whole MLOps loop in one package."""


def _register() -> None:
    from ninefold.cli import artifacts, data, db, experiments, models, runs

    app.add_typer(runs.app, name="runs", help="List, show and compare runs.")
    app.add_typer(experiments.app, name="experiments", help="List experiments.")
    app.add_typer(models.app, name="models", help="Registered models, versions and aliases.")
    app.add_typer(artifacts.app, name="artifacts", help="List and download artifacts.")
    app.add_typer(data.app, name="data", help="Profile, validate and version data sets.")
    app.add_typer(db.app, name="db", help="Metadata store maintenance.")
    from ninefold.cli import cost, gc

    app.add_typer(cost.app, name="cost", help="Run costs, budgets, price tables and storage.")
    app.command("gc", help="Remove artifact blobs nothing references (dry run by default).")(gc.gc)
    from ninefold.cli import pipelines

    app.add_typer(pipelines.app, name="pipelines", help="Run pipelines; show, explain, trace.")
    from ninefold.cli import schedule

    app.add_typer(schedule.app, name="schedule", help="Cron schedules and triggers of pipelines.")
    app.command("scheduler", help="Fire schedules on their cron slots and triggers.")(
        schedule.scheduler_cmd
    )
    from ninefold.cli import reproduce

    app.command("reproduce", help="Re-run a pipeline run from its recorded code; compare hashes.")(
        reproduce.reproduce
    )


_register()


def main() -> None:
    """Run the command line."""
    app()
