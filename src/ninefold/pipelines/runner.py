"""Running a pipeline: tracked runs, the cache, lineage and failure handling.

A pipeline run is a tracked run (``nf.start_run``) tagged ``ninefold.pipeline``
that records the environment, the params, the seed and the graph. Each step
execution is a child run with its params, seed and declared resources; its
inputs and outputs are content-addressed artifacts linked to it by lineage
edges. Before a step runs, its cache key is looked up: a hit links the outputs
of the earlier execution, a miss records why it missed.

If a step fails (after its retries), no further step starts, the steps already
running finish and are recorded, and the pipeline run is marked failed. Running
it again with the cache on resumes at the failed step: every step before it hits.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ninefold import _process
from ninefold._ids import new_id, now_ms
from ninefold._names import MAX_PARAM_VALUE, param_value
from ninefold.pipelines import cache as cache_mod
from ninefold.pipelines.definition import Graph, Node, Pipeline, Ref
from ninefold.pipelines.errors import PipelineDefinitionError, StepFailed, StepTimeout
from ninefold.pipelines.executors import (
    ArtifactSpec,
    Executor,
    Task,
    TaskResult,
    get_executor,
)
from ninefold.pipelines.fingerprint import CodePrint, Fingerprinter
from ninefold.pipelines.seeds import SEED_TAG, derive_seed
from ninefold.pipelines.values import canonical
from ninefold.store import ArtifactEntry, RunStatus
from ninefold.store.pipelines import (
    INPUT,
    OUTPUT,
    PIPELINE_TAG,
    LineageEdge,
    NewRun,
    StepExecution,
    StepRecord,
)

if TYPE_CHECKING:
    from ninefold.pipelines.sweeps import KeyClaims
    from ninefold.store.costs import ResourceUsage
    from ninefold.tracking.client import Client
    from ninefold.tracking.fluent import ActiveRun

Outputs = dict[str, "ArtifactSpec | list[ArtifactSpec]"]


def _loggable(values: Mapping[str, Any]) -> dict[str, str]:
    """Params as the strings a run stores; values longer than the limit are left out."""
    out: dict[str, str] = {}
    for key, value in values.items():
        try:
            text = value if isinstance(value, str) else canonical(value)
            if isinstance(value, float | int) and not isinstance(value, bool):
                text = param_value(value, key)
        except TypeError:
            text = repr(value)
        if len(text) <= MAX_PARAM_VALUE:
            out[key] = text
    return out


def _extension(materializer: str) -> str:
    from ninefold.pipelines.materializers import get_materializer

    try:
        return get_materializer(materializer).extension
    except Exception:
        return "bin"


def _input_edges(
    run_id: str, inputs: Mapping[str, ArtifactSpec | list[ArtifactSpec]]
) -> list[LineageEdge]:
    edges = []
    for name, spec in inputs.items():
        specs = (
            [(f"{name}[{i}]", s) for i, s in enumerate(spec)]
            if isinstance(spec, list)
            else [(name, spec)]
        )
        for edge_name, s in specs:
            edges.append(
                LineageEdge(run_id, INPUT, edge_name, s.digest, s.size, s.materializer, s.type_name)
            )
    return edges


def _output_edges(run_id: str, outputs: Mapping[str, ArtifactSpec]) -> list[LineageEdge]:
    return [
        LineageEdge(run_id, OUTPUT, name, s.digest, s.size, s.materializer, s.type_name)
        for name, s in outputs.items()
    ]


def _output_files(outputs: Mapping[str, ArtifactSpec]) -> list[ArtifactEntry]:
    return [
        ArtifactEntry(f"outputs/{name}.{_extension(s.materializer)}", s.digest, s.size)
        for name, s in outputs.items()
    ]


# -- results -----------------------------------------------------------------------


@dataclass
class PipelineRun:
    """A finished pipeline run: its steps, their cache decisions and its outputs.

    Attributes:
        run_id: the pipeline run's id.
        pipeline: the pipeline's name.
        status: the run's final status.
        params: the pipeline function's arguments.
        seed: the run's seed (None when seeding was off).
        executor: the executor's name.
        graph: the graph that ran.
    """

    run_id: str
    pipeline: str
    status: RunStatus
    params: dict[str, Any]
    seed: int | None
    executor: str
    graph: Graph
    client: Client = field(repr=False)
    values: dict[tuple[str, str], ArtifactSpec | list[ArtifactSpec]] = field(
        default_factory=dict, repr=False
    )
    trusted: bool = False
    _steps: list[StepExecution] | None = field(default=None, repr=False)

    @property
    def steps(self) -> list[StepExecution]:
        """Every step execution, in the order they were recorded (read from the store once)."""
        if self._steps is None:
            self._steps = self.client.store.pipelines.steps_of(self.run_id)
        return self._steps

    def step(self, node: str) -> StepExecution:
        """The execution of one node (e.g. ``"train"`` or ``"train[2]"``)."""
        for s in self.steps:
            if s.node == node:
                return s
        raise KeyError(
            f"No step {node!r} in run {self.run_id}; steps: {[s.node for s in self.steps]}"
        )

    @property
    def hits(self) -> list[str]:
        """Nodes that reused cached outputs."""
        return [s.node for s in self.steps if s.cache == "hit"]

    @property
    def executed(self) -> list[str]:
        """Nodes whose function ran."""
        return [s.node for s in self.steps if s.cache != "hit"]

    def explain(self) -> dict[str, list[str]]:
        """Each node's cache decision in words: ``["hit (run ...)"]`` or the miss reasons."""
        return {s.node: explain_lines(s) for s in self.steps}

    def load(self, ref: Ref) -> Any:
        """The value of one step output of this run."""
        from ninefold.pipelines.materializers import load_value

        spec = self.values.get((ref.node, ref.output))
        if spec is None:
            raise PipelineDefinitionError(f"{ref!r} was not produced by run {self.run_id}.")
        trusted = self.trusted or self.graph.nodes[ref.node].step.trusted

        def one(s: ArtifactSpec) -> Any:
            data = self.client.artifacts.read_bytes(s.digest, f"{ref!r}")
            return load_value(s.materializer, data, trusted=trusted, where=f"{ref!r}")

        return [one(s) for s in spec] if isinstance(spec, list) else one(spec)

    def output(self) -> Any:
        """What the pipeline function returned, with every step output loaded."""

        def resolve(value: Any) -> Any:
            if isinstance(value, Ref):
                return self.load(value)
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, tuple):
                return tuple(resolve(v) for v in value)
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            return value

        return resolve(self.graph.result)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": str(self.status),
            "params": self.params,
            "seed": self.seed,
            "executor": self.executor,
            "steps": [s.to_dict() for s in self.steps],
        }


