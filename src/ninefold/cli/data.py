"""``ninefold data profile | infer | validate | report | versions`` (and ``compare``).

Every command takes DATA as a file path (CSV, Parquet, Arrow, JSON) or a
stored dataset version ``datasets:/name@version``; ``infer`` and ``report``
also take a profile JSON written by ``ninefold data profile --out``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ninefold.cli._render import JSON_HELP, console, emit_json, fmt_time, fmt_value, table

if TYPE_CHECKING:
    from ninefold.data.profile import DatasetProfile
    from ninefold.data.validation import ValidationReport

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
DataArg = Annotated[
    str, typer.Argument(help="A CSV/Parquet/Arrow/JSON file, or datasets:/name@version.")
]
HtmlOpt = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
]
EncodingOpt = Annotated[
    str | None, typer.Option("--encoding", help="Text encoding of a CSV that is not UTF-8.")
]


def _is_profile_file(arg: str) -> bool:
    path = Path(arg)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as fh:
        head = fh.read(4096)
    return b'"num_rows"' in head and b'"columns"' in head and b'"format"' in head


def _profile_of(arg: str, encoding: str | None) -> DatasetProfile:
    """A profile from a dataset URI, a profile JSON file, or by profiling a data file."""
    from ninefold.data.datasets import load_dataset_profile
    from ninefold.data.profile import DatasetProfile
    from ninefold.data.profiling import profile

    if arg.startswith("datasets:"):
        return load_dataset_profile(arg)
    if _is_profile_file(arg):
        return DatasetProfile.load(arg)
    return profile(arg, duplicates=True, encoding=encoding)


def _print_profile(prof: DatasetProfile) -> None:
    t = table(
        f"{prof.num_rows:,} rows x {prof.num_columns} columns"
        + (f", {prof.duplicate_rows:,} duplicate rows" if prof.duplicate_rows else ""),
        "column",
        "type",
        "nulls",
        "distinct",
        "min",
        "mean",
        "max",
        "top / note",
    )
    for col in prof.columns.values():
        num = col.numeric
        lo = hi = mean = "-"
        if col.datetime is not None:
            lo, hi = col.datetime.min or "-", col.datetime.max or "-"
        elif num is not None and num.count:
            lo, hi, mean = fmt_value(num.min), fmt_value(num.max), fmt_value(num.mean)
        note = ""
        if col.categories is not None and col.categories.values:
            share = col.categories.counts[0] / max(1, col.categories.total)
            note = f"{col.categories.values[0]!r} {share:.0%}"
        if num is not None and (num.nan or num.pos_inf or num.neg_inf):
            note = f"NaN {num.nan}, inf {num.pos_inf + num.neg_inf}"
        if col.mixed_types:
            note = "[red]mixed: " + ", ".join(col.mixed_types) + "[/]"
        nulls = f"{col.null_fraction:.1%}" if col.nulls else "0"
        distinct = f"{col.distinct:,}" + ("" if col.distinct_exact else "~")
        t.add_row(col.name, col.kind, nulls, distinct, str(lo), mean, str(hi), note)
    console.print(t)


@app.command("profile")
def profile_command(
    data: DataArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the profile JSON here.")
    ] = None,
    html: HtmlOpt = None,
    encoding: EncodingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Profile a data set: types, nulls, distinct counts, moments, quantiles, top values."""
    prof = _profile_of(data, encoding)
    if out is not None:
        prof.save(out)
    if html is not None:
        from ninefold.data.report import profile_report

        profile_report(prof, html)
    if as_json:
        emit_json(prof.to_dict())
        return
    _print_profile(prof)
    if out is not None:
        console.print(f"profile written to {out}")
    if html is not None:
        console.print(f"report written to {html}")


