"""`compare=previous` of a period in progress compares period-to-date: 34 days into Q4, with the
first 34 days of Q3 (as the dashboard's cards do), and says so with the dates.

Won deals: Q3 2025 on 10 Jul ($2,500), 3 Aug ($500, day 34 of Q3) and 4 Aug ($7,000, day 35):
$10,000 in all, $3,000 in its first 34 days. Q4 2025 on 5 Oct ($1,200) and 30 Oct ($2,400):
$3,600 by 3 Nov, day 34 of Q4. Period-to-date: +$600, +20% (whole Q3: -$6,400, -64%).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from salesops import metrics
from salesops.cli.main import app
from salesops.metrics import compare
from salesops.pipeline import service
from salesops.pipeline import stages as stage_setup
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.factories import make_opportunity, make_rep

NOV_3 = date(2025, 11, 3)
WON = {
    date(2025, 7, 10): 2500,
    date(2025, 8, 3): 500,
    date(2025, 8, 4): 7000,
    date(2025, 10, 5): 1200,
    date(2025, 10, 30): 2400,
}


def won_deals(session: Session) -> None:
    rep = make_rep(session, name="Ann")
    for day, amount in WON.items():
        deal = make_opportunity(
            session,
            owner=rep,
            amount=amount,
            close_date=day,
            at=datetime(2025, 6, 1, 9, tzinfo=UTC),
        )
        closed = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        service.close_opportunity(session, deal, won=True, at=closed)
    session.flush()


def q4(session: Session, **options: object) -> metrics.MetricResult:
    src = metrics.open_engine(session)
    return metrics.compute(
        src, "bookings", start=date(2025, 10, 1), end=date(2025, 12, 31), compare="previous",
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_quarter_in_progress_is_compared_with_the_same_days_of_the_one_before(
    session: Session,
) -> None:
    won_deals(session)
    result = q4(session, now=datetime(2025, 11, 3, 15, tzinfo=UTC))
    (row,) = result.rows
    assert (row.value, row.previous, row.delta) == (
        Decimal("3600.00"), Decimal("3000.00"), Decimal("600.00"),
    )  # fmt: skip
    assert row.pct_change == pytest.approx(0.2)
    assert result.compared_with == (
        "period to date: 2025-10-01 to 2025-11-03 (34 days) with the same days of the period"
        " before, 2025-07-01 to 2025-08-03"
    )
    # Once the quarter is over it is compared whole: Q3's $10,000.
    over = q4(session, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert over.rows[0].previous == Decimal("10000.00")
    assert over.compared_with == "the period before: 2025-07-01 to 2025-09-30"


def test_with_a_grain_only_the_period_in_progress_is_cut(session: Session) -> None:
    won_deals(session)
    src = metrics.open_engine(session)
    result = metrics.compute(
        src, "bookings", grain="quarter", start=date(2025, 7, 1), end=date(2025, 12, 31),
        compare="previous", now=datetime(2025, 11, 3, tzinfo=UTC),
    )  # fmt: skip
    by_period = {r.period: r for r in result.rows}
    assert by_period[date(2025, 10, 1)].previous == Decimal("3000.00")  # Q3's first 34 days
    assert by_period[date(2025, 7, 1)].value == Decimal("10000.00")
    assert by_period[date(2025, 7, 1)].previous == Decimal("0.00")  # all of Q2: nothing won
    assert result.compared_with is not None
    assert result.compared_with.endswith("; earlier quarters whole with the quarter before")


def test_the_api_and_the_cli_say_what_a_period_in_progress_was_compared_with(
    session: Session, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from sqlalchemy.orm import Session as Plain

    monkeypatch.setattr(compare, "today", lambda: NOV_3)
    url = fresh_sqlite_url(Path(str(tmp_path)), "to_date")
    engine = migrated_engine(url)
    with Plain(engine) as own:
        stage_setup.ensure_stages(own)
        won_deals(own)
        own.commit()
    engine.dispose()
    result = CliRunner().invoke(
        app,
        ["--database-url", url, "metrics", "query", "bookings", "--from", "2025-10-01",
         "--to", "2025-12-31", "--compare", "previous", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"previous": 3000.0' in result.stdout
    assert '"pct_change": 0.2' in result.stdout
    assert "compared with" not in result.output  # json is the rows alone
    table = CliRunner().invoke(
        app,
        ["--database-url", url, "metrics", "query", "bookings", "--from", "2025-10-01",
         "--to", "2025-12-31", "--compare", "previous"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "3,000" in table.stdout or "3000" in table.stdout
    assert (
        "compared with period to date: 2025-10-01 to 2025-11-03 (34 days) with the same days"
        " of the period before, 2025-07-01 to 2025-08-03"
    ) in table.stdout
