"""Contract: run search over a known dataset of 20 runs (every backend).

The dataset is built once per backend. Each expected result is written as a
Python predicate over the same table the runs were made from, newest first
(the default order), so a test reads as the rule it checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from ninefold import _process
from ninefold._ids import new_id
from ninefold.errors import FilterSyntaxError
from ninefold.store import MetadataStore, RunStatus
from ninefold.store.search import count
from tests.conftest import POSTGRES_URL, _postgres_schema_url

BASE_MS = 1_700_000_000_000
MISSING = None


@dataclass
class Spec:
    """One run of the dataset, as the test sees it."""

    i: int
    experiment: str
    name: str
    status: RunStatus
    start_ms: int
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]
    run_id: str = field(default_factory=new_id)

    def metric(self, key: str) -> float | None:
        """The latest value, None when the run has no such metric or it is NaN (SQL NULL)."""
        value = self.metrics.get(key)
        return None if value is None or math.isnan(value) else value

    def m(self, key: str, missing: float) -> float:
        """The latest value, or ``missing`` where :meth:`metric` is None."""
        value = self.metric(key)
        return missing if value is None else value


def _specs() -> list[Spec]:
    out = []
    for i in range(20):
        acc = ((i * 7) % 20) / 20
        metrics = {"acc": acc, "loss": 1 - acc}
        if i == 16:
            metrics["acc"] = 0.4  # ties with run 4
        if i == 7:
            metrics = {"acc": math.nan, "loss": math.nan}
        if i == 9:
            metrics["loss"] = math.inf
        if i == 12:
            metrics["loss"] = -math.inf
        if i == 5:
            metrics = {}
        params = {"model": ["rf", "gbm", "lr"][i % 3], "C": ["0.1", "1.0", "10.0", "0.01"][i % 4]}
        if i == 17:
            params = {}
        tags = {"team": "vision" if i % 2 == 0 else "nlp"}
        if i in (3, 10):
            tags = {}
        status = RunStatus.FAILED if i % 5 == 4 else RunStatus.FINISHED
        if i in (2, 13):
            status = RunStatus.RUNNING
        name = {18: "tune_a", 19: "tuneXa"}.get(i, f"run-{i:02d}")
        out.append(
            Spec(
                i=i,
                experiment="alpha" if i < 14 else "beta",
                name=name,
                status=status,
                start_ms=BASE_MS + i * 1000,
                params=params,
                tags=tags,
                metrics=metrics,
            )
        )
    return out


@dataclass
class Dataset:
    store: MetadataStore
    specs: list[Spec]
    experiment_ids: dict[str, str]

    def newest_first(self, keep: Callable[[Spec], bool]) -> list[str]:
        """Ids of the runs that ``keep`` accepts, in the default order."""
        ordered = sorted(self.specs, key=lambda s: s.start_ms, reverse=True)
        return [s.run_id for s in ordered if keep(s)]

    def ids(self, *indexes: int) -> list[str]:
        return [self.specs[i].run_id for i in indexes]

    def search(self, filter_text: str = "", **kwargs: object) -> list[str]:
        result = self.store.search(filter_text, **kwargs)  # type: ignore[arg-type]
        return [r[0] for r in result.runs]


def _build(store: MetadataStore) -> Dataset:
    specs = _specs()
    host, pid, started = _process.current()
    exp_ids = {name: store.experiments.create(name).experiment_id for name in ("alpha", "beta")}
    points: list[tuple[str, str, float, int, int]] = []
    for s in specs:
        store.runs.create(
            run_id=s.run_id,
            experiment_id=exp_ids[s.experiment],
            name=s.name,
            parent_run_id=None,
            host=host,
            pid=pid,
            pid_started=started,
            user="tester",
            params_=s.params,
            tags=s.tags,
            start_ms=s.start_ms,
        )
        for key, value in s.metrics.items():
            # An earlier step with a value above every latest one: searches
            # must compare the latest value, not any value of the series.
            points.append((s.run_id, key, 0.999, 0, s.start_ms))
            points.append((s.run_id, key, value, 1, s.start_ms + 1))
        if s.status is not RunStatus.RUNNING:
            store.runs.set_status(s.run_id, s.status, end_ms=s.start_ms + 500)
    store.runs.log_metrics(points)
    return Dataset(store, specs, exp_ids)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def data(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dataset]:
    """The 20-run dataset, built once per backend."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('search')}/s.db"])
    elif POSTGRES_URL:
        urls = _postgres_schema_url()
    else:
        pytest.skip("NINEFOLD_TEST_POSTGRES_URL is not set")
    for url in urls:
        store = MetadataStore(url)
        yield _build(store)
        store.close()


