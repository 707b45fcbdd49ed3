"""Monthly budgets and their alerts.

A budget caps the month's spend of the project or of one experiment. When a
budget is checked (at the end of every run, and by ``ninefold cost budget
check``), the month's actual spend (runs started this UTC month) and its
projected month-end spend are compared with each threshold (50, 80 and 100 %
by default). Each crossing writes one alert record (source ``costs``, kind
``budget.actual`` or ``budget.projected``), at most once per budget, month,
basis and threshold, and POSTs it as JSON to the budget's webhook, or to
``[costs] webhook_url``, when one is set. When one check crosses several
thresholds at once, only the highest is reported; a projection is reported
only for a threshold above the one actual spend has reached.

The projection adds, to the actual spend, the spend rate of the last seven
days times the time left in the month.
"""

from __future__ import annotations

import json
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ninefold._ids import new_id, now_ms
from ninefold.costs.money import fmt_money, to_micros
from ninefold.costs.settings import CostSettings
from ninefold.errors import ExperimentNotFound, InvalidArgument, NotFound
from ninefold.store import MetadataStore
from ninefold.store.costs import Alert, Budget

SCOPES = ("project", "experiment")
DEFAULT_THRESHOLDS = (50, 80, 100)
SOURCE = "costs"
RATE_WINDOW_MS = 7 * 24 * 3600 * 1000
WEBHOOK_TIMEOUT_S = 5.0


