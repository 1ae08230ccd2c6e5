"""REST endpoints for opportunities: every change goes through the pipeline service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from salesops.api.crud import ERRORS, STALE_ERRORS, IfMatch, filter_help, list_filters, tagged
from salesops.api.deps import CurrentUser, SessionDep
from salesops.api.schemas import VERSION_HELP, Attributes, Page, page_body, read_schema
from salesops.crm import versioning
from salesops.crm.records import MAX_LIMIT
from salesops.crm.resources import OPPORTUNITIES
from salesops.csvsafe import csv_lines
from salesops.db.limits import DATE_MAX, DATE_MIN, INT_LIMIT, MONEY_LIMIT
from salesops.models import ForecastCategory, Opportunity, OpportunityType, PipelineStage
from salesops.pipeline import access
from salesops.playbooks import gate

router = APIRouter(prefix="/opportunities", tags=["opportunities"], responses=ERRORS)

_OpportunityFields: Any = read_schema(Opportunity, "OpportunityFields")


class StageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: str
    sort_order: int
    default_probability: Decimal
    forecast_category: str


class OpportunityRead(_OpportunityFields):  # type: ignore[misc]
    """An opportunity with its stage spelled out."""

    stage: StageRead


class OpportunityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(ge=0, le=MONEY_LIMIT, decimal_places=2, allow_inf_nan=False)
    close_date: date = Field(ge=DATE_MIN, le=DATE_MAX)
    owner_id: int | None = Field(
        None, ge=1, le=INT_LIMIT, description="rep id; defaults to the caller's own rep"
    )
    account_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    product_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    stage: str | None = Field(None, description="stage name or id; defaults to the first")
    currency: str = Field("USD", min_length=3, max_length=3)
    type: OpportunityType = OpportunityType.NEW
    lead_source: str | None = Field(None, max_length=80)
    competitor: str | None = Field(None, max_length=80)
    probability: Decimal | None = Field(None, ge=0, le=1)


class OpportunityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    amount: Decimal | None = Field(
        None, ge=0, le=MONEY_LIMIT, decimal_places=2, allow_inf_nan=False
    )
    close_date: date | None = Field(None, ge=DATE_MIN, le=DATE_MAX)
    owner_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    stage: str | None = None
    forecast_category: ForecastCategory | None = None
    probability: Decimal | None = Field(None, ge=0, le=1)
    competitor: str | None = Field(None, max_length=80)
    lead_source: str | None = Field(None, max_length=80)
    loss_reason: str | None = Field(None, max_length=200)
    next_step: str | None = Field(None, max_length=255)
    currency: str | None = Field(
        None,
        min_length=3,
        max_length=3,
        description="needs an exchange rate (or be the reporting currency)",
    )
    attributes: Attributes | None = Field(
        None, description="custom attributes: replaces them all ({} clears them)"
    )
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class StageMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(description="stage name or id")
    loss_reason: str | None = None
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    won: bool
    loss_reason: str | None = None
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    field: str
    old_value: str | None
    new_value: str | None
    at: datetime
    by_user_id: int | None
    source: str


@router.get("", response_model=Page[OpportunityRead], summary="List opportunities")
def list_(
    request: Request,
    session: SessionDep,
    who: CurrentUser,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
    sort: str | None = Query(None),
    q: str | None = Query(None),
    status: Literal["open", "won", "lost", "closed"] | None = Query(None),
) -> Any:
    filters = {k: v for k, v in list_filters(request).items() if k != "status"}
    page = access.list_opportunities(
        session,
        scope=who.scope,
        filters=filters,
        status=status,
        search=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return page_body(page, limit=limit, offset=offset)


list_.__doc__ = filter_help(OPPORTUNITIES) + " `status` is open, won, lost or closed."


@router.get(
    "/export.csv",
    summary="Export opportunities as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_csv(
    request: Request,
    session: SessionDep,
    who: CurrentUser,
    status: Literal["open", "won", "lost", "closed"] | None = Query(None),
    q: str | None = Query(None, description="text search, as on the list"),
) -> StreamingResponse:
    """Every opportunity you may see, with the same filters and search as the list (no paging)."""
    filters = {k: v for k, v in list_filters(request).items() if k != "status"}
    rows = list(
        access.export_rows(session, scope=who.scope, filters=filters, status=status, search=q)
    )

    return StreamingResponse(
        csv_lines(access.EXPORT_COLUMNS, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="opportunities.csv"'},
    )


@router.get("/{opp_id}", response_model=OpportunityRead, summary="Read one opportunity")
def get(opp_id: int, response: Response, session: SessionDep, who: CurrentUser) -> Opportunity:
    return tagged(response, access.get_visible(session, opp_id, scope=who.scope))  # type: ignore[no-any-return]


@router.get("/{opp_id}/events", response_model=list[EventRead], summary="Event timeline")
def events(opp_id: int, session: SessionDep, who: CurrentUser) -> Any:
    return access.events(session, access.get_visible(session, opp_id, scope=who.scope))


@router.post("", response_model=OpportunityRead, status_code=201, summary="Create")
def create(
    body: OpportunityCreate, response: Response, session: SessionDep, who: CurrentUser
) -> Opportunity:
    values = body.model_dump()
    return tagged(response, access.create(session, scope=who.scope, **values))  # type: ignore[no-any-return]


def _warn(session: Session, response: Response) -> None:
    # A move the playbook only warns about still lands; the missing items travel with it.
    if header := gate.warning_header(session):
        response.headers["Warning"] = header


def _expected(if_match: str | None, version: int | None) -> tuple[versioning.Expected | None, ...]:
    return versioning.from_if_match(if_match), versioning.from_body(version)


@router.patch(
    "/{opp_id}", response_model=OpportunityRead, summary="Change fields", responses=STALE_ERRORS
)
def patch(
    opp_id: int,
    body: OpportunityUpdate,
    response: Response,
    session: SessionDep,
    who: CurrentUser,
    if_match: str | None = IfMatch,
) -> Opportunity:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    values = body.model_dump(exclude_unset=True)
    expected = _expected(if_match, values.pop("version", None))
    updated = access.update(session, opp, scope=who.scope, expected=expected, **values)
    _warn(session, response)
    return tagged(response, updated)  # type: ignore[no-any-return]


@router.delete(
    "/{opp_id}", status_code=204, summary="Delete an opportunity", responses=STALE_ERRORS
)
def delete(
    opp_id: int, session: SessionDep, who: CurrentUser, if_match: str | None = IfMatch
) -> Response:
    """Deletes the deal with its event history and the model predictions made for it; refused
    with 409, naming them, while activities, contracts or converted leads point at it."""
    opp = access.get_visible(session, opp_id, scope=who.scope)
    access.delete(session, opp, scope=who.scope, expected=(versioning.from_if_match(if_match),))
    return Response(status_code=204)


@router.post(
    "/{opp_id}/stage",
    response_model=OpportunityRead,
    summary="Move to a stage",
    responses=STALE_ERRORS,
)
def move(
    opp_id: int,
    body: StageMove,
    response: Response,
    session: SessionDep,
    who: CurrentUser,
    if_match: str | None = IfMatch,
) -> Opportunity:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    moved = access.move_stage(
        session,
        opp,
        body.stage,
        scope=who.scope,
        loss_reason=body.loss_reason,
        expected=_expected(if_match, body.version),
    )
    _warn(session, response)
    return tagged(response, moved)  # type: ignore[no-any-return]


@router.post(
    "/{opp_id}/close",
    response_model=OpportunityRead,
    summary="Close won or lost",
    responses=STALE_ERRORS,
)
def close(
    opp_id: int,
    body: CloseRequest,
    response: Response,
    session: SessionDep,
    who: CurrentUser,
    if_match: str | None = IfMatch,
) -> Opportunity:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    closed = access.close(
        session,
        opp,
        scope=who.scope,
        won=body.won,
        loss_reason=body.loss_reason,
        expected=_expected(if_match, body.version),
    )
    _warn(session, response)
    return tagged(response, closed)  # type: ignore[no-any-return]


stages_router = APIRouter(prefix="/stages", tags=["opportunities"], responses=ERRORS)


@stages_router.get("", response_model=list[StageRead], summary="Pipeline stages in order")
def list_stages(session: SessionDep, who: CurrentUser) -> list[PipelineStage]:
    from salesops.pipeline import stages

    return stages.ordered(session)
