"""``ninefold pipelines``: run, list, show, explain, graph and lineage, as a user types them."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ninefold.cli.main import app
from ninefold.tracking.client import Client

FLOW = """
import ninefold as nf

@nf.step
def load(n: int = 3) -> list[int]:
    return list(range(n))

@nf.step
def fit(xs: list[int], C: float = 0.1) -> float:
    return sum(xs) * C

@nf.pipeline
def cli_flow(n: int = 3, C: float = 0.1):
    return fit(load(n), C=C)
"""


@pytest.fixture
def flow_file(project: Path) -> Iterator[Path]:
    path = project / "cli_flow_mod.py"
    path.write_text(textwrap.dedent(FLOW))
    yield path
    sys.modules.pop("cli_flow_mod", None)


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_run_then_explain_the_miss_of_a_changed_param(flow_file: Path, nf_client: Client) -> None:
    spec = f"{flow_file}:cli_flow"
    first = json.loads(invoke("pipelines", "run", spec, "--json"))
    assert [s["cache"] for s in first["steps"]] == ["miss", "miss"]
    second = json.loads(invoke("pipelines", "run", spec, "-p", "C=1", "--json"))
    assert second["params"] == {"n": 3, "C": 1.0}
    assert [s["cache"] for s in second["steps"]] == ["hit", "miss"]
    explained = json.loads(invoke("pipelines", "explain", second["run_id"], "--json"))
    assert explained[1]["reasons"] == ["params.C 0.1 -> 1.0"]
    text = invoke("pipelines", "explain", second["run_id"])
    assert "params.C 0.1 -> 1.0" in text
    listed = json.loads(invoke("pipelines", "list", "--json"))
    assert [r["run"]["run_id"] for r in listed] == [second["run_id"], first["run_id"]]
    shown = json.loads(invoke("pipelines", "show", first["run_id"], "--json"))
    assert [s["node"] for s in shown["steps"]] == ["load", "fit"]
    assert "fit" in invoke("pipelines", "show", first["run_id"])
    plan = json.loads(invoke("pipelines", "run", spec, "-p", "C=1", "--dry-run", "--json"))
    assert [p["action"] for p in plan] == ["hit", "hit"]
    digest = shown["steps"][0]["edges"][0]["digest"]
    lineage = json.loads(invoke("pipelines", "lineage", digest, "--downstream", "--json"))
    assert {n["name"] for n in lineage["nodes"].values() if n["kind"] == "run"} == {"fit"}


def test_graph_shows_the_steps_without_running(flow_file: Path, nf_client: Client) -> None:
    out = invoke("pipelines", "graph", f"{flow_file}:cli_flow", "-p", "n=5")
    assert "load(n=5)" in out
    assert "fit(xs<-load, C=0.1)" in out
    assert nf_client.store.runs.count() == 0
    mermaid = invoke("pipelines", "graph", f"{flow_file}:cli_flow", "--format", "mermaid")
    assert "flowchart TD" in mermaid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pipelines", "run", "no_colon"], "does not name a pipeline"),
        (["pipelines", "run", "missing.py:x"], "No such file"),
        (["pipelines", "graph", "{flow}:nope"], "has no attribute 'nope'"),
        (["pipelines", "run", "{flow}:cli_flow", "-p", "C=big"], "expected a float"),
        (["pipelines", "run", "{flow}:cli_flow", "-p", "D=1"], "has no such param"),
    ],
)
def test_bad_input_is_a_clear_error(
    flow_file: Path, nf_client: Client, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, [a.replace("{flow}", str(flow_file)) for a in args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_show_of_a_plain_run_says_it_is_not_a_pipeline_run(nf_client: Client) -> None:
    import ninefold as nf

    with nf.start_run(capture_environment=False) as run:
        pass
    result = CliRunner().invoke(app, ["pipelines", "show", run.run_id])
    assert result.exit_code == 1
    assert "is not a pipeline run" in result.output


SWEPT = """
import ninefold as nf

@nf.step
def load(n: int = 3) -> list[int]:
    return list(range(n))

@nf.step
def fit(xs: list[int], C: float = 0.1) -> float:
    if C < 0:
        raise ValueError(f"C must be >= 0, got {C}")
    nf.log_metric("score", sum(xs) * C)
    return sum(xs) * C

@nf.pipeline
def swept(n: int = 3, C: float = 0.1):
    return fit(load(n), C=C)