def test_no_filter_returns_every_run_newest_first(data: Dataset) -> None:
    expected = data.newest_first(lambda s: True)
    assert len(expected) == 20
    assert data.search() == expected
    assert data.search("   ") == expected


# -- boolean structure ------------------------------------------------------


def test_and(data: Dataset) -> None:
    assert data.search("metrics.acc >= 0.5 and params.model = 'rf'") == data.newest_first(
        lambda s: s.m("acc", -1) >= 0.5 and s.params.get("model") == "rf"
    )


def test_or(data: Dataset) -> None:
    assert data.search("params.model = 'rf' OR params.model = 'lr'") == data.newest_first(
        lambda s: s.params.get("model") in ("rf", "lr")
    )


def test_and_binds_tighter_than_or(data: Dataset) -> None:
    loose = data.search("tags.team = 'vision' or tags.team = 'nlp' and metrics.acc < 0.3")
    grouped = data.search("(tags.team = 'vision' or tags.team = 'nlp') and metrics.acc < 0.3")

    assert loose == data.newest_first(
        lambda s: (
            s.tags.get("team") == "vision" or (s.tags.get("team") == "nlp" and s.m("acc", 1) < 0.3)
        )
    )
    assert grouped == data.newest_first(lambda s: "team" in s.tags and s.m("acc", 1) < 0.3)
    assert loose != grouped


def test_not(data: Dataset) -> None:
    # A missing value is SQL NULL: neither "= 'rf'" nor "not = 'rf'" holds for it.
    assert data.search("not params.model = 'rf'") == data.newest_first(
        lambda s: s.params.get("model") not in (None, "rf")
    )
    assert data.search("not (params.model = 'rf' or params.model = 'lr')") == data.newest_first(
        lambda s: s.params.get("model") == "gbm"
    )


# -- operators ----------------------------------------------------------------


def test_in_and_not_in(data: Dataset) -> None:
    assert data.search("params.model in ('rf', 'gbm')") == data.newest_first(
        lambda s: s.params.get("model") in ("rf", "gbm")
    )
    assert data.search("params.model not in ('rf', 'gbm')") == data.newest_first(
        lambda s: s.params.get("model") == "lr"
    )
    assert data.search("metrics.acc in (0.35, 0.4)") == data.newest_first(
        lambda s: s.metric("acc") in (0.35, 0.4)
    )


def test_like_is_case_sensitive_and_ilike_is_not(data: Dataset) -> None:
    assert data.search("name like 'run-1%'") == data.newest_first(
        lambda s: s.name.startswith("run-1")
    )
    assert data.search("name like 'RUN-%'") == []
    assert data.search("name ilike 'RUN-0_'") == data.newest_first(
        lambda s: s.name.startswith("run-0")
    )
    assert data.search("name not like 'run-%'") == data.ids(19, 18)


def test_like_wildcards_and_escapes(data: Dataset) -> None:
    assert data.search("name like 'tune_a'") == data.ids(19, 18)
    # In the filter text a backslash is written twice; in the pattern it escapes _.
    assert data.search("name like 'tune\\\\_a'") == data.ids(18)


def test_is_null_and_is_not_null(data: Dataset) -> None:
    assert data.search("tags.team is null") == data.ids(10, 3)
    assert data.search("tags.team is not null") == data.newest_first(lambda s: "team" in s.tags)
    # "is null" means "never logged": run 5 logged no metrics; run 7 logged NaN,
    # which is a value (match it with "= nan").
    assert data.search("metrics.acc is null") == data.ids(5)
    assert data.ids(7)[0] in data.search("metrics.acc is not null")
    assert data.ids(5)[0] not in data.search("metrics.acc is not null")


def test_numeric_comparisons_on_latest_metric_values(data: Dataset) -> None:
    ops: dict[str, Callable[[float, float], bool]] = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
    }
    for op, check in ops.items():
        found = data.search(f"metrics.acc {op} 0.4")
        expected = data.newest_first(
            lambda s, check=check: s.metric("acc") is not None and check(s.metric("acc"), 0.4)
        )
        assert found == expected, op
    # Every run logged 0.999 at step 0: only the latest value counts.
    assert data.search("metrics.acc > 0.99") == []


