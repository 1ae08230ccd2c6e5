"""REST endpoints for the sales tool stack: inventory, usage import, the stack report with
cost per active user, unused seats and overlaps, and software selections with decisions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep
from salesops.db.limits import DATE_MAX, DATE_MIN, INT_LIMIT, MONEY_LIMIT
from salesops.playbooks import tools

router = APIRouter(prefix="/tools", tags=["tool stack"], responses=ERRORS)
Name = Field(min_length=1, max_length=120)
Weight = Annotated[Decimal, Field(gt=0, le=1000, decimal_places=4, allow_inf_nan=False)]


class ToolCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Name
    vendor: str = Field("", max_length=120)
    category: str = Field("", max_length=60)
    seats: int = Field(0, ge=0, le=INT_LIMIT)
    annual_cost: Decimal = Field(
        Decimal(0), ge=0, le=MONEY_LIMIT, decimal_places=2, allow_inf_nan=False
    )
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    renewal_date: date | None = Field(None, ge=DATE_MIN, le=DATE_MAX)
    owner_id: int | None = Field(None, ge=1, le=INT_LIMIT)
    capabilities: list[str] = Field(default_factory=list, max_length=50)


class ToolRead(BaseModel):
    id: int
    name: str
    vendor: str
    category: str
    seats: int
    annual_cost: Decimal
    renewal_date: date | None
    capabilities: list[str]
    latest_month: date | None
    active_users: int
    unused_seats: int
    cost_per_active_user: Decimal | None
    unused_cost: Decimal


class StackRead(BaseModel):
    tools: list[ToolRead]
    overlaps: dict[str, list[str]]
    annual_cost: Decimal
    unused_cost: Decimal


class UsageUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(min_length=1, max_length=2_000_000, description="tool,month,active_users")
    name: str = Field("usage.csv", min_length=1, max_length=80)


class UsageResult(BaseModel):
    rows: int


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Name
    requirements: dict[str, Weight] = Field(description="requirement -> weight (above 0)")
    candidates: dict[str, dict[str, int]] = Field(
        description="candidate -> requirement -> score 0 to 5"
    )


class RankedRead(BaseModel):
    candidate: str
    score: Decimal
    by_requirement: dict[str, int]


class EvaluationRead(BaseModel):
    id: int
    name: str
    requirements: dict[str, str]
    ranking: list[RankedRead]
    decision: str | None
    rationale: str | None
    decided_by_id: int | None
    decided_at: datetime | None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate: str = Name
    rationale: str = Field("", max_length=10_000)


@router.get("", response_model=StackRead, summary="The tool stack and its waste")
def stack(session: SessionDep, who: CurrentUser) -> StackRead:
    found = tools.stack(session, scope=who.scope)
    return StackRead(
        tools=[
            ToolRead(
                id=t.id,
                name=t.name,
                vendor=t.vendor,
                category=t.category,
                seats=t.seats,
                annual_cost=t.annual_cost,
                renewal_date=t.renewal_date,
                capabilities=list(t.capabilities),
                latest_month=r.latest_month,
                active_users=r.active_users,
                unused_seats=r.unused_seats,
                cost_per_active_user=r.cost_per_active_user,
                unused_cost=r.unused_cost,
            )
            for t, r in found.tools
        ],
        overlaps=found.overlaps,
        annual_cost=found.annual_cost,
        unused_cost=found.unused_cost,
    )


class ToolCreated(BaseModel):
    id: int


@router.post("", status_code=201, response_model=ToolCreated, summary="Add a tool")
def add(body: ToolCreate, session: SessionDep, who: CurrentUser) -> ToolCreated:
    return ToolCreated(id=tools.add_tool(session, scope=who.scope, **body.model_dump()).id)


@router.post("/usage", response_model=UsageResult, summary="Import monthly active users")
def usage(body: UsageUpload, session: SessionDep, who: CurrentUser) -> UsageResult:
    return UsageResult(rows=tools.import_usage(session, body.csv, scope=who.scope, name=body.name))


def _evaluation(found: Any) -> EvaluationRead:
    return EvaluationRead(
        id=found.id,
        name=found.name,
        requirements=found.requirements,
        ranking=[
            RankedRead(candidate=r.candidate, score=r.score, by_requirement=r.by_requirement)
            for r in tools.ranking(found)
        ],
        decision=found.decision,
        rationale=found.rationale,
        decided_by_id=found.decided_by_id,
        decided_at=found.decided_at,
    )


@router.post(
    "/evaluations", status_code=201, response_model=EvaluationRead, summary="Start a selection"
)
def evaluate(body: EvaluationCreate, session: SessionDep, who: CurrentUser) -> EvaluationRead:
    found = tools.create_evaluation(session, scope=who.scope, **body.model_dump())
    return _evaluation(found)


@router.get(
    "/evaluations/{evaluation_id}", response_model=EvaluationRead, summary="Candidates ranked"
)
def evaluation(evaluation_id: int, session: SessionDep, who: CurrentUser) -> EvaluationRead:
    return _evaluation(tools.get_evaluation(session, evaluation_id, scope=who.scope))


@router.post(
    "/evaluations/{evaluation_id}/decision",
    response_model=EvaluationRead,
    summary="Record the decision",
)
def decide(
    evaluation_id: int, body: Decision, session: SessionDep, who: CurrentUser
) -> EvaluationRead:
    found = tools.get_evaluation(session, evaluation_id, scope=who.scope)
    tools.decide(
        session, found, scope=who.scope, candidate=body.candidate, rationale=body.rationale
    )
    return _evaluation(found)
