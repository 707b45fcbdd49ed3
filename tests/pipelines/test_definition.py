"""Defining steps and pipelines: the graph is known before anything runs; misuse is refused."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold.pipelines import PipelineDefinitionError, Ref, Step


@nf.step
def load(n: int = 3) -> list[int]:
    return list(range(n))


@nf.step
def scale(xs: list[int], factor: float = 2.0) -> list[float]:
    return [x * factor for x in xs]


@nf.step
def split(xs: list[float]) -> tuple[list[float], list[float]]:
    return xs[:1], xs[1:]


@nf.step(outputs=("head", "tail"))
def named_split(xs: list[float]):  # type: ignore[no-untyped-def]
    return xs[:1], xs[1:]


@nf.step
def total(parts: list[list[float]]) -> float:
    return sum(sum(p) for p in parts)


@nf.step
def add(a: list[float], b: list[float]) -> float:
    return sum(a) + sum(b)


@nf.pipeline
def chain(n: int = 3, factor: float = 2.0):  # type: ignore[no-untyped-def]
    head, tail = split(scale(load(n), factor=factor))
    return add(head, tail)


def test_calling_steps_in_a_pipeline_builds_the_graph_without_running() -> None:
    graph = chain.graph({"n": 4})
    assert list(graph.nodes) == ["load", "scale", "split", "add"]
    assert graph.params == {"n": 4, "factor": 2.0}
    assert graph.nodes["load"].params == {"n": 4}
    assert graph.nodes["scale"].params == {"factor": 2.0}
    assert isinstance(graph.nodes["scale"].inputs["xs"], Ref)
    assert graph.nodes["add"].upstream == ("split",)
    assert graph.nodes["split"].outputs == ("output_0", "output_1")
    add_inputs = graph.nodes["add"].inputs
    assert [(r.node, r.output) for r in add_inputs.values() if isinstance(r, Ref)] == [
        ("split", "output_0"),
        ("split", "output_1"),
    ]


def test_outside_a_pipeline_a_step_is_a_plain_function() -> None:
    assert isinstance(scale, Step)
    assert scale([1, 2], factor=3.0) == [3.0, 6.0]
    assert scale.__name__ == "scale"


def test_named_outputs_and_text_views() -> None:
    @nf.pipeline
    def named():  # type: ignore[no-untyped-def]
        head, tail = named_split(scale(load()))
        return add(head, tail)

    graph = named.graph()
    assert graph.nodes["named_split"].outputs == ("head", "tail")
    text = graph.to_text()
    assert "add(a<-named_split.head, b<-named_split.tail)" in text
    mermaid = graph.to_mermaid()
    assert mermaid.startswith("flowchart TD")
    assert "|a|" in mermaid
    assert "|xs|" in mermaid
    assert graph.to_dict()["returns"] == ["add"]


def test_repeated_calls_get_distinct_node_ids_and_lists_of_outputs_are_inputs() -> None:
    @nf.pipeline
    def twice():  # type: ignore[no-untyped-def]
        xs = load()
        return total([scale(xs, factor=1.0), scale(xs, factor=3.0)])

    graph = twice.graph()
    assert list(graph.nodes) == ["load", "scale", "scale_2", "total"]
    parts = graph.nodes["total"].inputs["parts"]
    assert isinstance(parts, list)
    assert [r.node for r in parts] == ["scale", "scale_2"]
    assert graph.nodes["total"].upstream == ("scale", "scale_2")


def test_map_over_a_literal_list_makes_one_node_per_item() -> None:
    @nf.pipeline
    def fan():  # type: ignore[no-untyped-def]
        xs = load()
        return total(scale.map([1.0, 2.0, 3.0], over="factor", xs=xs))

    graph = fan.graph()
    assert [n for n in graph.nodes if n.startswith("scale")] == ["scale[0]", "scale[1]", "scale[2]"]
    assert graph.nodes["scale[2]"].params == {"factor": 3.0}


def test_map_over_a_step_output_is_one_node_expanded_at_run_time() -> None:
    @nf.pipeline
    def fan():  # type: ignore[no-untyped-def]
        return scale.map(load(), over="xs")

    graph = fan.graph()
    node = graph.nodes["scale[*]"]
    assert node.map_over == "xs"
    assert node.map_items is not None
    assert node.map_items.node == "load"
    assert node.upstream == ("load",)


def test_a_lazy_output_refuses_python_expressions() -> None:
    seen: list[str] = []

    @nf.pipeline
    def misuse():  # type: ignore[no-untyped-def]
        xs = load()
        try:
            if xs:
                pass
        except PipelineDefinitionError as exc:
            seen.append(str(exc))
        try:
            _ = xs.shape  # type: ignore[attr-defined]
        except PipelineDefinitionError as exc:
            seen.append(str(exc))
        return xs

    misuse.graph()
    assert "used as a condition" in seen[0]
    assert "read as .shape" in seen[1]
    assert "misuse" in seen[0]


def test_a_reference_used_outside_its_pipeline_is_refused() -> None:
    graph = chain.graph()
    ref = graph.nodes["add"].inputs["a"]
    with pytest.raises(PipelineDefinitionError, match="outside the pipeline 'chain'"):
        scale(ref)  # type: ignore[arg-type]

    leaked: list[Ref] = []

    @nf.pipeline
    def first():  # type: ignore[no-untyped-def]
        out = load()
        leaked.append(out)  # type: ignore[arg-type]
        return out

    @nf.pipeline
    def second():  # type: ignore[no-untyped-def]
        return scale(leaked[0])  # type: ignore[arg-type]

    first.graph()
    with pytest.raises(PipelineDefinitionError, match="from pipeline 'first'"):
        second.graph()


def test_bad_arguments_name_the_step_and_the_fix() -> None:
    @nf.pipeline
    def missing():  # type: ignore[no-untyped-def]
        return add(load())  # type: ignore[call-arg]

    with pytest.raises(PipelineDefinitionError, match=r"'add' is missing argument\(s\) \['b'\]"):
        missing.graph()

    @nf.pipeline
    def unhashable():  # type: ignore[no-untyped-def]
        return scale(load(), factor=object())  # type: ignore[arg-type]

    with pytest.raises(PipelineDefinitionError, match="'factor' is a object, which is neither"):
        unhashable.graph()

    with pytest.raises(PipelineDefinitionError, match=r"no param\(s\) \['m'\]"):
        chain.graph({"m": 1})

    @nf.pipeline
    def empty():  # type: ignore[no-untyped-def]
        return 1

    with pytest.raises(PipelineDefinitionError, match="called no step"):
        empty.graph()


def one() -> int:
    return 1


def test_step_options_are_checked_when_decorating() -> None:
    with pytest.raises(PipelineDefinitionError, match="retries=-1"):
        nf.step(retries=-1)(one)
    with pytest.raises(PipelineDefinitionError, match="expire='soon'"):
        nf.step(expire="soon")(one)
    with pytest.raises(PipelineDefinitionError, match="memory='lots'"):
        nf.step(memory="lots")(one)
    with pytest.raises(PipelineDefinitionError, match="Step name '<lambda>' is not allowed"):
        nf.step(lambda: 1)

    def star(*xs: int) -> int:
        return sum(xs)

    with pytest.raises(PipelineDefinitionError, match=r"takes \*xs"):
        nf.step(star)
    s = nf.step(expire="2h", memory="512MiB", cpus=2, gpus=1, timeout_s=30)(one)
    assert s.expire_s == 7200
    assert s.resources.memory == 512 * 1024**2
    assert s.resources.tags() == {
        "ninefold.resources.cpu": "2",
        "ninefold.resources.memory_gib": "0.5",
        "ninefold.resources.gpu": "1",
    }


def test_map_outside_a_pipeline_is_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"only works inside a @nf\.pipeline"):
        scale.map([1, 2])
