"""Run one benchmark function in a fresh interpreter.

Usage: ``python -m bench._worker MODULE:FUNCTION KWARGS_JSON RESULT_PATH``.
The function's return value (a JSON-able dict) is written to RESULT_PATH, so
whatever the measured tool prints to stdout cannot corrupt it.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    target, kwargs, out = argv[1], json.loads(argv[2]), Path(argv[3])
    module, func = target.split(":")
    result = getattr(importlib.import_module(f"bench.{module}"), func)(**kwargs)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
