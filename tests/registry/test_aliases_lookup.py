"""Aliases and their history, name rules, and finding versions (with helpful not-found errors)."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold import _process
from ninefold.errors import InvalidArgument, InvalidName, ModelNotFound
from ninefold.tracking.client import Client
from tests.registry.helpers import ThresholdModel


def _register(name: str, count: int) -> None:
    with nf.start_run(capture_environment=False):
        for i in range(count):
            nf.log_model(ThresholdModel(float(i)), name)


def test_set_move_and_delete_an_alias(client: Client) -> None:
    _register("churn", 3)
    assert nf.set_alias("churn", "champion", 1) is None
    assert nf.get_model_version("churn", "champion").version == 1
    assert nf.set_alias("churn", "champion", 3) == 1
    assert nf.get_model_version("models:/churn@champion").version == 3
    assert nf.set_alias("churn", "challenger", 2) is None
    assert {m.name: m.aliases for m in nf.list_models()} == {
        "churn": {"champion": 3, "challenger": 2}
    }
    versions = {v.version: v.aliases for v in nf.list_model_versions("churn")}
    assert versions == {3: ("champion",), 2: ("challenger",), 1: ()}

    nf.delete_alias("churn", "champion")
    with pytest.raises(ModelNotFound, match="champion"):
        nf.get_model_version("models:/churn@champion")
    assert nf.get_model_version("models:/churn@challenger").version == 2


def test_setting_the_same_version_again_returns_it(client: Client) -> None:
    _register("same", 1)
    nf.set_alias("same", "prod", 1)
    assert nf.set_alias("same", "prod", 1) == 1


def test_alias_history_records_every_move(client: Client) -> None:
    _register("hist", 3)
    nf.set_alias("hist", "champion", 1)
    nf.set_alias("hist", "champion", 2)
    nf.set_alias("hist", "challenger", 3)
    nf.delete_alias("hist", "champion")
    moves = [(c.alias, c.previous_version, c.version) for c in nf.alias_history("hist")]
    assert moves == [
        ("champion", None, 1),
        ("champion", 1, 2),
        ("challenger", None, 3),
        ("champion", 2, None),
    ]
    only_champion = nf.alias_history("hist", "champion")
    assert [(c.previous_version, c.version) for c in only_champion] == [
        (None, 1),
        (1, 2),
        (2, None),
    ]
    stamps = [c.changed_ms for c in only_champion]
    assert stamps == sorted(stamps)
    assert {c.user for c in only_champion} == {_process.username()}
    assert {c.name for c in only_champion} == {"hist"}


def test_alias_to_a_missing_version_is_refused_and_not_recorded(client: Client) -> None:
    _register("short", 2)
    with pytest.raises(ModelNotFound) as info:
        nf.set_alias("short", "champion", 5)
    assert "5" in str(info.value)
    assert "latest is 2" in str(info.value)
    assert nf.alias_history("short") == []


def test_alias_version_must_be_an_int(client: Client) -> None:
    _register("typed", 2)
    for version in ("2", 2.0, True, None):
        with pytest.raises(InvalidArgument, match="integer"):
            nf.set_alias("typed", "champion", version)  # type: ignore[arg-type]
    assert nf.alias_history("typed") == []


def test_invalid_model_names(client: Client) -> None:
    with nf.start_run(capture_environment=False):
        for name in ("bad name", "1x@", "", "-lead", "a/b", "x" * 300):
            with pytest.raises(InvalidName) as info:
                nf.log_model(ThresholdModel(1.0), name)
            assert "Model name" in str(info.value)
            assert "letters, digits" in str(info.value)
    assert nf.list_models() == []


def test_invalid_aliases(client: Client) -> None:
    _register("aliased", 1)
    for alias in ("latest", "1x@", "bad name", "3", "", "a.b"):
        with pytest.raises(InvalidName) as info:
            nf.set_alias("aliased", alias, 1)
        assert repr(alias) in str(info.value)
    assert nf.list_models()[0].aliases == {}
    assert nf.alias_history("aliased") == []


def test_set_alias_checks_the_model_name(client: Client) -> None:
    with pytest.raises(InvalidName):
        nf.set_alias("bad name", "champion", 1)


def test_get_model_version_by_name_alias_number_and_latest(client: Client) -> None:
    _register("lookup", 3)
    nf.set_alias("lookup", "staging", 2)
    assert nf.get_model_version("lookup").version == 3
    assert nf.get_model_version("lookup", 1).version == 1
    assert nf.get_model_version("lookup", "1").version == 1
    assert nf.get_model_version("lookup", "staging").version == 2
    assert nf.get_model_version("models:/lookup/3").version == 3
    assert nf.get_model_version("models:/lookup@staging").version == 2
    mv = nf.get_model_version("lookup", 2)
    assert (mv.name, mv.uri, mv.aliases) == ("lookup", "models:/lookup/2", ("staging",))


def test_get_model_version_refuses_a_uri_and_a_version(client: Client) -> None:
    _register("both", 2)
    with pytest.raises(InvalidArgument, match="either"):
        nf.get_model_version("models:/both/1", 2)


def test_get_model_version_refuses_other_uris_and_non_strings(client: Client) -> None:
    for bad in ("runs:/abc/model.pkl", "datasets:/iris@1", "models:/x/0"):
        with pytest.raises(InvalidArgument, match="models:/"):
            nf.get_model_version(bad)
        with pytest.raises(InvalidArgument, match="models:/"):
            nf.load_model(bad)
    with pytest.raises(InvalidArgument, match="int"):
        nf.get_model_version(3)  # type: ignore[arg-type]


def test_unknown_version_names_the_latest(client: Client) -> None:
    _register("few", 2)
    for call in (
        lambda: nf.get_model_version("few", 9),
        lambda: nf.get_model_version("models:/few/9"),
        lambda: nf.load_model("models:/few/9", trusted=True),
    ):
        with pytest.raises(ModelNotFound) as info:
            call()
        assert "'few'" in str(info.value)
        assert "9" in str(info.value)
        assert "latest is 2" in str(info.value)


def test_unknown_alias_lists_the_aliases_that_exist(client: Client) -> None:
    _register("aliases", 2)
    nf.set_alias("aliases", "champion", 1)
    nf.set_alias("aliases", "challenger", 2)
    with pytest.raises(ModelNotFound) as info:
        nf.load_model("models:/aliases@prod")
    message = str(info.value)
    assert "'prod'" in message
    assert "challenger, champion" in message
    assert "ninefold models alias aliases prod" in message


def test_unknown_model_names_how_to_list_models(client: Client) -> None:
    for call in (
        lambda: nf.get_model_version("nope"),
        lambda: nf.get_model_version("models:/nope@champion"),
        lambda: nf.load_model("models:/nope/1"),
        lambda: nf.list_model_versions("nope"),
        lambda: nf.delete_alias("nope", "champion"),
        lambda: nf.alias_history("nope"),
    ):
        with pytest.raises(ModelNotFound) as info:
            call()
        assert "'nope'" in str(info.value)
        assert "ninefold models list" in str(info.value)


def test_unknown_model_lists_the_models_that_exist(client: Client) -> None:
    _register("alpha", 1)
    _register("beta", 1)
    with pytest.raises(ModelNotFound) as info:
        nf.get_model_version("models:/gamma@champion")
    assert "alpha" in str(info.value)
    assert "beta" in str(info.value)


def test_tags_and_descriptions(client: Client) -> None:
    _register("described", 2)
    nf.set_model_version_tag("described", 2, "validated", True)
    nf.set_model_description("described", "predicts churn")
    nf.set_model_description("described", "retrained on May data", version=2)
    mv = nf.get_model_version("described", 2)
    assert mv.tags == {"validated": "True"}
    assert mv.description == "retrained on May data"
    assert nf.get_model_version("described", 1).description is None
    assert nf.list_models()[0].description == "predicts churn"
    with pytest.raises(ModelNotFound):
        nf.set_model_version_tag("described", 7, "validated", True)
    with pytest.raises(InvalidName):
        nf.set_model_version_tag("described", 1, "", "x")
