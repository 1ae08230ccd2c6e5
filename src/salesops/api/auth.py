"""REST endpoints for the caller, API tokens, users (admins) and the audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from salesops.api.crud import ERRORS, STALE_ERRORS, IfMatch, tagged
from salesops.api.deps import CurrentUser, SessionDep
from salesops.api.schemas import VERSION_HELP, Page, page_body
from salesops.audit import service as audit
from salesops.auth import service as auth
from salesops.crm import versioning
from salesops.models import ApiToken, Role, User

router = APIRouter(responses=ERRORS)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str | None
    full_name: str | None
    role: str
    is_active: bool
    created_at: datetime
    version: int


class Me(BaseModel):
    user: UserRead
    rep_id: int | None
    sees_all: bool
    visible_rep_ids: list[int] | None


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=80)


class TokenCreated(TokenRead):
    token: str = Field(description="the secret; shown only in this response")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=80)
    role: Role
    password: str | None = None
    email: str | None = None
    full_name: str | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None
    password: str | None = None
    email: str | None = None
    full_name: str | None = None
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class UnlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ip: str | None = Field(None, max_length=64, description="only this source address")


class Unlocked(BaseModel):
    username: str
    cleared: int = Field(description="failed sign-ins that no longer count")


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    action: str
    entity: str
    entity_id: str | None
    changes: dict[str, Any]


@router.get("/me", response_model=Me, tags=["auth"], summary="Who am I and what do I see")
def me(who: CurrentUser) -> Any:
    return {
        "user": who.user,
        "rep_id": who.scope.own_rep_id,
        "sees_all": who.scope.sees_all,
        "visible_rep_ids": who.scope.owner_ids(),
    }


@router.get("/tokens", response_model=list[TokenRead], tags=["auth"], summary="API tokens")
def tokens(
    session: SessionDep, who: CurrentUser, all_users: bool = Query(False, alias="all")
) -> list[ApiToken]:
    """Your own tokens; admins may pass `all=true` for everyone's."""
    if all_users:
        who.scope.require_admin("list other users' tokens")
        return auth.list_tokens(session)
    return auth.list_tokens(session, user=who.user)


@router.post(
    "/tokens", response_model=TokenCreated, status_code=201, tags=["auth"], summary="New token"
)
def create_token(body: TokenCreate, session: SessionDep, who: CurrentUser) -> Any:
    created = auth.create_token(session, who.user, name=body.name, by=who.user, via="api")
    return {**TokenRead.model_validate(created.record).model_dump(), "token": created.secret}


@router.delete("/tokens/{token_id}", status_code=204, tags=["auth"], summary="Revoke a token")
def revoke_token(token_id: int, session: SessionDep, who: CurrentUser) -> Response:
    auth.revoke_token(session, token_id, by=who.user, via="api")
    return Response(status_code=204)


@router.get("/users", response_model=list[UserRead], tags=["users"], summary="All users")
def users(session: SessionDep, who: CurrentUser) -> list[User]:
    who.scope.require_admin("list users")
    return auth.list_users(session)


@router.post(
    "/users", response_model=UserRead, status_code=201, tags=["users"], summary="Create a user"
)
def create_user(body: UserCreate, session: SessionDep, who: CurrentUser) -> User:
    who.scope.require_admin("create users")
    return auth.create_user(
        session,
        body.username,
        role=body.role.value,
        password=body.password,
        email=body.email,
        full_name=body.full_name,
        by=who.user,
        via="api",
    )


@router.get("/users/{user_id}", response_model=UserRead, tags=["users"], summary="One user")
def get_user(user_id: int, response: Response, session: SessionDep, who: CurrentUser) -> Any:
    """A user with their version as the `ETag` (admins only)."""
    who.scope.require_admin("read users")
    return tagged(response, auth.user_by_id(session, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    tags=["users"],
    summary="Change",
    responses=STALE_ERRORS,
)
def update_user(
    user_id: int,
    body: UserUpdate,
    response: Response,
    session: SessionDep,
    who: CurrentUser,
    if_match: str | None = IfMatch,
) -> Any:
    """Disabling a user revokes their API tokens for good (enabling them again does not
    bring the tokens back). A stale `If-Match` is 412, a stale body `version` 409."""
    who.scope.require_admin("change users")
    expected = (versioning.from_if_match(if_match), versioning.from_body(body.version))
    updated = auth.update_user(
        session,
        auth.user_by_id(session, user_id),
        role=body.role.value if body.role is not None else None,
        is_active=body.is_active,
        password=body.password,
        email=body.email,
        full_name=body.full_name,
        by=who.user,
        via="api",
        expected=expected,
    )
    return tagged(response, updated)


@router.post(
    "/users/{user_id}/unlock", response_model=Unlocked, tags=["users"], summary="Unlock sign-in"
)
def unlock_user(
    user_id: int, session: SessionDep, who: CurrentUser, body: UnlockRequest | None = None
) -> Any:
    """Clear the failed sign-ins that lock this user out (from one source address with
    `ip`, else from every address); audited."""
    who.scope.require_admin("unlock users")
    user = auth.user_by_id(session, user_id)
    ip = body.ip if body is not None else None
    cleared = auth.unlock(session, user.username, ip=ip, by=who.user, via="api")
    return {"username": user.username, "cleared": cleared}


@router.get("/audit", response_model=Page[AuditRead], tags=["audit"], summary="Audit log")
def audit_log(
    session: SessionDep,
    who: CurrentUser,
    entity: str | None = None,
    entity_id: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> Any:
    """Every write, newest first (admins only)."""
    page = audit.list_entries(
        session,
        scope=who.scope,
        entity=entity,
        entity_id=entity_id,
        user_id=user_id,
        since=since,
        limit=limit,
        offset=offset,
    )
    return page_body(page, limit=limit, offset=offset)
