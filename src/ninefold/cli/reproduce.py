"""``ninefold reproduce RUN_ID``: run a pipeline run again from its recorded code and compare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, fmt_value, table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ninefold.pipelines.compare import StepComparison
    from ninefold.pipelines.reproduce import ReproduceReport

_MAX_ENV_LINES = 15


def _short(digest: str | None) -> str:
    return "-" if digest is None else digest[:12]


def _deltas(step: StepComparison) -> str:
    parts = []
    for m in step.metrics:
        if m.delta is None:
            parts.append(f"{m.key} {fmt_value(m.original)} -> {fmt_value(m.new)}")
        elif m.delta != 0:
            parts.append(f"{m.key} {m.delta:+.6g}")
    return ", ".join(parts)


def steps_table(steps: Sequence[StepComparison], a: str = "original", b: str = "new") -> None:
    """Print two runs' steps side by side: output hashes, ✓/✗, metric deltas, changed values."""
    from rich.markup import escape

    t = table(None, "step", "output", a, b, "identical", "metric deltas")
    for step in steps:
        mark = "[green]✓[/]" if step.identical else "[red]✗[/]"
        deltas = escape(_deltas(step)) if not step.identical else ""
        if not step.outputs:
            status = f"{step.original_status or '-'} -> {step.new_status or '-'}"
            t.add_row(escape(step.node), "-", status, "", mark, deltas)
            continue
        for i, out in enumerate(step.outputs):
            same = out.identical or step.identical
            t.add_row(
                escape(step.node) if i == 0 else "",
                escape(out.name),
                _short(out.original_digest),
                _short(out.new_digest),
                mark if same else "[red]✗[/]",
                deltas if i == 0 else "",
            )
    console.print(t)
    for step in steps:
        for out in step.outputs:
            if not out.identical and (out.original_value is not None or out.new_value is not None):
                console.print(
                    f"  {escape(step.node)}.{escape(out.name)}: {out.original_value!r} -> "
                    f"{out.new_value!r}",
                    markup=False,
                    highlight=False,
                )
        for change in step.input_changes:
            console.print(f"  {step.node} input {change}", markup=False, highlight=False)


def _render(report: ReproduceReport) -> None:
    from rich.markup import escape

    console.print(
        f"[bold]{escape(report.pipeline)}[/] run {report.run_id} at {report.commit[:12]}"
        f"{' + diff' if report.diff_applied else ''} -> reproduction {report.new_run_id} "
        f"({report.seconds:.1f} s)"
    )
    steps_table(report.steps)
    if report.identical:
        console.print(
            f"[green]Identical:[/] every output of the {len(report.steps)} steps has the same hash."
        )
    else:
        console.print(
            f"[red]Diverged[/] at step [bold]{escape(report.first_divergence or '')}[/]; "
            f"steps that differ: {escape(', '.join(report.diverged))}."
        )
    if report.error:
        console.print(f"[red]error:[/] {escape(report.error)}")
    if report.environment:
        console.print(
            "[yellow]The environment differs from the recorded one[/] (it is not rebuilt):"
        )
        for line in report.environment[:_MAX_ENV_LINES]:
            console.print(f"  {line}", markup=False, highlight=False)
        if len(report.environment) > _MAX_ENV_LINES:
            console.print(f"  ... and {len(report.environment) - _MAX_ENV_LINES} more (--json)")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if report.worktree:
        console.print(f"worktree kept at {report.worktree}")


def reproduce(
    run_id: Annotated[
        str,
        typer.Argument(
            help="The pipeline run to reproduce, or a model version (models:/NAME@ALIAS, "
            "models:/NAME/VERSION): the pipeline run that made it.",
            metavar="RUN_ID|MODEL_URI",
        ),
    ],
    keep_worktree: Annotated[
        bool,
        typer.Option("--keep-worktree", help="Leave the temporary git worktree in place."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Re-run a pipeline run from its commit, diff, params and seed; compare outputs by hash.

    Exits 0 when every output is bit-identical, 1 when the runs diverged.
    """
    from ninefold.pipelines.reproduce import reproduce as run_reproduce

    report = run_reproduce(run_id, keep_worktree=keep_worktree)
    if as_json:
        emit_json(report.to_dict())
    else:
        _render(report)
    if not report.identical:
        raise typer.Exit(code=1)
