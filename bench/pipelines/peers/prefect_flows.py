"""chain10 and lr3 in Prefect 3 (a flow of tasks, run as a plain script).

No server is configured, so each process starts Prefect's temporary local API server
(SQLite under the fresh ``HOME``). ``once``: tasks cache on their inputs and source
(``INPUTS + TASK_SOURCE``, results persisted to local storage), so the second run in
the same folder reads every task's result back. ``inproc``: ``NO_CACHE``, nothing
persisted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _common import fit_model, flow_main, load_data, score_model
from prefect import flow, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE

CACHED = {"cache_policy": INPUTS + TASK_SOURCE, "persist_result": True}
UNCACHED = {"cache_policy": NO_CACHE, "persist_result": False}


@task(**CACHED)
def start() -> np.ndarray:
    return np.arange(100.0)


@task(**CACHED)
def inc(x: np.ndarray) -> np.ndarray:
    return x + 1


@flow
def chain10() -> np.ndarray:
    x = start()
    for _ in range(9):
        x = inc(x)
    return x


_start_nc = start.with_options(**UNCACHED)
_inc_nc = inc.with_options(**UNCACHED)


@flow(persist_result=False)
def chain10_uncached() -> np.ndarray:
    x = _start_nc()
    for _ in range(9):
        x = _inc_nc(x)
    return x


@task(**CACHED)
def load() -> tuple[np.ndarray, np.ndarray]:
    return load_data()


@task(**CACHED)
def fit(X: np.ndarray, y: np.ndarray) -> Any:
    return fit_model(X, y)


@task(**CACHED)
def score(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return score_model(model, X, y)


@flow
def lr3() -> float:
    X, y = load()
    return score(fit(X, y), X, y)


def run_once(pipeline: str) -> Any:
    return {"chain10": chain10, "lr3": lr3}[pipeline]()


def run_uncached() -> Any:
    return chain10_uncached()


if __name__ == "__main__":
    raise SystemExit(flow_main(run_once, run_uncached))
