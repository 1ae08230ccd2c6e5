"""Every metric in the catalog, sliced by owner and by team, shows each role only its rows.

The permission-test organisation (tests/orgchart.py) with what every metric needs: team
memberships (Mia, Ann, Bob in East; Dan in East SMB under it; Will, Cat in West), rep quotas,
won and lost deals, a converted lead, contracts and forecast lines. For each role the API's rows
must equal the unrestricted figures of the reps that role may see (an administrator's query
filtered to those owners): nothing of another rep shows, and nothing of their own is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.models import Contract, ForecastLine, ForecastRun, Quota, TeamMembership
from salesops.pipeline import service, stages
from tests.orgchart import Org

Client = Callable[[str], TestClient]
# Who each role may see: a sales rep themselves; a manager their reports and their teams'
# members; the other roles everyone (None).
VISIBLE: dict[str, set[str] | None] = {
    "ann": {"Ann"},
    "mia": {"Mia East", "Ann", "Bob", "Dan"},
    "ops_rep": None,
    "analyst": None,
    "director": None,
    "admin": None,
}
VISIBLE_TEAMS = {"ann": set(), "mia": {"East", "East SMB"}}
ROLES = {"ann": "sales_rep", "mia": "manager"}
YEAR_2024 = {"from": "2024-01-01", "to": "2024-12-31"}


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def company(session: Session, org: Org) -> Org:
    reps, teams = org.reps, org.teams
    since = date(2020, 1, 1)
    for name, team in (("mia", "east"), ("ann", "east"), ("bob", "east"), ("will", "west"),
                       ("cat", "west")):  # fmt: skip
        session.add(TeamMembership(rep_id=reps[name].id, team_id=teams[team].id, valid_from=since))
    for i, name in enumerate(("ann", "bob", "cat", "dan", "mia")):
        reps[name].hire_date = date(2024, 1 + i, 15)
        session.add(
            Quota(rep_id=reps[name].id, period_start=date(2025, 1, 1),
                  period_end=date(2025, 3, 31), amount=Decimal(1500 + 500 * i))
        )  # fmt: skip
    session.add(
        Quota(team_id=teams["east"].id, period_start=date(2025, 1, 1),
              period_end=date(2025, 3, 31), amount=Decimal(90_000))
    )  # fmt: skip
    for name, won in (("ann", True), ("bob", False), ("cat", True), ("dan", True)):
        opp = org.opps[name][0]
        service.move_stage(session, opp, _stage(session, "Proposal"), at=_noon(date(2025, 1, 20)))
        service.close_opportunity(
            session, opp, won=won, at=_noon(date(2025, 2, 14)), loss_reason=None if won else "price"
        )
    lead = org.leads["ann"]
    lead.converted_opportunity_id = org.opps["ann"][0].id
    lead.converted_at = _noon(date(2025, 1, 10))
    acme, globex, initech = (org.accounts[k] for k in ("acme", "globex", "initech"))
    session.add_all(
        [
            Contract(account_id=acme, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31),
                     term_months=12, value=Decimal(1000), status="renewed"),
            Contract(account_id=acme, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31),
                     term_months=12, value=Decimal(1200)),
            Contract(account_id=globex, start_date=date(2024, 1, 1), end_date=date(2024, 12, 31),
                     term_months=12, value=Decimal(500), status="expired"),
            Contract(account_id=initech, start_date=date(2024, 1, 1),
                     end_date=date(2025, 12, 31), term_months=24, value=Decimal(800)),
        ]
    )  # fmt: skip
    run = ForecastRun(
        kind="backtest", method="pipeline", version="1", as_of=_noon(date(2025, 1, 1)),
        input_fingerprint="x" * 64,
    )  # fmt: skip
    session.add(run)
    session.flush()
    lines = ((None, 9000, 8000), (teams["east"].id, 5000, 4000),
             (teams["smb"].id, 1000, 1500), (teams["west"].id, 3000, 3500))  # fmt: skip
    for team, expected, actual in lines:
        session.add(
            ForecastLine(run_id=run.id, team_id=team, period_start=date(2025, 1, 1),
                         period_end=date(2025, 3, 31), expected=Decimal(expected),
                         p10=Decimal(0), p50=Decimal(expected), p90=Decimal(0),
                         actual=Decimal(actual))
        )  # fmt: skip
    session.commit()
    return org


def _stage(session: Session, name: str) -> Any:
    return stages.by_name(session, name)


def _rows(client: TestClient, name: str, **params: Any) -> list[dict[str, Any]]:
    reply = client.get(f"/api/v1/metrics/{name}", params=params)
    assert reply.status_code == 200, (name, params, reply.text)
    rows: list[dict[str, Any]] = reply.json()["rows"]
    return rows


def _same(found: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    def norm(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: round(v, 9) if isinstance(v, float) else v for k, v in row.items()} for row in rows
        ]

    return norm(found) == norm(expected)


RETENTION = {
    # Year 2024: Acme 1000 -> 1200 (Ann's account and deal), Globex 500 -> 0 (Cat owns it),
    # Initech 800 -> 800 (Cat's deal).
    "ann": {"net_revenue_retention": 1200 / 1000, "gross_revenue_retention": 1.0,
            "churn_rate": 0.0},
    "mia": {"net_revenue_retention": 1200 / 1000, "gross_revenue_retention": 1.0,
            "churn_rate": 0.0},
    None: {"net_revenue_retention": 2000 / 2300, "gross_revenue_retention": 1800 / 2300,
           "churn_rate": 1 / 3},
}  # fmt: skip


# The roles that see everything share one scope (none); the director stands for them over the
# whole catalog, and the others are checked on one metric of each kind below.
@pytest.mark.parametrize("who", ["ann", "mia", "director"])
def test_every_metric_by_owner_and_team_shows_only_the_rows_the_role_may_see(
    client_as: Client, company: Org, who: str
) -> None:
    client, admin = client_as(who), client_as("admin")
    names = VISIBLE[who]
    filters = [] if names is None else [f"owner={n}" for n in sorted(names)]
    checked = 0
    for info in metrics.list_metrics():
        if info.kind == "forecast_accuracy":
            found = _rows(client, info.name, by="team")
            if names is None:
                assert _same(found, _rows(admin, info.name, by="team")), info.name
                assert {r["team"] for r in found} == {"(company)", "East", "East SMB", "West"}
            else:
                teams = VISIBLE_TEAMS[who]
                assert {r["team"] for r in found} == teams, info.name
                if teams:
                    wanted = [f"team={t}" for t in sorted(teams)]
                    expected = _rows(admin, info.name, by="team", filter=wanted)
                    assert _same(found, expected), info.name
            checked += 1
            continue
        if info.kind == "retention":
            (row,) = _rows(client, info.name, **YEAR_2024)
            if info.name in RETENTION[names and who]:
                assert row[info.name] == pytest.approx(RETENTION[names and who][info.name])
            checked += 1
            continue
        if info.kind == "cohort_retention":
            # Cohorts are of accounts, not reps: no owner or team to slice by. Their row-level
            # scoping is checked against hand-computed figures per rep in
            # tests/metrics/test_tenure.py (test_the_new_metrics_obey_row_level_scoping).
            checked += 1
            continue
        # One query slices by owner and team at once (each row names both): half the queries.
        assert {"owner", "team"} <= set(info.dimensions), info.name
        found = _rows(client, info.name, by=["owner", "team"])
        expected = _rows(admin, info.name, by=["owner", "team"], filter=filters)
        assert _same(found, expected), (info.name, found, expected)
        if names is not None:
            assert {r["owner"] for r in found} <= names, (info.name, found)
        checked += 1
    assert checked == len(metrics.list_metrics())


@pytest.mark.parametrize("who", ["ops_rep", "analyst", "admin"])
def test_the_other_unrestricted_roles_see_the_whole_company_in_each_kind_of_metric(
    client_as: Client, company: Org, who: str
) -> None:
    client = client_as(who)
    owners = {"Ann", "Bob", "Cat", "Dan"}
    assert owners <= {r["owner"] for r in _rows(client, "win_rate", by="owner")}
    teams = {r["team"] for r in _rows(client, "forecast_wape", by="team")}
    assert teams == {"(company)", "East", "East SMB", "West"}
    (row,) = _rows(client, "net_revenue_retention", **YEAR_2024)
    assert row["net_revenue_retention"] == pytest.approx(RETENTION[None]["net_revenue_retention"])


@pytest.mark.parametrize("who", ["ann", "mia"])
def test_ramp_time_lists_only_the_reps_in_scope(client_as: Client, company: Org, who: str) -> None:
    # Before: a sales rep got every rep's row (six names and their hire cohorts).
    everyone = _rows(client_as("director"), "ramp_time", by="owner")
    assert {r["owner"] for r in everyone} == {"Ann", "Bob", "Cat", "Dan", "Mia East", "Will West"}
    found = _rows(client_as(who), "ramp_time", by="owner", grain="quarter")
    assert {r["owner"] for r in found} == VISIBLE[who]
    by_manager = _rows(client_as(who), "bookings", by="manager")
    # The manager label still names Ann's manager: the organisation chart is public.
    managers = {"Mia East"} if who == "ann" else {"Mia East", "(none)"}
    assert {r["manager"] for r in by_manager} == managers


def test_contracts_count_for_the_accounts_a_rep_owns_as_well_as_those_they_sell_to(
    client_as: Client, company: Org
) -> None:
    # Cat owns Globex (no deal on it) and sells to Initech: before, only Initech counted
    # (retention 800 / 800 = 100%, no churn); Globex churned in 2024.
    (row,) = _rows(client_as("cat"), "net_revenue_retention", **YEAR_2024)
    assert row["net_revenue_retention"] == pytest.approx(800 / 1300)
    (row,) = _rows(client_as("cat"), "churn_rate", **YEAR_2024)
    assert row["churn_rate"] == pytest.approx(1 / 2)
    # Bob has no account: no revenue to retain.
    bob = _rows(client_as("bob"), "net_revenue_retention", **YEAR_2024)
    assert bob == [{"net_revenue_retention": None}]
