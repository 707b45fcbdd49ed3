"""The cache: hits on a re-run, misses that say why, and the switches that turn it off."""

from __future__ import annotations

import time

import pytest

import ninefold as nf
from ninefold.pipelines.cache import NO_PREVIOUS, reasons
from ninefold.pipelines.history import explain
from ninefold.tracking.client import Client
from tests.pipelines.conftest import WriteModule

CALLS: list[str] = []


@nf.step
def make(n: int = 4) -> list[int]:
    CALLS.append("make")
    return list(range(n))


@nf.step
def fit(xs: list[int], C: float = 0.1) -> dict[str, float]:
    CALLS.append("fit")
    return {"score": sum(xs) * C}


@nf.step
def parity(xs: list[int]) -> list[int]:
    CALLS.append("parity")
    return [x % 2 for x in xs[:2]]


@nf.step
def count(bits: list[int]) -> int:
    CALLS.append("count")
    return sum(bits)


@nf.pipeline
def train(n: int = 4, C: float = 0.1):  # type: ignore[no-untyped-def]
    return fit(make(n), C=C)


@nf.pipeline
def bits(n: int = 4):  # type: ignore[no-untyped-def]
    return count(parity(make(n)))


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def test_a_second_run_takes_every_step_from_the_cache(nf_client: Client) -> None:
    first = train.run()
    assert CALLS == ["make", "fit"]
    assert first.executed == ["make", "fit"]
    assert first.step("make").reasons == [NO_PREVIOUS]
    CALLS.clear()
    second = train.run()
    assert CALLS == []
    assert second.hits == ["make", "fit"]
    assert second.step("fit").source_run_id == first.step("fit").run_id
    assert second.output() == {"score": 0.6000000000000001}
    # A hit links the same content-addressed outputs and records both edges.
    first_out = [e.digest for e in first.step("fit").edges if e.direction == "output"]
    second_out = [e.digest for e in second.step("fit").edges if e.direction == "output"]
    assert first_out == second_out


def test_a_changed_param_is_the_reason_of_the_miss(nf_client: Client) -> None:
    train.run({"C": 0.1})
    CALLS.clear()
    run = train.run({"C": 1.0})
    assert CALLS == ["fit"]
    assert run.hits == ["make"]
    assert run.step("fit").reasons == ["params.C 0.1 -> 1.0"]
    rows = {r["node"]: r for r in explain(run.run_id, client=nf_client)}
    assert rows["fit"]["reasons"] == ["params.C 0.1 -> 1.0"]
    assert rows["make"]["cache"] == "hit"


def test_same_bytes_from_a_re_run_upstream_step_keep_downstream_hits(nf_client: Client) -> None:
    bits.run({"n": 4})
    CALLS.clear()
    run = bits.run({"n": 6})  # make and parity re-run; parity still returns [0, 1]
    assert CALLS == ["make", "parity"]
    assert run.hits == ["count"]
    assert run.step("parity").reasons == ["input 'xs' changed"]


def test_a_changed_helper_in_a_user_module_is_named(
    nf_client: Client, user_module: WriteModule
) -> None:
    source = '''
        import ninefold as nf

        OFFSET = 1

        def clean(xs):
            return [x + OFFSET for x in xs]

        @nf.step
        def prep(n: int = 3) -> list[int]:
            """Docstrings and decorators do not count."""
            return clean(list(range(n)))

        @nf.pipeline
        def flow(n: int = 3):
            return prep(n)
    '''
    mod = user_module("flowmod", source)
    assert mod.flow.run().output() == [1, 2, 3]
    # Only a docstring and the formatting change: still a hit.
    mod = user_module(
        "flowmod", source.replace("Docstrings and", "Docs,").replace("(n: int = 3)", "(n: int=3)")
    )
    assert mod.flow.run().hits == ["prep"]
    # The helper changes: a miss that names it.
    mod = user_module("flowmod", source.replace("x + OFFSET", "x + OFFSET * 2"))
    run = mod.flow.run()
    assert run.output() == [2, 3, 4]
    assert run.step("prep").reasons == ["helper clean() changed"]
    # A module constant the helper reads changes.
    mod = user_module(
        "flowmod",
        source.replace("OFFSET = 1", "OFFSET = 5").replace("x + OFFSET", "x + OFFSET * 2"),
    )
    run = mod.flow.run()
    assert run.step("prep").reasons == ["constant OFFSET changed"]
    assert run.output() == [10, 11, 12]


