"""Deal hygiene, the service: reads the open deals a scope may see, hands them to the pure
core (`hygiene`), keeps daily per-rep snapshots for the trend, and coaching notes on deals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import Scope, not_visible, system_scope
from salesops.db.types import utc_now
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import (
    Activity,
    CoachingNote,
    DealChecklistItem,
    HygieneSnapshot,
    Opportunity,
    OpportunityEvent,
    PipelineStage,
    Rep,
    Role,
    StageCategory,
)
from salesops.playbooks import gate, hygiene
from salesops.playbooks.criteria import DealFacts, missing_for
from salesops.playbooks.hygiene import AmountChange, DealFlags, DealRecord, RepScore, Thresholds

COACHES = frozenset({Role.MANAGER, Role.DIRECTOR, Role.OPS_REP, Role.ADMIN})


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class Inspection:
    """Flagged deals and rep scores at one moment, for one scope."""

    at: datetime
    deals: list[DealFlags]
    reps: list[RepScore]
    names: dict[int, str]
    deal_names: dict[int, tuple[str, Decimal]]
    limits: dict[str, float]


def won_stage_limits(session: Session, thresholds: Thresholds) -> dict[str, float]:
    """Days per stage beyond which a deal is stuck, from every won deal's stage history
    (company-wide: the benchmark is the company's, only the deals shown are scoped)."""
    won = (
        select(Opportunity.id)
        .join(PipelineStage)
        .where(PipelineStage.category == StageCategory.WON)
    )
    rows = session.execute(
        select(OpportunityEvent.opportunity_id, OpportunityEvent.at, OpportunityEvent.new_value)
        .where(
            OpportunityEvent.opportunity_id.in_(won),
            OpportunityEvent.field.in_(("created", "stage")),
        )
        .order_by(OpportunityEvent.opportunity_id, OpportunityEvent.at, OpportunityEvent.id)
    ).all()
    entries: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for opp_id, at, stage in rows:
        entries[opp_id].append((at, stage or ""))
    return hygiene.stage_limits(hygiene.stage_durations(entries.values()), thresholds)


def _records(session: Session, scope: Scope, rep_id: int | None) -> list[DealRecord]:
    where = [scope.opportunities(), PipelineStage.category == StageCategory.OPEN]
    if rep_id is not None:
        if not scope.sees_rep(rep_id):
            raise not_visible("rep", rep_id)
        where.append(Opportunity.owner_id == rep_id)
    opps = session.execute(
        select(Opportunity, PipelineStage.name).join(PipelineStage).where(*where)
    ).all()
    ids = select(Opportunity.id).join(PipelineStage).where(*where).scalar_subquery()
    last_activity: dict[int, datetime] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Activity.opportunity_id, func.max(Activity.occurred_at))
            .where(Activity.opportunity_id.in_(ids))
            .group_by(Activity.opportunity_id)
        ).all()
    )
    contacts: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Activity.opportunity_id, func.count(func.distinct(Activity.contact_id)))
            .where(Activity.opportunity_id.in_(ids))
            .group_by(Activity.opportunity_id)
        ).all()
    )
    entered: dict[int, datetime] = dict(
        session.execute(  # type: ignore[arg-type]
            select(OpportunityEvent.opportunity_id, func.max(OpportunityEvent.at))
            .where(OpportunityEvent.opportunity_id.in_(ids), OpportunityEvent.field == "stage")
            .group_by(OpportunityEvent.opportunity_id)
        ).all()
    )
    changes: dict[int, list[AmountChange]] = defaultdict(list)
    for opp_id, at, old, new in session.execute(
        select(
            OpportunityEvent.opportunity_id,
            OpportunityEvent.at,
            OpportunityEvent.old_value,
            OpportunityEvent.new_value,
        ).where(OpportunityEvent.opportunity_id.in_(ids), OpportunityEvent.field == "amount")
    ):
        if old is not None and new is not None:
            changes[opp_id].append(AmountChange(at, Decimal(old), Decimal(new)))
    missing = _missing_exit(session, ids, [opp for opp, _ in opps])
    return [
        DealRecord(
            id=opp.id,
            owner_id=opp.owner_id,
            stage=stage,
            close_date=opp.close_date,
            next_step=opp.next_step,
            created_at=opp.created_at,
            stage_entered_at=entered.get(opp.id, opp.created_at),
            last_activity_at=last_activity.get(opp.id),
            contacts=int(contacts.get(opp.id, 0)),
            amount_changes=tuple(changes.get(opp.id, ())),
            missing_exit=missing.get(opp.id, ()),
        )
        for opp, stage in opps
    ]


def _missing_exit(
    session: Session, ids: object, opps: list[Opportunity]
) -> dict[int, tuple[str, ...]]:
    playbook = gate.active_playbook(session)
    if playbook is None or not opps:
        return {}
    checked: dict[int, set[str]] = defaultdict(set)
    for opp_id, key in session.execute(
        select(DealChecklistItem.opportunity_id, DealChecklistItem.item_key).where(
            DealChecklistItem.opportunity_id.in_(ids),  # type: ignore[arg-type]
            DealChecklistItem.done.is_(True),
        )
    ):
        checked[opp_id].add(key)
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    for opp_id, kind, n in session.execute(
        select(Activity.opportunity_id, Activity.kind, func.count())
        .where(Activity.opportunity_id.in_(ids))  # type: ignore[arg-type]
        .group_by(Activity.opportunity_id, Activity.kind)
    ):
        kinds[opp_id][kind] = int(n)
    out: dict[int, tuple[str, ...]] = {}
    order = [name for name, category in gate.stage_order(session) if category == "open"]
    for opp in opps:
        # The stages the deal has passed: their criteria should have been met on the way.
        passed = order[: order.index(opp.stage.name)] if opp.stage.name in order else []
        plays = [p for p in (playbook.play(name) for name in passed) if p and p.has_criteria]
        if not plays:
            continue
        facts = DealFacts(gate.filled_fields(opp), frozenset(checked[opp.id]), kinds[opp.id])
        lacking = [m for play in plays for m in missing_for(play, facts)]
        if lacking:
            out[opp.id] = tuple(str(m) for m in lacking)
    return out


