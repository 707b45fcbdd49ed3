"""Setup helpers used inside worker processes (they import the measured tool lazily)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

FLUENT_EXPERIMENT = "bench"


def ninefold_client() -> tuple[Any, float]:
    """The ninefold client of the project in the working directory, and seconds to open it.

    Opening a fresh project creates its embedded store (``.ninefold/ninefold.db``).
    """
    from ninefold.tracking.client import get_client

    start = time.perf_counter()
    client = get_client()
    return client, time.perf_counter() - start


def mlflow_uri(folder: str | Path) -> str:
    """The SQLite tracking URI of MLflow's store in ``folder``."""
    return f"sqlite:///{Path(folder).resolve() / 'mlflow.db'}"


def mlflow_store(folder: str | Path = ".", create: bool = True) -> tuple[Any, str, float]:
    """Point MLflow at ``folder/mlflow.db`` with artifacts in ``folder/artifacts``.

    Returns the client, the benchmark experiment's id and the seconds taken to
    open the store (creating it runs MLflow's migrations) and the experiment.
    """
    import mlflow
    from mlflow import MlflowClient

    folder = Path(folder).resolve()
    uri = mlflow_uri(folder)
    mlflow.set_tracking_uri(uri)
    start = time.perf_counter()
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(FLUENT_EXPERIMENT)
    if found is not None:
        exp_id = found.experiment_id
    elif create:
        exp_id = client.create_experiment(
            FLUENT_EXPERIMENT, artifact_location=(folder / "artifacts").as_uri()
        )
    else:
        raise RuntimeError(f"no experiment {FLUENT_EXPERIMENT!r} in {uri}")
    elapsed = time.perf_counter() - start
    mlflow.set_experiment(experiment_id=exp_id)
    return client, exp_id, elapsed


def latency_figures(latencies_s: list[float]) -> dict[str, float]:
    """p50 and p95 of per-call latencies, in microseconds."""
    from bench._harness import percentile

    return {
        "p50_us": percentile(latencies_s, 50) * 1e6,
        "p95_us": percentile(latencies_s, 95) * 1e6,
    }


def ninefold_points(client: Any, run_id: str, keys: list[str]) -> int:
    """How many points of these metric keys a run has, counted in the store's SQLite file.

    Only the benchmark's own keys count: a run also records system metrics
    (``system/cpu_percent`` ...).
    """
    import sqlite3

    path = str(client.store.url).split(":///", 1)[1]
    marks = ", ".join("?" * len(keys))
    with sqlite3.connect(path) as con:
        row = con.execute(
            f"SELECT count(*) FROM metrics WHERE run_id = ? AND key IN ({marks})", [run_id, *keys]
        ).fetchone()
    return int(row[0])
