"""Continuous training: a new dataset version triggers validate -> train -> evaluate -> gate.

The pipeline ``continuous_training`` reads one version of the data set
``cancer-batches``, validates it against the schema stored with its first
version, trains a model, scores it on a fixed hold-out set and challenges the
``@champion`` with it (``nf.challenge``: promoted only if its AUC wins by
``margin``). A schedule runs it on each new version of the data set.

The script, in a fresh project folder (scikit-learn's bundled data; nothing
to download or start):

1. logs batch 1 (150 rows) and trains the first champion on it;
2. adds the schedule ``retrain-on-new-data`` (``on_dataset``);
3. logs batch 2 (all 426 training rows) and ticks the scheduler once: the new
   version fires the pipeline, whose run carries the trigger's tags, and the
   gate decides; a second tick fires nothing (each version fires once);
4. logs batch 3 with broken values: the firing fails at validation, is
   recorded as failed, and the champion stays.

    python examples/pipelines/continuous.py [--project DIR] [--inline]

Afterwards, from the project folder: ``ninefold schedule history``,
``ninefold models show cancer-continuous``, or ``ninefold scheduler`` to keep
watching for new versions.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninefold as nf

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

DATASET = "cancer-batches"
MODEL = "cancer-continuous"
TARGET = "target"
SCHEDULE = "retrain-on-new-data"


def split_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled breast cancer table split once (seed 0): rows to train on, and a hold-out."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    df = load_breast_cancer(as_frame=True).frame
    train, holdout = train_test_split(df, test_size=0.25, stratify=df[TARGET], random_state=0)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


@nf.step
def load_batch(dataset_name: str, dataset_version: int) -> pd.DataFrame:
    """The rows of one dataset version, read from where they were logged.

    The file must still hold what was registered: its fingerprint is compared
    with the version's.
    """
    import pandas as pd

    from ninefold.data import fingerprint

    version = nf.get_dataset(dataset_name, dataset_version)
    if version.source is None or fingerprint(version.source) != version.fingerprint:
        raise ValueError(f"{version.uri}: {version.source} no longer holds the registered data")
    return pd.read_csv(version.source)


@nf.step
def validate_batch(df: pd.DataFrame, dataset_name: str) -> pd.DataFrame:
    """Refuse a batch that breaks the schema stored with the data set's first version."""
    from ninefold.data import load_dataset_schema, validate

    schema = load_dataset_schema(dataset_name, 1)
    if schema is None:
        raise ValueError(f"{dataset_name}@1 has no schema to validate against")
    report = validate(df, schema)
    nf.log_metrics({"rows": len(df), "errors": len(report.errors)})
    report.raise_for_errors()
    return df


@nf.step
def train(df: pd.DataFrame, C: float, seed: int) -> Pipeline:
    """Standardise, then fit a logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed % 2**31)
    )
    return model.fit(df.drop(columns=TARGET), df[TARGET])


@nf.step
def evaluate(model: Pipeline) -> dict[str, float]:
    """AUC and accuracy on the fixed hold-out rows (the same for every version)."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    _, holdout = split_data()
    X, y = holdout.drop(columns=TARGET), holdout[TARGET]
    proba = model.predict_proba(X)[:, 1]
    metrics = {
        "auc": float(roc_auc_score(y, proba)),
        "accuracy": float(accuracy_score(y, (proba >= 0.5).astype(int))),
    }
    nf.log_metrics(metrics)
    return metrics


@nf.step
def gate(model: Pipeline, metrics: dict[str, float], margin: float) -> dict[str, Any]:
    """Register the model; challenge the champion (promoted only if its AUC wins by ``margin``)."""
    nf.log_metric("auc", metrics["auc"])  # the gate reads it from the run that logs the model
    version = nf.log_model(model, MODEL).version
    decision = nf.challenge(MODEL, version, metric="auc", margin=margin)
    return {"version": version, "promoted": decision.promoted, "why": decision.reason}


@nf.pipeline(name="continuous-training")
def continuous_training(  # type: ignore[no-untyped-def]
    dataset_version: int, dataset_name: str = DATASET, C: float = 0.5, margin: float = 0.002
):
    """Validate a new batch, train on it, evaluate, and challenge the champion.

    A ``dataset`` trigger passes ``dataset_name`` and ``dataset_version`` (the
    pipeline declares both), so each firing trains on the version that fired it.
    """
    df = validate_batch(load_batch(dataset_name, dataset_version), dataset_name)
    model = train(df, C=C)
    return gate(model, evaluate(model), margin=margin)


