"""Seeds: seed_everything seeds and records; each step gets a stable seed of its own."""

from __future__ import annotations

import random

import numpy as np
import pytest

import ninefold as nf
from ninefold.errors import InvalidArgument
from ninefold.pipelines import derive_seed
from ninefold.tracking.client import Client


def test_seed_everything_makes_random_and_numpy_repeat_and_is_recorded(nf_client: Client) -> None:
    with nf.start_run(capture_environment=False) as run:
        seeded = nf.seed_everything(123)
        first = (random.random(), float(np.random.rand()))
    nf.seed_everything(123)
    assert (random.random(), float(np.random.rand())) == first
    nf.seed_everything(124)
    assert (random.random(), float(np.random.rand())) != first
    assert seeded[:2] == ["random", "numpy"]
    assert nf_client.get_run(run.run_id).tags["ninefold.seed"] == "123"
    with pytest.raises(InvalidArgument, match="seed=-1"):
        nf.seed_everything(-1)


def test_derived_seeds_are_stable_and_differ_by_step() -> None:
    assert derive_seed(0, "train") == derive_seed(0, "train")
    assert len({derive_seed(0, "train"), derive_seed(0, "eval"), derive_seed(1, "train")}) == 3
    assert 0 <= derive_seed(7, "x") < 2**32


@nf.step
def draw(n: int = 3, seed: int = 0) -> dict[str, object]:
    return {"seed": seed, "np": np.random.rand(n).tolist(), "py": random.random()}


@nf.pipeline
def draws():  # type: ignore[no-untyped-def]
    return draw()


@nf.step
def draw_injected(seed: int) -> int:
    return seed


@nf.pipeline
def injected():  # type: ignore[no-untyped-def]
    return draw_injected()


def test_a_step_is_seeded_with_its_derived_seed(nf_client: Client) -> None:
    a = draws.run(cache=False, seed=5).output()
    b = draws.run(cache=False, seed=5).output()
    c = draws.run(cache=False, seed=6).output()
    assert a == b
    assert a["np"] != c["np"]
    run = injected.run(seed=5)
    assert run.output() == derive_seed(5, "draw_injected")
    assert run.step("draw_injected").seed == derive_seed(5, "draw_injected")
    assert nf_client.get_run(run.run_id).tags["ninefold.seed"] == "5"
    # The seed is part of the cache key.
    assert injected.run(seed=6).step("draw_injected").reasons == [
        f"seed {derive_seed(5, 'draw_injected')} -> {derive_seed(6, 'draw_injected')}"
    ]
