"""The Ray executor on a real single-node Ray, started once for the test session.

Every test here runs in one xdist group (``make test`` uses ``--dist loadgroup``),
so only one test process starts Ray.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import ninefold as nf
from ninefold.errors import InvalidArgument, MissingDependency
from ninefold.pipelines import StepFailed, StepTimeout
from ninefold.pipelines.executors import get_executor
from ninefold.pipelines.ray_executor import RayExecutor
from ninefold.tracking.client import Client
from tests.pipelines.conftest import WriteModule, running_runs, statuses
from tests.pipelines.fanflows import combine, numbers, power, stats

pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[ModuleType]:
    """One local Ray (2 CPUs, no dashboard) for every test that needs it."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # stay offline
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield ray
    if started:
        ray.shutdown()


# -- the pipelines ------------------------------------------------------------------


@nf.pipeline
def ray_fan(n: int = 6):  # type: ignore[no-untyped-def]
    xs = numbers(n)
    return combine(power.map(xs), stats(xs))


def _assigned() -> dict[str, float]:
    import ray

    return dict(ray.get_runtime_context().get_assigned_resources())


@nf.step(cpus=2, memory="64MiB")
def wide() -> dict[str, float]:
    return _assigned()


@nf.step
def narrow() -> dict[str, float]:
    return _assigned()


@nf.pipeline
def sized():  # type: ignore[no-untyped-def]
    return wide(), narrow()


@nf.step(retries=1, retry_delay_s=0.0)
def broken(x: float) -> float:
    raise ValueError(f"bad value {x}")


@nf.pipeline
def failing():  # type: ignore[no-untyped-def]
    return broken(numbers(2))


@nf.step
def die(x: float) -> float:
    if x == 2.0:
        os._exit(1)
    return x


@nf.pipeline
def deadly():  # type: ignore[no-untyped-def]
    return die.map(numbers(4))


@nf.step(timeout_s=0.5)
def slow() -> int:
    time.sleep(30)
    return 1


@nf.pipeline
def too_slow():  # type: ignore[no-untyped-def]
    return slow()


@nf.step(cpus=64)
def huge() -> int:
    return 1


@nf.pipeline
def too_big():  # type: ignore[no-untyped-def]
    return huge()


# -- helpers ------------------------------------------------------------------------


def _lineage(client: Client, run_id: str) -> list[tuple[str, str, str, str, str]]:
    steps = client.store.pipelines.steps_of(run_id)
    return sorted(
        (s.node, e.direction, e.name, e.digest, e.materializer) for s in steps for e in s.edges
    )


def _keys(client: Client, run_id: str) -> dict[str, str | None]:
    return {s.node: s.cache_key for s in client.store.pipelines.steps_of(run_id)}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- tests --------------------------------------------------------------------------


def test_a_ray_run_records_the_same_outputs_keys_and_lineage_as_inline(
    ray_session: ModuleType, client: Client
) -> None:
    inline = ray_fan.run(cache=False, client=client)
    on_ray = ray_fan.run(executor="ray", cache=False, client=client)
    assert on_ray.executor == "ray"
    assert on_ray.output() == inline.output() == 55.0 + 5.0
    # The map over a step output fanned out into one Ray task per element.
    assert sorted(on_ray.executed) == sorted(inline.executed)
    assert {f"power[{i}]" for i in range(6)} <= set(on_ray.executed)
    assert _keys(client, on_ray.run_id) == _keys(client, inline.run_id)
    assert _lineage(client, on_ray.run_id) == _lineage(client, inline.run_id)
    # A metric logged inside a step on a Ray worker lands on that step's run.
    assert client.get_run(on_ray.step("power[3]").run_id).metrics == {"x": 3.0}
    assert running_runs(client) == []
    # The Ray run of the session is still up: the executor did not start it, so kept it.
    assert ray_session.is_initialized()


def test_a_second_run_on_ray_hits_the_cache(ray_session: ModuleType, nf_client: Client) -> None:
    first = ray_fan.run({"n": 3}, executor="ray")
    assert first.hits == []
    second = ray_fan.run({"n": 3}, executor=RayExecutor())
    assert second.executed == []
    assert second.step("power[2]").source_run_id == first.step("power[2]").run_id
    assert second.output() == first.output() == 5.0 + 2.0


def test_declared_resources_reach_ray(ray_session: ModuleType, nf_client: Client) -> None:
    run = sized.run(executor="ray", cache=False)
    wide_got, narrow_got = run.output()
    assert wide_got == {"CPU": 2.0, "memory": float(64 * 1024**2)}
    assert narrow_got == {"CPU": 1.0}  # Ray's one CPU when nothing is declared
    assert nf_client.get_run(run.step("wide").run_id).tags["ninefold.resources.cpu"] == "2"


def test_a_failing_step_on_ray_fails_the_run_naming_the_step(
    ray_session: ModuleType, nf_client: Client
) -> None:
    with pytest.raises(
        StepFailed, match=r"Step 'broken' .* after 2 attempt\(s\): ValueError: bad value"
    ) as info:
        failing.run(executor="ray")
    assert running_runs(nf_client) == []
    assert nf_client.get_run(info.value.step_run_id).status == "failed"
    failed = nf_client.store.pipelines.steps_of(info.value.pipeline_run_id)
    assert {s.node: s.attempts for s in failed}["broken"] == 2  # ninefold retried, not Ray


