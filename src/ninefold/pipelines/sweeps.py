"""Sweeps: one pipeline run per combination of params, grouped under a parent run.

On a parallel executor (``process``, ``ray``) the combinations run at the same
time: each combination's pipeline run is driven from a thread of its own
(at most ``max_parallel`` at once: by default the executor's workers, at most
:data:`MAX_PARALLEL`) and every run submits its steps to one
shared executor, so the workers are shared too. On ``inline`` they run one
after another.

A step shared by the combinations (loading, splitting: same code, params and
inputs, so the same cache key) runs once. The first run that misses the cache
on a key claims it; a run that misses on a claimed key waits until the step
is recorded, then looks it up again and hits, linking the same outputs. If the
step failed, the waiting run runs it itself.

Every combination runs even when another fails: a failed combination fails
its own pipeline run only. When all are done the sweep raises
:class:`~ninefold.errors.SweepFailed` naming the failures (the parent run is
marked failed); the runs that finished are recorded, in tracking and in
``SweepFailed.result``.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ninefold._ids import now_ms
from ninefold._names import check_key
from ninefold.errors import InvalidArgument, InvalidName, StepFailed, SweepFailed
from ninefold.pipelines.executors import Executor, Task, TaskResult, get_executor

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Pipeline
    from ninefold.pipelines.runner import PipelineRun
    from ninefold.tracking.client import Client
    from ninefold.tracking.fluent import ActiveRun

SWEEP_TAG = "ninefold.pipeline.sweep"

MAX_PARALLEL = 16
"""Combinations run at once by default, at most: each drives a pipeline run from a
thread of this process and talks to the metadata store."""


@dataclass(frozen=True)
class SweepFailure:
    """A combination whose pipeline run failed."""

    params: dict[str, Any]
    run_id: str
    node: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "params": self.params,
            "run_id": self.run_id,
            "node": self.node,
            "error": self.error,
        }


@dataclass
class SweepResult:
    """A sweep: its parent run, one pipeline run per finished combination, and the failures.

    ``runs`` and ``failures`` are in the order of the combinations.
    """

    run_id: str
    runs: list[PipelineRun] = field(default_factory=list)
    failures: list[SweepFailure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run_id": self.run_id,
            "runs": [r.to_dict() for r in self.runs],
            "failures": [f.to_dict() for f in self.failures],
        }


def combinations(
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Every param combination of a grid (dict of lists), or the list of dicts given."""
    if isinstance(grid, Mapping):
        keys = list(grid)
        for key in keys:
            values = grid[key]
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
                raise InvalidArgument(
                    f"Sweep grid: {key!r} needs a non-empty list of values, got {values!r}."
                )
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    items: object = grid
    if isinstance(items, list | tuple):
        out = []
        for item in items:
            if not isinstance(item, Mapping):
                raise InvalidArgument(
                    f"Sweep list: every item must be a dict of params, got {item!r}."
                )
            out.append(dict(item))
        if not out:
            raise InvalidArgument("A sweep needs at least one combination of params.")
        return out
    raise InvalidArgument(
        f"A sweep needs a dict of lists or a list of dicts, got {type(grid).__name__}."
    )


def _lift_metrics(client: Client, run: PipelineRun) -> None:
    """Copy each step's latest metrics onto the pipeline run as ``<step>/<metric>``."""
    sources = {s.node: s.source_run_id or s.run_id for s in run.steps}
    found = client.store.runs.get_many(list(sources.values()))
    stamp = now_ms()
    points = []
    for node, source in sources.items():
        step_run = found.get(source)
        if step_run is None:
            continue
        for key, value in step_run.metrics.items():
            name = f"{node}/{key}"
            try:
                check_key(name, "Metric")
            except InvalidName:
                continue
            points.append((run.run_id, name, value, 0, stamp))
    client.store.runs.log_metrics(points)


# -- shared by the concurrent runs of one sweep ----------------------------------------


