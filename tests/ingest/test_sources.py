"""Built-in sources: Salesforce exports with OpportunityHistory, HubSpot deals with stage dates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.models import Account, Contact, Lead, Opportunity, OpportunityEvent, Rep, User
from salesops.pipeline.history import pipeline_as_of
from tests.ingest.conftest import write

AS_OF = datetime(2025, 4, 1, tzinfo=UTC)


def salesforce_export(folder: Path) -> list[Path]:
    return [
        write(
            folder / "User.csv",
            """\
            Id,Username,Name,Email,Title,ManagerId,IsActive
            005A,ana@acme.com,Ana Alves,ana@acme.com,AE,005B,true
            005B,bo@acme.com,Bo Boss,bo@acme.com,Manager,,true
            """,
            newline="\r\n",
        ),
        write(
            folder / "Account.csv",
            """\
            Id,Name,Industry,NumberOfEmployees,AnnualRevenue,BillingCountry,ParentId
            001A,Acme Sub,Software,120,"1,500,000",DE,001B
            001B,Acme Group,Software,5000,90000000,DE,
            """,
        ),
        write(
            folder / "Opportunity.csv",
            "Id,Name,AccountId,OwnerId,StageName,Amount,CloseDate,Probability,"
            "ForecastCategoryName,CreatedDate\n"
            "006A,Acme renewal,001A,005A,Closed Won,12000,2025-03-20,100,Closed,"
            "2025-01-10T09:00:00.000+0000\n"
            "006B,Acme upsell,001B,005A,Negotiation/Review,5000,2025-05-30,70,Commit,"
            "2025-02-01T09:00:00.000+0000\n",
        ),
        write(
            folder / "OpportunityHistory.csv",
            """\
            Id,OpportunityId,StageName,Amount,CloseDate,ForecastCategory,CreatedDate
            008A,006A,Prospecting,10000,2025-03-31,Pipeline,2025-01-10T09:00:00.000+0000
            008B,006A,Proposal/Price Quote,12000,2025-03-31,BestCase,2025-02-15T10:00:00.000+0000
            008C,006A,Closed Won,12000,2025-03-20,Closed,2025-03-20T16:00:00.000+0000
            """,
        ),
    ]


def test_a_salesforce_export_imports_users_accounts_deals_and_history(
    session: Session, tmp_path: Path
) -> None:
    files = salesforce_export(tmp_path)
    summary = run_import(session, "salesforce", files, as_of=AS_OF)
    assert summary.rejected == 0
    assert summary.tables["users"].inserted == 2
    assert summary.tables["reps"].inserted == 2
    assert summary.tables["accounts"].inserted == 2
    assert summary.tables["opportunities"].inserted == 2
    ana = session.scalars(select(Rep).where(Rep.external_id == "005A")).one()
    assert session.get(Rep, ana.manager_id).name == "Bo Boss"  # type: ignore[union-attr]
    assert session.get(User, ana.user_id).username == "ana@acme.com"  # type: ignore[union-attr]
    sub = session.scalars(select(Account).where(Account.external_id == "001A")).one()
    assert sub.annual_revenue == Decimal("1500000.00")
    assert session.get(Account, sub.parent_id).name == "Acme Group"  # type: ignore[union-attr]
    upsell = session.scalars(select(Opportunity).where(Opportunity.external_id == "006B")).one()
    assert upsell.stage.name == "Negotiation"
    assert upsell.probability == Decimal("0.7000")
    assert upsell.forecast_category == "commit"
    # history: three snapshots of 006A -> stage, amount, close date and category changes
    renewal = session.scalars(select(Opportunity).where(Opportunity.external_id == "006A")).one()
    events = session.scalars(
        select(OpportunityEvent)
        .where(OpportunityEvent.opportunity_id == renewal.id)
        .order_by(OpportunityEvent.at, OpportunityEvent.field)
    ).all()
    assert [(e.field, e.old_value, e.new_value) for e in events] == [
        ("amount", "10000.00", "12000.00"),
        ("forecast_category", "pipeline", "best_case"),
        ("stage", "Prospecting", "Proposal"),
        ("close_date", "2025-03-31", "2025-03-20"),
        ("forecast_category", "best_case", "closed"),
        ("stage", "Proposal", "Closed Won"),
    ]
    mid_february = {s.id: s for s in pipeline_as_of(session, datetime(2025, 2, 1, tzinfo=UTC))}
    assert mid_february[renewal.id].stage == "Prospecting"
    assert mid_february[renewal.id].amount == Decimal("10000.00")
    again = run_import(session, "salesforce", files, as_of=AS_OF)
    assert again.changed == 0


def test_hubspot_date_entered_columns_become_stage_events(session: Session, tmp_path: Path) -> None:
    deals = write(
        tmp_path / "hubspot-deals.csv",
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,"
        '"Date entered ""Appointment Scheduled (Sales Pipeline)""",'
        '"Date entered ""Contract Sent (Sales Pipeline)""",'
        '"Date entered ""Closed Won (Sales Pipeline)"""\n'
        "101,Big deal,Closed Won,9000,2025-03-15,2025-01-02 08:00,Ana Alves,"
        "2025-01-02 08:00,2025-02-20 12:00,2025-03-15 17:00\n"
        "102,Small deal,Appointment Scheduled,800,2025-06-30,2025-03-01 10:00,Ana Alves,"
        "2025-03-01 10:00,,\n",
    )
    summary = run_import(session, "hubspot", [deals], as_of=AS_OF)
    assert summary.tables["opportunities"].inserted == 2
    assert summary.tables["reps"].inserted == 1
    big = session.scalars(select(Opportunity).where(Opportunity.external_id == "101")).one()
    stage_events = session.scalars(
        select(OpportunityEvent)
        .where(OpportunityEvent.opportunity_id == big.id, OpportunityEvent.field == "stage")
        .order_by(OpportunityEvent.at)
    ).all()
    assert [(e.old_value, e.new_value, e.at) for e in stage_events] == [
        ("Prospecting", "Negotiation", datetime(2025, 2, 20, 12, tzinfo=UTC)),
        ("Negotiation", "Closed Won", datetime(2025, 3, 15, 17, tzinfo=UTC)),
    ]
    march = {s.id: s for s in pipeline_as_of(session, datetime(2025, 3, 1, tzinfo=UTC))}
    assert march[big.id].stage == "Negotiation"
    assert march[big.id].is_open