def test_infinities(data: Dataset) -> None:
    assert data.search("metrics.loss > 1e300") == data.ids(9)
    assert data.search("metrics.loss = inf") == data.ids(9)
    assert data.search("metrics.loss < -1e300") == data.ids(12)
    assert data.search("metrics.loss = -inf") == data.ids(12)


def test_nan_never_matches_an_ordering_comparison(data: Dataset) -> None:
    for text in ("metrics.loss > -1", "metrics.loss < 2", "metrics.loss != 0.5"):
        found = data.search(text)
        assert data.specs[7].run_id not in found, text
        assert data.specs[5].run_id not in found, text
    assert data.search("metrics.loss > -1") == data.newest_first(lambda s: s.m("loss", -2) > -1)


def test_nan_equality_finds_only_runs_that_logged_nan(data: Dataset) -> None:
    assert data.search("metrics.loss = nan") == data.ids(7)
    assert data.search("metrics.loss != nan") == data.newest_first(
        lambda s: s.metric("loss") is not None
    )


def test_params_compare_as_the_logged_string(data: Dataset) -> None:
    expected = data.newest_first(lambda s: s.params.get("C") == "0.1")
    assert data.search("params.C = 0.1") == expected
    assert data.search("params.C = '0.1'") == expected
    assert data.search("params.C = 10.0") == data.newest_first(
        lambda s: s.params.get("C") == "10.0"
    )
    assert data.search("params.C != 0.1") == data.newest_first(
        lambda s: s.params.get("C") not in (None, "0.1")
    )


@pytest.mark.parametrize(
    ("text", "op_at"),
    [
        ("params.C > 0.1", 9),
        ("params.C <= '1'", 9),
        ("tags.team < 'x'", 10),
        ("metrics.acc = 'high'", 12),
        ("metrics.acc like '0.%'", 0),
    ],
)
def test_type_errors_point_at_the_operator(data: Dataset, text: str, op_at: int) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        data.search(text)
    assert info.value.position == op_at
    assert "^" in str(info.value)


# -- attributes -----------------------------------------------------------------


def test_attributes(data: Dataset) -> None:
    assert data.search("status = 'failed'") == data.newest_first(
        lambda s: s.status is RunStatus.FAILED
    )
    assert data.search("attributes.status != 'finished'") == data.newest_first(
        lambda s: s.status is not RunStatus.FINISHED
    )
    assert data.search("status = 'running'") == data.ids(13, 2)
    assert data.search("name = 'run-03'") == data.ids(3)
    assert data.search("run.name = 'run-03'") == data.ids(3)
    assert data.search("experiment = 'beta'") == data.newest_first(lambda s: s.experiment == "beta")
    assert data.search(f"start_time >= {BASE_MS + 15_000}") == data.ids(19, 18, 17, 16, 15)
    assert data.search(f"start_time < {BASE_MS + 2_000}") == data.ids(1, 0)
    assert data.search("end_time is null") == data.ids(13, 2)


def test_run_id_attribute(data: Dataset) -> None:
    a, b = data.specs[4].run_id, data.specs[11].run_id
    assert data.search(f"run_id = '{a}'") == [a]
    assert data.search(f"attributes.run_id in ('{a}', '{b}', 'nope')") == [b, a]
    assert data.search(f"experiment_id = '{data.experiment_ids['beta']}'") == data.newest_first(
        lambda s: s.experiment == "beta"
    )


# -- scope, ordering and limits -----------------------------------------------


def test_experiment_ids_restrict_the_search(data: Dataset) -> None:
    beta = data.experiment_ids["beta"]
    assert data.search("", experiment_ids=[beta]) == data.newest_first(
        lambda s: s.experiment == "beta"
    )
    assert data.search("params.model = 'rf'", experiment_ids=[beta]) == data.newest_first(
        lambda s: s.experiment == "beta" and s.params.get("model") == "rf"
    )
    assert data.search("", experiment_ids=list(data.experiment_ids.values())) == data.search()
    assert data.search("", experiment_ids=[]) == []


def test_max_results_keeps_the_first_in_order(data: Dataset) -> None:
    assert data.search(max_results=5) == data.newest_first(lambda s: True)[:5]
    assert (
        data.search("tags.team = 'nlp'", max_results=3)
        == data.newest_first(lambda s: s.tags.get("team") == "nlp")[:3]
    )


