"""Money as integer micro-units: exact sums that reconcile to the cent.

Rates are :class:`~decimal.Decimal`; each cost component of a run is rounded
once, half to even, to an integer number of micro-units (1 USD = 1,000,000),
and everything above a run (roll-ups, budgets) only adds integers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MICROS = Decimal(1_000_000)

CURRENCIES = frozenset(
    {
        "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "IDR",
        "ILS", "INR", "JPY", "KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "THB", "TRY",
        "TWD", "USD", "ZAR",
    }
)  # fmt: skip
"""ISO 4217 codes a price table may use."""


def to_micros(amount: Decimal) -> int:
    """An amount in currency units as integer micro-units, rounded half to even."""
    return int((amount * MICROS).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_micros(micros: int) -> Decimal:
    """Integer micro-units as an exact :class:`Decimal` amount."""
    return Decimal(micros) / MICROS


def cents(micros: int) -> Decimal:
    """Micro-units rounded (half to even) to the cent, as a Decimal such as ``12.34``."""
    return from_micros(micros).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def fmt_money(micros: int, currency: str) -> str:
    """``12.34 USD``; amounts under a cent keep four decimals (``0.0042 USD``)."""
    amount = from_micros(micros)
    if micros != 0 and abs(amount) < Decimal("0.01"):
        return f"{amount.quantize(Decimal('0.0001'), rounding=ROUND_HALF_EVEN)} {currency}"
    return f"{cents(micros):,} {currency}"