def inspect(
    session: Session,
    *,
    scope: Scope,
    at: datetime | None = None,
    rep_id: int | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Inspection:
    """The hygiene flags of the open deals `scope` sees (of one rep with `rep_id`) at `at`."""
    now = at or utc_now()
    records = _records(session, scope, rep_id)
    limits = won_stage_limits(session, thresholds)
    deals = hygiene.inspect(records, now=now, limits=limits, thresholds=thresholds)
    reps = hygiene.rep_scores(deals)
    names: dict[int, str] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Rep.id, Rep.name).where(Rep.id.in_({d.deal.owner_id for d in deals}))
        ).all()
    )
    deal_names = {
        opp_id: (name, amount)
        for opp_id, name, amount in session.execute(
            select(Opportunity.id, Opportunity.name, Opportunity.amount).where(
                Opportunity.id.in_([d.deal.id for d in deals])
            )
        )
    }
    return Inspection(now, deals, reps, names, deal_names, limits)


def take_snapshot(session: Session, *, on: date | None = None) -> int:
    """Store every rep's hygiene for day `on` (default today; again the same day replaces it).
    Returns the number of reps stored."""
    day = on or utc_now().date()
    found = inspect(session, scope=system_scope(), at=end_of(day) if on else None)
    existing = {
        s.rep_id: s
        for s in session.scalars(select(HygieneSnapshot).where(HygieneSnapshot.taken_on == day))
    }
    for rep in found.reps:
        row = existing.get(rep.rep_id) or HygieneSnapshot(taken_on=day, rep_id=rep.rep_id)
        row.open_deals, row.flagged_deals = rep.open_deals, rep.flagged_deals
        row.flag_counts, row.score = dict(rep.flag_counts), rep.score
        session.add(row)
    session.flush()
    return len(found.reps)


def trend(
    session: Session, *, scope: Scope, rep_id: int | None = None, since: date | None = None
) -> list[HygieneSnapshot]:
    """The stored daily snapshots of the reps `scope` sees, oldest first."""
    query = select(HygieneSnapshot).where(
        HygieneSnapshot.rep_id.in_(select(Rep.id).where(scope.reps()))
    )
    if rep_id is not None:
        if not scope.sees_rep(rep_id):
            raise not_visible("rep", rep_id)
        query = query.where(HygieneSnapshot.rep_id == rep_id)
    if since is not None:
        query = query.where(HygieneSnapshot.taken_on >= since)
    return list(session.scalars(query.order_by(HygieneSnapshot.taken_on, HygieneSnapshot.rep_id)))


def notes(session: Session, opp: Opportunity) -> list[CoachingNote]:
    """The coaching notes on a deal (already checked visible), newest first."""
    return list(
        session.scalars(
            select(CoachingNote)
            .where(CoachingNote.opportunity_id == opp.id)
            .order_by(CoachingNote.at.desc(), CoachingNote.id.desc())
        )
    )


def add_note(
    session: Session, opp: Opportunity, *, scope: Scope, text: str, flag: str | None = None
) -> CoachingNote:
    """A coaching note on `opp` by a manager (or ops, director, admin) who sees it."""
    scope.require_role(COACHES, "write coaching notes")
    if flag is not None and flag not in hygiene.FLAGS:
        known = ", ".join(hygiene.FLAGS)
        raise ValidationFailed("unknown flag", [Problem(f"{flag!r} is not one of {known}", "flag")])
    note = CoachingNote(
        opportunity_id=opp.id, author_id=scope.user_id, at=utc_now(), flag=flag, text=text.strip()
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        user_id=scope.user_id,
        action="coach",
        entity="opportunity",
        entity_id=opp.id,
        changes={"note": note.id, "flag": flag, "text": note.text},
    )
    return note


def resolve_note(session: Session, note_id: int, *, scope: Scope) -> CoachingNote:
    """Mark a note dealt with: the deal's owner side or a coach, on a deal they see."""
    note = session.get(CoachingNote, note_id)
    if note is None:
        raise NotFound(f"coaching note {note_id} does not exist")
    opp = session.get(Opportunity, note.opportunity_id)
    if opp is None or not scope.sees_rep(opp.owner_id):
        raise NotFound(f"coaching note {note_id} does not exist")
    scope.require_record_write("resolve coaching notes")
    if note.resolved_at is None:
        note.resolved_at = utc_now()
        audit.record(
            session,
            user_id=scope.user_id,
            action="resolve",
            entity="coaching_note",
            entity_id=note.id,
            changes={"opportunity": opp.id},
        )
    return note


def open_note_counts(session: Session, opp_ids: list[int]) -> dict[int, int]:
    """Unresolved coaching notes per deal."""
    if not opp_ids:
        return {}
    rows = session.execute(
        select(CoachingNote.opportunity_id, func.count())
        .where(CoachingNote.opportunity_id.in_(opp_ids), CoachingNote.resolved_at.is_(None))
        .group_by(CoachingNote.opportunity_id)
    ).all()
    return {opp_id: int(n) for opp_id, n in rows}
