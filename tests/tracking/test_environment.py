"""Environment capture: git commit, uncommitted changes, interpreter and packages of a run."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ninefold as nf
from ninefold.tracking import environment
from ninefold.tracking.client import get_client


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The project folder as a git repository with one commit."""
    for var, value in {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(var, value)
    _git(project, "init", "-q", "-b", "main")
    (project / ".gitignore").write_text(".ninefold/\n")
    (project / "train.py").write_text("print('train')\nLR = 0.1\n")
    _git(project, "add", ".gitignore", "ninefold.toml", "train.py")
    _git(project, "commit", "-q", "-m", "first")
    environment._capture.cache_clear()
    yield project
    environment._capture.cache_clear()


def _artifact_text(run_id: str, path: str) -> str:
    return get_client().read_text(run_id, path)


def test_dirty_repository_is_recorded(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("print('train')\nLR = 0.05  # tuned\n")
    (repo / "extra.py").write_text("x = 1\n")
    with nf.start_run() as run:
        pass
    tags = nf.get_run(run.run_id).tags
    assert tags["ninefold.git.commit"] == head
    assert tags["ninefold.git.dirty"] == "true"
    assert tags["ninefold.git.branch"] == "main"
    assert tags["ninefold.python"] == platform.python_version()
    assert tags["ninefold.platform"] == platform.platform()
    assert sys.executable in tags["ninefold.command"]

    diff = _artifact_text(run.run_id, "environment/git.diff")
    assert "-LR = 0.1" in diff
    assert "+LR = 0.05  # tuned" in diff
    assert "# untracked: extra.py" in diff
    assert ".ninefold" not in diff  # ignored files are not listed

    requirements = _artifact_text(run.run_id, "environment/requirements.txt")
    assert any(line.startswith("polars==") for line in requirements.splitlines())
    summary = json.loads(_artifact_text(run.run_id, "environment/environment.json"))
    assert summary["git_commit"] == head
    assert summary["git_dirty"] is True
    assert summary["python"] == platform.python_version()
    assert summary["executable"] == sys.executable


def test_clean_repository_has_no_diff(repo: Path) -> None:
    with nf.start_run() as run:
        pass
    tags = nf.get_run(run.run_id).tags
    assert tags["ninefold.git.commit"] == _git(repo, "rev-parse", "HEAD")
    assert tags["ninefold.git.dirty"] == "false"
    paths = [e.path for e in nf.list_artifacts(run.run_id, "environment")]
    assert paths == ["environment/environment.json", "environment/requirements.txt"]


def test_outside_a_repository_there_are_no_git_tags(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(project.parent))
    environment._capture.cache_clear()
    with nf.start_run() as run:
        pass
    tags = nf.get_run(run.run_id).tags
    assert not any(k.startswith("ninefold.git.") for k in tags)
    assert tags["ninefold.python"] == platform.python_version()
    assert "environment/requirements.txt" in [e.path for e in nf.list_artifacts(run.run_id)]


def test_capture_environment_false_records_nothing(repo: Path) -> None:
    with nf.start_run(capture_environment=False) as run:
        pass
    assert not any(k.startswith("ninefold.") for k in nf.get_run(run.run_id).tags)
    assert nf.list_artifacts(run.run_id) == []
