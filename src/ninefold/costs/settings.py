"""Cost settings: the ``[costs]`` table of ``ninefold.toml``.

::

    [project]
    name = "churn"                 # the project's name (default: its folder's name)

    [costs]
    prices = "prices.toml"         # price overrides (default: prices.toml next to ninefold.toml)
    instance = "g5.xlarge"         # price the machine as this instance preset
    allocation = "auto"            # auto: declared, else cgroup, else machine; usage: what was used
    sample_interval_s = 1.0        # resource sampler period
    bucket_s = 15.0                # samples are stored as aggregates over this many seconds
    child_refresh_s = 5.0          # how often the list of child processes is refreshed
    webhook_url = "https://hooks.example.com/ninefold"   # budget alerts are POSTed here
    stale_after_days = 180         # warn when a price row used is older than this

Rows of a price table (``[[costs.rate]]``, ``[[costs.instance]]``) may also be
given inline; they override the prices file, which overrides the defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ninefold.config import PROJECT_FILE
from ninefold.errors import ConfigError

ALLOCATIONS = ("auto", "usage")
PRICES_FILE = "prices.toml"


@dataclass(frozen=True)
class CostSettings:
    """Resolved ``[costs]`` settings of one project.

    Attributes:
        project: the project's name (budgets with scope ``project`` use it).
        project_root: the project folder, or None outside a project.
        prices_file: the project's price overrides, or None.
        inline_rows: price rows given in ``ninefold.toml`` itself.
        instance: the instance preset the machine is priced as, or None.
        allocation: ``auto`` or ``usage`` (see the module docs).
        sample_interval_s: resource sampler period.
        bucket_s: aggregation window of the stored system metrics.
        child_refresh_s: child process list refresh period.
        webhook_url: where budget alerts are POSTed, or None.
        stale_after_days: price rows older than this are reported.
    """

    project: str
    project_root: Path | None = None
    prices_file: Path | None = None
    inline_rows: dict[str, Any] = field(default_factory=dict)
    instance: str | None = None
    allocation: str = "auto"
    sample_interval_s: float = 1.0
    bucket_s: float = 15.0
    child_refresh_s: float = 5.0
    webhook_url: str | None = None
    stale_after_days: int = 180


def _positive(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(
            f"{where} [costs]: '{key}' must be a positive number of seconds, got {value!r}."
        )
    return float(value)


_cache: dict[tuple[str, int], CostSettings] = {}


def load_cost_settings(project_root: Path | None) -> CostSettings:
    """The cost settings of the project at ``project_root`` (defaults outside a project)."""
    if project_root is None:
        return CostSettings(project="default")
    path = project_root / PROJECT_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1
    key = (str(path), stamp)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    settings = _read(project_root, path if stamp >= 0 else None)
    _cache.clear()
    _cache[key] = settings
    return settings


def _read(root: Path, path: Path | None) -> CostSettings:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file.") from exc
    where = str(path or root / PROJECT_FILE)
    project = data.get("project", {})
    costs = data.get("costs", {})
    if not isinstance(project, dict) or not isinstance(costs, dict):
        raise ConfigError(f"{where}: [project] and [costs] must be tables.")
    name = project.get("name", root.name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where} [project]: 'name' must be a non-empty string, got {name!r}.")
    prices = costs.get("prices")
    if prices is not None and not isinstance(prices, str):
        raise ConfigError(f"{where} [costs]: 'prices' must be a file path, got {prices!r}.")
    prices_file: Path | None
    if prices is not None:
        given = (root / prices).resolve()
        if not given.is_file():
            raise ConfigError(
                f"{where} [costs]: prices file {prices!r} does not exist "
                f"(looked for {given}). Create it or remove the setting."
            )
        prices_file = given
    else:
        default = root / PRICES_FILE
        prices_file = default if default.is_file() else None
    allocation = costs.get("allocation", "auto")
    if allocation not in ALLOCATIONS:
        raise ConfigError(
            f"{where} [costs]: 'allocation' must be one of {', '.join(ALLOCATIONS)}, "
            f"got {allocation!r}."
        )
    if "instance" in costs and isinstance(costs["instance"], list):
        raise ConfigError(
            f"{where} [costs]: inline instance prices go in [[costs.instance_price]]; "
            "'instance' names the preset the machine is priced as."
        )
    instance = costs.get("instance")
    if instance is not None and not isinstance(instance, str):
        raise ConfigError(f"{where} [costs]: 'instance' must be a preset name, got {instance!r}.")
    webhook = os.environ.get("NINEFOLD_COST_WEBHOOK_URL") or costs.get("webhook_url")
    if webhook is not None and (
        not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))
    ):
        raise ConfigError(
            f"{where} [costs]: 'webhook_url' must be an http(s) URL, got {webhook!r}."
        )
    stale = costs.get("stale_after_days", 180)
    if isinstance(stale, bool) or not isinstance(stale, int) or stale <= 0:
        raise ConfigError(
            f"{where} [costs]: 'stale_after_days' must be a positive integer, got {stale!r}."
        )
    inline = {k: costs[k] for k in ("rate", "instance_price") if k in costs}
    return CostSettings(
        project=name.strip(),
        project_root=root,
        prices_file=prices_file,
        inline_rows=inline,
        instance=instance,
        allocation=str(allocation),
        sample_interval_s=_positive(costs, "sample_interval_s", 1.0, where),
        bucket_s=_positive(costs, "bucket_s", 15.0, where),
        child_refresh_s=_positive(costs, "child_refresh_s", 5.0, where),
        webhook_url=webhook,
        stale_after_days=stale,
    )
