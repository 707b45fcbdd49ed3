"""``ninefold cost ...`` and ``ninefold gc`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

import ninefold as nf
from ninefold.cli.main import app
from ninefold.tracking.client import Client, get_client
from tests.costs.conftest import burn


def run_cli(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert not isinstance(result.exception, Exception), result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def cli_client(fast_project: Path) -> Client:
    """The project's own client (SQLite in .ninefold/): the CLI reads the same settings."""
    return get_client()


@pytest.fixture
def runs(cli_client: Client) -> list[str]:
    ids = []
    for exp in ("alpha", "beta", "beta"):
        with nf.start_run(experiment=exp, capture_environment=False) as run:
            burn(0.02)
            nf.log_text(f"{exp} notes", "notes.txt")
            ids.append(run.run_id)
    return ids


def test_report_json_and_table(runs: list[str], tmp_path: Path) -> None:
    data = as_json(run_cli("cost", "report", "--by", "experiment", "--json"))
    assert data["runs"] == 3
    assert {g["key"]: g["runs"] for g in data["groups"]} == {"alpha": 1, "beta": 2}
    assert sum(g["total_micros"] for g in data["groups"]) == data["total_micros"]
    text = run_cli("cost", "report", "--by", "run").stdout
    assert "Spend by run in USD" in text
    assert "of which idle" in text
    html = tmp_path / "out" / "spend.html"
    run_cli("cost", "report", "--html", str(html))
    page = html.read_text()
    assert "Spend per day, by resource" in page
    assert "alpha" in page
    assert "plotly" in page.lower()


def test_run_and_estimate(runs: list[str]) -> None:
    data = as_json(run_cli("cost", "run", runs[0], "--json"))
    assert data["run_id"] == runs[0]
    assert data["allocation"] == "machine"
    assert data["total_micros"] > 0
    est = as_json(run_cli("cost", "estimate", "beta", "--json"))
    assert est["runs"] == 2
    assert "should cost about" in run_cli("cost", "estimate", "beta").stdout
    missing = run_cli("cost", "run", "f" * 32, code=1)
    assert "RunNotFound" in missing.stderr


def test_budget_commands(runs: list[str]) -> None:
    bad = run_cli("cost", "budget", "set", "experiment", "gamma", "10", code=1)
    assert "Unknown experiment 'gamma'" in bad.stderr
    bad = run_cli("cost", "budget", "set", "project", "not-this-one", "10", code=1)
    assert "Unknown project 'not-this-one'" in bad.stderr
    made = as_json(run_cli("cost", "budget", "set", "experiment", "beta", "0.000001", "--json"))
    assert made["amount_micros"] == 1
    listed = as_json(run_cli("cost", "budget", "--json"))
    assert [b["subject"] for b in listed] == ["beta"]
    checked = as_json(run_cli("cost", "budget", "check", "--json"))
    assert checked[0]["actual_percent"] >= 100
    assert [a["kind"] for a in checked[0]["alerts"]] == ["budget.actual"]
    assert "No budget" not in run_cli("cost", "budget", "delete", "experiment", "beta").stdout
    assert as_json(run_cli("cost", "budget", "--json")) == []


def test_prices_command_and_a_bad_file(runs: list[str], tmp_path: Path) -> None:
    data = as_json(run_cli("cost", "prices", "--json"))
    assert data["currency"] == "USD"
    assert len(data["version"]) == 12
    assert {r["resource"] for r in data["rates"]} >= {"cpu", "memory", "gpu", "storage", "egress"}
    assert any("gpu/A100" in w for w in data["warnings"])
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[rate]]\nresource = "cpu"\nprice = -2\ncurrency = "USD"\nsource = "s"\n'
        "date = 2026-01-01\n"
    )
    out = run_cli("cost", "prices", "--file", str(bad), code=1)
    assert "'unit' is missing" in out.stderr
    assert "must not be negative" in out.stderr


def test_storage_and_gc_commands(runs: list[str], cli_client: Client) -> None:
    orphan = cli_client.artifacts.put_bytes(b"orphan bytes")
    data = as_json(run_cli("cost", "storage", "--json"))
    assert data["unreferenced_blobs"] == 1
    assert set(data["by_run"]) == set(runs)
    dry = as_json(run_cli("gc", "--min-age", "0", "--json"))
    assert dry["dry_run"]
    assert dry["candidates"] == [orphan.digest]
    assert cli_client.artifacts.exists(orphan.digest)
    assert "would be removed" in run_cli("gc", "--min-age", "0").stdout
    done = as_json(run_cli("gc", "--yes", "--min-age", "0", "--json"))
    assert done["deleted"] == [orphan.digest]
    assert not cli_client.artifacts.exists(orphan.digest)
    assert "every blob is referenced" in run_cli("gc", "--yes", "--min-age", "0").stdout
