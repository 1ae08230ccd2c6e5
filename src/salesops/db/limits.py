"""The values salesops can hold: one set of domain ranges for every entry point.

A value outside these ranges is refused where it enters (API body, import row, dashboard form)
with a message naming the range, because downstream it breaks more than its own row: the
analytics copy holds money as DECIMAL(18, 2), forecasts do calendar arithmetic on dates, and
PostgreSQL's INTEGER stops at 2^31 - 1. The API schemas carry the same bounds, so the
OpenAPI document states them.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Float, Integer, SmallInteger, String, Text

from salesops.db.types import Money, Ratio

# A trillion in any currency: far above any deal, quota or contract, and a sum of a million
# such values still fits the analytics copy's DECIMAL(38, 2) aggregates.
MONEY_LIMIT = Decimal(10) ** 12
RATIO_LIMIT = Decimal(100)  # Numeric(7, 4); ramp factors and probabilities live far below
INT_LIMIT = 2**31 - 1  # INTEGER on PostgreSQL; ids included
BIGINT_LIMIT = 2**63 - 1
FLOAT_LIMIT = 1e12
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)
COORDINATE_LIMITS = {"latitude": 90.0, "longitude": 180.0}


def _money_text(limit: Decimal) -> str:
    return f"{limit:,.0f}"


def field_bounds(column: ColumnElement[Any]) -> dict[str, Any]:
    """Pydantic `Field` keyword arguments bounding a column's values (and documenting them)."""
    kind = column.type
    name = getattr(column, "name", "")
    if name in COORDINATE_LIMITS:
        limit = COORDINATE_LIMITS[name]
        return {"ge": -limit, "le": limit, "allow_inf_nan": False}
    if isinstance(kind, Money):
        return {"ge": -MONEY_LIMIT, "le": MONEY_LIMIT, "decimal_places": 2, "allow_inf_nan": False}
    if isinstance(kind, Ratio):
        return {"ge": -RATIO_LIMIT, "le": RATIO_LIMIT, "decimal_places": 4, "allow_inf_nan": False}
    if isinstance(kind, BigInteger):
        return {"ge": -BIGINT_LIMIT, "le": BIGINT_LIMIT}
    if isinstance(kind, Integer | SmallInteger):
        lowest = 1 if getattr(column, "foreign_keys", None) else -INT_LIMIT
        return {"ge": lowest, "le": INT_LIMIT}
    if isinstance(kind, Float):
        return {"ge": -FLOAT_LIMIT, "le": FLOAT_LIMIT, "allow_inf_nan": False}
    if isinstance(kind, String | Text) and getattr(kind, "length", None):
        return {"max_length": kind.length}
    return {}


def problem_with(column: ColumnElement[Any], value: Any) -> str | None:
    """Why `value` cannot be stored in `column`, or None when it can."""
    if value is None:
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        length = getattr(column.type, "length", None)
        if length and len(value) > length:
            return f"is longer than {length} characters"
        return None
    if isinstance(value, datetime | date):
        return date_problem(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    bounds = field_bounds(column)
    if "le" not in bounds:
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return "is not a number"
    if not number.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        return "must be a finite number"
    low, high = bounds["ge"], bounds["le"]
    if not low <= number <= high:
        if isinstance(column.type, Money):
            return f"must be between -{_money_text(MONEY_LIMIT)} and {_money_text(MONEY_LIMIT)}"
        return f"must be between {low} and {high}"
    return None


def date_problem(value: date | datetime | None) -> str | None:
    """Why a date or timestamp is outside the range salesops works with, or None."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        return f"must be between {DATE_MIN} and {DATE_MAX}"
    return None


def money_problem(value: Decimal | None) -> str | None:
    """Why an amount of money cannot be held, or None."""
    if value is None:
        return None
    if not value.is_finite():
        return "must be a finite number"
    if abs(value) > MONEY_LIMIT:
        return f"must be between -{_money_text(MONEY_LIMIT)} and {_money_text(MONEY_LIMIT)}"
    return None
