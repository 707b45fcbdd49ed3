"""Pipeline graphs as pictures: an SVG laid out in layers, and a standalone HTML page.

Nothing is fetched from the network: the SVG is drawn here, by topological
layers (a step sits one layer below the deepest step it reads from), and the
HTML page embeds it with its own styles. Given a stored pipeline run, each
step is coloured by what happened to it (taken from the cache, ran, failed,
not run) and shows its duration.

Example:
    >>> svg = graph_svg(GraphView.from_graph(training.graph()))  # doctest: +SKIP
    >>> html = graph_html(run_view("01h..."))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from ninefold.pipelines import graph_layout
from ninefold.pipelines.graph_layout import GAP_Y, MARGIN, NODE_H, Box, Layout
from ninefold.store import RunStatus

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Graph
    from ninefold.store.pipelines import StepExecution
    from ninefold.tracking.client import Client

# -- what is drawn --------------------------------------------------------------------

HIT, RAN, FAILED, KILLED, RUNNING, NOT_RUN = "hit", "ran", "failed", "killed", "running", "not run"

# status: (fill, stroke, legend)
PALETTE: dict[str, tuple[str, str, str]] = {
    HIT: ("#dcfce7", "#16a34a", "cache hit"),
    RAN: ("#dbeafe", "#2563eb", "ran"),
    FAILED: ("#fee2e2", "#dc2626", "failed"),
    KILLED: ("#ffedd5", "#ea580c", "killed"),
    RUNNING: ("#fef9c3", "#ca8a04", "running"),
    NOT_RUN: ("#f3f4f6", "#9ca3af", "not run"),
}
_PLAIN = ("#ffffff", "#475569")


@dataclass(frozen=True)
class NodeStatus:
    """What happened to one node of a pipeline run.

    Attributes:
        status: ``hit``, ``ran``, ``failed``, ``killed``, ``running`` or ``not run``.
        duration_s: wall time of the step run (for a map, first start to last end).
        run_id: the step's run (None for a map or a node that did not run).
        detail: a short note (the elements of a map, the run a hit reused).
        count: executions drawn as this node (the elements of a map).
    """

    status: str
    duration_s: float | None = None
    run_id: str | None = None
    detail: str = ""
    count: int = 1


@dataclass(frozen=True)
class ViewNode:
    """A node as drawn: its id, step, params and outputs."""

    id: str
    step: str
    params: dict[str, Any]
    outputs: list[str]
    upstream: list[str]


@dataclass(frozen=True)
class ViewEdge:
    """A drawn edge: ``source`` feeds ``target``'s argument ``label``."""

    source: str
    target: str
    label: str


