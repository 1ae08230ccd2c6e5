"""Pydantic shapes of proposals for the API and the CLI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProposalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    state: str
    payload: dict[str, Any]
    fingerprint: str | None
    effective_from: date | None
    created_at: datetime
    created_by: int | None
    submitted_at: datetime | None
    submitted_by: int | None
    decided_at: datetime | None
    decided_by: int | None
    decision_reason: str | None
    applied_at: datetime | None
    applied_by: int | None
    rolled_back_at: datetime | None
    rolled_back_by: int | None
    version: int


class Decision(BaseModel):
    """The body of a move: a reason (required to reject or roll back)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)
