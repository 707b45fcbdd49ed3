"""Cron expressions: what parses, what a typo says, and where the slots fall (DST included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ninefold.errors import InvalidArgument
from ninefold.pipelines.cron import CronExpression, slot_text


def ms(*args: int) -> int:
    """UTC milliseconds of a date and time."""
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 3 * * *", "At 03:00 every day"),
        ("*/15 9-17 * * MON-FRI", "Every 15th minute from 09:00 through 17:59"),
        ("0 0 1,15 * *", "on the first and the 15th day of month"),
        ("30 6 * jan,jul sun", "on Sunday in January and July"),
        ("@daily", "At 00:00 every day"),
        ("@hourly", "At the start of every hour"),
        ("  0   3 * *  *  ", "At 03:00 every day"),
    ],
)
def test_valid_expressions_parse_and_explain(expr: str, words: str) -> None:
    assert words in CronExpression.parse(expr).explain()


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("0 3 * * MNO", "day-of-week field 'MNO' is not valid: day-of-week values are 0-7"),
        ("0 3 * * 1,3,FRY", "day-of-week field '1,3,FRY': 'FRY' is not valid"),
        ("0 3 * * 1-8", "day-of-week field '1-8' is not valid"),
        ("61 * * * *", "minute field '61' is not valid: minute values are 0-59"),
        ("*/0 * * * *", "minute field '*/0' is not valid"),
        ("0 24 * * *", "hour field '24' is not valid: hour values are 0-23"),
        ("0 3 0 * *", "day-of-month field '0' is not valid"),
        ("0 3 * 13 *", "month field '13' is not valid: month values are 1-12 or JAN-DEC"),
        ("0 3 * JNA *", "month field 'JNA' is not valid"),
        ("0 3 31 2 *", "day-of-month field '31' never occurs in month field '2'"),
        ("0 3 * *", "has 4 field(s); it needs 5: minute hour day-of-month month day-of-week"),
        ("0 0 3 * * *", "drop the seconds field"),
        ("@dayly", "'@dayly' is not a known shortcut; use one of @hourly, @daily"),
        ("", "is empty"),
    ],
)
def test_a_typo_names_the_field_the_value_and_the_fix(expr: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        CronExpression.parse(expr)
    assert says in str(err.value)
    if "field '" in says:
        assert "e.g." in str(err.value) or "pick days" in str(err.value)


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(InvalidArgument, match="Time zone 'Europe/Berln' is not known"):
        CronExpression.parse("0 3 * * *", "Europe/Berln")


def test_next_slots_in_utc() -> None:
    assert CronExpression.parse("0 3 * * *").next_after(ms(2024, 1, 1)) == ms(2024, 1, 1, 3)
    # Strictly after: a slot is never its own successor.
    assert CronExpression.parse("0 3 * * *").next_after(ms(2024, 1, 1, 3)) == ms(2024, 1, 2, 3)
    assert CronExpression.parse("*/15 * * * *").next_after(ms(2024, 1, 1, 0, 1)) == ms(
        2024, 1, 1, 0, 15
    )
    # 2024-01-01 is a Monday; the next Friday is the 5th.
    assert CronExpression.parse("0 9 * * fri").next_after(ms(2024, 1, 1)) == ms(2024, 1, 5, 9)
    assert CronExpression.parse("0 0 1,15 * *").upcoming(ms(2024, 1, 2), 3) == [
        ms(2024, 1, 15),
        ms(2024, 2, 1),
        ms(2024, 2, 15),
    ]
    # Both day fields restricted: either one matches (classic cron).
    assert CronExpression.parse("0 0 13 * 5").upcoming(ms(2024, 9, 1), 2) == [
        ms(2024, 9, 6),
        ms(2024, 9, 13),
    ]


def test_latest_slot_includes_the_instant_itself() -> None:
    expr = CronExpression.parse("0 3 * * *")
    assert expr.latest_at_or_before(ms(2024, 1, 2, 3)) == ms(2024, 1, 2, 3)
    assert expr.latest_at_or_before(ms(2024, 1, 2, 2, 59)) == ms(2024, 1, 1, 3)
    assert expr.count_between(ms(2024, 1, 1, 3), ms(2024, 1, 5, 3)) == 3


def test_spring_forward_runs_a_skipped_time_right_after_the_jump() -> None:
    # Berlin skips 02:00-03:00 on 2024-03-31; 02:30 does not exist that day.
    expr = CronExpression.parse("30 2 * * *", "Europe/Berlin")
    slots = expr.upcoming(ms(2024, 3, 29, 12), 3)
    assert [slot_text(s, "Europe/Berlin") for s in slots] == [
        "2024-03-30T02:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
    ]


def test_fall_back_runs_a_repeated_time_once() -> None:
    # Berlin repeats 02:00-03:00 on 2024-10-27.
    expr = CronExpression.parse("30 2 * * *", "Europe/Berlin")
    slots = expr.upcoming(ms(2024, 10, 26, 12), 3)
    assert [slot_text(s, "Europe/Berlin") for s in slots] == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
        "2024-10-29T02:30:00+01:00",
    ]
    # An interval job follows real time: both halves of the repeated hour.
    every_half_hour = CronExpression.parse("*/30 * * * *", "Europe/Berlin")
    assert len(every_half_hour.upcoming(ms(2024, 10, 26, 23, 1), 6)) == 6
    assert every_half_hour.count_between(ms(2024, 10, 26, 23), ms(2024, 10, 27, 2)) == 5


def test_a_time_zone_moves_the_slot() -> None:
    utc = CronExpression.parse("0 3 * * *").next_after(ms(2024, 7, 1))
    ny = CronExpression.parse("0 3 * * *", "America/New_York").next_after(ms(2024, 7, 1))
    assert ny is not None
    assert utc is not None
    assert ny - utc == 4 * 3600 * 1000  # 03:00 EDT is 07:00 UTC


EXPRESSIONS = ["0 3 * * *", "*/7 * * * *", "15 */5 * * 1-5", "0 0 L * *", "@weekly"]


@given(
    expr=st.sampled_from(EXPRESSIONS),
    zone=st.sampled_from([None, "Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata"]),
    at=st.integers(min_value=ms(2020, 1, 1), max_value=ms(2030, 1, 1)),
)
def test_next_and_latest_slots_agree(expr: str, zone: str | None, at: int) -> None:
    cron = CronExpression.parse(expr, zone)
    nxt = cron.next_after(at)
    assert nxt is not None
    assert nxt > at
    assert cron.latest_at_or_before(nxt) == nxt
    latest = cron.latest_at_or_before(at)
    assert latest is not None
    assert latest <= at
    assert cron.next_after(latest) == nxt
    assert cron.count_between(latest, nxt) == 0
