"""Faults in real processes: SIGKILL, exit without ending, uncaught errors, concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import ninefold as nf
from ninefold.store import MetadataStore, RunStatus
from ninefold.tracking.client import Client, get_client
from tests.tracking.helpers import own

TIMEOUT_S = 120


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def _run(script: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _db(project: Path) -> Path:
    return project / ".ninefold" / "ninefold.db"


def _open_store(project: Path) -> MetadataStore:
    return MetadataStore(f"sqlite:///{_db(project)}")


def _integrity(project: Path) -> str:
    conn = sqlite3.connect(_db(project))
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _run_id(stdout: str) -> str:
    ids = [line.split()[1] for line in stdout.splitlines() if line.startswith("RUN ")]
    assert len(ids) == 1, stdout
    return ids[0]


KILLED_WHILE_LOGGING = """
    import ninefold as nf

    run = nf.start_run(name="victim")
    print("RUN", run.run_id, flush=True)
    i = 0
    while True:
        nf.log_metric("x", float(i), step=i)
        i += 1
        if i % 250 == 0:
            nf.flush()
            print("FLUSHED", i, flush=True)
"""


def test_sigkill_while_logging_marks_run_crashed_and_keeps_flushed_points(
    project: Path, tmp_path: Path
) -> None:
    script = _script(tmp_path, "victim", KILLED_WHILE_LOGGING)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = None
    flushed = 0
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while flushed < 1000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("RUN "):
                run_id = line.split()[1]
            elif line.startswith("FLUSHED "):
                flushed = int(line.split()[1])
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT_S)
        proc.stdout.close()
        stderr = proc.stderr.read() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert run_id is not None, stderr
    assert flushed >= 250, stderr

    assert _integrity(project) == "ok"
    store = _open_store(project)  # opening reaps runs whose process is gone
    try:
        run = store.runs.get(run_id)
        assert run.status == RunStatus.CRASHED
        assert run.end_ms is not None
        points = len(store.runs.metric_history(run_id, "x"))
        assert points >= flushed
        history = store.runs.metric_history(run_id, "x")
        # What landed is a prefix of the series: no gaps, no duplicates.
        assert [p.step for p in history] == list(range(points))
        assert store.reap_crashed() == []  # already marked
    finally:
        store.close()


def test_exit_without_ending_the_run_finishes_it_and_flushes(project: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "no_end",
        """
        import ninefold as nf

        run = nf.start_run(name="open", params={"n": 3000})
        print("RUN", run.run_id, flush=True)
        for i in range(3000):
            nf.log_metric("loss", 1.0 / (i + 1))
        nf.log_metrics({"a": 1.0, "b": 2.0})
        """,
    )
    done = _run(script, project)
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)
    store = _open_store(project)
    try:
        run = store.runs.get(run_id)
        assert run.status == RunStatus.FINISHED
        assert len(store.runs.metric_history(run_id, "loss")) == 3000
        assert own(run.metrics).keys() == {"loss", "a", "b"}
        assert run.metrics["loss"] == 1.0 / 3000
        assert run.params == {"n": "3000"}
    finally:
        store.close()


def test_uncaught_exception_marks_open_runs_failed(project: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "crash",
        """
        import ninefold as nf

        parent = nf.start_run(name="parent")
        child = nf.start_run(name="child")
        print("RUN", child.run_id, flush=True)
        nf.log_metric("before", 1.0)
        raise RuntimeError("data file is corrupt")
        """,
    )
    done = _run(script, project)
    assert done.returncode == 1
    assert "RuntimeError: data file is corrupt" in done.stderr  # the traceback still shows
    child_id = _run_id(done.stdout)
    store = _open_store(project)
    try:
        child = store.runs.get(child_id)
        assert child.parent_run_id is not None
        parent = store.runs.get(child.parent_run_id)
        assert child.status == RunStatus.FAILED
        assert parent.status == RunStatus.FAILED
        assert "RuntimeError: data file is corrupt" in child.tags["ninefold.error"]
        assert own(child.metrics) == {"before": 1.0}
    finally:
        store.close()


def test_uncaught_keyboard_interrupt_marks_open_run_killed(project: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "interrupted",
        """
        import ninefold as nf

        run = nf.start_run(name="interrupted")
        print("RUN", run.run_id, flush=True)
        nf.log_metric("x", 1.0)
        raise KeyboardInterrupt
        """,
    )
    done = _run(script, project)
    assert done.returncode != 0
    store = _open_store(project)
    try:
        run = store.runs.get(_run_id(done.stdout))
        assert run.status == RunStatus.KILLED
        assert own(run.metrics) == {"x": 1.0}
    finally:
        store.close()


WORKER = """
    import json
    import sys

    import ninefold as nf

    worker = int(sys.argv[1])
    errors = []
    run_id = None
    try:
        with nf.start_run(experiment="sweep", name=f"worker-{worker}") as run:
            run_id = run.run_id
            for i in range(2000):
                nf.log_metric("loss", 1.0 / (i + 1))
                if i % 400 == 0:
                    nf.log_param(f"p{i}", i)
    except Exception as exc:
        errors.append(repr(exc))
    print(json.dumps({"run_id": run_id, "errors": errors}), flush=True)
