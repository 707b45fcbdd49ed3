"""The installed ``ninefold`` script, run as a user would, in a real subprocess."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ninefold as nf
from ninefold.tracking.client import get_client
from tests.registry.helpers import ThresholdModel


def _script() -> str:
    beside = Path(sys.executable).with_name("ninefold")
    found = str(beside) if beside.is_file() else shutil.which("ninefold")
    if found is None:
        pytest.fail("the `ninefold` console script is not installed (pip install -e .)")
    return found


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [_script(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_help_and_version(tmp_path: Path) -> None:
    helped = _run(tmp_path, "--help")
    assert helped.returncode == 0, helped.stderr
    for group in ("runs", "experiments", "models", "artifacts", "db"):
        assert group in helped.stdout
    version = _run(tmp_path, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"ninefold {nf.__version__}"


def test_real_process_lists_downloads_and_fails_cleanly(project: Path, tmp_path: Path) -> None:
    # The project's own default store (SQLite in .ninefold/), as a user has it.
    with nf.start_run(experiment="cli", capture_environment=False) as low:
        nf.log_metric("acc", 0.7)
        nf.log_metric("loss", math.nan)
    with nf.start_run(experiment="cli", capture_environment=False) as high:
        nf.log_metric("acc", 0.9)
        mv = nf.log_model(ThresholdModel(2.0), "sub")
    nf.set_alias("sub", "champion", mv.version)

    listed = _run(project, "runs", "list", "--json", "--order-by", "metrics.acc desc")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert [r["run_id"] for r in records] == [high.run_id, low.run_id]
    assert records[1]["metrics.loss"] == "nan"

    out = tmp_path / "download"
    got = _run(project, "artifacts", "get", "models:/sub@champion", "-o", str(out), "--json")
    assert got.returncode == 0, got.stderr
    local = Path(json.loads(got.stdout)["path"])
    assert local == out / "model.pkl"
    assert local.read_bytes() == get_client().artifacts.read_bytes(mv.digest)

    missing = _run(project, "runs", "show", "feedfacefeedface")
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1
    assert missing.stderr.startswith("Error (RunNotFound): ")
    assert "feedfacefeedface" in missing.stderr
    assert "Traceback" not in missing.stderr

    usage = _run(project, "runs", "list", "--bogus")
    assert usage.returncode == 2
    assert "No such option" in usage.stderr
    assert "Traceback" not in usage.stderr
