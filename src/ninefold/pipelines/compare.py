"""Two runs of one pipeline compared step by step: output hashes, metrics, inputs.

Steps are matched by node, outputs by name and compared by content hash
(equal hashes mean bit-identical bytes). For a step that differs, the metrics
of both step runs and the inputs (data sets, models) each consumed are listed.
:func:`ninefold.pipelines.reproduce.reproduce` compares a run with its
reproduction this way; :func:`diff_runs` (``ninefold pipelines diff A B``)
compares any two runs, with what changed between them: params, code commit,
environment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ninefold.errors import NinefoldError
from ninefold.store.pipelines import OUTPUT, StepExecution

if TYPE_CHECKING:
    from ninefold.store import Run
    from ninefold.tracking.client import Client

_REQUIREMENTS_PATH = "environment/requirements.txt"
_SHOWN_VALUE_BYTES = 1024


@dataclass(frozen=True)
class OutputComparison:
    """One output of one step in the original run and in the reproduction.

    Attributes:
        name: the output's name.
        original_digest: its content hash in the original run (None if not produced).
        new_digest: its content hash in the reproduction (None if not produced).
        materializer: how it is stored (``json``, ``sklearn.skops`` ...).
        original_value: for a small JSON output that differs, its original value.
        new_value: for a small JSON output that differs, its new value.
    """

    name: str
    original_digest: str | None
    new_digest: str | None
    materializer: str
    original_value: Any = None
    new_value: Any = None

    @property
    def identical(self) -> bool:
        """Whether both runs produced the output with the same bytes."""
        return self.original_digest is not None and self.original_digest == self.new_digest

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        out: dict[str, Any] = {
            "name": self.name,
            "original_digest": self.original_digest,
            "new_digest": self.new_digest,
            "identical": self.identical,
            "materializer": self.materializer,
        }
        if not self.identical and (self.original_value is not None or self.new_value is not None):
            out["original_value"] = self.original_value
            out["new_value"] = self.new_value
        return out


@dataclass(frozen=True)
class MetricDelta:
    """A metric of a step's run in both runs; ``close`` when within the relative tolerance."""

    key: str
    original: float | None
    new: float | None
    rtol: float

    @property
    def delta(self) -> float | None:
        """``new - original`` (None when one side is missing)."""
        if self.original is None or self.new is None:
            return None
        return self.new - self.original

    @property
    def close(self) -> bool:
        """Whether both values exist and differ by at most ``rtol`` of the original."""
        if self.original is None or self.new is None:
            return False
        if math.isnan(self.original) and math.isnan(self.new):
            return True
        return math.isclose(self.new, self.original, rel_tol=self.rtol, abs_tol=0.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "key": self.key,
            "original": self.original,
            "new": self.new,
            "delta": self.delta,
            "close": self.close,
        }


