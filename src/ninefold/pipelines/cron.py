"""Cron expressions: parse, explain, and find slots in a time zone.

Five fields, ``minute hour day-of-month month day-of-week``, with ``*``,
numbers, ranges (``1-5``), lists (``1,15``), steps (``*/10``, ``0-30/5``),
month and day names (``JAN``, ``mon-fri``), and the shortcuts ``@hourly``,
``@daily`` (``@midnight``), ``@weekly``, ``@monthly`` and ``@yearly``
(``@annually``). When both day fields are restricted a day matches either one,
as in classic cron. The evaluation is done by the small ``cronsim`` library;
this module turns its terse errors into ones that name the field, the value and
the fix, and works in UTC milliseconds.

Daylight saving time follows Debian cron: a fixed-time job whose wall-clock
time is skipped (spring forward) runs right after the jump, and one whose time
repeats (fall back) runs once; interval jobs (``*/15 * * * *``) follow real
elapsed time.

Example:
    >>> expr = CronExpression.parse("0 3 * * mon-fri", "Europe/Berlin")
    >>> expr.explain()
    'At 03:00 on Monday through Friday'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any

from ninefold.errors import InvalidArgument

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")

_ALLOWED = {
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31 (or L for the last day)",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 (0 and 7 are Sunday) or SUN-SAT",
}
_EXAMPLE = {
    "minute": "*/15",
    "hour": "9-17",
    "day-of-month": "1,15",
    "month": "JAN-MAR",
    "day-of-week": "MON-FRI",
}

SHORTCUTS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

MAX_COUNT = 10_000
"""Missed slots are counted up to this many (a year of every-minute slots would be slow)."""


@cache
def zone(name: str | None) -> tzinfo:
    """The time zone called ``name`` (IANA, e.g. ``Europe/Berlin``); UTC for None."""
    if name is None or name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(
            f"Time zone {name!r} is not known: use an IANA name such as 'Europe/Berlin', "
            "'America/New_York' or 'UTC' (on systems without a zone database: "
            "pip install tzdata)."
        ) from exc


def _cronsim(expr: str, start: datetime, reverse: bool = False) -> Any:
    from cronsim import CronSim

    return CronSim(expr, start, reverse=reverse)


def _bad_field(expr: str, fields: list[str], index: int) -> InvalidArgument:
    """The error for field ``index``, naming the exact item that is wrong where possible."""
    from cronsim import CronSimError

    name, value = FIELDS[index], fields[index]
    culprit = None
    for item in value.split(","):
        probe = ["*"] * 5
        probe[index] = item
        try:
            _cronsim(" ".join(probe), datetime(2000, 1, 1))
        except CronSimError:
            culprit = item
            break
    where = f"{name} field {value!r}"
    if culprit is not None and culprit != value:
        where += f": {culprit!r}"
    if culprit is None:
        # Every item is fine alone: the days can never fall in the months given.
        return InvalidArgument(
            f"Cron {expr!r}: {where} never occurs in month field {fields[3]!r}; pick days "
            "that exist in those months (e.g. 'L' for the last day of the month)."
        )
    return InvalidArgument(
        f"Cron {expr!r}: {where} is not valid: {name} values are {_ALLOWED[name]}, "
        f"combined as ranges (a-b), lists (a,b) and steps (*/n); e.g. {_EXAMPLE[name]!r}."
    )


@dataclass(frozen=True)
class CronExpression:
    """A checked cron expression in a time zone.

    Attributes:
        text: the expression as given (a shortcut stays a shortcut).
        fields: the five fields it stands for.
        timezone: the IANA zone name, or None for UTC.
    """

    text: str
    fields: str
    timezone: str | None = None

    @classmethod
    def parse(cls, text: str, timezone: str | None = None) -> CronExpression:
        """Check ``text``; raise :class:`~ninefold.errors.InvalidArgument` naming the bad field."""
        from cronsim import CronSimError

        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument(
                f"Cron expression {text!r} is empty; give five fields 'minute hour "
                "day-of-month month day-of-week', e.g. '0 3 * * *' for 03:00 every day."
            )
        raw = " ".join(text.split())
        if raw.startswith("@"):
            fields = SHORTCUTS.get(raw.lower())
            if fields is None:
                raise InvalidArgument(
                    f"Cron {raw!r} is not a known shortcut; use one of {', '.join(SHORTCUTS)}, "
                    "or five fields such as '0 3 * * *'."
                )
        else:
            parts = raw.split(" ")
            if len(parts) != 5:
                hint = (
                    " ninefold schedules have minute precision: drop the seconds field."
                    if len(parts) == 6
                    else ""
                )
                raise InvalidArgument(
                    f"Cron {raw!r} has {len(parts)} field(s); it needs 5: minute hour "
                    f"day-of-month month day-of-week, e.g. '0 3 * * *' (03:00 every day) or "
                    f"'*/15 * * * MON-FRI'.{hint}"
                )
            fields = raw
        tz = zone(timezone)
        try:
            _cronsim(fields, datetime(2000, 1, 1, tzinfo=tz))
        except CronSimError:
            parts = fields.split(" ")
            for index in range(5):
                probe = ["*"] * 5
                probe[index] = parts[index]
                try:
                    _cronsim(" ".join(probe), datetime(2000, 1, 1))
                except CronSimError:
                    raise _bad_field(raw, parts, index) from None
            raise _bad_field(raw, parts, 2) from None
        return cls(raw, fields, None if tz is UTC else timezone)

    @property
    def tz(self) -> tzinfo:
        """The time zone object."""
        return zone(self.timezone)

    def explain(self) -> str:
        """The schedule in words, e.g. ``At 03:00 on Monday through Friday``."""
        try:
            return str(_cronsim(self.fields, datetime(2000, 1, 1)).explain())
        except Exception:  # explaining is a nicety; never fail a listing over it
            return self.text

    def _at(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(self.tz)

    def next_after(self, after_ms: int) -> int | None:
        """The first slot strictly after ``after_ms`` (UTC ms), or None if there is none."""
        try:
            slot = next(_cronsim(self.fields, self._at(after_ms)))
        except StopIteration:
            return None
        return int(slot.timestamp() * 1000)

    def latest_at_or_before(self, at_ms: int) -> int | None:
        """The last slot at or before ``at_ms`` (UTC ms), or None if there is none."""
        # Start one second past the whole second of ``at_ms``: reverse iteration steps
        # back one second first, so ``at_ms`` itself can match.
        start = datetime.fromtimestamp(at_ms // 1000 + 1, tz=UTC).astimezone(self.tz)
        try:
            slot = next(_cronsim(self.fields, start, reverse=True))
        except StopIteration:
            return None
        return int(slot.timestamp() * 1000)

    def count_between(self, after_ms: int, before_ms: int, limit: int = MAX_COUNT) -> int:
        """How many slots lie strictly between the two times (counted up to ``limit``)."""
        it = _cronsim(self.fields, self._at(after_ms))
        count = 0
        for slot in it:
            if count >= limit or slot.timestamp() * 1000 >= before_ms:
                break
            count += 1
        return count

    def upcoming(self, after_ms: int, n: int = 5) -> list[int]:
        """The next ``n`` slots after ``after_ms`` (UTC ms)."""
        out: list[int] = []
        it = _cronsim(self.fields, self._at(after_ms))
        for slot in it:
            out.append(int(slot.timestamp() * 1000))
            if len(out) >= n:
                break
        return out


def slot_text(ms: int, timezone: str | None = None) -> str:
    """A slot as ISO-8601 in its zone, e.g. ``2025-03-30T03:00:00+02:00``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(zone(timezone)).isoformat()


__all__ = ["FIELDS", "SHORTCUTS", "CronExpression", "slot_text", "zone"]
