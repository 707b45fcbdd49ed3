"""``reproduce``: a pipeline run re-run from its recorded commit, diff, params and seed.

Each test builds a real git repository in the project folder with a small
pipeline package under ``src/``, commits it, leaves an uncommitted change that
affects the results, runs the pipeline in this process and reproduces it from
a worktree in a child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ninefold as nf
from ninefold.cli.main import app
from ninefold.errors import ReproduceError
from ninefold.pipelines.reproduce import (
    FILE_TAG,
    PARAMS_TAG,
    REPRODUCE_TAG,
    SOURCE_TAG,
    import_base,
    reproduce,
)
from ninefold.pipelines.seeds import derive_seed
from ninefold.tracking import environment
from ninefold.tracking.client import Client

from .conftest import running_runs

HELPERS = "SCALE = {scale}\n"

FLOWS = """
import os
from pathlib import Path

import numpy as np

import ninefold as nf
from {pkg}.helpers import SCALE


@nf.step
def sample(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(x) * SCALE for x in rng.normal(size=n)]


@nf.step
def total(xs: list[float]) -> float:
    nf.log_metric("total", sum(xs))
    return sum(xs)


@nf.step
def jitter(xs: list[float]) -> list[float]:
    # Not seeded: differs at every run.
    return [x + int.from_bytes(os.urandom(4), "big") for x in xs]


@nf.pipeline
def steady(n: int = 5):
    return total(sample(n))


@nf.step
def shift(xs: list[float]) -> list[float]:
    # Reads a file next to the module: untracked, so missing from the worktree.
    offset = float(Path(__file__).with_name("offset.txt").read_text())
    return [x + offset for x in xs]


@nf.pipeline
def noisy(n: int = 5):
    return total(jitter(sample(n)))


@nf.pipeline
def shifted(n: int = 5):
    return total(shift(sample(n)))


@nf.step(side_effects=True)
def publish(value: float) -> int:
    # Appends to a ledger outside the store: running it twice would publish twice.
    ledger = Path(os.environ["REPRO_LEDGER"])
    with ledger.open("a") as out:
        print(value, file=out)
    return len(ledger.read_text().splitlines())


@nf.pipeline
def published(n: int = 5):
    return publish(total(sample(n)))


@nf.pipeline
def published_noisy(n: int = 5):
    return publish(total(jitter(sample(n))))


@nf.step(side_effects=True)
def register_model(xs: list[float]) -> int:
    from sklearn.linear_model import LogisticRegression

    X = np.array(xs).reshape(-1, 1)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    return nf.log_model(LogisticRegression().fit(X, y), "repro-model").version


