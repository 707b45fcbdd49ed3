"""chain10 and lr3 in ninefold, as a user's script (run by ``bench_ninefold.py``).

``python ninefold_flows.py once chain10``: one run in the project around the working
folder (its default embedded store, created on the first run); the cache is on, so the
second run of the same command executes nothing. ``inproc``: ``chain10.run(cache=False)``
in a warm interpreter; every step is still recorded as a child run with its lineage.
The same pipelines as ``bench/pipelines/flows.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _common import fit_model, flow_main, load_data, score_model

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


@nf.step(outputs=("X", "y"))
def load() -> tuple[np.ndarray, np.ndarray]:
    return load_data()


@nf.step
def fit(X: np.ndarray, y: np.ndarray) -> Any:
    return fit_model(X, y)


@nf.step
def score(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return score_model(model, X, y)


@nf.pipeline
def lr3():  # type: ignore[no-untyped-def]
    X, y = load()
    return score(fit(X, y), X, y)


def run_once(pipeline: str) -> Any:
    return {"chain10": chain10, "lr3": lr3}[pipeline].run().output()


def run_uncached() -> Any:
    return chain10.run(cache=False).output()


if __name__ == "__main__":
    raise SystemExit(flow_main(run_once, run_uncached))
