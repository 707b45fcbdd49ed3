"""Contract: registered models, versions, tags and aliases (every backend)."""

from __future__ import annotations

import threading

import pytest

from ninefold._ids import new_id
from ninefold.errors import InvalidName, ModelNotFound
from ninefold.store import AliasChange, MetadataStore
from tests.store.helpers import MakeRun


def _register(store: MetadataStore, name: str, run_id: str | None = None, **extra: object) -> int:
    return store.models.create_version(
        name,
        run_id=run_id,
        artifact_path="model",
        digest="f" * 64,
        size=123,
        format="skops",
        signature={"inputs": [{"name": "x", "type": "double"}]},
        git_commit="abc123",
        **extra,  # type: ignore[arg-type]
    )


def test_versions_count_from_one_per_model(store: MetadataStore) -> None:
    assert [_register(store, "churn") for _ in range(3)] == [1, 2, 3]
    assert _register(store, "fraud") == 1
    assert _register(store, "churn") == 4

    assert store.models.get_model("churn").latest_version == 4
    assert store.models.get_model("fraud").latest_version == 1
    assert [m.name for m in store.models.list_models()] == ["churn", "fraud"]
    assert [v.version for v in store.models.list_versions("churn")] == [4, 3, 2, 1]


def test_version_record_round_trips(store: MetadataStore, make_run: MakeRun) -> None:
    run_id = make_run()
    version = _register(store, "churn", run_id, description="first", tags={"team": "ml"})

    mv = store.models.get_version("churn", version)

    assert mv.uri == "models:/churn/1"
    assert (mv.run_id, mv.artifact_path, mv.digest, mv.size) == (run_id, "model", "f" * 64, 123)
    assert mv.format == "skops"
    assert mv.signature == {"inputs": [{"name": "x", "type": "double"}]}
    assert (mv.git_commit, mv.description, mv.tags) == ("abc123", "first", {"team": "ml"})
    assert mv.aliases == ()


@pytest.mark.parametrize("bad", ["", "-churn", "churn model", "churn/1"])
def test_bad_model_name_is_rejected(store: MetadataStore, bad: str) -> None:
    with pytest.raises(InvalidName, match="Model name"):
        _register(store, bad)
    assert store.models.list_models() == []


def test_get_version_of_unknown_model(store: MetadataStore) -> None:
    with pytest.raises(ModelNotFound) as info:
        store.models.get_version("nope", 1)
    assert "'nope'" in str(info.value)
    assert "ninefold models list" in str(info.value)
    with pytest.raises(ModelNotFound, match="'nope'"):
        store.models.get_model("nope")


def test_get_version_unknown_number_names_the_latest(store: MetadataStore) -> None:
    _register(store, "churn")
    _register(store, "churn")

    with pytest.raises(ModelNotFound) as info:
        store.models.get_version("churn", 7)
    message = str(info.value)
    assert "'churn'" in message
    assert "no version 7" in message
    assert "latest is 2" in message


def test_aliases_set_move_delete_with_history(store: MetadataStore) -> None:
    for _ in range(3):
        _register(store, "churn")

    assert store.models.set_alias("churn", "champion", 1, user="ana") is None
    assert store.models.set_alias("churn", "challenger", 3, user="bo") is None
    assert store.models.set_alias("churn", "champion", 2, user="bo") == 1

    assert store.models.resolve_alias("churn", "champion") == 2
    assert store.models.get_model("churn").aliases == {"champion": 2, "challenger": 3}
    assert store.models.get_version("churn", 2).aliases == ("champion",)
    assert store.models.get_version("churn", 1).aliases == ()

    store.models.delete_alias("churn", "champion", user="cy")

    assert store.models.get_model("churn").aliases == {"challenger": 3}
    history = store.models.alias_history("churn", "champion")
    assert [(h.alias, h.version, h.previous_version, h.user) for h in history] == [
        ("champion", 1, None, "ana"),
        ("champion", 2, 1, "bo"),
        ("champion", None, 2, "cy"),
    ]
    assert all(isinstance(h, AliasChange) and h.name == "churn" for h in history)
    assert [h.changed_ms for h in history] == sorted(h.changed_ms for h in history)
    assert [h.alias for h in store.models.alias_history("churn")] == [
        "champion",
        "challenger",
        "champion",
        "champion",
    ]


