"""ZenML's side of the pipeline comparison: ``$ZENML_VENV/bin/python bench_zenml.py``.

Needs ``zenml[local]`` (plain ``zenml`` cannot run a pipeline locally). The cold run
includes ``zenml init`` in the fresh folder (with a fresh ``HOME``, so ZenML's global
configuration and its SQLite store are created too). One JSON line on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import main

NAME = "zenml"
DIST = "zenml"
FLOWS = "zenml_flows.py"
CACHE_NOTE = "step cache on (ZenML's default); second run reuses every step"


def init_commands(python: str) -> list[list[str]]:
    return [[str(Path(python).parent / "zenml"), "init"]]


if __name__ == "__main__":
    raise SystemExit(main(sys.modules[__name__]))
