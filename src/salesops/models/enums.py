"""Closed vocabularies stored as short strings (portable, readable in raw SQL)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Sales Ops roles, from least to most privileged in what they can see or change."""

    SALES_REP = "sales_rep"
    OPS_REP = "ops_rep"
    ANALYST = "analyst"
    MANAGER = "manager"
    DIRECTOR = "director"
    ADMIN = "admin"


class StageCategory(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ForecastCategory(StrEnum):
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class OpportunityType(StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    RENEWAL = "renewal"


class EventField(StrEnum):
    """The opportunity fields whose every change is recorded as an event."""

    CREATED = "created"
    STAGE = "stage"
    AMOUNT = "amount"
    CLOSE_DATE = "close_date"
    FORECAST_CATEGORY = "forecast_category"
    OWNER = "owner"


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"


class LeadStatus(StrEnum):
    NEW = "new"
    WORKING = "working"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"


class ContractStatus(StrEnum):
    """A contract's lifecycle; `active` is signed and running (see contracts/lifecycle.py).

    `churned` and `cancelled` are kept for contracts imported before the lifecycle existed."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    SENT = "sent"
    ACTIVE = "active"
    RENEWAL_DUE = "renewal_due"
    RENEWED = "renewed"
    EXPIRED = "expired"
    CHURNED = "churned"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
