"""A small tracked history (runs, metrics, artifacts, a model with an alias) and a CLI runner."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

import ninefold as nf
from ninefold.cli.main import app
from ninefold.tracking.client import Client
from tests.registry.helpers import ThresholdModel


@dataclass(frozen=True)
class History:
    """Ids of what :func:`history` logged."""

    lr: str  # experiment "sweep": C=0.1, acc 0.81, loss NaN, notes/ files, input iris@1, model v1
    rf: str  # experiment "sweep": C=1.0, acc 0.93, model v2 (@champion)
    baseline: str  # experiment "other": acc 0.5
    model: str  # registered model name


@pytest.fixture
def history(client: Client) -> History:
    with nf.start_run(
        experiment="sweep",
        name="lr-small",
        params={"C": 0.1, "model": "lr"},
        capture_environment=False,
    ) as lr:
        nf.log_metric("acc", 0.81)
        nf.log_metric("loss", math.nan)
        nf.log_text("hello", "notes/readme.txt")
        nf.log_dict({"depth": 3}, "notes/cfg.json")
        lr.log_input("dataset", "iris@1")
        nf.log_model(ThresholdModel(0.5), "iris-clf")
    with nf.start_run(
        experiment="sweep", name="rf", params={"C": 1.0, "model": "rf"}, capture_environment=False
    ) as rf:
        nf.log_metric("acc", 0.93)
        nf.log_model(ThresholdModel(1.5), "iris-clf")
    with nf.start_run(
        experiment="other", name="baseline", params={"model": "dummy"}, capture_environment=False
    ) as baseline:
        nf.log_metric("acc", 0.5)
    nf.set_alias("iris-clf", "champion", 2)
    return History(lr.run_id, rf.run_id, baseline.run_id, "iris-clf")


Invoke = Callable[..., Result]


@pytest.fixture
def cli() -> Invoke:
    """Run ``ninefold ARGS`` in-process; fails the test on an exception the CLI did not handle."""
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, columns: int = 200) -> Result:
        result = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
        # A handled error exits through SystemExit; anything else is a crash.
        assert not isinstance(result.exception, Exception), result.exception
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return invoke


def as_json(result: Result) -> Any:
    """The command's stdout parsed as JSON."""
    return json.loads(result.stdout)
