"""Real exports from ../shared/data: Maven CRM, Salvirt B2B and AdventureWorks."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.models import (
    Account,
    AccountOwner,
    Opportunity,
    PipelineStage,
    Product,
    Quota,
    Rep,
    Team,
    TerritoryAssignment,
)
from salesops.pipeline import stages
from salesops.pipeline.history import pipeline_as_of
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def by_key(session: Session, model: type, key: str) -> object:
    return session.scalars(select(model).where(model.external_id == key)).one()  # type: ignore[attr-defined]


def test_maven_imports_every_file_with_its_quirks_resolved(session: Session) -> None:
    folder = shared_data("maven_crm_sales_opportunities/sales_pipeline.csv").parent
    summary = run_import(session, "maven", [folder])
    counts = {name: (t.inserted, t.rejected) for name, t in summary.tables.items()}
    assert counts == {
        "products": (7, 0),
        "accounts": (85, 0),
        "teams": (9, 0),  # 3 regional offices + 6 managers' teams
        "reps": (41, 0),  # 35 agents + 6 managers
        "team_memberships": (35, 0),
        "opportunities": (8800, 0),
        "opportunity_events": (35579, 0),
    }
    assert [p.name for p in summary.ignored] == ["data_dictionary.csv"]
    # GTXPro in the pipeline is the product GTX Pro (list price 4821)
    deal = by_key(session, Opportunity, "Z063OYW0")
    assert isinstance(deal, Opportunity)
    assert session.get(Product, deal.product_id).name == "GTX Pro"  # type: ignore[union-attr]
    assert deal.amount == Decimal("4514.00")
    assert deal.stage.name == "Closed Won"
    assert deal.created_at == datetime(2016, 10, 25, tzinfo=UTC)
    assert deal.closed_at == datetime(2017, 3, 11, 23, 59, 59, tzinfo=UTC)
    acme = by_key(session, Account, "Acme Corporation")
    assert isinstance(acme, Account)
    assert acme.industry == "technology"
    assert acme.annual_revenue == Decimal("1100040000.00")
    assert acme.employees == 2822
    assert acme.country == "United States"
    # open deals: no account when the file has none, the product's list price as amount
    no_account = session.scalar(
        select(func.count()).select_from(Opportunity).where(Opportunity.account_id.is_(None))
    )
    assert no_account == 1425
    won = session.scalar(
        select(func.sum(Opportunity.amount))
        .join(PipelineStage)
        .where(PipelineStage.name == "Closed Won")
    )
    assert Decimal(str(won)).quantize(Decimal(1)) == Decimal("10005534")
    agent = session.scalars(select(Rep).where(Rep.name == "Anna Snelling")).one()
    assert session.get(Rep, agent.manager_id).name == "Dustin Brinkmann"  # type: ignore[union-attr]
    regions = session.scalars(select(Team.name).where(Team.parent_id.is_(None)))
    assert sorted(regions) == ["Central", "East", "West"]
    names = [s.name for s in stages.ordered(session)]
    assert names.index("Engaging") == names.index("Prospecting") + 1


def test_maven_pipeline_as_of_a_month_start_matches_the_raw_dates(session: Session) -> None:
    path = shared_data("maven_crm_sales_opportunities/sales_pipeline.csv")
    run_import(session, "maven", [path.parent])
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (path.parent / "products.csv").open(newline="", encoding="utf-8") as handle:
        price = {r["product"]: Decimal(r["sales_price"]) for r in csv.DictReader(handle)}
    for month in range(4, 13):  # the forecasting backtests' month starts
        cut = date(2017, month, 1)
        existed = [
            r for r in rows if r["engage_date"] and date.fromisoformat(r["engage_date"]) <= cut
        ]
        still_open = [
            r for r in existed if not r["close_date"] or date.fromisoformat(r["close_date"]) >= cut
        ]
        states = pipeline_as_of(session, datetime(2017, month, 1, tzinfo=UTC))
        open_states = [s for s in states if s.is_open]
        assert len(states) == len(existed)
        assert len(open_states) == len(still_open)
        assert {s.stage for s in open_states} == {"Engaging"}
        assert all(s.close_date is None for s in open_states)
        # while open, a deal is worth its product's list price (GTXPro is GTX Pro)
        expected = sum(price[r["product"].replace("GTXPro", "GTX Pro")] for r in still_open)
        assert sum(s.amount for s in open_states) == expected


def test_salvirt_keeps_repeated_rows_as_separate_deals_and_reimports_as_unchanged(
    session: Session,
) -> None:
    path = shared_data("salvirt_b2b_sales/Salvirt_B2B_ML_dataset.csv")
    mapping = EXAMPLES / "salvirt.yaml"
    summary = run_import(session, "csv", [path], mapping=mapping)
    assert summary.tables["opportunities"].inserted == 448
    assert summary.tables["products"].inserted == 14
    assert summary.tables["reps"].inserted == 18
    assert summary.rejected == 0
    first_copies = session.scalar(
        select(func.count()).select_from(Opportunity).where(Opportunity.external_id.like("%-1"))
    )
    assert first_copies == 365
    won = session.scalar(
        select(func.count())
        .select_from(Opportunity)
        .join(PipelineStage)
        .where(PipelineStage.name == "Closed Won")
    )
    assert won == 227
    seller = session.scalars(select(Rep).where(Rep.name == "Seller 6")).one()
    assert (
        session.scalar(
            select(func.count()).select_from(Opportunity).where(Opportunity.owner_id == seller.id)
        )
        > 0
    )
    again = run_import(session, "csv", [path], mapping=mapping)
    assert again.tables["opportunities"].unchanged == 448
    assert again.changed == 0


def test_adventureworks_bulk_files_without_headers_import_through_a_mapping(
    session: Session,
) -> None:
    folder = shared_data("adventureworks_sales_quota_territory/Store.csv").parent
    summary = run_import(session, "csv", [folder], mapping=EXAMPLES / "adventureworks.yaml")
    counts = {name: (t.inserted, t.rejected) for name, t in summary.tables.items()}
    assert counts == {
        "territories": (10, 0),
        "reps": (17, 0),
        "territory_assignments": (17, 0),
        "quotas": (163, 0),
        "accounts": (701, 0),
        "account_owners": (701, 0),
    }
    assert [p.name for p in summary.ignored] == ["FactSalesQuota.csv"]
    store = by_key(session, Account, "292")
    assert isinstance(store, Account)
    assert store.name == "Next-Door Bike Store"
    assert store.annual_revenue == Decimal("80000.00")
    assert store.employees == 13
    assert store.year_established == 1996
    assert store.segment == "Mountain"
    owner = session.scalars(select(AccountOwner).where(AccountOwner.account_id == store.id)).one()
    assert session.get(Rep, owner.rep_id).external_id == "279"  # type: ignore[union-attr]
    quota = by_key(session, Quota, "274:2022-05-30 00:00:00.000")
    assert isinstance(quota, Quota)
    assert quota.amount == Decimal("28000.00")
    assert (quota.period_start, quota.period_end) == (date(2022, 5, 30), date(2022, 8, 29))
    moves = session.scalars(
        select(TerritoryAssignment).where(TerritoryAssignment.valid_to.is_not(None))
    ).all()
    assert len(moves) == 4
