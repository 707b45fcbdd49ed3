"""The model registry: versioned models with aliases, tags, signatures and lineage.

``log_model`` stores a model content-addressed, infers its signature from an
input example and registers the next version; ``load_model`` resolves
``models:/name@alias`` or ``models:/name/3``, checks the blob's hash and only
then deserialises it (skops for scikit-learn, pickle only with ``trusted=True``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ninefold.registry.gate import GateDecision, challenge

_LAZY = {"GateDecision": "ninefold.registry.gate", "challenge": "ninefold.registry.gate"}

__all__ = ["GateDecision", "challenge"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ninefold.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
