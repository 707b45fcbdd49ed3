"""Lazy imports of optional dependencies with errors that name the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from ninefold.errors import MissingDependency


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming the extra.

    Args:
        module: dotted module name, e.g. ``"skops.io"``.
        extra: the ninefold extra that installs it, e.g. ``"sklearn"``.
        purpose: what it is needed for, used in the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{purpose} needs the '{module.split('.')[0]}' package, which is not installed. "
            f"Install it with: pip install 'ninefold[{extra}]'"
        ) from exc
