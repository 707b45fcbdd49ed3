"""Steps, pipelines and the graph a pipeline function builds.

Inside a pipeline function, calling a step does not run it: it adds a node to
the pipeline's graph and returns a lazy :class:`Ref` to the step's output.
The whole graph is therefore known before anything runs, which is what makes
``graph``, dry runs and cache plans possible. Values that are not step outputs
become the step's params.

Outside a pipeline, a step is a plain function: ``clean(df)`` just calls it.

This module imports nothing heavy, so decorating steps costs nothing at import.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import functools
import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from ninefold.pipelines.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from ninefold.pipelines.executors import Executor
    from ninefold.pipelines.planning import PlannedStep
    from ninefold.pipelines.runner import PipelineRun
    from ninefold.pipelines.sweeps import SweepResult
    from ninefold.tracking.client import Client

P = ParamSpec("P")
R = TypeVar("R")

SEED_PARAM = "seed"
"""A step parameter with this name, left unset, receives the step's derived seed."""

_current: contextvars.ContextVar[Graph | None] = contextvars.ContextVar(
    "ninefold_pipeline_graph", default=None
)


# -- option parsing ------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1024,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mi": 1024**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gi": 1024**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ti": 1024**4,
    "tib": 1024**4,
}


def parse_duration(value: object, what: str) -> float | None:
    """Seconds from a number, a :class:`~datetime.timedelta` or text like ``"30m"``, ``"7d"``."""
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m[1]) * _DURATION_UNITS[m[2]]
    else:
        raise PipelineDefinitionError(
            f"{what}={value!r} is not a duration: give seconds (e.g. 3600), a timedelta, "
            "or text such as '30s', '15m', '2h', '7d', '1w'."
        )
    if seconds <= 0:
        raise PipelineDefinitionError(f"{what}={value!r} must be positive.")
    return seconds


