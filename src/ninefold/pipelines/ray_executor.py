"""The Ray executor: each step execution is a Ray task, on this machine or on a cluster.

Ray is an optional extra (``pip install 'ninefold[ray]'``) and is never started
on import. The executor starts a local Ray, or connects to a cluster, on the
first step it submits, and only when no Ray is initialised in this process yet;
it shuts down only a Ray it started itself.

Steps reach the workers by reference (their module is imported there) and
their inputs and outputs go through the artifact store, exactly as on the
``process`` executor, so lineage and cache keys do not depend on where a step
ran. Workers therefore need to reach the same metadata store URL and artifact
root as the driver: on a cluster, a shared PostgreSQL and an object store
(``s3://``) rather than a SQLite file and a local folder.

A step's declared resources become the task's Ray resources: ``cpus`` is
``num_cpus`` (default 1), ``gpus`` is ``num_gpus`` and ``memory`` is Ray's
``memory`` in bytes. Ray never retries a task (``max_retries=0``): ninefold
retries a failing step itself, inside the task, as on every executor.

Example:
    >>> run = training.run(executor="ray")  # doctest: +SKIP
    >>> run = training.run(executor=RayExecutor("ray://head:10001"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pickle
import socket
import sys
import threading
import traceback
from concurrent.futures import Future
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ninefold.errors import ConfigError, InvalidArgument
from ninefold.pipelines.executors import Executor, Task, TaskResult

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Resources
    from ninefold.tracking.client import Client

RAY_CLIENT_PORT = 10001
"""The port of a ``ray://`` address that names none (Ray's client server default)."""

RAY_GCS_PORT = 6379
"""The port of a ``host`` cluster address that names none (Ray's head node default)."""

MAX_IN_FLIGHT = 256
"""Steps handed to Ray at once by default; Ray queues those its nodes cannot run yet."""

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a cluster address to accept a connection before giving up."""


def _require_ray() -> ModuleType:
    from ninefold._deps import require

    return require("ray", "ray", "The Ray executor")


def _host_port(address: str) -> tuple[str, int] | None:
    """Host and port to probe for a cluster address, or None for Ray's keywords."""
    if address.startswith("ray://"):
        rest, default = address[len("ray://") :], RAY_CLIENT_PORT
    elif address in ("auto", "local"):
        return None
    else:
        rest, default = address, RAY_GCS_PORT
    host, sep, port = rest.partition("/")[0].rpartition(":")
    if not sep:
        host, port = rest.partition("/")[0], ""
    host = host.strip("[]")
    if not host or (port and not port.isdigit()):
        raise InvalidArgument(
            f"Ray address {address!r} is not host:port; use 'ray://HOST:PORT' for a Ray client "
            f"server (port {RAY_CLIENT_PORT} by default), 'HOST:PORT' for a cluster's head node, "
            "'auto' for the cluster this machine belongs to, or None for a local Ray."
        )
    return host, int(port) if port else default


def _probe(address: str, host: str, port: int) -> None:
    """Fail fast with a clear error when nothing listens at a cluster address.

    Ray itself retries an unreachable head node for minutes before giving up.
    """
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"Cannot reach the Ray cluster at {address!r} ({host}:{port}: {reason}). Start it "
            "(`ray start --head` on the head node), check the address and that the port is open "
            "from this machine, or use executor='ray' for a local Ray."
        ) from exc


def _describe(resources: dict[str, float]) -> str:
    parts = [f"{resources.get('CPU', 0):g} CPUs", f"{resources.get('GPU', 0):g} GPUs"]
    parts.append(f"{resources.get('memory', 0) / 1024**3:.3g} GiB memory")
    return ", ".join(parts)


def _demand(resources: Resources) -> dict[str, float]:
    """The Ray resources of a step: num_cpus (1 unless declared), num_gpus and memory."""
    demand: dict[str, float] = {"CPU": 1.0 if resources.cpus is None else resources.cpus}
    if resources.gpus:
        demand["GPU"] = resources.gpus
    if resources.memory:
        demand["memory"] = float(resources.memory)
    return demand


_driver_scripts: dict[str, ModuleType] = {}


