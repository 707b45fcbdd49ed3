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
from typing import Any

from ninefold.pipelines.fingerprint import CodePrint
from ninefold.pipelines.values import decode, display, encode

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
    old_params: dict[str, Any] = previous.get("params", {})
    new_params: dict[str, Any] = current.get("params", {})
    for key in sorted(set(old_params) | set(new_params)):
        if key not in old_params:
            out.append(f"params.{key} added ({display(decode(new_params[key]))})")
        elif key not in new_params:
            out.append(f"params.{key} removed (was {display(decode(old_params[key]))})")
        elif old_params[key] != new_params[key]:
            out.append(
                f"params.{key} {display(decode(old_params[key]))} -> "
                f"{display(decode(new_params[key]))}"
            )
    old_inputs: dict[str, Any] = previous.get("inputs", {})
    new_inputs: dict[str, Any] = current.get("inputs", {})
    for key in sorted(set(old_inputs) | set(new_inputs)):
        if key not in old_inputs:
            out.append(f"input {key!r} added")
        elif key not in new_inputs:
            out.append(f"input {key!r} removed")
        elif old_inputs[key] != new_inputs[key]:
            out.append(f"input {key!r} changed")
    old_env: dict[str, str] = previous.get("env", {})
    new_env: dict[str, str] = current.get("env", {})
    for key in sorted(set(old_env) | set(new_env)):
        if key not in old_env:
            out.append(f"{key} {new_env[key]} added")
        elif key not in new_env:
            out.append(f"{key} {old_env[key]} no longer used")
        elif old_env[key] != new_env[key]:
            out.append(f"{key} {old_env[key]} -> {new_env[key]}")
    if previous.get("seed") != current.get("seed"):
        out.append(f"seed {previous.get('seed')} -> {current.get('seed')}")
    if previous.get("outputs") != current.get("outputs"):
        out.append(f"outputs {previous.get('outputs')} -> {current.get('outputs')}")
    return out
