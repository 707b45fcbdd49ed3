"""Executors: where step functions run. One interface, several back ends.

The runner hands an executor a :class:`Task` (the step, its params, the
digests of its inputs, its run id and seed) and gets a future of a
:class:`TaskResult` (the digests of its outputs, or the error). Inputs and
outputs always travel through the content-addressed artifact store, never as
in-memory objects between processes, so lineage and cache keys are the same
on every executor.

* ``inline`` (default): in this process, one step at a time.
* ``process``: a pool of worker processes (``spawn``) for independent branches
  and maps. A worker that dies fails its step; the others go on.

Timeouts interrupt the step with ``SIGALRM`` where it runs in a main thread
(always for ``process``; for ``inline`` when the pipeline runs in the main
thread). Elsewhere the step is waited for in a helper thread that is abandoned
at the timeout; Python cannot stop it. Code deep inside a C extension is
interrupted when it next returns to Python.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import signal
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ninefold.errors import InvalidArgument

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from ninefold.costs.meter import StepMeter
    from ninefold.pipelines.definition import Step
    from ninefold.store.costs import ResourceUsage
    from ninefold.tracking.client import Client
    from ninefold.tracking.fluent import ActiveRun

BLOB_CACHE_MAX = 16 * 1024 * 1024
"""Outputs up to this size stay in memory for the steps of the same inline run."""


@dataclass(frozen=True)
class ArtifactSpec:
    """A stored value: its digest and size, the materializer that wrote it and its type."""

    digest: str
    size: int
    materializer: str
    type_name: str


Inputs = dict[str, "ArtifactSpec | list[ArtifactSpec]"]


@dataclass
class Task:
    """One step execution to run."""

    run_id: str
    node: str
    pipeline: str
    experiment: str
    parent_run_id: str
    step: Step[..., Any]
    params: dict[str, Any]
    inputs: dict[str, ArtifactSpec | list[ArtifactSpec]]
    seed: int | None
    seed_param: bool
    seed_modules: tuple[str, ...]
    trusted: bool
    store_url: str
    artifact_root: str


@dataclass
class TaskResult:
    """What running a task gave: output specs, or an error."""

    outputs: dict[str, ArtifactSpec] = field(default_factory=dict)
    attempts: int = 0
    error: str | None = None
    error_type: str | None = None
    traceback: str | None = None
    failures: list[str] = field(default_factory=list)
    timed_out: bool = False
    start_ms: int = 0
    end_ms: int = 0
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    usage: ResourceUsage | None = field(default=None, compare=False, repr=False)
    """What the step used (every attempt), measured where it ran; None if not measured."""

    @property
    def ok(self) -> bool:
        """Whether the step succeeded."""
        return self.error is None


def _summary(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:5000]


# -- running one step ----------------------------------------------------------


class _Alarm(BaseException):
    """Raised inside a step by SIGALRM; a BaseException so ``except Exception`` cannot eat it."""


class StepTimedOut(Exception):
    """A step attempt ran past its timeout."""


def _call_with_timeout(fn: Callable[[], Any], timeout_s: float | None, node: str) -> Any:
    if timeout_s is None:
        return fn()
    message = f"Step {node!r} ran longer than its timeout_s={timeout_s:g} and was stopped."
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(signum: int, frame: Any) -> None:
            raise _Alarm()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            return fn()
        except _Alarm:
            raise StepTimedOut(message) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"ninefold-step-{node}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise StepTimedOut(message + " (its thread could not be stopped and runs on unobserved)")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def activated(run: ActiveRun) -> contextlib.AbstractContextManager[ActiveRun]:
    """Make an existing run the active run while a step runs (``nf.log_metric`` goes to it)."""
    from ninefold.tracking.fluent import activate

    return activate(run)


def _arguments(step: Step[..., Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    rest = dict(kwargs)
    for name, p in step.signature.parameters.items():
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and name in rest:
            args.append(rest.pop(name))
    return args, rest


def _load_inputs(task: Task, client: Client, blobs: dict[str, bytes] | None) -> dict[str, Any]:
    from ninefold.pipelines.materializers import load_value

    def load(name: str, spec: ArtifactSpec) -> Any:
        data = blobs.get(spec.digest) if blobs is not None else None
        if data is None:
            data = client.artifacts.read_bytes(spec.digest, f"input {name!r} of step {task.node!r}")
        return load_value(
            spec.materializer,
            data,
            trusted=task.trusted,
            where=f"input {name!r} of step {task.node!r}",
        )

    values: dict[str, Any] = {}
    for name, spec in task.inputs.items():
        if isinstance(spec, list):
            values[name] = [load(f"{name}[{i}]", s) for i, s in enumerate(spec)]
        else:
            values[name] = load(name, spec)
    return values


def run_task(task: Task, client: Client, blobs: dict[str, bytes] | None = None) -> TaskResult:
    """Run one step with its retries and timeout and store its outputs.

    Errors of the step (and of storing its outputs) are returned in the
    result, not raised; only failures of the stores themselves raise.
    """
    from ninefold._ids import now_ms
    from ninefold.pipelines.materializers import dump_value, type_name
    from ninefold.pipelines.seeds import seed_modules
    from ninefold.tracking.fluent import ActiveRun

    step = task.step
    result = TaskResult(start_ms=now_ms())
    meter = _meter()
    run = ActiveRun(client, task.run_id, task.node, task.experiment, task.parent_run_id)
    value: Any = None
    with activated(run):
        for attempt in range(step.retries + 1):
            result.attempts = attempt + 1
            try:
                kwargs = {**task.params, **_load_inputs(task, client, blobs)}
                if task.seed_param:
                    kwargs["seed"] = task.seed
                args, kw = _arguments(step, kwargs)
                if task.seed is not None:
                    seed_modules(task.seed, task.seed_modules)
                value = _call_with_timeout(
                    functools.partial(step.fn, *args, **kw), step.timeout_s, task.node
                )
            except Exception as exc:
                result.failures.append(_summary(exc))
                result.timed_out = isinstance(exc, StepTimedOut)
                result.error, result.error_type = _summary(exc), type(exc).__name__
                result.traceback = traceback.format_exc()
                result.exception = exc
                if attempt < step.retries:
                    time.sleep(step.retry_delay_s * step.backoff**attempt)
                continue
            result.error = result.error_type = result.traceback = None
            result.exception = None
            result.timed_out = False
            break
    if result.error is not None:
        result.end_ms = now_ms()
        result.usage = _measured(meter, task.run_id)
        return result
    try:
        names = step.outputs
        if len(names) == 1:
            values = {names[0]: value}
        elif isinstance(value, tuple | list) and len(value) == len(names):
            values = dict(zip(names, value, strict=True))
        else:
            got = f"a tuple of {len(value)}" if isinstance(value, tuple) else type_name(value)
            raise InvalidArgument(
                f"Step {task.node!r} declares {len(names)} outputs {list(names)} but returned "
                f"{got}. Return a tuple with one value per output."
            )
        for name, v in values.items():
            materializer, data = dump_value(
                v, trusted=task.trusted, where=f"output {name!r} of step {task.node!r}"
            )
            info = client.artifacts.put_bytes(data)
            if blobs is not None and info.size <= BLOB_CACHE_MAX:
                blobs[info.digest] = data
            result.outputs[name] = ArtifactSpec(
                info.digest, info.size, materializer.name, type_name(v)
            )
    except Exception as exc:
        result.outputs = {}
        result.error, result.error_type = _summary(exc), type(exc).__name__
        result.traceback = traceback.format_exc()
        result.exception = exc
    result.end_ms = now_ms()
    result.usage = _measured(meter, task.run_id)
    return result


def _meter() -> StepMeter | None:
    """Counters at a step's start, or None when resource measurement is off or fails."""
    from ninefold.costs.tracker import enabled_by_env

    if not enabled_by_env():
        return None
    from ninefold.costs.meter import StepMeter

    try:
        return StepMeter()
    except Exception as exc:  # psutil or /proc trouble: the step runs unmeasured
        print(f"ninefold: step resources not measured: {exc}", file=sys.stderr)
        return None


