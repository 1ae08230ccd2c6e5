"""The pipeline service behind row-level scoping and the audit log, for the API and the UI.

Every scoped stage change here also meets the playbook's exit criteria (`playbooks.gate`),
so the API, the CLI and the dashboard enforce them alike."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import Scope, not_visible
from salesops.crm import records, versioning
from salesops.crm.resources import ACCOUNTS, OPPORTUNITIES
from salesops.db.types import utc_now
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import (
    ForecastCategory,
    Opportunity,
    OpportunityEvent,
    PipelineStage,
    Rep,
    User,
)
from salesops.pipeline import service, stages
from salesops.playbooks import gate

STATUSES = ("open", "won", "lost", "closed")


def status_clause(status: str) -> ColumnElement[bool]:
    """Opportunities whose stage is open, won, lost, or closed (won or lost)."""
    if status not in STATUSES:
        raise ValidationFailed(
            "invalid filter", [Problem(f"status must be one of {', '.join(STATUSES)}", "status")]
        )
    categories = ["won", "lost"] if status == "closed" else [status]
    return Opportunity.stage_id.in_(
        select(PipelineStage.id).where(PipelineStage.category.in_(categories))
    )


def list_opportunities(
    session: Session,
    *,
    scope: Scope,
    filters: Mapping[str, str] | None = None,
    status: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> records.Page[Opportunity]:
    """A page of the opportunities the scope may see."""
    where = [status_clause(status)] if status else []
    return records.list_records(
        session,
        OPPORTUNITIES,
        scope=scope,
        filters=filters,
        search=search,
        sort=sort,
        limit=limit,
        offset=offset,
        where=where,
    )


def get_visible(session: Session, opp_id: int, *, scope: Scope) -> Opportunity:
    """Opportunity `opp_id` if the scope may see it (NotFound otherwise, as if missing)."""
    return records.get_record(session, OPPORTUNITIES, opp_id, scope=scope)


def events(session: Session, opp: Opportunity) -> list[OpportunityEvent]:
    """The event timeline of an opportunity, oldest first."""
    return list(
        session.scalars(
            select(OpportunityEvent)
            .where(OpportunityEvent.opportunity_id == opp.id)
            .order_by(OpportunityEvent.at, OpportunityEvent.id)
        )
    )


def _rep(session: Session, rep_id: int, scope: Scope) -> Rep:
    rep = session.get(Rep, rep_id)
    if rep is None or not scope.sees_rep(rep_id):
        raise not_visible("rep", rep_id)
    return rep


def _stage(session: Session, stage: str | int) -> PipelineStage:
    if isinstance(stage, int) or (isinstance(stage, str) and stage.isdigit()):
        found = session.get(PipelineStage, int(stage))
        if found is None:
            raise NotFound(f"stage {stage} does not exist")
        return found
    return stages.by_name(session, stage)


def _category(value: str) -> ForecastCategory:
    try:
        return ForecastCategory(value)
    except ValueError as exc:
        allowed = ", ".join(c.value for c in ForecastCategory)
        raise ValidationFailed(
            "invalid forecast category",
            [Problem(f"{value!r} is not one of {allowed}", "forecast_category")],
        ) from exc


def _user(session: Session, scope: Scope) -> User | None:
    return session.get(User, scope.user_id) if scope.user_id is not None else None


def _audit(
    session: Session, scope: Scope, action: str, opp: Opportunity, before: Mapping[str, Any]
) -> None:
    changes = audit.diff(before, records.values_of(opp))
    if changes:
        audit.record(
            session,
            user_id=scope.user_id,
            action=action,
            entity="opportunity",
            entity_id=opp.id,
            changes=changes,
        )


def create(
    session: Session,
    *,
    scope: Scope,
    name: str,
    amount: Decimal,
    close_date: date,
    owner_id: int | None = None,
    account_id: int | None = None,
    stage: str | int | None = None,
    at: datetime | None = None,
    **options: Any,
) -> Opportunity:
    """Create an opportunity owned by `owner_id` (by default the caller's own rep)."""
    scope.require_record_write("create opportunities")
    owner_id = owner_id if owner_id is not None else scope.own_rep_id
    if owner_id is None:
        raise ValidationFailed("an opportunity needs an owner", [Problem("required", "owner_id")])
    owner = _rep(session, owner_id, scope)
    if account_id is not None:
        records.get_record(session, ACCOUNTS, account_id, scope=scope)
    opp = service.create_opportunity(
        session,
        name=name,
        owner=owner,
        amount=amount,
        close_date=close_date,
        at=at or utc_now(),
        by=_user(session, scope),
        stage=_stage(session, stage) if stage is not None else None,
        account_id=account_id,
        **options,
    )
    _audit(session, scope, "create", opp, {})
    return opp


def update(
    session: Session,
    opp: Opportunity,
    *,
    scope: Scope,
    at: datetime | None = None,
    owner_id: int | None = None,
    stage: str | int | None = None,
    forecast_category: str | None = None,
    expected: Sequence[versioning.Expected | None] = (),
    **changes: Any,
) -> Opportunity:
    """Change an opportunity; tracked fields become events, everything lands in the audit.

    `expected`: the version(s) the change is based on; a stale one is refused."""
    scope.require_record_write("change opportunities")
    versioning.check(opp, "opportunity", *expected)
    before = records.values_of(opp)
    from_stage = opp.stage.name
    service.update_opportunity(
        session,
        opp,
        at=at or utc_now(),
        by=_user(session, scope),
        owner=_rep(session, owner_id, scope) if owner_id is not None else None,
        stage=_stage(session, stage) if stage is not None else None,
        forecast_category=_category(forecast_category) if forecast_category else None,
        **changes,
    )
    gate.check_after_move(session, opp, from_stage, user_id=scope.user_id)
    versioning.flush(session, "opportunity", opp.id)
    _audit(session, scope, "update", opp, before)
    return opp


def move_stage(
    session: Session,
    opp: Opportunity,
    stage: str | int,
    *,
    scope: Scope,
    loss_reason: str | None = None,
    at: datetime | None = None,
    expected: Sequence[versioning.Expected | None] = (),
) -> Opportunity:
    """Move `opp` to another stage (closing or reopening it when the stage says so)."""
    scope.require_record_write("move opportunities")
    versioning.check(opp, "opportunity", *expected)
    before = records.values_of(opp)
    from_stage = opp.stage.name
    service.move_stage(
        session,
        opp,
        _stage(session, stage),
        at=at or utc_now(),
        by=_user(session, scope),
        loss_reason=loss_reason,
    )
    gate.check_after_move(session, opp, from_stage, user_id=scope.user_id)
    versioning.flush(session, "opportunity", opp.id)
    _audit(session, scope, "stage", opp, before)
    return opp


def close(
    session: Session,
    opp: Opportunity,
    *,
    scope: Scope,
    won: bool,
    loss_reason: str | None = None,
    at: datetime | None = None,
    expected: Sequence[versioning.Expected | None] = (),
) -> Opportunity:
    """Close `opp` as won or lost."""
    scope.require_record_write("close opportunities")
    versioning.check(opp, "opportunity", *expected)
    before = records.values_of(opp)
    from_stage = opp.stage.name
    service.close_opportunity(
        session, opp, won=won, at=at or utc_now(), by=_user(session, scope), loss_reason=loss_reason
    )
    gate.check_after_move(session, opp, from_stage, user_id=scope.user_id)
    versioning.flush(session, "opportunity", opp.id)
    _audit(session, scope, "close", opp, before)
    return opp


def delete(
    session: Session,
    opp: Opportunity,
    *,
    scope: Scope,
    expected: Sequence[versioning.Expected | None] = (),
) -> None:
    """Delete an opportunity the scope can see (see `service.delete_opportunity` for what
    goes with it and what refuses it); audited with its last values."""
    scope.require_record_write("delete opportunities")
    versioning.check(opp, "opportunity", *expected)
    before = records.values_of(opp)
    service.delete_opportunity(session, opp)
    versioning.flush(session, "opportunity", before["id"])
    audit.record(
        session,
        user_id=scope.user_id,
        action="delete",
        entity="opportunity",
        entity_id=before["id"],
        changes=audit.diff(before, {}),
    )


__all__ = [
    "close",
    "create",
    "delete",
    "events",
    "export_rows",
    "get_visible",
    "list_opportunities",
    "move_stage",
    "update",
]


EXPORT_COLUMNS = (
    "id",
    "name",
    "account_id",
    "owner_id",
    "stage",
    "amount",
    "currency",
    "close_date",
    "forecast_category",
    "type",
    "lead_source",
    "competitor",
    "loss_reason",
    "probability",
    "created_at",
    "closed_at",
)


def export_rows(
    session: Session,
    *,
    scope: Scope,
    filters: Mapping[str, str] | None = None,
    status: str | None = None,
    search: str | None = None,
    batch: int = 5000,
) -> Iterator[tuple[object, ...]]:
    """Every visible opportunity matching the filters and search, as plain rows, in id order."""
    where = [
        scope.opportunities(),
        *records.filter_clauses(OPPORTUNITIES, filters or {}, search),
    ]
    if status:
        where.append(status_clause(status))
    last_id = 0
    while True:
        chunk = session.execute(
            select(Opportunity, PipelineStage.name)
            .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
            .where(*where, Opportunity.id > last_id)
            .order_by(Opportunity.id)
            .limit(batch)
        ).all()
        if not chunk:
            return
        for opp, stage_name in chunk:
            values = records.values_of(opp)
            values["stage"] = stage_name
            yield tuple(values[c] for c in EXPORT_COLUMNS)
        last_id = chunk[-1][0].id
