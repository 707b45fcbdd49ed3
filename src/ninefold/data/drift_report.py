"""A self-contained HTML drift report: the verdict table, then reference versus current per column.

Built from the two profiles only (histograms on the reference's bins and category
counts), so its size grows with the number of columns, never with the number of rows.
plotly.js is inlined once, so the file opens offline. Needs the ``plots`` extra
(``pip install 'ninefold[plots]'``).

Example:
    >>> report = compare("train.parquet", "today.parquet")  # doctest: +SKIP
    >>> drift_report(report, "drift.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ninefold.errors import InvalidArgument

if TYPE_CHECKING:
    from ninefold.data.drift import ColumnDrift, DriftReport
    from ninefold.data.profile import DatasetProfile

_STATUS_CLASS = {
    "drift": "error",
    "missing": "warning",
    "changed_type": "warning",
    "ok": "ok",
}
_ORDER = {"drift": 0, "missing": 1, "changed_type": 2, "ok": 3}
_EFFECTS = ("psi", "wasserstein", "tvd", "linf", "jensen_shannon", "unseen_share")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf"
        return f"{value:.3g}"
    return _esc(value)


def _status(col: ColumnDrift) -> str:
    cls = _STATUS_CLASS.get(col.status, "")
    return f"<span class='{cls}'>{_esc(col.status.replace('_', ' '))}</span>"


def _limit(col: ColumnDrift) -> str:
    if col.min_detectable is None:
        return "-"
    if col.unit == "sigma":
        return f"{_num(col.min_detectable)} sd"
    return f"{_num(100 * col.min_detectable)}% of rows"


def _verdict_table(report: DriftReport, columns: list[ColumnDrift]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "column",
            "kind",
            "verdict",
            "PSI",
            "Wasserstein (sd)",
            "TVD",
            "L-inf",
            "JS",
            "unseen",
            "p",
            f"p ({report.correction})",
            "threshold",
            "detectable shift",
        )
    )
    rows = []
    for c in columns:
        e = c.effects
        cells = [
            f"<td><a href='#col-{_esc(c.column)}'>{_esc(c.column)}</a></td>",
            f"<td>{_esc(c.kind)}</td>",
            f"<td>{_status(c)}</td>",
            *(f"<td class='num'>{_num(e.get(k))}</td>" for k in _EFFECTS),
            f"<td class='num'>{_num(c.pvalue)}</td>",
            f"<td class='num'>{_num(c.pvalue_adjusted)}</td>",
            "<td>"
            + _esc(", ".join(f"{k} {_num(v)}" for k, v in c.thresholds.items()) or "-")
            + "</td>",
            f"<td class='num'>{_limit(c)}</td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _settings(report: DriftReport) -> str:
    cells = [
        ("reference rows", f"{report.reference_rows:,}"),
        ("current rows", f"{report.current_rows:,}"),
        ("columns tested", str(report.tested)),
        ("correction", f"{report.correction}, alpha {report.alpha:g}"),
        (
            "rule",
            "a column alarms when its corrected test rejects and an effect size reaches "
            "its threshold",
        ),
    ]
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in cells)
    return f"<table>{body}</table>"


def _column_section(
    col: ColumnDrift, ref: DatasetProfile | None, cur: DatasetProfile | None
) -> str:
    from ninefold.data.report import figure_html, histogram_figure

    ref_col = ref.columns.get(col.column) if ref is not None else None
    cur_col = cur.columns.get(col.column) if cur is not None else None
    figure = None
    if cur_col is not None:
        figure = histogram_figure(cur_col, ref_col)
    elif ref_col is not None:
        figure = histogram_figure(ref_col, labels=("reference", "reference"))
    plot = figure_html(figure) if figure is not None else "<p class='meta'>nothing to plot</p>"
    facts = [
        ("verdict", _status(col)),
        ("values tested", f"{col.reference_count:,} / {col.current_count:,}"),
        (
            "null or non-finite",
            f"{_pct(col.reference_null_fraction)} / {_pct(col.current_null_fraction)}",
        ),
    ]
    for name, value in col.effects.items():
        facts.append((name.replace("_", " "), _num(value)))
    if col.test:
        facts.append((f"test ({_esc(col.test)})", f"p {_num(col.pvalue)}"))
    facts.append(("detectable shift", _limit(col)))
    rows = "".join(f"<tr><td>{_esc(k)}</td><td class='num'>{v}</td></tr>" for k, v in facts)
    return (
        f"<div class='column' id='col-{_esc(col.column)}'><div><h3>{_esc(col.column)}</h3>"
        f"<p class='meta'>{_esc(col.message)}</p><table class='stats'>{rows}</table></div>"
        f"<div>{plot}</div></div>"
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def drift_report(
    report: DriftReport,
    path: str | os.PathLike[str],
    reference_profile: DatasetProfile | None = None,
    current_profile: DatasetProfile | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write an HTML drift report: verdict, settings, the verdict table, then each column.

    Args:
        report: the result of :func:`~ninefold.data.compare`.
        path: the HTML file to write.
        reference_profile: the reference's profile (default: the one ``compare`` kept).
        current_profile: the current data's profile on the reference's bins (default:
            the one ``compare`` kept).
        title: the page title.

    Returns:
        The path written.

    Raises:
        MissingDependency: plotly is not installed.
        InvalidArgument: ``report`` is not a :class:`~ninefold.data.drift.DriftReport`.
    """
    from ninefold.data.drift import DriftReport
    from ninefold.data.report import render_page, write_page

    if not isinstance(report, DriftReport):
        raise InvalidArgument(
            f"drift_report() needs the DriftReport that compare() returns, got "
            f"{type(report).__name__}."
        )
    ref = reference_profile or report.reference_profile
    cur = current_profile or report.current_profile
    columns = sorted(report.columns, key=lambda c: _ORDER.get(c.status, 4))
    verdict_class = "error" if report.drift_detected else ("warning" if not report.ok else "ok")
    sections = [
        "<h2>Verdict</h2>",
        f"<p class='{verdict_class}'>{_esc(report.summary())}</p>",
        _settings(report),
        "<h2>Columns</h2>",
        _verdict_table(report, columns),
        "<h2>Reference versus current</h2>",
        "<p class='meta'>Grey: reference; blue: current. Numeric columns are drawn on the "
        "reference's bins (bar areas are shares), categorical ones as shares of rows.</p>",
        *(_column_section(c, ref, cur) for c in columns),
    ]
    page = render_page(title or "Drift report", sections)
    return write_page(path, page)


__all__ = ["drift_report"]
