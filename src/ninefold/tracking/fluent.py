"""The fluent tracking API: ``nf.start_run`` and logging to the active run.

Example:
    >>> import ninefold as nf
    >>> with nf.start_run(experiment="iris", params={"C": 0.1}) as run:  # doctest: +SKIP
    ...     for epoch in range(10):
    ...         nf.log_metric("loss", 1 / (epoch + 1))
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import io
import json
import math
import os
import random
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from ninefold import _process
from ninefold._ids import new_id, now_ms
from ninefold._names import check_key, check_name, param_value
from ninefold.errors import InvalidArgument, NoActiveRun, StateError
from ninefold.store import ArtifactEntry, MetricPoint, Run, RunInput, RunStatus
from ninefold.tracking import environment
from ninefold.tracking.client import Client, Output, get_client
from ninefold.tracking.writer import writer

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from ninefold.costs.tracker import RunResources

_ADJECTIVES = [
    "brave",
    "calm",
    "eager",
    "fair",
    "gentle",
    "happy",
    "keen",
    "lucid",
    "merry",
    "noble",
    "proud",
    "quick",
    "sharp",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "witty",
    "bold",
    "bright",
]
_NOUNS = [
    "otter",
    "falcon",
    "lynx",
    "heron",
    "panda",
    "tiger",
    "whale",
    "raven",
    "bison",
    "koala",
    "gecko",
    "lemur",
    "moose",
    "orca",
    "quail",
    "robin",
    "shark",
    "sloth",
    "wolf",
    "yak",
]

_stack: list[ActiveRun] = []
_stack_lock = threading.RLock()
# A thread inside `own_run_stack` nests its runs on a stack of its own instead of `_stack`.
_own_stack: contextvars.ContextVar[list[ActiveRun] | None] = contextvars.ContextVar(
    "ninefold_run_stack", default=None
)
_valid_keys: set[str] = set()
_uncaught: list[BaseException] = []
_signalled: list[int] = []
_hooks_installed = False


def _run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(1, 999)}"


def _metric_value(key: str, value: object) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if isinstance(value, str | bytes) or not hasattr(value, "__float__"):
        raise InvalidArgument(
            f"Metric {key!r} needs a number, got {value!r} ({type(value).__name__}). "
            "Log text as a tag or with log_text()."
        )
    try:
        return float(value)  # type: ignore[arg-type,unused-ignore]
    except (TypeError, ValueError) as exc:  # e.g. a numpy array of several values
        raise InvalidArgument(
            f"Metric {key!r} needs a single number, got {value!r}: {exc}. "
            "Log one value per call, with step= for a series."
        ) from exc


def _plain(value: Any) -> Any:
    # numpy scalars and arrays (and pandas, torch) know how to become Python values.
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


def _yaml_text(data: Any, artifact_file: str) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_multi_representer(object, lambda d, v: d.represent_data(_plain(v)))
    try:
        return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"log_dict: cannot encode {artifact_file!r} as YAML: {exc}") from exc


def _int64(key: str, what: str, value: object) -> int:
    # Checked here, not when the buffer is written: a point the store cannot
    # hold would otherwise fail every later flush of this process.
    if isinstance(value, float) and what == "timestamp" and math.isfinite(value):
        value = int(value)
    if type(value) is not int:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise InvalidArgument(f"Metric {key!r}: {what} must be an integer, got {value!r}.")
        value = int(value.__index__())
    if not -(2**63) <= value < 2**63:
        raise InvalidArgument(
            f"Metric {key!r}: {what} {value} does not fit in 64 bits; "
            "use an integer between -2**63 and 2**63 - 1."
        )
    return value


class ActiveRun:
    """A run in progress. Use as a context manager, or call :meth:`end`.

    Attributes:
        run_id: the run's id.
        name: the run's name.
        experiment: the experiment's name.
        parent_run_id: the enclosing run, for nested runs.
    """

    def __init__(
        self, client: Client, run_id: str, name: str, experiment: str, parent_run_id: str | None
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.name = name
        self.experiment = experiment
        self.experiment_id: str | None = None
        """The experiment's id when known (``start_run`` knows it)."""
        self.parent_run_id = parent_run_id
        self._steps: dict[str, int] = {}
        self._ended = False
        self._resources: RunResources | None = None
        self._home: list[ActiveRun] = _stack  # the stack it was started on

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.run_id} experiment={self.experiment!r}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            self.end(RunStatus.FINISHED)
            return
        if isinstance(exc, KeyboardInterrupt) or (isinstance(exc, SystemExit) and _signalled):
            self.end(RunStatus.KILLED)
            return
        try:
            self.client.set_tags(self.run_id, {"ninefold.error": _error_summary(exc)})
        finally:
            self.end(RunStatus.FAILED)

    @property
    def info(self) -> Run:
        """The run as stored now (buffered metrics are flushed first)."""
        writer.flush()
        return self.client.get_run(self.run_id)

    @property
    def ended(self) -> bool:
        """Whether :meth:`end` was called."""
        return self._ended

    def _check_open(self) -> None:
        if self._ended:
            raise StateError(
                f"Run {self.name!r} ({self.run_id}) has ended; start a new run to log more."
            )

    # -- logging ---------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        """Log one param (immutable once logged)."""
        self._check_open()
        self.client.log_params(self.run_id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log several params."""
        self._check_open()
        self.client.log_params(self.run_id, params)

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag (tags can change)."""
        self._check_open()
        self.client.set_tags(self.run_id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        self._check_open()
        self.client.set_tags(self.run_id, tags)

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Queue one metric point; written in the background.

        Args:
            key: metric name.
            value: a number; NaN and ±inf are kept.
            step: position in the series; by default one past the last step logged for ``key``.
            timestamp: UTC milliseconds; defaults to now.
        """
        self._check_open()
        if key not in _valid_keys:
            check_key(key, "Metric")
            _valid_keys.add(key)
        v = _metric_value(key, value)
        step = self._steps.get(key, 0) if step is None else _int64(key, "step", step)
        stamp = now_ms() if timestamp is None else _int64(key, "timestamp", timestamp)
        self._steps[key] = step + 1
        writer.add(self.client, (self.run_id, key, v, step, stamp))

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Queue several metric points sharing a step and timestamp."""
        stamp = now_ms() if timestamp is None else timestamp
        for key, value in metrics.items():
            self.log_metric(key, value, step, stamp)

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> ArtifactEntry:
        """Store a local file under ``artifact_path/`` in the run."""
        self._check_open()
        return self.client.log_artifact(self.run_id, local_path, artifact_path)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[ArtifactEntry]:
        """Store a local folder (recursively) under ``artifact_path/``."""
        self._check_open()
        return self.client.log_artifacts(self.run_id, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> ArtifactEntry:
        """Store text as the artifact ``artifact_file``."""
        self._check_open()
        if not isinstance(text, str):
            raise InvalidArgument(f"log_text needs a str, got {type(text).__name__}.")
        return self.client.log_bytes(self.run_id, text.encode("utf-8"), artifact_file)

    def log_dict(
        self, data: Mapping[str, Any] | Sequence[Any], artifact_file: str
    ) -> ArtifactEntry:
        """Store a dict as JSON, or as YAML when ``artifact_file`` ends in ``.yaml``/``.yml``.

        NumPy (and pandas, torch) values are written as plain numbers and lists;
        other objects as their ``str()``.
        """
        self._check_open()
        if artifact_file.endswith((".yaml", ".yml")):
            text = _yaml_text(data, artifact_file)
        else:
            try:
                text = json.dumps(data, indent=2, default=_plain)
            except (TypeError, ValueError) as exc:
                raise InvalidArgument(
                    f"log_dict: cannot encode {artifact_file!r} as JSON: {exc}"
                ) from exc
        return self.log_text(text, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> ArtifactEntry:
        """Store a matplotlib or Plotly figure.

        matplotlib figures are saved in the format of the file's extension
        (``.png``, ``.svg``, ``.pdf``); Plotly figures as ``.html`` (loading
        plotly.js from its CDN) or ``.json``.
        """
        self._check_open()
        suffix = Path(artifact_file).suffix.lower().lstrip(".")
        module = type(figure).__module__
        if module.startswith("plotly"):
            if suffix == "html":
                data = figure.to_html(include_plotlyjs="cdn", full_html=True).encode("utf-8")
            elif suffix == "json":
                data = figure.to_json().encode("utf-8")
            else:
                raise InvalidArgument(
                    f"log_figure: save Plotly figures as .html or .json, not {artifact_file!r}."
                )
        elif hasattr(figure, "savefig"):
            buf = io.BytesIO()
            figure.savefig(buf, format=suffix or "png", bbox_inches="tight")
            data = buf.getvalue()
        else:
            raise InvalidArgument(
                f"log_figure needs a matplotlib or Plotly figure, got {type(figure).__name__}."
            )
        return self.client.log_bytes(self.run_id, data, artifact_file)

    def log_input(self, kind: str, ref: str, context: str | None = None) -> None:
        """Record something the run consumed (lineage), e.g. ``("dataset", "iris@3")``."""
        self._check_open()
        self.client.store.runs.add_inputs(self.run_id, [RunInput(kind, ref, context)])

    def flush(self) -> None:
        """Write buffered metrics now."""
        writer.flush()

    # -- lifecycle -------------------------------------------------------

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Flush and close the run (and any run still nested in it)."""
        if self._ended:
            return
        home = self._home
        with _stack_lock:
            if self in home:
                for child in reversed(home[home.index(self) + 1 :]):
                    child.end(status)
        try:
            if self._resources is not None:
                self._resources.stop()
            writer.flush()
        finally:
            self._ended = True
            writer.unwatch(self.run_id)
            with _stack_lock:
                if self in home:
                    home.remove(self)
            self.client.set_status(self.run_id, RunStatus(status))


def _record_environment(client: Client, run_id: str) -> dict[str, str]:
    env = environment.capture()
    entries = [
        client.artifacts.put_bytes(env.summary().encode()),
        client.artifacts.put_bytes(env.requirements().encode()),
    ]
    paths = ["environment/environment.json", "environment/requirements.txt"]
    if env.git_diff:
        entries.append(client.artifacts.put_bytes(env.git_diff.encode()))
        paths.append("environment/git.diff")
    for name, data in env.lock_files.items():
        entries.append(client.artifacts.put_bytes(data))
        paths.append(f"environment/lock/{name}")
    client.store.runs.add_artifacts(
        run_id, [ArtifactEntry(p, b.digest, b.size) for p, b in zip(paths, entries, strict=True)]
    )
    return env.tags()


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    nested: bool = True,
    capture_environment: bool = True,
    resources: bool = True,
    client: Client | None = None,
) -> ActiveRun:
    """Start a run and make it the active run.

    A run started while another is active is nested under it (a child run),
    and by default joins its experiment.

    Args:
        experiment: experiment name, created if new. Defaults to the parent's
            experiment, then ``NINEFOLD_EXPERIMENT``, then the settings' default.
        name: run name; a readable random one by default.
        params: params to log at once.
        tags: tags to set at once.
        nested: set False to refuse starting while another run is active.
        capture_environment: record git commit, diff, Python, platform and packages.
        resources: sample CPU, memory and GPU use and cost the run (see ``ninefold.costs``).
        client: the client to use (default: the one for the current settings).

    Returns:
        The :class:`ActiveRun`; use it as a context manager.
    """
    _install_hooks()
    stack = _runs()
    with _stack_lock:
        parent = stack[-1] if stack else None
    if parent is not None and not nested:
        raise StateError(f"Run {parent.name!r} is still active; end it first or pass nested=True.")
    client = client or (parent.client if parent is not None else get_client())
    exp_name = experiment or (parent.experiment if parent else None)
    exp_name = (
        exp_name
        or os.environ.get("NINEFOLD_EXPERIMENT")
        or (client.settings.default_experiment if client.settings else "Default")
    )
    exp = client.store.experiments.get_or_create(check_name(exp_name, "Experiment"))
    run_name = check_name(name, "Run") if name is not None else _run_name()
    clean_params = {check_key(k, "Param"): param_value(v, k) for k, v in (params or {}).items()}
    clean_tags = {check_key(k, "Tag"): str(v) for k, v in (tags or {}).items()}
    host, pid, started = _process.current()
    run_id = new_id()
    client.store.runs.create(
        run_id=run_id,
        experiment_id=exp.experiment_id,
        name=run_name,
        parent_run_id=parent.run_id if parent else None,
        host=host,
        pid=pid,
        pid_started=started,
        user=_process.username(),
        params_=clean_params,
        tags=clean_tags,
    )
    run = ActiveRun(client, run_id, run_name, exp.name, parent.run_id if parent else None)
    run.experiment_id = exp.experiment_id
    if capture_environment:
        try:
            client.set_tags(run_id, _record_environment(client, run_id))
        except BaseException as exc:  # the run never started: do not leave it "running"
            client.set_tags(run_id, {"ninefold.error": _error_summary(exc)})
            client.set_status(run_id, RunStatus.FAILED)
            raise
    run._home = stack
    with _stack_lock:
        stack.append(run)
    try:
        writer.watch(run_id, client)
        if resources:
            from ninefold.costs.tracker import RunResources

            run._resources = RunResources.start(
                client, run_id, lambda p: writer.add_many(client, p)
            )
    except BaseException as exc:
        # Interrupted (Ctrl-C) or failed while starting: end the run now, or the exit
        # hook would later close it as finished.
        run.end(RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED)
        raise
    return run


@contextlib.contextmanager
def activate(run: ActiveRun) -> Iterator[ActiveRun]:
    """Make an existing run the active run for a block, without ending it afterwards.

    Used by executors that create a run in one place and let user code log to
    it elsewhere (``nf.log_metric`` inside a pipeline step goes to the step's run).
    """
    stack = _runs()
    with _stack_lock:
        stack.append(run)
    writer.watch(run.run_id, run.client)
    try:
        yield run
    finally:
        try:
            writer.flush()
        finally:
            writer.unwatch(run.run_id)
            with _stack_lock:
                if run in stack:
                    stack.remove(run)


def _runs() -> list[ActiveRun]:
    own = _own_stack.get()
    return _stack if own is None else own


@contextlib.contextmanager
def own_run_stack(parent: ActiveRun | None = None) -> Iterator[None]:
    """Give the current thread a stack of active runs of its own, starting at ``parent``.

    The active run is process-wide by default, so that a thread a user starts
    logs to the run in progress. Code that drives several runs at once, one
    per thread (a parallel sweep), wraps each thread's work in this block:
    runs started inside nest under ``parent`` and stay invisible to the other
    threads, and ending one never ends another thread's run.
    """
    token = _own_stack.set([] if parent is None else [parent])
    try:
        yield
    finally:
        _own_stack.reset(token)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    stack = _runs()
    with _stack_lock:
        return stack[-1] if stack else None


def _current() -> ActiveRun:
    run = active_run()
    if run is None:
        raise NoActiveRun("No active run: wrap the call in `with nf.start_run():`.")
    return run


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def log_param(key: str, value: Any) -> None:
    """Log a param to the active run."""
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params to the active run."""
    _current().log_params(params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log a metric point to the active run (buffered; see :meth:`ActiveRun.log_metric`)."""
    _current().log_metric(key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    """Log several metric points to the active run."""
    _current().log_metrics(metrics, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags on the active run."""
    _current().set_tags(tags)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None
) -> ArtifactEntry:
    """Store a local file in the active run."""
    return _current().log_artifact(local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None
) -> list[ArtifactEntry]:
    """Store a local folder in the active run."""
    return _current().log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> ArtifactEntry:
    """Store text in the active run."""
    return _current().log_text(text, artifact_file)


def log_dict(data: Mapping[str, Any] | Sequence[Any], artifact_file: str) -> ArtifactEntry:
    """Store a dict (JSON or YAML) in the active run."""
    return _current().log_dict(data, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> ArtifactEntry:
    """Store a matplotlib or Plotly figure in the active run."""
    return _current().log_figure(figure, artifact_file)


def flush() -> None:
    """Write every buffered metric point now."""
    writer.flush()


# -- reads (no active run needed) -------------------------------------------


def get_run(run_id: str) -> Run:
    """A run with its params, tags and latest metric values."""
    writer.flush()
    return get_client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every point of one metric of a run, by step."""
    writer.flush()
    return get_client().metric_history(run_id, key)


def search_runs(
    filter: str = "",
    order_by: Sequence[str] = (),
    max_results: int | None = 1000,
    experiments: Sequence[str] | None = None,
    output: Output = "polars",
) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
    """Find runs; the filter is compiled to SQL.

    Args:
        filter: e.g. ``"metrics.acc > 0.9 and params.model = 'rf' and tags.team = 'vision'"``;
            supports ``and``, ``or``, ``not``, parentheses, ``in``, ``like``/``ilike``
            and ``is [not] null``. See :mod:`ninefold.store.filters`.
        order_by: e.g. ``["metrics.acc desc", "start_time"]``; newest first by default.
        max_results: at most this many runs (None for all).
        experiments: restrict to these experiment names.
        output: ``"polars"`` (default), ``"pandas"`` or ``"records"``.

    Returns:
        One row per run: ``run_id``, ``experiment``, ``name``, ``status``,
        ``start_time``, ``end_time``, ``parent_run_id``, ``user``, then
        ``metrics.*``, ``params.*`` and ``tags.*`` columns.
    """
    writer.flush()
    return get_client().search_runs(filter, order_by, max_results, experiments, output)


def compare_runs(
    run_ids: Sequence[str], output: Output = "polars"
) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
    """Params, metrics and tags of several runs side by side, with a ``differs`` column."""
    writer.flush()
    return get_client().compare_runs(run_ids, output)


def list_artifacts(run_id: str, path: str = "") -> list[ArtifactEntry]:
    """Files logged to a run under ``path``."""
    return get_client().list_artifacts(run_id, path)


def download_artifacts(
    run_id: str, path: str = "", dst: str | os.PathLike[str] | None = None
) -> Path:
    """Copy a run's artifact file or folder to ``dst`` (hash-checked)."""
    return get_client().download_artifacts(run_id, path, dst)


# -- process exit ------------------------------------------------------------


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    _uncaught.append(exc)
    _previous_excepthook(kind, exc, tb)


_previous_excepthook = sys.excepthook


def _error_summary(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:5000]


def _at_exit() -> None:
    error = _uncaught[-1] if _uncaught else None
    if _signalled:
        status = RunStatus.KILLED
    elif error is None:
        status = RunStatus.FINISHED
    elif isinstance(error, KeyboardInterrupt):
        status = RunStatus.KILLED
    else:
        status = RunStatus.FAILED
    with _stack_lock:
        runs = list(reversed(_stack))
    for run in runs:
        try:
            if status == RunStatus.FAILED and error is not None:
                run.client.set_tags(run.run_id, {"ninefold.error": _error_summary(error)})
            run.end(status)
        except Exception as exc:  # exiting: report and go on with the others
            print(f"ninefold: could not end run {run.run_id}: {exc}", file=sys.stderr)
    try:
        writer.flush()
    except Exception as exc:
        print(f"ninefold: could not write buffered metrics: {exc}", file=sys.stderr)


def _install_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_at_exit)
    # Only where nobody else handles SIGTERM (servers and frameworks install their own).
    # Never in worker processes (multiprocessing pools stop their workers with
    # SIGTERM and rely on its default action).
    import multiprocessing

    if (
        threading.current_thread() is threading.main_thread()
        and multiprocessing.parent_process() is None
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind like an exit, so open runs end as "killed" and buffered points are
    # written; the exit status is the one a fatal SIGTERM gives (128 + 15).
    _signalled.append(signum)
    raise SystemExit(128 + signum)


def _after_fork_in_child() -> None:
    # A forked child must not end or heartbeat its parent's runs, and gets the
    # default SIGTERM back: a pool terminating its workers must not wait on them.
    with _stack_lock:
        _stack.clear()
    _own_stack.set(None)
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = [
    "ActiveRun",
    "activate",
    "active_run",
    "compare_runs",
    "download_artifacts",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "own_run_stack",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]
