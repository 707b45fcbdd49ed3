"""``ninefold data compare`` as a user runs it: files in, verdict out, exit code for CI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
from click.testing import Result
from typer.testing import CliRunner

from ninefold.cli.main import app


def run_cli(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert not isinstance(result.exception, Exception), result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _write(path: Path, n: int, seed: int, shift: float = 0.0) -> Path:
    rng = np.random.default_rng(seed)
    pl.DataFrame(
        {
            "amount": rng.normal(50 + 10 * shift, 10, n),
            "plan": rng.choice(["basic", "pro", "team"], size=n, p=[0.6, 0.3, 0.1]),
        }
    ).write_parquet(path)
    return path


def test_compare_exits_zero_without_drift_and_one_with_it(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.parquet", 5_000, 1)
    same = _write(tmp_path / "same.parquet", 5_000, 2)
    moved = _write(tmp_path / "moved.parquet", 5_000, 3, shift=0.5)
    ok = run_cli("data", "compare", str(ref), str(same))
    assert "No drift detected in 2 tested columns." in ok.stdout
    bad = run_cli("data", "compare", str(ref), str(moved), code=1)
    assert "Drift detected in 1 of 2 columns: amount." in bad.stdout
    assert "Distribution changed" in bad.stdout


def test_compare_against_a_saved_profile_with_json_and_html(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.parquet", 5_000, 4)
    moved = _write(tmp_path / "moved.parquet", 5_000, 5, shift=0.5)
    profile = tmp_path / "reference-profile.json"
    run_cli("data", "profile", str(ref), "--out", str(profile))
    html = tmp_path / "drift.html"
    result = run_cli(
        "data", "compare", str(profile), str(moved), "--json", "--html", str(html), code=1
    )
    data = json.loads(result.stdout)
    assert data["drift_detected"] is True
    assert data["drifted_columns"] == ["amount"]
    assert data["reference_rows"] == 5_000
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_compare_reports_a_missing_column_and_fails(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.parquet", 2_000, 6)
    cur = tmp_path / "cur.parquet"
    pl.read_parquet(_write(cur, 2_000, 7)).rename({"plan": "tier"}).write_parquet(cur)
    result = run_cli("data", "compare", str(ref), str(cur), code=1)
    assert "Missing from the current data: plan." in result.stdout
    assert "renamed to 'tier'" in result.stdout


def test_compare_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.parquet", 100, 8)
    result = run_cli("data", "compare", str(ref), str(tmp_path / "nope.parquet"), code=1)
    assert "does not exist" in result.stderr
    result = run_cli("data", "compare", str(ref), str(ref), "--alpha", "3", code=1)
    assert "alpha must be between 0 and 1" in result.stderr
