"""``ninefold data ...`` through the real command line app (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

import ninefold as nf
from ninefold.cli.main import app
from ninefold.data import DatasetProfile, Schema
from ninefold.tracking.client import Client
from tests.data.helpers import mixed_frame


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert not isinstance(result.exception, Exception), result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    ref = mixed_frame(800)
    paths = {
        "train": tmp_path / "train.parquet",
        "csv": tmp_path / "train.csv",
        "bad": tmp_path / "bad.parquet",
    }
    ref.write_parquet(paths["train"])
    ref.drop("signup").write_csv(paths["csv"])
    ref.with_columns(pl.lit("enterprise").alias("plan")).write_parquet(paths["bad"])
    return paths


def test_profile_prints_a_table_and_writes_json_and_html(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out, html = tmp_path / "p.json", tmp_path / "p.html"
    result = run("data", "profile", str(files["train"]), "--out", str(out), "--html", str(html))
    assert "800 rows x 7 columns" in result.stdout
    assert "customer_id" in result.stdout
    assert DatasetProfile.load(out).num_rows == 800
    assert html.read_text(encoding="utf-8").count("Plotly.newPlot") == 7
    data = json.loads(run("data", "profile", str(files["csv"]), "--json").stdout)
    assert data["num_rows"] == 800
    assert [c["name"] for c in data["columns"]][:2] == ["customer_id", "age"]


def test_infer_then_validate_gates_ci(files: dict[str, Path], tmp_path: Path) -> None:
    schema_path = tmp_path / "schema.yaml"
    run("data", "infer", str(files["train"]), "--out", str(schema_path))
    assert Schema.load(schema_path).dataset.keys == ["customer_id"]
    printed = run("data", "infer", str(files["train"])).stdout
    assert Schema.from_yaml(printed) == Schema.load(schema_path)
    ok = run("data", "validate", str(files["train"]), "--schema", str(schema_path))
    assert "Validation passed" in ok.stdout
    bad = run("data", "validate", str(files["bad"]), "-s", str(schema_path), code=1)
    assert "new_category" in bad.stdout
    assert "'enterprise'" in bad.stdout
    report = json.loads(
        run("data", "validate", str(files["bad"]), "-s", str(schema_path), "--json", code=1).stdout
    )
    assert report["ok"] is False
    assert {a["kind"] for a in report["anomalies"]} >= {"new_category"}


def test_report_command_writes_profile_or_validation_html(
    files: dict[str, Path], tmp_path: Path
) -> None:
    profile_json = tmp_path / "p.json"
    run("data", "profile", str(files["train"]), "--out", str(profile_json))
    run("data", "report", str(profile_json), "--html", str(tmp_path / "r.html"))
    assert "Data profile" in (tmp_path / "r.html").read_text(encoding="utf-8")
    schema_path = tmp_path / "s.yaml"
    run("data", "infer", str(profile_json), "-o", str(schema_path))
    result = run(
        "data",
        "report",
        str(files["bad"]),
        "--schema",
        str(schema_path),
        "-o",
        str(tmp_path / "v.html"),
    )
    assert "FAILED" in result.stdout
    assert "new_category" in (tmp_path / "v.html").read_text(encoding="utf-8")


def test_bad_input_is_a_clean_error(files: dict[str, Path], tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("city\nZürich\n".encode("latin-1"))
    result = run("data", "profile", str(latin), code=1)
    assert "DataError" in result.stderr
    assert "--encoding" in result.stderr
    assert "Zürich" in run("data", "profile", str(latin), "--encoding", "latin-1").stdout
    typo = tmp_path / "typo.yaml"
    typo.write_text("columns:\n  age: {type: integer, rnage: {min: 0}}\n")
    result = run("data", "validate", str(files["train"]), "-s", str(typo), code=1)
    assert "Unknown key 'rnage'" in result.stderr
    assert "Did you mean 'range'?" in result.stderr


def test_versions_lists_logged_datasets(client: Client, files: dict[str, Path]) -> None:
    nf.log_dataset(files["train"], name="train")
    nf.log_dataset(mixed_frame(10), name="train")
    listing = run("data", "versions").stdout
    assert "train" in listing
    assert "v2" in listing
    versions = json.loads(run("data", "versions", "train", "--json").stdout)
    assert [v["uri"] for v in versions] == ["datasets:/train@2", "datasets:/train@1"]
    assert versions[1]["source"] == str(files["train"])
    stored = run("data", "profile", "datasets:/train@1", "--json").stdout
    assert json.loads(stored)["num_rows"] == 800