def _measured(meter: StepMeter | None, run_id: str) -> ResourceUsage | None:
    if meter is None:
        return None
    try:
        return meter.stop(run_id)
    except Exception as exc:  # as above: never fail a step for its measurement
        print(f"ninefold: step resources not measured: {exc}", file=sys.stderr)
        return None


# -- executors -------------------------------------------------------------------


class Executor(ABC):
    """Runs tasks; :meth:`submit` returns a future of the :class:`TaskResult`."""

    name: str = ""
    parallel: bool = False
    """Whether several tasks may be submitted before the first one finishes."""

    @abstractmethod
    def submit(
        self, task: Task, client: Client, blobs: dict[str, bytes] | None
    ) -> Future[TaskResult]:
        """Start a task."""

    def close(self) -> None:  # noqa: B027 - optional hook, most executors hold nothing
        """Release workers (no-op by default)."""


class InlineExecutor(Executor):
    """Runs each step in this process, one at a time, when it is submitted."""

    name = "inline"

    def submit(
        self, task: Task, client: Client, blobs: dict[str, bytes] | None
    ) -> Future[TaskResult]:
        """Run the task now; the returned future is already done."""
        future: Future[TaskResult] = Future()
        try:
            future.set_result(run_task(task, client, blobs))
        except Exception as exc:
            future.set_exception(exc)
        return future


