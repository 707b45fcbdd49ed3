"""``ninefold runs list | show | compare`` and ``ninefold experiments list``."""

from __future__ import annotations

from tests.cli.conftest import History, Invoke, as_json


def _ids(records: list[dict[str, object]]) -> list[object]:
    return [r["run_id"] for r in records]


def test_runs_list_json_newest_first_with_params_and_metrics(cli: Invoke, history: History) -> None:
    records = as_json(cli("runs", "list", "--json"))
    assert _ids(records) == [history.baseline, history.rf, history.lr]
    lr = records[2]
    assert lr["name"] == "lr-small"
    assert lr["experiment"] == "sweep"
    assert lr["status"] == "finished"
    assert lr["params.C"] == "0.1"
    assert lr["params.model"] == "lr"
    assert lr["metrics.acc"] == 0.81
    assert lr["metrics.loss"] == "nan"


def test_runs_list_table(cli: Invoke, history: History) -> None:
    out = cli("runs", "list").stdout
    assert "3 run(s)" in out
    for text in ("lr-small", "baseline", "sweep", "finished", "acc", "0.93", "nan"):
        assert text in out
    assert out.index(history.baseline) < out.index(history.rf) < out.index(history.lr)
    # In a narrow terminal the other columns give way; run ids stay whole.
    out = cli("runs", "list", columns=80).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    for run_id in (history.lr, history.rf, history.baseline):
        assert run_id in out


def test_runs_list_filter(cli: Invoke, history: History) -> None:
    rf_only = as_json(cli("runs", "list", "--json", "--filter", "params.model = 'rf'"))
    assert _ids(rf_only) == [history.rf]
    good = as_json(cli("runs", "list", "--json", "-f", "metrics.acc > 0.8"))
    assert set(_ids(good)) == {history.lr, history.rf}
    none = as_json(cli("runs", "list", "--json", "-f", "metrics.acc > 0.99"))
    assert none == []
    assert "0 run(s)" in cli("runs", "list", "-f", "metrics.acc > 0.99").stdout


def test_runs_list_order_by(cli: Invoke, history: History) -> None:
    desc = as_json(cli("runs", "list", "--json", "--order-by", "metrics.acc desc"))
    assert _ids(desc) == [history.rf, history.lr, history.baseline]
    asc = as_json(cli("runs", "list", "--json", "-o", "metrics.acc asc"))
    assert _ids(asc) == [history.baseline, history.lr, history.rf]
    by_two = as_json(
        cli("runs", "list", "--json", "-o", "params.model asc", "-o", "metrics.acc desc")
    )
    assert _ids(by_two) == [history.baseline, history.lr, history.rf]


def test_runs_list_experiment_and_max(cli: Invoke, history: History) -> None:
    sweep = as_json(cli("runs", "list", "--json", "--experiment", "sweep"))
    assert _ids(sweep) == [history.rf, history.lr]
    both = as_json(cli("runs", "list", "--json", "-e", "sweep", "-e", "other"))
    assert len(both) == 3
    newest = as_json(cli("runs", "list", "--json", "--max", "1"))
    assert _ids(newest) == [history.baseline]
    best = as_json(
        cli("runs", "list", "--json", "-e", "sweep", "-o", "metrics.acc desc", "-n", "1")
    )
    assert _ids(best) == [history.rf]
    result = cli("runs", "list", "-e", "nope", code=1)
    assert "ExperimentNotFound" in result.stderr
    assert "nope" in result.stderr


def test_runs_show_json(cli: Invoke, history: History) -> None:
    data = as_json(cli("runs", "show", history.lr, "--json"))
    assert data["run_id"] == history.lr
    assert data["name"] == "lr-small"
    assert data["experiment"] == "sweep"
    assert data["params"] == {"C": "0.1", "model": "lr"}
    assert (data["metrics"]["acc"], data["metrics"]["loss"]) == (0.81, "nan")
    paths = {a["path"] for a in data["artifacts"]}
    assert {"notes/readme.txt", "notes/cfg.json", "models/iris-clf/model.pkl"} <= paths
    assert all(len(a["digest"]) == 64 and a["size"] > 0 for a in data["artifacts"])
    assert data["models"] == ["models:/iris-clf/1"]
    assert data["inputs"] == [{"kind": "dataset", "ref": "iris@1", "context": None}]
    assert data["children"] == []
    assert as_json(cli("runs", "show", history.rf, "--json"))["models"] == ["models:/iris-clf/2"]


def test_runs_show_table(cli: Invoke, history: History) -> None:
    out = cli("runs", "show", history.lr).stdout
    assert history.lr in out
    assert "lr-small" in out
    for text in ("Params", "Metrics", "Artifacts", "notes/readme.txt", "iris@1", "nan"):
        assert text in out
    assert "models:/iris-clf/1" in out


def test_runs_compare(cli: Invoke, history: History) -> None:
    rows = as_json(cli("runs", "compare", history.lr, history.rf, "--json"))
    by_key = {r["key"]: r for r in rows}
    assert by_key["run_id"]["lr-small"] == history.lr
    assert by_key["run_id"]["rf"] == history.rf
    assert (by_key["params.model"]["lr-small"], by_key["params.model"]["rf"]) == ("lr", "rf")
    assert by_key["params.model"]["differs"] is True
    assert by_key["status"]["differs"] is False
    assert by_key["metrics.loss"]["lr-small"] == "nan"
    assert by_key["metrics.loss"]["rf"] is None
    out = cli("runs", "compare", history.lr, history.rf).stdout
    assert "params.model" in out
    assert "lr-small" in out
    assert "0.93" in out
    # Naming a run twice compares it once, and one run alone still renders.
    twice = as_json(cli("runs", "compare", history.lr, history.lr, "--json"))
    assert [r for r in twice if r["key"] == "run_id"] == [{"key": "run_id", "lr-small": history.lr}]
    assert "params.model" in cli("runs", "compare", history.rf).stdout
    result = cli("runs", "compare", history.lr, "0123abcd", code=1)
    assert "RunNotFound" in result.stderr
    assert "0123abcd" in result.stderr


def test_experiments_list_counts_runs(cli: Invoke, history: History) -> None:
    exps = as_json(cli("experiments", "list", "--json"))
    counts = {e["name"]: e["runs"] for e in exps}
    assert counts["sweep"] == 2
    assert counts["other"] == 1
    assert sum(counts.values()) == 3
    assert all(len(e["experiment_id"]) > 0 and e["created_ms"] > 0 for e in exps)
    out = cli("experiments", "list").stdout
    assert "sweep" in out
    assert "other" in out