def explain_lines(execution: StepExecution) -> list[str]:
    """One step's cache decision in words."""
    if execution.cache == "hit":
        return [f"hit: reused the outputs of run {execution.source_run_id}"]
    return list(execution.reasons)


# -- the scheduler -------------------------------------------------------------------


@dataclass
class _Started:
    node: Node
    run_id: str
    inputs: dict[str, ArtifactSpec | list[ArtifactSpec]]
    execution: StepExecution


class _Scheduler:
    def __init__(
        self,
        pipeline: Pipeline,
        graph: Graph,
        executor: Executor,
        client: Client,
        run: ActiveRun,
        experiment_id: str,
        use_cache: bool,
        seed: int | None,
    ) -> None:
        self.pipeline = pipeline
        self.graph = graph
        self.executor = executor
        self.client = client
        self.run = run
        self.experiment_id = experiment_id
        self.use_cache = use_cache
        self.seed = seed
        self.fingerprints = Fingerprinter()
        self.code: dict[int, CodePrint] = {}
        self.done: dict[str, Outputs] = {}
        self.pending: list[Node] = list(graph.nodes.values())
        self.inflight: dict[Future[TaskResult], _Started] = {}
        self.maps: dict[str, tuple[Node, list[str]]] = {}
        self.blobs: dict[str, bytes] | None = None if executor.parallel else {}
        self.failure: tuple[_Started, TaskResult] | None = None
        self.host, self.pid, self.pid_started = _process.current()
        self.user = _process.username()
        self.capacity = getattr(executor, "max_workers", 1) if executor.parallel else 1
        self.element_inputs: dict[str, dict[str, ArtifactSpec]] = {}
        self.unsaved: list[StepRecord] = []
        # Runs sharing an executor in a parallel sweep share its claims on cache keys.
        self.claims: KeyClaims | None = getattr(executor, "claims", None)
        self.held: set[str] = set()
        self.waiting: dict[Future[None], Node] = {}
        self.waited: set[str] = set()
        self.usages: list[ResourceUsage] = []
        self.side_effects = True
        """False: steps with side effects reuse earlier outputs instead of running."""

    # -- helpers ---------------------------------------------------------------

    def trusted(self, node: Node) -> bool:
        return self.pipeline.trusted or node.step.trusted

    def code_print(self, node: Node) -> CodePrint:
        fn = node.step.fn
        found = self.code.get(id(fn))
        if found is None:
            found = self.code[id(fn)] = self.fingerprints.step(fn)
        return found

    def resolve(self, node: Node) -> dict[str, ArtifactSpec | list[ArtifactSpec]]:
        def one(ref: Ref) -> ArtifactSpec | list[ArtifactSpec]:
            return self.done[ref.node][ref.output]

        inputs: dict[str, ArtifactSpec | list[ArtifactSpec]] = {}
        for name, value in node.inputs.items():
            if isinstance(value, list):
                specs: list[ArtifactSpec] = []
                for ref in value:
                    spec = one(ref)
                    assert isinstance(spec, ArtifactSpec)
                    specs.append(spec)
                inputs[name] = specs
            else:
                inputs[name] = one(value)
        return inputs

    def ready(self, node: Node) -> bool:
        return all(u in self.done for u in node.upstream)

    # -- the loop ------------------------------------------------------------

    def execute(self) -> None:
        while True:
            if self.failure is None:
                self.start_ready()
            else:
                self.waiting.clear()  # nothing new starts after a failure
            if not self.inflight and not self.waiting:
                break
            futures: list[Future[Any]] = [*self.inflight, *self.waiting]
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                waited = self.waiting.pop(future, None)
                if waited is not None:
                    self.pending.insert(0, waited)  # computed by another run: look it up again
                else:
                    self.finish(future)
        self.flush()
        if self.failure is not None:
            started, result = self.failure
            node = started.node.id
            detail = result.error or "unknown error"
            cls = StepTimeout if result.timed_out else StepFailed
            error = cls(
                f"Step {node!r} of pipeline {self.pipeline.name!r} failed after "
                f"{result.attempts} attempt(s): {detail}. Step run {started.run_id}, pipeline run "
                f"{self.run.run_id}. Fix it and run the pipeline again: steps that succeeded "
                "will hit the cache.",
                pipeline_run_id=self.run.run_id,
                step_run_id=started.run_id,
                node=node,
            )
            raise error from result.exception

    def start_ready(self) -> None:
        progressed = True
        while progressed and self.failure is None:
            progressed = False
            for node in list(self.pending):
                if self.failure is not None or len(self.inflight) >= self.capacity:
                    return
                if not self.ready(node):
                    continue
                self.pending.remove(node)
                progressed = True
                if node.map_items is not None:
                    self.expand(node)
                else:
                    self.start(node, self.resolve(node))
                break  # restart the scan: finishing a node may unlock earlier ones

    def expand(self, node: Node) -> None:
        """Turn a map over a step output into one node per element."""
        from ninefold.pipelines.materializers import dump_value, load_value, type_name

        assert node.map_items is not None
        assert node.map_over is not None
        source = self.done[node.map_items.node][node.map_items.output]
        assert isinstance(source, ArtifactSpec)
        data = self.blobs.get(source.digest) if self.blobs is not None else None
        if data is None:
            data = self.client.artifacts.read_bytes(source.digest, repr(node.map_items))
        items = load_value(
            source.materializer, data, trusted=self.trusted(node), where=repr(node.map_items)
        )
        if isinstance(items, str | bytes | dict) or not hasattr(items, "__len__"):
            raise PipelineDefinitionError(
                f"Step {node.id!r} maps over {node.map_items!r}, which is a "
                f"{type(items).__name__}; step.map() needs a list, tuple or 1-D array."
            )
        items = list(items)
        base = node.id[: -len("[*]")]
        elements: list[str] = []
        new_nodes: list[Node] = []
        for i, item in enumerate(items):
            materializer, blob = dump_value(
                item, trusted=self.trusted(node), where=f"element {i} of {node.map_items!r}"
            )
            info = self.client.artifacts.put_bytes(blob)
            spec = ArtifactSpec(info.digest, info.size, materializer.name, type_name(item))
            element = Node(
                f"{base}[{i}]",
                node.step,
                dict(node.params),
                dict(node.inputs),
                node.seed_param,
                upstream=node.upstream,
            )
            elements.append(element.id)
            new_nodes.append(element)
            self.element_inputs[element.id] = {node.map_over: spec}
        self.maps[node.id] = (node, elements)
        if not elements:
            self.done[node.id] = {name: [] for name in node.outputs}
            return
        # Elements go first in the queue, in order.
        self.pending[:0] = new_nodes

    def start(self, node: Node, inputs: dict[str, ArtifactSpec | list[ArtifactSpec]]) -> None:
        extra = self.element_inputs.pop(node.id, None)
        if extra:
            inputs = {**inputs, **extra}
        step = node.step
        step_seed = None if self.seed is None else derive_seed(self.seed, node.id)
        code = self.code_print(node)
        parts = cache_mod.components(
            step=step.qualified_name,
            code=code,
            params=node.params,
            inputs=cache_mod.input_digests(inputs),
            seed=step_seed,
            outputs=step.outputs,
        )
        key = cache_mod.cache_key(parts)
        replay = step.side_effects and not self.side_effects
        found = cache_mod.lookup(
            self.client,
            pipeline=self.pipeline.name,
            node=node.id,
            step=step.qualified_name,
            parts=parts,
            key=key,
            run_cache=self.use_cache or replay,
            step_cache=step.cache or replay,
            expire_s=None if replay else step.expire_s,
            pipeline_run_id=self.run.run_id,
        )
        if self.claims is not None and found.cache == "miss" and node.id not in self.waited:
            holder = self.claims.claim(key)
            if holder is not None:
                # A concurrent run of the sweep computes this very step: wait for it.
                if extra:
                    self.element_inputs[node.id] = extra
                self.waited.add(node.id)
                self.waiting[holder] = node
                return
            self.held.add(key)
        run_id = new_id()
        tags = {
            "ninefold.pipeline.node": node.id,
            "ninefold.pipeline.step": step.qualified_name,
            "ninefold.cache": found.cache,
            **step.resources.tags(),
        }
        if step_seed is not None:
            tags[SEED_TAG] = str(step_seed)
        new_run = NewRun(
            experiment_id=self.experiment_id,
            name=node.id,
            parent_run_id=self.run.run_id,
            host=self.host,
            pid=self.pid,
            pid_started=self.pid_started,
            user=self.user,
            start_ms=now_ms(),
            params=_loggable(node.params),
            tags=tags,
        )
        execution = StepExecution(
            run_id=run_id,
            pipeline_run_id=self.run.run_id,
            pipeline=self.pipeline.name,
            node=node.id,
            step=step.qualified_name,
            cache_key=key,
            cache=found.cache,
            source_run_id=None if found.source is None else found.source.run_id,
            reasons=found.reasons,
            components=parts,
            seed=step_seed,
            attempts=0,
            created_ms=new_run.start_ms,
        )
        if found.cache == "hit":
            outputs = cache_mod.hit_outputs(found)
            self.save(
                StepRecord(
                    execution,
                    _input_edges(run_id, inputs) + _output_edges(run_id, outputs),
                    RunStatus.FINISHED,
                    _output_files(outputs),
                    new_run=new_run,
                )
            )
            self.complete(node, dict(outputs))
            return
        self.flush(start=(run_id, new_run))
        started = _Started(node, run_id, inputs, execution)
        if replay:
            # Running it again would act on the world a second time (register a model,
            # move an alias): with inputs no earlier execution had, it does not run.
            not_run: Future[TaskResult] = Future()
            not_run.set_result(
                TaskResult(
                    error=(
                        f"Step {node.id!r} has side effects and was not run again: no earlier "
                        f"execution had the same inputs, code and params, so there are no "
                        f"outputs to reuse ({'; '.join(found.reasons) or 'cache miss'})."
                    ),
                    error_type="SideEffectsNotReplayed",
                    start_ms=new_run.start_ms,
                    end_ms=now_ms(),
                )
            )
            self.inflight[not_run] = started
            self.finish(not_run)
            return
        modules = tuple(
            m for m in ("numpy", "torch") if m in sys.modules or m in code.distributions
        )
        task = Task(
            run_id=run_id,
            node=node.id,
            pipeline=self.pipeline.name,
            experiment=self.run.experiment,
            parent_run_id=self.run.run_id,
            step=step,
            params=dict(node.params),
            inputs=inputs,
            seed=step_seed,
            seed_param=node.seed_param,
            seed_modules=modules,
            trusted=self.trusted(node),
            store_url=self.client.store_url,
            artifact_root=self.client.artifact_root,
        )
        future = self.executor.submit(task, self.client, self.blobs)
        self.inflight[future] = started
        if not self.executor.parallel:
            self.finish(future)

    def finish(self, future: Future[TaskResult]) -> None:
        started = self.inflight.pop(future)
        try:
            result = future.result()
        except Exception as exc:
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):
                reset = getattr(self.executor, "reset", None)
                if reset is not None:
                    reset()
                message = (
                    f"the worker process running step {started.node.id!r} died "
                    f"(killed or crashed): {exc}"
                )
            else:
                message = f"{type(exc).__name__}: {exc}"
            result = TaskResult(
                attempts=1,
                error=message,
                error_type=type(exc).__name__,
                exception=exc,
                start_ms=started.execution.created_ms,
                end_ms=now_ms(),
            )
        execution = replace(started.execution, attempts=result.attempts)
        if result.usage is not None:
            self.usages.append(result.usage)
        tags = {"ninefold.pipeline.attempts": str(result.attempts)}
        if result.failures and result.ok:
            tags["ninefold.pipeline.retried_after"] = " | ".join(result.failures)[:5000]
        if result.ok:
            self.save(
                StepRecord(
                    execution,
                    _input_edges(started.run_id, started.inputs)
                    + _output_edges(started.run_id, result.outputs),
                    RunStatus.FINISHED,
                    _output_files(result.outputs),
                    tags,
                    result.end_ms or None,
                    usage=result.usage,
                )
            )
            self.release(execution.cache_key, ok=True)
            self.complete(started.node, dict(result.outputs))
            return
        files = []
        if result.traceback:
            info = self.client.artifacts.put_bytes(result.traceback.encode())
            files.append(ArtifactEntry("errors/traceback.txt", info.digest, info.size))
        tags["ninefold.error"] = (result.error or "unknown error")[:5000]
        if result.timed_out:
            tags["ninefold.pipeline.timed_out"] = "true"
        self.save(
            StepRecord(
                execution,
                _input_edges(started.run_id, started.inputs),
                RunStatus.FAILED,
                files,
                tags,
                result.end_ms or None,
                usage=result.usage,
            )
        )
        self.flush()
        self.release(execution.cache_key, ok=False)
        if self.failure is None:
            self.failure = (started, result)

    def cost_steps(self) -> None:
        """Cost the steps that ran (their usage is stored with their records)."""
        from ninefold.costs.tracker import cost_measured_runs

        usages, self.usages = self.usages, []
        cost_measured_runs(self.client, usages)

    def release(self, key: str | None, *, ok: bool) -> None:
        """Let the concurrent runs waiting for this cache key look it up again."""
        if self.claims is None or key is None or key not in self.held:
            return
        self.flush()  # the step's record must be visible to them first
        self.held.discard(key)
        self.claims.release(key, ok=ok)

    def save(self, record: StepRecord) -> None:
        """Queue a finished step's record; written with the next step's start, or now."""
        self.unsaved.append(record)
        if self.executor.parallel:
            self.flush()

    def flush(self, start: tuple[str, NewRun] | None = None) -> None:
        """Write queued records (and start the next step's run) in one transaction."""
        records, self.unsaved = self.unsaved, []
        self.client.store.pipelines.record(records, start)

    def complete(self, node: Node, outputs: Outputs) -> None:
        self.done[node.id] = outputs
        for map_id, (map_node, elements) in self.maps.items():
            if map_id in self.done or node.id not in elements:
                continue
            if all(e in self.done for e in elements):
                collected: Outputs = {}
                for name in map_node.outputs:
                    specs = []
                    for e in elements:
                        spec = self.done[e][name]
                        assert isinstance(spec, ArtifactSpec)
                        specs.append(spec)
                    collected[name] = specs
                self.done[map_id] = collected

    def abort(self, status: RunStatus, reason: str) -> None:
        """Mark every step run still in flight as ended (after an interrupt)."""
        try:
            self.flush()
        except Exception as exc:  # ending up: report and go on
            print(f"ninefold: could not record finished steps: {exc}", file=sys.stderr)
        for started in self.inflight.values():
            try:
                self.client.set_tags(started.run_id, {"ninefold.error": reason})
                self.client.store.runs.set_status(started.run_id, status)
            except Exception as exc:  # ending up: report and go on with the others
                print(f"ninefold: could not end step run {started.run_id}: {exc}", file=sys.stderr)
        self.inflight.clear()
        if self.claims is not None:
            for key in list(self.held):
                self.held.discard(key)
                self.claims.release(key, ok=False)


