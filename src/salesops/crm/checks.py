"""Record-level value checks shared by every entry point: API, imports and dashboard forms.

Field-level ranges live in `db/limits.py`; these are the rules that look at a record as a
whole (a quota's period and holder) or at reference data (a currency needs an exchange rate,
or every money metric of the company would have nothing to convert it with). The records
service, the pipeline service and the importer all call them, so one rule has one wording.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.config import get_settings
from salesops.errors import Problem
from salesops.models import FxRate

QUOTA_HOLDERS = ("rep_id", "team_id", "territory_id")


def rated_currencies(session: Session | Any) -> frozenset[str]:
    """Every currency metrics can convert: the reporting one and those with an exchange rate
    (`session` may be a Session or a Connection, for the importer)."""
    rated = set(session.scalars(select(FxRate.currency).distinct()))
    return frozenset({get_settings().reporting_currency.upper(), *(c.upper() for c in rated)})


def currency_problem(code: str | None, rated: Collection[str]) -> str | None:
    """Why `code` cannot be a record's currency, or None (None leaves the default)."""
    if code is None:
        return None
    if len(code) != 3 or not code.isalpha():
        return f"{code!r} is not a 3-letter currency code"
    if code.upper() not in rated:
        return f"no exchange rate for {code.upper()!r}: load its rates first"
    return None


def quota_problems(values: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a quota's values as a whole (its fields already in range)."""
    problems: list[Problem] = []
    holders = sum(values.get(h) is not None for h in QUOTA_HOLDERS)
    if holders != 1:
        problems.append(Problem("a quota needs exactly one of rep, team or territory", "holder"))
    start, end = values.get("period_start"), values.get("period_end")
    if start is not None and end is not None and end < start:
        problems.append(Problem(f"must not be before the start ({start})", "period_end"))
    amount = values.get("amount")
    if amount is not None and amount < 0:
        problems.append(Problem("must not be negative", "amount"))
    ramp = values.get("ramp_factor")
    if ramp is not None and not Decimal(0) <= Decimal(ramp) <= Decimal(1):
        problems.append(Problem("must be between 0 and 1", "ramp_factor"))
    return problems
