"""REST endpoints for accounts, contacts, leads, activities and contracts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import create_model
from sqlalchemy.orm import Session

from salesops.api.crud import crud_router
from salesops.api.schemas import create_schema
from salesops.auth.scoping import Scope
from salesops.crm import resources
from salesops.models import Account

AccountCreate: Any = create_model(
    "AccountCreate",
    __base__=create_schema(Account, "AccountFields"),
    owner_id=(int | None, None),
)


def _create_account(session: Session, values: dict[str, Any], scope: Scope) -> Account:
    owner_id = values.pop("owner_id", None)
    return resources.create_account(session, values, scope=scope, owner_id=owner_id)


router = APIRouter()
router.include_router(
    crud_router(
        resources.ACCOUNTS,
        path="/accounts",
        tag="accounts",
        create=AccountCreate,
        create_fn=_create_account,
    )
)
router.include_router(crud_router(resources.CONTACTS, path="/contacts", tag="contacts"))
router.include_router(crud_router(resources.LEADS, path="/leads", tag="leads"))
router.include_router(crud_router(resources.ACTIVITIES, path="/activities", tag="activities"))
router.include_router(crud_router(resources.CONTRACTS, path="/contracts", tag="contracts"))