def _experiment_id(client: Client, name: str) -> str:
    return client.store.experiments.get_or_create(name).experiment_id


def run_pipeline(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None,
    *,
    executor: str | Executor | None = None,
    cache: bool | None = None,
    seed: int | None = 0,
    client: Client | None = None,
    max_workers: int | None = None,
    extra_tags: Mapping[str, str] | None = None,
    side_effects: bool = True,
) -> PipelineRun:
    """Run a pipeline (see :meth:`Pipeline.run`).

    With ``side_effects=False`` (a reproduction) a step declared with
    ``side_effects=True`` is not run: it reuses the outputs of an earlier
    execution with the same cache key, or fails, naming why, when none exists.
    """
    from ninefold.pipelines.reproduce import source_tags
    from ninefold.pipelines.seeds import _check
    from ninefold.tracking.client import get_client

    graph = pipeline.graph(params)
    if seed is not None:
        _check(seed)
    client = client or get_client()
    use_cache = pipeline.cache if cache is None else bool(cache)
    engine = get_executor(executor if executor is not None else pipeline.executor, max_workers)
    tags = {
        **(extra_tags or {}),
        PIPELINE_TAG: pipeline.name,
        "ninefold.pipeline.executor": engine.name,
        "ninefold.pipeline.cache": str(use_cache).lower(),
        **source_tags(pipeline, graph),
    }
    if seed is not None:
        tags[SEED_TAG] = str(seed)
    # One idle connection held for the whole run keeps SQLite from checkpointing its
    # log each time the run's many short transactions close their connections.
    with client.store.pipelines.session():
        return _run(pipeline, graph, engine, client, use_cache, seed, tags, side_effects)


