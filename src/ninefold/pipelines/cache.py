"""Cache keys and the reasons a step missed the cache.

A step's cache key is the SHA-256 of its *components*:

* ``step``: the function's ``module:qualname``;
* ``code``: the fingerprint of the step and of every function, class and
  constant of the user's modules it reaches (:mod:`ninefold.pipelines.fingerprint`);
* ``params``: its literal arguments as canonical JSON;
* ``inputs``: the content digests of the artifacts it reads;
* ``env``: the Python version and the versions of the distributions its code uses;
* ``seed``: the seed it runs with;
* ``outputs``: the names of its outputs.

When a step misses, its components are compared with those of its last
successful execution and every difference becomes a reason such as
``params.C 0.1 -> 1.0``, ``helper clean() changed`` or ``scikit-learn 1.8 -> 1.9``.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ninefold._ids import now_ms
from ninefold.pipelines.fingerprint import CodePrint
from ninefold.pipelines.values import decode, display, encode
from ninefold.store.pipelines import LineageEdge, StepExecution

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ninefold.pipelines.executors import ArtifactSpec
    from ninefold.tracking.client import Client

NO_PREVIOUS = "no earlier successful execution of this step"


def components(
    *,
    step: str,
    code: CodePrint,
    params: dict[str, Any],
    inputs: dict[str, str | list[str]],
    seed: int | None,
    outputs: tuple[str, ...],
) -> dict[str, Any]:
    """The cache key components of one step execution (JSON-ready)."""
    env = {"python": ".".join(platform.python_version_tuple()[:2])}
    env.update(sorted(code.distributions.items()))
    return {
        "step": step,
        "code": dict(sorted(code.code.items())),
        "params": {k: encode(v) for k, v in sorted(params.items())},
        "inputs": dict(sorted(inputs.items())),
        "env": env,
        "seed": seed,
        "outputs": list(outputs),
    }


def cache_key(parts: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the components."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _short(key: str) -> str:
    """``pkg.mod:Outer.clean`` -> ``Outer.clean``."""
    return key.split(":", 1)[-1]


def _code_label(key: str, kind: str) -> str:
    name = _short(key)
    if kind == "step":
        return f"step {name}()"
    if kind == "function":
        return f"helper {name}()"
    if kind == "class":
        return f"class {name}"
    return f"constant {name}"


def _changes(
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    added: Callable[[str, Any], str],
    removed: Callable[[str, Any], str],
    changed: Callable[[str, Any, Any], str],
) -> list[str]:
    """One sentence per key added, removed or changed between two dicts, by key."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append(added(key, new[key]))
        elif key not in new:
            out.append(removed(key, old[key]))
        elif old[key] != new[key]:
            out.append(changed(key, old[key], new[key]))
    return out


def reasons(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Why ``current`` differs from ``previous`` (the last successful execution), in words."""
    if previous is None:
        return [NO_PREVIOUS]
    out: list[str] = []
    if previous.get("step") != current.get("step"):
        out.append(f"step function {previous.get('step')} -> {current.get('step')}")
    old_code: dict[str, dict[str, str]] = previous.get("code", {})
    new_code: dict[str, dict[str, str]] = current.get("code", {})
    for key in sorted(set(old_code) | set(new_code), key=lambda k: (_short(k), k)):
        old, new = old_code.get(key), new_code.get(key)
        if old is None and new is not None:
            out.append(f"{_code_label(key, new['kind'])} added")
        elif new is None and old is not None:
            out.append(f"{_code_label(key, old['kind'])} no longer used")
        elif old is not None and new is not None and old["hash"] != new["hash"]:
            out.append(f"{_code_label(key, new['kind'])} changed")
    out += _changes(
        previous.get("params", {}),
        current.get("params", {}),
        added=lambda k, v: f"params.{k} added ({display(decode(v))})",
        removed=lambda k, v: f"params.{k} removed (was {display(decode(v))})",
        changed=lambda k, a, b: f"params.{k} {display(decode(a))} -> {display(decode(b))}",
    )
    out += _changes(
        previous.get("inputs", {}),
        current.get("inputs", {}),
        added=lambda k, v: f"input {k!r} added",
        removed=lambda k, v: f"input {k!r} removed",
        changed=lambda k, a, b: f"input {k!r} changed",
    )
    out += _changes(
        previous.get("env", {}),
        current.get("env", {}),
        added=lambda k, v: f"{k} {v} added",
        removed=lambda k, v: f"{k} {v} no longer used",
        changed=lambda k, a, b: f"{k} {a} -> {b}",
    )
    if previous.get("seed") != current.get("seed"):
        out.append(f"seed {previous.get('seed')} -> {current.get('seed')}")
    if previous.get("outputs") != current.get("outputs"):
        out.append(f"outputs {previous.get('outputs')} -> {current.get('outputs')}")
    return out


def _fmt_seconds(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass
class Lookup:
    """The cache's answer for one step."""

    cache: str
    reasons: list[str]
    source: StepExecution | None = None
    outputs: list[LineageEdge] = field(default_factory=list)


def lookup(
    client: Client,
    *,
    pipeline: str,
    node: str,
    step: str,
    parts: dict[str, Any],
    key: str,
    run_cache: bool,
    step_cache: bool,
    expire_s: float | None,
    pipeline_run_id: str | None = None,
) -> Lookup:
    """Whether a step with these cache components hits, and if not, why not."""
    repo = client.store.pipelines
    if not run_cache:
        return Lookup("off", ["cache disabled for this run"])
    if not step_cache:
        return Lookup("off", ["cache disabled for this step (cache=False)"])
    cached = repo.cached(key)
    if cached is not None:
        found, outputs = cached
        age_ms = now_ms() - found.created_ms
        if expire_s is not None and age_ms > expire_s * 1000:
            return Lookup(
                "miss",
                [
                    f"cached result of run {found.run_id} expired "
                    f"(older than {_fmt_seconds(expire_s)})"
                ],
            )
        missing = [e.name for e in outputs if not client.artifacts.exists(e.digest)]
        if not missing:
            return Lookup("hit", [], found, outputs)
        return Lookup(
            "miss",
            [f"outputs {missing} of run {found.run_id} are missing from the artifact store"],
        )
    previous = repo.previous(pipeline, node, step, exclude_pipeline_run=pipeline_run_id)
    why = reasons(None if previous is None else previous.components, parts)
    if previous is not None and (previous.pipeline, previous.node) != (pipeline, node):
        where = f"{previous.node!r} of pipeline {previous.pipeline!r}"
        why.insert(0, f"new node {node!r}; compared with {where} (run {previous.run_id})")
    return Lookup("miss", why or ["no earlier execution with the same cache key"])


def hit_outputs(found: Lookup) -> dict[str, ArtifactSpec]:
    """The outputs a cache hit reuses, by output name."""
    from ninefold.pipelines.executors import ArtifactSpec

    return {
        e.name: ArtifactSpec(e.digest, e.size, e.materializer, e.type_name) for e in found.outputs
    }


def input_digests(inputs: Mapping[str, ArtifactSpec | list[ArtifactSpec]]) -> dict[str, Any]:
    """The ``inputs`` component of a cache key: each input's content digest(s)."""
    return {
        k: [s.digest for s in v] if isinstance(v, list) else v.digest for k, v in inputs.items()
    }