"""


@pytest.mark.slow  # 3 s on an idle 2-core machine, 8 s under load
def test_concurrent_processes_log_into_one_sqlite_store(project: Path, tmp_path: Path) -> None:
    script = _script(tmp_path, "worker", WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(n)],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=TIMEOUT_S)
        assert proc.returncode == 0, err
        assert "Warning" not in err, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["errors"] for r in reports] == [[]] * 8
    run_ids = [r["run_id"] for r in reports]
    assert len(set(run_ids)) == 8

    assert _integrity(project) == "ok"
    store = _open_store(project)
    try:
        counts = [len(store.runs.metric_history(r, "loss")) for r in run_ids]
        assert counts == [2000] * 8
        assert sum(counts) == 16_000
        runs = [store.runs.get(r) for r in run_ids]
        assert {r.status for r in runs} == {RunStatus.FINISHED}
        assert {r.experiment for r in runs} == {"sweep"}
        assert all(len(r.params) == 5 for r in runs)
        assert len(store.experiments.list()) == 1
    finally:
        store.close()


def test_child_process_environment_is_the_project(project: Path) -> None:
    # The fault scripts rely on the child finding the same project from its cwd.
    out = subprocess.run(
        [sys.executable, "-c", "import ninefold as nf; print(nf.load_settings().store_url)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT_S,
        env={k: v for k, v in os.environ.items() if not k.startswith("NINEFOLD_")},
    ).stdout.strip()
    assert out == f"sqlite:///{_db(project)}"


def _forked_worker(n: int) -> str:
    with nf.start_run(name=f"forked-{n}", capture_environment=False) as run:
        for i in range(200):
            nf.log_metric("x", float(i))
    return run.run_id


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_forked_workers_do_not_share_the_parents_connections(client: Client) -> None:
    import multiprocessing

    with nf.start_run(name="parent", capture_environment=False) as parent:
        nf.log_metric("y", 0.0)
        nf.flush()  # the parent's pool now holds an open connection
        with multiprocessing.get_context("fork").Pool(2) as pool:
            child_ids = pool.map(_forked_worker, range(4))
        for i in range(1, 50):
            nf.log_metric("y", float(i))
            nf.flush()
    assert client.get_run(parent.run_id).status == RunStatus.FINISHED
    assert len(client.store.runs.metric_history(parent.run_id, "y")) == 50
    for run_id in child_ids:
        run = client.get_run(run_id)
        assert run.status == RunStatus.FINISHED
        assert run.parent_run_id is None  # a forked child does not nest under the parent
        assert len(client.store.runs.metric_history(run_id, "x")) == 200


def test_run_whose_environment_cannot_be_stored_is_failed_not_left_running(
    project: Path,
) -> None:
    client = get_client()
    # A file where the artifact store keeps its temporary files: every write fails.
    (Path(client.artifact_root) / "tmp").write_text("in the way")
    with pytest.raises(OSError):
        nf.start_run(name="doomed")
    assert nf.active_run() is None
    (run,) = client.store.search().runs
    stored = client.get_run(run[0])
    assert stored.status == RunStatus.FAILED
    assert "Error" in stored.tags["ninefold.error"]


def test_an_interrupt_while_a_run_starts_ends_it_as_killed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ninefold.costs.tracker import RunResources

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C just as the resource sampler starts

    monkeypatch.setattr(RunResources, "start", interrupted)
    client = get_client()
    with pytest.raises(KeyboardInterrupt):
        nf.start_run(name="interrupted")
    assert nf.active_run() is None  # not left for the exit hook to close as finished
    (run,) = client.store.search().runs
    assert client.get_run(run[0]).status == RunStatus.KILLED


TERMINATED = """
    import sys
    import time

    import ninefold as nf

    def train():
        for i in range(1000):
            nf.log_metric("x", float(i))
        print("READY", flush=True)
        while True:
            time.sleep(0.05)

    if sys.argv[1] == "with":
        with nf.start_run(name="terminated") as run:
            print("RUN", run.run_id, flush=True)
            train()
    else:
        run = nf.start_run(name="terminated")
        print("RUN", run.run_id, flush=True)
        train()
"""


@pytest.mark.parametrize("style", ["with", "plain"])
def test_sigterm_ends_the_run_as_killed_and_writes_buffered_points(
    project: Path, tmp_path: Path, style: str
) -> None:
    script = _script(tmp_path, "terminated", TERMINATED)
    proc = subprocess.Popen(
        [sys.executable, str(script), style],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert lines[1] == "READY\n", err
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    store = _open_store(project)
    try:
        run = store.runs.get(_run_id(lines[0] + out))
        assert run.status == RunStatus.KILLED
        assert len(store.runs.metric_history(run.run_id, "x")) == 1000
    finally:
        store.close()
