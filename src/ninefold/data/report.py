"""Self-contained HTML reports of profiles and validation results (Plotly).

One file, no network: plotly.js is inlined once in the page head and each
column gets one small figure built from its profile, so the size grows with
the number of columns, never with the number of rows. Needs the ``plots``
extra (``pip install 'ninefold[plots]'``).

The building blocks (:func:`render_page`, :func:`figure_html`,
:func:`histogram_figure`, :func:`anomalies_table`, :func:`write_page`) are
shared with the drift report.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ninefold import __version__
from ninefold._deps import require
from ninefold.data.profile import ColumnProfile, DatasetProfile

if TYPE_CHECKING:
    from ninefold.data.validation import Anomaly, ValidationReport

MAX_BARS = 25
"""Categories drawn per column; the rest is one 'other' bar."""

CURRENT_COLOR = "#3465a4"
REFERENCE_COLOR = "#b0b0b0"

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1rem;margin:.2rem 0}
.meta{color:#666;font-size:.9rem}table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f6f6f6}.num{text-align:right;font-variant-numeric:tabular-nums}
.error{color:#a40000;font-weight:600}.warning{color:#8f5902;font-weight:600}
.ok{color:#2e7d32;font-weight:600}.column{display:grid;grid-template-columns:320px 1fr;
gap:1rem;border-bottom:1px solid #eee;padding:.6rem 0}.stats td{border:none;padding:.05rem .4rem}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.75rem;
background:#eee;margin-left:.3rem}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _go() -> Any:
    return require("plotly.graph_objects", "plots", "HTML data reports")


def render_page(title: str, sections: Sequence[str], subtitle: str | None = None) -> str:
    """A complete HTML page: plotly.js inlined once, then the given HTML sections."""
    require("plotly", "plots", "HTML data reports")
    from plotly.offline import get_plotlyjs

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"{_esc(subtitle)} · " if subtitle else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{_esc(title)}</h1><p class='meta'>{meta}generated {stamp} by ninefold "
        f"{_esc(__version__)}</p>" + "\n".join(sections) + "</body></html>\n"
    )


def figure_html(figure: Any) -> str:
    """A figure as an HTML fragment that relies on the page's inlined plotly.js."""
    text: str = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        config={"displayModeBar": False, "responsive": True},
    )
    return text