@dataclass
class GraphView:
    """A pipeline graph ready to draw, with the statuses of a run when there is one."""

    pipeline: str
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    params: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    run_id: str | None = None
    run_status: str | None = None
    run_duration_s: float | None = None

    @classmethod
    def from_graph(cls, graph: Graph) -> GraphView:
        """The view of a pipeline's graph (nothing ran)."""
        return cls.from_dict(graph.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GraphView:
        """The view of a graph in its JSON form (``Graph.to_dict``, ``pipeline/graph.json``)."""
        nodes: list[ViewNode] = []
        edges: list[ViewEdge] = []
        for item in data.get("nodes", []):
            node_id = str(item["id"])
            nodes.append(
                ViewNode(
                    node_id,
                    str(item.get("step", "")),
                    dict(item.get("params") or {}),
                    [str(o) for o in item.get("outputs") or []],
                    [str(u) for u in item.get("upstream") or []],
                )
            )
            for name, refs in (item.get("inputs") or {}).items():
                for ref in refs if isinstance(refs, list) else [refs]:
                    source, _, output = str(ref).partition(".")
                    label = f"{output} → {name}" if output and output != name else str(name)
                    edges.append(ViewEdge(source, node_id, label))
            mapped = item.get("map")
            if mapped:
                source, _, output = str(mapped["items"]).partition(".")
                label = f"each {mapped['over']}" + (f" of {output}" if output else "")
                edges.append(ViewEdge(source, node_id, label))
        known = {n.id for n in nodes}
        edges = [e for e in edges if e.source in known]
        return cls(str(data.get("pipeline", "")), nodes, edges, dict(data.get("params") or {}))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict: nodes (with their status in a run) and edges."""
        return {
            "pipeline": self.pipeline,
            "params": self.params,
            "run_id": self.run_id,
            "run_status": self.run_status,
            "run_duration_s": self.run_duration_s,
            "nodes": [
                {
                    "id": n.id,
                    "step": n.step,
                    "params": n.params,
                    "outputs": n.outputs,
                    "upstream": n.upstream,
                    **(
                        {
                            "status": st.status,
                            "duration_s": st.duration_s,
                            "run_id": st.run_id,
                            "detail": st.detail,
                            "count": st.count,
                        }
                        if (st := self.statuses.get(n.id)) is not None
                        else {}
                    ),
                }
                for n in self.nodes
            ],
            "edges": [
                {"source": e.source, "target": e.target, "label": e.label} for e in self.edges
            ],
        }

    def to_text(self) -> str:
        """One line per node, by layer, with its status and duration in a run."""
        head = f"pipeline {self.pipeline}"
        if self.run_id:
            head += f", run {self.run_id} ({self.run_status})"
        lines = [head]
        by_id = {n.id: n for n in self.nodes}
        for depth, row in enumerate(layers(self)):
            for node_id in row:
                node = by_id[node_id]
                status = self.statuses.get(node_id)
                text = f"{depth + 1:>2}  {node_id}"
                if node.upstream:
                    text += " <- " + ", ".join(node.upstream)
                if status is not None:
                    text += f"  [{status.status}"
                    if status.duration_s is not None and status.status != NOT_RUN:
                        text += f" {_fmt_duration(status.duration_s)}"
                    text += "]"
                    if status.detail:
                        text += f" {status.detail}"
                lines.append(text)
        return "\n".join(lines)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart; in a run, nodes get a class per status (coloured)."""
        ids = {n.id: f"n{i}" for i, n in enumerate(self.nodes)}
        lines = ["flowchart TD"]
        for node in self.nodes:
            status = self.statuses.get(node.id)
            label = node.id.replace('"', "'")
            if status is not None and status.duration_s is not None and status.status != NOT_RUN:
                label += f"<br/>{status.status} {_fmt_duration(status.duration_s)}"
            elif status is not None:
                label += f"<br/>{status.status}"
            css = "" if status is None else f":::{status.status.replace(' ', '_')}"
            lines.append(f'    {ids[node.id]}["{label}"]{css}')
        for edge in self.edges:
            lines.append(f"    {ids[edge.source]} -->|{edge.label}| {ids[edge.target]}")
        if self.statuses:
            for name, (fill, stroke, _) in PALETTE.items():
                lines.append(f"    classDef {name.replace(' ', '_')} fill:{fill},stroke:{stroke}")
        return "\n".join(lines)


# -- a stored run -----------------------------------------------------------------------

_ELEMENT = re.compile(r"^(?P<base>.+)\[(?P<index>\d+)\]$")


def _status_of(execution: StepExecution) -> str:
    if execution.status == RunStatus.FAILED:
        return FAILED
    if execution.status == RunStatus.KILLED:
        return KILLED
    if execution.status == RunStatus.RUNNING:
        return RUNNING
    return HIT if execution.cache == "hit" else RAN


def _seconds(start_ms: int | None, end_ms: int | None) -> float | None:
    if start_ms is None or end_ms is None:
        return None
    return max(0.0, (end_ms - start_ms) / 1000)


def run_view(run_id: str, *, client: Client | None = None) -> GraphView:
    """The graph a stored pipeline run ran, each node with its status and duration."""
    import json

    from ninefold.pipelines.history import get_pipeline_run
    from ninefold.tracking.client import get_client

    c = client or get_client()
    record = get_pipeline_run(run_id, client=c)
    view = GraphView.from_dict(json.loads(c.read_artifact(run_id, "pipeline/graph.json")))
    view.run_id = run_id
    view.run_status = str(record.run.status)
    view.run_duration_s = _seconds(record.run.start_ms, record.run.end_ms)
    runs = c.store.runs.get_many(
        [s.run_id for s in record.steps] + [r.run_id for r in record.unrecorded]
    )
    found: dict[str, list[NodeStatus]] = {}
    spans: dict[str, list[tuple[int, int | None]]] = {}

    drawn = {n.id for n in view.nodes}

    def add(node: str, status: NodeStatus, start: int, end: int | None) -> None:
        # An element of a map over a step output (train[2]) belongs to its map node (train[*]).
        element = _ELEMENT.match(node)
        key = f"{element['base']}[*]" if element and node not in drawn else node
        found.setdefault(key, []).append(status)
        spans.setdefault(key, []).append((start, end))

    for s in record.steps:
        run = runs.get(s.run_id)
        start, end = (run.start_ms, run.end_ms) if run else (s.created_ms, None)
        detail = f"reused run {s.source_run_id}" if s.cache == "hit" else ""
        if run is not None and "ninefold.error" in run.tags:
            detail = run.tags["ninefold.error"].splitlines()[0][:300]
        add(s.node, NodeStatus(_status_of(s), _seconds(start, end), s.run_id, detail), start, end)
    for r in record.unrecorded:
        status = KILLED if r.status == RunStatus.KILLED else str(r.status)
        status = status if status in PALETTE else FAILED
        add(
            r.name,
            NodeStatus(status, _seconds(r.start_ms, r.end_ms), r.run_id),
            r.start_ms,
            r.end_ms,
        )
    for node in view.nodes:
        statuses = found.get(node.id)
        if not statuses:
            view.statuses[node.id] = NodeStatus(NOT_RUN)
        elif len(statuses) == 1 and not node.id.endswith("[*]"):
            view.statuses[node.id] = statuses[0]
        else:
            view.statuses[node.id] = _summary(statuses, spans[node.id])
    return view


def _summary(statuses: Sequence[NodeStatus], spans: Sequence[tuple[int, int | None]]) -> NodeStatus:
    """One status for the elements of a map: the worst one, with counts."""
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.status] = counts.get(s.status, 0) + 1
    order = [FAILED, KILLED, RUNNING, RAN, HIT]
    status = next((s for s in order if s in counts), RAN)
    if set(counts) == {HIT}:
        status = HIT
    ends = [e for _, e in spans]
    duration = (
        None if None in ends else _seconds(min(s for s, _ in spans), max(e or 0 for e in ends))
    )
    detail = f"{len(statuses)} elements: " + ", ".join(
        f"{counts[s]} {s}" for s in order if s in counts
    )
    return NodeStatus(status, duration, None, detail, len(statuses))


