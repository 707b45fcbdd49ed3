"""Pipeline graphs as SVG and HTML: every node and edge drawn, statuses of a real run, the CLI."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import ninefold as nf
from ninefold.cli.main import app
from ninefold.errors import StepFailed
from ninefold.pipelines import graph_layout
from ninefold.pipelines.graph_render import (
    GraphView,
    graph_html,
    graph_svg,
    layers,
    layout,
    run_view,
)
from ninefold.tracking.client import Client

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"


@nf.step
def source(n: int = 3) -> list[int]:
    return list(range(n))


@nf.step(outputs=("low", "high"))
def halves(xs: list[int]) -> tuple[list[int], list[int]]:
    return xs[: len(xs) // 2], xs[len(xs) // 2 :]


@nf.step
def total(xs: list[int], scale: float = 1.0) -> float:
    return sum(xs) * scale


@nf.step
def square(x: int) -> int:
    return x * x


@nf.step
def report(low: float, high: float, squares: list[int], fail: bool = False) -> str:
    if fail:
        raise RuntimeError("report failed on purpose")
    return f"{low} {high} {sum(squares)}"


@nf.step
def publish(text: str) -> str:
    return text.upper()


@nf.pipeline
def drawn(n: int = 3, fail: bool = False):  # type: ignore[no-untyped-def]
    xs = source(n)
    low, high = halves(xs)
    text = report(total(low), total(high, scale=2.0), square.map(xs), fail=fail)
    return publish(text)


def _edges(root: ET.Element) -> set[tuple[str, str, str]]:
    return {
        (g.attrib["data-source"], g.attrib["data-target"], g.attrib["data-label"])
        for g in root.iter(f"{SVG}g")
        if g.attrib.get("class") == "edge"
    }


def _nodes(root: ET.Element) -> dict[str, str | None]:
    return {
        g.attrib["data-node"]: g.attrib.get("data-status")
        for g in root.iter(f"{SVG}g")
        if g.attrib.get("class") == "node"
    }


EXPECTED_EDGES = {
    ("source", "halves", "xs"),
    ("halves", "total", "low → xs"),
    ("halves", "total_2", "high → xs"),
    ("source", "square[*]", "each x"),
    ("total", "report", "low"),
    ("total_2", "report", "high"),
    ("square[*]", "report", "squares"),
    ("report", "publish", "text"),
}


def test_the_svg_of_a_pipeline_draws_every_node_and_edge() -> None:
    graph = drawn.graph()
    root = ET.fromstring(graph_svg(GraphView.from_graph(graph)))
    assert root.tag == f"{SVG}svg"
    assert _nodes(root) == dict.fromkeys(graph.nodes)
    assert _edges(root) == EXPECTED_EDGES
    # Node boxes show the step name; there is no legend without a run.
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "halves" in texts
    assert "-> low, high" in texts
    assert not [g for g in root.iter(f"{SVG}g") if g.attrib.get("class") == "legend"]


def test_layers_put_each_step_below_what_it_reads() -> None:
    view = GraphView.from_graph(drawn.graph())
    assert layers(view) == [
        ["source"],
        ["halves", "square[*]"],
        ["total", "total_2"],
        ["report"],
        ["publish"],
    ]
    # Every box lies inside the drawing and no two overlap.
    placed_out = layout(view)
    width, height = placed_out.width, placed_out.height
    placed = list(placed_out.boxes.values())
    for i, a in enumerate(placed):
        assert a.x >= 0
        assert a.x + a.w <= width
        assert a.y + a.h <= height
        for b in placed[i + 1 :]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y


def test_a_run_colours_each_step_by_what_happened(nf_client: Client) -> None:
    with pytest.raises(StepFailed) as info:
        drawn.run({"fail": True})
    first = info.value.pipeline_run_id
    view = run_view(first, client=nf_client)
    statuses = {node: s.status for node, s in view.statuses.items()}
    assert statuses == {
        "source": "ran",
        "halves": "ran",
        "total": "ran",
        "total_2": "ran",
        "square[*]": "ran",
        "report": "failed",
        "publish": "not run",
    }
    assert view.statuses["square[*]"].detail == "3 elements: 3 ran"
    assert "report failed on purpose" in view.statuses["report"].detail
    assert view.run_status == "failed"
    assert all(
        s.duration_s is not None and s.duration_s >= 0
        for node, s in view.statuses.items()
        if node != "publish"
    )

    # Again: the steps before the failure come from the cache.
    with pytest.raises(StepFailed) as again:
        drawn.run({"fail": True})
    svg = graph_svg(run_view(again.value.pipeline_run_id, client=nf_client))
    root = ET.fromstring(svg)
    assert _nodes(root) == {
        "source": "hit",
        "halves": "hit",
        "total": "hit",
        "total_2": "hit",
        "square[*]": "hit",
        "report": "failed",
        "publish": "not run",
    }
    assert _edges(root) == EXPECTED_EDGES
    fills = {
        g.attrib["data-node"]: next(g.iter(f"{SVG}rect")).attrib["fill"]
        for g in root.iter(f"{SVG}g")
        if g.attrib.get("class") == "node"
    }
    assert fills["source"] == "#dcfce7"  # green: cache hit
    assert fills["report"] == "#fee2e2"  # red: failed
    assert fills["publish"] == "#f3f4f6"  # grey: not run
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(t.startswith("failed · ") and t.endswith(("ms", " s")) for t in texts)
    assert {"cache hit", "ran", "failed", "not run"} <= set(texts)  # the legend

    ok = drawn.run()
    assert run_view(ok.run_id, client=nf_client).statuses["publish"].status == "ran"


def test_the_html_page_is_standalone_and_well_formed(nf_client: Client) -> None:
    run = drawn.run({"n": 4})
    page = graph_html(run_view(run.run_id, client=nf_client))
    root = ET.fromstring(page)  # XHTML: parses as XML
    assert root.tag == f"{XHTML}html"
    assert page.startswith("<!DOCTYPE html>")
    svg = root.find(f".//{SVG}svg")
    assert svg is not None
    assert set(_nodes(svg)) == set(run.graph.nodes)
    cells = [td.text for td in root.iter(f"{XHTML}td")]
    assert "ran" in cells
    assert "4 elements: 4 ran" in cells
    # Nothing to fetch: no scripts, no links, no external images.
    assert "<script" not in page
    assert "src=" not in page
    assert "href=" not in page
    assert "url(#arrow)" in page


def test_cli_graph_writes_svg_and_html(nf_client: Client, tmp_path: Path) -> None:
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["pipelines", "graph", *args])
        assert result.exit_code == code, result.output
        return result.output

    spec = f"{Path(__file__)}:drawn"
    out = tmp_path / "out" / "graph.svg"
    said = invoke(spec, "--format", "svg", "-o", str(out))
    assert "Wrote svg of 7 steps" in said
    assert set(_nodes(ET.parse(out).getroot())) == set(drawn.graph().nodes)
    assert ET.fromstring(invoke(spec, "-f", "svg")).tag == f"{SVG}svg"

    with pytest.raises(StepFailed) as info:
        drawn.run({"fail": True})
    run_id = info.value.pipeline_run_id
    page = tmp_path / "run.html"
    invoke(run_id, "--format", "html", "--output", str(page))
    svg = ET.parse(page).getroot().find(f".//{SVG}svg")
    assert svg is not None
    assert _nodes(svg)["report"] == "failed"
    as_json = json.loads(invoke(run_id, "--json"))
    assert {n["id"]: n["status"] for n in as_json["nodes"]}["publish"] == "not run"
    text = invoke(run_id)
    assert "report <- square[*], total, total_2  [failed" in text
    mermaid = invoke(run_id, "-f", "mermaid")
    assert ":::failed" in mermaid
    assert "classDef not_run" in mermaid
    # A pipeline's JSON stays the graph's own.
    assert json.loads(invoke(spec, "--json"))["pipeline"] == "drawn"
    assert "--format 'png'" in invoke(spec, "-f", "png", code=1)
    assert "--param applies to a pipeline" in invoke(run_id, "-p", "n=2", code=1)


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """Random DAGs in topological order, with repeated edges (two inputs from one step)."""
    count = draw(st.integers(min_value=1, max_value=12))
    nodes: list[tuple[str, list[str]]] = []
    edges: list[tuple[str, str]] = []
    for i in range(count):
        earlier = [n for n, _ in nodes]
        sources = draw(st.lists(st.sampled_from(earlier), max_size=4)) if earlier else []
        nodes.append((f"n{i}", sorted(set(sources))))
        edges.extend((s, f"n{i}") for s in sources)
    return nodes, edges


@given(dags(), st.floats(min_value=20, max_value=400))
def test_any_dag_is_laid_out_without_overlaps(
    dag: tuple[list[tuple[str, list[str]]], list[tuple[str, str]]], wide: float
) -> None:
    nodes, edges = dag
    widths = {n: 150.0 if i % 2 else wide for i, (n, _) in enumerate(nodes)}
    placed = graph_layout.layout(nodes, edges, widths)
    boxes = placed.boxes
    assert set(boxes) == {n for n, _ in nodes}
    rows = graph_layout.layers(nodes, edges)
    assert sorted(n for row in rows for n in row) == sorted(boxes)
    for node, upstream in nodes:
        box = boxes[node]
        assert box.w == widths[node]
        assert box.x >= graph_layout.MARGIN - 1e-6
        assert box.x + box.w <= placed.width - graph_layout.MARGIN + 1e-6
        assert box.y + box.h <= placed.height
        for u in upstream:
            assert boxes[u].y < box.y  # every edge points down
    for row in rows:
        for a, b in itertools.pairwise(row):  # left to right, a gap between neighbours
            assert boxes[a].x + boxes[a].w + graph_layout.GAP_X - 1e-6 <= boxes[b].x
    # A long edge bends once per layer it crosses, between the boxes of that layer.
    layer_of = {n: i for i, row in enumerate(rows) for n in row}
    for k, (source, target) in enumerate(edges):
        bends = placed.bends.get(k, [])
        assert len(bends) == layer_of[target] - layer_of[source] - 1
        for i, x in enumerate(bends):
            for n in rows[layer_of[source] + 1 + i]:
                assert not boxes[n].x < x < boxes[n].x + boxes[n].w
