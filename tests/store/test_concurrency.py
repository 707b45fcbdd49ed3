"""Several processes writing to one SQLite store at once lose nothing and fail nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ninefold.store import MetadataStore, RunStatus

WORKERS = 8
BATCHES = 20
BATCH = 500
KEYS = 5

# Each worker: open the store (creating or migrating it and reaping, like any
# process), create its own run, wait until every worker is ready, then write
# BATCHES batches of BATCH metric points plus a param and a tag per batch.
WORKER = """
import json, os, sys, time
from pathlib import Path
from ninefold import _process
from ninefold._ids import new_id
from ninefold.store import MetadataStore, RunStatus

url, index, ready_dir, go_file, batches, size, keys = sys.argv[1:8]
index, batches, size, keys = int(index), int(batches), int(size), int(keys)
store = MetadataStore(url)
experiment = store.experiments.get_or_create("concurrency")
host, pid, started = _process.current()
run_id = new_id()
store.runs.create(
    run_id=run_id, experiment_id=experiment.experiment_id, name=f"worker-{index}",
    parent_run_id=None, host=host, pid=pid, pid_started=started, user="tester",
    params_={"worker": str(index)},
)
Path(ready_dir, str(index)).write_text(run_id)
deadline = time.monotonic() + 120
while not Path(go_file).exists():
    if time.monotonic() > deadline:
        sys.exit("never told to start")
    time.sleep(0.005)
per_key = size // keys
for b in range(batches):
    points = []
    for j in range(size):
        key, step = f"m{j % keys}", b * per_key + j // keys
        points.append((run_id, key, index * 1_000_000 + step * 10 + j % keys, step, 1_000 + step))
    store.runs.log_metrics(points)
    store.runs.log_params(run_id, {f"p{b}": str(b), "worker": str(index)})
    store.runs.set_tags(run_id, {"batch": str(b), f"t{b}": "x"})
    store.runs.heartbeat([run_id])
store.runs.set_status(run_id, RunStatus.FINISHED)
print(json.dumps({"run_id": run_id, "index": index}))
"""


@pytest.mark.slow
def test_eight_processes_write_to_one_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store' / 'ninefold.db'}"
    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    args = [str(ready), str(go), str(BATCHES), str(BATCH), str(KEYS)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(i), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(ready.iterdir())) < WORKERS:
            failed = [p for p in procs if p.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "workers did not get ready"
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    errors = [
        (p.returncode, err) for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode
    ]
    assert errors == []
    results = [json.loads(out) for out, _ in outputs]

    store = MetadataStore(url)
    try:
        [experiment] = store.experiments.list()
        assert store.experiments.run_counts() == {experiment.experiment_id: WORKERS}
        per_key = BATCH // KEYS
        last_step = BATCHES * per_key - 1
        for result in results:
            run = store.runs.get(result["run_id"])
            index = result["index"]
            assert run.name == f"worker-{index}"
            assert run.status is RunStatus.FINISHED
            assert store.runs.count_points(run.run_id) == BATCHES * BATCH
            assert run.metrics == {
                f"m{k}": index * 1_000_000 + last_step * 10 + k for k in range(KEYS)
            }
            assert run.params == {"worker": str(index)} | {f"p{b}": str(b) for b in range(BATCHES)}
            assert run.tags == {"batch": str(BATCHES - 1)} | {f"t{b}": "x" for b in range(BATCHES)}
            history = store.runs.metric_history(run.run_id, "m0")
            assert [p.step for p in history] == list(range(BATCHES * per_key))
    finally:
        store.close()
