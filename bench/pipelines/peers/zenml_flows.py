"""chain10 and lr3 in ZenML (``zenml[local]``: the default local stack, SQLite store).

``once``: the pipeline with ZenML's step cache on (its default), so the second run in
the same folder reuses every step. ``inproc``: ``enable_cache=False``. The result is
read back from the run's last step, through ZenML's client.
"""

from typing import Annotated, Any

import numpy as np
from _common import fit_model, flow_main, load_data, score_model
from sklearn.pipeline import Pipeline as SkPipeline
from zenml import pipeline, step
from zenml.client import Client


@step
def start() -> np.ndarray:
    return np.arange(100.0)


@step
def inc(x: np.ndarray) -> np.ndarray:
    return x + 1


@pipeline
def chain10() -> None:
    x = start()
    for i in range(1, 10):
        x = inc(x, id=f"inc_{i}")


@step
def load() -> tuple[Annotated[np.ndarray, "X"], Annotated[np.ndarray, "y"]]:
    X, y = load_data()
    return X, y  # a literal tuple: ZenML reads the source to see two outputs


@step
def fit(X: np.ndarray, y: np.ndarray) -> SkPipeline:
    model: SkPipeline = fit_model(X, y)
    return model


@step
def score(model: SkPipeline, X: np.ndarray, y: np.ndarray) -> float:
    return score_model(model, X, y)


@pipeline
def lr3() -> None:
    X, y = load()
    score(fit(X, y), X, y)


LAST = {"chain10": "inc_9", "lr3": "score"}


def _output(run: Any, pipeline_name: str) -> Any:
    fresh = Client().get_pipeline_run(run.id)
    return fresh.steps[LAST[pipeline_name]].output.load()


def run_once(pipeline_name: str) -> Any:
    run = {"chain10": chain10, "lr3": lr3}[pipeline_name]()
    return _output(run, pipeline_name)


_UNCACHED = chain10.with_options(enable_cache=False)


def run_uncached() -> Any:
    return _output(_UNCACHED(), "chain10")


if __name__ == "__main__":
    raise SystemExit(flow_main(run_once, run_uncached))
