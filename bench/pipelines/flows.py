"""The pipelines measured: the same ones the peer research ran in ZenML, Kedro, Prefect ...

* ``chain10``: 10 steps; the first makes ``np.arange(100.)``, each next adds 1
  (the result sums to 5850);
* ``lr3``: load breast cancer -> fit StandardScaler + LogisticRegression on 400
  rows -> score the other 169;
* ``fan100``: a 100-branch map of a trivial step, then a sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import ninefold as nf


@nf.step
def start() -> np.ndarray:
    return np.arange(100.0)


@nf.step
def inc(x: np.ndarray) -> np.ndarray:
    return x + 1


@nf.pipeline
def chain10():  # type: ignore[no-untyped-def]
    x = start()
    for _ in range(9):
        x = inc(x)
    return x


def plain_chain10() -> np.ndarray:
    """The same ten calls without ninefold."""
    x = start.fn()
    for _ in range(9):
        x = inc.fn(x)
    return x


@nf.step(outputs=("X", "y"))
def load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@nf.step
def fit(X: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:400], y[:400])


@nf.step
def score(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(model.score(X[400:], y[400:]))


@nf.pipeline
def lr3():  # type: ignore[no-untyped-def]
    X, y = load()
    return score(fit(X, y), X, y)


def plain_lr3() -> float:
    X, y = load.fn()
    return score.fn(fit.fn(X, y), X, y)


@nf.step
def branches(n: int = 100) -> list[int]:
    return list(range(n))


@nf.step
def square(x: int) -> int:
    return x * x


@nf.step
def add_up(xs: list[int]) -> int:
    return sum(xs)


@nf.pipeline
def fan100(n: int = 100):  # type: ignore[no-untyped-def]
    return add_up(square.map(branches(n)))
