"""One as-of rule, three implementations: the value at T is the old value of the first event
after T, else the current value. `pipeline_as_of` (Python), the metrics' as-of opportunities
fact (Ibis) and the forecasting snapshot (pandas) must rebuild the same pipeline at any T."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.forecasting.frames import load_history
from salesops.forecasting.snapshot import prepare, snapshot
from salesops.metrics import opportunity_fact
from salesops.models import ForecastCategory, Opportunity, OpportunityEvent, PipelineStage
from salesops.pipeline import service, stages
from salesops.pipeline.history import pipeline_as_of
from tests.factories import T0, make_opportunity, make_rep

DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)
CENT = Decimal("0.01")

# id -> (stage, stage category, amount, close date, owner, forecast category, closed at)
State = tuple[str, str, Decimal, date | None, int, str, datetime | None]


def build_deals(session: Session) -> list[Opportunity]:
    """Every kind of change, including several events of one deal at the same instant."""
    ann, bob, cat = make_rep(session), make_rep(session), make_rep(session)

    def stage(name: str) -> PipelineStage:
        return stages.by_name(session, name)

    # Moves, a raise, a slip, a new owner, won, reopened (with a raise at the same instant),
    # then lost: at any T between the two closes it is won, closed at the first close.
    d1 = make_opportunity(session, owner=ann, amount=1000, at=T0)
    service.move_stage(session, d1, stage("Discovery"), at=T0 + DAY)
    service.change_amount(session, d1, Decimal(1500), at=T0 + 2 * DAY)
    service.change_close_date(session, d1, date(2025, 4, 30), at=T0 + 3 * DAY)
    service.reassign(session, d1, bob, at=T0 + 4 * DAY)
    service.close_opportunity(session, d1, won=True, at=T0 + 5 * DAY)
    service.move_stage(session, d1, stage("Negotiation"), at=T0 + 7 * DAY)
    service.change_amount(session, d1, Decimal(1800), at=T0 + 7 * DAY)
    service.close_opportunity(session, d1, won=False, at=T0 + 9 * DAY, loss_reason="price")

    # Three stage moves, two amounts, two close dates and two owners at one instant: only the
    # first event's old value (in recording order) may be used to rewind past that instant.
    d2 = make_opportunity(session, owner=ann, amount=1000, at=T0)
    burst = T0 + 2 * DAY
    for name in ("Discovery", "Proposal", "Negotiation"):
        service.move_stage(session, d2, stage(name), at=burst)
    service.change_amount(session, d2, Decimal(2000), at=burst)
    service.change_amount(session, d2, Decimal(2500), at=burst)
    service.change_close_date(session, d2, date(2025, 5, 31), at=burst)
    service.change_close_date(session, d2, date(2025, 2, 28), at=burst)
    service.reassign(session, d2, bob, at=burst)
    service.reassign(session, d2, cat, at=burst)
    service.close_opportunity(session, d2, won=True, at=T0 + 6 * DAY)

    # Created between other deals' events, changed at its creation instant, still open.
    d3 = make_opportunity(session, owner=bob, amount=700, at=T0 + 3 * DAY)
    service.change_amount(session, d3, Decimal(750), at=T0 + 3 * DAY)
    service.set_forecast_category(session, d3, ForecastCategory.COMMIT, at=T0 + 4 * DAY)
    service.change_close_date(session, d3, date(2025, 2, 15), at=T0 + 5 * DAY)
    service.reassign(session, d3, ann, at=T0 + 8 * DAY)

    # Won, reopened, won again: closed_at as of T is the last close at or before T.
    d4 = make_opportunity(session, owner=cat, amount=4000, at=T0 + DAY)
    service.close_opportunity(session, d4, won=True, at=T0 + 4 * DAY)
    service.move_stage(session, d4, stage("Proposal"), at=T0 + 6 * DAY)
    service.close_opportunity(session, d4, won=True, at=T0 + 8 * DAY)
    session.flush()
    return [d1, d2, d3, d4]


def moments(session: Session) -> list[datetime]:
    """Before any deal, exactly at and just before every event time (so between the previous
    and this one), and long after the last."""
    times = set(session.scalars(select(OpportunityEvent.at)))
    out = {T0 - timedelta(seconds=1), datetime(2030, 1, 1, tzinfo=UTC)}
    for t in times:
        out |= {t - TICK, t}
    return sorted(out)


def naive(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def by_python(session: Session, at: datetime) -> dict[int, State]:
    return {
        s.id: (
            s.stage, s.stage_category, s.amount.quantize(CENT), s.close_date, s.owner_id,
            s.forecast_category, naive(s.closed_at),
        )
        for s in pipeline_as_of(session, at)
    }  # fmt: skip


def by_ibis(src: metrics.Source, at: datetime) -> dict[int, State]:
    fact = opportunity_fact.opportunities(src.tables, src.ctx, as_of=naive(at))
    return {
        r["id"]: (
            r["stage"], r["stage_category"], Decimal(r["amount"]).quantize(CENT), r["close_date"],
            r["owner_id"], r["forecast_category"], naive_or_none(r["closed_at"]),
        )
        for r in src.backend.to_pyarrow(fact).to_pylist()
    }  # fmt: skip


def by_pandas(frame: pd.DataFrame) -> dict[int, State]:
    rows: list[dict[Any, Any]] = frame.to_dict("records")
    return {
        int(r["id"]): (
            r["stage"], r["stage_category"], Decimal(str(r["amount"])).quantize(CENT),
            None if pd.isna(r["close_date"]) else pd.Timestamp(r["close_date"]).date(),
            int(r["owner_id"]), r["forecast_category"],
            None if pd.isna(r["closed_at"]) else pd.Timestamp(r["closed_at"]).to_pydatetime(),
        )
        for r in rows
    }  # fmt: skip


def naive_or_none(value: Any) -> datetime | None:
    if value is None:
        return None
    return naive(value) if value.tzinfo else value


def ibis_engines(session: Session) -> list[str]:
    """DuckDB always; on PostgreSQL also the Ibis expressions run on PostgreSQL itself."""
    if session.get_bind().dialect.name == "postgresql":
        return ["duckdb", "postgres"]
    return ["duckdb"]


def test_python_ibis_and_pandas_rebuild_the_same_pipeline_at_every_moment(
    session: Session,
) -> None:
    build_deals(session)
    prepared = prepare(load_history(session))
    sources = {name: metrics.open_engine(session, engine=name) for name in ibis_engines(session)}
    checked = 0
    for at in moments(session):
        expected = by_python(session, at)
        assert by_pandas(snapshot(prepared, at)) == expected, f"pandas as of {at}"
        for name, src in sources.items():
            assert by_ibis(src, at) == expected, f"ibis on {name} as of {at}"
        checked += len(expected)
    assert checked > 50


def test_the_shared_rule_gives_the_hand_checked_values(session: Session) -> None:
    """Anchors, so that three implementations agreeing on something wrong still fail."""
    d1, d2, d3, d4 = build_deals(session)
    ann, bob, cat = d3.owner_id, d1.owner_id, d2.owner_id  # their owners now

    def at(moment: datetime) -> dict[int, State]:
        return by_python(session, moment)

    burst = T0 + 2 * DAY
    assert at(burst - TICK)[d2.id][:6] == (
        "Prospecting", "open", Decimal("1000.00"), date(2025, 3, 31), ann, "pipeline",
    )  # fmt: skip
    assert at(burst)[d2.id][:6] == (
        "Negotiation", "open", Decimal("2500.00"), date(2025, 2, 28), cat, "commit",
    )  # fmt: skip
    # d1 between its win and its reopening, then reopened (raised at the same instant)
    assert at(T0 + 6 * DAY)[d1.id] == (
        "Closed Won", "won", Decimal("1500.00"), date(2025, 4, 30), bob, "closed",
        naive(T0 + 5 * DAY),
    )  # fmt: skip
    reopened = at(T0 + 7 * DAY)[d1.id]
    assert (reopened[0], reopened[2], reopened[6]) == ("Negotiation", Decimal("1800.00"), None)
    # d4 won, reopened, won again: as of the first win it closed at the first close
    assert at(T0 + 5 * DAY)[d4.id][6] == naive(T0 + 4 * DAY)
    assert (at(T0 + 7 * DAY)[d4.id][1], at(T0 + 7 * DAY)[d4.id][6]) == ("open", None)
    assert at(T0 + 9 * DAY)[d4.id][6] == naive(T0 + 8 * DAY)
    # d3 does not exist before it was created; its change at creation already counts
    assert d3.id not in at(T0 + 3 * DAY - TICK)
    assert at(T0 + 3 * DAY)[d3.id][2] == Decimal("750.00")
