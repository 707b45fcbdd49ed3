"""Run one claimed firing in this process: ``python -m ninefold.pipelines._fire FIRING_ID``.

The scheduler starts this in a child process of its own session, so a pipeline
that crashes or hangs cannot take the scheduler with it. The exit code is 0
when the pipeline run finished, 1 when it failed, 2 when the firing was not
running (another process ended it).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Run the firing named by ``argv[0]``; the store comes from the environment."""
    from ninefold.pipelines.scheduler import execute_firing
    from ninefold.store.schedules import FINISHED, RUNNING
    from ninefold.tracking.client import get_client

    if len(argv) != 1:
        print("usage: python -m ninefold.pipelines._fire FIRING_ID", file=sys.stderr)
        return 2
    client = get_client()
    firing = client.store.schedules.get_firing(argv[0])
    if firing.status != RUNNING:
        print(f"firing {firing.firing_id} is {firing.status}, not running", file=sys.stderr)
        return 2
    ended = execute_firing(client, firing)
    return 0 if ended.status == FINISHED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
