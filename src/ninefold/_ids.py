"""Identifiers and time: sortable unique ids and UTC milliseconds."""

from __future__ import annotations

import os
import time


def now_ms() -> int:
    """Current UTC time as integer milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A 32-character hex id that sorts by creation time (ULID-like).

    The first 12 hex digits are the millisecond timestamp, the rest random.
    """
    return f"{now_ms():012x}{os.urandom(10).hex()}"
