"""Costing rules on measured usage: max(allocated, used), idle, declared resources, partial runs."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ninefold.costs.accounting import compute_cost, split_evenly
from ninefold.costs.money import cents, fmt_money, to_micros
from ninefold.costs.prices import load_prices
from ninefold.costs.settings import CostSettings
from ninefold.costs.tracker import exclusive
from ninefold.errors import InvalidArgument
from ninefold.store.costs import ResourceUsage, RunFacts

GIB = 2**30
TABLE = load_prices()
CPU = TABLE.rates["cpu"].price
MEM = TABLE.rates["memory"].price


def usage(**changes: object) -> ResourceUsage:
    base = ResourceUsage(
        run_id="r1",
        host="h",
        pid=1,
        start_ms=0,
        updated_ms=3_600_000,
        complete=True,
        samples=10,
        wall_s=3600.0,
        billed_wall_s=3600.0,
        cpu_user_s=3600.0,
        cpu_system_s=0.0,
        rss_byte_s=2.0 * GIB * 3600,
        rss_peak_bytes=3 * GIB,
        read_bytes=0,
        write_bytes=0,
        net_sent_bytes=0,
        net_recv_bytes=0,
        egress_bytes=0,
        gpu_count=0,
        gpu_model=None,
        gpu_busy_s=None,
        gpu_memory_peak_bytes=None,
        machine_cores=4.0,
        machine_memory_bytes=16 * GIB,
        cgroup_cores=None,
        cgroup_memory_bytes=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def facts(status: str = "finished", **declared: str) -> RunFacts:
    return RunFacts("r1", "train", "exp", None, status, 0, 3_600_000, dict(declared))


SETTINGS = CostSettings(project="p")


def test_allocated_machine_is_paid_in_full_and_the_unused_part_is_idle() -> None:
    # One core busy for an hour on a 4-core, 16 GiB machine, 2 GiB resident.
    cost = compute_cost(facts(), usage(), 0, TABLE, SETTINGS)
    rec = cost.record
    assert rec.allocation == "machine"
    assert rec.cpu_micros == to_micros(4 * CPU)
    assert rec.memory_micros == to_micros(16 * MEM)
    assert rec.idle_micros == to_micros(3 * CPU + 14 * MEM)
    assert rec.total_micros == rec.cpu_micros + rec.memory_micros
    assert rec.price_version == TABLE.version
    assert not rec.partial


def test_usage_above_the_allocation_is_what_is_paid() -> None:
    # Declared 1 core, but used 2 cores on average (threads): pay for 2, no CPU idle.
    cost = compute_cost(
        facts(cpu="1", memory_gib="2"), usage(cpu_user_s=7200.0), 0, TABLE, SETTINGS
    )
    assert cost.record.allocation == "declared"
    assert cost.record.cpu_micros == to_micros(2 * CPU)
    assert cost.record.memory_micros == to_micros(2 * MEM)
    assert cost.record.idle_micros == 0


def test_cgroup_limits_beat_the_machine_and_declarations_beat_both() -> None:
    limited = usage(cgroup_cores=2.0, cgroup_memory_bytes=4 * GIB)
    by_cgroup = compute_cost(facts(), limited, 0, TABLE, SETTINGS).record
    assert by_cgroup.allocation == "cgroup"
    assert by_cgroup.cpu_micros == to_micros(2 * CPU)
    assert by_cgroup.memory_micros == to_micros(4 * MEM)
    declared = compute_cost(facts(cpu="3"), limited, 0, TABLE, SETTINGS).record
    assert declared.cpu_micros == to_micros(3 * CPU)


def test_instance_preset_prices_a_fully_used_machine_at_its_hourly_price() -> None:
    settings = CostSettings(project="p", instance="m7i.large")
    busy = usage(cpu_user_s=2 * 3600.0, rss_byte_s=8.0 * GIB * 3600)
    rec = compute_cost(facts(), busy, 0, TABLE, settings).record
    assert rec.allocation == "instance"
    assert rec.total_micros == to_micros(TABLE.instances["m7i.large"].price)
    assert rec.idle_micros == 0


def test_usage_allocation_charges_only_what_was_used() -> None:
    rec = compute_cost(facts(), usage(), 0, TABLE, CostSettings(project="p", allocation="usage"))
    assert rec.record.idle_micros == 0
    assert rec.record.cpu_micros == to_micros(CPU)
    assert rec.record.memory_micros == to_micros(2 * MEM)


def test_gpu_without_nvml_is_charged_as_allocated_and_never_idle() -> None:
    rec = compute_cost(facts(gpu="1"), usage(), 0, TABLE, SETTINGS)
    assert rec.record.gpu_micros == to_micros(TABLE.rates["gpu"].price)
    assert rec.gpu_hours_used is None
    assert any("no NVML" in n for n in rec.notes)
    measured = compute_cost(
        facts(gpu="1"), usage(gpu_count=1, gpu_model="NVIDIA A10G", gpu_busy_s=900.0), 0, TABLE,
        SETTINGS,
    )  # fmt: skip
    a10g = TABLE.gpu_rate("NVIDIA A10G").price
    assert measured.record.gpu_micros == to_micros(a10g)
    assert measured.record.idle_micros == to_micros(3 * CPU + 14 * MEM + Decimal("0.75") * a10g)


def test_storage_and_egress_are_added() -> None:
    rec = compute_cost(facts(), usage(egress_bytes=2 * 10**9), 5 * 10**9, TABLE, SETTINGS).record
    assert rec.storage_micros == to_micros(5 * TABLE.rates["storage"].price)
    assert rec.egress_micros == to_micros(2 * TABLE.rates["egress"].price)
    assert rec.storage_bytes == 5 * 10**9
    assert rec.total_micros == sum(
        (rec.cpu_micros, rec.memory_micros, rec.gpu_micros, rec.storage_micros, rec.egress_micros)
    )


def test_a_crashed_run_is_costed_from_its_samples_until_its_last_heartbeat() -> None:
    # Samples stopped after 30 minutes; the last heartbeat was at 40 minutes.
    partial = usage(complete=False, wall_s=1800.0, billed_wall_s=1800.0, cpu_user_s=1800.0)
    crashed = RunFacts("r1", "train", "exp", None, "crashed", 0, 2_400_000, {})
    cost = compute_cost(crashed, partial, 0, TABLE, SETTINGS)
    assert cost.record.partial
    assert cost.hours == pytest.approx(2400 / 3600)
    assert cost.cpu_core_hours_used == pytest.approx(0.5)
    assert cost.record.cpu_micros == to_micros(4 * CPU * Decimal(2400) / 3600)
    assert any("crashed" in n for n in cost.notes)


def test_a_run_without_usage_is_marked_unmeasured_not_free() -> None:
    cost = compute_cost(facts(), None, 10**9, TABLE, SETTINGS)
    assert cost.record.allocation == "unmeasured"
    assert cost.record.partial
    assert cost.record.cpu_micros == 0
    assert cost.record.total_micros == cost.record.storage_micros > 0


def test_bad_declared_resources_are_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match=r"ninefold\.resources\.cpu = 'lots'"):
        compute_cost(facts(cpu="lots"), usage(), 0, TABLE, SETTINGS)
    with pytest.raises(InvalidArgument, match=r"ninefold\.resources\.gpu = '-1'"):
        compute_cost(facts(gpu="-1"), usage(), 0, TABLE, SETTINGS)


def test_nested_runs_in_the_same_process_are_not_counted_twice() -> None:
    parent = usage(wall_s=100.0, billed_wall_s=100.0, cpu_user_s=80.0, rss_byte_s=1000.0)
    child = usage(run_id="c", wall_s=60.0, billed_wall_s=60.0, cpu_user_s=50.0, rss_byte_s=600.0)
    worker = usage(run_id="w", pid=42, wall_s=30.0, cpu_user_s=20.0, rss_byte_s=100.0)
    elsewhere = usage(run_id="x", pid=99, wall_s=30.0, cpu_user_s=20.0)
    out = exclusive(parent, [child, worker, elsewhere], tree_pids={42})
    assert out.billed_wall_s == 40.0  # only same-process children take wall time
    assert out.cpu_user_s == 10.0  # 80 - 50 (child) - 20 (worker in our tree)
    assert out.rss_byte_s == 300.0
    assert out.wall_s == 100.0


@given(st.integers(min_value=0, max_value=10**15), st.lists(st.text(min_size=1), min_size=1))
def test_split_evenly_adds_up_exactly(size: int, owners: list[str]) -> None:
    shares = split_evenly(size, owners)
    assert sum(shares.values()) == size
    assert set(shares) == set(owners)
    assert max(shares.values()) - min(shares.values()) <= 1


def test_money_rounds_half_to_even_and_formats() -> None:
    assert to_micros(Decimal("0.0000005")) == 0
    assert to_micros(Decimal("0.0000015")) == 2
    assert cents(12_345_000) == Decimal("12.34")
    assert cents(12_355_000) == Decimal("12.36")
    assert fmt_money(1_234_567_890, "USD") == "1,234.57 USD"
    assert fmt_money(4_200, "EUR") == "0.0042 EUR"