class KeyClaims:
    """Cache keys being computed by the concurrent runs of one sweep.

    The first run to miss the cache on a key claims it and runs the step; a
    run that misses on a claimed (or already computed) key gets a future to
    wait on, then looks the cache up again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Future[None]] = {}
        self._done: set[str] = set()

    def claim(self, key: str) -> Future[None] | None:
        """None when the caller now holds ``key``; else a future done once it is released."""
        with self._lock:
            if key in self._done:
                done: Future[None] = Future()
                done.set_result(None)
                return done
            held = self._held.get(key)
            if held is not None:
                return held
            self._held[key] = Future()
            return None

    def release(self, key: str, *, ok: bool) -> None:
        """The holder recorded its step (``ok``: its outputs are in the cache now)."""
        with self._lock:
            held = self._held.pop(key, None)
            if ok:
                self._done.add(key)
        if held is not None:
            held.set_result(None)


class SharedExecutor(Executor):
    """One executor used by several pipeline runs at once; only the sweep closes it.

    It carries the sweep's :class:`KeyClaims`, which the runs' schedulers use,
    and serialises submissions (a process pool is created on first use).
    """

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.name = inner.name
        self.parallel = inner.parallel
        self.max_workers: int = getattr(inner, "max_workers", None) or os.cpu_count() or 1
        self.claims = KeyClaims()
        self._lock = threading.Lock()
        self._stopped = False

    def __getattr__(self, name: str) -> Any:
        # Anything else a scheduler asks of an executor comes from the real one.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def submit(
        self, task: Task, client: Client, blobs: dict[str, bytes] | None
    ) -> Future[TaskResult]:
        """Submit to the shared executor (refused once the sweep is stopping)."""
        with self._lock:
            if self._stopped:
                raise KeyboardInterrupt(f"sweep interrupted: step {task.node!r} not started")
            return self.inner.submit(task, client, blobs)

    def reset(self) -> None:
        """Drop a broken worker pool, unless another run has already replaced it."""
        with self._lock:
            pool = getattr(self.inner, "_pool", None)
            if pool is not None and not getattr(pool, "_broken", True):
                return  # a fresh pool already: keep it for the runs still using it
            reset = getattr(self.inner, "reset", None)
            if reset is not None:
                reset()

    def stop(self) -> None:
        """Refuse new steps (after an interrupt); steps already submitted may finish."""
        with self._lock:
            self._stopped = True

    def close(self) -> None:
        """Kept open for the other runs: the sweep closes the real executor at its end."""


# -- running a sweep -----------------------------------------------------------------


def _failure(params: dict[str, Any], exc: StepFailed) -> SweepFailure:
    return SweepFailure(params, exc.pipeline_run_id, exc.node, str(exc))


def run_sweep(
    pipeline: Pipeline,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    executor: str | Executor | None,
    cache: bool | None,
    seed: int | None,
    client: Client | None,
    max_workers: int | None,
    max_parallel: int | None = None,
) -> SweepResult:
    """Run a sweep (see :meth:`ninefold.pipelines.Pipeline.sweep`)."""
    from ninefold.tracking.client import get_client
    from ninefold.tracking.fluent import start_run

    combos = combinations(grid)
    for params in combos:
        pipeline.bind_params(params)  # refuse a bad combination before anything runs
    if max_parallel is not None and (
        isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1
    ):
        raise InvalidArgument(f"max_parallel={max_parallel!r} must be a positive integer.")
    client = client or get_client()
    engine = SharedExecutor(
        get_executor(executor if executor is not None else pipeline.executor, max_workers)
    )
    default = min(engine.max_workers, MAX_PARALLEL)
    drivers = min(len(combos), max_parallel or default) if engine.parallel else 1
    result = SweepResult("")
    try:
        with start_run(
            experiment=pipeline.experiment,
            name=f"{pipeline.name}-sweep",
            tags={
                SWEEP_TAG: pipeline.name,
                "ninefold.pipeline.sweep.size": str(len(combos)),
                "ninefold.pipeline.sweep.parallel": str(drivers),
            },
            capture_environment=False,
            client=client,
        ) as parent:
            result.run_id = parent.run_id
            outcomes = _run_all(pipeline, combos, engine, client, cache, seed, parent, drivers)
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            crash = next((e for e in errors if not isinstance(e, StepFailed)), None)
            if crash is not None:
                raise crash
            for params, outcome in zip(combos, outcomes, strict=True):
                if isinstance(outcome, StepFailed):
                    result.failures.append(_failure(params, outcome))
                elif not isinstance(outcome, BaseException):
                    result.runs.append(outcome)
            if result.failures:
                failed = [e for e in errors if isinstance(e, StepFailed)]
                listing = "; ".join(
                    f"{f.params} (run {f.run_id}, step {f.node!r})" for f in result.failures
                )
                others = "the others finished" if result.runs else "none finished"
                raise SweepFailed(
                    f"{len(failed)} of {len(combos)} combination(s) of sweep {parent.run_id} "
                    f"failed ({others}): {listing}. First error: {failed[0]}",
                    sweep_run_id=parent.run_id,
                    failures=failed,
                    result=result,
                ) from failed[0]
    finally:
        engine.inner.close()
    return result


def _run_all(
    pipeline: Pipeline,
    combos: list[dict[str, Any]],
    engine: SharedExecutor,
    client: Client,
    cache: bool | None,
    seed: int | None,
    parent: ActiveRun,
    drivers: int,
) -> list[PipelineRun | BaseException]:
    """Run every combination; a failed one gives its exception instead of a run."""
    from ninefold.pipelines.runner import run_pipeline
    from ninefold.tracking.fluent import own_run_stack

    def one(params: dict[str, Any]) -> PipelineRun:
        run = run_pipeline(pipeline, params, executor=engine, cache=cache, seed=seed, client=client)
        _lift_metrics(client, run)
        return run

    if drivers <= 1:
        outcomes: list[PipelineRun | BaseException] = []
        for params in combos:
            try:
                outcomes.append(one(params))
            except StepFailed as exc:
                outcomes.append(exc)
        return outcomes

    def drive(params: dict[str, Any]) -> PipelineRun:
        # Each thread nests its pipeline run under the sweep on a run stack of its own.
        with own_run_stack(parent):
            return one(params)

    from concurrent.futures import ThreadPoolExecutor, wait

    pool = ThreadPoolExecutor(max_workers=drivers, thread_name_prefix="ninefold-sweep")
    futures = [pool.submit(drive, params) for params in combos]
    try:
        wait(futures)
    except BaseException:
        # Interrupted: start no more combinations or steps, drop queued steps, wait for
        # the running ones; every pipeline run still going ends as killed or failed.
        engine.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        engine.inner.close()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    outcomes = []
    for f in futures:
        error = f.exception()
        outcomes.append(f.result() if error is None else error)
    return outcomes
