"""ninefold's side of the pipeline comparison, measured by the same loop as the peers.

Run with ninefold's interpreter: ``.venv/bin/python bench/pipelines/peers/bench_ninefold.py``
prints one JSON line (see ``_common.py`` for every key). A fresh folder holds an empty
``ninefold.toml`` (what marks a project; no init command), so the first run creates the
embedded store (SQLite + artifact folder) in ``.ninefold/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import main

NAME = "ninefold"
DIST = "ninefold"
FLOWS = "ninefold_flows.py"
CACHE_NOTE = "step cache (inputs + code + params + environment); second run executes nothing"


def prepare(folder: Path) -> None:
    """The marker file of a project (ninefold has no init command); never a parent's store."""
    (folder / "ninefold.toml").write_text("")


if __name__ == "__main__":
    raise SystemExit(main(sys.modules[__name__]))
