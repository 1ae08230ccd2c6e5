"""The resource descriptions of every table the API exposes through generic CRUD."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from salesops.auth.scoping import Scope
from salesops.crm.records import Resource, create_record
from salesops.errors import Conflict
from salesops.models import (
    Account,
    AccountOwner,
    Activity,
    Contact,
    Contract,
    ContractStatus,
    Lead,
    Opportunity,
    Quota,
    Rep,
    Team,
    Territory,
)

ACCOUNTS = Resource(
    name="account",
    model=Account,
    visible=lambda s: s.accounts(),
    filter_fields=("industry", "segment", "country", "region", "territory_id", "parent_id"),
    range_fields=("employees", "annual_revenue", "created_at"),
    search_fields=("name",),
    sort_fields=("id", "name", "industry", "segment", "employees", "annual_revenue", "created_at"),
    default_sort="name",
)

CONTACTS = Resource(
    name="contact",
    model=Contact,
    visible=lambda s: s.contacts(),
    filter_fields=("account_id", "title"),
    search_fields=("first_name", "last_name", "email"),
    sort_fields=("id", "last_name", "first_name", "email", "created_at"),
    default_sort="last_name",
    account_field="account_id",
)

LEADS = Resource(
    name="lead",
    model=Lead,
    visible=lambda s: s.leads(),
    filter_fields=("status", "source", "campaign", "owner_id"),
    range_fields=("created_at", "score", "converted_at"),
    search_fields=("first_name", "last_name", "email", "company"),
    sort_fields=("id", "created_at", "score", "company", "status", "last_name"),
    default_sort="-created_at",
    owner_field="owner_id",
)

ACTIVITIES = Resource(
    name="activity",
    model=Activity,
    visible=lambda s: s.activities(),
    filter_fields=("kind", "rep_id", "opportunity_id", "account_id", "lead_id", "contact_id"),
    range_fields=("occurred_at",),
    search_fields=("subject",),
    sort_fields=("id", "occurred_at", "kind"),
    default_sort="-occurred_at",
    owner_field="rep_id",
    account_field="account_id",
)


def _contract_write(action: str, contract: Contract, values: dict[str, Any]) -> None:
    """Generic writes see only drafts: a new contract starts as a draft, and anything past
    draft moves through the lifecycle endpoints (transitions, amendments)."""
    if action == "create":
        if values.get("status", ContractStatus.DRAFT) != ContractStatus.DRAFT:
            raise Conflict(
                "a new contract starts as a draft; move it on with POST /contracts/{id}/transitions"
            )
        values["status"] = ContractStatus.DRAFT
        return
    if contract.status != ContractStatus.DRAFT:
        raise Conflict(
            f"contract {contract.id} is {contract.status}: only a draft can be"
            f" {'deleted' if action == 'delete' else 'edited'}; a signed contract changes by"
            " amendment (POST /contracts/{id}/amendments)"
        )
    if "status" in values and values["status"] != contract.status:
        raise Conflict("a contract's status changes through POST /contracts/{id}/transitions")


CONTRACTS = Resource(
    name="contract",
    model=Contract,
    visible=lambda s: s.contracts(),
    filter_fields=("account_id", "status", "auto_renew", "currency", "renewal_of_id"),
    range_fields=("start_date", "end_date", "value"),
    search_fields=("template",),
    sort_fields=("id", "start_date", "end_date", "value", "status"),
    default_sort="-start_date",
    account_field="account_id",
    check_write=_contract_write,
)

OPPORTUNITIES = Resource(
    name="opportunity",
    model=Opportunity,
    visible=lambda s: s.opportunities(),
    filter_fields=(
        "owner_id",
        "account_id",
        "stage_id",
        "forecast_category",
        "type",
        "lead_source",
        "competitor",
        "product_id",
        "territory_id",
        "currency",
    ),
    range_fields=("amount", "close_date", "created_at", "closed_at"),
    search_fields=("name",),
    sort_fields=("id", "name", "amount", "close_date", "created_at", "closed_at", "stage_id"),
    default_sort="close_date",
    owner_field="owner_id",
    account_field="account_id",
)

REPS = Resource(
    name="rep",
    model=Rep,
    visible=lambda s: s.reps(),
    filter_fields=("manager_id", "region", "level", "is_active", "user_id"),
    range_fields=("hire_date",),
    search_fields=("name", "email", "title"),
    sort_fields=("id", "name", "hire_date", "level"),
    default_sort="name",
    write="planning",
)

TEAMS = Resource(
    name="team",
    model=Team,
    visible=lambda s: s.teams(),
    filter_fields=("parent_id", "manager_id", "region"),
    search_fields=("name",),
    sort_fields=("id", "name"),
    default_sort="name",
    write="planning",
)

TERRITORIES = Resource(
    name="territory",
    model=Territory,
    visible=lambda s: s.teams(),
    filter_fields=("parent_id", "region"),
    search_fields=("name",),
    sort_fields=("id", "name"),
    default_sort="name",
    write="planning",
)

QUOTAS = Resource(
    name="quota",
    model=Quota,
    visible=lambda s: s.quotas(),
    filter_fields=("rep_id", "team_id", "territory_id", "currency"),
    range_fields=("period_start", "period_end", "amount"),
    sort_fields=("id", "period_start", "period_end", "amount"),
    default_sort="period_start",
    write="planning",
)

BY_TABLE: dict[str, Resource[Any]] = {
    r.model.__tablename__: r
    for r in (
        ACCOUNTS,
        CONTACTS,
        LEADS,
        ACTIVITIES,
        CONTRACTS,
        OPPORTUNITIES,
        REPS,
        TEAMS,
        TERRITORIES,
        QUOTAS,
    )
}


def create_account(
    session: Session, values: dict[str, Any], *, scope: Scope, owner_id: int | None = None
) -> Account:
    """Create an account owned (from today) by `owner_id`, or by the calling rep."""
    owner_id = owner_id if owner_id is not None else scope.own_rep_id
    scope.require_owner(owner_id, "give an account")
    account = create_record(session, ACCOUNTS, values, scope=scope)
    if owner_id is not None:
        session.add(AccountOwner(account_id=account.id, rep_id=owner_id, valid_from=date.today()))
        session.flush()
    return account
