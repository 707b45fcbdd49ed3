"""Rendering helpers shared by the commands: JSON output, tables, times."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table


class _Console:
    """A Rich console made at each use, so the terminal width (and ``COLUMNS``) is read now."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Print like :meth:`rich.console.Console.print`."""
        from rich.console import Console

        Console(stderr=self._stderr).print(*objects, **kwargs)


console = _Console()
err_console = _Console(stderr=True)

JSON_HELP = "Print machine-readable JSON instead of tables."


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (NaN and infinities as strings)."""
    sys.stdout.write(json.dumps(_clean(data), indent=2, default=_default) + "\n")


def fmt_time(ms: int | None) -> str:
    """UTC milliseconds as ``YYYY-MM-DD HH:MM:SS``."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(start_ms: int, end_ms: int | None) -> str:
    """A duration such as ``4.2s`` or ``3m05s``."""
    if end_ms is None:
        return "-"
    seconds = max(0.0, (end_ms - start_ms) / 1000)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_value(value: Any) -> str:
    """A number in 6 significant digits, other values as text."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def fmt_size(size: int) -> str:
    """Bytes in human units."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


STATUS_STYLE = {
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "killed": "yellow",
    "crashed": "bold red",
}


def status_text(status: str) -> str:
    """A status word with its colour markup."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def table(title: str | None, *columns: str, ids: tuple[str, ...] = ()) -> Table:
    """A table in the house style.

    The columns named in ``ids`` (run ids) are never wrapped or cut, so they can
    be copied whole from a narrow terminal; the other columns give way.
    """
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold", show_lines=False)
    for c in columns:
        if c in ids:
            t.add_column(c, no_wrap=True, overflow="ignore", min_width=len(c))
        else:
            t.add_column(c)
    return t