def test_a_dead_ray_worker_fails_its_step_and_leaves_nothing_running(
    ray_session: ModuleType, nf_client: Client
) -> None:
    with pytest.raises(StepFailed, match=r"the Ray worker running step 'die\[2\]' died") as info:
        deadly.run(executor="ray")
    assert info.value.node == "die[2]"
    assert running_runs(nf_client) == []
    assert nf_client.get_run(info.value.step_run_id).status == "failed"
    assert nf_client.get_run(info.value.pipeline_run_id).status == "failed"
    # The other elements were in flight and finished; they are recorded.
    steps = {
        s.node: s.run_id for s in nf_client.store.pipelines.steps_of(info.value.pipeline_run_id)
    }
    done = statuses(nf_client, [steps[f"die[{i}]"] for i in (0, 1, 3)])
    assert set(done.values()) == {"finished"}


def test_a_step_past_its_timeout_on_ray_is_stopped(
    ray_session: ModuleType, nf_client: Client
) -> None:
    with pytest.raises(StepTimeout, match=r"Step 'slow' ran longer than its timeout_s=0\.5"):
        too_slow.run(executor="ray")
    assert running_runs(nf_client) == []


def test_a_step_no_node_can_hold_fails_instead_of_waiting_forever(
    ray_session: ModuleType, nf_client: Client
) -> None:
    with pytest.raises(StepFailed, match="step 'huge' asks Ray for cpus=64 and no node") as info:
        too_big.run(executor="ray")
    assert "check_fit=False" in str(info.value)
    assert running_runs(nf_client) == []
    assert nf_client.get_run(info.value.step_run_id).status == "failed"


def test_steps_from_a_folder_only_the_driver_imports_from_run_on_ray(
    ray_session: ModuleType, nf_client: Client, user_module: WriteModule
) -> None:
    module: Any = user_module(
        "ray_user_flow",
        """
        import ninefold as nf

        @nf.step
        def double(x: int) -> int:
            return 2 * x

        @nf.pipeline
        def doubled():
            return double.map([1, 2, 3])
        """,
    )
    assert module.doubled.run(executor="ray").output() == [2, 4, 6]


def test_a_script_run_as_main_runs_its_steps_on_a_running_cluster(
    ray_session: ModuleType, project: Path
) -> None:
    # Steps defined in the script itself (module __main__), as in `python train.py`; a
    # second driver connects to the session's Ray by its head address.
    (project / "scripted_flow.py").write_text(
        textwrap.dedent(
            """
            import sys

            import ninefold as nf
            from ninefold.pipelines import RayExecutor

            @nf.step
            def triple(x: int) -> int:
                return 3 * x

            @nf.pipeline
            def scripted():
                return triple.map([1, 2])

            if __name__ == "__main__":
                executor = RayExecutor(sys.argv[1])
                print("output", scripted.run(executor=executor).output())
                assert executor.started is False  # it disconnected and left the cluster up
            """
        )
    )
    address = ray_session.get_runtime_context().gcs_address
    done = subprocess.run(
        [sys.executable, "scripted_flow.py", address],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "output [3, 6]" in done.stdout
    assert ray_session.is_initialized()


def test_a_step_the_ray_worker_cannot_import_fails_with_the_fix(
    ray_session: ModuleType, nf_client: Client, user_module: WriteModule, tmp_path: Path
) -> None:
    module: Any = user_module(
        "ray_vanishing_flow",
        """
        import ninefold as nf

        @nf.step
        def gone() -> int:
            return 1

        @nf.pipeline
        def vanishing():
            return gone()
        """,
    )
    (tmp_path / "usercode" / "ray_vanishing_flow.py").unlink()
    with pytest.raises(StepFailed, match="the Ray worker could not load step 'gone'") as info:
        module.vanishing.run(executor="ray")
    assert "py_modules" in str(info.value)
    assert running_runs(nf_client) == []


def test_bad_ray_addresses_are_refused_with_the_forms_that_work() -> None:
    for address in ("ray://", "ray://head:port"):
        with pytest.raises(InvalidArgument, match="is not host:port; use 'ray://HOST:PORT'"):
            get_executor(address)
    with pytest.raises(InvalidArgument, match="max_workers=0"):
        RayExecutor(max_workers=0)
    with pytest.raises(InvalidArgument, match="'inline', 'process', 'ray' or 'ray://HOST:PORT'"):
        get_executor("dask")


def test_an_unreachable_ray_address_fails_fast_and_leaves_nothing_running(
    project: Path, nf_client: Client
) -> None:
    # A fresh interpreter: the session's Ray (if started) would otherwise be used as is.
    (project / "ray_cli_flow.py").write_text(
        textwrap.dedent(
            """
            import ninefold as nf

            @nf.step
            def one() -> int:
                return 1

            @nf.pipeline
            def remote_flow():
                return one()
            """
        )
    )
    port = _closed_port()
    address = f"ray://127.0.0.1:{port}"
    ninefold = Path(sys.executable).with_name("ninefold")
    # The address given on the command line, then through RAY_ADDRESS with `-x ray`.
    for executor, env in ((address, {}), ("ray", {"RAY_ADDRESS": address})):
        done = subprocess.run(
            [str(ninefold), "pipelines", "run", "ray_cli_flow.py:remote_flow", "-x", executor],
            cwd=project,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0
        message = " ".join(done.stderr.split())
        assert f"Cannot reach the Ray cluster at '{address}'" in message, done.stderr
    assert running_runs(nf_client) == []
    runs = nf_client.store.pipelines.pipeline_runs("remote_flow")
    assert len(runs) == 2
    assert {nf_client.get_run(run_id).status for run_id, _ in runs} == {"failed"}


def test_without_ray_installed_the_error_names_the_extra(
    nf_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when it is absent
    with pytest.raises(MissingDependency, match=r"pip install 'ninefold\[ray\]'"):
        ray_fan.run({"n": 2}, executor="ray")
    assert running_runs(nf_client) == []