"""


@pytest.fixture
def swept_file(project: Path) -> Iterator[Path]:
    path = project / "swept_mod.py"
    path.write_text(textwrap.dedent(SWEPT))
    yield path
    sys.modules.pop("swept_mod", None)


def test_sweep_runs_every_combination_and_lifts_the_step_metrics(
    swept_file: Path, nf_client: Client
) -> None:
    spec = f"{swept_file}:swept"
    out = json.loads(invoke("pipelines", "sweep", spec, "-g", "C=0.5,2", "-p", "n=4", "--json"))
    assert [r["params"] for r in out["runs"]] == [{"n": 4, "C": 0.5}, {"n": 4, "C": 2.0}]
    assert sorted(out["metrics"][r["run_id"]]["fit/score"] for r in out["runs"]) == [3.0, 12.0]
    assert out["failures"] == []
    # The step both combinations share ran once.
    loads = [s["cache"] for r in out["runs"] for s in r["steps"] if s["node"] == "load"]
    assert sorted(loads) == ["hit", "miss"]
    sweep_run = nf_client.get_run(out["run_id"])
    assert sweep_run.status.value == "finished"
    text = invoke("pipelines", "sweep", spec, "-g", "C=0.5,2", "--sort", "fit/score")
    assert text.index("2.0") < text.index("0.5")  # highest score first


def test_a_failing_combination_fails_the_sweep_but_not_the_others(
    swept_file: Path, nf_client: Client
) -> None:
    result = CliRunner().invoke(
        app, ["pipelines", "sweep", f"{swept_file}:swept", "-g", "C=1,-1", "--json"]
    )
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert [r["params"]["C"] for r in out["runs"]] == [1.0]
    (failure,) = out["failures"]
    assert failure["params"]["C"] == -1.0
    assert "C must be >= 0" in failure["error"]
    assert nf_client.get_run(out["run_id"]).status.value == "failed"


def test_diff_names_the_changed_param_and_where_two_runs_part(
    flow_file: Path, nf_client: Client
) -> None:
    spec = f"{flow_file}:cli_flow"
    a = json.loads(invoke("pipelines", "run", spec, "--json"))["run_id"]
    b = json.loads(invoke("pipelines", "run", spec, "-p", "C=1", "--json"))["run_id"]
    again = json.loads(invoke("pipelines", "run", spec, "--json"))["run_id"]  # all cached
    result = CliRunner().invoke(app, ["pipelines", "diff", a, b, "--json"])
    assert result.exit_code == 1, result.output
    d = json.loads(result.output)
    assert d["params"] == ["C: 0.1 -> 1.0"]
    assert d["differing"] == ["fit"]
    assert d["first_divergence"] == "fit"
    assert [s["identical"] for s in d["steps"]] == [True, False]
    assert "they part at step fit" in CliRunner().invoke(app, ["pipelines", "diff", a, b]).output
    same = json.loads(invoke("pipelines", "diff", a, again, "--json"))
    assert same["identical"]
    assert same["params"] == []
    plain = nf_client.store.runs.get(d["steps"][0]["original_run_id"]).run_id  # a step run
    refused = CliRunner().invoke(app, ["pipelines", "diff", a, plain])
    assert refused.exit_code == 1
    assert "is not a pipeline run" in refused.output


def test_params_come_from_a_yaml_file_and_param_overrides_it(
    flow_file: Path, nf_client: Client, project: Path
) -> None:
    config = project / "params.yaml"
    config.write_text("# reviewed in the pull request\nn: 4\nC: 0.5\n")
    spec = f"{flow_file}:cli_flow"
    run = json.loads(invoke("pipelines", "run", spec, "--config", str(config), "--json"))
    assert run["params"] == {"n": 4, "C": 0.5}
    over = json.loads(invoke("pipelines", "run", spec, "-c", str(config), "-p", "C=2", "--json"))
    assert over["params"] == {"n": 4, "C": 2.0}
    config.write_text("n: 4\ngamma: 1\n")
    bad = CliRunner().invoke(app, ["pipelines", "run", spec, "--config", str(config)])
    assert bad.exit_code == 1
    assert "gamma" in bad.output
    assert "params.yaml" in bad.output
    config.write_text("- 1\n- 2\n")
    listed = CliRunner().invoke(app, ["pipelines", "run", spec, "--config", str(config)])
    assert listed.exit_code == 1
    assert "must be a mapping" in listed.output