def _driver_script(path: str) -> ModuleType:
    """The driver's script (run there as ``__main__``) imported once in this worker.

    It is imported under another name, so its ``if __name__ == "__main__":``
    block does not run here, as in the worker processes of ``process``.
    """
    module = _driver_scripts.get(path)
    if module is None:
        spec = importlib.util.spec_from_file_location("__ninefold_main__", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import the driver's script {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["__ninefold_main__"] = module
        spec.loader.exec_module(module)
        _driver_scripts[path] = module
    return module


def _load_task(payload: bytes, script: str | None) -> Task:
    if script is None:
        task: Task = pickle.loads(payload)
        return task
    own_main = sys.modules["__main__"]
    sys.modules["__main__"] = _driver_script(script)  # steps pickled as __main__.<name>
    try:
        task = pickle.loads(payload)
    finally:
        sys.modules["__main__"] = own_main
    return task


def _run_on_worker(node: str, payload: bytes, paths: list[str], script: str | None) -> TaskResult:
    """What a Ray task runs: make the driver's import paths visible, load the task, run it."""
    from ninefold._ids import now_ms
    from ninefold.pipelines.executors import _worker_entry

    for path in paths:
        if path not in sys.path and os.path.isdir(path):
            sys.path.append(path)
    try:
        task = _load_task(payload, script)
    except Exception as exc:
        stamp = now_ms()
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return TaskResult(
            attempts=1,
            error=(
                f"the Ray worker could not load step {node!r}: {summary}. Ray workers import "
                "steps by module name: install the module on the cluster or ship it with "
                "init_kwargs={'runtime_env': {'py_modules': [...]}} (or 'working_dir')"
            ),
            error_type=type(exc).__name__,
            traceback=traceback.format_exc(),
            start_ms=stamp,
            end_ms=stamp,
        )
    return _worker_entry(task)


class RayExecutor(Executor):
    """Runs each step as a Ray task with the step's declared resources.

    Args:
        address: ``None`` (default) for what ``ray.init()`` finds: the address
            in ``RAY_ADDRESS``, a cluster that ``ray start`` runs on this machine,
            or else a new local Ray; ``"local"`` for a new local Ray;
            ``"ray://HOST:PORT"`` for a cluster's Ray client server;
            ``"HOST:PORT"`` for a cluster's head node reachable from this
            machine; ``"auto"`` for the cluster this machine belongs to. A Ray
            already initialised in this process is always used as it is.
        init_kwargs: more arguments for ``ray.init`` when the executor starts or
            connects to Ray (``num_cpus``, ``runtime_env``, ...).
        max_workers: the most steps handed to Ray at once (default 256); Ray
            queues the ones its nodes have no room for yet.
        check_fit: refuse a step that asks for more CPUs, GPUs or memory than
            any node of the cluster has (it would wait forever). Pass False on a
            cluster that adds nodes on demand.

    Ray is started (or connected to) on the first submitted step, so a fully
    cached run never starts it. :meth:`close` (called at the end of each
    pipeline run) stops a local Ray this executor started and disconnects from
    a cluster it connected to; a Ray initialised by someone else is left as it
    is. To keep one Ray up for many runs, call ``ray.init()`` first.
    """

    name = "ray"
    parallel = True

    def __init__(
        self,
        address: str | None = None,
        *,
        init_kwargs: dict[str, Any] | None = None,
        max_workers: int | None = None,
        check_fit: bool = True,
    ) -> None:
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise InvalidArgument(
                f"Ray address {address!r} must be a non-empty string such as "
                "'ray://HOST:10001', or None for a local Ray."
            )
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise InvalidArgument(f"max_workers={max_workers!r} must be a positive integer.")
        self.address = None if address is None else address.strip()
        if self.address is not None:
            _host_port(self.address)  # refuse a malformed address now, not at the first step
        self.init_kwargs = dict(init_kwargs or {})
        self.max_workers = max_workers or MAX_IN_FLIGHT
        self.check_fit = check_fit
        self.started = False
        """Whether this executor started or connected Ray (and so shuts it down on close)."""
        self._remote: Any = None
        self._nodes: list[dict[str, float]] | None = None
        self._paths: list[str] = []
        self._lock = threading.Lock()
        self._pending: dict[Future[TaskResult], Any] = {}

    # -- connecting ------------------------------------------------------------------

    def _connect(self) -> ModuleType:
        ray = _require_ray()
        with self._lock:
            if self._remote is not None and ray.is_initialized():
                return ray
            if not ray.is_initialized():
                # ray.init reads RAY_ADDRESS when given no address; probe that one too.
                address = self.address or os.environ.get("RAY_ADDRESS") or None
                target = None if address is None else _host_port(address)
                if address is not None and target is not None:
                    _probe(address, *target)
                kwargs = {"include_dashboard": False, **self.init_kwargs}
                try:
                    ray.init(address=self.address, **kwargs)
                except Exception as exc:
                    if address is None:
                        where, hint = "a local Ray", "Pass init_kwargs for ray.init, or call it."
                    else:
                        where = repr(address)
                        hint = (
                            "Check the address, that the cluster runs the same Ray and Python "
                            "versions as this machine, and its authentication settings."
                        )
                    raise ConfigError(
                        f"Could not start or connect to {where}: {type(exc).__name__}: {exc}. "
                        + hint
                    ) from exc
                self.started = True
            self._remote = ray.remote(_run_on_worker)
            self._nodes = None
            # Workers on this machine see modules the driver can import from added paths
            # (a pipeline file loaded by path, a notebook's folder), as spawned processes do.
            self._paths = [p for p in sys.path if p and os.path.isdir(p)]
            return ray

    def _node_resources(self, ray: ModuleType) -> list[dict[str, float]]:
        if self._nodes is None:
            try:
                self._nodes = [
                    dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive", True)
                ]
            except Exception:  # cannot tell (e.g. an old client): let Ray decide
                self._nodes = []
        return self._nodes

    def _misfit(self, ray: ModuleType, task: Task, demand: dict[str, float]) -> str | None:
        """Why no node of the cluster can ever run this step, or None."""
        if not self.check_fit:
            return None
        nodes = self._node_resources(ray)
        if not nodes or any(all(n.get(k, 0) >= v for k, v in demand.items()) for n in nodes):
            return None
        largest = max(nodes, key=lambda n: (n.get("CPU", 0), n.get("GPU", 0)))
        declared = task.step.resources
        asked = [f"cpus={demand['CPU']:g}"]
        if declared.gpus is not None:
            asked.append(f"gpus={declared.gpus:g}")
        if declared.memory is not None:
            asked.append(f"memory={declared.memory / 1024**3:.3g}GiB")
        return (
            f"step {task.node!r} asks Ray for {', '.join(asked)} and no node of the cluster "
            f"has that much (largest: {_describe(largest)}). Lower the step's cpus=/gpus=/"
            "memory=, add a bigger node, or pass RayExecutor(check_fit=False) on a cluster that "
            "adds nodes on demand"
        )

    # -- running ---------------------------------------------------------------------

    def submit(
        self, task: Task, client: Client, blobs: dict[str, bytes] | None
    ) -> Future[TaskResult]:
        """Hand the step to Ray as a task; the future resolves when the task ends.

        Raises:
            ConfigError: Ray could not be started or its cluster cannot be reached.
            MissingDependency: ``ray`` is not installed.
        """
        from ninefold._ids import now_ms

        ray = self._connect()
        out: Future[TaskResult] = Future()
        demand = _demand(task.step.resources)
        script = None
        in_main = getattr(task.step.fn, "__module__", None) == "__main__"
        if in_main:
            script = getattr(sys.modules["__main__"], "__file__", None)
        refusal = self._misfit(ray, task, demand)
        if refusal is None and in_main and not script:
            refusal = (
                f"step {task.node!r} is defined in an interactive session (a notebook or the "
                "Python prompt), which Ray workers cannot import; move it to a module or a file"
            )
        if refusal is not None:  # it could never run there: fail the step, not the run
            stamp = now_ms()
            out.set_result(
                TaskResult(attempts=0, error=refusal, error_type="InvalidArgument", end_ms=stamp)
            )
            return out
        options: dict[str, Any] = {
            "num_cpus": demand["CPU"],
            "max_retries": 0,
            "name": f"ninefold {task.pipeline}/{task.node}",
        }
        if "GPU" in demand:
            options["num_gpus"] = demand["GPU"]
        if "memory" in demand:
            options["memory"] = int(demand["memory"])
        ref = self._remote.options(**options).remote(
            task.node, pickle.dumps(task), self._paths, script
        )
        with self._lock:
            self._pending[out] = ref

        def done(ray_future: Future[TaskResult]) -> None:
            with self._lock:
                self._pending.pop(out, None)
            try:
                result = ray_future.result()
            except BaseException as exc:  # a dead worker or node; the step fails, not the run
                result = _lost(ray, task.node, exc)
            out.set_result(result)

        ref.future().add_done_callback(done)
        return out

    def close(self) -> None:
        """Cancel tasks still running (after an interrupt); stop a Ray this executor started."""
        if self._remote is None:
            return
        ray = _require_ray()
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for ref in pending:
            # Already finished, or the cluster is gone: nothing to stop.
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        self._remote = None
        if self.started and ray.is_initialized():
            ray.shutdown()
        self.started = False


def _lost(ray: ModuleType, node: str, exc: BaseException) -> TaskResult:
    """The result of a Ray task that ended without a ninefold result: a clear failure."""
    from ninefold._ids import now_ms

    errors = ray.exceptions
    cause = exc
    if isinstance(exc, errors.OutOfMemoryError):
        message = (
            f"Ray stopped the worker running step {node!r} because its node ran low on memory; "
            "declare the step's memory= so Ray places it where there is room"
        )
    elif isinstance(exc, errors.WorkerCrashedError):
        message = (
            f"the Ray worker running step {node!r} died (killed or crashed) before it finished"
        )
    elif isinstance(exc, errors.NodeDiedError | errors.LocalRayletDiedError):
        message = f"the Ray node running step {node!r} died before the step finished"
    elif isinstance(exc, errors.TaskCancelledError):
        message = f"step {node!r} was cancelled on Ray"
    elif isinstance(exc, errors.RayTaskError):
        cause = getattr(exc, "cause", None) or exc
        summary = "".join(traceback.format_exception_only(type(cause), cause)).strip()
        message = f"the Ray worker running step {node!r} could not record it: {summary}"
    else:
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = f"Ray could not run step {node!r}: {summary}"
    detail = str(exc).strip().splitlines()
    if detail and cause is exc and not isinstance(exc, errors.RayTaskError):
        message += f" ({detail[0][:500]})"
    stamp = now_ms()
    return TaskResult(
        attempts=1,
        error=message,
        error_type=type(cause).__name__,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        start_ms=stamp,
        end_ms=stamp,
        exception=exc,
    )


__all__ = ["RayExecutor"]