def _by_acc(data: Dataset, descending: bool) -> list[str]:
    present = [s for s in data.specs if s.metric("acc") is not None]
    absent = [s for s in data.specs if s.metric("acc") is None]
    sign = -1 if descending else 1
    # Ties (runs 4 and 16) fall back to the default order: newest first.
    present.sort(key=lambda s: (sign * s.m("acc", 0.0), -s.start_ms))
    absent.sort(key=lambda s: -s.start_ms)
    return [s.run_id for s in present + absent]


def test_order_by_metric_puts_missing_and_nan_last(data: Dataset) -> None:
    desc = data.search(order_by=["metrics.acc desc"])
    asc = data.search(order_by=["metrics.acc ASC"])

    assert desc == _by_acc(data, descending=True)
    assert asc == _by_acc(data, descending=False)
    assert desc[-2:] == asc[-2:] == data.ids(7, 5)
    assert desc.index(data.specs[16].run_id) < desc.index(data.specs[4].run_id)


def test_order_by_two_keys_and_limit(data: Dataset) -> None:
    found = data.search(order_by=["metrics.acc desc", "start_time asc"], max_results=20)
    assert found.index(data.specs[4].run_id) < found.index(data.specs[16].run_id)

    top = data.search("metrics.acc < 0.5", order_by=["metrics.acc desc"], max_results=3)
    below = sorted(
        (s for s in data.specs if s.m("acc", 1) < 0.5),
        key=lambda s: (-s.m("acc", 0.0), -s.start_ms),
    )
    assert top == [s.run_id for s in below[:3]]


def test_order_by_a_param_and_an_attribute(data: Dataset) -> None:
    by_name = data.search("experiment = 'alpha'", order_by=["name"])
    assert by_name == [
        s.run_id for s in sorted(data.specs, key=lambda s: s.name) if s.experiment == "alpha"
    ]
    by_model = data.search(order_by=["params.model desc"])
    models = [data.store.runs.get(r).params.get("model") for r in by_model]
    present = [m for m in models if m is not None]
    assert present == sorted(present, reverse=True)
    assert models[-1] is None


def test_result_carries_each_runs_values(data: Dataset) -> None:
    result = data.store.search(
        "experiment = 'alpha' and (metrics.acc is null or metrics.acc = nan)"
    )
    nan_run, empty_run = data.specs[7], data.specs[5]

    assert [r[0] for r in result.runs] == [nan_run.run_id, empty_run.run_id]
    _, experiment, name, status, start_ms, end_ms, parent, user = result.runs[0]
    assert (experiment, name, status, start_ms, end_ms, parent, user) == (
        "alpha",
        "run-07",
        "finished",
        nan_run.start_ms,
        nan_run.start_ms + 500,
        None,
        "tester",
    )
    assert sorted(k for r, k, _ in result.metrics if r == nan_run.run_id) == ["acc", "loss"]
    assert all(math.isnan(v) for _, _, v in result.metrics)
    assert {(r, k) for r, k, _ in result.metrics} == {
        (nan_run.run_id, "acc"),
        (nan_run.run_id, "loss"),
    }
    expected_params = {(s.run_id, k, v) for s in (nan_run, empty_run) for k, v in s.params.items()}
    assert set(result.params) == expected_params
    assert set(result.tags) == {
        (s.run_id, k, v) for s in (nan_run, empty_run) for k, v in s.tags.items()
    }


def test_result_values_for_infinite_metrics(data: Dataset) -> None:
    result = data.store.search("metrics.loss = inf or metrics.loss = -inf")
    loss = {r: v for r, k, v in result.metrics if k == "loss"}
    assert loss == {data.specs[9].run_id: math.inf, data.specs[12].run_id: -math.inf}


def test_empty_result(data: Dataset) -> None:
    result = data.store.search("params.model = 'svm'")
    assert (result.runs, result.metrics, result.params, result.tags) == ([], [], [], [])


def test_count_agrees_with_search(data: Dataset) -> None:
    for text in ("", "params.model = 'rf'", "metrics.acc > 0.5 or tags.team is null"):
        assert count(data.store.db, text) == len(data.search(text)), text


def test_numbers_beyond_64_bits(data: Dataset) -> None:
    big = 10**20
    assert data.search(f"metrics.acc < {big}") == data.newest_first(
        lambda s: s.metric("acc") is not None
    )
    assert data.search(f"metrics.acc > -{big}") == data.search(f"metrics.acc < {big}")
    assert data.search(f"start_time < {big} and metrics.acc in ({big}, 0.4)") == data.ids(16, 4)
    assert data.search(f"end_time > {10**400}") == []