def parse_memory(value: object) -> int | None:
    """Bytes from a number of bytes or text like ``"512MiB"``, ``"4GB"``, ``"2g"``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and (m := _MEMORY.match(value)):
        unit = (m[2] or "").lower()
        if unit in _MEMORY_UNITS:
            return int(float(m[1]) * _MEMORY_UNITS[unit])
    raise PipelineDefinitionError(
        f"memory={value!r} is not an amount of memory: give bytes (e.g. 2_000_000_000) or "
        "text such as '512MiB', '4GB', '2g'."
    )


def _positive(value: object, what: str, *, integer: bool = False, zero: bool = False) -> Any:
    ok_type = int if integer else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, ok_type)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "an integer" if integer else "a number"
        bound = ">= 0" if zero else "> 0"
        raise PipelineDefinitionError(f"{what}={value!r} must be {kind} {bound}.")
    return value


# -- steps ---------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """What a step asks for: CPUs, memory in bytes and GPUs (None when not declared)."""

    cpus: float | None = None
    memory: int | None = None
    gpus: float | None = None

    def tags(self) -> dict[str, str]:
        """The ``ninefold.resources.*`` run tags the costs module reads."""
        tags: dict[str, str] = {}
        if self.cpus is not None:
            tags["ninefold.resources.cpu"] = f"{self.cpus:g}"
        if self.memory is not None:
            tags["ninefold.resources.memory_gib"] = f"{self.memory / 1024**3:.6g}"
        if self.gpus is not None:
            tags["ninefold.resources.gpu"] = f"{self.gpus:g}"
        return tags


def module_name(obj: Any) -> str:
    """The module an object is defined in; a script run as ``__main__`` is named after its file."""
    name: str = getattr(obj, "__module__", None) or "__main__"
    if name == "__main__":
        import sys

        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        if path:
            return Path(path).stem
    return name


def _load_step(module: str, qualname: str) -> Step[..., Any]:
    """Import a step by module and qualified name (how steps travel to worker processes)."""
    import sys

    mod = sys.modules.get(module) or importlib.import_module(module)
    obj: Any = mod
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, Step):
        return obj
    raise PipelineDefinitionError(
        f"{module}.{qualname} is not a step (got {type(obj).__name__}); decorate it with @nf.step."
    )


class Step(Generic[P, R]):
    """A pipeline step: a typed function plus how to run and cache it.

    Create with :func:`step`. Calling a step inside a pipeline adds it to the
    graph and returns a lazy :class:`Ref`; outside a pipeline it runs the
    function directly.
    """

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        cache: bool = True,
        expire: float | str | _dt.timedelta | None = None,
        retries: int = 0,
        retry_delay_s: float = 1.0,
        backoff: float = 2.0,
        timeout_s: float | None = None,
        cpus: float | None = None,
        memory: int | str | None = None,
        gpus: float | None = None,
        outputs: Sequence[str] | None = None,
        trusted: bool = False,
        side_effects: bool = False,
    ) -> None:
        if not callable(fn) or not hasattr(fn, "__code__"):
            raise PipelineDefinitionError(
                f"@nf.step decorates a plain Python function, got {type(fn).__name__}."
            )
        self.fn = fn
        self.name = name or fn.__name__
        if not isinstance(self.name, str) or not re.match(
            r"^[A-Za-z_][A-Za-z0-9_\-.]*$", self.name
        ):
            raise PipelineDefinitionError(
                f"Step name {self.name!r} is not allowed: use letters, digits, '_', '-' and '.'."
            )
        if not isinstance(cache, bool):
            raise PipelineDefinitionError(f"Step {self.name!r}: cache must be True or False.")
        self.cache = cache
        self.expire_s = parse_duration(expire, f"Step {self.name!r}: expire")
        self.retries: int = _positive(
            retries, f"Step {self.name!r}: retries", integer=True, zero=True
        )
        self.retry_delay_s: float = _positive(
            retry_delay_s, f"Step {self.name!r}: retry_delay_s", zero=True
        )
        self.backoff: float = _positive(backoff, f"Step {self.name!r}: backoff")
        if backoff < 1:
            raise PipelineDefinitionError(
                f"Step {self.name!r}: backoff={backoff!r} must be >= 1 (1 keeps the delay fixed)."
            )
        self.timeout_s = (
            None
            if timeout_s is None
            else float(_positive(timeout_s, f"Step {self.name!r}: timeout_s"))
        )
        self.resources = Resources(
            cpus=None if cpus is None else float(_positive(cpus, f"Step {self.name!r}: cpus")),
            memory=parse_memory(memory),
            gpus=None
            if gpus is None
            else float(_positive(gpus, f"Step {self.name!r}: gpus", zero=True)),
        )
        self.trusted = bool(trusted)
        if not isinstance(side_effects, bool):
            raise PipelineDefinitionError(
                f"Step {self.name!r}: side_effects must be True or False."
            )
        self.side_effects = side_effects
        self.signature = inspect.signature(fn)
        for p in self.signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise PipelineDefinitionError(
                    f"Step {self.name!r} takes *{p.name}: steps need named parameters so that "
                    "inputs and params can be told apart and cached. List them explicitly."
                )
        self.outputs = self._output_names(outputs)
        functools.update_wrapper(self, fn)

    def _output_names(self, outputs: Sequence[str] | None) -> tuple[str, ...]:
        if outputs is not None:
            names = (outputs,) if isinstance(outputs, str) else tuple(outputs)
            if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
                raise PipelineDefinitionError(
                    f"Step {self.name!r}: outputs={outputs!r} must be identifiers, "
                    "e.g. outputs=('X_train', 'X_test')."
                )
            if len(set(names)) != len(names):
                raise PipelineDefinitionError(f"Step {self.name!r}: outputs {names} repeat a name.")
            return names
        try:
            hints = typing.get_type_hints(self.fn)
        except Exception:
            hints = {}
        ret = hints.get("return")
        if typing.get_origin(ret) is tuple:
            args = typing.get_args(ret)
            if args and Ellipsis not in args:
                return tuple(f"output_{i}" for i in range(len(args)))
        return ("output",)

    @property
    def qualified_name(self) -> str:
        """``module:qualname`` of the step's function."""
        return f"{module_name(self.fn)}:{self.fn.__qualname__}"

    def __repr__(self) -> str:
        return f"<Step {self.name} ({self.qualified_name})>"

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # Steps travel to worker processes by name; the worker imports them.
        return _load_step, (getattr(self.fn, "__module__", "__main__"), self.fn.__qualname__)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        graph = _current.get()
        if graph is None:
            for value in (*args, *kwargs.values()):
                for ref in _refs_in(value):
                    raise PipelineDefinitionError(
                        f"Step {self.name!r} was called with {ref!r} outside the pipeline "
                        f"{ref.graph.pipeline!r} that produced it. Step outputs only exist "
                        "inside their pipeline function; call the step from there, or run the "
                        "pipeline and pass the loaded value (run.output())."
                    )
            return self.fn(*args, **kwargs)
        return graph.add(self, args, kwargs)  # type: ignore[return-value]

    def map(self, items: Any, /, *, over: str | None = None, **kwargs: Any) -> Any:
        """Fan out: call the step once per element of ``items``.

        Each element is passed as the step's first parameter (or as ``over``);
        ``kwargs`` go unchanged to every call. ``items`` may be a list known when
        the pipeline is defined (one node per element) or the output of another
        step (expanded when that output exists).

        Returns:
            A list of lazy outputs for a literal list; a lazy list for a step output.
        """
        graph = _current.get()
        if graph is None:
            raise PipelineDefinitionError(
                f"{self.name}.map() only works inside a @nf.pipeline function; outside one, "
                "use a list comprehension over the plain function."
            )
        target = over or next(iter(self.signature.parameters), None)
        if target is None or target not in self.signature.parameters:
            raise PipelineDefinitionError(
                f"{self.name}.map(over={over!r}): the step has no parameter {target!r}; "
                f"its parameters are {list(self.signature.parameters)}."
            )
        if target in kwargs:
            raise PipelineDefinitionError(
                f"{self.name}.map(): {target!r} is the mapped parameter; do not pass it again."
            )
        if isinstance(items, Ref):
            return graph.add_map(self, target, items, kwargs)
        if isinstance(items, list | tuple):
            base = graph.new_id(self.name)
            return [
                graph.add(self, (), {**kwargs, target: item}, node_id=f"{base}[{i}]")
                for i, item in enumerate(items)
            ]
        raise PipelineDefinitionError(
            f"{self.name}.map() needs a list or a step output, got {type(items).__name__}."
        )