_worker_clients: dict[tuple[str, str], Client] = {}


def _worker_entry(task: Task) -> TaskResult:
    """What a worker process runs: open (once) the stores the task names, then run it."""
    from ninefold.tracking.client import Client

    key = (task.store_url, task.artifact_root)
    client = _worker_clients.get(key)
    if client is None:
        client = _worker_clients[key] = Client(task.store_url, task.artifact_root)
    result = run_task(task, client, None)
    result.exception = None  # exceptions may not pickle; the text travels instead
    return result


class ProcessExecutor(Executor):
    """Runs steps in a pool of worker processes (``concurrent.futures``).

    Args:
        max_workers: worker processes (default: the CPU count).
        start_method: ``spawn`` (default, safe with threads) or ``forkserver``/``fork``.
    """

    name = "process"
    parallel = True

    def __init__(self, max_workers: int | None = None, start_method: str = "spawn") -> None:
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise InvalidArgument(f"max_workers={max_workers!r} must be a positive integer.")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=multiprocessing.get_context(self.start_method),
            )
        return self._pool

    def submit(
        self, task: Task, client: Client, blobs: dict[str, bytes] | None
    ) -> Future[TaskResult]:
        """Queue the task on the pool."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._get_pool().submit(_worker_entry, task)
        except BrokenProcessPool:
            # A worker died earlier; start a fresh pool for the tasks that remain.
            self.reset()
            return self._get_pool().submit(_worker_entry, task)

    def reset(self) -> None:
        """Drop a broken pool; the next submit starts a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def get_executor(spec: str | Executor | None, max_workers: int | None = None) -> Executor:
    """An executor from a name or an executor object.

    Names: ``inline``, ``process``, ``ray`` (a local Ray, or the one already
    initialised) and ``ray://HOST:PORT`` (a Ray cluster's client server).
    """
    if isinstance(spec, Executor):
        return spec
    if spec is None or spec == "inline":
        return InlineExecutor()
    if spec == "process":
        return ProcessExecutor(max_workers)
    if isinstance(spec, str) and (spec == "ray" or spec.startswith("ray://")):
        from ninefold.pipelines.ray_executor import RayExecutor

        return RayExecutor(None if spec == "ray" else spec, max_workers=max_workers)
    raise InvalidArgument(
        f"Unknown executor {spec!r}; use 'inline', 'process', 'ray' or 'ray://HOST:PORT' "
        "(or pass an Executor object)."
    )
