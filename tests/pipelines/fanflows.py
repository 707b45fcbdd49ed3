"""A small fan-out pipeline shared by the executor tests: a map over a step output, then a join."""

from __future__ import annotations

import numpy as np

import ninefold as nf


@nf.step
def numbers(n: int = 6) -> np.ndarray:
    return np.arange(n, dtype=np.float64)


@nf.step
def power(x: float, p: int = 2) -> float:
    nf.log_metric("x", float(x))
    return float(x) ** p


@nf.step
def stats(xs: np.ndarray) -> dict[str, float]:
    return {"mean": float(xs.mean()), "max": float(xs.max())}


@nf.step
def combine(powers: list[float], summary: dict[str, float]) -> float:
    return sum(powers) + summary["max"]


@nf.pipeline
def fan(n: int = 6):  # type: ignore[no-untyped-def]
    xs = numbers(n)
    return combine(power.map(xs), stats(xs))
