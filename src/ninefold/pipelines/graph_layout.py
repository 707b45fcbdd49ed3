"""Layered layout of a DAG for drawing: layers, order within them, coordinates.

A node sits one layer below the deepest node it reads from. An edge longer
than one layer gets a crossing point in every layer it passes, which takes a
little room there, so that it runs between the boxes rather than through
them. Within a layer, items are ordered by the mean position of what feeds
them (fewer crossings), then placed as close as they can to the mean centre
of what feeds them, keeping a gap between neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NODE_H = 54
GAP_X = 36
GAP_Y = 64
MARGIN = 24
CROSSING_W = 14.0

Nodes = Sequence[tuple[str, Sequence[str]]]
"""(node id, ids of the nodes it reads from), in topological order."""
Edges = Sequence[tuple[str, str]]
"""(source id, target id) of every edge drawn, in drawing order."""

_Item = str | tuple[int, int]
"""A node id, or (edge index, layer) for a point where a long edge crosses a layer."""


@dataclass(frozen=True)
class Box:
    """Where a node is drawn."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return self.x + self.w / 2


@dataclass(frozen=True)
class Layout:
    """Where everything is drawn: node boxes, the bends of long edges, the size."""

    boxes: dict[str, Box]
    bends: dict[int, list[float]]
    """Per edge index, the x where it crosses each layer between its ends."""
    width: float
    height: float


def _depths(nodes: Nodes) -> dict[str, int]:
    depth: dict[str, int] = {}
    for node_id, upstream in nodes:
        depth[node_id] = 1 + max((depth[u] for u in upstream if u in depth), default=-1)
    return depth


def layers(nodes: Nodes, edges: Edges) -> list[list[str]]:
    """Node ids by layer, each layer in drawing order (left to right)."""
    rows, _ = _rows(nodes, edges, _depths(nodes))
    return [[i for i in row if isinstance(i, str)] for row in rows]


def _rows(
    nodes: Nodes, edges: Edges, depth: dict[str, int]
) -> tuple[list[list[_Item]], dict[_Item, list[_Item]]]:
    """Layers of nodes plus crossing points of edges longer than one layer, ordered."""
    count = max(depth.values(), default=-1) + 1
    rows: list[list[_Item]] = [[] for _ in range(count)]
    preds: dict[_Item, list[_Item]] = {}
    for node_id, _ in nodes:
        rows[depth[node_id]].append(node_id)
        preds[node_id] = []
    for k, (source, target) in enumerate(edges):
        previous: _Item = source
        for layer in range(depth[source] + 1, depth[target]):
            crossing = (k, layer)
            rows[layer].append(crossing)
            preds[crossing] = [previous]
            previous = crossing
        preds[target].append(previous)
    added = {node_id: i for i, (node_id, _) in enumerate(nodes)}

    def tie(item: _Item) -> tuple[int, int]:
        return (0, added[item]) if isinstance(item, str) else (1, item[0])

    position: dict[_Item, float] = {}
    for row in rows:
        for item in row:
            ups = preds[item]
            position[item] = sum(position[u] for u in ups) / len(ups) if ups else -1.0
        row.sort(key=lambda i: (position[i], tie(i)))
        for index, item in enumerate(row):
            position[item] = float(index) - (len(row) - 1) / 2
    return rows, preds


def layout(nodes: Nodes, edges: Edges, widths: Mapping[str, float]) -> Layout:
    """Place boxes of the given widths: layer by layer, each near what feeds it."""
    rows, preds = _rows(nodes, edges, _depths(nodes))
    width_of: dict[_Item, float] = {k: float(v) for k, v in widths.items()}
    left: dict[_Item, float] = {}
    for row in rows:
        cursor = float("-inf")
        wanted: list[float] = []
        for item in row:
            w = width_of.get(item, CROSSING_W)
            ups = preds[item]
            if ups:
                centre = sum(left[u] + width_of.get(u, CROSSING_W) / 2 for u in ups) / len(ups)
                want = centre - w / 2
            else:
                want = cursor + GAP_X if row.index(item) else 0.0
            wanted.append(want)
            left[item] = max(want, cursor + GAP_X) if row.index(item) else want
            cursor = left[item] + w
        # Pushed right to keep the gaps: move the row back by the mean push.
        shift = sum(left[i] - want for i, want in zip(row, wanted, strict=True)) / max(len(row), 1)
        for item in row:
            left[item] -= shift
    lowest = min(left.values(), default=0.0)
    boxes: dict[str, Box] = {}
    bends: dict[int, list[float]] = {}
    right = 0.0
    for layer, row in enumerate(rows):
        y = MARGIN + layer * (NODE_H + GAP_Y)
        for item in row:
            x = left[item] - lowest + MARGIN
            w = width_of.get(item, CROSSING_W)
            right = max(right, x + w)
            if isinstance(item, str):
                boxes[item] = Box(x, y, w, NODE_H)
            else:
                bends.setdefault(item[0], []).append(x + w / 2)
    height = MARGIN * 2 + len(rows) * NODE_H + max(len(rows) - 1, 0) * GAP_Y
    return Layout(boxes, bends, right + MARGIN, height)


__all__ = ["Box", "Layout", "layers", "layout"]
