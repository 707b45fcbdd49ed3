"""The champion/challenger gate: who gets promoted, what is recorded, and the errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import ninefold as nf
from ninefold import _process
from ninefold.errors import InvalidArgument, NotFound
from ninefold.registry import GateDecision, challenge
from ninefold.registry.gate import GATE_PREFIX
from ninefold.tracking.client import Client
from tests.registry.helpers import ThresholdModel


def _version(name: str, metrics: dict[str, float] | None = None, **tags: Any) -> int:
    """Register a version of ``name`` from a run that logged ``metrics``."""
    with nf.start_run(capture_environment=False, resources=False):
        for key, value in (metrics or {}).items():
            nf.log_metric(key, value)
        return nf.log_model(ThresholdModel(0.5), name, tags=tags).version


def _aliases(name: str) -> dict[str, int]:
    return {m.name: m.aliases for m in nf.list_models()}[name]


def test_the_first_challenger_becomes_champion(client: Client) -> None:
    v1 = _version("churn", {"auc": 0.9})
    decision = nf.challenge("churn", v1, metric="auc")
    assert isinstance(decision, GateDecision)
    assert decision.promoted
    assert decision.decision == "promoted"
    assert (decision.champion_version, decision.champion_value) == (None, None)
    assert decision.challenger_value == 0.9
    assert "no @champion yet" in decision.reason
    assert _aliases("churn") == {"champion": v1, "challenger": v1}
    moves = [(c.alias, c.previous_version, c.version) for c in nf.alias_history("churn")]
    assert moves == [("challenger", None, v1), ("champion", None, v1)]


def test_better_by_the_margin_promotes_and_the_decision_is_recorded(client: Client) -> None:
    v1 = _version("churn", {"auc": 0.90})
    v2 = _version("churn", {"auc": 0.93})
    nf.challenge("churn", v1, metric="auc")
    decision = challenge("churn", v2, metric="auc", margin=0.02)
    assert decision.promoted
    assert (decision.champion_version, decision.champion_value) == (v1, 0.90)
    assert "beats @champion v1 (0.9)" in decision.reason
    assert _aliases("churn") == {"champion": v2, "challenger": v2}
    tags = {
        k.removeprefix(GATE_PREFIX): v
        for k, v in nf.get_model_version("churn", v2).tags.items()
        if k.startswith(GATE_PREFIX)
    }
    assert tags == {
        "decision": "promoted",
        "metric": "auc",
        "value": "0.93",
        "champion_alias": "champion",
        "champion_version": "1",
        "champion_value": "0.9",
        "margin": "0.02",
        "relative": "false",
        "higher_is_better": "true",
        "reason": decision.reason,
    }
    champion_moves = nf.alias_history("churn", "champion")
    assert [(c.previous_version, c.version) for c in champion_moves] == [(None, v1), (v1, v2)]
    assert {c.user for c in champion_moves} == {_process.username()}
    assert decision.to_dict()["champion_version"] == v1


def test_better_by_less_than_the_margin_is_rejected(client: Client) -> None:
    v1 = _version("churn", {"auc": 0.90})
    v2 = _version("churn", {"auc": 0.905})
    nf.challenge("churn", v1, metric="auc")
    decision = nf.challenge("churn", v2, metric="auc", margin=0.01)
    assert not decision.promoted
    assert decision.decision == "rejected"
    assert "does not beat @champion v1" in decision.reason
    assert _aliases("churn") == {"champion": v1, "challenger": v2}
    assert nf.get_model_version("churn", v2).tags[GATE_PREFIX + "decision"] == "rejected"
    # A tie never promotes, even with no margin; a worse model neither.
    v3 = _version("churn", {"auc": 0.90})
    v4 = _version("churn", {"auc": 0.80})
    assert not nf.challenge("churn", v3, metric="auc").promoted
    assert not nf.challenge("churn", v4, metric="auc").promoted
    assert nf.get_model_version("models:/churn@champion").version == v1
    assert nf.get_model_version("models:/churn@challenger").version == v4


def test_lower_is_better_and_a_relative_margin(client: Client) -> None:
    v1 = _version("price", {"rmse": 10.0})
    v2 = _version("price", {"rmse": 9.7})  # 3 % lower
    v3 = _version("price", {"rmse": 9.0})  # 10 % lower
    v4 = _version("price", {"rmse": 12.0})
    nf.challenge("price", v1, metric="rmse", higher_is_better=False)
    assert not nf.challenge("price", v4, metric="rmse", higher_is_better=False).promoted
    rejected = nf.challenge(
        "price", v2, metric="rmse", higher_is_better=False, margin=0.05, relative=True
    )
    assert not rejected.promoted
    promoted = nf.challenge(
        "price", v3, metric="rmse", higher_is_better=False, margin=0.05, relative=True
    )
    assert promoted.promoted
    assert "margin 0.05 relative" in promoted.reason
    assert nf.get_model_version("price", v3).tags[GATE_PREFIX + "higher_is_better"] == "false"
    assert _aliases("price")["champion"] == v3


def test_the_latest_value_of_the_run_metric_wins_over_a_tag(client: Client) -> None:
    with nf.start_run(capture_environment=False, resources=False):
        nf.log_metric("auc", 0.5, step=0)
        nf.log_metric("auc", 0.8, step=1)
        v1 = nf.log_model(ThresholdModel(0.5), "m", tags={"auc": 0.1}).version
    assert nf.challenge("m", v1, metric="auc").challenger_value == 0.8


def test_a_version_tag_is_the_metric_when_the_run_has_none(client: Client) -> None:
    v1 = _version("tagged", auc=0.7)
    v2 = _version("tagged", auc=0.75)
    nf.challenge("tagged", v1, metric="auc")
    decision = nf.challenge("tagged", v2, metric="auc")
    assert decision.promoted
    assert (decision.challenger_value, decision.champion_value) == (0.75, 0.7)


def test_a_missing_metric_is_an_error_that_changes_nothing(client: Client) -> None:
    v1 = _version("churn", {"acc": 0.9})
    with pytest.raises(NotFound) as info:
        nf.challenge("churn", v1, metric="auc")
    message = str(info.value)
    assert "'churn' version 1 has no metric 'auc'" in message
    assert "['acc']" in message  # what the run did log
    assert "set_model_version_tag" in message  # the fix
    assert nf.alias_history("churn") == []
    assert not any(k.startswith(GATE_PREFIX) for k in nf.get_model_version("churn", v1).tags)

    # The champion's metric is needed too.
    nf.set_alias("churn", "champion", v1)
    v2 = _version("churn", {"auc": 0.95})
    with pytest.raises(NotFound, match="'churn' version 1 has no metric 'auc'"):
        nf.challenge("churn", v2, metric="auc")
    assert nf.get_model_version("models:/churn@champion").version == v1


def test_bad_arguments_are_refused(client: Client) -> None:
    v1 = _version("churn", {"auc": 0.9}, note="x")
    with pytest.raises(InvalidArgument, match="tag 'note' is 'x', not a number"):
        nf.challenge("churn", v1, metric="note")
    with pytest.raises(InvalidArgument, match=r"margin=-0\.1 must be a finite number >= 0"):
        nf.challenge("churn", v1, metric="auc", margin=-0.1)
    with pytest.raises(InvalidArgument, match="both 'champion'"):
        nf.challenge("churn", v1, metric="auc", challenger_alias="champion")
    with pytest.raises(InvalidArgument, match="version must be an integer"):
        nf.challenge("churn", "1", metric="auc")  # type: ignore[arg-type]
    assert nf.alias_history("churn") == []


def test_challenging_the_champion_again_changes_nothing(client: Client) -> None:
    v1 = _version("churn", {"auc": 0.9})
    nf.challenge("churn", v1, metric="auc")
    again = nf.challenge("churn", v1, metric="auc")
    assert (again.promoted, again.decision) == (False, "unchanged")
    assert [c.alias for c in nf.alias_history("churn")] == ["challenger", "champion", "challenger"]


def test_compare_and_set_refuses_a_stale_champion(client: Client) -> None:
    v1 = _version("cas", {"auc": 0.9})
    v2 = _version("cas", {"auc": 0.95})
    models = client.store.models
    assert models.move_alias_if("cas", "champion", v1, None, "me")
    assert not models.move_alias_if("cas", "champion", v2, None, "me")  # already set
    assert not models.move_alias_if("cas", "champion", v2, 7, "me")  # not pointing at 7
    assert models.move_alias_if("cas", "champion", v2, v1, "me")
    moves = [(c.previous_version, c.version) for c in nf.alias_history("cas")]
    assert moves == [(None, v1), (v1, v2)]


def test_concurrent_gates_leave_the_best_version_champion(client: Client) -> None:
    scores = [0.91, 0.97, 0.93, 0.95, 0.92, 0.96]
    versions = [_version("race", {"auc": s}) for s in scores]
    barrier = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def gate(version: int) -> None:
        try:
            barrier.wait()
            nf.challenge("race", version, metric="auc", client=client)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=gate, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    best = versions[scores.index(max(scores))]
    assert nf.get_model_version("models:/race@champion").version == best
    # Every recorded champion move was an improvement over the version it replaced.
    by_version = dict(zip(versions, scores, strict=True))
    for move in nf.alias_history("race", "champion"):
        if move.previous_version is not None:
            assert move.version is not None
            assert by_version[move.version] > by_version[move.previous_version]
