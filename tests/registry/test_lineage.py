"""Lineage: a model version links its run, git commit, inputs and files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import ninefold as nf
from ninefold.tracking.client import Client
from tests.registry.helpers import ThresholdModel


def _git(cwd: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    )
    return out.stdout.strip()


def test_version_links_run_and_git_commit(client: Client, project: Path) -> None:
    _git(project, "init", "-q")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty",
         "-m", "init")  # fmt: skip
    commit = _git(project, "rev-parse", "HEAD")
    with nf.start_run() as run:
        mv = nf.log_model(ThresholdModel(1.0), "traced")
    assert client.get_run(run.run_id).tags["ninefold.git.commit"] == commit
    assert mv.run_id == run.run_id
    assert mv.git_commit == commit
    lineage = nf.model_lineage("models:/traced/1")
    assert lineage.git_commit == commit
    assert lineage.run is not None
    assert lineage.run.run_id == run.run_id


def test_no_git_no_commit(client: Client, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Even if the temporary folder sits inside some repository, git must not look above.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(project.parent))
    with nf.start_run() as run:
        mv = nf.log_model(ThresholdModel(1.0), "untraced")
    assert "ninefold.git.commit" not in client.get_run(run.run_id).tags
    assert mv.git_commit is None
    assert nf.model_lineage("models:/untraced/1").git_commit is None


def test_lineage_returns_run_inputs_and_files(client: Client) -> None:
    with nf.start_run(experiment="lineage", params={"C": 0.5}, capture_environment=False) as run:
        run.log_input("dataset", "iris@1")
        run.log_input("dataset", "iris-holdout@2", "validation")
        nf.log_model(ThresholdModel(1.0), "lined2")
        mv = nf.log_model(ThresholdModel(2.0), "lined", input_example=[[1.0, 2.0]])
    nf.set_alias("lined", "champion", mv.version)
    lineage = nf.model_lineage("models:/lined@champion")
    assert lineage.version.version == mv.version
    assert lineage.run is not None
    assert lineage.run.run_id == run.run_id
    assert lineage.run.experiment == "lineage"
    assert lineage.run.params == {"C": "0.5"}
    # Inputs come back by time recorded, then kind and ref (one millisecond may hold both).
    assert sorted((i.kind, i.ref, i.context or "") for i in lineage.inputs) == [
        ("dataset", "iris-holdout@2", "validation"),
        ("dataset", "iris@1", ""),
    ]
    # Only this model's files, not those of the other model logged in the same run.
    assert sorted(f.path for f in lineage.files) == [
        "models/lined/input_example.json",
        "models/lined/model.json",
        "models/lined/model.pkl",
    ]
    model_file = next(f for f in lineage.files if f.path.endswith("model.pkl"))
    assert model_file.digest == mv.digest

    as_dict = json.loads(json.dumps(lineage.to_dict()))
    assert as_dict["model"]["uri"] == "models:/lined/1"
    assert as_dict["model"]["aliases"] == ["champion"]
    assert as_dict["run"]["run_id"] == run.run_id
    assert {"kind": "dataset", "ref": "iris@1", "context": None} in as_dict["inputs"]
    assert len(as_dict["files"]) == 3


def test_a_loaded_model_becomes_lineage_of_the_next_one(client: Client) -> None:
    with nf.start_run(capture_environment=False):
        nf.log_model(ThresholdModel(1.0), "base")
    with nf.start_run(capture_environment=False) as run:
        base = nf.load_model("models:/base/1", trusted=True)
        nf.log_model(ThresholdModel(base.threshold + 1), "tuned")
    lineage = nf.model_lineage("models:/tuned/1")
    assert [(i.kind, i.ref, i.context) for i in lineage.inputs] == [("model", "base/1", "loaded")]
    assert lineage.run is not None
    assert lineage.run.run_id == run.run_id