# -- the demo --------------------------------------------------------------------------

MARKER = ".ninefold-continuous-example"


def prepare_project(folder: Path) -> None:
    """A fresh project folder for this example (only one this script made is cleared)."""
    if (folder / MARKER).exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("created by examples/pipelines/continuous.py\n")
    (folder / "ninefold.toml").write_text("[tracking]\nflush_interval_s = 0.5\n")
    (folder / "data").mkdir()
    os.chdir(folder)
    for var in ("NINEFOLD_STORE_URL", "NINEFOLD_ARTIFACT_ROOT", "NINEFOLD_EXPERIMENT"):
        os.environ.pop(var, None)


def reference_schema(path: Path) -> Any:
    """The schema inferred from the first batch, with what we know of the domain.

    The measurements cannot be negative, but later batches may well hold larger
    tumours than the first one did: no upper bound, no outlier rule.
    """
    from ninefold.data import Range, infer_schema

    schema = infer_schema(str(path))
    for name, column in schema.columns.items():
        if column.range is not None and name != TARGET:
            column.range = Range(0.0, None)
            column.outliers = None
    return schema


def log_batch(df: pd.DataFrame, number: int, *, schema: bool = False) -> int:
    """Write a batch to data/batch-N.csv and log it as the next version of the data set."""
    path = Path("data") / f"batch-{number}.csv"
    df.to_csv(path, index=False)
    version = nf.log_dataset(str(path), DATASET, schema=reference_schema(path) if schema else None)
    print(f"logged {version.uri}: {version.num_rows} rows from {path}")
    return version.version


def show_firings(fired: list[Any]) -> None:
    for f in fired:
        run = f" -> run {f.run_id}" if f.run_id else ""
        print(f"  firing of {f.schedule!r} on {f.event['label']}: {f.status}{run}")
        if f.error:
            print(f"    error: {f.error.splitlines()[0][:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    repo = Path(__file__).resolve().parents[2]
    parser.add_argument("--project", type=Path, default=repo / "demo-project" / "continuous")
    parser.add_argument(
        "--inline", action="store_true", help="run firings in this process, not a child"
    )
    args = parser.parse_args()
    prepare_project(args.project.resolve())
    rows, _ = split_data()

    print("1. the first batch and the first champion")
    v1 = log_batch(rows.head(150), 1, schema=True)
    first = continuous_training.run({"dataset_version": v1}).output()
    print(f"  v{first['version']}: {first['why']}")

    print(f"2. schedule {SCHEDULE!r}: run the pipeline on each new version of {DATASET!r}")
    nf.add_schedule(
        SCHEDULE,
        f"{Path(__file__).resolve()}:continuous_training",
        on_dataset=DATASET,
        params={"margin": 0.002},
    )
    scheduler = nf.Scheduler(inline=args.inline)

    print("3. a bigger batch arrives; one tick of the scheduler")
    log_batch(rows, 2)
    fired = scheduler.tick()
    fired = scheduler.wait() or fired
    show_firings(fired)
    assert len(fired) == 1, fired
    assert fired[0].status == "finished", fired[0].error
    run = nf.get_run(fired[0].run_id or "")
    trigger = {k: v for k, v in run.tags.items() if k.startswith("ninefold.trigger.")}
    print(f"  the run's trigger tags: {trigger}")
    mv = nf.get_model_version(f"models:/{MODEL}@challenger")
    print(
        f"  gate: v{mv.version} {mv.tags.get('ninefold.gate.decision')}: "
        f"{mv.tags.get('ninefold.gate.reason')}"
    )
    again = scheduler.tick()
    print(f"  a second tick fires {len(again)} time(s): each version fires once")
    assert not again

    print("4. a broken batch: validation stops it, the champion stays")
    broken = rows.head(100).copy()
    broken["mean radius"] = -broken["mean radius"]
    log_batch(broken, 3)
    fired = scheduler.tick()
    fired = scheduler.wait() or fired
    show_firings(fired)
    assert fired[0].status == "failed"
    champion = nf.get_model_version(f"models:/{MODEL}@champion")
    print(f"  @champion is still v{champion.version}")
    print(
        f"\nExplore (cd {args.project}):\n"
        "  ninefold schedule history\n"
        f"  ninefold schedule show {SCHEDULE}\n"
        f"  ninefold models show {MODEL}\n"
        "  ninefold scheduler        # keeps watching for new versions (Ctrl-C to stop)"
    )


if __name__ == "__main__":
    main()
