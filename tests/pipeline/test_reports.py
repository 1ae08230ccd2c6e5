"""`salesops summary`: open pipeline by stage and bookings by quarter, the latter holding to the
catalog's definition of bookings (the `bookings` and `won_deals` metrics)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.calendar import quarter_label
from salesops.db import session_scope
from salesops.pipeline import reports, service, stages
from salesops.pipeline.reports import QuarterLine, StageLine
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine
from tests.factories import T0, make_opportunity, make_rep

DAY = timedelta(days=1)


def build_deals(session: Session) -> None:
    """Won in Q1 and Q2 2025, a won deal with no close time (an import), lost and open deals."""
    rep = make_rep(session)
    for amount, days in ((1000, 10), (2500, 20), (4000, 100)):  # 2025-01-16, 01-26, 04-16
        won = make_opportunity(session, owner=rep, amount=amount)
        service.close_opportunity(session, won, won=True, at=T0 + days * DAY)
    imported = make_opportunity(session, owner=rep, amount=700, close_date=date(2025, 6, 30))
    service.close_opportunity(session, imported, won=True, at=T0 + DAY)
    imported.closed_at = None  # counted by its close date, 2025-Q2
    lost = make_opportunity(session, owner=rep, amount=9000)
    service.close_opportunity(session, lost, won=False, at=T0 + 5 * DAY, loss_reason="price")
    make_opportunity(session, owner=rep, amount=300, stage="Discovery")
    make_opportunity(session, owner=rep, amount=200, stage="Discovery")
    make_opportunity(session, owner=rep, amount=50, stage="Negotiation")
    session.flush()


def test_bookings_by_quarter_are_the_bookings_and_won_deals_metrics(session: Session) -> None:
    build_deals(session)
    lines = reports.bookings_by_quarter(session)
    assert lines == [
        QuarterLine("2025-Q1", "USD", 2, Decimal("3500.00")),
        QuarterLine("2025-Q2", "USD", 2, Decimal("4700.00")),
    ]
    src = metrics.open_engine(session)
    value = metrics.compute(src, "bookings", grain="quarter").rows
    deals = metrics.compute(src, "won_deals", grain="quarter").rows
    from_metrics = {
        quarter_label(r.period): (int(d.value or 0), Decimal(str(r.value)))
        for r, d in zip(value, deals, strict=True)
        if r.period is not None and d.value
    }
    assert {line.quarter: (line.deals, line.amount) for line in lines} == from_metrics


def test_open_pipeline_is_counted_per_stage_in_funnel_order(session: Session) -> None:
    build_deals(session)
    assert reports.open_pipeline_by_stage(session) == [
        StageLine("Discovery", "USD", 2, Decimal("500.00")),
        StageLine("Negotiation", "USD", 1, Decimal("50.00")),
    ]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_summary_command_prints_both_tables(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = scratch_url(kind, tmp_path, "summary")
    engine = migrated_engine(url)
    with session_scope(engine) as session:
        stages.ensure_stages(session)
        build_deals(session)
    engine.dispose()
    code, out, err = run_cli(capsys, url, "summary")
    assert code == 0, err
    assert "open pipeline by stage" in out
    assert "bookings (won) by quarter of close" in out
    rows = {tuple(cell.strip() for cell in line.split("│")[1:-1]) for line in out.splitlines()}
    assert ("Discovery", "USD", "2", "500") in rows
    assert ("2025-Q1", "USD", "2", "3,500") in rows
    assert ("2025-Q2", "USD", "2", "4,700") in rows
