"""Small models and data shared by the registry tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class ThresholdModel:
    """A plain Python model: class 1 where the first feature is above a threshold."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def predict(self, x: Any) -> np.ndarray:
        return (np.asarray(x)[:, 0] > self.threshold).astype(np.int64)


def write_marker(path: str, padding: str) -> str:
    """Called by unpickling a :class:`MarkerOnLoad`: proves that deserialisation ran."""
    Path(path).write_text(padding)
    return path


class MarkerOnLoad:
    """A pickle that creates ``path`` when it is loaded (``__reduce__`` runs ``write_marker``).

    ``padding`` gives the pickle bytes that can be changed without breaking it.
    """

    def __init__(self, path: Path, padding: str = "x" * 64) -> None:
        self.path = str(path)
        self.padding = padding

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (write_marker, (self.path, self.padding))


def double(x: Any) -> Any:
    """A user function, unknown to skops' trusted types."""
    return np.asarray(x) * 2
