"""ninefold quick start: track a sweep, register the best model, load it by alias.

Runs on the embedded default (SQLite + a local artifact folder) in
``demo-project/`` next to this repository's README; nothing to start first.

    make demo            # or: python examples/quickstart/demo.py [--project DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()

EXPERIMENT = "breast-cancer"
MODEL = "breast-cancer-classifier"


def configurations() -> list[dict[str, Any]]:
    """The sweep: three model families, a few settings each."""
    return [
        {"model": "logreg", "C": 0.1},
        {"model": "logreg", "C": 1.0},
        {"model": "logreg", "C": 10.0},
        {"model": "random_forest", "n_estimators": 100, "max_depth": 4},
        {"model": "random_forest", "n_estimators": 200, "max_depth": None},
        {"model": "gradient_boosting", "n_estimators": 100, "learning_rate": 0.1},
    ]


def build(config: dict[str, Any], seed: int) -> Any:
    """A scikit-learn estimator for one configuration."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if config["model"] == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=config["C"], max_iter=2000))
    if config["model"] == "random_forest":
        return RandomForestClassifier(
            n_estimators=config["n_estimators"], max_depth=config["max_depth"], random_state=seed
        )
    return GradientBoostingClassifier(
        n_estimators=config["n_estimators"],
        learning_rate=config["learning_rate"],
        random_state=seed,
    )


def prepare_project(folder: Path) -> None:
    """Create (or reuse) a ninefold project folder and make it the working directory."""
    folder.mkdir(parents=True, exist_ok=True)
    toml = folder / "ninefold.toml"
    if not toml.exists():
        toml.write_text('[tracking]\ndefault_experiment = "breast-cancer"\n')
    os.chdir(folder)
    for var in ("NINEFOLD_STORE_URL", "NINEFOLD_ARTIFACT_ROOT"):
        os.environ.pop(var, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    repo = Path(__file__).resolve().parents[2]
    parser.add_argument("--project", type=Path, default=repo / "demo-project")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    prepare_project(args.project)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import cross_val_score, train_test_split

    import ninefold as nf

    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    console.print(
        Panel.fit(
            f"[bold]ninefold quick start[/]\nproject: {args.project}\n"
            f"data: scikit-learn breast cancer, {len(X_train)} train / {len(X_test)} test rows",
        )
    )

    results: list[dict[str, Any]] = []
    with nf.start_run(experiment=EXPERIMENT, name="sweep", params={"seed": args.seed}) as sweep:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("training", total=len(configurations()))
            for config in configurations():
                name = "-".join(f"{v}" for v in config.values())
                progress.update(task, description=f"training {name}")
                with nf.start_run(
                    name=name, params=config, tags={"family": config["model"]}
                ) as run:
                    model = build(config, args.seed)
                    # A metric series: cross-validated accuracy per fold.
                    scores = cross_val_score(model, X_train, y_train, cv=5)
                    for fold, score in enumerate(scores):
                        nf.log_metric("cv_accuracy", float(score), step=fold)
                    model.fit(X_train, y_train)
                    proba = model.predict_proba(X_test)[:, 1]
                    pred = (proba >= 0.5).astype(int)
                    metrics = {
                        "cv_accuracy_mean": float(np.mean(scores)),
                        "val_accuracy": float(accuracy_score(y_test, pred)),
                        "val_f1": float(f1_score(y_test, pred)),
                        "val_auc": float(roc_auc_score(y_test, proba)),
                    }
                    nf.log_metrics(metrics)
                    fig, ax = plt.subplots(figsize=(4, 3))
                    ax.plot(range(1, len(scores) + 1), scores, marker="o")
                    ax.set(xlabel="fold", ylabel="accuracy", title=name)
                    nf.log_figure(fig, "cv_accuracy.png")
                    plt.close(fig)
                    results.append({"run": run, "config": config, "model": model, **metrics})
                progress.advance(task)

        best = max(results, key=lambda r: (r["val_auc"], r["cv_accuracy_mean"]))
        sweep.log_metrics({"best_val_auc": best["val_auc"]})
        sweep.set_tag("best_run", best["run"].run_id)

    # Register the best model from its own run, then alias it champion.
    best_run = best["run"]
    with nf.start_run(experiment=EXPERIMENT, name="register-best") as reg:
        reg.log_params({"source_run": best_run.run_id, **best["config"]})
        version = nf.log_model(
            best["model"],
            MODEL,
            input_example=X_test.head(5),
            description=f"best of the sweep by validation AUC ({best_run.name})",
        )
    previous = nf.set_alias(MODEL, "champion", version.version)

    # Load the champion back by alias and score it.
    champion = nf.load_model(f"models:/{MODEL}@champion")
    reloaded_auc = float(roc_auc_score(y_test, champion.predict_proba(X_test)[:, 1]))
    assert abs(reloaded_auc - best["val_auc"]) < 1e-12, "reloaded model scores differently"

    table = Table(title=f"Sweep in experiment '{EXPERIMENT}'", header_style="bold")
    for col in ("run", "model", "cv acc", "val acc", "val AUC"):
        table.add_column(col)
    for r in sorted(results, key=lambda r: -r["val_auc"]):
        mark = " ★" if r is best else ""
        table.add_row(
            r["run"].name + mark,
            r["config"]["model"],
            f"{r['cv_accuracy_mean']:.4f}",
            f"{r['val_accuracy']:.4f}",
            f"{r['val_auc']:.4f}",
        )
    console.print(table)
    moved = f" (was v{previous})" if previous else ""
    console.print(
        Panel.fit(
            f"Registered [bold]{version.uri}[/] and set [bold]@champion[/]{moved}.\n"
            f"Loaded [bold]models:/{MODEL}@champion[/] back: test AUC {reloaded_auc:.4f}.\n"
            f"Done in {time.perf_counter() - started:.1f} s.\n\n"
            f"Explore (from {args.project}):\n"
            f"  ninefold runs list --order-by 'metrics.val_auc desc'\n"
            f"  ninefold runs list -f \"params.model = 'logreg' and metrics.val_auc > 0.99\"\n"
            f"  ninefold runs show {best_run.run_id}\n"
            f"  ninefold runs compare {' '.join(r['run'].run_id for r in results[:3])}\n"
            f"  ninefold models show {MODEL}\n"
            f"  ninefold models show models:/{MODEL}@champion\n"
            f"  ninefold artifacts get models:/{MODEL}@champion -o ./champion",
            title="result",
        )
    )


if __name__ == "__main__":
    main()
