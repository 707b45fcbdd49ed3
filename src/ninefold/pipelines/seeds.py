"""Seeds: one call seeds every random number generator a step may use.

``seed_everything(seed)`` seeds Python's ``random``, NumPy's global generator
and, when installed, PyTorch (CPU and CUDA), and records the seed on the
active run. A pipeline run has one seed; each step gets its own, derived from
the run's seed and the step's node name, so adding a step does not change the
others' seeds.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import random
import sys
from functools import cache

SEED_TAG = "ninefold.seed"
MAX_SEED = 2**32 - 1


def _check(seed: object) -> int:
    from ninefold.errors import InvalidArgument

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidArgument(f"seed={seed!r} must be an integer from 0 to {MAX_SEED}.")
    return seed


@cache
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def seed_modules(seed: int, modules: tuple[str, ...] = ("numpy", "torch")) -> list[str]:
    """Seed ``random`` and the listed libraries that are importable; returns what was seeded."""
    random.seed(seed)
    seeded = ["random"]
    for name in modules:
        if name not in sys.modules and not _installed(name):
            continue
        if name == "numpy":
            import numpy as np

            np.random.seed(seed)
        elif name == "torch":
            torch = importlib.import_module("torch")
            torch.manual_seed(seed)
            if torch.cuda.is_available():
                torch.cuda.manual_seed_all(seed)
        else:
            continue
        seeded.append(name)
    return seeded


def seed_everything(seed: int) -> list[str]:
    """Seed ``random``, NumPy and (if installed) PyTorch, and record the seed on the active run.

    Args:
        seed: an integer from 0 to 2**32 - 1.

    Returns:
        The generators that were seeded, e.g. ``["random", "numpy"]``.

    Example:
        >>> import ninefold as nf
        >>> nf.seed_everything(42)  # doctest: +SKIP
        ['random', 'numpy']
    """
    seeded = seed_modules(_check(seed))
    from ninefold.tracking.fluent import active_run

    run = active_run()
    if run is not None and not run.ended:
        run.set_tags({SEED_TAG: str(seed), f"{SEED_TAG}.modules": ",".join(seeded)})
    return seeded


def derive_seed(seed: int, node: str) -> int:
    """The seed of one step: a stable function of the run's seed and the step's node name."""
    digest = hashlib.sha256(f"{seed}/{node}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