def month_bounds(ms: int) -> tuple[int, int, str]:
    """Start and end (UTC ms) of the month holding ``ms``, and its label ``YYYY-MM``."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = monthrange(start.year, start.month)[1]
    start_ms = int(start.timestamp() * 1000)
    return start_ms, start_ms + days * 86_400_000, start.strftime("%Y-%m")


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidArgument(f"Budget amount must be a number, got {value!r}.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidArgument(
            f"Budget amount must be a number such as 500 or 12.50, got {value!r}."
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidArgument(f"Budget amount must be a positive number, got {value!r}.")
    return amount


def _thresholds(values: Any) -> tuple[int, ...]:
    try:
        out = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"Budget thresholds must be whole percentages such as 50, 80, 100; got {values!r}."
        ) from None
    if not out or out[0] <= 0 or out[-1] > 1000:
        raise InvalidArgument(
            f"Budget thresholds must be percentages between 1 and 1000, got {values!r}."
        )
    return tuple(out)


def check_subject(store: MetadataStore, settings: CostSettings, scope: str, subject: str) -> None:
    """Raise unless ``subject`` names this project or an existing experiment."""
    if scope not in SCOPES:
        raise InvalidArgument(f"Budget scope must be one of {', '.join(SCOPES)}, got {scope!r}.")
    if scope == "project":
        if subject != settings.project:
            raise NotFound(
                f"Unknown project {subject!r}: this store holds project {settings.project!r}. "
                "Use that name (it comes from [project] name in ninefold.toml, else the "
                "project folder's name)."
            )
        return
    if store.experiments.find(subject) is None:
        known = ", ".join(sorted(e.name for e in store.experiments.list())[:20]) or "none yet"
        raise ExperimentNotFound(
            f"Unknown experiment {subject!r}; budgets need an existing experiment "
            f"(known: {known}). Check the name with: ninefold experiments list"
        )


def set_budget(
    store: MetadataStore,
    settings: CostSettings,
    currency: str,
    scope: str,
    subject: str,
    monthly: Any,
    *,
    thresholds: Any = DEFAULT_THRESHOLDS,
    webhook_url: str | None = None,
) -> Budget:
    """Create or replace the monthly budget of the project or one experiment.

    Raises:
        NotFound: the project name is not this project's.
        ExperimentNotFound: no experiment has that name.
        InvalidArgument: a bad scope, amount, threshold or webhook URL.
    """
    check_subject(store, settings, scope, subject)
    amount = _amount(monthly)
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise InvalidArgument(
            f"Webhook URL must start with http:// or https://, got {webhook_url!r}."
        )
    budget = Budget(
        budget_id=new_id(),
        scope=scope,
        subject=subject,
        amount_micros=to_micros(amount),
        currency=currency,
        thresholds=_thresholds(thresholds),
        webhook_url=webhook_url,
        created_ms=now_ms(),
    )
    return store.costs.save_budget(budget)


@dataclass(frozen=True)
class BudgetStatus:
    """A budget against this month's spend.

    Attributes:
        budget: the budget.
        month: ``YYYY-MM``.
        actual_micros: spend of runs started this month.
        projected_micros: projected spend at the month's end.
        alerts: alerts raised by this check (earlier ones are not repeated).
        delivery_errors: webhook deliveries that failed.
    """

    budget: Budget
    month: str
    actual_micros: int
    projected_micros: int
    alerts: list[Alert] = field(default_factory=list)
    delivery_errors: list[str] = field(default_factory=list)

    @property
    def actual_percent(self) -> float:
        """Actual spend as a percentage of the budget."""
        return 100.0 * self.actual_micros / self.budget.amount_micros

    @property
    def projected_percent(self) -> float:
        """Projected spend as a percentage of the budget."""
        return 100.0 * self.projected_micros / self.budget.amount_micros

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "budget": self.budget.to_dict(),
            "month": self.month,
            "actual_micros": self.actual_micros,
            "projected_micros": self.projected_micros,
            "actual_percent": round(self.actual_percent, 2),
            "projected_percent": round(self.projected_percent, 2),
            "alerts": [a.to_dict() for a in self.alerts],
            "delivery_errors": list(self.delivery_errors),
        }


def _crossed(value: int, budget: Budget) -> int:
    """The highest threshold (percent) that ``value`` reaches, or 0."""
    reached = [t for t in budget.thresholds if value * 100 >= budget.amount_micros * t]
    return max(reached, default=0)


def _severity(threshold: int) -> str:
    if threshold >= 100:
        return "critical"
    return "warning" if threshold >= 80 else "info"


def post_json(url: str, payload: dict[str, Any], timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
    """POST ``payload`` as JSON; raises :class:`OSError` (or ``URLError``) on failure."""
    import urllib.request

    body = json.dumps(payload, sort_keys=True, default=str).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        if response.status >= 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def check_budgets(
    store: MetadataStore, settings: CostSettings, *, at_ms: int | None = None
) -> list[BudgetStatus]:
    """Compare every budget with this month's stored run costs and raise due alerts.

    Args:
        store: the metadata store (costs must be up to date: see ``refresh_costs``).
        settings: cost settings (the default webhook).
        at_ms: the time to check at (now by default).
    """
    now = now_ms() if at_ms is None else at_ms
    start, end, month = month_bounds(now)
    statuses = []
    for budget in store.costs.list_budgets():
        experiment = budget.subject if budget.scope == "experiment" else None
        actual = store.costs.total_micros(start, now + 1, experiment)
        recent = store.costs.total_micros(now - RATE_WINDOW_MS, now + 1, experiment)
        projected = actual + round(recent * (end - now) / RATE_WINDOW_MS)
        status = BudgetStatus(budget, month, actual, projected)
        subject = f"{budget.scope}/{budget.subject}"
        earlier = store.alerts.list(source=SOURCE, subject=subject, since_ms=start)
        alerted = {"budget.actual": 0, "budget.projected": 0}
        for a in earlier:
            if a.payload.get("budget_id") == budget.budget_id and a.payload.get("month") == month:
                alerted[a.kind] = max(alerted.get(a.kind, 0), int(a.payload.get("threshold", 0)))
        # One alert per basis, for the highest threshold crossed and not yet reported;
        # a projection only matters above what was actually spent.
        actual_level = _crossed(actual, budget)
        for basis, value, floor in (
            ("actual", actual, 0),
            ("projected", projected, actual_level),
        ):
            kind = f"budget.{basis}"
            threshold = _crossed(value, budget)
            if threshold <= max(alerted[kind], floor):
                continue
            verb = "has spent" if basis == "actual" else "is projected to spend"
            message = (
                f"{budget.scope.capitalize()} {budget.subject!r} {verb} "
                f"{fmt_money(value, budget.currency)} in {month}, "
                f"{100 * value / budget.amount_micros:.0f} % of its "
                f"{fmt_money(budget.amount_micros, budget.currency)} budget "
                f"(threshold {threshold} %)."
            )
            alert = Alert(
                id=new_id(),
                source=SOURCE,
                kind=kind,
                severity=_severity(threshold),
                subject=subject,
                message=message,
                created_ms=now,
                payload={
                    "budget_id": budget.budget_id,
                    "month": month,
                    "basis": basis,
                    "threshold": threshold,
                    "spend_micros": value,
                    "actual_micros": actual,
                    "projected_micros": projected,
                    "budget_micros": budget.amount_micros,
                    "currency": budget.currency,
                },
            )
            store.alerts.add(alert)
            status.alerts.append(alert)
        url = budget.webhook_url or settings.webhook_url
        if url and status.alerts:
            for alert in status.alerts:
                try:
                    post_json(url, alert.to_dict())
                except (OSError, ValueError) as exc:
                    status.delivery_errors.append(f"alert {alert.id} to {url}: {exc}")
        statuses.append(status)
    return statuses
