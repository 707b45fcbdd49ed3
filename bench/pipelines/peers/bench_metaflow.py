"""Metaflow's side of the pipeline comparison: ``$METAFLOW_VENV/bin/python bench_metaflow.py``.

``python metaflow_<pipeline>.py run`` with the local datastore and metadata (in
``.metaflow/`` of the fresh folder). Metaflow has no step cache; the second command is
``resume end``, which clones every finished step of the previous run and re-executes
only ``end``. Every Metaflow step is its own process, so there is no in-process figure;
``per_step_process_s`` (whole-process, from the cold run) stands in. One JSON line.
"""

from __future__ import annotations

import sys

from _common import main

NAME = "metaflow"
DIST = "metaflow"
FLOWS = "metaflow_chain10.py"
EXTRA_FILES = ("metaflow_lr3.py",)
CACHE_NOTE = "no cache: the second command is `resume end` (clones finished steps, reruns end)"
NO_INPROC = (
    "every Metaflow step runs in its own process; there is no in-process runner "
    "(its Runner API starts `python flow.py run` as a subprocess)"
)


def run_command(python: str, pipeline: str, second: bool) -> list[str]:
    return [python, f"metaflow_{pipeline}.py", *(("resume", "end") if second else ("run",))]


if __name__ == "__main__":
    raise SystemExit(main(sys.modules[__name__]))
