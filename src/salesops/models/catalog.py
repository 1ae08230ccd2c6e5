"""What we sell."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Money
from salesops.models.base import Base, Imported, Timestamped, import_key


class Product(Imported, Timestamped, Base):
    """A product or SKU with its list price."""

    __tablename__ = "products"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    family: Mapped[str | None] = mapped_column(String(80))
    list_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    is_active: Mapped[bool] = mapped_column(default=True)
