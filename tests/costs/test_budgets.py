"""Budgets: bad subjects, alerts at thresholds of actual and projected spend, webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from ninefold import costs
from ninefold._ids import new_id, now_ms
from ninefold.costs.budgets import RATE_WINDOW_MS, month_bounds
from ninefold.errors import ExperimentNotFound, InvalidArgument, NotFound
from ninefold.store.costs import CostRecord
from ninefold.tracking.client import Client
from tests.costs.conftest import burn

DAY = 86_400_000
AT = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)  # 10 March, noon


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    """A real HTTP server on loopback that records the JSON it is sent."""
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", handler
    server.shutdown()
    server.server_close()


def _spend(client: Client, experiment: str, start_ms: int, usd: str) -> str:
    """A finished run started at ``start_ms`` whose stored cost is ``usd``."""
    exp = client.store.experiments.get_or_create(experiment)
    run_id = new_id()
    client.store.runs.create(
        run_id=run_id, experiment_id=exp.experiment_id, name="r", parent_run_id=None,
        host="h", pid=1, pid_started=None, user="u", start_ms=start_ms,
    )  # fmt: skip
    micros = int(float(usd) * 1_000_000)
    client.store.costs.save_costs(
        [CostRecord(run_id, "USD", "v", "declared", micros, 0, 0, 0, 0, micros, 0, 0, False, 0)]
    )
    return run_id


def test_budget_on_an_unknown_experiment_or_project_is_refused(client: Client) -> None:
    client.store.experiments.get_or_create("known")
    with pytest.raises(ExperimentNotFound, match=r"Unknown experiment 'nope'.*known"):
        costs.set_budget("experiment", "nope", 10, client=client)
    with pytest.raises(NotFound, match=r"Unknown project 'elsewhere': this store holds project"):
        costs.set_budget("project", "elsewhere", 10, client=client)
    with pytest.raises(InvalidArgument, match="scope must be one of project, experiment"):
        costs.set_budget("team", "known", 10, client=client)
    with pytest.raises(InvalidArgument, match="positive number, got -5"):
        costs.set_budget("experiment", "known", -5, client=client)
    with pytest.raises(InvalidArgument, match=r"such as 500 or 12\.50, got 'lots'"):
        costs.set_budget("experiment", "known", "lots", client=client)
    with pytest.raises(InvalidArgument, match="between 1 and 1000"):
        costs.set_budget("experiment", "known", 5, thresholds=[0, 50], client=client)
    assert costs.list_budgets(client=client) == []


def test_project_budget_uses_the_project_name(client: Client) -> None:
    name = costs.api.cost_settings(client).project
    budget = costs.set_budget("project", name, "12.50", client=client)
    assert budget.amount_micros == 12_500_000
    assert budget.thresholds == (50, 80, 100)
    again = costs.set_budget("project", name, 20, thresholds=[90], client=client)
    assert again.budget_id == budget.budget_id
    assert [(b.amount_micros, b.thresholds) for b in costs.list_budgets(client=client)] == [
        (20_000_000, (90,))
    ]
    costs.delete_budget("project", name, client=client)
    with pytest.raises(NotFound, match="No budget for project"):
        costs.delete_budget("project", name, client=client)


def test_alerts_at_thresholds_once_per_month_and_sent_to_the_webhook(
    client: Client, webhook: tuple[str, type[_Hook]]
) -> None:
    url, hook = webhook
    _spend(client, "train", AT - 5 * DAY, "30")
    _spend(client, "other", AT - 5 * DAY, "500")  # another experiment: not counted
    costs.set_budget("experiment", "train", 100, webhook_url=url, client=client)

    [status] = costs.budget_status(refresh=False, at_ms=AT, client=client)
    start, end, month = month_bounds(AT)
    assert month == "2026-03"
    assert status.actual_micros == 30_000_000
    # 30 USD spent over the last 7 days, and 21.5 days left in March.
    assert status.projected_micros == 30_000_000 + round(30_000_000 * (end - AT) / RATE_WINDOW_MS)
    assert status.projected_percent > 100
    [alert] = status.alerts  # actual 30 % crosses nothing; projected crosses 100 %
    assert (alert.kind, alert.severity, alert.payload["threshold"]) == (
        "budget.projected", "critical", 100,
    )  # fmt: skip
    assert alert.subject == "experiment/train"
    assert "is projected to spend" in alert.message
    assert [m["id"] for m in hook.received] == [alert.id]
    assert hook.received[0]["payload"]["month"] == "2026-03"

    # Checking again raises nothing new.
    assert costs.budget_status(refresh=False, at_ms=AT + 1, client=client)[0].alerts == []
    # Actual spend reaches 85 %: one warning for the 80 % threshold (50 % is implied).
    _spend(client, "train", AT - DAY, "55")
    [status] = costs.budget_status(refresh=False, at_ms=AT + 2, client=client)
    assert [(a.kind, a.payload["threshold"], a.severity) for a in status.alerts] == [
        ("budget.actual", 80, "warning")
    ]
    assert len(hook.received) == 2
    stored = client.store.alerts.list(source="costs", subject="experiment/train")
    assert {a.id for a in stored} == {m["id"] for m in hook.received}
    assert all(a.created_ms >= start for a in stored)


def test_last_month_spend_does_not_count_against_this_month(client: Client) -> None:
    start, _, _ = month_bounds(AT)
    _spend(client, "train", start - DAY, "1000")
    costs.set_budget("experiment", "train", 100, client=client)
    [status] = costs.budget_status(refresh=False, at_ms=start + DAY, client=client)
    assert status.actual_micros == 0
    assert status.projected_micros > 0  # the recent rate still projects spend
    assert [a.kind for a in status.alerts] == ["budget.projected"]


def test_a_failing_webhook_keeps_the_alert_and_reports_the_failure(
    client: Client, webhook: tuple[str, type[_Hook]]
) -> None:
    url, hook = webhook
    hook.status = 500
    _spend(client, "train", AT - DAY, "150")
    costs.set_budget("experiment", "train", 100, webhook_url=url, client=client)
    [status] = costs.budget_status(refresh=False, at_ms=AT, client=client)
    assert [a.payload["threshold"] for a in status.alerts] == [100]
    assert len(status.delivery_errors) == 1
    assert "500" in status.delivery_errors[0]
    assert len(client.store.alerts.list(source="costs")) == 1


def test_budget_checked_at_run_end(cost_client: Client, webhook: tuple[str, type[_Hook]]) -> None:
    import ninefold as nf

    url, hook = webhook
    cost_client.store.experiments.get_or_create("gpu-train")
    costs.set_budget("experiment", "gpu-train", "0.0005", webhook_url=url, client=cost_client)
    big = {"ninefold.resources.cpu": "1000"}  # 1000 cores: 0.1 s costs about 0.9 ms of USD
    with nf.start_run(experiment="gpu-train", tags=big, capture_environment=False):
        burn(0.1)
    alerts = cost_client.store.alerts.list(source="costs", kind="budget.actual")
    assert len(alerts) == 1
    assert alerts[0].payload["threshold"] == 100
    assert alerts[0].created_ms <= now_ms()
    assert [m["kind"] for m in hook.received] == ["budget.actual"]