def test_aliases_are_per_model(store: MetadataStore) -> None:
    _register(store, "churn")
    _register(store, "fraud")
    _register(store, "fraud")
    store.models.set_alias("churn", "champion", 1, user="ana")
    store.models.set_alias("fraud", "champion", 2, user="ana")

    assert store.models.resolve_alias("churn", "champion") == 1
    assert store.models.resolve_alias("fraud", "champion") == 2
    assert len(store.models.alias_history("churn")) == 1


def test_resolve_unknown_alias_lists_the_known_ones(store: MetadataStore) -> None:
    _register(store, "churn")
    with pytest.raises(ModelNotFound, match=r"aliases: none"):
        store.models.resolve_alias("churn", "champion")
    store.models.set_alias("churn", "champion", 1, user="ana")
    store.models.set_alias("churn", "baseline", 1, user="ana")

    with pytest.raises(ModelNotFound) as info:
        store.models.resolve_alias("churn", "challenger")

    message = str(info.value)
    assert "'challenger'" in message
    assert "baseline, champion" in message
    with pytest.raises(ModelNotFound, match="'nope'"):
        store.models.resolve_alias("nope", "champion")


def test_alias_errors(store: MetadataStore) -> None:
    _register(store, "churn")

    with pytest.raises(ModelNotFound, match="latest is 1"):
        store.models.set_alias("churn", "champion", 5, user="ana")
    with pytest.raises(InvalidName, match="reserved"):
        store.models.set_alias("churn", "latest", 1, user="ana")
    with pytest.raises(InvalidName, match="'2'"):
        store.models.set_alias("churn", "2", 1, user="ana")
    with pytest.raises(ModelNotFound, match="'champion'"):
        store.models.delete_alias("churn", "champion", user="ana")
    assert store.models.alias_history("churn") == []


def test_tags_and_descriptions(store: MetadataStore) -> None:
    _register(store, "churn")
    _register(store, "churn", tags={"stage": "dev"})

    store.models.set_model_tag("churn", "owner", "ana")
    store.models.set_model_tag("churn", "owner", "bo")
    store.models.set_version_tag("churn", 2, "stage", "prod")
    store.models.set_version_tag("churn", 1, "note", "baseline")
    store.models.set_description("churn", "predicts churn")
    store.models.set_description("churn", "retrained", version=2)

    model = store.models.get_model("churn")
    assert (model.tags, model.description) == ({"owner": "bo"}, "predicts churn")
    v1, v2 = store.models.get_version("churn", 1), store.models.get_version("churn", 2)
    assert (v1.tags, v1.description) == ({"note": "baseline"}, None)
    assert (v2.tags, v2.description) == ({"stage": "prod"}, "retrained")

    with pytest.raises(ModelNotFound):
        store.models.set_model_tag("nope", "k", "v")
    with pytest.raises(ModelNotFound, match="latest is 2"):
        store.models.set_version_tag("churn", 3, "k", "v")
    with pytest.raises(ModelNotFound, match="latest is 2"):
        store.models.set_description("churn", "x", version=9)


def test_versions_of_run(store: MetadataStore, make_run: MakeRun) -> None:
    a, b = make_run("a"), make_run("b")
    _register(store, "churn", a)
    _register(store, "churn", b)
    _register(store, "fraud", a)
    _register(store, "churn", a)

    found = {(v.name, v.version) for v in store.models.versions_of_run(a)}

    assert found == {("churn", 1), ("churn", 3), ("fraud", 1)}
    assert [(v.name, v.version) for v in store.models.versions_of_run(b)] == [("churn", 2)]
    assert store.models.versions_of_run(new_id()) == []
    assert [v.version for v in store.models.list_versions("churn", run_id=a)] == [3, 1]


def test_concurrent_registrations_get_distinct_versions(store: MetadataStore) -> None:
    threads, per_thread = 6, 4
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)
    lock = threading.Lock()

    def register() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                version = _register(store, "shared")
                with lock:
                    results.append(version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=register) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert errors == []
    assert sorted(results) == list(range(1, threads * per_thread + 1))
    assert store.models.get_model("shared").latest_version == threads * per_thread