# -- layout -----------------------------------------------------------------------------

FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
CHAR_W = 7.8  # px per character of the 13 px monospace font
MAX_CHARS = 36


def _clip(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def _lines(node: ViewNode, status: NodeStatus | None) -> tuple[str, str]:
    title = _clip(node.id)
    if status is None:
        second = "-> " + ", ".join(node.outputs) if node.outputs else node.step
    else:
        parts = [PALETTE.get(status.status, (*_PLAIN, ""))[2] or status.status]
        if status.count != 1:
            parts[0] += f" ({status.count})"
        if status.duration_s is not None and status.status != NOT_RUN:
            parts.append(_fmt_duration(status.duration_s))
        second = " · ".join(parts)
    return title, _clip(second)


def _shape(view: GraphView) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    return [(n.id, n.upstream) for n in view.nodes], [(e.source, e.target) for e in view.edges]


def layers(view: GraphView) -> list[list[str]]:
    """The view's node ids by layer (see :func:`ninefold.pipelines.graph_layout.layers`)."""
    return graph_layout.layers(*_shape(view))


def layout(view: GraphView) -> Layout:
    """Where the view's nodes and long edges go, boxes wide enough for their text."""
    widths: dict[str, float] = {}
    for node in view.nodes:
        title, second = _lines(node, view.statuses.get(node.id))
        widths[node.id] = max(150.0, 24 + CHAR_W * max(len(title), len(second)))
    return graph_layout.layout(*_shape(view), widths)


# -- SVG --------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _spread(box: Box, index: int, count: int) -> float:
    """The x where the index-th of count edges meets a side of a box."""
    pad = 14.0
    return box.x + pad + (box.w - 2 * pad) * (index + 0.5) / count


def _edge_path(points: Sequence[tuple[float, float]]) -> str:
    """Vertical-tangent curves from each layer to the next, straight through crossings."""
    (x, y), rest = points[0], points[1:]
    parts = [f"M {_num(x)} {_num(y)}"]
    for i, (nx, ny) in enumerate(rest):
        if i % 2 == 1:  # inside a crossing: straight down
            parts.append(f"L {_num(nx)} {_num(ny)}")
        else:
            bend = (ny - y) / 2
            parts.append(
                f"C {_num(x)} {_num(y + bend)}, {_num(nx)} {_num(ny - bend)}, {_num(nx)} {_num(ny)}"
            )
        x, y = nx, ny
    return " ".join(parts)


def _tooltip(node: ViewNode, status: NodeStatus | None) -> str:
    lines = [f"{node.id}: {node.step}"]
    if node.params:
        lines.append("params: " + ", ".join(f"{k}={v!r}" for k, v in node.params.items()))
    if node.outputs:
        lines.append("outputs: " + ", ".join(node.outputs))
    if status is not None:
        lines.append(f"status: {status.status}")
        if status.duration_s is not None and status.status != NOT_RUN:
            lines.append(f"duration: {_fmt_duration(status.duration_s)}")
        if status.run_id:
            lines.append(f"step run: {status.run_id}")
        if status.detail:
            lines.append(status.detail)
    return "\n".join(lines)


def _legend_items(view: GraphView) -> list[str]:
    shown = {v.status for v in view.statuses.values()} | {HIT, RAN, FAILED}
    return [s for s in PALETTE if s in shown]


def _legend_width(view: GraphView) -> float:
    return sum(20 + CHAR_W * len(PALETTE[s][2]) + 22 for s in _legend_items(view))


def _legend(view: GraphView, y: float) -> list[str]:
    shown = _legend_items(view)
    out = ['<g class="legend">']
    x = float(MARGIN)
    for status in shown:
        fill, stroke, label = PALETTE[status]
        out.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="14" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{_num(x + 20)}" y="{_num(y + 11.5)}" font-size="12" fill="#334155">'
            f"{escape(label)}</text>"
        )
        x += 20 + CHAR_W * len(label) + 22
    out.append("</g>")
    return out