@dataclass(frozen=True)
class StepComparison:
    """One step in the original run and in the reproduction.

    Attributes:
        node: the step's node (``train``, ``train[2]``).
        original_run_id: the step's run in the original pipeline run.
        new_run_id: the step's run in the reproduction.
        original_status: the original step run's status.
        new_status: the reproduced step run's status.
        outputs: each output, compared by content hash.
        inputs_identical: whether the step read the same input artifacts in both runs;
            a step that differs with identical inputs is where a divergence starts.
        metrics: for a step that differs, each metric of its run in both runs.
        input_changes: for a step that differs, inputs it consumed (data sets,
            models) in one run and not the other, as ``- kind ref`` / ``+ kind ref``.
    """

    node: str
    original_run_id: str | None
    new_run_id: str | None
    original_status: str | None
    new_status: str | None
    outputs: list[OutputComparison]
    inputs_identical: bool
    metrics: list[MetricDelta] = field(default_factory=list)
    input_changes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Same status in both runs and every output bit-identical."""
        return (
            self.original_run_id is not None
            and self.new_run_id is not None
            and self.original_status == self.new_status
            and all(
                o.identical or (o.original_digest is None and o.new_digest is None)
                for o in self.outputs
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "node": self.node,
            "identical": self.identical,
            "inputs_identical": self.inputs_identical,
            "original_run_id": self.original_run_id,
            "new_run_id": self.new_run_id,
            "original_status": self.original_status,
            "new_status": self.new_status,
            "outputs": [o.to_dict() for o in self.outputs],
            "metrics": [m.to_dict() for m in self.metrics],
            "input_changes": list(self.input_changes),
        }


def _requirements(client: Client, run_id: str) -> dict[str, str] | None:
    try:
        text = client.read_text(run_id, _REQUIREMENTS_PATH)
    except NinefoldError:
        return None
    out = {}
    for line in text.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            out[name.strip().lower()] = version.strip()
    return out


def environment_changes(client: Client, original: Run, new: Run) -> list[str]:
    """Where the new run's Python, platform and packages differ from the original's."""
    changes = []
    for key, label in (("ninefold.python", "python"), ("ninefold.platform", "platform")):
        before, after = original.tags.get(key), new.tags.get(key)
        if before != after:
            changes.append(f"{label}: {before or '?'} -> {after or '?'}")
    before_reqs = _requirements(client, original.run_id)
    after_reqs = _requirements(client, new.run_id)
    if before_reqs is None:
        changes.append(f"packages: run {original.run_id} recorded no package list")
        return changes
    for name in sorted(set(before_reqs) | set(after_reqs or {})):
        a, b = before_reqs.get(name), (after_reqs or {}).get(name)
        if a != b:
            changes.append(f"{name}: {a or 'not installed'} -> {b or 'not installed'}")
    return changes


def _small_value(client: Client, digest: str | None, materializer: str, size: int) -> Any:
    if digest is None or materializer != "json" or size > _SHOWN_VALUE_BYTES:
        return None
    try:
        return json.loads(client.artifacts.read_bytes(digest))
    except (NinefoldError, ValueError):
        return None


def _outputs(
    client: Client, o: StepExecution | None, n: StepExecution | None
) -> list[OutputComparison]:
    before = {e.name: e for e in (o.edges if o else []) if e.direction == OUTPUT}
    after = {e.name: e for e in (n.edges if n else []) if e.direction == OUTPUT}
    names = list(before) + [k for k in after if k not in before]
    out = []
    for name in names:
        a, b = before.get(name), after.get(name)
        materializer = (a or b).materializer  # type: ignore[union-attr]
        comparison = OutputComparison(
            name, a.digest if a else None, b.digest if b else None, materializer
        )
        if not comparison.identical:
            comparison = OutputComparison(
                name,
                comparison.original_digest,
                comparison.new_digest,
                materializer,
                _small_value(client, comparison.original_digest, materializer, a.size if a else 0),
                _small_value(client, comparison.new_digest, materializer, b.size if b else 0),
            )
        out.append(comparison)
    return out


def _inputs(execution: StepExecution | None) -> dict[str, str]:
    if execution is None:
        return {}
    return {e.name: e.digest for e in execution.edges if e.direction != OUTPUT}


def _metric_deltas(before: Run | None, after: Run | None, rtol: float) -> list[MetricDelta]:
    a = {k: v for k, v in (before.metrics if before else {}).items() if not k.startswith("system/")}
    b = {k: v for k, v in (after.metrics if after else {}).items() if not k.startswith("system/")}
    return [MetricDelta(k, a.get(k), b.get(k), rtol) for k in sorted(set(a) | set(b))]


def _input_changes(client: Client, before: str | None, after: str | None) -> list[str]:
    a = {(i.kind, i.ref) for i in client.store.runs.inputs(before)} if before else set()
    b = {(i.kind, i.ref) for i in client.store.runs.inputs(after)} if after else set()
    return [f"- {k} {r}" for k, r in sorted(a - b)] + [f"+ {k} {r}" for k, r in sorted(b - a)]


def compare_runs(
    client: Client, original_run_id: str, new_run_id: str, *, rtol: float = 1e-9
) -> list[StepComparison]:
    """Each step of two runs of a pipeline, compared by output hash, in the new run's order."""
    before = client.store.pipelines.steps_of(original_run_id)
    after = client.store.pipelines.steps_of(new_run_id)
    by_node_before = {s.node: s for s in before}
    by_node_after = {s.node: s for s in after}
    order = [s.node for s in after] + [s.node for s in before if s.node not in by_node_after]
    runs = client.store.runs.get_many([s.run_id for s in [*before, *after]])
    rows = []
    for node in order:
        o, n = by_node_before.get(node), by_node_after.get(node)
        row = StepComparison(
            node=node,
            original_run_id=o.run_id if o else None,
            new_run_id=n.run_id if n else None,
            original_status=str(o.status) if o and o.status else None,
            new_status=str(n.status) if n and n.status else None,
            outputs=_outputs(client, o, n),
            inputs_identical=o is not None and n is not None and _inputs(o) == _inputs(n),
        )
        if not row.identical:
            row = replace(
                row,
                metrics=_metric_deltas(
                    runs.get(o.run_id) if o else None, runs.get(n.run_id) if n else None, rtol
                ),
                input_changes=_input_changes(
                    client, o.run_id if o else None, n.run_id if n else None
                ),
            )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class RunDiff:
    """How two pipeline runs differ: what went in, then step by step what came out.

    Attributes:
        run_a: the first run (the "original" side of each step).
        run_b: the second run.
        params: each param that differs, as ``name: a -> b``.
        commit: ``a -> b`` when the runs' git commits (or uncommitted diffs) differ.
        environment: Python, platform and package versions that differ.
        steps: each step of both runs, compared.
        first_divergence: the first step (in run B's order) whose outputs differ
            although it read the same inputs in both runs: where the runs part;
            None when every step that differs also read different inputs.
    """

    run_a: str
    run_b: str
    params: list[str]
    commit: str | None
    environment: list[str]
    steps: list[StepComparison]
    first_divergence: str | None

    @property
    def identical(self) -> bool:
        """Every output of every step bit-identical."""
        return all(s.identical for s in self.steps)

    @property
    def differing(self) -> list[str]:
        """The steps whose outputs (or status) differ."""
        return [s.node for s in self.steps if not s.identical]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "identical": self.identical,
            "params": list(self.params),
            "commit": self.commit,
            "environment": list(self.environment),
            "first_divergence": self.first_divergence,
            "differing": self.differing,
            "steps": [s.to_dict() for s in self.steps],
        }


