"""The pure core of contracts: states and transitions, money on line items, proration, key
dates and approval rules. No database access; the service applies what this decides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from salesops.models import ContractStatus as S
from salesops.models import Role

CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal(365)

# Where a contract may go from each state. Signing (-> active) is only possible from `sent`,
# which is only reachable from `approved`: an unapproved contract cannot be signed. Going
# back to draft is how a reviewer or the customer asks for changes.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.IN_REVIEW, S.TERMINATED}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.DRAFT}),
    S.APPROVED: frozenset({S.SENT, S.DRAFT}),
    S.SENT: frozenset({S.ACTIVE, S.DRAFT}),
    S.ACTIVE: frozenset({S.RENEWAL_DUE, S.RENEWED, S.EXPIRED, S.TERMINATED}),
    S.RENEWAL_DUE: frozenset({S.RENEWED, S.EXPIRED, S.TERMINATED}),
    S.RENEWED: frozenset(),
    S.EXPIRED: frozenset(),
    S.TERMINATED: frozenset(),
    S.CHURNED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Only a draft's terms and lines can be edited; once signed, a contract changes by amendment.
EDITABLE = frozenset({S.DRAFT})
SIGNED = frozenset({S.ACTIVE, S.RENEWAL_DUE})
AMENDMENT_KINDS = ("upsell", "downsell", "cotermination")

# Who outranks whom when an approval rule names a role.
APPROVER_RANK = {Role.MANAGER: 1, Role.DIRECTOR: 2, Role.ADMIN: 3}


def transition_problem(old: str, new: str) -> str | None:
    """Why a contract cannot go from `old` to `new`, or None when it can."""
    if new not in TRANSITIONS:
        return f"{new!r} is not a contract status (one of {', '.join(TRANSITIONS)})"
    allowed = TRANSITIONS.get(old, frozenset())
    if new in allowed:
        return None
    if new == S.ACTIVE and old in (S.DRAFT, S.IN_REVIEW, S.APPROVED):
        return f"a contract that is {old} cannot be signed: it must be approved and sent first"
    options = ", ".join(sorted(allowed)) or "nothing (it is final)"
    return f"a contract that is {old} cannot become {new} (it can become: {options})"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(quantity: int, list_price: Decimal, discount: Decimal) -> Decimal:
    """Annual net amount of a line: quantity x list price x (1 - discount), to the cent."""
    return money(Decimal(quantity) * list_price * (Decimal(1) - discount))


def prorate(annual: Decimal, start: date, end: date) -> Decimal:
    """`annual` for the days from `start` to `end`, both included, on a 365-day year."""
    days = (end - start).days + 1
    if days <= 0:
        return Decimal("0.00")
    return money(annual * Decimal(days) / DAYS_PER_YEAR)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for candidate in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def end_for(start: date, term_months: int) -> date:
    """The last day of a term of `term_months` starting on `start`."""
    return add_months(start, term_months) - timedelta(days=1)


def notice_date(end: date, notice_days: int | None) -> date:
    """The last day on which notice can be given to stop the contract renewing."""
    return end - timedelta(days=notice_days or 0)


def renewal_trigger(end: date, notice_days: int | None, lead_days: int) -> date:
    """The day the renewal is raised: `lead_days` before the notice date."""
    return notice_date(end, notice_days) - timedelta(days=lead_days)


def capped_renewal_value(current: Decimal, proposed: Decimal, cap: Decimal | None) -> Decimal:
    """The renewal's annual value: `proposed`, but at most `current` raised by the cap."""
    if cap is None:
        return money(proposed)
    return money(min(proposed, current * (Decimal(1) + cap)))


# --- approval rules -------------------------------------------------------------------------


class RuleCondition(BaseModel):
    """When a rule applies; every condition given must hold."""

    model_config = ConfigDict(extra="forbid")

    discount_above: Decimal | None = Field(default=None, ge=0, le=1)
    value_above: Decimal | None = Field(default=None, ge=0)
    term_months_above: int | None = Field(default=None, ge=0)
    special_terms: bool | None = None


class ApprovalRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    when: RuleCondition
    approver: Literal["manager", "director", "admin"]


class ApprovalRules(BaseModel):
    """The contents of an approval rules file (see docs/contracts.md)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[ApprovalRule] = Field(default_factory=list)
    # Two signed contracts of one account may not cover one product on the same days.
    forbid_overlapping_products: bool = True
    # Who approves when no rule applies.
    default_approver: Literal["manager", "director", "admin"] = "manager"
    # Why customers leave: a terminated contract records one of these.
    churn_reasons: list[str] = Field(
        default_factory=lambda: ["price", "product fit", "competitor", "budget", "other"],
        min_length=1,
    )

    @field_validator("churn_reasons")
    @classmethod
    def _reasons(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v or len(v) > 80 for v in cleaned):
            raise ValueError("each churn reason is 1 to 80 characters")
        if len({v.lower() for v in cleaned}) != len(cleaned):
            raise ValueError("churn reasons must be distinct")
        return cleaned


@dataclass(frozen=True)
class ContractFacts:
    """What approval rules look at."""

    max_discount: Decimal
    annual_value: Decimal
    term_months: int
    special_terms: bool


@dataclass(frozen=True)
class Requirement:
    rule: str
    approver: Role


def _applies(when: RuleCondition, facts: ContractFacts) -> bool:
    checks = [
        when.discount_above is None or facts.max_discount > when.discount_above,
        when.value_above is None or facts.annual_value > when.value_above,
        when.term_months_above is None or facts.term_months > when.term_months_above,
        when.special_terms is None or facts.special_terms == when.special_terms,
    ]
    return all(checks)


def required_approvals(rules: ApprovalRules, facts: ContractFacts) -> list[Requirement]:
    """The rules that apply to a contract, each with the role that must approve it."""
    found = [Requirement(r.name, Role(r.approver)) for r in rules.rules if _applies(r.when, facts)]
    return found or [Requirement("default", Role(rules.default_approver))]


def approver_role(requirements: Sequence[Requirement]) -> Role:
    """The least role that satisfies every requirement (a director covers a manager's)."""
    return max((r.approver for r in requirements), key=lambda role: APPROVER_RANK[role])


def may_approve(role: Role, needed: Role) -> bool:
    return APPROVER_RANK.get(role, 0) >= APPROVER_RANK[needed]
