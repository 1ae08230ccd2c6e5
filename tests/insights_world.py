"""The permission-test organisation (tests/orgchart.py) plus what the insight pages read:
contracts, leads by source, deals closed against competitors, hires with quotas.

Every figure the tests expect is worked out here, next to the data that produces it.

Contracts (annual values, USD)
    Acme (Ann's deals)     C1 2024-01-01..2024-12-31 1000, renewed C2 2025-01-01..2025-12-31 1200
    Initech (a Cat deal)   C3 2024-01-01..2024-12-31  800, renewed smaller C4 2025-01-01..06-30 600
    Globex (Cat owns it)   C5 2024-04-01..2025-03-31  500, not renewed
  Q1 2025 (start 2025-01-01, end checked 2025-04-01): Acme 1200 -> 1200, Initech 600 -> 600,
    Globex 500 -> 0. GRR = NRR = 1800/2300, churn 1/3 accounts, revenue churn 500/2300.
    Ann (Acme only): 1.0. Cat (sells to Initech, owns Globex): 600/1100.
  Cohorts by first contract: 2024-Q1 = Acme 1000 + Initech 800, 2024-Q2 = Globex 500.
    12 months on: Acme 1200, Initech 600, Globex 0 -> 2024-Q1 net 1800/1800, gross 1600/1800,
    logo 1; 2024-Q2 all 0. 18 months on: Acme 1200, Initech 0 -> net 1200/1800, logo 1/2.

Competitors, deals closed in Q1 2025
    Ann: won 1000 vs Rival A, lost 2000 vs Rival A, lost 500 vs Rival B
    Cat: won 2000 and 3000 vs Rival B, lost 700 vs Rival A
  Company: Rival A 1 of 3 won, Rival B 2 of 3. Ann (and Mia's team): Rival A 1/2, Rival B 0/1.

Leads created in Q1 2025 (source)
    Ann: Web x3 (one converted into her won 1000 deal, one into her lost 2000 deal), Event x1
    Cat: Web x2 (one converted into his won 2000 deal)
  Company: Web 5 leads, 3 converted, 2 won, 3000 booked; Event 1 lead, nothing converted.
  Ann: Web 3 leads, 2 converted, 1 won, 1000 booked.

Ramp (reps hired in 2024 with a 3000 quarterly quota through 2024, deals won in 2024)
    Ann hired 2024-01-15: won 1000 on 2024-01-20 (tenure month 0), 2000 on 2024-02-15 (month 1)
    Bob hired 2024-02-10: won 600 on 2024-03-05 (month 1)
    Cat hired 2024-01-20: won 1500 on 2024-01-25 (month 0)
    Dan hired 2024-04-01: won 900 on 2024-04-10 (month 0)
  Hire cohort 2024-Q1 (Ann, Bob, Cat): month 0 = (1000 + 0 + 1500) / 3, month 1 =
  (2000 + 600 + 0) / 3. Cohort 2024-Q2 (Dan): month 0 = 900.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops.models import Contract, Lead, Opportunity, Quota
from salesops.pipeline import service
from tests.orgchart import Org, build_org

Q1_2025 = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}


@dataclass
class World:
    org: Org
    won: dict[str, list[Opportunity]] = field(default_factory=dict)
    leads: list[Lead] = field(default_factory=list)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _closed(
    session: Session,
    org: Org,
    rep: str,
    amount: int,
    *,
    won: bool,
    created: date,
    closed: date,
    competitor: str | None = None,
    account: str | None = None,
) -> Opportunity:
    opp = service.create_opportunity(
        session,
        name=f"{rep} {'won' if won else 'lost'} {amount} {competitor or ''}".strip(),
        owner=org.reps[rep],
        amount=Decimal(amount),
        close_date=closed,
        at=_at(created),
        account_id=org.accounts[account] if account else None,
    )
    opp.competitor = competitor
    service.close_opportunity(
        session, opp, won=won, at=_at(closed), loss_reason=None if won else "Price"
    )
    return opp


def build_world(session: Session) -> World:
    org = build_org(session)
    world = World(org)
    for name, hired in (
        ("ann", date(2024, 1, 15)),
        ("bob", date(2024, 2, 10)),
        ("cat", date(2024, 1, 20)),
        ("dan", date(2024, 4, 1)),
    ):
        org.reps[name].hire_date = hired
        for quarter in range(4):
            start = date(2024, 3 * quarter + 1, 1)
            end = date(2024, 3 * quarter + 3, 31 if quarter in (0, 3) else 30)
            session.add(
                Quota(
                    rep_id=org.reps[name].id,
                    period_start=start,
                    period_end=end,
                    amount=Decimal(3000),
                    currency="USD",
                )
            )
    ramp = (
        ("ann", 1000, date(2024, 1, 16), date(2024, 1, 20)),
        ("ann", 2000, date(2024, 2, 1), date(2024, 2, 15)),
        ("bob", 600, date(2024, 2, 12), date(2024, 3, 5)),
        ("cat", 1500, date(2024, 1, 21), date(2024, 1, 25)),
        ("dan", 900, date(2024, 4, 2), date(2024, 4, 10)),
    )
    for rep, amount, created, closed in ramp:
        world.won.setdefault(rep, []).append(
            _closed(session, org, rep, amount, won=True, created=created, closed=closed)
        )
    q1 = date(2025, 1, 10)
    ann_won = _closed(
        session, org, "ann", 1000, won=True, created=q1, closed=date(2025, 2, 1),
        competitor="Rival A", account="acme",
    )  # fmt: skip
    ann_lost = _closed(
        session, org, "ann", 2000, won=False, created=q1, closed=date(2025, 2, 2),
        competitor="Rival A", account="acme",
    )  # fmt: skip
    _closed(
        session, org, "ann", 500, won=False, created=q1, closed=date(2025, 3, 1),
        competitor="Rival B",
    )  # fmt: skip
    cat_won = _closed(
        session, org, "cat", 2000, won=True, created=q1, closed=date(2025, 2, 3),
        competitor="Rival B",
    )  # fmt: skip
    _closed(
        session, org, "cat", 3000, won=True, created=q1, closed=date(2025, 3, 3),
        competitor="Rival B",
    )  # fmt: skip
    _closed(
        session, org, "cat", 700, won=False, created=q1, closed=date(2025, 3, 4),
        competitor="Rival A",
    )  # fmt: skip
    world.won["ann"].append(ann_won)
    world.won["cat"].append(cat_won)
    created = _at(date(2025, 1, 5))
    converted = _at(date(2025, 1, 10))
    for rep, source, opp in (
        ("ann", "Web", ann_won),
        ("ann", "Web", ann_lost),
        ("ann", "Web", None),
        ("ann", "Event", None),
        ("cat", "Web", cat_won),
        ("cat", "Web", None),
    ):
        lead = Lead(
            first_name=f"{rep} {source}",
            company=f"{rep} {source} {opp.id if opp else 'open'}",
            source=source,
            owner_id=org.reps[rep].id,
            created_at=created,
            status="converted" if opp else "new",
            converted_at=converted if opp else None,
            converted_opportunity_id=opp.id if opp else None,
        )
        session.add(lead)
        world.leads.append(lead)
    for account, start, end, value in (
        ("acme", date(2024, 1, 1), date(2024, 12, 31), 1000),
        ("acme", date(2025, 1, 1), date(2025, 12, 31), 1200),
        ("initech", date(2024, 1, 1), date(2024, 12, 31), 800),
        ("initech", date(2025, 1, 1), date(2025, 6, 30), 600),
        ("globex", date(2024, 4, 1), date(2025, 3, 31), 500),
    ):
        session.add(
            Contract(
                account_id=org.accounts[account],
                status="active",
                start_date=start,
                end_date=end,
                term_months=12,
                value=Decimal(value),
                currency="USD",
            )
        )
    session.flush()
    return world
