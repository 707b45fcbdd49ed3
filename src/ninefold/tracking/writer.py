"""Buffered metric writing and run heartbeats on one background thread.

``log_metric`` only appends to an in-memory buffer. A daemon thread writes the
buffer in one transaction per store every ``flush_interval_s`` (or as soon as
:data:`MAX_BUFFERED` points wait) and refreshes the heartbeat of active runs.
Runs flush synchronously when they end, on exceptions and at interpreter exit,
so a killed process loses at most the last interval.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import TYPE_CHECKING

from ninefold import _process
from ninefold.errors import RunNotFound
from ninefold.store.runs import PointRow

if TYPE_CHECKING:
    from ninefold.tracking.client import Client

MAX_BUFFERED = 20_000
"""Points waiting before the writer wakes up early."""

CHUNK = 50_000
"""Points written per transaction."""


class MetricWriter:
    """Process-wide metric buffer and heartbeat thread."""

    def __init__(self, flush_interval_s: float = 1.0, heartbeat_interval_s: float = 15.0) -> None:
        self.flush_interval_s = flush_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self._init_state()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[int, tuple[Client, list[PointRow]]] = {}
        self._count = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeats: dict[str, Client] = {}
        self._error: BaseException | None = None
        self._warned = False

    def add(self, client: Client, point: PointRow) -> None:
        """Queue one point for writing."""
        with self._lock:
            entry = self._pending.get(id(client))
            if entry is None:
                entry = self._pending[id(client)] = (client, [])
            entry[1].append(point)
            self._count += 1
            if self._count >= MAX_BUFFERED and not self._wake.is_set():
                self._wake.set()
        if self._thread is None:
            self._start()

    def add_many(self, client: Client, points: list[PointRow]) -> None:
        """Queue several points for writing."""
        with self._lock:
            entry = self._pending.get(id(client))
            if entry is None:
                entry = self._pending[id(client)] = (client, [])
            entry[1].extend(points)
            self._count += len(points)
            if self._count >= MAX_BUFFERED and not self._wake.is_set():
                self._wake.set()
        if self._thread is None:
            self._start()

    def pending(self) -> int:
        """How many points wait to be written."""
        return self._count

    def flush(self) -> None:
        """Write every queued point now.

        Raises what the store raised; the points stay queued for the next flush,
        except points of a run that no longer exists, which are dropped.
        """
        with self._flush_lock:
            with self._lock:
                batch, self._pending, self._count = self._pending, {}, 0
            for key, (client, points) in list(batch.items()):
                done = 0
                try:
                    while done < len(points):
                        client.store.runs.log_metrics(points[done : done + CHUNK])
                        done += CHUNK
                except RunNotFound:
                    # The run is gone: these points can never land; keep the rest.
                    del batch[key]
                    self._requeue(batch, -1, 0)
                    raise
                except BaseException:
                    self._requeue(batch, key, done)
                    raise
                del batch[key]

    def _requeue(
        self, batch: dict[int, tuple[Client, list[PointRow]]], failed: int, done: int
    ) -> None:
        with self._lock:
            for key, (client, points) in batch.items():
                rest = points[done:] if key == failed else points
                entry = self._pending.get(key)
                if entry is None:
                    self._pending[key] = (client, list(rest))
                else:
                    entry[1][:0] = rest
                self._count += len(rest)

    def watch(self, run_id: str, client: Client) -> None:
        """Refresh this run's heartbeat until :meth:`unwatch`."""
        with self._lock:
            self._heartbeats[run_id] = client
        if self._thread is None:
            self._start()

    def unwatch(self, run_id: str) -> None:
        """Stop refreshing a run's heartbeat."""
        with self._lock:
            self._heartbeats.pop(run_id, None)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="ninefold-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        _process.block_process_signals()
        last_beat = time.monotonic()
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            try:
                self.flush()
                if time.monotonic() - last_beat >= self.heartbeat_interval_s:
                    last_beat = time.monotonic()
                    self._beat()
            except Exception as exc:  # keep the thread alive; the next flush retries
                self._error = exc
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"ninefold could not write metrics yet: {exc}", stacklevel=1)

    def _beat(self) -> None:
        with self._lock:
            by_client: dict[int, tuple[Client, list[str]]] = {}
            for run_id, client in self._heartbeats.items():
                by_client.setdefault(id(client), (client, []))[1].append(run_id)
        for client, run_ids in by_client.values():
            client.store.runs.heartbeat(run_ids)

    def after_fork(self) -> None:
        """In a forked child: drop the parent's buffer, locks and thread."""
        self._init_state()


writer = MetricWriter()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=writer.after_fork)
