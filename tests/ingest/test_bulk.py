"""The bulk writer stores exactly what the ORM would have stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from salesops.db.bulk import BulkInserter, existing_keys
from salesops.models import Product


def test_bulk_inserted_rows_read_back_like_orm_rows(session: Session) -> None:
    connection = session.connection()
    stamp = datetime(2025, 3, 31, 23, 59, 59, 123456, tzinfo=UTC)
    berlin = datetime(2025, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    session.add(Product(name="orm", list_price=Decimal("10.50"), created_at=stamp))
    session.flush()
    BulkInserter(connection, Product.__table__).insert(  # type: ignore[arg-type]
        [
            {"name": "bulk", "list_price": Decimal("10.50"), "created_at": stamp},
            {"name": "berlin", "list_price": None, "created_at": berlin},
        ]
    )
    rows = {p.name: p for p in session.scalars(select(Product))}
    assert rows["bulk"].created_at == rows["orm"].created_at == stamp
    assert rows["berlin"].created_at == datetime(2025, 1, 1, 8, 30, tzinfo=UTC)
    assert rows["bulk"].list_price == Decimal("10.50")
    assert rows["bulk"].currency == "USD"  # column default applied
    assert rows["bulk"].is_active is True
    raw = dict(
        connection.execute(text("SELECT name, CAST(created_at AS TEXT) FROM products"))
        .tuples()
        .all()
    )
    assert raw["bulk"] == raw["orm"]


def test_existing_keys_finds_only_keys_of_the_same_source(session: Session) -> None:
    session.add_all(
        [
            Product(name="a", source_system="crm", external_id="1"),
            Product(name="b", source_system="other", external_id="2"),
        ]
    )
    session.flush()
    found = existing_keys(session.connection(), Product.__table__, "crm", ["1", "2", "3"])  # type: ignore[arg-type]
    assert found == {"1"}


def test_bulk_dates_and_money_are_stored_like_the_orm_stores_them(session: Session) -> None:
    from datetime import date

    from salesops.models import Quota
    from tests.factories import make_rep

    rep = make_rep(session)
    values = {
        "rep_id": rep.id,
        "period_start": date(2025, 1, 1),
        "period_end": date(2025, 3, 31),
        "amount": Decimal("1234567.89"),
    }
    session.add(Quota(external_id="orm", **values))
    session.flush()
    BulkInserter(session.connection(), Quota.__table__).insert([{**values, "external_id": "bulk"}])  # type: ignore[arg-type]
    raw = {
        row[0]: row[1:]
        for row in session.connection().execute(
            text("SELECT external_id, period_start, period_end, amount, ramp_factor FROM quotas")
        )
    }
    assert raw["bulk"] == raw["orm"]
    quotas = {q.external_id: q for q in session.scalars(select(Quota))}
    assert quotas["bulk"].amount == Decimal("1234567.89")
    assert quotas["bulk"].period_end == date(2025, 3, 31)


def test_repeated_and_partly_given_values_are_stored_each_as_given(session: Session) -> None:
    # A batch converts each distinct value once and fetches rows in one pass: the rows must
    # still get their own values, whichever columns each record sets.
    connection = session.connection()
    day = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    records: list[dict[str, object]] = [
        {"name": f"p{i}", "list_price": Decimal("10.50"), "created_at": day} for i in range(6)
    ]
    records[2] = {"name": "p2", "list_price": Decimal("7.25")}  # no created_at: its default
    records[4] = {"name": "p4", "created_at": day + timedelta(days=1)}  # no price: NULL
    records[5]["list_price"] = Decimal("10.5")  # equal to 10.50: the same stored amount
    before = datetime.now(UTC)
    BulkInserter(connection, Product.__table__).insert(records)  # type: ignore[arg-type]
    rows = {p.name: p for p in session.scalars(select(Product))}
    assert [rows[f"p{i}"].list_price for i in range(6)] == [
        Decimal("10.50"),
        Decimal("10.50"),
        Decimal("7.25"),
        Decimal("10.50"),
        None,
        Decimal("10.50"),
    ]
    assert rows["p0"].created_at == rows["p5"].created_at == day
    assert rows["p4"].created_at == datetime(2025, 2, 4, 4, 5, 6, tzinfo=UTC)
    assert rows["p2"].created_at >= before.replace(microsecond=0) - timedelta(seconds=1)