def graph_svg(view: GraphView) -> str:
    """The graph as a standalone SVG document (UTF-8 text, no external references)."""
    placed = layout(view)
    boxes = placed.boxes
    legend_h = 34 if view.statuses else 0
    width = max(placed.width, _legend_width(view) + 2 * MARGIN if view.statuses else 0)
    height = placed.height
    total_h = height + legend_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
        f'height="{_num(total_h)}" viewBox="0 0 {_num(width)} {_num(total_h)}" '
        f'role="img" aria-label={quoteattr(f"pipeline {view.pipeline}")} '
        f"font-family={quoteattr(FONT)}>",
        f"<title>{escape(f'pipeline {view.pipeline}')}</title>",
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">',
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b"/>',
        "</marker>",
        "</defs>",
        f'<rect width="{_num(width)}" height="{_num(total_h)}" fill="#ffffff"/>',
    ]
    # Where each edge leaves its source and reaches its target, in the order of the
    # other end, so that edges side by side do not cross at the boxes.
    first_x: dict[int, float] = {}
    last_x: dict[int, float] = {}
    for k, edge in enumerate(view.edges):
        bends = placed.bends.get(k, [])
        first_x[k] = bends[0] if bends else boxes[edge.target].cx
        last_x[k] = bends[-1] if bends else boxes[edge.source].cx
    outgoing: dict[str, list[int]] = {}
    incoming: dict[str, list[int]] = {}
    for k, edge in enumerate(view.edges):
        outgoing.setdefault(edge.source, []).append(k)
        incoming.setdefault(edge.target, []).append(k)
    for ks in outgoing.values():
        ks.sort(key=lambda k: (first_x[k], k))
    for ks in incoming.values():
        ks.sort(key=lambda k: (last_x[k], k))
    labels: list[str] = []
    out.append('<g class="edges">')
    for k, edge in enumerate(view.edges):
        src, dst = boxes[edge.source], boxes[edge.target]
        exits, entries = outgoing[edge.source], incoming[edge.target]
        x1 = _spread(src, exits.index(k), len(exits))
        x2 = _spread(dst, entries.index(k), len(entries))
        points = [(x1, src.y + src.h)]
        for i, bx in enumerate(placed.bends.get(k, [])):
            top = src.y + (i + 1) * (NODE_H + GAP_Y)
            points += [(bx, top), (bx, top + NODE_H)]
        points.append((x2, dst.y))
        out.append(
            f'<g class="edge" data-source={quoteattr(edge.source)} '
            f"data-target={quoteattr(edge.target)} data-label={quoteattr(edge.label)}>"
            f"<title>{escape(f'{edge.source} → {edge.target} ({edge.label})')}</title>"
            f'<path d="{_edge_path(points)}" fill="none" stroke="#64748b" stroke-width="1.5" '
            'marker-end="url(#arrow)"/></g>'
        )
        # Labels sit just above the target, every other one a line higher.
        text = _clip(edge.label, 28)
        half = CHAR_W * 0.85 * len(text) / 2 + 4
        ly = dst.y - 14 - 16 * (entries.index(k) % 2)
        labels.append(
            f'<rect x="{_num(x2 - half)}" y="{_num(ly - 8)}" width="{_num(2 * half)}" '
            f'height="16" rx="3" fill="#ffffff" fill-opacity="0.9"/>'
            f'<text x="{_num(x2)}" y="{_num(ly + 4)}" font-size="11" text-anchor="middle" '
            f'fill="#475569">{escape(text)}</text>'
        )
    out.append("</g>")
    out.append('<g class="edge-labels">')
    out.extend(labels)
    out.append("</g>")
    out.append('<g class="nodes">')
    for node in view.nodes:
        box = boxes[node.id]
        status = view.statuses.get(node.id)
        fill, stroke = PALETTE[status.status][:2] if status and status.status in PALETTE else _PLAIN
        dash = ' stroke-dasharray="5 4"' if status and status.status == NOT_RUN else ""
        title, second = _lines(node, status)
        attrs = f"data-node={quoteattr(node.id)}"
        if status is not None:
            attrs += f" data-status={quoteattr(status.status)}"
        out.append(
            f'<g class="node" {attrs}>'
            f"<title>{escape(_tooltip(node, status))}</title>"
            f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" '
            f'height="{_num(box.h)}" rx="8" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="2"{dash}/>'
            f'<text x="{_num(box.cx)}" y="{_num(box.y + 22)}" font-size="13" '
            f'font-weight="bold" text-anchor="middle" fill="#0f172a">{escape(title)}</text>'
            f'<text x="{_num(box.cx)}" y="{_num(box.y + 41)}" font-size="12" '
            f'text-anchor="middle" fill="#334155">{escape(second)}</text></g>'
        )
    out.append("</g>")
    if view.statuses:
        out.extend(_legend(view, height + 4))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# -- HTML -------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px;
       color: #0f172a; background: #f8fafc; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.meta { color: #475569; margin: 0 0 16px; }
