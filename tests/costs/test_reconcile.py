"""Costs reconcile: per-run costs add up to every roll-up, to the micro-unit and so to the cent."""

from __future__ import annotations

import pytest

import ninefold as nf
from ninefold import costs
from ninefold.costs.money import cents, from_micros
from ninefold.costs.rollups import day_of
from ninefold.errors import ExperimentNotFound, NotFound
from ninefold.tracking.client import Client
from tests.costs.conftest import burn
from tests.registry.helpers import ThresholdModel


def _history(client: Client) -> dict[str, list[str]]:
    runs: dict[str, list[str]] = {"train": [], "tune": []}
    for i in range(3):
        with nf.start_run(experiment="train", capture_environment=False) as run:
            burn(0.02 * (i + 1))
            nf.log_text("shared " * 500, "shared.txt")
            nf.log_model(ThresholdModel(0.1 * i), "clf")
            runs["train"].append(run.run_id)
    # Declared far above any test machine, so that the trials are the biggest spenders.
    tags = {"ninefold.resources.cpu": "1000", "ninefold.resources.memory_gib": "4000"}
    with nf.start_run(experiment="tune", name="sweep", tags=tags, capture_environment=False) as p:
        runs["tune"].append(p.run_id)
        for i in range(2):
            with nf.start_run(name=f"trial-{i}", tags=tags) as child:
                burn(0.03)
                nf.log_text(f"trial {i}", "trial.txt")
                runs["tune"].append(child.run_id)
    return runs


def test_per_run_costs_add_up_to_every_roll_up(cost_client: Client) -> None:
    runs = _history(cost_client)
    by_run = costs.cost_report("run", client=cost_client)
    assert by_run.runs == 6
    assert by_run.unmeasured_runs == 0
    run_sum = sum(g.total_micros for g in by_run.groups)
    # The project total is added by the database, independently of the Python sums.
    assert run_sum == by_run.total_micros > 0
    assert cents(sum(g.total_micros for g in by_run.groups)) == cents(by_run.total_micros)
    for grouping in ("pipeline", "experiment", "project", "day"):
        report = costs.cost_report(grouping, refresh=False, client=cost_client)
        assert sum(g.total_micros for g in report.groups) == by_run.total_micros, grouping
        assert sum(g.runs for g in report.groups) == 6, grouping
        assert sum(g.idle_micros for g in report.groups) == by_run.idle_micros, grouping
        assert report.total_micros == by_run.total_micros
    experiments = costs.cost_report("experiment", refresh=False, client=cost_client)
    assert {g.key: g.runs for g in experiments.groups} == {"train": 3, "tune": 3}
    pipelines = costs.cost_report("pipeline", refresh=False, client=cost_client)
    sweep = next(g for g in pipelines.groups if g.key == runs["tune"][0])
    assert (sweep.label, sweep.runs) == ("sweep", 3)
    models = costs.cost_report("model", refresh=False, client=cost_client)
    assert [(g.key, g.runs) for g in models.groups] == [("clf", 3)]
    train = next(g for g in experiments.groups if g.key == "train")
    assert models.groups[0].total_micros == train.total_micros
    days = costs.cost_report("day", refresh=False, client=cost_client)
    info = cost_client.get_run(runs["train"][0])
    assert days.groups[0].key == day_of(info.start_ms)
    # Biggest spender first: a trial (declared 1000 cores), not a training run.
    totals = [g.total_micros for g in by_run.groups]
    assert totals == sorted(totals, reverse=True)
    assert by_run.groups[0].key in runs["tune"]
    assert str(from_micros(by_run.total_micros)) == by_run.to_dict()["total"]


def test_report_window_and_experiment_filter(cost_client: Client) -> None:
    _history(cost_client)
    only = costs.cost_report("run", experiment="train", client=cost_client)
    assert only.runs == 3
    assert only.total_micros == sum(g.total_micros for g in only.groups)
    future = costs.cost_report("run", since="2999-01-01", client=cost_client)
    assert (future.runs, future.total_micros, future.groups) == (0, 0, [])


def test_estimate_from_recent_history(cost_client: Client) -> None:
    runs = _history(cost_client)
    est = costs.estimate_run_cost("train", client=cost_client)
    stored = sorted(cost_client.store.costs.get_cost(r).total_micros for r in runs["train"])  # type: ignore[union-attr]
    assert est.runs == 3
    assert est.median_micros == stored[1]
    assert (est.low_micros, est.high_micros) == (stored[0], stored[-1])
    narrowed = costs.estimate_run_cost("tune", name="trial-1", client=cost_client)
    assert narrowed.runs == 1


def test_estimate_needs_history(client: Client) -> None:
    with pytest.raises(ExperimentNotFound, match="No experiment named 'ghost'"):
        costs.estimate_run_cost("ghost", client=client)
    client.store.experiments.get_or_create("fresh")
    with pytest.raises(NotFound, match="no finished run with measured resources"):
        costs.estimate_run_cost("fresh", client=client)