@app.command("infer")
def infer_command(
    data: Annotated[
        str, typer.Argument(help="A data file, a profile JSON, or datasets:/name@version.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the schema YAML here (default: print it)."),
    ] = None,
    encoding: EncodingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Infer a schema (types, ranges, categories, null limits, keys) to review and edit."""
    from ninefold.data.inference import infer_schema

    schema = infer_schema(_profile_of(data, encoding))
    if out is not None:
        schema.save(out)
    if as_json:
        emit_json(schema.to_dict())
        return
    if out is None:
        typer.echo(schema.to_yaml(), nl=False)
    else:
        console.print(f"schema with {len(schema.columns)} column(s) written to {out}")


def _print_report(report: ValidationReport) -> None:
    style = "green" if report.ok else "bold red"
    console.print(f"[{style}]{report.summary()}[/]", highlight=False)
    for a in report.anomalies:
        colour = "red" if a.severity == "error" else "yellow"
        share = f" ({a.fraction:.3%})" if a.fraction else ""
        console.print(
            f"[{colour}]{a.severity:<7}[/] [bold]{a.kind}[/] {a.column or '(dataset)'}: "
            f"{a.count:,}{share}",
            highlight=False,
        )
        console.print(f"        {a.message}", highlight=False, soft_wrap=True)


@app.command("validate")
def validate_command(
    data: DataArg,
    schema: Annotated[
        Path, typer.Option("--schema", "-s", help="The schema YAML to check against.")
    ],
    html: HtmlOpt = None,
    unnecessary: Annotated[
        bool,
        typer.Option(
            "--unnecessary/--no-unnecessary",
            help="Warn about constant, all-null, id-like and duplicated columns.",
        ),
    ] = True,
    encoding: EncodingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check data against a schema; exits 1 when an error-severity anomaly is found."""
    from ninefold.data.validation import validate

    source: Any = data
    if data.startswith("datasets:"):
        from ninefold.errors import InvalidArgument

        raise InvalidArgument(
            "validate needs the data itself (a file); a stored dataset version keeps only "
            "its profile. Pass the file the version was logged from."
        )
    report = validate(
        source, schema, unnecessary=unnecessary, profile=html is not None, encoding=encoding
    )
    if html is not None:
        from ninefold.data.report import validation_report

        validation_report(report, html)
    if as_json:
        data_out = report.to_dict()
        data_out.pop("profile", None)
        emit_json(data_out)
    else:
        _print_report(report)
        if html is not None:
            console.print(f"report written to {html}")
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("report")
def report_command(
    data: Annotated[
        str, typer.Argument(help="A data file, a profile JSON, or datasets:/name@version.")
    ],
    html: Annotated[Path, typer.Option("--html", "--out", "-o", help="Where to write the HTML.")],
    schema: Annotated[
        Path | None,
        typer.Option("--schema", "-s", help="Validate against this schema and report that."),
    ] = None,
    encoding: EncodingOpt = None,
) -> None:
    """Write a self-contained HTML report: the profile, or the validation with --schema."""
    if schema is not None:
        from ninefold.data.report import validation_report
        from ninefold.data.validation import validate

        report = validate(data, schema, profile=True, encoding=encoding)
        validation_report(report, html)
        console.print(f"{report.summary()} Report written to {html}")
        return
    from ninefold.data.report import profile_report

    profile_report(_profile_of(data, encoding), html)
    console.print(f"report written to {html}")


@app.command("versions")
def versions_command(
    name: Annotated[
        str | None, typer.Argument(help="A data set name; all names when omitted.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered data sets, or the versions of one."""
    from ninefold.data.datasets import list_dataset_versions, list_datasets

    if name is None:
        names = list_datasets()
        if as_json:
            emit_json(names)
            return
        t = table(f"{len(names)} data set(s)", "name", "latest", "rows", "registered")
        for n in names:
            latest = list_dataset_versions(n)[0]
            t.add_row(n, f"v{latest.version}", f"{latest.num_rows:,}", fmt_time(latest.created_ms))
        console.print(t)
        return
    versions = list_dataset_versions(name)
    if as_json:
        emit_json([v.to_dict() for v in versions])
        return
    t = table(
        f"{name}: {len(versions)} version(s)",
        "uri",
        "rows",
        "cols",
        "fingerprint",
        "run",
        "registered",
    )
    for v in versions:
        t.add_row(
            v.uri,
            f"{v.num_rows:,}",
            str(v.num_columns),
            v.fingerprint[:12],
            v.run_id or "-",
            fmt_time(v.created_ms),
        )
    console.print(t)


# -- compare ------------------------------------------------------------------------
# `ninefold data compare` (drift and skew) is added here by the drift module.


def _g3(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _print_drift(report: Any) -> None:
    style = "bold red" if report.drift_detected else ("yellow" if not report.ok else "green")
    console.print(f"[{style}]{report.summary()}[/]", highlight=False)
    t = table(
        f"reference {report.reference_rows:,} rows, current {report.current_rows:,} rows; "
        f"{report.correction} at alpha {report.alpha:g}",
        "column",
        "kind",
        "verdict",
        "effect (threshold)",
        "p corrected",
        "detectable shift",
    )
    colours = {"drift": "bold red", "ok": "green", "missing": "yellow", "changed_type": "yellow"}
    for c in report.columns:
        effect = ", ".join(
            f"{k} {_g3(c.effects.get(k))} ({_g3(v)})" for k, v in c.thresholds.items()
        )
        limit = "-"
        if c.min_detectable is not None:
            limit = (
                f"{c.min_detectable:.3g} sd"
                if c.unit == "sigma"
                else f"{100 * c.min_detectable:.3g}% rows"
            )
        verdict = f"[{colours.get(c.status, 'dim')}]{c.status}[/]"
        t.add_row(c.column, c.kind, verdict, effect or "-", fmt_value(c.pvalue_adjusted), limit)
    console.print(t)
    for c in report.columns:
        if c.status not in ("ok", "skipped"):
            console.print(f"[bold]{c.column}[/]: {c.message}", highlight=False, soft_wrap=True)


@app.command("compare")
def compare_command(
    reference: Annotated[
        str,
        typer.Argument(
            help="The reference: a data file, a profile JSON (data profile --out), "
            "or datasets:/name@version."
        ),
    ],
    current: Annotated[
        str, typer.Argument(help="The data to check: a data file or a profile JSON.")
    ],
    schema: Annotated[
        Path | None,
        typer.Option("--schema", "-s", help="Schema YAML whose per-column drift rules apply."),
    ] = None,
    html: HtmlOpt = None,
    skew: Annotated[
        bool,
        typer.Option("--skew", help="Apply the schema's skew rules (training vs serving)."),
    ] = False,
    alpha: Annotated[
        float | None,
        typer.Option("--alpha", help="Family-wise error rate across columns (default 0.01)."),
    ] = None,
    correction: Annotated[
        str, typer.Option("--correction", help="holm (default) or bh (false discovery rate).")
    ] = "holm",
    include_time: Annotated[
        bool, typer.Option("--include-time", help="Also compare datetime and date columns.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compare CURRENT with REFERENCE for drift or skew; exits 1 when drift is detected.

    A column drifts when its test, corrected across columns, rejects AND its effect
    size reaches the practical threshold. Exit status 1 also when a reference column
    is missing from CURRENT or changed type, so the command can gate CI.
    """
    from ninefold.data.drift import DEFAULT_ALPHA, compare

    report = compare(
        reference,
        current,
        schema,
        correction=correction,  # type: ignore[arg-type]  # checked by compare()
        alpha=DEFAULT_ALPHA if alpha is None else alpha,
        include_time=include_time,
        rule="skew" if skew else "drift",
    )
    if html is not None:
        from ninefold.data.drift_report import drift_report

        drift_report(report, html)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_drift(report)
        if html is not None:
            console.print(f"report written to {html}")
    if not report.ok:
        raise typer.Exit(code=1)
