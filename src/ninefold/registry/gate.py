"""The champion/challenger gate: promote a new version only when it wins by a margin.

Continuous training registers a new version on every run; the gate decides
whether it replaces the one in production::

    decision = nf.challenge("churn", mv.version, metric="auc", margin=0.005)
    decision.promoted      # True: @champion now points at mv.version

The version becomes ``@challenger``. With no ``@champion`` yet it becomes the
champion; otherwise it is promoted only if its metric beats the champion's by
at least ``margin``. The decision is written on the version as
``ninefold.gate.*`` tags, and every alias move is in the alias history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ninefold import _process
from ninefold._names import check_alias, check_key, check_model_name
from ninefold.errors import InvalidArgument, ModelNotFound, NotFound, StateError
from ninefold.registry.api import get_model_version, set_alias
from ninefold.store import ModelVersion
from ninefold.tracking.client import Client, get_client

GATE_PREFIX = "ninefold.gate."
"""Prefix of the tags a gate decision leaves on the challenged version."""

PROMOTED = "promoted"
REJECTED = "rejected"
UNCHANGED = "unchanged"

_ATTEMPTS = 8
"""Decisions retried when another gate moves the champion at the same time."""


@dataclass(frozen=True)
class GateDecision:
    """What :func:`challenge` decided.

    Attributes:
        model: the registered model.
        promoted: whether the challenger is now the champion.
        decision: ``promoted``, ``rejected``, or ``unchanged`` (it already was the champion).
        challenger_version: the version challenged.
        champion_version: the champion it was compared with (None: there was none).
        challenger_value: the challenger's metric value.
        champion_value: the champion's metric value (None: there was no champion).
        metric: the metric compared.
        margin: the margin it had to win by.
        relative: whether ``margin`` is a fraction of the champion's value.
        higher_is_better: the metric's direction.
        reason: the decision in one sentence.
    """

    model: str
    promoted: bool
    decision: str
    challenger_version: int
    champion_version: int | None
    challenger_value: float
    champion_value: float | None
    metric: str
    margin: float
    relative: bool
    higher_is_better: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "model": self.model,
            "promoted": self.promoted,
            "decision": self.decision,
            "challenger_version": self.challenger_version,
            "champion_version": self.champion_version,
            "challenger_value": self.challenger_value,
            "champion_value": self.champion_value,
            "metric": self.metric,
            "margin": self.margin,
            "relative": self.relative,
            "higher_is_better": self.higher_is_better,
            "reason": self.reason,
        }


def metric_value(mv: ModelVersion, metric: str, client: Client) -> float:
    """A version's value of ``metric``: its source run's latest value, else a version tag.

    Raises:
        NotFound: neither the run nor the version's tags have the metric.
        InvalidArgument: the tag is not a number, or the value is NaN.
    """
    where = f"Model {mv.name!r} version {mv.version}"
    run_metrics: list[str] = []
    value: float | None = None
    if mv.run_id is not None and client.store.runs.exists(mv.run_id):
        metrics = client.store.runs.get(mv.run_id).metrics
        run_metrics = sorted(metrics)
        if metric in metrics:
            value = float(metrics[metric])
            source = f"metric {metric!r} of run {mv.run_id}"
    if value is None and metric in mv.tags:
        text = mv.tags[metric]
        source = f"tag {metric!r}"
        try:
            value = float(text)
        except ValueError:
            raise InvalidArgument(
                f"{where}: tag {metric!r} is {text!r}, not a number. Set it to the metric's "
                f"value: nf.set_model_version_tag({mv.name!r}, {mv.version}, {metric!r}, 0.93)"
            ) from None
    if value is None:
        run_part = (
            f"its run {mv.run_id} logged {run_metrics or 'no metrics'}"
            if mv.run_id is not None
            else "it records no run"
        )
        raise NotFound(
            f"{where} has no metric {metric!r}: {run_part} and it has no tag {metric!r}. "
            f"Log it in the run that logs the model (nf.log_metric({metric!r}, value)) or tag "
            f"the version: nf.set_model_version_tag({mv.name!r}, {mv.version}, {metric!r}, value)"
        )
    if math.isnan(value):
        raise InvalidArgument(f"{where}: {source} is NaN, which cannot be compared.")
    return value


def _improvement(challenger: float, champion: float, higher_is_better: bool) -> float:
    return challenger - champion if higher_is_better else champion - challenger


def _wins(
    challenger: float, champion: float, margin: float, relative: bool, higher_is_better: bool
) -> bool:
    gain = _improvement(challenger, champion, higher_is_better)
    if gain <= 0:
        return False
    if relative:
        # Relative to the champion's magnitude; a champion at 0 is beaten by any gain.
        return champion == 0 or gain / abs(champion) >= margin
    return gain >= margin


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _check(margin: float, metric: str, champion_alias: str, challenger_alias: str) -> None:
    check_key(metric, "Metric")
    check_alias(champion_alias)
    check_alias(challenger_alias)
    if champion_alias == challenger_alias:
        raise InvalidArgument(
            f"champion_alias and challenger_alias are both {champion_alias!r}; use two aliases."
        )
    if (
        isinstance(margin, bool)
        or not isinstance(margin, int | float)
        or not math.isfinite(margin)
        or margin < 0
    ):
        raise InvalidArgument(
            f"margin={margin!r} must be a finite number >= 0 (0: any improvement wins)."
        )


def challenge(
    model: str,
    version: int,
    *,
    metric: str,
    margin: float = 0.0,
    higher_is_better: bool = True,
    relative: bool = False,
    champion_alias: str = "champion",
    challenger_alias: str = "challenger",
    client: Client | None = None,
) -> GateDecision:
    """Make ``version`` the challenger and promote it to champion if it wins by ``margin``.

    A version's metric is the latest value of ``metric`` in the run that logged
    it, else the version's tag of that name. The version becomes
    ``@challenger``; it becomes ``@champion`` when there is none yet, or when its
    improvement over the champion (``challenger - champion``, or the reverse
    when lower is better) is positive and at least ``margin``. With
    ``relative=True`` the improvement is divided by the champion's absolute
    value first (``margin=0.01`` asks for 1 % better). A tie never promotes.

    The decision is recorded on the version as tags (``ninefold.gate.decision``,
    ``.metric``, ``.value``, ``.champion_version``, ``.champion_value``,
    ``.margin``, ``.reason`` ...). If another gate moves the champion while
    this one decides, the decision is taken again against the new champion.

    Args:
        model: the registered model's name.
        version: the version to challenge with.
        metric: the metric to compare (e.g. ``"auc"``).
        margin: how much better the challenger must be (absolute unless ``relative``).
        higher_is_better: False for losses and errors (``rmse``, ``log_loss``).
        relative: read ``margin`` as a fraction of the champion's value.
        champion_alias: the alias of the model in production.
        challenger_alias: the alias given to the version challenged.
        client: the tracking client (default: the current project's).

    Returns:
        The :class:`GateDecision`.

    Raises:
        NotFound: the challenger or the champion has no value for ``metric``.
        ModelNotFound: no such model or version.

    Example:
        >>> d = nf.challenge("churn", 4, metric="rmse", higher_is_better=False)  # doctest: +SKIP
        >>> d.promoted, d.reason  # doctest: +SKIP
        (True, 'rmse 0.41 beats champion v3 (0.44) by 0.03 (margin 0)')
    """
    check_model_name(model)
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidArgument(f"version must be an integer, got {version!r}.")
    _check(margin, metric, champion_alias, challenger_alias)
    c = client or get_client()
    # Buffered points of the run that logged the model must be in the store first.
    from ninefold.tracking.fluent import flush

    flush()
    challenger = get_model_version(model, version, client=c)
    value = metric_value(challenger, metric, c)
    set_alias(model, challenger_alias, version, client=c)
    repo = c.store.models
    user = _process.username()
    for _ in range(_ATTEMPTS):
        try:
            champion_version: int | None = repo.resolve_alias(model, champion_alias)
        except ModelNotFound:
            champion_version = None
        champion_value: float | None = None
        if champion_version is None:
            decision, reason = PROMOTED, f"no @{champion_alias} yet: v{version} becomes champion"
        elif champion_version == version:
            decision = UNCHANGED
            reason = f"v{version} already is @{champion_alias}"
            champion_value = value
        else:
            champion = get_model_version(model, champion_version, client=c)
            champion_value = metric_value(champion, metric, c)
            gain = _improvement(value, champion_value, higher_is_better)
            need = f"margin {_fmt(margin)}{' relative' if relative else ''}"
            if _wins(value, champion_value, margin, relative, higher_is_better):
                decision = PROMOTED
                verb = "beats"
            else:
                decision = REJECTED
                verb = "does not beat"
            reason = (
                f"{metric} {_fmt(value)} {verb} @{champion_alias} v{champion_version} "
                f"({_fmt(champion_value)}): improvement {_fmt(gain)}, {need}"
            )
        if decision == PROMOTED and not repo.move_alias_if(
            model, champion_alias, version, champion_version, user
        ):
            continue  # the champion moved meanwhile: decide again against the new one
        break
    else:
        raise StateError(
            f"@{champion_alias} of model {model!r} kept moving while v{version} was challenged "
            f"({_ATTEMPTS} attempts); run the gate again."
        )
    result = GateDecision(
        model=model,
        promoted=decision == PROMOTED,
        decision=decision,
        challenger_version=version,
        champion_version=champion_version,
        challenger_value=value,
        champion_value=champion_value,
        metric=metric,
        margin=float(margin),
        relative=relative,
        higher_is_better=higher_is_better,
        reason=reason,
    )
    _record(c, result, champion_alias)
    return result


def _record(client: Client, decision: GateDecision, champion_alias: str) -> None:
    tags = {
        "decision": decision.decision,
        "metric": decision.metric,
        "value": repr(decision.challenger_value),
        "champion_alias": champion_alias,
        "champion_version": "" if decision.champion_version is None else decision.champion_version,
        "champion_value": "" if decision.champion_value is None else repr(decision.champion_value),
        "margin": repr(decision.margin),
        "relative": str(decision.relative).lower(),
        "higher_is_better": str(decision.higher_is_better).lower(),
        "reason": decision.reason,
    }
    for key, value in tags.items():
        client.store.models.set_version_tag(
            decision.model, decision.challenger_version, GATE_PREFIX + key, str(value)
        )


__all__ = ["GateDecision", "challenge", "metric_value"]
