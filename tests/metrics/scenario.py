"""A small company built to hit the edge cases: skipped stages, backward moves, a reopened deal,
several currencies, a rep who changes team mid-quarter, a zero quota, renewals and churn.

Every figure the tests expect is written next to the data that produces it, and the tests also
recompute them with plain Python (tests/metrics/reference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops.models import (
    Contract,
    ForecastLine,
    ForecastRun,
    FxRate,
    Lead,
    Opportunity,
    Product,
    Quota,
    Rep,
    Team,
    TeamMembership,
    Territory,
)
from salesops.pipeline import service, stages
from tests.factories import T0, make_account, make_opportunity, make_rep, make_team

DAY = timedelta(days=1)


@dataclass
class Company:
    ann: Rep
    bob: Rep
    cid: Rep
    mia: Rep
    deals: dict[str, Opportunity]
    teams: dict[str, Team]


def _stage(session: Session, name: str) -> object:
    return stages.by_name(session, name)


def build(session: Session) -> Company:
    """Build the company; names are unique per call so tests can share a database."""
    sales = make_team(session, name="Sales")
    emea = make_team(session, name="EMEA", parent=sales)
    americas = make_team(session, name="Americas", parent=sales)
    east = make_team(session, name="Americas East", parent=americas)
    mia = make_rep(session, name="Mia Manager", hire_date=date(2020, 5, 4))
    ann = make_rep(session, name="Ann Seller", manager=mia, hire_date=date(2024, 1, 15))
    bob = make_rep(session, name="Bob Seller", manager=mia, hire_date=date(2025, 1, 6))
    cid = make_rep(session, name="Cid Seller", hire_date=date(2024, 6, 1))
    mia.region, ann.region, bob.region = "EMEA", "EMEA", "Americas"
    session.add_all(
        [
            TeamMembership(rep_id=ann.id, team_id=emea.id, valid_from=date(2024, 1, 1)),
            TeamMembership(
                rep_id=bob.id,
                team_id=east.id,
                valid_from=date(2025, 1, 1),
                valid_to=date(2025, 2, 15),
            ),
            TeamMembership(rep_id=bob.id, team_id=emea.id, valid_from=date(2025, 2, 15)),
            TeamMembership(rep_id=cid.id, team_id=americas.id, valid_from=date(2024, 1, 1)),
            FxRate(currency="EUR", rate_date=date(2024, 12, 1), rate=Decimal("1.10")),
            FxRate(currency="EUR", rate_date=date(2025, 2, 1), rate=Decimal("1.20")),
        ]
    )
    north = Territory(name="North", region="EU")
    widget, gadget = Product(name="Widget"), Product(name="Gadget")
    session.add_all([north, widget, gadget])
    session.flush()
    acme = make_account(session, name="Acme", segment="Enterprise")
    acme.industry, acme.region, acme.territory_id = "Technology", "EU", north.id
    beta = make_account(session, name="Beta", segment="SMB")
    beta.industry, beta.region = "Retail", "US"
    gamma = make_account(session, name="Gamma", segment="SMB")

    def deal(owner: Rep, amount: str, at: datetime, **kw: object) -> Opportunity:
        currency = str(kw.pop("currency", "USD"))
        opp = make_opportunity(session, owner=owner, amount=Decimal(amount), at=at, **kw)  # type: ignore[arg-type]
        opp.currency = currency
        return opp

    move, close = service.move_stage, service.close_opportunity
    d1 = deal(ann, "1000", T0, account=acme)
    d1.product_id, d1.lead_source = widget.id, "Web"
    move(session, d1, stages.by_name(session, "Discovery"), at=T0 + 5 * DAY)
    move(session, d1, stages.by_name(session, "Proposal"), at=T0 + 10 * DAY)
    close(session, d1, won=True, at=T0 + 20 * DAY)  # won 2025-01-26, cycle 20 days

    d2 = deal(ann, "2000", T0 + DAY, account=beta, currency="EUR")  # lost at 1.20: 2400.00
    d2.competitor = "Rival"
    move(session, d2, stages.by_name(session, "Proposal"), at=T0 + 3 * DAY)  # skips two stages
    close(session, d2, won=False, at=T0 + 30 * DAY, loss_reason="price")  # 2025-02-05

    d3 = deal(bob, "500", T0 + 2 * DAY, account=acme)
    close(session, d3, won=True, at=T0 + 35 * DAY)  # 2025-02-10, Bob in Americas East
    move(session, d3, stages.by_name(session, "Negotiation"), at=T0 + 40 * DAY)  # reopened
    service.change_amount(session, d3, Decimal(600), at=T0 + 42 * DAY)
    close(session, d3, won=True, at=T0 + 45 * DAY)  # 2025-02-20, Bob now in EMEA

    d4 = deal(bob, "3000", T0 + 3 * DAY, account=beta)
    d4.product_id = gadget.id
    move(session, d4, stages.by_name(session, "Qualification"), at=T0 + 4 * DAY)
    service.change_amount(session, d4, Decimal(3500), at=T0 + 50 * DAY)  # 2025-02-25
    service.change_close_date(session, d4, date(2025, 5, 15), at=T0 + 55 * DAY)  # 2025-03-02

    d5 = deal(
        ann, "800", T0 + 4 * DAY, stage="Negotiation", close_date=date(2025, 3, 15), currency="EUR"
    )  # open, 960.00 at the rate of 2025-03-15
    d5.probability = Decimal("0.9")

    d6 = deal(cid, "100", T0 + 5 * DAY)
    d6.competitor = "Rival"
    move(session, d6, stages.by_name(session, "Discovery"), at=T0 + 6 * DAY)
    move(session, d6, stages.by_name(session, "Qualification"), at=T0 + 8 * DAY)  # backwards

    d7 = deal(ann, "1500", T0)
    d7.competitor, d7.engaged_at = "Rival", T0 - 10 * DAY
    close(session, d7, won=True, at=T0 + 25 * DAY)  # 2025-01-31, cycle 35 days from engagement

    d8 = deal(cid, "250.50", T0 + DAY, currency="EUR")
    close(session, d8, won=False, at=T0 + 9 * DAY, loss_reason="no budget")  # 1.10: 275.55

    d9 = deal(bob, "400", T0 + 58 * DAY, close_date=date(2025, 4, 30))  # created 2025-03-05
    deals = {f"d{i}": d for i, d in enumerate([d1, d2, d3, d4, d5, d6, d7, d8, d9], start=1)}

    def lead(
        owner: Rep, source: str, created: date, opp: Opportunity | None, conv: date | None
    ) -> Lead:
        return Lead(
            owner_id=owner.id,
            source=source,
            created_at=datetime.combine(created, datetime.min.time(), UTC),
            converted_opportunity_id=opp.id if opp else None,
            converted_at=datetime.combine(conv, datetime.min.time(), UTC) if conv else None,
            status="converted" if opp else "working",
        )

    session.add_all(
        [
            lead(ann, "Web", date(2025, 1, 2), d1, date(2025, 1, 6)),
            lead(ann, "Web", date(2025, 1, 3), d2, date(2025, 1, 7)),
            lead(bob, "Event", date(2025, 1, 10), None, None),
            lead(bob, "Event", date(2025, 2, 1), d3, date(2025, 2, 3)),
            Quota(rep_id=ann.id, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31),
                  amount=Decimal(3000)),
            Quota(rep_id=bob.id, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31),
                  amount=Decimal(500), ramp_factor=Decimal("0.25")),
            Quota(rep_id=cid.id, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31),
                  amount=Decimal(0)),
        ]
    )  # fmt: skip

    def contract(account_id: int, start: date, end: date, value: str, **kw: object) -> Contract:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return Contract(
            account_id=account_id,
            start_date=start,
            end_date=end,
            term_months=months,
            value=Decimal(value),
            **kw,
        )

    session.add_all(
        [
            contract(acme.id, date(2024, 1, 1), date(2024, 12, 31), "1000", status="renewed"),
            contract(acme.id, date(2025, 1, 1), date(2025, 12, 31), "1200"),
            contract(beta.id, date(2024, 7, 1), date(2025, 6, 30), "500", currency="EUR"),
            contract(gamma.id, date(2024, 3, 1), date(2025, 2, 28), "800", status="renewed"),
            contract(gamma.id, date(2025, 3, 1), date(2026, 2, 28), "600"),
            contract(gamma.id, date(2025, 1, 1), date(2025, 12, 31), "9999", status="draft"),
            # Not signed yet: no revenue either (contracts/lifecycle.py).
            contract(gamma.id, date(2025, 1, 1), date(2025, 12, 31), "7777", status="in_review"),
            contract(beta.id, date(2025, 1, 1), date(2025, 12, 31), "5555", status="sent"),
        ]
    )
    run = ForecastRun(
        kind="backtest", method="pipeline", version="1", as_of=T0, input_fingerprint="x" * 64
    )
    session.add(run)
    session.flush()
    zero = Decimal(0)
    session.add_all(
        [
            ForecastLine(run_id=run.id, team_id=None, period_start=date(2025, 1, 1),
                         period_end=date(2025, 3, 31), expected=Decimal(3000), p10=zero,
                         p50=Decimal(2800), p90=zero, actual=Decimal(2500)),
            ForecastLine(run_id=run.id, team_id=emea.id, period_start=date(2025, 1, 1),
                         period_end=date(2025, 1, 31), expected=Decimal(1000), p10=zero,
                         p50=Decimal(1000), p90=zero, actual=None),
        ]
    )  # fmt: skip
    session.flush()
    return Company(ann, bob, cid, mia, deals, {"Sales": sales, "EMEA": emea, "Americas": americas})
