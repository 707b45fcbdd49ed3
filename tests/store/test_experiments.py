"""Contract: experiments (every backend)."""

from __future__ import annotations

import pytest

from ninefold.errors import AlreadyExists, ExperimentNotFound, InvalidName
from ninefold.store import Experiment, MetadataStore
from tests.store.helpers import MakeRun


def test_create_returns_the_stored_experiment(store: MetadataStore) -> None:
    exp = store.experiments.create("churn", description="weekly churn model")

    assert len(exp.experiment_id) == 32
    assert store.experiments.get("churn") == exp
    assert exp.description == "weekly churn model"


def test_duplicate_name_raises_already_exists_naming_it(store: MetadataStore) -> None:
    store.experiments.create("churn")

    with pytest.raises(AlreadyExists, match="'churn'"):
        store.experiments.create("churn")
    assert [e.name for e in store.experiments.list()] == ["churn"]


@pytest.mark.parametrize("bad", ["", "   "])
def test_blank_name_is_rejected(store: MetadataStore, bad: str) -> None:
    with pytest.raises(InvalidName, match="Experiment name"):
        store.experiments.create(bad)


def test_get_or_create_is_idempotent(store: MetadataStore) -> None:
    first = store.experiments.get_or_create("churn")
    second = store.experiments.get_or_create("churn")

    assert first == second
    assert len(store.experiments.list()) == 1


def test_find_by_name_or_id(store: MetadataStore) -> None:
    exp = store.experiments.create("churn")
    store.experiments.create("fraud")

    assert store.experiments.find("churn") == exp
    assert store.experiments.find(exp.experiment_id) == exp
    assert store.experiments.get(exp.experiment_id) == exp
    assert store.experiments.find("nope") is None


def test_unknown_experiment_error_names_it_and_the_fix(store: MetadataStore) -> None:
    store.experiments.create("churn")

    with pytest.raises(ExperimentNotFound) as info:
        store.experiments.get("chrun")
    assert "'chrun'" in str(info.value)
    assert "ninefold experiments list" in str(info.value)


def test_list_is_oldest_first(store: MetadataStore) -> None:
    names = ["c", "a", "b"]
    for name in names:
        store.experiments.create(name)

    listed = store.experiments.list()
    assert sorted(listed, key=lambda e: e.created_ms) == listed
    assert {e.name for e in listed} == set(names)


def test_run_counts_per_experiment(
    store: MetadataStore, experiment: Experiment, make_run: MakeRun
) -> None:
    other = store.experiments.create("other")
    empty = store.experiments.create("empty")
    make_run("a")
    make_run("b")
    make_run("c", experiment_id=other.experiment_id)

    counts = store.experiments.run_counts()

    assert counts == {experiment.experiment_id: 2, other.experiment_id: 1}
    assert empty.experiment_id not in counts
