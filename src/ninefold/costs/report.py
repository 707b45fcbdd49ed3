"""A standalone HTML report of spend: over time (by day and resource) and by experiment."""

from __future__ import annotations

import os
from pathlib import Path

from ninefold._deps import require
from ninefold.costs.money import from_micros
from ninefold.costs.rollups import Spend

_RESOURCES = ("cpu", "memory", "gpu", "storage", "egress")


def write_html_report(
    days: list[Spend],
    experiments: list[Spend],
    path: str | os.PathLike[str],
    *,
    currency: str,
    title: str = "ninefold: spend",
) -> Path:
    """Write a self-contained Plotly page (works offline) and return its path.

    Args:
        days: spend per day (``by="day"``), oldest first.
        experiments: spend per experiment (``by="experiment"``).
        path: the HTML file to write.
        currency: the amounts' currency, for the axis titles.
        title: the page title.
    """
    require("plotly", "plots", "The HTML cost report")
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=1,
        subplot_titles=("Spend per day, by resource", "Spend per experiment (idle shaded)"),
        vertical_spacing=0.18,
    )
    x = [d.key for d in days]
    for resource in _RESOURCES:
        values = [float(from_micros(getattr(d, f"{resource}_micros"))) for d in days]
        if any(values):
            fig.add_trace(go.Bar(name=resource, x=x, y=values), row=1, col=1)
    names = [e.label for e in experiments]
    used = [float(from_micros(e.total_micros - e.idle_micros)) for e in experiments]
    idle = [float(from_micros(e.idle_micros)) for e in experiments]
    fig.add_trace(go.Bar(name="used", x=names, y=used, marker_color="#2a6f97"), row=2, col=1)
    fig.add_trace(
        go.Bar(name="idle (allocated, unused)", x=names, y=idle, marker_color="#c9ada7"),
        row=2,
        col=1,
    )
    fig.update_layout(barmode="stack", title=title, height=850, legend_title_text="")
    fig.update_yaxes(title_text=currency, row=1, col=1)
    fig.update_yaxes(title_text=currency, row=2, col=1)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(fig.to_html(include_plotlyjs=True, full_html=True), encoding="utf-8")
    os.replace(tmp, target)
    return target