def _run(
    pipeline: Pipeline,
    graph: Graph,
    engine: Executor,
    client: Client,
    use_cache: bool,
    seed: int | None,
    tags: dict[str, str],
    side_effects: bool = True,
) -> PipelineRun:
    from ninefold.tracking.fluent import _error_summary, start_run

    run = start_run(
        experiment=pipeline.experiment,
        name=pipeline.name,
        params=_loggable(graph.params),
        tags=tags,
        client=client,
    )
    scheduler: _Scheduler | None = None
    try:
        client.log_bytes(
            run.run_id,
            canonical_graph(graph).encode(),
            "pipeline/graph.json",
        )
        scheduler = _Scheduler(
            pipeline,
            graph,
            engine,
            client,
            run,
            run.experiment_id or _experiment_id(client, run.experiment),
            use_cache,
            seed,
        )
        scheduler.side_effects = side_effects
        scheduler.execute()
    except BaseException as exc:
        status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        if scheduler is not None:
            scheduler.abort(status, f"pipeline run stopped: {_error_summary(exc)}")
            with contextlib.suppress(Exception):  # stopping: costs can be refreshed later
                scheduler.cost_steps()
        for step_run in client.store.pipelines.running_steps(run.run_id):
            client.store.runs.set_status(step_run, status)
        try:
            client.set_tags(run.run_id, {"ninefold.error": _error_summary(exc)})
        finally:
            run.end(status)
            engine.close()
        raise
    scheduler.cost_steps()
    run.end(RunStatus.FINISHED)
    engine.close()
    values: dict[tuple[str, str], ArtifactSpec | list[ArtifactSpec]] = {}
    for node_id, outputs in scheduler.done.items():
        for name, spec in outputs.items():
            values[(node_id, name)] = spec
    return PipelineRun(
        run_id=run.run_id,
        pipeline=pipeline.name,
        status=RunStatus.FINISHED,
        params=graph.params,
        seed=seed,
        executor=engine.name,
        graph=graph,
        client=client,
        values=values,
        trusted=pipeline.trusted,
    )


def canonical_graph(graph: Graph) -> str:
    """The graph as indented JSON (stored with every pipeline run)."""
    import json

    return json.dumps(graph.to_dict(), indent=2, default=repr)


__all__ = ["PipelineRun", "explain_lines", "run_pipeline"]
