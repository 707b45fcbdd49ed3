"""Roll-ups of stored run costs: per run, pipeline, experiment, model, project and day.

Every roll-up adds integer micro-units, so a group's total is exactly the sum
of its runs. ``run``, ``pipeline``, ``experiment``, ``project`` and ``day``
partition the runs (each run counts in exactly one group): a pipeline is a
top-level run with everything nested under it, and a run counts on the UTC day
it started. ``model`` does not partition: a run that registered versions of two
models counts for both, and runs that registered none are left out.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ninefold.errors import InvalidArgument
from ninefold.store.costs import CostRow

GROUPINGS = ("run", "pipeline", "experiment", "model", "project", "day")


@dataclass(frozen=True)
class Spend:
    """The cost of one group of runs, in integer micro-units.

    Attributes:
        key: the group's key (run id, experiment name, day ``YYYY-MM-DD`` ...).
        label: a readable name for it.
        runs: runs in the group.
        partial: runs whose cost is partial (crashed, running, or unmeasured).
    """

    key: str
    label: str
    runs: int
    partial: int
    cpu_micros: int
    memory_micros: int
    gpu_micros: int
    storage_micros: int
    egress_micros: int
    idle_micros: int
    total_micros: int
    storage_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return dict(self.__dict__)


def day_of(ms: int) -> str:
    """The UTC day of a millisecond timestamp, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _root(run_id: str, parents: Mapping[str, str | None]) -> str:
    seen = {run_id}
    while True:
        parent = parents.get(run_id)
        if parent is None or parent in seen:
            return run_id
        seen.add(parent)
        run_id = parent


def _sum(key: str, label: str, rows: list[CostRow]) -> Spend:
    return Spend(
        key=key,
        label=label,
        runs=len(rows),
        partial=sum(1 for r in rows if r.cost.partial),
        cpu_micros=sum(r.cost.cpu_micros for r in rows),
        memory_micros=sum(r.cost.memory_micros for r in rows),
        gpu_micros=sum(r.cost.gpu_micros for r in rows),
        storage_micros=sum(r.cost.storage_micros for r in rows),
        egress_micros=sum(r.cost.egress_micros for r in rows),
        idle_micros=sum(r.cost.idle_micros for r in rows),
        total_micros=sum(r.cost.total_micros for r in rows),
        storage_bytes=sum(r.cost.storage_bytes for r in rows),
    )


def rollup(
    rows: Iterable[CostRow],
    by: str,
    *,
    project: str = "project",
    parents: Mapping[str, str | None] | None = None,
    names: Mapping[str, str] | None = None,
    model_runs: Iterable[tuple[str, str]] = (),
) -> list[Spend]:
    """Group run costs, biggest spender first.

    Args:
        rows: stored run costs with their run facts.
        by: one of :data:`GROUPINGS`.
        project: the project's name (the single ``project`` group).
        parents: run id -> parent run id for every run (``pipeline``), so that
            a pipeline is found even when its top run is outside ``rows``.
        names: run id -> run name, to label pipelines.
        model_runs: ``(model name, run id)`` pairs (``model``).
    """
    rows = list(rows)
    groups: dict[str, list[CostRow]] = {}
    labels: dict[str, str] = {}
    if by == "run":
        for r in rows:
            groups[r.cost.run_id] = [r]
            labels[r.cost.run_id] = f"{r.run_name} ({r.experiment})"
    elif by == "pipeline":
        parent_map: dict[str, str | None] = dict(parents or {})
        for r in rows:
            parent_map.setdefault(r.cost.run_id, r.parent_run_id)
        run_names = dict(names or {})
        for r in rows:
            run_names.setdefault(r.cost.run_id, r.run_name)
        for r in rows:
            root = _root(r.cost.run_id, parent_map)
            groups.setdefault(root, []).append(r)
            labels[root] = run_names.get(root, root)
    elif by == "experiment":
        for r in rows:
            groups.setdefault(r.experiment, []).append(r)
            labels[r.experiment] = r.experiment
    elif by == "model":
        by_run = {r.cost.run_id: r for r in rows}
        for model, run_id in model_runs:
            if run_id in by_run:
                groups.setdefault(model, []).append(by_run[run_id])
                labels[model] = model
    elif by == "project":
        groups[project] = rows
        labels[project] = project
    elif by == "day":
        for r in rows:
            day = day_of(r.start_ms)
            groups.setdefault(day, []).append(r)
            labels[day] = day
        spends = [_sum(k, labels[k], v) for k, v in groups.items()]
        return sorted(spends, key=lambda s: s.key)
    else:
        raise InvalidArgument(f"Cannot group costs by {by!r}; use one of: {', '.join(GROUPINGS)}.")
    spends = [_sum(k, labels[k], v) for k, v in groups.items()]
    return sorted(spends, key=lambda s: (-s.total_micros, s.key))


def median_micros(values: list[int]) -> int:
    """The median of integer amounts, rounded half to even to a whole micro-unit."""
    return round(statistics.median(values)) if values else 0
