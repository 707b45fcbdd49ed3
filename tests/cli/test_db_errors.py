"""``ninefold db``, the error boundary, ``--help`` and ``--version``."""

from __future__ import annotations

from pathlib import Path

import pytest

import ninefold as nf
from ninefold.store.migrate import HEAD
from ninefold.tracking.client import Client
from tests.cli.conftest import History, Invoke, as_json

GROUPS = ("runs", "experiments", "models", "artifacts", "db")


def test_db_upgrade_creates_then_reports_up_to_date(cli: Invoke, project: Path) -> None:
    db_file = project.resolve() / ".ninefold" / "ninefold.db"
    assert not db_file.exists()
    first = as_json(cli("db", "upgrade", "--json"))
    assert db_file.is_file()
    assert first == {"store_url": f"sqlite:///{db_file}", "from": None, "to": HEAD}
    again = as_json(cli("db", "upgrade", "--json"))
    assert (again["from"], again["to"]) == (HEAD, HEAD)
    assert f"up to date (revision {HEAD})" in cli("db", "upgrade").stdout


def test_db_upgrade_on_each_backend(cli: Invoke, client: Client) -> None:
    result = as_json(cli("db", "upgrade", "--json"))
    assert (result["from"], result["to"]) == (HEAD, HEAD)


def test_db_info(cli: Invoke, history: History, client: Client, project: Path) -> None:
    info = as_json(cli("db", "info", "--json"))
    assert info["project_root"] == str(project.resolve())
    assert info["artifact_root"] == str(project.resolve() / ".ninefold" / "artifacts")
    assert info["runs"] == 3
    assert info["models"] == 1
    names = {e["name"] for e in as_json(cli("experiments", "list", "--json"))}
    assert {"sweep", "other"} <= names
    assert info["experiments"] == len(names)
    assert info["store_url"].split(":", 1)[0] in ("sqlite", "postgresql+psycopg")
    assert "runs: 3" in cli("db", "info").stdout


def test_db_info_hides_the_password(
    cli: Invoke, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = client.store_url
    if not url.startswith("postgresql"):
        pytest.skip("needs a PostgreSQL store")
    user, rest = url.split("://", 1)[1].split("@", 1)
    # The test server trusts local connections, so any password is accepted.
    monkeypatch.setenv("NINEFOLD_STORE_URL", f"postgresql://{user}:s3cret-pw@{rest}")
    for args in (("db", "info", "--json"), ("db", "upgrade", "--json")):
        result = cli(*args)
        assert "s3cret-pw" not in result.stdout
        assert "***" in as_json(result)["store_url"]


def test_unknown_run_is_a_one_line_error_without_traceback(cli: Invoke, project: Path) -> None:
    result = cli("runs", "show", "0123456789abcdef", code=1)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error (RunNotFound): ")
    assert "0123456789abcdef" in lines[0]
    assert "ninefold runs list" in lines[0]  # the fix
    assert "Traceback" not in result.stderr


def test_malformed_filter_points_at_the_problem(cli: Invoke, project: Path) -> None:
    result = cli("runs", "list", "--filter", "metrics.acc >> 0.5", code=1)
    assert "Error (FilterSyntaxError)" in result.stderr
    assert "metrics.acc >> 0.5" in result.stderr
    caret_line = next(line for line in result.stderr.splitlines() if line.strip() == "^")
    echo_line = next(line for line in result.stderr.splitlines() if "metrics.acc >>" in line)
    # The caret sits under the second '>'.
    assert echo_line[caret_line.index("^")] == ">"
    assert "Traceback" not in result.stderr


def test_bad_order_by_is_an_error(cli: Invoke, project: Path) -> None:
    result = cli("runs", "list", "--order-by", "metrics.acc sideways", code=1)
    assert "Error (" in result.stderr
    assert "sideways" in result.stderr


def test_bad_project_file_is_a_config_error(cli: Invoke, project: Path) -> None:
    (project / "ninefold.toml").write_text("[tracking\n")
    result = cli("runs", "list", code=1)
    assert "Error (ConfigError)" in result.stderr
    assert str(project / "ninefold.toml") in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "list", "--bogus"),
        ("runs", "show"),
        ("runs", "list", "--max", "many"),
        ("no-such-command",),
        ("models", "alias"),
    ],
)
def test_usage_errors_exit_2(cli: Invoke, project: Path, args: tuple[str, ...]) -> None:
    result = cli(*args, code=2)
    assert "Usage:" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_and_version(cli: Invoke) -> None:
    helped = cli("--help").stdout
    for group in GROUPS:
        assert group in helped
    assert cli("--version").stdout.strip() == f"ninefold {nf.__version__}"
    for group in GROUPS:
        assert "Usage:" in cli(group, "--help").stdout