@overload
def step(fn: Callable[P, R], /) -> Step[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    expire: float | str | _dt.timedelta | None = None,
    retries: int = 0,
    retry_delay_s: float = 1.0,
    backoff: float = 2.0,
    timeout_s: float | None = None,
    cpus: float | None = None,
    memory: int | str | None = None,
    gpus: float | None = None,
    outputs: Sequence[str] | None = None,
    trusted: bool = False,
    side_effects: bool = False,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(fn: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Make a function a pipeline step.

    Args:
        fn: the function (when used as ``@nf.step`` without parentheses).
        **options: ``name``; ``cache`` (False: always run); ``expire`` (a cached
            result older than this is not reused: seconds, timedelta or ``"7d"``);
            ``retries``, ``retry_delay_s`` and ``backoff`` (the delay grows by this
            factor per attempt); ``timeout_s`` per attempt; ``cpus``, ``memory``
            (``"4GiB"``) and ``gpus`` it needs; ``outputs`` (names of the items of
            a returned tuple); ``trusted`` (allow pickle for values no safe format
            can store); ``side_effects`` (the step changes something besides its
            outputs, such as registering a model or moving an alias: ``ninefold
            reproduce`` then reuses its recorded outputs instead of running it again).

    Example:
        >>> import ninefold as nf
        >>> @nf.step(retries=2, timeout_s=600)
        ... def train(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
        ...     return LogisticRegression(C=C).fit(X, y)  # doctest: +SKIP
    """
    if fn is not None:
        if options:
            raise PipelineDefinitionError("Use @nf.step or @nf.step(option=...), not both.")
        return Step(fn)

    def wrap(f: Callable[P, R]) -> Step[P, R]:
        return Step(f, **options)

    return wrap


# -- references and nodes --------------------------------------------------------


class Ref:
    """A lazy step output inside a pipeline function.

    Pass it to other steps. It has no value while the pipeline is being
    defined, so using it in Python expressions raises a clear error.
    """

    __slots__ = ("graph", "is_list", "node", "output")

    def __init__(self, graph: Graph, node: str, output: str, *, is_list: bool = False) -> None:
        self.graph = graph
        self.node = node
        self.output = output
        self.is_list = is_list

    def __repr__(self) -> str:
        suffix = "" if self.output == "output" else f".{self.output}"
        return f"<output of step {self.node}{suffix}>"

    def _misuse(self, what: str) -> PipelineDefinitionError:
        return PipelineDefinitionError(
            f"{self!r} has no value while the pipeline {self.graph.pipeline!r} is being defined, "
            f"so it cannot be {what}. Pass it to another step and do the work there."
        )

    def __bool__(self) -> bool:
        raise self._misuse("used as a condition")

    def __iter__(self) -> Iterator[Any]:
        raise self._misuse(
            "unpacked or iterated (a step with several outputs declares outputs=(...) or "
            "returns tuple[A, B]; fan out over a list with step.map())"
        )

    def __len__(self) -> int:
        raise self._misuse("measured with len()")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise self._misuse(f"read as .{name}")

    def __getitem__(self, key: Any) -> Any:
        raise self._misuse(f"indexed with [{key!r}]")


def _refs_in(value: Any) -> Iterator[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _refs_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _refs_in(v)


@dataclass
class Node:
    """One step call in a pipeline graph.

    Attributes:
        id: unique in the graph: the step name, ``name_2`` when called again,
            ``name[i]`` for the elements of a map.
        step: the step.
        params: literal arguments (JSON-able values).
        inputs: arguments that are step outputs: a :class:`Ref` or a list of them.
        seed_param: whether the step's ``seed`` parameter receives the derived seed.
        map_over: for a map over a step output, the mapped parameter.
        map_items: for a map over a step output, the list it maps over.
    """

    id: str
    step: Step[..., Any]
    params: dict[str, Any]
    inputs: dict[str, Ref | list[Ref]]
    seed_param: bool = False
    map_over: str | None = None
    map_items: Ref | None = None
    upstream: tuple[str, ...] = ()

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the node's outputs."""
        return self.step.outputs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description."""
        return {
            "id": self.id,
            "step": self.step.qualified_name,
            "params": self.params,
            "inputs": {
                k: [_ref_text(r) for r in v] if isinstance(v, list) else _ref_text(v)
                for k, v in self.inputs.items()
            },
            "map": None
            if self.map_items is None
            else {"over": self.map_over, "items": _ref_text(self.map_items)},
            "outputs": list(self.outputs),
            "upstream": list(self.upstream),
        }


def _ref_text(ref: Ref) -> str:
    return ref.node if ref.output == "output" else f"{ref.node}.{ref.output}"


@dataclass
class Graph:
    """The DAG a pipeline function builds: nodes in the order they were added.

    That order is topological: a node can only use outputs of nodes added before it.
    """

    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    result: Any = None
    _counts: dict[str, int] = field(default_factory=dict)

    def new_id(self, name: str) -> str:
        """A node id not used yet: ``name``, then ``name_2``, ``name_3`` ..."""
        n = self._counts.get(name, 0)
        while True:
            n += 1
            candidate = name if n == 1 else f"{name}_{n}"
            if candidate not in self.nodes and f"{candidate}[0]" not in self.nodes:
                self._counts[name] = n
                return candidate

    def _classify(
        self, step: Step[..., Any], node_id: str, arguments: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Ref | list[Ref]], set[str]]:
        from ninefold.pipelines.values import canonical

        params: dict[str, Any] = {}
        inputs: dict[str, Ref | list[Ref]] = {}
        upstream: set[str] = set()
        for name, value in arguments.items():
            refs = list(_refs_in(value))
            for ref in refs:
                if ref.graph is not self:
                    raise PipelineDefinitionError(
                        f"Step {node_id!r}: argument {name!r} is {ref!r} from pipeline "
                        f"{ref.graph.pipeline!r}, a different pipeline run. Outputs cannot be "
                        "shared between pipelines; produce the value inside this pipeline."
                    )
            if isinstance(value, Ref):
                inputs[name] = value
                upstream.add(value.node)
            elif (
                refs and isinstance(value, list | tuple) and all(isinstance(v, Ref) for v in value)
            ):
                if any(v.is_list for v in value):
                    raise PipelineDefinitionError(
                        f"Step {node_id!r}: argument {name!r} mixes a mapped output with others; "
                        "pass the mapped output on its own."
                    )
                inputs[name] = list(value)
                upstream.update(v.node for v in value)
            elif refs:
                raise PipelineDefinitionError(
                    f"Step {node_id!r}: argument {name!r} nests step outputs inside a "
                    f"{type(value).__name__}. Pass a step output directly or a list of step "
                    "outputs; build other structures inside a step."
                )
            else:
                try:
                    canonical(value)
                except TypeError as exc:
                    raise PipelineDefinitionError(
                        f"Step {node_id!r}: argument {name!r} is a {type(value).__name__}, which "
                        "is neither a step output nor a plain value (numbers, strings, bools, "
                        "None, lists, tuples and dicts of them). Create it inside a step and "
                        f"pass that step's output instead. ({exc})"
                    ) from None
                params[name] = value
        return params, inputs, upstream

    def _bind(
        self, step: Step[..., Any], node_id: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        try:
            bound = step.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"Step {node_id!r} was called with arguments that do not fit {step.name}"
                f"{step.signature}: {exc}."
            ) from None
        seed_param = False
        missing = []
        for name, p in step.signature.parameters.items():
            if name in bound.arguments:
                continue
            if name == SEED_PARAM:
                seed_param = True
            elif p.default is p.empty:
                missing.append(name)
            else:
                bound.arguments[name] = p.default
        if missing:
            raise PipelineDefinitionError(
                f"Step {node_id!r} is missing argument(s) {missing} of {step.name}{step.signature}."
            )
        return dict(bound.arguments), seed_param

    def add(
        self,
        step: Step[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        node_id: str | None = None,
    ) -> Ref | tuple[Ref, ...]:
        """Add a call of ``step``; returns its lazy output(s)."""
        node_id = node_id or self.new_id(step.name)
        arguments, seed_param = self._bind(step, node_id, args, kwargs)
        params, inputs, upstream = self._classify(step, node_id, arguments)
        self.nodes[node_id] = Node(
            node_id, step, params, inputs, seed_param, upstream=tuple(sorted(upstream))
        )
        return self._outputs(node_id, step)

    def add_map(
        self, step: Step[..., Any], over: str, items: Ref, kwargs: Mapping[str, Any]
    ) -> Ref | tuple[Ref, ...]:
        """Add a map over a step output; its element calls are made when the output exists."""
        if items.graph is not self:
            raise PipelineDefinitionError(
                f"{step.name}.map() got {items!r} from pipeline {items.graph.pipeline!r}, "
                "a different pipeline run."
            )
        if items.is_list:
            raise PipelineDefinitionError(
                f"{step.name}.map() over {items!r}, itself a mapped output, is not supported; "
                "collect it in a step first."
            )
        node_id = f"{self.new_id(step.name)}[*]"
        arguments, seed_param = self._bind(step, node_id, (), {**kwargs, over: None})
        arguments.pop(over)
        params, inputs, upstream = self._classify(step, node_id, arguments)
        upstream.add(items.node)
        self.nodes[node_id] = Node(
            node_id,
            step,
            params,
            inputs,
            seed_param,
            map_over=over,
            map_items=items,
            upstream=tuple(sorted(upstream)),
        )
        refs = tuple(Ref(self, node_id, name, is_list=True) for name in step.outputs)
        return refs[0] if len(refs) == 1 else refs

    def _outputs(self, node_id: str, step: Step[..., Any]) -> Ref | tuple[Ref, ...]:
        refs = tuple(Ref(self, node_id, name) for name in step.outputs)
        return refs[0] if len(refs) == 1 else refs

    # -- views -------------------------------------------------------------

    def result_refs(self) -> list[Ref]:
        """The step outputs the pipeline function returned."""
        return list(_refs_in(self.result))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description of the graph."""
        return {
            "pipeline": self.pipeline,
            "params": self.params,
            "nodes": [n.to_dict() for n in self.nodes.values()],
            "returns": [_ref_text(r) for r in self.result_refs()],
        }

    def to_text(self) -> str:
        """The graph as numbered lines: each step with its inputs, params and outputs."""
        lines = [f"pipeline {self.pipeline} ({len(self.nodes)} steps)"]
        width = len(str(len(self.nodes)))
        for i, node in enumerate(self.nodes.values(), 1):
            args: list[str] = []
            if node.map_items is not None:
                args.append(f"{node.map_over}=each of {_ref_text(node.map_items)}")
            for name, ref in node.inputs.items():
                text = (
                    "[" + ", ".join(_ref_text(r) for r in ref) + "]"
                    if isinstance(ref, list)
                    else _ref_text(ref)
                )
                args.append(f"{name}<-{text}")
            args.extend(f"{k}={v!r}" for k, v in node.params.items())
            out = ", ".join(node.outputs)
            lines.append(f"{i:>{width}}. {node.id}({', '.join(args)}) -> {out}")
        returned = self.result_refs()
        if returned:
            lines.append("returns " + ", ".join(_ref_text(r) for r in returned))
        return "\n".join(lines)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart (paste it into Markdown that renders Mermaid)."""
        ids = {node_id: f"n{i}" for i, node_id in enumerate(self.nodes)}
        lines = ["flowchart TD"]
        for node_id, node in self.nodes.items():
            lines.append(f'    {ids[node_id]}["{node_id}"]')
            sources: list[tuple[str, str]] = []
            for name, ref in node.inputs.items():
                for r in ref if isinstance(ref, list) else [ref]:
                    sources.append((r.node, name))
            if node.map_items is not None:
                sources.append((node.map_items.node, f"each {node.map_over}"))
            for src, label in sources:
                lines.append(f"    {ids[src]} -->|{label}| {ids[node_id]}")
        return "\n".join(lines)


# -- pipelines -------------------------------------------------------------------


class Pipeline:
    """A function that calls steps; create with :func:`pipeline`.

    ``run()`` executes it with tracking, lineage and the cache; ``graph()``
    shows what would run; ``plan()`` says which steps would hit the cache.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        experiment: str | None = None,
        seed: int | None = 0,
        executor: str = "inline",
        cache: bool = True,
        trusted: bool = False,
    ) -> None:
        if not callable(fn):
            raise PipelineDefinitionError(
                f"@nf.pipeline decorates a function, got {type(fn).__name__}."
            )
        self.fn = fn
        self.name = name or fn.__name__
        self.experiment = experiment or self.name
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r}: seed={seed!r} must be a non-negative integer or None."
            )
        self.seed = seed
        self.executor = executor
        self.cache = cache
        self.trusted = trusted
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"

    def bind_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The pipeline function's arguments: ``params`` plus defaults, checked."""
        given = dict(params or {})
        known = list(self.signature.parameters)
        unknown = [k for k in given if k not in self.signature.parameters]
        if unknown:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} has no param(s) {unknown}; its params are {known}."
            )
        try:
            bound = self.signature.bind(**given)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r}{self.signature}: {exc}. Pass the missing param(s), "
                "e.g. --param name=value on the command line."
            ) from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def graph(self, params: Mapping[str, Any] | None = None) -> Graph:
        """Build the graph for these params without running any step."""
        arguments = self.bind_params(params)
        if _current.get() is not None:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} was called inside another pipeline; call its steps "
                "directly instead."
            )
        graph = Graph(self.name, arguments)
        token = _current.set(graph)
        try:
            graph.result = self.fn(**arguments)
        finally:
            _current.reset(token)
        if not graph.nodes:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} called no step: decorate the functions it calls with "
                "@nf.step."
            )
        for ref in _refs_in(graph.result):
            if ref.graph is not graph:
                raise PipelineDefinitionError(
                    f"Pipeline {self.name!r} returned {ref!r}, which belongs to another pipeline."
                )
        return graph

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        executor: str | Executor | None = None,
        cache: bool | None = None,
        seed: int | EllipsisType | None = ...,
        client: Client | None = None,
        max_workers: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> PipelineRun:
        """Run the pipeline as a tracked run; every step is a child run with lineage.

        Args:
            params: values for the pipeline function's parameters.
            executor: ``"inline"`` (default), ``"process"``, ``"ray"`` (a local Ray,
                or the one already initialised), ``"ray://HOST:PORT"`` (a Ray cluster;
                needs ``ninefold[ray]``), or an executor object such as
                :class:`~ninefold.pipelines.ray_executor.RayExecutor`.
            cache: False to run every step (the default follows the pipeline).
            seed: the run's seed (default: the pipeline's; None leaves random state
                alone); each step gets a seed derived from it and its node name.
            client: the tracking client (default: the current project's).
            max_workers: worker processes for the ``process`` executor; the most
                steps handed to Ray at once for ``ray``.
            tags: extra tags for the pipeline run (a schedule adds its trigger's).

        Returns:
            The finished :class:`~ninefold.pipelines.runner.PipelineRun`.

        Raises:
            StepFailed: a step failed; the run is recorded as failed.
        """
        from ninefold.pipelines.runner import run_pipeline

        return run_pipeline(
            self,
            params,
            executor=executor,
            cache=cache,
            seed=self.seed if seed is ... else seed,
            client=client,
            max_workers=max_workers,
            extra_tags=tags,
        )

    def sweep(
        self,
        grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
        *,
        executor: str | Executor | None = None,
        cache: bool | None = None,
        seed: int | EllipsisType | None = ...,
        client: Client | None = None,
        max_workers: int | None = None,
        max_parallel: int | None = None,
    ) -> SweepResult:
        """Run the pipeline once per combination of params, under one parent run.

        On a parallel executor (``process``, ``ray``) the combinations run at
        the same time and share the executor's workers; on ``inline`` they run
        one after another. Every combination runs even if another fails.

        Args:
            grid: ``{"C": [0.1, 1.0], "penalty": ["l1", "l2"]}`` (every combination)
                or a list of param dicts.
            executor: as for :meth:`run`, one executor shared by every run.
            cache: as for :meth:`run`; steps shared by the combinations (loading,
                splitting) run once, also when the combinations run in parallel:
                the others wait for it and hit the cache.
            seed: as for :meth:`run`.
            client: the tracking client.
            max_workers: as for :meth:`run`.
            max_parallel: at most this many combinations at once (default: the
                executor's workers, at most 16); 1 runs them one after another.

        Returns:
            The sweep's parent run id and every pipeline run; each run also carries
            its steps' latest metrics as ``<step>/<metric>`` for comparing runs.

        Raises:
            SweepFailed: after every combination ran, if some failed; it names
                them and holds the result of the others.
        """
        from ninefold.pipelines.sweeps import run_sweep

        return run_sweep(
            self,
            grid,
            executor=executor,
            cache=cache,
            seed=self.seed if seed is ... else seed,
            client=client,
            max_workers=max_workers,
            max_parallel=max_parallel,
        )

    def plan(
        self, params: Mapping[str, Any] | None = None, *, client: Client | None = None
    ) -> list[PlannedStep]:
        """A dry run: which steps would hit the cache and why the others would run."""
        from ninefold.pipelines.planning import plan_pipeline

        return plan_pipeline(self, params, client=client)

    def __call__(self, **params: Any) -> PipelineRun:
        """Run the pipeline with these params (see :meth:`run`)."""
        return self.run(params)


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...


@overload
def pipeline(
    *,
    name: str | None = None,
    experiment: str | None = None,
    seed: int | None = 0,
    executor: str = "inline",
    cache: bool = True,
    trusted: bool = False,
) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function that calls steps a pipeline.

    Args:
        fn: the function (when used as ``@nf.pipeline`` without parentheses).
        **options: ``name`` (default: the function's name); ``experiment`` its
            runs go to (default: the name); ``seed`` (default 0; None to leave
            random state alone); ``executor`` (``"inline"``, ``"process"``, ``"ray"``);
            ``cache`` (False: run every step); ``trusted`` (every step may use pickle).

    Example:
        >>> @nf.pipeline
        ... def training(C: float = 1.0):
        ...     X, y = load()
        ...     return evaluate(train(X, y, C=C), X, y)  # doctest: +SKIP
        >>> run = training.run({"C": 0.5})  # doctest: +SKIP
    """
    if fn is not None:
        if options:
            raise PipelineDefinitionError("Use @nf.pipeline or @nf.pipeline(option=...), not both.")
        return Pipeline(fn)

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, **options)

    return wrap


def current_graph() -> Graph | None:
    """The graph being built by the pipeline function running now, or None."""
    return _current.get()
