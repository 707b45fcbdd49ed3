"""chain10 and lr3 in Kedro through its library API (no project template).

``once``: every dataset between nodes is a pickle file in ``data/`` and the run asks
for ``only_missing_outputs=True``, so the second run in the same folder skips the
nodes whose outputs exist (Kedro has no cache; this is its nearest equivalent: a
file-existence check). ``inproc``: the same pipeline on in-memory datasets (the
default catalog), nothing persisted.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from _common import fit_model, flow_main, load_data, score_model
from kedro.io import AbstractDataset, DataCatalog
from kedro.pipeline import Pipeline, node
from kedro.runner import SequentialRunner


class PickleFile(AbstractDataset[Any, Any]):
    """One value pickled to one file: enough for ``only_missing_outputs``."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def load(self) -> Any:
        with self._path.open("rb") as fh:
            return pickle.load(fh)

    def save(self, data: Any) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("wb") as fh:
            pickle.dump(data, fh)

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


def start() -> np.ndarray:
    return np.arange(100.0)


def inc(x: np.ndarray) -> np.ndarray:
    return x + 1


def chain10() -> Pipeline:
    nodes = [node(start, inputs=None, outputs="x0", name="start")]
    nodes += [node(inc, f"x{i - 1}", f"x{i}", name=f"inc_{i}") for i in range(1, 10)]
    return Pipeline(nodes)


def lr3() -> Pipeline:
    return Pipeline(
        [
            node(load_data, None, ["X", "y"], name="load"),
            node(fit_model, ["X", "y"], "model", name="fit"),
            node(score_model, ["model", "X", "y"], "accuracy", name="score"),
        ]
    )


FINAL = {"chain10": "x9", "lr3": "accuracy"}
DATASETS = {"chain10": [f"x{i}" for i in range(10)], "lr3": ["X", "y", "model", "accuracy"]}


def run_once(pipeline: str) -> Any:
    catalog = DataCatalog({name: PickleFile(f"data/{name}.pkl") for name in DATASETS[pipeline]})
    built = {"chain10": chain10, "lr3": lr3}[pipeline]()
    SequentialRunner().run(built, catalog, only_missing_outputs=True)
    return catalog.load(FINAL[pipeline])


_CHAIN = chain10()


def run_uncached() -> Any:
    outputs = SequentialRunner().run(_CHAIN, DataCatalog())
    return outputs["x9"].load() if hasattr(outputs["x9"], "load") else outputs["x9"]


if __name__ == "__main__":
    raise SystemExit(flow_main(run_once, run_uncached))