_DIFF_PATH = "environment/git.diff"


def _code_version(client: Client, run: Run) -> tuple[str, str | None]:
    """``("<commit>[ + diff <digest>]", diff digest)`` of a run, as recorded."""
    commit = (run.tags.get("ninefold.git.commit") or "no commit")[:12]
    found = client.list_artifacts(run.run_id, "environment")
    diff = next((a.digest for a in found if a.path == _DIFF_PATH), None)
    return (commit if diff is None else f"{commit} + diff {diff[:12]}"), diff


def diff_runs(
    run_a: str, run_b: str, *, client: Client | None = None, rtol: float = 1e-9
) -> RunDiff:
    """Compare two runs of a pipeline: params, commit and environment, then each step's outputs.

    Example:
        >>> d = nf.pipelines.diff_runs(yesterday, today)  # doctest: +SKIP
        >>> d.params, d.first_divergence  # doctest: +SKIP
        (['C: 0.1 -> 1.0'], 'train')

    Raises:
        InvalidArgument: either run is not a pipeline run.
        RunNotFound: no run has that id.
    """
    from ninefold.errors import InvalidArgument
    from ninefold.store.pipelines import PIPELINE_TAG
    from ninefold.tracking.client import get_client

    c = client or get_client()
    a, b = c.store.runs.get(run_a), c.store.runs.get(run_b)
    for run in (a, b):
        if PIPELINE_TAG not in run.tags:
            raise InvalidArgument(
                f"Run {run.run_id} ({run.name!r}) is not a pipeline run (no {PIPELINE_TAG} tag); "
                "list pipeline runs with: ninefold pipelines list"
            )
    params = [
        f"{k}: {a.params.get(k, '(unset)')} -> {b.params.get(k, '(unset)')}"
        for k in sorted(set(a.params) | set(b.params))
        if a.params.get(k) != b.params.get(k)
    ]
    code_a, code_b = _code_version(c, a), _code_version(c, b)
    commit = None if code_a == code_b else f"{code_a[0]} -> {code_b[0]}"
    steps = compare_runs(c, run_a, run_b, rtol=rtol)
    first = next((s.node for s in steps if not s.identical and s.inputs_identical), None)
    return RunDiff(
        run_a=run_a,
        run_b=run_b,
        params=params,
        commit=commit,
        environment=environment_changes(c, a, b),
        steps=steps,
        first_divergence=first,
    )


__all__ = [
    "MetricDelta",
    "OutputComparison",
    "RunDiff",
    "StepComparison",
    "compare_runs",
    "diff_runs",
    "environment_changes",
]
