"""Request and response bodies of the contracts API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from salesops.contracts.lifecycle import AMENDMENT_KINDS, TRANSITIONS
from salesops.db.limits import INT_LIMIT, MONEY_LIMIT

Status = Literal[
    "draft",
    "in_review",
    "approved",
    "sent",
    "active",
    "renewal_due",
    "renewed",
    "expired",
    "terminated",
]
assert set(Status.__args__) <= set(TRANSITIONS)  # type: ignore[attr-defined]
Id = Field(ge=1, le=INT_LIMIT)


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    description: str = Field("", max_length=200)
    quantity: int = Field(ge=1, le=10_000_000)
    list_price: Decimal = Field(ge=0, le=10**9, decimal_places=2, allow_inf_nan=False)
    discount: Decimal = Field(Decimal(0), ge=0, le=1, decimal_places=4, allow_inf_nan=False)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int | None
    description: str
    quantity: int
    list_price: Decimal
    discount: Decimal
    start_date: date
    end_date: date
    amendment_id: int | None


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(ge=1, le=INT_LIMIT)
    start_date: date = Field(ge=date(1900, 1, 1), le=date(2190, 12, 31))
    term_months: int = Field(ge=1, le=120)
    currency: str = Field("USD", min_length=3, max_length=3)
    auto_renew: bool = False
    notice_days: int | None = Field(None, ge=0, le=365)
    price_increase_cap: Decimal | None = Field(
        None, ge=0, le=1, decimal_places=4, allow_inf_nan=False
    )
    special_terms: str | None = Field(None, max_length=5000)
    template: str | None = Field(None, max_length=80)
    opportunity_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    value: Decimal | None = Field(None, ge=0, le=MONEY_LIMIT, decimal_places=2, allow_inf_nan=False)
    lines: list[LineIn] = Field(default_factory=list, max_length=500)


class LinesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[LineIn] = Field(max_length=500)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    note: str | None = Field(None, max_length=2000)
    reason: str | None = Field(
        None, max_length=80, description="a churn reason from the rules file (to terminate)"
    )
    version: int | None = Field(None, ge=1, le=INT_LIMIT, description="the version you read")


class ReduceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: int = Field(ge=1, le=INT_LIMIT)
    quantity: int = Field(ge=0, le=10_000_000)


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["upsell", "downsell", "cotermination"]
    effective_date: date = Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))
    add: list[LineIn] = Field(default_factory=list, max_length=500)
    reduce: list[ReduceIn] = Field(default_factory=list, max_length=500)
    from_contract_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    note: str | None = Field(None, max_length=2000)


assert set(AmendmentIn.model_fields["kind"].annotation.__args__) == set(AMENDMENT_KINDS)  # type: ignore[union-attr]


class AmendmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    effective_date: date
    annual_change: Decimal
    prorated_amount: Decimal
    note: str | None
    created_at: datetime


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    opportunity_id: int | None
    status: str
    start_date: date
    end_date: date
    term_months: int
    value: Decimal
    currency: str
    auto_renew: bool
    renewal_of_id: int | None
    template: str | None
    notice_days: int | None
    price_increase_cap: Decimal | None
    special_terms: str | None
    renewal_opportunity_id: int | None
    churn_reason: str | None
    version: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    by_id: int | None
    kind: str
    old_status: str | None
    new_status: str | None
    note: str | None


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    template_id: int
    format: str
    media_type: str
    filename: str
    sha256: str
    size: int
    created_at: datetime


class RequirementOut(BaseModel):
    rule: str
    approver: str


class ContractDetail(BaseModel):
    contract: ContractOut
    notice_date: date
    lines: list[LineOut]
    amendments: list[AmendmentOut]
    history: list[EventOut]
    documents: list[DocumentOut]
    approvals_needed: list[RequirementOut]
    allowed_transitions: list[str]


class ApprovalItem(BaseModel):
    contract: ContractOut
    approver: str
    rules: str


class RenewalRow(BaseModel):
    contract_id: int
    account_id: int
    status: str
    end_date: date
    notice_date: date
    value: Decimal
    currency: str
    bucket: str
    owner_id: int | None
    renewal_opportunity_id: int | None


class RenewalRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    today: date | None = Field(None, ge=date(1900, 1, 1), le=date(2199, 12, 31))


class RenewalRunOut(BaseModel):
    raised: list[int]
    alerted: list[int]
    renewed: list[int]
    expired: list[int]
    skipped: list[str]


class InboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    body: str = Field(min_length=1, max_length=200_000)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: int
    checksum: str
    created_at: datetime
