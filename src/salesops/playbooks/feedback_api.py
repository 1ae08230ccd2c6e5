"""REST endpoints for feedback from the field: submit, list, read with history, triage (ops,
directors, admins; versioned), vote."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from salesops.api.crud import ERRORS, STALE_ERRORS, IfMatch
from salesops.api.deps import CurrentUser, SessionDep
from salesops.api.schemas import VERSION_HELP
from salesops.crm import versioning
from salesops.db.limits import INT_LIMIT
from salesops.playbooks import feedback
from salesops.playbooks.feedback import Item

router = APIRouter(prefix="/feedback", tags=["feedback"], responses=ERRORS)

Category = Literal["process", "tools", "leads", "content", "other"]
Status = Literal["new", "triaged", "planned", "in_progress", "done", "declined"]


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)
    opportunity_id: int | None = Field(None, ge=1, le=INT_LIMIT)


class FeedbackTriage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    owner_id: int | None = Field(None, ge=1, le=INT_LIMIT, description="user id of the owner")
    response: str | None = Field(None, max_length=10_000)
    change_made: str | None = Field(
        None, max_length=10_000, description="what changed because of it (process, tool...)"
    )
    version: int | None = Field(None, ge=1, description=VERSION_HELP)


class FeedbackRead(BaseModel):
    id: int
    author_id: int | None
    category: str
    title: str
    text: str
    opportunity_id: int | None = Field(description="the deal, when you may see it")
    status: str
    owner_id: int | None
    response: str | None
    change_made: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    votes: int
    voted: bool

    @classmethod
    def of(cls, item: Item) -> FeedbackRead:
        f = item.feedback
        return cls(
            id=f.id,
            author_id=f.author_id,
            category=f.category,
            title=f.title,
            text=f.text,
            opportunity_id=item.opportunity_id,
            status=f.status,
            owner_id=f.owner_id,
            response=f.response,
            change_made=f.change_made,
            created_at=f.created_at,
            updated_at=f.updated_at,
            version=f.version,
            votes=item.votes,
            voted=item.voted,
        )


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    user_id: int | None
    action: str
    changes: dict[str, Any]


class FeedbackDetail(FeedbackRead):
    history: list[ChangeRead]


@router.get("", response_model=list[FeedbackRead], summary="List feedback")
def list_(
    session: SessionDep,
    who: CurrentUser,
    status: Status | None = Query(None),
    category: Category | None = Query(None),
    sort: Literal["votes", "new"] = Query("votes"),
    limit: int = Query(200, ge=1, le=1000),
) -> list[FeedbackRead]:
    found = feedback.items(
        session, scope=who.scope, status=status, category=category, sort=sort, limit=limit
    )
    return [FeedbackRead.of(i) for i in found]


@router.post("", response_model=FeedbackRead, status_code=201, summary="Submit feedback")
def submit(
    body: FeedbackCreate, response: Response, session: SessionDep, who: CurrentUser
) -> FeedbackRead:
    created = feedback.submit(session, scope=who.scope, **body.model_dump())
    response.headers["ETag"] = versioning.etag(created)
    return FeedbackRead.of(feedback.item(session, created.id, scope=who.scope))


@router.get("/{feedback_id}", response_model=FeedbackDetail, summary="One item and its history")
def read(feedback_id: int, response: Response, session: SessionDep, who: CurrentUser) -> Any:
    found = feedback.item(session, feedback_id, scope=who.scope)
    response.headers["ETag"] = versioning.etag(found.feedback)
    history = [ChangeRead.model_validate(e) for e in feedback.history(session, found.feedback)]
    return FeedbackDetail(**FeedbackRead.of(found).model_dump(), history=history)


@router.patch(
    "/{feedback_id}", response_model=FeedbackRead, summary="Triage", responses=STALE_ERRORS
)
def triage(
    feedback_id: int,
    body: FeedbackTriage,
    response: Response,
    session: SessionDep,
    who: CurrentUser,
    if_match: str | None = IfMatch,
) -> FeedbackRead:
    """Status, owner, response and what changed (ops, directors, admins)."""
    item = feedback.get(session, feedback_id)
    values = body.model_dump(exclude_unset=True)
    expected = (
        versioning.from_if_match(if_match),
        versioning.from_body(values.pop("version", None)),
    )
    feedback.triage(session, item, scope=who.scope, expected=expected, **values)
    response.headers["ETag"] = versioning.etag(item)
    return FeedbackRead.of(feedback.item(session, feedback_id, scope=who.scope))


@router.post("/{feedback_id}/vote", response_model=FeedbackRead, summary="Vote for it")
def vote(feedback_id: int, session: SessionDep, who: CurrentUser) -> FeedbackRead:
    feedback.vote(session, feedback.get(session, feedback_id), scope=who.scope)
    return FeedbackRead.of(feedback.item(session, feedback_id, scope=who.scope))


@router.delete("/{feedback_id}/vote", response_model=FeedbackRead, summary="Withdraw your vote")
def unvote(feedback_id: int, session: SessionDep, who: CurrentUser) -> FeedbackRead:
    feedback.vote(session, feedback.get(session, feedback_id), scope=who.scope, up=False)
    return FeedbackRead.of(feedback.item(session, feedback_id, scope=who.scope))
