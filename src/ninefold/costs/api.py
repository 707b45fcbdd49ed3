"""Library calls for costs, on the current project's stores (or a given client).

Example:
    >>> from ninefold import costs
    >>> report = costs.cost_report(by="experiment")  # doctest: +SKIP
    >>> costs.set_budget("experiment", "churn", 50)  # doctest: +SKIP
    >>> costs.estimate_run_cost(experiment="churn").median  # doctest: +SKIP
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ninefold.costs.accounting import RunCost, compute_cost
from ninefold.costs.budgets import BudgetStatus, check_budgets
from ninefold.costs.budgets import set_budget as _set_budget
from ninefold.costs.money import from_micros
from ninefold.costs.prices import Instance, PriceTable, Rate, load_prices
from ninefold.costs.rollups import Spend, median_micros, rollup
from ninefold.costs.settings import CostSettings, load_cost_settings
from ninefold.costs.storage import (
    GarbageReport,
    StorageAccounting,
    collect_garbage,
    storage_accounting,
)
from ninefold.costs.tracker import TrackingClient
from ninefold.errors import ExperimentNotFound, InvalidArgument, NotFound, RunNotFound
from ninefold.store.costs import Budget, CostingInputs, CostRecord, ResourceUsage


def _client(client: TrackingClient | None) -> TrackingClient:
    if client is not None:
        return client
    from ninefold.tracking.client import get_client

    return get_client()


def cost_settings(client: TrackingClient | None = None) -> CostSettings:
    """The ``[costs]`` settings of the client's project."""
    c = _client(client)
    return load_cost_settings(c.settings.project_root if c.settings is not None else None)


def price_table(client: TrackingClient | None = None) -> PriceTable:
    """The project's price table: defaults, then its prices file, then ``[costs]`` rows."""
    return load_prices(cost_settings(client))


# -- costing -----------------------------------------------------------------


def cost_of_ended_run(
    inputs: CostingInputs, usage: ResourceUsage, settings: CostSettings
) -> CostRecord:
    """The cost of a run that just ended, from what its tracker read (stores nothing)."""
    if inputs.facts is None:
        raise RunNotFound(f"No run with id {usage.run_id!r}.")
    table = load_prices(settings)
    return compute_cost(inputs.facts, usage, inputs.storage_bytes, table, settings).record


def refresh_costs(client: TrackingClient | None = None) -> list[RunCost]:
    """Recompute and store the cost of every run with the current prices and storage shares.

    Costs are cheap to recompute, and storage shares change when a later run
    reuses a blob, so reports refresh first.
    """
    c = _client(client)
    settings = cost_settings(c)
    table = load_prices(settings)
    usages = c.store.costs.usages()
    shares = storage_accounting(c.store, c.artifacts, scan=False).by_run
    costs = [
        compute_cost(facts, usages.get(facts.run_id), shares.get(facts.run_id, 0), table, settings)
        for facts in c.store.costs.run_facts()
    ]
    c.store.costs.save_costs([cost.record for cost in costs])
    return costs


def run_cost(run_id: str, *, client: TrackingClient | None = None) -> RunCost:
    """The cost of one run, computed now with the current prices and storage shares."""
    c = _client(client)
    facts = c.store.costs.run_facts(run_id)
    if not facts:
        raise RunNotFound(f"No run with id {run_id!r}. List runs with: ninefold runs list")
    settings = cost_settings(c)
    table = load_prices(settings)
    shares = storage_accounting(c.store, c.artifacts, scan=False).by_run
    cost = compute_cost(
        facts[0], c.store.costs.get_usage(run_id), shares.get(run_id, 0), table, settings
    )
    c.store.costs.save_costs([cost.record])
    return cost