.graph { background: #ffffff; border: 1px solid #e2e8f0; border-radius: 8px;
         padding: 8px; overflow: auto; }
table { border-collapse: collapse; margin-top: 20px; background: #ffffff; }
th, td { border: 1px solid #e2e8f0; padding: 4px 10px; text-align: left;
         font-size: 13px; vertical-align: top; }
th { background: #f1f5f9; }
td code { font-size: 12px; }
"""


def _status_cell(status: NodeStatus) -> str:
    fill, stroke, label = PALETTE.get(status.status, (*_PLAIN, status.status))
    return (
        f'<td style="background: {fill}; border-left: 4px solid {stroke}">'
        f"{escape(label or status.status)}</td>"
    )


def graph_html(view: GraphView, *, title: str | None = None) -> str:
    """A standalone HTML page (also well-formed XML) with the graph and a table of its steps."""
    heading = title or (
        f"Pipeline {view.pipeline}" + (f", run {view.run_id}" if view.run_id else "")
    )
    meta: list[str] = []
    if view.run_id:
        meta.append(f"status {view.run_status}")
        if view.run_duration_s is not None:
            meta.append(f"duration {_fmt_duration(view.run_duration_s)}")
    if view.params:
        meta.append("params " + ", ".join(f"{k}={v!r}" for k, v in view.params.items()))
    meta.append(f"{len(view.nodes)} steps")
    rows = []
    for node in view.nodes:
        status = view.statuses.get(node.id)
        params = ", ".join(f"{k}={v!r}" for k, v in node.params.items()) or "-"
        cells = [f"<td><code>{escape(node.id)}</code></td>", f"<td>{escape(node.step)}</td>"]
        if view.statuses:
            assert status is not None
            cells.append(_status_cell(status))
            duration = "" if status.status == NOT_RUN else _fmt_duration(status.duration_s)
            cells.append(f"<td>{escape(duration)}</td>")
            cells.append(f"<td>{escape(status.detail)}</td>")
        cells.append(f"<td>{escape(params)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = ["step", "function"]
    if view.statuses:
        head += ["status", "duration", "note"]
    head.append("params")
    svg = graph_svg(view)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">',
            "<head>",
            '<meta charset="utf-8"/>',
            f"<title>{escape(heading)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{escape(heading)}</h1>",
            f'<p class="meta">{escape(" · ".join(meta))}</p>',
            f'<div class="graph">{svg}</div>',
            "<table>",
            "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>",
            *rows,
            "</table>",
            "</body>",
            "</html>",
            "",
        ]
    )


__all__ = [
    "GraphView",
    "NodeStatus",
    "ViewEdge",
    "ViewNode",
    "graph_html",
    "graph_svg",
    "layers",
    "layout",
    "run_view",
]