@nf.pipeline
def modelled(n: int = 6):
    return register_model(sample(n))
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Repo:
    root: Path
    pkg: str
    tmp: Path  # the temporary folder reproduce creates its worktree and files in

    @property
    def helpers(self) -> Path:
        return self.root / "src" / self.pkg / "helpers.py"

    def module(self) -> Any:
        import importlib

        return importlib.import_module(f"{self.pkg}.flows")

    def worktrees(self) -> list[str]:
        return [
            line
            for line in _git(self.root, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")
        ]


def _git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(var, value)
    for var in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def repo(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    """The project as a git repository with a committed pipeline package and a dirty change."""
    _git_env(monkeypatch)
    pkg = f"repro_{uuid.uuid4().hex[:10]}"
    folder = project / "src" / pkg
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "helpers.py").write_text(HELPERS.format(scale=2))
    (folder / "flows.py").write_text(textwrap.dedent(FLOWS.format(pkg=pkg)))
    (project / ".gitignore").write_text(".ninefold/\n__pycache__/\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "pipeline")
    # The uncommitted change: the reproduction must use it, not the committed value.
    (folder / "helpers.py").write_text(HELPERS.format(scale=3))
    monkeypatch.syspath_prepend(str(project / "src"))
    tmp = project.parent / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    # As an editable install would: child processes find the live package too.
    monkeypatch.setenv("PYTHONPATH", str(project / "src"))
    environment._capture.cache_clear()
    yield Repo(project, pkg, tmp)
    environment._capture.cache_clear()
    for name in [m for m in sys.modules if m == pkg or m.startswith(f"{pkg}.")]:
        del sys.modules[name]


def _value(client: Client, run_id: str, node: str) -> Any:
    step = next(s for s in client.store.pipelines.steps_of(run_id) if s.node == node)
    edge = next(e for e in step.edges if e.direction == "output")
    return json.loads(client.artifacts.read_bytes(edge.digest))


def _expected_total(scale: int) -> float:
    import numpy as np

    rng = np.random.default_rng(derive_seed(0, "sample"))
    return sum(float(x) * scale for x in rng.normal(size=5))


def test_a_seeded_run_reproduces_bit_for_bit_with_its_uncommitted_change(
    repo: Repo, client: Client
) -> None:
    original = repo.module().steady.run({"n": 5})
    tags = client.get_run(original.run_id).tags
    assert tags[SOURCE_TAG] == f"{repo.pkg}.flows:steady"
    assert tags[FILE_TAG] == f"src/{repo.pkg}/flows.py"
    assert tags[PARAMS_TAG] == '{"n":5}'
    # Edited again after the run: the reproduction must import the worktree, not this tree.
    repo.helpers.write_text(HELPERS.format(scale=5))

    report = reproduce(original.run_id, client=client)

    assert report.identical, report.to_dict()
    assert report.first_divergence is None
    assert report.diff_applied
    assert [s.node for s in report.steps] == ["sample", "total"]
    assert all(o.identical for s in report.steps for o in s.outputs)
    # The worktree ran the recorded dirty helpers (SCALE = 3): neither the committed
    # ones (SCALE = 2) nor the live tree's (SCALE = 5).
    new_total = _value(client, report.new_run_id, "total")
    assert new_total == pytest.approx(_expected_total(3))
    assert new_total not in (pytest.approx(_expected_total(2)), pytest.approx(_expected_total(5)))
    new_run = client.get_run(report.new_run_id)
    assert new_run.tags[REPRODUCE_TAG] == original.run_id
    assert new_run.tags["ninefold.git.commit"] == tags["ninefold.git.commit"]
    assert new_run.tags["ninefold.pipeline.cache"] == "false"
    assert report.warnings == []
    assert repo.worktrees() == [f"worktree {repo.root}"]
    assert list(repo.tmp.iterdir()) == []
    assert running_runs(client) == []


def test_a_nondeterministic_step_is_named_as_the_first_divergence(
    repo: Repo, nf_client: Client
) -> None:
    original = repo.module().noisy.run()
    report = reproduce(original.run_id)

    assert not report.identical
    assert report.first_divergence == "jitter"
    assert report.diverged == ["jitter", "total"]
    rows = {s.node: s for s in report.steps}
    assert rows["sample"].identical
    assert rows["jitter"].inputs_identical  # where the divergence starts
    assert not rows["total"].inputs_identical  # downstream of it
    (delta,) = rows["total"].metrics
    assert delta.key == "total"
    assert delta.original == client_metric(nf_client, rows["total"].original_run_id, "total")
    assert delta.new == client_metric(nf_client, rows["total"].new_run_id, "total")
    assert delta.delta == pytest.approx(delta.new - delta.original)
    assert not delta.close
    # The small JSON output that differs is shown by value.
    (out,) = rows["total"].outputs
    assert out.original_value == pytest.approx(delta.original)
    assert out.new_value == pytest.approx(delta.new)
    assert report.to_dict()["diverged"] == ["jitter", "total"]
    assert running_runs(nf_client) == []


def client_metric(client: Client, run_id: str | None, key: str) -> float:
    assert run_id is not None
    return client.get_run(run_id).metrics[key]


def test_a_commit_missing_from_the_repository_is_a_clear_error(
    repo: Repo, nf_client: Client, tmp_path: Path
) -> None:
    original = repo.module().steady.run()
    commit = nf_client.get_run(original.run_id).tags["ninefold.git.commit"]
    other = tmp_path / "other-clone"
    other.mkdir()
    _git(other, "init", "-q", "-b", "main")
    _git(other, "commit", "-q", "--allow-empty", "-m", "unrelated")
    before = len(nf_client.store.pipelines.pipeline_runs(None, None))

    with pytest.raises(ReproduceError) as err:
        reproduce(original.run_id, repo=other)

    message = str(err.value)
    assert original.run_id in message
    assert commit in message
    assert "git fetch" in message
    assert len(nf_client.store.pipelines.pipeline_runs(None, None)) == before
    assert running_runs(nf_client) == []


def test_a_run_that_is_not_a_pipeline_run_is_a_clear_error(repo: Repo, nf_client: Client) -> None:
    with nf.start_run(name="plain") as plain:
        pass
    with pytest.raises(ReproduceError, match=rf"Run {plain.run_id} \('plain'\) is not a pipeline"):
        reproduce(plain.run_id)

    original = repo.module().steady.run()
    step_run = original.step("total").run_id
    with pytest.raises(ReproduceError, match=rf"step 'total' of pipeline run {original.run_id}"):
        reproduce(step_run)
    assert running_runs(nf_client) == []


def test_a_pipeline_that_cannot_be_imported_from_the_worktree_records_nothing(
    repo: Repo, nf_client: Client
) -> None:
    original = repo.module().steady.run()
    nf_client.set_tags(original.run_id, {SOURCE_TAG: f"{repo.pkg}.flows:renamed"})
    before = len(nf_client.store.pipelines.pipeline_runs(None, None))

    with pytest.raises(ReproduceError) as err:
        reproduce(original.run_id)

    message = str(err.value)
    assert original.run_id in message
    assert f"{repo.pkg}.flows:renamed" in message
    assert len(nf_client.store.pipelines.pipeline_runs(None, None)) == before
    assert repo.worktrees() == [f"worktree {repo.root}"]
    assert list(repo.tmp.iterdir()) == []
    assert running_runs(nf_client) == []


def test_a_pipeline_in_an_untracked_file_cannot_be_reproduced(
    repo: Repo, nf_client: Client
) -> None:
    (repo.root / "src" / repo.pkg / "extra.py").write_text(
        "import ninefold as nf\n"
        f"from {repo.pkg}.flows import sample, total\n\n"
        "@nf.pipeline\ndef extra():\n    return total(sample(3))\n"
    )
    import importlib

    run = importlib.import_module(f"{repo.pkg}.extra").extra.run()
    with pytest.raises(ReproduceError, match=rf"Run {run.run_id}: the pipeline file .*extra.py"):
        reproduce(run.run_id)
    assert repo.worktrees() == [f"worktree {repo.root}"]
    assert running_runs(nf_client) == []


def test_a_step_that_fails_in_the_reproduction_is_reported_and_recorded(
    repo: Repo, nf_client: Client
) -> None:
    (repo.root / "src" / repo.pkg / "offset.txt").write_text("10\n")
    original = repo.module().shifted.run()

    report = reproduce(original.run_id)

    assert report.first_divergence == "shift"
    assert report.new_status == "failed"
    assert report.error is not None
    assert "offset.txt" in report.error
    rows = {s.node: s for s in report.steps}
    assert rows["sample"].identical
    assert (rows["shift"].original_status, rows["shift"].new_status) == ("finished", "failed")
    assert [(o.original_digest is not None, o.new_digest) for o in rows["shift"].outputs] == [
        (True, None)
    ]
    assert rows["total"].new_run_id is None  # never started: reported from the original
    assert any(f"src/{repo.pkg}/offset.txt" in w for w in report.warnings)
    assert nf_client.get_run(report.new_run_id).tags[REPRODUCE_TAG] == original.run_id
    assert running_runs(nf_client) == []


def test_a_step_with_side_effects_reuses_its_outputs_instead_of_acting_again(
    repo: Repo, nf_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = repo.tmp.parent / "ledger.txt"
    monkeypatch.setenv("REPRO_LEDGER", str(ledger))
    original = repo.module().published.run()
    assert ledger.read_text().splitlines() == [str(_expected_total(3))]

    report = reproduce(original.run_id)

    assert report.identical, report.to_dict()
    rows = {s.node: s for s in report.steps}
    assert rows["publish"].identical
    assert ledger.read_text().splitlines() == [str(_expected_total(3))]  # published once
    assert running_runs(nf_client) == []


def test_a_step_with_side_effects_and_new_inputs_is_not_run_again(
    repo: Repo, nf_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = repo.tmp.parent / "ledger.txt"
    monkeypatch.setenv("REPRO_LEDGER", str(ledger))
    original = repo.module().published_noisy.run()

    report = reproduce(original.run_id)

    assert not report.identical
    assert report.first_divergence == "jitter"
    rows = {s.node: s for s in report.steps}
    assert rows["publish"].new_status == "failed"
    assert report.error is not None
    assert "side effects" in report.error
    assert len(ledger.read_text().splitlines()) == 1  # the original run's line only
    assert running_runs(nf_client) == []


def test_a_model_version_is_reproduced_through_the_pipeline_run_that_made_it(
    repo: Repo, nf_client: Client
) -> None:
    original = repo.module().modelled.run()
    report = reproduce("models:/repro-model/1")
    assert report.run_id == original.run_id
    assert report.identical, report.to_dict()
    # The registering step was not run again: still one version.
    assert [v.version for v in nf_client.store.models.list_versions("repro-model")] == [1]
    assert running_runs(nf_client) == []


def test_the_cli_exits_0_when_identical_and_1_when_diverged(repo: Repo, nf_client: Client) -> None:
    module = repo.module()
    steady, noisy = module.steady.run(), module.noisy.run()
    runner = CliRunner()

    same = runner.invoke(app, ["reproduce", steady.run_id, "--json"])
    assert same.exit_code == 0, same.output
    data = json.loads(same.output)
    assert data["identical"] is True
    assert data["run_id"] == steady.run_id
    assert [s["node"] for s in data["steps"]] == ["sample", "total"]

    differ = runner.invoke(app, ["reproduce", noisy.run_id])
    assert differ.exit_code == 1, differ.output
    assert "Diverged at step jitter" in differ.output
    assert "✗" in differ.output

    missing = runner.invoke(app, ["reproduce", "0" * 26])
    assert missing.exit_code == 1
    assert "0" * 26 in missing.output
    assert running_runs(nf_client) == []


def test_keep_worktree_leaves_the_checkout_with_the_diff_applied(
    repo: Repo, nf_client: Client
) -> None:
    original = repo.module().steady.run()
    report = reproduce(original.run_id, keep_worktree=True)
    assert report.worktree is not None
    kept = Path(report.worktree)
    try:
        assert (kept / "src" / repo.pkg / "helpers.py").read_text() == HELPERS.format(scale=3)
        assert len(repo.worktrees()) == 2
    finally:
        _git(repo.root, "worktree", "remove", "--force", str(kept))
    assert list(repo.tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("module", "file", "base"),
    [
        ("pkg.flows", "src/pkg/flows.py", "src"),
        ("pkg", "src/pkg/__init__.py", "src"),
        ("train", "examples/pipelines/train.py", "examples/pipelines"),
        ("train", "train.py", "."),
        ("flows", "elsewhere/other.py", "elsewhere"),
    ],
)
def test_import_base(module: str, file: str, base: str) -> None:
    assert import_base(module, file) == base


def test_a_run_records_the_projects_lock_files(repo: Repo, nf_client: Client) -> None:
    (repo.root / "uv.lock").write_text("version = 1\n")
    (repo.root / "requirements-dev.txt").write_text("pytest==8.0\n")
    (repo.root / "notes.txt").write_text("not a lock file\n")
    run = repo.module().steady.run()
    locks = nf_client.list_artifacts(run.run_id, "environment/lock")
    assert [e.path for e in locks] == [
        "environment/lock/requirements-dev.txt",
        "environment/lock/uv.lock",
    ]
    assert nf_client.read_text(run.run_id, "environment/lock/uv.lock") == "version = 1\n"
