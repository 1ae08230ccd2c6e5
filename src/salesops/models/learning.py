"""Trained models (fitted at a date, versioned, fingerprinted, evaluated) and deal scores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Ratio, utc_now
from salesops.models.base import Base


class TrainedModel(Base):
    """One fitted model: what it learnt from (`as_of`, `fingerprint`), how (`params`,
    `features`), how good it was on a hold-out (`metrics`) and the fitted object itself.

    `blob` is a pickle, `checksum` its SHA-256: loading refuses a blob whose checksum differs.
    A pickle runs code when loaded, so the database holding this table must be as trusted as
    the code itself (see docs/deal-scoring.md, "Stored models").
    """

    __tablename__ = "trained_models"
    __table_args__ = (Index(None, "name", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    algorithm: Mapped[str] = mapped_column(String(60))
    as_of: Mapped[datetime]
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows: Mapped[int] = mapped_column(default=0)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DealScore(Base):
    """A trained model's probability that an open deal is won, with its top reasons.

    Written by `deals score apply`; never copied into the opportunity's own probability.
    """

    __tablename__ = "deal_scores"
    __table_args__ = (Index(None, "model_id", "opportunity_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("trained_models.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    scored_at: Mapped[datetime] = mapped_column(default=utc_now)
    p_win: Mapped[Decimal] = mapped_column(Ratio)
    reasons: Mapped[list[str]] = mapped_column(default=list)
