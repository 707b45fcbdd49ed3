"""``ninefold models challenge``: the champion/challenger gate from the command line."""

from __future__ import annotations

from ninefold.tracking.client import Client
from tests.cli.conftest import Invoke, as_json
from tests.registry.test_gate import _version


def test_cli_challenge(client: Client, cli: Invoke) -> None:
    v1 = _version("cli-model", {"loss": 0.5})
    v2 = _version("cli-model", {"loss": 0.3})
    first = as_json(cli("models", "challenge", "cli-model", str(v1), "--metric", "loss", "--json"))
    assert first["promoted"] is True
    out = cli(
        "models",
        "challenge",
        "cli-model",
        str(v2),
        "--metric",
        "loss",
        "--lower-is-better",
        "--margin",
        "0.1",
    ).stdout
    assert "cli-model v2: promoted" in out
    assert "improvement 0.2" in out
    result = cli("models", "challenge", "cli-model", str(v1), "--metric", "nope", code=1)
    assert "has no metric 'nope'" in result.stdout + result.stderr
