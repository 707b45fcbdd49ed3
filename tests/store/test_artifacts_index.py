"""Contract: the per-run artifact index and run inputs (every backend)."""

from __future__ import annotations

import pytest

from ninefold._ids import new_id
from ninefold.errors import RunNotFound
from ninefold.store import ArtifactEntry, MetadataStore, RunInput
from tests.store.helpers import MakeRun


def _paths(entries: list[ArtifactEntry]) -> list[str]:
    return [e.path for e in entries]


def test_add_list_and_replace(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run()
    store.runs.add_artifacts(
        run_id,
        [ArtifactEntry("model/model.skops", "a" * 64, 10), ArtifactEntry("plot.png", "b" * 64, 5)],
    )
    store.runs.add_artifacts(run_id, [])

    store.runs.add_artifacts(run_id, [ArtifactEntry("plot.png", "c" * 64, 7)])

    assert store.runs.list_artifacts(run_id) == [
        ArtifactEntry("model/model.skops", "a" * 64, 10),
        ArtifactEntry("plot.png", "c" * 64, 7),
    ]


def test_artifacts_are_per_run(store: MetadataStore, make_run: MakeRun) -> None:
    a, b = make_run("a"), make_run("b")
    store.runs.add_artifacts(a, [ArtifactEntry("x.txt", "a" * 64, 1)])

    assert store.runs.list_artifacts(b) == []
    assert _paths(store.runs.list_artifacts(a)) == ["x.txt"]


PATHS = ["a", "a/x", "a/sub/y", "ab/x", "A/x", "a%/x", "a_/x", "az/x", "b/x"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a", ["a", "a/sub/y", "a/x"]),
        ("a/", ["a", "a/sub/y", "a/x"]),
        ("a/sub", ["a/sub/y"]),
        ("a/x", ["a/x"]),
        ("A", ["A/x"]),
        ("a%", ["a%/x"]),
        ("a_", ["a_/x"]),
        ("b", ["b/x"]),
        ("c", []),
        ("", sorted(PATHS)),
    ],
)
def test_prefix_is_a_folder_not_a_pattern(
    store: MetadataStore, make_run: MakeRun, prefix: str, expected: list[str]
) -> None:
    run_id = make_run()
    store.runs.add_artifacts(run_id, [ArtifactEntry(p, "d" * 64, 1) for p in PATHS])

    assert _paths(store.runs.list_artifacts(run_id, prefix)) == expected


def test_artifacts_of_unknown_run(store: MetadataStore) -> None:
    missing = new_id()
    with pytest.raises(RunNotFound, match=missing):
        store.runs.add_artifacts(missing, [ArtifactEntry("x", "d" * 64, 1)])


def test_inputs_are_deduplicated_and_consumers_found(
    store: MetadataStore, make_run: MakeRun
) -> None:
    a, b = make_run("a"), make_run("b")
    data = RunInput("dataset", "datasets:/churn@3", "training")
    model = RunInput("model", "models:/churn/2", None)

    store.runs.add_inputs(a, [data, model])
    store.runs.add_inputs(a, [data])
    store.runs.add_inputs(b, [data])
    store.runs.add_inputs(b, [])

    assert sorted(store.runs.inputs(a), key=lambda i: i.kind) == [data, model]
    assert store.runs.inputs(b) == [data]
    assert sorted(store.runs.consumers("dataset", "datasets:/churn@3")) == sorted([a, b])
    assert store.runs.consumers("model", "models:/churn/2") == [a]
    assert store.runs.consumers("model", "models:/churn/3") == []
    assert store.runs.consumers("dataset", "models:/churn/2") == []


def test_inputs_of_unknown_run(store: MetadataStore) -> None:
    missing = new_id()
    with pytest.raises(RunNotFound, match=missing):
        store.runs.add_inputs(missing, [RunInput("dataset", "datasets:/x@1", None)])
