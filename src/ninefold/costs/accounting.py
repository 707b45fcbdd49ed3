"""Turning a run's measured usage into money.

For CPU, memory and GPU a run pays for ``max(allocated, used) x hours x rate``
(OpenCost's rule): a run that reserves four cores and uses one pays for four,
and the three it left unused are reported as idle (waste). On top come one
month of storage for the artifact bytes attributed to the run (a blob shared by
several runs is split among them, see :mod:`ninefold.costs.storage`) and the
bytes known to have left the network.

What a run was allocated, in order: the resources its tags declare
(``ninefold.resources.cpu``, ``.memory_gib``, ``.gpu``, set by pipeline steps or
by hand), else its container's cgroup limits, else the configured instance
preset, else the whole machine. With ``[costs] allocation = "usage"`` a run
pays only for what it used (no idle), which suits shared machines.

Every component is rounded once to integer micro-units, so roll-ups are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ninefold._ids import now_ms
from ninefold.costs.money import to_micros
from ninefold.costs.prices import Instance, PriceTable, Rate, Rates
from ninefold.costs.settings import CostSettings
from ninefold.errors import InvalidArgument
from ninefold.store.costs import CostRecord, ResourceUsage, RunFacts

GIB = 2**30
GB = Decimal(10**9)
HOUR = Decimal(3600)


@dataclass(frozen=True)
class Allocation:
    """What a run was given: cores, memory and GPUs, and where that figure came from."""

    cores: float
    memory_bytes: int
    gpus: int
    source: str


@dataclass(frozen=True)
class RunCost:
    """A run's cost record with the quantities behind it.

    Attributes:
        record: what is stored (integer micro-units).
        allocation: what the run was charged as allocated.
        hours: billed wall-clock hours.
        cpu_core_hours_used: CPU core-hours used.
        memory_gib_hours_used: GiB-hours of resident memory used.
        gpu_hours_used: GPU-hours of utilisation, or None when not measured.
        rows: the price rows used (for staleness warnings).
        notes: anything that makes the figure partial or approximate.
    """

    record: CostRecord
    allocation: Allocation | None
    hours: float
    cpu_core_hours_used: float
    memory_gib_hours_used: float
    gpu_hours_used: float | None
    rows: tuple[Rate | Instance, ...]
    notes: tuple[str, ...]


def _declared(facts: RunFacts, key: str) -> float | None:
    value = facts.declared.get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise InvalidArgument(
            f"Run {facts.run_id} ({facts.name!r}) declares ninefold.resources.{key} = {value!r}; "
            "it must be a number >= 0. Fix or delete the tag."
        )
    return number


def allocation_for(
    usage: ResourceUsage, facts: RunFacts, settings: CostSettings, table: PriceTable
) -> Allocation:
    """What the run is charged as allocated (see the module docs for the order)."""
    if settings.allocation == "usage":
        hours = usage.billed_wall_s
        cores = usage.cpu_s / hours if hours > 0 else 0.0
        memory = int(usage.rss_byte_s / hours) if hours > 0 else 0
        return Allocation(cores, memory, usage.gpu_count if usage.gpu_busy_s else 0, "usage")
    instance = table.instance(settings.instance) if settings.instance else None
    cpu = _declared(facts, "cpu")
    mem = _declared(facts, "memory_gib")
    gpu = _declared(facts, "gpu")
    sources = []
    if cpu is not None:
        sources.append("declared")
    elif usage.cgroup_cores is not None:
        cpu = min(usage.cgroup_cores, usage.machine_cores)
        sources.append("cgroup")
    elif instance is not None:
        cpu = float(instance.vcpu)
        sources.append("instance")
    else:
        cpu = usage.machine_cores
        sources.append("machine")
    if mem is not None:
        memory = int(mem * GIB)
    elif usage.cgroup_memory_bytes is not None:
        memory = min(usage.cgroup_memory_bytes, usage.machine_memory_bytes)
    elif instance is not None:
        memory = int(instance.memory_gib * GIB)
    else:
        memory = usage.machine_memory_bytes
    if gpu is not None:
        gpus = int(gpu)
    elif instance is not None:
        gpus = instance.gpus
    else:
        gpus = usage.gpu_count
    return Allocation(cpu, memory, gpus, sources[0])


def _d(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _billed_hours(usage: ResourceUsage, facts: RunFacts) -> tuple[float, list[str]]:
    seconds = usage.billed_wall_s
    notes = []
    if not usage.complete:
        if facts.status == "crashed" and facts.end_ms is not None:
            # The machine was held until the last heartbeat; usage is known up to
            # the last stored aggregate.
            lost = max(0.0, (facts.end_ms - facts.start_ms) / 1000 - usage.wall_s)
            seconds += lost
            notes.append(
                f"run crashed: usage measured until its last stored sample; allocation charged "
                f"until its last heartbeat ({lost:.0f} s without samples)"
            )
        elif facts.status == "running":
            notes.append("run still running: cost so far")
        else:
            notes.append("usage record incomplete (the process ended without closing the run)")
    return seconds / 3600, notes


def compute_cost(
    facts: RunFacts,
    usage: ResourceUsage | None,
    storage_bytes: int,
    table: PriceTable,
    settings: CostSettings,
) -> RunCost:
    """The cost of one run (pure: reads nothing, writes nothing)."""
    rates: Rates
    notes: list[str] = []
    if usage is None:
        rates = table.rates_for(settings.instance)
        storage = to_micros(Decimal(storage_bytes) / GB * rates.storage)
        record = CostRecord(
            run_id=facts.run_id,
            currency=table.currency,
            price_version=table.version,
            allocation="unmeasured",
            cpu_micros=0,
            memory_micros=0,
            gpu_micros=0,
            storage_micros=storage,
            egress_micros=0,
            total_micros=storage,
            idle_micros=0,
            storage_bytes=storage_bytes,
            partial=True,
            computed_ms=now_ms(),
        )
        notes.append("no resource usage was recorded (resources=False or an older run)")
        return RunCost(record, None, 0.0, 0.0, 0.0, None, rates.used[-2:], tuple(notes))

    hours_f, hour_notes = _billed_hours(usage, facts)
    notes.extend(hour_notes)
    alloc = allocation_for(usage, facts, settings, table)
    rates = table.rates_for(settings.instance, usage.gpu_model)
    hours = _d(hours_f)
    cpu_used = _d(usage.cpu_s) / HOUR
    mem_used = _d(usage.rss_byte_s) / GIB / HOUR
    cpu_billed = max(_d(alloc.cores) * hours, cpu_used)
    mem_billed = max(Decimal(alloc.memory_bytes) / GIB * hours, mem_used)
    gpu_alloc = Decimal(alloc.gpus) * hours
    if usage.gpu_busy_s is None:
        gpu_used = gpu_alloc  # not measured: claim no idle rather than invent it
        if alloc.gpus:
            notes.append("GPU utilisation not measured (no NVML): GPUs counted as fully used")
    else:
        gpu_used = _d(usage.gpu_busy_s) / HOUR
    gpu_billed = max(gpu_alloc, gpu_used)

    cpu = to_micros(cpu_billed * rates.cpu)
    memory = to_micros(mem_billed * rates.memory)
    gpu = to_micros(gpu_billed * rates.gpu)
    storage = to_micros(Decimal(storage_bytes) / GB * rates.storage)
    egress = to_micros(Decimal(usage.egress_bytes) / GB * rates.egress)
    idle = to_micros(
        (cpu_billed - cpu_used) * rates.cpu
        + (mem_billed - mem_used) * rates.memory
        + (gpu_billed - gpu_used) * rates.gpu
    )
    record = CostRecord(
        run_id=facts.run_id,
        currency=table.currency,
        price_version=table.version,
        allocation=alloc.source,
        cpu_micros=cpu,
        memory_micros=memory,
        gpu_micros=gpu,
        storage_micros=storage,
        egress_micros=egress,
        total_micros=cpu + memory + gpu + storage + egress,
        idle_micros=idle,
        storage_bytes=storage_bytes,
        partial=not usage.complete,
        computed_ms=now_ms(),
    )
    used_rows = rates.used if alloc.gpus else tuple(r for r in rates.used if _not_gpu(r))
    return RunCost(
        record,
        alloc,
        hours_f,
        float(cpu_used),
        float(mem_used),
        None if usage.gpu_busy_s is None else float(gpu_used),
        used_rows,
        tuple(notes),
    )


def _not_gpu(row: Rate | Instance) -> bool:
    return not (isinstance(row, Rate) and row.resource == "gpu")


def split_evenly(size: int, owners: list[str]) -> dict[str, int]:
    """Split ``size`` bytes among ``owners`` in whole bytes that add up exactly.

    The first ``size % len(owners)`` owners in sorted order get one byte more.
    """
    ordered = sorted(set(owners))
    base, extra = divmod(size, len(ordered))
    return {owner: base + (1 if i < extra else 0) for i, owner in enumerate(ordered)}