def test_a_helper_in_another_user_module_imported_inside_the_step_is_tracked(
    nf_client: Client, user_module: WriteModule
) -> None:
    user_module("helpers2", "def norm(x):\n    return x / 10\n")
    flow_src = """
        import ninefold as nf

        @nf.step
        def prep(n: int = 3) -> list[float]:
            from helpers2 import norm
            return [norm(x) for x in range(n)]

        @nf.pipeline
        def flow2(n: int = 3):
            return prep(n)
    """
    mod = user_module("flowmod2", flow_src)
    mod.flow2.run()
    user_module("helpers2", "def norm(x):\n    return x / 100\n")
    mod = user_module("flowmod2", flow_src)
    run = mod.flow2.run()
    assert run.step("prep").reasons == ["helper norm() changed"]
    assert run.output() == [0.0, 0.01, 0.02]


def test_cache_off_for_a_step_or_a_run_is_recorded(nf_client: Client) -> None:
    always = nf.step(cache=False, name="always")(make.fn)

    @nf.pipeline
    def uncached():  # type: ignore[no-untyped-def]
        return fit(always(4))

    uncached.run()
    run = uncached.run()
    assert run.step("always").cache == "off"
    assert run.step("always").reasons == ["cache disabled for this step (cache=False)"]
    # Its output did not change, so the step after it still hits.
    assert run.hits == ["fit"]
    forced = train.run(cache=False)
    assert {s.cache for s in forced.steps} == {"off"}
    assert forced.step("fit").reasons == ["cache disabled for this run"]


def test_an_expired_result_is_not_reused(nf_client: Client) -> None:
    short = nf.step(expire=0.05, name="short")(make.fn)

    @nf.pipeline
    def expiring():  # type: ignore[no-untyped-def]
        return short(3)

    first = expiring.run()
    time.sleep(0.2)
    run = expiring.run()
    assert run.executed == ["short"]
    assert run.step("short").reasons == [
        f"cached result of run {first.step('short').run_id} expired (older than 0.05s)"
    ]


def test_missing_cached_blobs_force_a_re_run(nf_client: Client) -> None:
    first = train.run()
    digest = next(e.digest for e in first.step("fit").edges if e.direction == "output")
    nf_client.artifacts.delete(digest)
    run = train.run()
    assert run.executed == ["fit"]
    assert "missing from the artifact store" in run.step("fit").reasons[0]
    assert run.output() == {"score": 0.6000000000000001}


def test_plan_predicts_hits_without_recording_anything(nf_client: Client) -> None:
    train.run()
    before = nf_client.store.runs.count()
    plan = {p.node: p for p in train.plan({"C": 2.0})}
    assert nf_client.store.runs.count() == before
    assert plan["make"].action == "hit"
    assert plan["fit"].action == "run"
    assert plan["fit"].reasons == ["params.C 0.1 -> 2.0"]
    downstream = {p.node: p for p in train.plan({"n": 5})}
    assert downstream["fit"].reasons == ["depends on make, which will run"]


def test_reasons_name_code_params_inputs_libraries_and_seed() -> None:
    old = {
        "step": "m:train",
        "code": {
            "m:train": {"kind": "step", "hash": "a"},
            "m:clean": {"kind": "function", "hash": "b"},
            "m:Scaler": {"kind": "class", "hash": "c"},
        },
        "params": {"C": 0.1, "kernel": "rbf"},
        "inputs": {"X": "d1"},
        "env": {"python": "3.11", "scikit-learn": "1.8"},
        "seed": 1,
        "outputs": ["output"],
    }
    new = {
        "step": "m:train",
        "code": {
            "m:train": {"kind": "step", "hash": "a2"},
            "m:clean": {"kind": "function", "hash": "b2"},
            "m:THRESHOLD": {"kind": "constant", "hash": "e"},
        },
        "params": {"C": 1.0},
        "inputs": {"X": "d2"},
        "env": {"python": "3.11", "scikit-learn": "1.9", "numpy": "2.4"},
        "seed": 2,
        "outputs": ["output"],
    }
    assert reasons(old, new) == [
        "class Scaler no longer used",
        "constant THRESHOLD added",
        "helper clean() changed",
        "step train() changed",
        "params.C 0.1 -> 1.0",
        "params.kernel removed (was 'rbf')",
        "input 'X' changed",
        "numpy 2.4 added",
        "scikit-learn 1.8 -> 1.9",
        "seed 1 -> 2",
    ]
    assert reasons(None, new) == [NO_PREVIOUS]
    assert reasons(new, new) == []
