"""Turn source text into typed values: one converter per mapped field, built once per file.

A converter takes the (stripped, non-empty) source text and returns the canonical value, or
raises ValueError with a reason a user can act on ("bad date '31/02/2017' (expected %d/%m/%Y)").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from salesops.calendar import add_months
from salesops.db.limits import (
    COORDINATE_LIMITS,
    DATE_MAX,
    DATE_MIN,
    FLOAT_LIMIT,
    MONEY_LIMIT,
    date_problem,
    money_problem,
)
from salesops.ingest.mapping import FieldSpec
from salesops.ingest.targets import NON_NEGATIVE, FieldDef

Converter = Callable[[str], Any]
TRUE = {"true", "yes", "y", "1", "t", "x", "on"}
FALSE = {"false", "no", "n", "0", "f", "", "off"}
CURRENCY_SIGNS = re.compile(r"[$€£¥\s]|[A-Z]{3}$|^[A-Z]{3}")
CENT = Decimal("0.01")
MEMORY_LIMIT = 50_000  # remembered texts per date or timestamp field


def _number_text(text: str, spec: FieldSpec) -> str:
    if spec.thousands_separator:
        text = text.replace(spec.thousands_separator, "")
    if spec.decimal_separator != ".":
        text = text.replace(spec.decimal_separator, ".")
    text = CURRENCY_SIGNS.sub("", text)
    if text.startswith("(") and text.endswith(")"):  # accounting style negative
        text = "-" + text[1:-1]
    return text


def _decimal(spec: FieldSpec, fdef: FieldDef) -> Converter:
    scale = spec.scale
    minimum = spec.minimum
    if minimum is None and fdef.name in NON_NEGATIVE:
        minimum = Decimal(0)
    percent = fdef.kind == "ratio"
    money = fdef.kind == "money"
    plain = spec.thousands_separator == "" and spec.decimal_separator == "."
    low, high = -MONEY_LIMIT, MONEY_LIMIT

    def convert(text: str) -> Decimal:
        source = text if plain else _number_text(text, spec)
        try:
            value = Decimal(source)
        except InvalidOperation:
            cleaned = _number_text(source, spec) if plain else source
            is_percent = percent and cleaned.endswith("%")
            try:
                value = Decimal(cleaned.rstrip("%"))
            except InvalidOperation:
                raise ValueError(f"{text!r} is not a number") from None
            if is_percent:
                value /= 100
        if not value.is_finite():
            raise ValueError(f"{text!r} is not a number")
        if scale is not None:
            value *= scale
        if minimum is not None and value < minimum:
            raise ValueError(f"{text} is below the minimum of {minimum}")
        if money:
            if not low <= value <= high and (reason := money_problem(value)):
                raise ValueError(f"{text} is not a usable amount of money: it {reason}")
            return value.quantize(CENT)
        return value

    return convert


def _integer(spec: FieldSpec, fdef: FieldDef) -> Converter:
    as_decimal = _decimal(spec, fdef)

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            number = as_decimal(text)
            if number != number.to_integral_value():
                raise ValueError(f"{text!r} is not a whole number") from None
            value = int(number)
        else:
            if spec.scale is not None:
                value = int(value * spec.scale)
        minimum = spec.minimum if spec.minimum is not None else None
        if minimum is None and fdef.name in NON_NEGATIVE:
            minimum = Decimal(0)
        if minimum is not None and value < minimum:
            raise ValueError(f"{text} is below the minimum of {minimum}")
        if abs(value) >= 2**31:
            raise ValueError(f"{text} is too large")
        return value

    return convert


def _check_year(value: date) -> None:
    # The common case in one comparison (a datetime's year decides it alike).
    if DATE_MIN.year < value.year < DATE_MAX.year:
        return
    if reason := date_problem(value):
        raise ValueError(f"{value.isoformat()} is out of range: dates {reason}")


def shift(value: date, months: int, days: int) -> date:
    """`value` moved by whole months (clamped to the month's last day) and then days."""
    value = add_months(value, months) if months else value
    return value + timedelta(days=days) if days else value


def _date(spec: FieldSpec, formats: tuple[str, ...]) -> Converter:
    parse = _plain_date(formats)
    if not spec.add_months and not spec.add_days:
        return parse
    return lambda text: shift(parse(text), spec.add_months, spec.add_days)


def _plain_date(formats: tuple[str, ...]) -> Converter:
    def convert(text: str) -> date:
        for fmt in formats:
            try:
                value = datetime.strptime(text, fmt).date()
            except ValueError:
                continue
            _check_year(value)
            return value
        try:
            value = date.fromisoformat(text[:10])
        except ValueError:
            expected = " or ".join(formats) if formats else "YYYY-MM-DD"
            raise ValueError(f"bad date {text!r} (expected {expected})") from None
        _check_year(value)
        return value

    return convert


def _datetime(spec: FieldSpec, formats: tuple[str, ...]) -> Converter:
    at_time = spec.at_time or time(0)

    def aware(value: datetime) -> datetime:
        _check_year(value)
        zone = value.tzinfo
        if zone is UTC:
            return value
        return value.replace(tzinfo=UTC) if zone is None else value.astimezone(UTC)

    def convert(text: str) -> datetime:
        for fmt in formats:
            try:
                value = datetime.strptime(text, fmt)
            except ValueError:
                continue
            if "%H" not in fmt and "%I" not in fmt:
                value = datetime.combine(value.date(), at_time)
            return aware(value)
        if len(text) == 10:
            try:
                return aware(datetime.combine(date.fromisoformat(text), at_time))
            except ValueError:
                pass
        try:
            return aware(datetime.fromisoformat(text))
        except ValueError:
            expected = " or ".join(formats) if formats else "an ISO date or timestamp"
            raise ValueError(f"bad timestamp {text!r} (expected {expected})") from None

    return convert


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"{text!r} is not yes/no or true/false")


