"""Portable column types: money as Decimal and timestamps as UTC-aware datetimes everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


def utc_now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return `value` in UTC; a naive value is taken to already be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always UTC-aware in Python.

    SQLite has no time zones, so values are stored there as naive UTC and made aware again on
    the way out; PostgreSQL stores `timestamptz`. Naive input is refused so that a local time
    can never be stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: salesops stores UTC-aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a server default
            value = datetime.fromisoformat(value)
        return as_utc(value)


class Money(TypeDecorator[Decimal]):
    """An amount of money: Numeric(18, 2), always a Decimal quantized to the cent in Python.

    SQLite keeps NUMERIC as a double, which is exact to the cent for amounts below 10^13; the
    quantize on the way out removes the binary noise so callers only ever see Decimals.
    """

    impl = Numeric(18, 2, asdecimal=False)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value).quantize(CENT)
        return float(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


class Ratio(TypeDecorator[Decimal]):
    """A probability or factor in [0, 1] and a little beyond: Numeric(7, 4) as a Decimal."""

    impl = Numeric(7, 4, asdecimal=False)
    cache_ok = True

    def process_bind_param(self, value: Decimal | float | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        ratio = Decimal(str(value)).quantize(Decimal("0.0001"))
        return float(ratio) if dialect.name == "sqlite" else ratio

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.0001"))