def add_egress(run_id: str, nbytes: int, *, client: TrackingClient | None = None) -> None:
    """Record bytes a run sent out of the network (priced at the egress rate)."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise InvalidArgument(f"add_egress needs a whole number of bytes >= 0, got {nbytes!r}.")
    c = _client(client)
    if not c.store.costs.add_egress(run_id, nbytes):
        raise NotFound(
            f"Run {run_id!r} has no resource record (it ran with resources=False or does not "
            "exist); egress can only be added to a sampled run."
        )


# -- reports -----------------------------------------------------------------


def _ms(value: date | datetime | str | int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidArgument(f"{name} must be a date, got {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgument(
                f"{name} must be a date such as 2026-11-01, got {value!r}."
            ) from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


@dataclass(frozen=True)
class CostReport:
    """Spend of the runs started in a window, grouped one way.

    Attributes:
        by: the grouping (see :data:`ninefold.costs.rollups.GROUPINGS`).
        groups: one :class:`Spend` per group, biggest first (days in order).
        total_micros: the sum of the window's run costs, added by the database.
        idle_micros: the part of it that paid for allocated but unused resources.
        currency: the price table's currency.
        price_version: the price table's version.
        runs: runs in the window; ``partial_runs`` of them have a partial cost
            and ``unmeasured_runs`` no resource record at all.
        warnings: stale price rows used, and other caveats.
        storage: the storage accounting, when asked for.
    """

    by: str
    groups: list[Spend]
    total_micros: int
    idle_micros: int
    currency: str
    price_version: str
    runs: int
    partial_runs: int
    unmeasured_runs: int
    warnings: list[str] = field(default_factory=list)
    storage: StorageAccounting | None = None

    @property
    def total(self) -> Decimal:
        """The total as a Decimal in currency units."""
        return from_micros(self.total_micros)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (amounts in micro-units and as decimal strings)."""
        return {
            "by": self.by,
            "currency": self.currency,
            "price_version": self.price_version,
            "total_micros": self.total_micros,
            "total": str(from_micros(self.total_micros)),
            "idle_micros": self.idle_micros,
            "runs": self.runs,
            "partial_runs": self.partial_runs,
            "unmeasured_runs": self.unmeasured_runs,
            "groups": [g.to_dict() for g in self.groups],
            "warnings": list(self.warnings),
            "storage": None if self.storage is None else self.storage.to_dict(),
        }


def _stale_warnings(
    table: PriceTable, rows: list[Rate | Instance], settings: CostSettings, today: date
) -> list[str]:
    unique: dict[int, Rate | Instance] = {id(r): r for r in rows}
    return table.stale(today, settings.stale_after_days, list(unique.values()))


def cost_report(
    by: str = "experiment",
    *,
    since: date | datetime | str | int | None = None,
    until: date | datetime | str | int | None = None,
    experiment: str | None = None,
    refresh: bool = True,
    storage: bool = False,
    client: TrackingClient | None = None,
) -> CostReport:
    """Spend grouped by run, pipeline, experiment, model, project or day.

    Args:
        by: the grouping.
        since: only runs started at or after this (date, ISO text or UTC ms).
        until: only runs started before this.
        experiment: only this experiment's runs.
        refresh: recompute every run's cost first (current prices and storage shares).
        storage: include the storage accounting (lists the artifact store).
        client: the stores to read (default: the current project's).
    """
    c = _client(client)
    settings = cost_settings(c)
    table = load_prices(settings)
    since_ms, until_ms = _ms(since, "since"), _ms(until, "until")
    if experiment is not None and c.store.experiments.find(experiment) is None:
        raise ExperimentNotFound(
            f"No experiment named {experiment!r}. List them with: ninefold experiments list"
        )
    computed = refresh_costs(c) if refresh else []
    rows = c.store.costs.cost_rows(since_ms, until_ms, experiment)
    in_window = {r.cost.run_id for r in rows}
    facts = c.store.costs.run_facts() if by == "pipeline" else []
    groups = rollup(
        rows,
        by,
        project=settings.project,
        parents={f.run_id: f.parent_run_id for f in facts},
        names={f.run_id: f.name for f in facts},
        model_runs=c.store.costs.model_runs() if by == "model" else (),
    )
    used_rows = [row for cost in computed if cost.record.run_id in in_window for row in cost.rows]
    today = datetime.now(tz=UTC).date()
    warnings = _stale_warnings(table, used_rows, settings, today)
    versions = {r.cost.price_version for r in rows}
    if len(versions) > 1:
        warnings.append(
            f"costs were computed with {len(versions)} price table versions; refresh to use "
            f"the current one ({table.version})."
        )
    return CostReport(
        by=by,
        groups=groups,
        total_micros=c.store.costs.total_micros(since_ms, until_ms, experiment),
        idle_micros=sum(r.cost.idle_micros for r in rows),
        currency=table.currency,
        price_version=table.version,
        runs=len(rows),
        partial_runs=sum(1 for r in rows if r.cost.partial),
        unmeasured_runs=sum(1 for r in rows if r.cost.allocation == "unmeasured"),
        warnings=warnings,
        storage=storage_accounting(c.store, c.artifacts) if storage else None,
    )


def storage_report(*, client: TrackingClient | None = None) -> StorageAccounting:
    """Bytes in the artifact store: per run, shared, unreferenced, and the dedup savings."""
    c = _client(client)
    return storage_accounting(c.store, c.artifacts)


def gc(
    *, delete: bool = False, min_age_s: float = 3600.0, client: TrackingClient | None = None
) -> GarbageReport:
    """Remove (with ``delete=True``) artifact blobs nothing references; a dry run by default."""
    c = _client(client)
    return collect_garbage(c.store, c.artifacts, delete=delete, min_age_s=min_age_s)


# -- budgets -----------------------------------------------------------------


