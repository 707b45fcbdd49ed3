"""Small helpers shared by the tracking tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SYSTEM_PREFIX = "system/"


def own(metrics: Mapping[str, float]) -> dict[str, float]:
    """The metrics a test logged, without the resource sampler's ``system/*`` series."""
    return {k: v for k, v in metrics.items() if not k.startswith(SYSTEM_PREFIX)}


def own_names(names: Iterable[str]) -> list[str]:
    """Column or row names without those of ``system/*`` metrics."""
    return [n for n in names if SYSTEM_PREFIX not in n]
