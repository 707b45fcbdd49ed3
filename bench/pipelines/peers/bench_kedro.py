"""Kedro's side of the pipeline comparison: ``$KEDRO_VENV/bin/python bench_kedro.py``.

Library API (``SequentialRunner`` on a ``Pipeline`` of ``node``s), no ``kedro new``
project, so there is no init command. One JSON line on stdout (keys: ``_common.py``).
"""

from __future__ import annotations

import sys

from _common import main

NAME = "kedro"
DIST = "kedro"
FLOWS = "kedro_flows.py"
CACHE_NOTE = (
    "no cache: intermediates pickled to files and only_missing_outputs=True, "
    "so the second run only checks that the files exist"
)

if __name__ == "__main__":
    raise SystemExit(main(sys.modules[__name__]))