def write_page(path: str | os.PathLike[str], page: str) -> Path:
    """Write a page atomically; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target


def _layout(fig: Any, title: str | None = None) -> Any:
    fig.update_layout(
        template="none",
        height=230,
        margin={"l": 50, "r": 10, "t": 28 if title else 8, "b": 36},
        title={"text": _esc(title), "font": {"size": 12}} if title else None,
        bargap=0.05,
        showlegend=len(fig.data) > 1,
        legend={"orientation": "h", "y": 1.15, "x": 0},
        font={"size": 11},
    )
    return fig


def _numeric_trace(col: ColumnProfile, name: str, color: str, breaks: list[float] | None) -> Any:
    go = _go()
    num = col.numeric
    assert num is not None
    hist = num.histogram
    if breaks is not None and hist.breaks != breaks:
        hist = hist.rebin(breaks, _f(num.min), _f(num.max))
    edges = hist.edges(_f(num.min), _f(num.max))
    widths = [edges[i + 1] - edges[i] for i in range(len(hist.counts))]
    total = max(1, hist.total)
    # Quantile bins differ in width: bar heights are densities so areas are shares.
    heights = [c / total / w if w > 0 else 0.0 for c, w in zip(hist.counts, widths, strict=True)]
    centers = [edges[i] + widths[i] / 2 for i in range(len(widths))]
    text = [
        f"[{edges[i]:.4g}, {edges[i + 1]:.4g}): {c:,} ({c / total:.1%})"
        for i, c in enumerate(hist.counts)
    ]
    x: list[Any] = centers
    width: list[float] = widths
    if col.kind in ("datetime", "date"):
        x = [datetime.fromtimestamp(v, UTC).isoformat() for v in centers]
        width = [w * 1000 for w in widths]  # a date axis measures widths in milliseconds
    return go.Bar(
        x=x,
        y=heights,
        width=width,
        name=name,
        marker={"color": color},
        opacity=0.75,
        hovertext=text,
        hoverinfo="text",
    )


def _f(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _category_trace(
    col: ColumnProfile, name: str, color: str, order: list[str] | None
) -> tuple[Any, list[str]]:
    go = _go()
    cats = col.categories
    assert cats is not None
    counts = cats.as_dict()
    total = max(1, cats.total)
    labels = order if order is not None else list(cats.values[:MAX_BARS])
    shown = sum(counts.get(v, 0) for v in labels)
    values = [counts.get(v, 0) / total for v in labels]
    rest = total - shown if cats.total else 0
    all_labels = list(labels)
    if rest > 0 or (order is not None and "(other)" in order):
        if "(other)" not in all_labels:
            all_labels.append("(other)")
            values.append(rest / total)
        else:
            values[all_labels.index("(other)")] = rest / total
    trace = go.Bar(
        x=values,
        y=all_labels,
        orientation="h",
        name=name,
        marker={"color": color},
        opacity=0.8,
        hovertemplate="%{y}: %{x:.2%}<extra>" + _esc(name) + "</extra>",
    )
    return trace, all_labels


def histogram_figure(
    column: ColumnProfile,
    reference: ColumnProfile | None = None,
    *,
    title: str | None = None,
    labels: tuple[str, str] = ("current", "reference"),
) -> Any | None:
    """The column's distribution (with the reference's behind it, if given), or None.

    Numeric columns are drawn on the reference's bins when there is a reference;
    categorical ones list the reference's top categories first.
    """
    go = _go()
    fig = go.Figure()
    if column.numeric is not None and column.numeric.count:
        breaks = None
        if reference is not None and reference.numeric is not None and reference.numeric.count:
            breaks = reference.numeric.histogram.breaks
            fig.add_trace(_numeric_trace(reference, labels[1], REFERENCE_COLOR, breaks))
        fig.add_trace(_numeric_trace(column, labels[0], CURRENT_COLOR, breaks))
        fig.update_layout(barmode="overlay", yaxis={"title": {"text": "density"}})
    elif column.categories is not None and column.categories.total:
        order = None
        if reference is not None and reference.categories is not None:
            order = list(reference.categories.values[:MAX_BARS])
            seen = set(order)
            order += [v for v in column.categories.values if v not in seen][:5]
            ref_trace, order = _category_trace(reference, labels[1], REFERENCE_COLOR, order)
            fig.add_trace(ref_trace)
        trace, shown = _category_trace(column, labels[0], CURRENT_COLOR, order)
        fig.add_trace(trace)
        fig.update_layout(
            barmode="group",
            yaxis={"autorange": "reversed", "type": "category"},
            xaxis={"tickformat": ".0%"},
        )
        _layout(fig, title)
        fig.update_layout(height=max(230, 16 * len(shown) * len(fig.data) + 60))
        return fig
    else:
        return None
    return _layout(fig, title)


def _stats_rows(col: ColumnProfile) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("type", f"{col.kind} ({col.dtype})"),
        ("rows", col.count),
        ("nulls", f"{_fmt(col.nulls)} ({col.null_fraction:.1%})"),
        ("distinct", f"{_fmt(col.distinct)}{'' if col.distinct_exact else ' (approx.)'}"),
    ]
    num = col.numeric
    if num is not None and col.kind not in ("datetime", "date"):
        rows += [
            ("mean", num.mean if num.count else None),
            ("std", num.std if num.count > 1 else None),
            ("min", num.min),
            ("median", num.quantiles.get("0.5")),
            ("max", num.max),
            ("zeros", num.zeros),
            ("negatives", num.negatives),
        ]
        if num.nan or num.pos_inf or num.neg_inf:
            rows.append(("NaN / +inf / -inf", f"{num.nan} / {num.pos_inf} / {num.neg_inf}"))
    if col.datetime is not None:
        rows += [("earliest", col.datetime.min), ("latest", col.datetime.max)]
    if col.lengths is not None and col.lengths.count:
        rows.append(
            (
                "length min/mean/max",
                f"{col.lengths.min} / {col.lengths.mean:.3g} / {col.lengths.max}",
            )
        )
    if col.categories is not None and col.categories.values:
        top = col.categories.values[0]
        share = col.categories.counts[0] / max(1, col.categories.total)
        rows.append(("most frequent", f"{top!r} ({share:.1%})"))
    if col.mixed_types:
        rows.append(("mixed types", ", ".join(col.mixed_types)))
    return rows


def column_section(
    col: ColumnProfile, reference: ColumnProfile | None = None, badges: Sequence[str] = ()
) -> str:
    """One column: a statistics table and its histogram."""
    stats = "".join(
        f"<tr><td>{_esc(k)}</td><td class='num'>{_esc(_fmt(v))}</td></tr>"
        for k, v in _stats_rows(col)
    )
    figure = histogram_figure(col, reference)
    plot = figure_html(figure) if figure is not None else "<p class='meta'>no values to plot</p>"
    tags = "".join(f"<span class='badge {_esc(b)}'>{_esc(b)}</span>" for b in badges)
    return (
        f"<div class='column'><div><h3>{_esc(col.name)}{tags}</h3>"
        f"<table class='stats'>{stats}</table></div><div>{plot}</div></div>"
    )


def anomalies_table(anomalies: Sequence[Anomaly]) -> str:
    """An HTML table of anomalies (severity, kind, column, count, share, message)."""
    if not anomalies:
        return "<p class='ok'>No anomalies.</p>"
    rows = "".join(
        f"<tr><td class='{_esc(a.severity)}'>{_esc(a.severity)}</td><td>{_esc(a.kind)}</td>"
        f"<td>{_esc(a.column or '(dataset)')}</td><td class='num'>{_esc(_fmt(a.count))}</td>"
        f"<td class='num'>{a.fraction:.3%}</td><td>{_esc(a.message)}</td></tr>"
        for a in anomalies
    )
    return (
        "<table><tr><th>severity</th><th>kind</th><th>column</th><th>count</th>"
        f"<th>share</th><th>what is wrong and the likely fix</th></tr>{rows}</table>"
    )


def _overview(profile: DatasetProfile) -> str:
    kinds: dict[str, int] = {}
    for col in profile.columns.values():
        kinds[col.kind] = kinds.get(col.kind, 0) + 1
    cells = [
        ("rows", _fmt(profile.num_rows)),
        ("columns", _fmt(profile.num_columns)),
        ("column types", ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))),
    ]
    if profile.duplicate_rows is not None:
        cells.append(("duplicate rows", _fmt(profile.duplicate_rows)))
    if profile.source:
        cells.append(("source", profile.source))
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in cells)
    return f"<table>{body}</table>"


def profile_report(
    profile: DatasetProfile, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write an HTML report of a profile: overview, then statistics and a histogram per column.

    Example:
        >>> profile_report(nfd.profile(df), "profile.html")  # doctest: +SKIP
    """
    sections = [
        "<h2>Overview</h2>",
        _overview(profile),
        "<h2>Columns</h2>",
        *(column_section(col) for col in profile.columns.values()),
    ]
    page = render_page(title or "Data profile", sections, subtitle=profile.source)
    return write_page(path, page)


def validation_report(
    report: ValidationReport, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write an HTML report of a validation: verdict, anomalies table, columns (if profiled)."""
    verdict = (
        "<p class='ok'>Passed: no error-severity anomaly.</p>"
        if report.ok
        else f"<p class='error'>Failed: {len(report.errors)} error(s).</p>"
    )
    sections = [
        "<h2>Verdict</h2>",
        verdict,
        f"<p class='meta'>{_esc(report.summary())}</p>",
        "<h2>Anomalies</h2>",
        anomalies_table(report.anomalies),
    ]
    if report.profile is not None:
        flagged: dict[str, list[str]] = {}
        for a in report.anomalies:
            if a.column is not None:
                flagged.setdefault(a.column, []).append(a.severity)
        sections.append("<h2>Columns</h2>")
        for col in report.profile.columns.values():
            marks = flagged.get(col.name, [])
            badge = ["error"] if "error" in marks else ["warning"] if marks else []
            sections.append(column_section(col, badges=badge))
    page = render_page(title or "Data validation", sections, subtitle=report.source)
    return write_page(path, page)
