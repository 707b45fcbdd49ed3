"""Prefect's side of the pipeline comparison: ``$PREFECT_VENV/bin/python bench_prefect.py``.

No init command; every process starts Prefect's temporary API server (no server is
configured), given 120 s to come up (``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``;
the default 20 s was too short on this machine). One JSON line on stdout.
"""

from __future__ import annotations

import sys

from _common import main

NAME = "prefect"
DIST = "prefect"
FLOWS = "prefect_flows.py"
CACHE_NOTE = (
    "task cache on (cache_policy=INPUTS + TASK_SOURCE, persist_result=True); "
    "second run reads every task's persisted result"
)

if __name__ == "__main__":
    raise SystemExit(main(sys.modules[__name__]))
