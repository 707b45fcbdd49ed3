"""A training pipeline with cached steps, lineage and an explained cache miss.

ingest -> validate -> split -> train -> evaluate -> register (behind a champion/challenger gate),
on scikit-learn's bundled breast cancer data; nothing to download or start.

The script runs the pipeline three times in a fresh project folder:

1. cold: every step runs;
2. again: every step comes from the cache;
3. with ``C=1.0``: ingest, validate and split still hit; train misses with the
   reason ``params.C 0.1 -> 1.0`` and the steps after it re-run.

    python examples/pipelines/train.py [--project DIR] [--executor process]

Afterwards, from the project folder: ``ninefold pipelines list``, ``ninefold
pipelines explain RUN``, ``ninefold pipelines lineage models:/<model>@champion``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninefold as nf

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

MODEL = "breast-cancer-pipeline"
TARGET = "target"


@nf.step
def ingest() -> pd.DataFrame:
    """The raw table: 569 tumours, 30 numeric features and the target."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@nf.step
def validate(df: pd.DataFrame, min_rows: int = 100) -> pd.DataFrame:
    """Refuse data that would train a bad model: too few rows, gaps, a non-binary target."""
    problems = []
    if len(df) < min_rows:
        problems.append(f"{len(df)} rows, fewer than {min_rows}")
    missing = df.columns[df.isna().any()].tolist()
    if missing:
        problems.append(f"missing values in {missing}")
    if set(df[TARGET].unique()) - {0, 1}:
        problems.append(f"target values {sorted(df[TARGET].unique())} are not 0/1")
    if problems:
        raise ValueError("invalid training data: " + "; ".join(problems))
    nf.log_metrics({"rows": len(df), "positive_rate": float(df[TARGET].mean())})
    return df


@nf.step(outputs=("train_df", "test_df"))
def split(df: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified train/test split; ``seed`` is the step's own seed, derived by ninefold."""
    from sklearn.model_selection import train_test_split

    train_df, test_df = train_test_split(
        df, test_size=test_size, stratify=df[TARGET], random_state=seed % 2**31
    )
    return train_df, test_df


@nf.step(retries=1, timeout_s=600, cpus=1, memory="1GiB")
def train(train_df: pd.DataFrame, C: float, seed: int) -> Pipeline:
    """Standardise, then fit a logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed % 2**31)
    )
    return model.fit(train_df.drop(columns=TARGET), train_df[TARGET])


@nf.step
def evaluate(model: Pipeline, test_df: pd.DataFrame) -> dict[str, float]:
    """Accuracy, F1 and ROC AUC on the held-out rows (also logged as metrics)."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    X, y = test_df.drop(columns=TARGET), test_df[TARGET]
    proba = model.predict_proba(X)[:, 1]
    pred = (proba >= 0.5).astype(int)
    metrics = {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred)),
        "auc": float(roc_auc_score(y, proba)),
    }
    nf.log_metrics(metrics)
    return metrics


@nf.step(side_effects=True)
def register(
    model: Pipeline, metrics: dict[str, float], min_auc: float, margin: float
) -> dict[str, Any]:
    """The gate: register the model if AUC >= min_auc, then challenge the champion with it.

    ``nf.challenge`` makes the new version ``@challenger`` and promotes it to
    ``@champion`` only if its AUC beats the champion's by ``margin``; the
    decision is recorded on the version (``ninefold models show``). The step
    changes the registry, so it declares ``side_effects=True``: ``ninefold
    reproduce`` reuses its recorded result instead of registering again.
    """
    if metrics["auc"] < min_auc:
        return {"registered": False, "why": f"auc {metrics['auc']:.4f} < {min_auc}"}
    nf.log_metric("auc", metrics["auc"])  # the gate reads it from the run that logs the model
    version = nf.log_model(model, MODEL).version
    decision = nf.challenge(MODEL, version, metric="auc", margin=margin)
    return {
        "registered": True,
        "version": version,
        "promoted": decision.promoted,
        "why": decision.reason,
    }


@nf.pipeline(name="breast-cancer-training")
def training(C: float = 0.1, test_size: float = 0.25, min_auc: float = 0.95, margin: float = 0.001):  # type: ignore[no-untyped-def]
    """The whole training pipeline; its params are the knobs of one run."""
    train_df, test_df = split(validate(ingest()), test_size=test_size)
    model = train(train_df, C=C)
    metrics = evaluate(model, test_df)
    return register(model, metrics, min_auc=min_auc, margin=margin), metrics


# -- the demo --------------------------------------------------------------------------

MARKER = ".ninefold-pipelines-example"


def prepare_project(folder: Path) -> None:
    """A fresh project folder for this example (only one this script made is cleared)."""
    if (folder / MARKER).exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("created by examples/pipelines/train.py\n")
    (folder / "ninefold.toml").write_text("[tracking]\nflush_interval_s = 0.5\n")
    os.chdir(folder)
    for var in ("NINEFOLD_STORE_URL", "NINEFOLD_ARTIFACT_ROOT", "NINEFOLD_EXPERIMENT"):
        os.environ.pop(var, None)


def show(title: str, run: Any, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{title}  ({seconds:.2f} s, run {run.run_id})", title_justify="left")
    for column in ("step", "cache", "why"):
        table.add_column(column)
    style = {"hit": "green", "miss": "yellow", "off": "magenta"}
    for node, lines in run.explain().items():
        cache = run.step(node).cache
        table.add_row(node, f"[{style[cache]}]{cache}[/]", "; ".join(lines))
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    repo = Path(__file__).resolve().parents[2]
    parser.add_argument("--project", type=Path, default=repo / "demo-project" / "pipelines")
    parser.add_argument("--executor", default="inline", choices=["inline", "process"])
    args = parser.parse_args()
    prepare_project(args.project.resolve())

    timings = []
    for title, params in (
        ("1. cold: every step runs", {}),
        ("2. same params: every step from the cache", {}),
        ("3. C=1.0: the explained miss", {"C": 1.0}),
    ):
        started = time.perf_counter()
        run = training.run(params, executor=args.executor)
        timings.append(time.perf_counter() - started)
        show(title, run, timings[-1])
        assert run.step("train").cache == ("hit" if title.startswith("2") else "miss")
    gate, metrics = run.output()
    print(f"\nmetrics with C=1.0: {metrics}")
    if gate["registered"]:
        verdict = "promoted to @champion" if gate["promoted"] else "stays @challenger"
        print(f"gate: v{gate['version']} {verdict}: {gate['why']}")
    else:
        print(f"gate: not registered: {gate['why']}")
    print(f"cached re-run took {timings[1] / timings[0]:.0%} of the cold run")
    print(
        f"\nExplore (cd {args.project}):\n"
        "  ninefold pipelines list\n"
        f"  ninefold pipelines explain {run.run_id}\n"
        f"  ninefold pipelines show {run.run_id}\n"
        f"  ninefold pipelines lineage models:/{MODEL}@champion\n"
        f"  ninefold pipelines graph {Path(__file__).resolve()}:training\n"
        f"  ninefold pipelines graph {run.run_id} --format html -o run.html"
    )


if __name__ == "__main__":
    main()
