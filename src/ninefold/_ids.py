"""Identifiers and time: sortable unique ids and UTC milliseconds."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, random part) of the last id made by this process


def now_ms() -> int:
    """Current UTC time as integer milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A 32-character hex id that sorts by creation time (ULID-like).

    The first 12 hex digits are the millisecond timestamp, the other 20 random.
    Within one process ids are strictly increasing: an id made in the same
    millisecond as the previous one (or while the clock steps back) takes the
    previous random part plus one, so creation order is also sort order.
    """
    global _last
    ms = now_ms()
    rand = int.from_bytes(os.urandom(10), "big")
    with _lock:
        last_ms, last_rand = _last
        if ms <= last_ms:
            ms, rand = last_ms, last_rand + 1
            if rand >= 1 << 80:  # the random part overflowed: borrow the next millisecond
                ms, rand = ms + 1, 0
        _last = (ms, rand)
    return f"{ms:012x}{rand:020x}"


def _after_fork_in_child() -> None:
    # Parent and child would otherwise both continue from the same last id.
    global _last, _lock
    _last = (0, 0)
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
