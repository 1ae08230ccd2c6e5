"""Small hand-built plans and deals for the comp engine tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import yaml

from salesops.compensation.engine import Credit, Line, Period, RepInput
from salesops.compensation.plan import Plan, parse_plan

Q1 = Period(date(2026, 1, 1), date(2026, 3, 31))
Q2 = Period(date(2026, 4, 1), date(2026, 6, 30))


def plan(rules: str, **top: object) -> Plan:
    data = {
        "plan": "test",
        "version": 1,
        "effective_from": "2026-01-01",
        "period": "quarter",
        "rules": yaml.safe_load(rules),
        **top,
    }
    return parse_plan(data, name="test.yaml")


def credit(deal_id: int, amount: str, day: date = date(2026, 2, 1), kind: str = "new") -> Credit:
    return Credit(deal_id, f"deal {deal_id}", 1, day, Decimal(amount), Decimal(1), "owner", kind)


def rep(p: Plan, *credits: Credit, quota: str | None = None, year: str | None = None) -> RepInput:
    return RepInput(
        1,
        p,
        credits,
        None if quota is None else Decimal(quota),
        None if year is None else Decimal(year),
    )


def total(lines: list[Line]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))