def set_budget(
    scope: str,
    subject: str,
    monthly: Any,
    *,
    thresholds: Any = (50, 80, 100),
    webhook_url: str | None = None,
    client: TrackingClient | None = None,
) -> Budget:
    """Set the monthly budget of the project (``scope="project"``) or of an experiment.

    Args:
        scope: ``"project"`` or ``"experiment"``.
        subject: the project's name or the experiment's name.
        monthly: the amount per month, in the price table's currency.
        thresholds: percentages of the budget that raise an alert.
        webhook_url: where this budget's alerts are POSTed (default: ``[costs] webhook_url``).

    Raises:
        NotFound: ``subject`` is not this project's name.
        ExperimentNotFound: no experiment has that name.
    """
    c = _client(client)
    settings = cost_settings(c)
    currency = load_prices(settings).currency
    return _set_budget(
        c.store,
        settings,
        currency,
        scope,
        subject,
        monthly,
        thresholds=thresholds,
        webhook_url=webhook_url,
    )


def list_budgets(*, client: TrackingClient | None = None) -> list[Budget]:
    """Every budget."""
    return _client(client).store.costs.list_budgets()


def delete_budget(scope: str, subject: str, *, client: TrackingClient | None = None) -> None:
    """Remove a budget."""
    if not _client(client).store.costs.delete_budget(scope, subject):
        raise NotFound(f"No budget for {scope} {subject!r}. List them with: ninefold cost budget")


def budget_status(
    *, refresh: bool = True, at_ms: int | None = None, client: TrackingClient | None = None
) -> list[BudgetStatus]:
    """Check every budget now: raise and send the alerts that are due."""
    c = _client(client)
    if refresh:
        refresh_costs(c)
    return check_budgets(c.store, cost_settings(c), at_ms=at_ms)


# -- estimates ---------------------------------------------------------------


@dataclass(frozen=True)
class CostEstimate:
    """A run's expected cost from the recent finished runs like it.

    Attributes:
        experiment: the experiment the estimate is for.
        name: the run name it was narrowed to, or None.
        runs: how many past runs it is based on.
        median_micros: their median cost (the estimate).
        low_micros: the cheapest of them.
        high_micros: the dearest of them.
        median_duration_s: their median wall-clock time.
        currency: the price table's currency.
    """

    experiment: str
    name: str | None
    runs: int
    median_micros: int
    low_micros: int
    high_micros: int
    median_duration_s: float
    currency: str

    @property
    def median(self) -> Decimal:
        """The estimate as a Decimal in currency units."""
        return from_micros(self.median_micros)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        data = dict(self.__dict__)
        data["median"] = str(self.median)
        return data


def estimate_run_cost(
    experiment: str,
    *,
    name: str | None = None,
    last: int = 10,
    refresh: bool = True,
    client: TrackingClient | None = None,
) -> CostEstimate:
    """Predict the cost of a run before it starts, from the experiment's recent finished runs.

    Args:
        experiment: the experiment the run will belong to.
        name: only past runs with this name (e.g. a pipeline step's name).
        last: how many of the most recent finished runs to use.
        refresh: recompute their costs with the current prices first.

    Raises:
        ExperimentNotFound: no experiment has that name.
        NotFound: it has no finished, costed run yet.
    """
    if isinstance(last, bool) or not isinstance(last, int) or last <= 0:
        raise InvalidArgument(f"last must be a positive whole number, got {last!r}.")
    c = _client(client)
    if c.store.experiments.find(experiment) is None:
        raise ExperimentNotFound(
            f"No experiment named {experiment!r}. List them with: ninefold experiments list"
        )
    if refresh:
        refresh_costs(c)
    rows = [
        r
        for r in c.store.costs.cost_rows(experiment=experiment)
        if r.status == "finished"
        and r.end_ms is not None
        and r.cost.allocation != "unmeasured"
        and (name is None or r.run_name == name)
    ][-last:]
    if not rows:
        which = f" named {name!r}" if name else ""
        raise NotFound(
            f"Experiment {experiment!r} has no finished run{which} with measured resources to "
            "estimate from; run it once (with resources on) first."
        )
    totals = [r.cost.total_micros for r in rows]
    durations = [((r.end_ms or r.start_ms) - r.start_ms) / 1000 for r in rows]
    return CostEstimate(
        experiment=experiment,
        name=name,
        runs=len(rows),
        median_micros=median_micros(totals),
        low_micros=min(totals),
        high_micros=max(totals),
        median_duration_s=float(statistics.median(durations)),
        currency=rows[-1].cost.currency,
    )


def stored_cost(run_id: str, *, client: TrackingClient | None = None) -> CostRecord | None:
    """The cost stored for a run (at its end or at the last refresh), or None."""
    return _client(client).store.costs.get_cost(run_id)