def _string(fdef: FieldDef) -> Converter:
    limit = fdef.max_length

    def convert(text: str) -> str:
        if "\x00" in text:
            # PostgreSQL cannot store it and SQLite would; refuse it on both, by name.
            raise ValueError("contains a NUL character")
        if limit is not None and len(text) > limit:
            raise ValueError(f"longer than {limit} characters ({len(text)})")
        return text

    return convert


def _float(fdef: FieldDef) -> Converter:
    limit = COORDINATE_LIMITS.get(fdef.name, FLOAT_LIMIT)

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or abs(value) > limit:
            raise ValueError(f"{text} is out of range (-{limit:g} to {limit:g})")
        return value

    return convert


def _remembered(convert: Converter) -> Converter:
    """`convert` answering again from memory for a text it has converted before.

    Exports repeat dates (and often timestamps) thousands of times; the values are immutable.
    Failures are not remembered (they raise each time, with the row's own message).
    """
    memory: dict[str, Any] = {}

    def remembered(text: str) -> Any:
        value = memory.get(text)
        if value is None:
            value = convert(text)
            if len(memory) >= MEMORY_LIMIT:
                memory.clear()
            memory[text] = value
        return value

    return remembered


def converter(spec: FieldSpec, fdef: FieldDef, file_dates: tuple[str, ...] = ()) -> Converter:
    """The converter for field `spec` of kind `fdef.kind` (refs and stages stay text)."""
    kind = fdef.kind
    formats = spec.formats or file_dates
    if kind in {"money", "ratio", "decimal"}:
        return _decimal(spec, fdef)
    if kind == "int":
        return _integer(spec, fdef)
    if kind == "float":
        return _float(fdef)
    if kind == "date":
        return _remembered(_date(spec, formats))
    if kind == "datetime":
        return _remembered(_datetime(spec, formats))
    if kind == "bool":
        return _boolean
    if kind in {"ref", "stage"}:
        return str
    return _string(fdef)
