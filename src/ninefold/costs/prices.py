"""Price tables: per-unit rates and instance presets, each row with its source and date.

A table is TOML (see ``default_prices.toml`` in this package)::

    currency = "USD"

    [[rate]]
    resource = "cpu"          # cpu | memory | gpu | storage | egress
    unit = "vcpu-hour"        # vcpu-hour | gib-hour | gpu-hour | gb-month (gib-month) | gb (gib)
    price = 0.031611
    source = "where the figure comes from"
    date = 2026-11-27         # when it was read; rows older than 180 days are reported
    # model = "A100"          # gpu rows only: the row for this GPU model

    [[instance]]
    name = "g5.xlarge"
    vcpu = 4
    memory_gib = 16
    gpus = 1
    gpu_model = "A10G"
    unit = "instance-hour"
    price = 1.006
    source = "..."
    date = 2026-06-17

The defaults ship with ninefold; a project's ``prices.toml`` (or rows in
``ninefold.toml``'s ``[costs]``) replaces rows with the same resource and model,
or the same instance name; ``replace = true`` at its top drops the defaults.
Every problem found is reported at once, naming the file, the row, the value
and the fix. The table's :attr:`PriceTable.version` is a hash of its rows,
stored with every cost computed from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from ninefold.costs.money import CURRENCIES
from ninefold.costs.settings import CostSettings
from ninefold.errors import ConfigError, InvalidArgument

RESOURCES = ("cpu", "memory", "gpu", "storage", "egress")
UNITS: dict[str, tuple[str, ...]] = {
    "cpu": ("vcpu-hour",),
    "memory": ("gib-hour",),
    "gpu": ("gpu-hour",),
    "storage": ("gb-month", "gib-month"),
    "egress": ("gb", "gib"),
}
INSTANCE_UNIT = "instance-hour"
DEFAULT_SOURCE = "ninefold defaults"
_RATE_KEYS = {"resource", "unit", "price", "currency", "source", "date", "model", "region", "note"}
_INSTANCE_KEYS = {
    "name",
    "provider",
    "region",
    "vcpu",
    "memory_gib",
    "gpus",
    "gpu_model",
    "unit",
    "price",
    "currency",
    "source",
    "date",
    "note",
}


@dataclass(frozen=True)
class Rate:
    """The price of one unit of a resource."""

    resource: str
    unit: str
    price: Decimal
    currency: str
    source: str
    date: date
    model: str | None = None
    origin: str = DEFAULT_SOURCE

    @property
    def key(self) -> str:
        """``cpu``, ``gpu/A100`` ...: rows with the same key replace each other."""
        return f"{self.resource}/{self.model}" if self.model else self.resource

    def per_unit(self) -> Decimal:
        """The price per canonical unit (GB-month for storage, GB for egress)."""
        if self.unit in ("gib-month", "gib"):
            return self.price * Decimal(10**9) / Decimal(2**30)
        return self.price


@dataclass(frozen=True)
class Instance:
    """A machine preset priced per hour, split into per-unit rates by :meth:`PriceTable.rates`."""

    name: str
    vcpu: Decimal
    memory_gib: Decimal
    gpus: int
    gpu_model: str | None
    price: Decimal
    currency: str
    source: str
    date: date
    provider: str | None = None
    region: str | None = None
    origin: str = DEFAULT_SOURCE


@dataclass(frozen=True)
class Rates:
    """The per-unit rates to cost one run with, and the rows they came from."""

    cpu: Decimal
    memory: Decimal
    gpu: Decimal
    storage: Decimal
    egress: Decimal
    currency: str
    used: tuple[Rate | Instance, ...]
    instance: str | None = None


@dataclass(frozen=True)
class PriceTable:
    """Validated rates and instances; see the module docs for the format."""

    currency: str
    rates: dict[str, Rate]
    instances: dict[str, Instance]
    origins: tuple[str, ...] = field(default=())

    @cached_property
    def version(self) -> str:
        """A 12-hex-digit hash of every row: changes whenever any price, date or source does."""
        rows: list[Any] = [
            [r.key, r.unit, str(r.price), r.currency, r.source, r.date.isoformat()]
            for r in sorted(self.rates.values(), key=lambda r: r.key)
        ]
        rows += [
            [
                *(i.name, str(i.vcpu), str(i.memory_gib), i.gpus, i.gpu_model),
                *(str(i.price), i.source, i.date.isoformat()),
            ]
            for i in sorted(self.instances.values(), key=lambda i: i.name)
        ]
        text = json.dumps([self.currency, rows], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def gpu_rate(self, model: str | None) -> Rate:
        """The GPU row for ``model`` (matched case-insensitively inside the NVML name), else the
        row without a model."""
        if model:
            name = model.lower()
            matches = [
                r
                for r in self.rates.values()
                if r.resource == "gpu" and r.model and r.model.lower() in name
            ]
            if matches:
                return max(matches, key=lambda r: len(r.model or ""))
        return self.rates["gpu"]

    def rates_for(self, instance: str | None = None, gpu_model: str | None = None) -> Rates:
        """Per-unit rates, from the unit rows or split from an instance preset.

        An instance's hourly price is divided among its vCPUs, memory and GPUs
        keeping the ratio of the unit rates (OpenCost's method), so that a
        machine fully allocated for an hour costs exactly its price.
        """
        gpu = self.gpu_rate(gpu_model)
        cpu, mem = self.rates["cpu"], self.rates["memory"]
        storage, egress = self.rates["storage"], self.rates["egress"]
        common = (storage.per_unit(), egress.per_unit())
        if instance is None:
            return Rates(
                cpu.price,
                mem.price,
                gpu.price,
                *common,
                self.currency,
                (cpu, mem, gpu, storage, egress),
            )
        inst = self.instance(instance)
        gpu = self.rates["gpu"]  # the ratio uses the base rates, as OpenCost does
        base = inst.vcpu * cpu.price + inst.memory_gib * mem.price + inst.gpus * gpu.price
        scale = inst.price / base if base > 0 else Decimal(0)
        return Rates(
            cpu.price * scale,
            mem.price * scale,
            gpu.price * scale,
            *common,
            self.currency,
            (inst, cpu, mem, gpu, storage, egress),
            inst.name,
        )

    def instance(self, name: str) -> Instance:
        """An instance preset by name."""
        try:
            return self.instances[name]
        except KeyError:
            known = ", ".join(sorted(self.instances)) or "none"
            raise InvalidArgument(
                f"Unknown instance preset {name!r}; the price table has: {known}. "
                "Add it as an [[instance]] row in prices.toml or fix [costs] instance."
            ) from None

    def stale(
        self, today: date, days: int = 180, rows: Sequence[Rate | Instance] | None = None
    ) -> list[str]:
        """Warnings for rows (all, or ``rows``) dated more than ``days`` before ``today``."""
        chosen: Sequence[Rate | Instance] = (
            rows if rows is not None else [*self.rates.values(), *self.instances.values()]
        )
        out = []
        for row in chosen:
            age = (today - row.date).days
            if age > days:
                name = row.key if isinstance(row, Rate) else f"instance {row.name}"
                out.append(
                    f"price row {name} ({row.origin}) is {age} days old (dated "
                    f"{row.date.isoformat()}, source: {row.source}); refresh it in prices.toml."
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "currency": self.currency,
            "version": self.version,
            "origins": list(self.origins),
            "rates": [
                {
                    "resource": r.resource,
                    "model": r.model,
                    "unit": r.unit,
                    "price": str(r.price),
                    "currency": r.currency,
                    "source": r.source,
                    "date": r.date.isoformat(),
                    "origin": r.origin,
                }
                for r in sorted(self.rates.values(), key=lambda r: r.key)
            ],
            "instances": [
                {
                    "name": i.name,
                    "provider": i.provider,
                    "region": i.region,
                    "vcpu": str(i.vcpu),
                    "memory_gib": str(i.memory_gib),
                    "gpus": i.gpus,
                    "gpu_model": i.gpu_model,
                    "unit": INSTANCE_UNIT,
                    "price": str(i.price),
                    "currency": i.currency,
                    "source": i.source,
                    "date": i.date.isoformat(),
                    "origin": i.origin,
                }
                for i in sorted(self.instances.values(), key=lambda i: i.name)
            ],
        }


# -- parsing and validation ---------------------------------------------------


class _Problems:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            lines = "\n  - ".join(self.items)
            raise ConfigError(f"Invalid price table {self.origin}:\n  - {lines}")


def _decimal(value: Any, where: str, name: str, problems: _Problems) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.add(where, f"'{name}' must be a number, got {value!r}.")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        problems.add(where, f"'{name}' must be a finite number, got {value!r}.")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        problems.add(where, f"'{name}' must be a number, got {value!r}.")
        return None
    if not number.is_finite():
        problems.add(where, f"'{name}' must be a finite number, got {value!r}.")
        return None
    if number < 0:
        problems.add(where, f"'{name}' must not be negative, got {value!r}; prices are >= 0.")
        return None
    return number


def _date(value: Any, where: str, problems: _Problems) -> date | None:
    if value is None:
        problems.add(where, "'date' is missing; add the date the price was read (YYYY-MM-DD).")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(where, f"'date' must be a date like 2026-11-27, got {value!r}.")
    return None


def _text(value: Any, where: str, name: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"'{name}' must be a non-empty string, got {value!r}.")
        return None
    return value.strip()


def _currency(row: dict[str, Any], default: str | None, where: str, problems: _Problems) -> str:
    value = row.get("currency", default)
    if value is None:
        problems.add(where, "'currency' is missing; set it on the row or at the top of the table.")
        return ""
    if not isinstance(value, str) or value.upper() not in CURRENCIES:
        problems.add(
            where,
            f"unknown currency {value!r}; use an ISO 4217 code such as USD, EUR or GBP "
            f"(known: {', '.join(sorted(CURRENCIES))}).",
        )
        return ""
    return value.upper()


def _parse_rate(
    row: Any, where: str, default_currency: str | None, origin: str, problems: _Problems
) -> Rate | None:
    if not isinstance(row, dict):
        problems.add(where, f"must be a table, got {row!r}.")
        return None
    unknown = set(row) - _RATE_KEYS
    if unknown:
        problems.add(where, f"unknown field(s) {', '.join(sorted(unknown))}.")
    resource = row.get("resource")
    if resource not in RESOURCES:
        problems.add(where, f"'resource' must be one of {', '.join(RESOURCES)}, got {resource!r}.")
        return None
    unit = row.get("unit")
    if unit is None:
        problems.add(
            where,
            f"'unit' is missing; a {resource} price is per {' or '.join(UNITS[resource])}.",
        )
    elif unit not in UNITS[resource]:
        problems.add(
            where,
            f"unit {unit!r} does not fit resource {resource!r}; "
            f"use {' or '.join(UNITS[resource])}.",
        )
    price = _decimal(row.get("price"), where, "price", problems) if "price" in row else None
    if "price" not in row:
        problems.add(where, "'price' is missing.")
    currency = _currency(row, default_currency, where, problems)
    source = _text(row.get("source"), where, "source", problems)
    when = _date(row.get("date"), where, problems)
    model = row.get("model")
    if model is not None and (resource != "gpu" or not isinstance(model, str) or not model.strip()):
        problems.add(where, f"'model' is only for gpu rows and must be a name, got {model!r}.")
        model = None
    if (
        price is None
        or source is None
        or when is None
        or not currency
        or unit not in UNITS[resource]
    ):
        return None
    return Rate(
        resource, unit, price, currency, source, when, model.strip() if model else None, origin
    )


def _parse_instance(
    row: Any, where: str, default_currency: str | None, origin: str, problems: _Problems
) -> Instance | None:
    if not isinstance(row, dict):
        problems.add(where, f"must be a table, got {row!r}.")
        return None
    unknown = set(row) - _INSTANCE_KEYS
    if unknown:
        problems.add(where, f"unknown field(s) {', '.join(sorted(unknown))}.")
    name = _text(row.get("name"), where, "name", problems)
    unit = row.get("unit")
    if unit is None:
        problems.add(where, f"'unit' is missing; an instance price is per {INSTANCE_UNIT}.")
    elif unit != INSTANCE_UNIT:
        problems.add(where, f"unit {unit!r} does not fit an instance; use {INSTANCE_UNIT!r}.")
    price = _decimal(row.get("price"), where, "price", problems) if "price" in row else None
    if "price" not in row:
        problems.add(where, "'price' is missing.")
    vcpu = _decimal(row.get("vcpu"), where, "vcpu", problems)
    memory = _decimal(row.get("memory_gib"), where, "memory_gib", problems)
    gpus = row.get("gpus", 0)
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        problems.add(where, f"'gpus' must be a whole number >= 0, got {gpus!r}.")
        gpus = 0
    gpu_model = row.get("gpu_model")
    if gpu_model is not None and not isinstance(gpu_model, str):
        problems.add(where, f"'gpu_model' must be a name, got {gpu_model!r}.")
        gpu_model = None
    currency = _currency(row, default_currency, where, problems)
    source = _text(row.get("source"), where, "source", problems)
    when = _date(row.get("date"), where, problems)
    if not currency or unit != INSTANCE_UNIT:
        return None
    if name is None or price is None or vcpu is None or memory is None:
        return None
    if source is None or when is None:
        return None
    return Instance(
        name,
        vcpu,
        memory,
        gpus,
        gpu_model,
        price,
        currency,
        source,
        when,
        row.get("provider"),
        row.get("region"),
        origin,
    )


def parse_table(
    data: dict[str, Any], origin: str, *, rate_key: str = "rate", instance_key: str = "instance"
) -> tuple[str | None, list[Rate], list[Instance], bool]:
    """Validate one TOML document; returns ``(currency, rates, instances, replace)``.

    Raises:
        ConfigError: listing every problem found.
    """
    problems = _Problems(origin)
    currency = data.get("currency")
    if currency is not None and (
        not isinstance(currency, str) or currency.upper() not in CURRENCIES
    ):
        problems.add(
            "top level",
            f"unknown currency {currency!r}; use an ISO 4217 code such as USD, EUR or GBP.",
        )
        currency = None
    default_currency = currency.upper() if isinstance(currency, str) else None
    replace = data.get("replace", False)
    if not isinstance(replace, bool):
        problems.add("top level", f"'replace' must be true or false, got {replace!r}.")
    rates: list[Rate] = []
    instances: list[Instance] = []
    raw_rates = data.get(rate_key, [])
    raw_instances = data.get(instance_key, [])
    if not isinstance(raw_rates, list):
        problems.add(rate_key, f"must be an array of tables ([[{rate_key}]]).")
        raw_rates = []
    if not isinstance(raw_instances, list):
        problems.add(instance_key, f"must be an array of tables ([[{instance_key}]]).")
        raw_instances = []
    for i, row in enumerate(raw_rates, 1):
        label = row.get("resource", "?") if isinstance(row, dict) else "?"
        if isinstance(row, dict) and row.get("model"):
            label = f"{label}/{row['model']}"
        rate = _parse_rate(
            row, f"[[{rate_key}]] #{i} ({label})", default_currency, origin, problems
        )
        if rate is not None:
            rates.append(rate)
    for i, row in enumerate(raw_instances, 1):
        label = row.get("name", "?") if isinstance(row, dict) else "?"
        inst = _parse_instance(
            row, f"[[{instance_key}]] #{i} ({label})", default_currency, origin, problems
        )
        if inst is not None:
            instances.append(inst)
    problems.raise_if_any()
    return default_currency, rates, instances, bool(replace)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Price table {path} is not valid TOML: {exc}. Fix the file.") from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read price table {path}: {exc}.") from exc


def default_table_text() -> str:
    """The TOML text of the price table that ships with ninefold."""
    return resources.files("ninefold.costs").joinpath("default_prices.toml").read_text("utf-8")


def build_table(layers: list[tuple[str, dict[str, Any], str, str]]) -> PriceTable:
    """Merge TOML documents ``(origin, data, rate_key, instance_key)``, later ones winning."""
    rates: dict[str, Rate] = {}
    instances: dict[str, Instance] = {}
    currencies: dict[str, str] = {}
    origins = []
    for origin, data, rate_key, instance_key in layers:
        currency, new_rates, new_instances, replace = parse_table(
            data, origin, rate_key=rate_key, instance_key=instance_key
        )
        origins.append(origin)
        if replace:
            rates, instances, currencies = {}, {}, {}
        for rate in new_rates:
            rates[rate.key] = rate
        for inst in new_instances:
            instances[inst.name] = inst
        if currency:
            currencies[origin] = currency
    used = {r.currency for r in rates.values()} | {i.currency for i in instances.values()}
    if len(used) > 1:
        where = sorted(
            {f"{r.key} in {r.currency} ({r.origin})" for r in rates.values()}
            | {f"instance {i.name} in {i.currency} ({i.origin})" for i in instances.values()}
        )
        raise ConfigError(
            f"The price table mixes currencies {', '.join(sorted(used))}; ninefold does not "
            f"convert between them. Give every row the same currency: {'; '.join(where)}."
        )
    missing = [r for r in ("cpu", "memory", "gpu", "storage", "egress") if r not in rates]
    if missing:
        raise ConfigError(
            f"The price table ({', '.join(origins)}) has no row for {', '.join(missing)} "
            "(the gpu row without a model is the fallback for every GPU). Add [[rate]] rows "
            "for them, or drop 'replace = true' to keep the defaults."
        )
    currency = used.pop() if used else "USD"
    return PriceTable(currency, rates, instances, tuple(origins))


_table_cache: dict[tuple[Any, ...], PriceTable] = {}


def load_prices(settings: CostSettings | None = None) -> PriceTable:
    """The price table of a project: the defaults, its prices file, then ``[costs]`` rows.

    Raises:
        ConfigError: a row is invalid (missing unit, negative price, unknown
            currency, malformed date ...), the currencies differ, or a resource
            has no price; the message lists every problem.
    """
    files: list[tuple[str, int]] = []
    if settings is not None and settings.prices_file is not None:
        try:
            files.append((str(settings.prices_file), settings.prices_file.stat().st_mtime_ns))
        except OSError as exc:
            raise ConfigError(f"Cannot read price table {settings.prices_file}: {exc}.") from exc
    inline = settings.inline_rows if settings is not None else {}
    key = (tuple(files), json.dumps(inline, sort_keys=True, default=str))
    cached = _table_cache.get(key)
    if cached is not None:
        return cached
    layers: list[tuple[str, dict[str, Any], str, str]] = [
        ("ninefold defaults", tomllib.loads(default_table_text()), "rate", "instance")
    ]
    if settings is not None and settings.prices_file is not None:
        layers.append(
            (str(settings.prices_file), _read_toml(settings.prices_file), "rate", "instance")
        )
    if inline:
        where = f"{settings.project_root}/ninefold.toml [costs]" if settings else "[costs]"
        layers.append((where, dict(inline), "rate", "instance_price"))
    table = build_table(layers)
    _table_cache.clear()
    _table_cache[key] = table
    return table


def load_price_file(path: str | Path) -> PriceTable:
    """Validate one price file on its own, merged over the defaults (``ninefold cost prices``)."""
    p = Path(path)
    return build_table(
        [
            ("ninefold defaults", tomllib.loads(default_table_text()), "rate", "instance"),
            (str(p), _read_toml(p), "rate", "instance"),
        ]
    )
