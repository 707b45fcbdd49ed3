"""Price tables: the shipped defaults, overrides, instance splits, validation and staleness."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ninefold.costs.prices import build_table, load_price_file, load_prices, parse_table
from ninefold.costs.settings import load_cost_settings
from ninefold.errors import ConfigError, InvalidArgument

GOOD_ROW = """
[[rate]]
resource = "cpu"
unit = "vcpu-hour"
price = 0.05
currency = "USD"
source = "our negotiated rate"
date = 2026-11-01
"""


def _write(folder: Path, text: str, name: str = "prices.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_defaults_cover_every_resource_with_source_and_date() -> None:
    table = load_prices()
    assert table.currency == "USD"
    assert {"cpu", "memory", "gpu", "storage", "egress"} <= set(table.rates)
    assert {"m7i.large", "c7i.xlarge", "g5.xlarge", "n2-standard-4"} <= set(table.instances)
    for row in [*table.rates.values(), *table.instances.values()]:
        assert row.source.strip()
        assert row.date <= date(2026, 11, 27)
    assert len(table.version) == 12
    assert table.version == load_prices().version


@pytest.mark.parametrize(
    ("instance", "cpu", "memory", "gpu"),
    [
        # The research figures: OpenCost's ratio method with the GCP base rates.
        ("m7i.large", "0.03281", "0.004398", None),
        ("g5.xlarge", "0.02779", "0.003725", "0.8352"),
        ("n2-standard-4", "0.031611", "0.004237", None),
    ],
)
def test_instance_split_into_unit_rates(
    instance: str, cpu: str, memory: str, gpu: str | None
) -> None:
    rates = load_prices().rates_for(instance)
    places = Decimal(cpu).as_tuple().exponent
    assert rates.cpu.quantize(Decimal(1).scaleb(places)) == Decimal(cpu)
    assert rates.memory.quantize(Decimal(1).scaleb(Decimal(memory).as_tuple().exponent)) == (
        Decimal(memory)
    )
    if gpu is not None:
        assert rates.gpu.quantize(Decimal("0.0001")) == Decimal(gpu)
    inst = load_prices().instances[instance]
    whole = inst.vcpu * rates.cpu + inst.memory_gib * rates.memory + inst.gpus * rates.gpu
    assert abs(whole - inst.price) < Decimal("1e-12")


def test_gpu_rate_is_found_by_model_inside_the_nvml_name() -> None:
    table = load_prices()
    assert table.gpu_rate("NVIDIA A100-SXM4-40GB").model == "A100"
    assert table.gpu_rate("NVIDIA H100 80GB HBM3").model == "H100"
    assert table.gpu_rate("Tesla T4").model is None
    assert table.gpu_rate(None) is table.rates["gpu"]


def test_unknown_instance_preset_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match=r"'m9.huge'.*g5\.xlarge"):
        load_prices().rates_for("m9.huge")


def test_project_prices_file_overrides_rows_and_changes_the_version(project: Path) -> None:
    default = load_prices()
    _write(project, GOOD_ROW)
    settings = load_cost_settings(project)
    assert settings.prices_file == project / "prices.toml"
    table = load_prices(settings)
    assert table.rates["cpu"].price == Decimal("0.05")
    assert table.rates["cpu"].origin == str(project / "prices.toml")
    assert table.rates["memory"] == default.rates["memory"]
    assert table.version != default.version


def test_inline_rows_in_ninefold_toml_override_the_prices_file(project: Path) -> None:
    _write(project, GOOD_ROW)
    with (project / "ninefold.toml").open("a") as fh:
        fh.write(
            '\n[costs]\ninstance = "c7i.xlarge"\n[[costs.rate]]\nresource = "cpu"\n'
            'unit = "vcpu-hour"\nprice = 0.07\ncurrency = "USD"\nsource = "inline"\n'
            "date = 2026-11-20\n"
        )
    settings = load_cost_settings(project)
    table = load_prices(settings)
    assert settings.instance == "c7i.xlarge"
    assert table.rates["cpu"].price == Decimal("0.07")


def test_replace_drops_the_defaults_and_then_every_resource_is_required(tmp_path: Path) -> None:
    path = _write(tmp_path, "replace = true\n" + GOOD_ROW)
    with pytest.raises(ConfigError, match=r"no row for memory, gpu, storage, egress"):
        load_price_file(path)


BAD_TABLES = [
    pytest.param(GOOD_ROW.replace('unit = "vcpu-hour"\n', ""), r"'unit' is missing", id="unit"),
    pytest.param(
        GOOD_ROW.replace("price = 0.05", "price = -0.05"),
        r"'price' must not be negative, got -0\.05",
        id="negative",
    ),
    pytest.param(
        GOOD_ROW.replace('currency = "USD"', 'currency = "DOGE"'),
        r"unknown currency 'DOGE'",
        id="currency",
    ),
    pytest.param(
        GOOD_ROW.replace("date = 2026-11-01", 'date = "2026-13-45"'),
        r"'date' must be a date like 2026-11-27, got '2026-13-45'",
        id="date",
    ),
    pytest.param(GOOD_ROW.replace("date = 2026-11-01\n", ""), r"'date' is missing", id="no-date"),
    pytest.param(
        GOOD_ROW.replace('unit = "vcpu-hour"', 'unit = "gib-hour"'),
        r"unit 'gib-hour' does not fit resource 'cpu'; use vcpu-hour",
        id="wrong-unit",
    ),
    pytest.param(
        GOOD_ROW.replace("price = 0.05", 'price = "cheap"'),
        r"'price' must be a number, got 'cheap'",
        id="not-a-number",
    ),
    pytest.param(
        GOOD_ROW.replace('resource = "cpu"', 'resource = "tpu"'),
        r"'resource' must be one of cpu, memory, gpu, storage, egress, got 'tpu'",
        id="resource",
    ),
    pytest.param(
        GOOD_ROW.replace('currency = "USD"', 'currency = "EUR"'),
        r"mixes currencies EUR, USD",
        id="mixed-currencies",
    ),
    pytest.param("[[rate]\nresource = ", r"not valid TOML", id="toml"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TABLES)
def test_bad_price_tables_are_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_price_file(path)
    assert str(path) in str(info.value) or "mixes" in message


def test_every_problem_is_listed_at_once() -> None:
    data = {
        "rate": [
            {"resource": "cpu", "price": -1, "currency": "USD", "source": "x",
             "date": "2026-01-01"},
            {"resource": "memory", "unit": "gib-hour", "price": 1, "currency": "XYZ",
             "source": "x", "date": "yesterday"},
        ]
    }  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_table(data, "test.toml")
    text = str(info.value)
    for part in ("#1 (cpu)", "'unit' is missing", "must not be negative", "#2 (memory)",
                 "unknown currency 'XYZ'", "got 'yesterday'"):  # fmt: skip
        assert part in text


def test_stale_rows_are_reported_after_the_threshold() -> None:
    table = load_prices()
    cpu = table.rates["cpu"]
    assert table.stale(cpu.date, rows=[cpu]) == []
    assert table.stale(date.fromordinal(cpu.date.toordinal() + 180), rows=[cpu]) == []
    old = table.stale(date.fromordinal(cpu.date.toordinal() + 181), rows=[cpu])
    assert len(old) == 1
    assert "cpu" in old[0]
    assert "181 days old" in old[0]
    # The shipped A100 row predates the June 2025 price cut: it is stale by design.
    assert any("gpu/A100" in w for w in table.stale(date(2026, 11, 27)))


def test_settings_errors_name_the_key_and_value(project: Path) -> None:
    with (project / "ninefold.toml").open("a") as fh:
        fh.write('\n[costs]\nallocation = "everything"\n')
    with pytest.raises(ConfigError, match=r"'allocation' must be one of auto, usage"):
        load_cost_settings(project)


def test_missing_prices_file_named_in_settings_is_an_error(project: Path) -> None:
    with (project / "ninefold.toml").open("a") as fh:
        fh.write('\n[costs]\nprices = "nope.toml"\n')
    with pytest.raises(ConfigError, match=r"prices file 'nope.toml' does not exist"):
        load_cost_settings(project)


def test_a_table_in_another_currency_works_on_its_own(tmp_path: Path) -> None:
    rows = "".join(
        f'[[rate]]\nresource = "{r}"\nunit = "{u}"\nprice = 1\nsource = "s"\ndate = 2026-11-01\n'
        for r, u in [("cpu", "vcpu-hour"), ("memory", "gib-hour"), ("gpu", "gpu-hour"),
                     ("storage", "gb-month"), ("egress", "gb")]
    )  # fmt: skip
    table = build_table([("eur.toml", {"currency": "EUR", **_toml(rows)}, "rate", "instance")])
    assert table.currency == "EUR"


def _toml(text: str) -> dict[str, object]:
    import tomllib

    return tomllib.loads(text)