def test_salesforce_leads_keep_status_owner_and_conversion(
    session: Session, tmp_path: Path
) -> None:
    files = salesforce_export(tmp_path)
    files.append(
        write(
            tmp_path / "Lead.csv",
            """\
            Id,FirstName,LastName,Email,Company,LeadSource,Status,OwnerId,CreatedDate,ConvertedDate,ConvertedAccountId,ConvertedOpportunityId
            00QA,Cleo,Chen,c@x.io,X,Web,Closed - Converted,005A,2024-12-01,2025-01-10,001A,006A
            00QB,Dan,Diaz,dan@y.io,Y,Event,Working - Contacted,005Z,2025-02-01T10:00Z,,,
            """,
        )
    )
    summary = run_import(session, "salesforce", files, as_of=AS_OF)
    assert summary.tables["leads"].inserted == 2
    assert summary.rejected == 0
    leads = {lead.external_id: lead for lead in session.scalars(select(Lead))}
    cleo, dan = leads["00QA"], leads["00QB"]
    assert cleo.status == "converted"
    assert cleo.converted_at == datetime(2025, 1, 10, tzinfo=UTC)
    converted = session.get(Opportunity, cleo.converted_opportunity_id)
    assert converted is not None
    assert converted.external_id == "006A"
    assert dan.status == "working"
    assert dan.owner_id is None  # owner 005Z is not among the exported users


def test_hubspot_companies_contacts_and_a_spreadsheet_export(
    session: Session, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    companies = write(
        tmp_path / "hubspot-companies.csv",
        """\
        Record ID,Company name,Industry,Number of Employees,Annual Revenue,Country/Region
        9001,Globex,COMPUTER_SOFTWARE,250,12000000,United States
        """,
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["Record ID", "First Name", "Last Name", "Email", "Associated Company IDs"])
    sheet.append([501, "Hank", "Scorpio", "hank@globex.com", "9001"])
    sheet.append([502, "Lone", "Contact", "lone@nowhere.com", None])
    contacts = tmp_path / "hubspot-contacts.xlsx"
    book.save(contacts)
    summary = run_import(session, "hubspot", [companies, contacts], as_of=AS_OF)
    assert summary.tables["accounts"].inserted == 1
    assert summary.tables["contacts"].inserted == 2
    hank = session.scalars(select(Contact).where(Contact.external_id == "501")).one()
    globex = session.get(Account, hank.account_id)
    assert globex is not None
    assert globex.name == "Globex"
    assert globex.employees == 250
