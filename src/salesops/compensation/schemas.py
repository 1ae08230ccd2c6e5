"""Pydantic views of comp plans, runs and statements (what the API returns)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from salesops.compensation.plan import Plan
from salesops.models import CompRun, PayoutLine


class PlanView(BaseModel):
    key: str
    name: str
    version: int
    effective_from: date
    effective_to: date | None
    period: str
    currency: str
    checksum: str
    rules: list[dict[str, Any]]
    assignments: list[dict[str, Any]]

    @classmethod
    def of(cls, plan: Plan) -> PlanView:
        return cls(
            key=plan.key, name=plan.name, version=plan.version,
            effective_from=plan.effective_from, effective_to=plan.effective_to,
            period=plan.period, currency=plan.currency, checksum=plan.checksum,
            rules=[
                {
                    "name": r.name, "kind": r.kind, "semantics": r.semantics, "basis": r.basis,
                    "scope": r.scope, "reset": r.reset,
                    "tiers": [
                        {"label": t.label, "from": str(t.start),
                         "to": None if t.end is None else str(t.end), "rate": str(t.rate)}
                        for t in r.tiers
                    ],
                }
                for r in plan.rules
            ],
            assignments=[
                {"rep": a.rep, "role": a.role, "from": a.start.isoformat(),
                 "to": a.end.isoformat() if a.end else None}
                for a in plan.assignments
            ],
        )  # fmt: skip


class RunView(BaseModel):
    id: int
    period_start: date
    period_end: date
    status: str
    input_checksum: str
    plans: dict[str, Any]
    currency: str
    total: Decimal
    lines: int


class LineView(BaseModel):
    plan: str
    rule: str
    kind: str
    tier: str
    rate: Decimal | None
    credited: Decimal
    amount: Decimal
    deals: list[tuple[int, Decimal]]
    note: str


class StatementView(BaseModel):
    rep_id: int
    run_id: int
    status: str
    period_start: date
    period_end: date
    currency: str
    input_checksum: str
    total: Decimal
    lines: list[LineView]

    @classmethod
    def of(cls, rep_id: int, run: CompRun, lines: list[PayoutLine]) -> StatementView:
        return cls(
            rep_id=rep_id, run_id=run.id, status=run.status, period_start=run.period_start,
            period_end=run.period_end, currency=run.currency, input_checksum=run.input_checksum,
            total=sum((x.amount for x in lines), Decimal(0)),
            lines=[
                LineView(
                    plan=x.plan, rule=x.rule, kind=x.kind, tier=x.tier, rate=x.rate,
                    credited=x.credited, amount=x.amount,
                    deals=[(int(d), Decimal(a)) for d, a in x.deals], note=x.note,
                )
                for x in lines
            ],
        )  # fmt: skip
