"""The demo company's methodology: the shipped MEDDICC playbook in force, checklists ticked on
most open deals (not all: some deals lack exit criteria, something for hygiene to find),
feedback from the field with votes and triage, a few coaching notes, today's hygiene
snapshot, and a sales tool stack with waste to discover. Deterministic for a seed;
set-based SQL so a 20M-deal demo stays fast."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import and_, func, insert, literal, select, true, update
from sqlalchemy.orm import Session

from salesops.models import (
    CoachingNote,
    DealChecklistItem,
    Feedback,
    FeedbackVote,
    Opportunity,
    PipelineStage,
    Role,
    SalesTool,
    StageCategory,
    ToolUsage,
    User,
)
from salesops.playbooks import gate, inspection, service

SHIPPED = Path(__file__).resolve().parent / "meddicc.yaml"
# Share of open deals with an item of an earlier stage ticked, and of their current stage.
DONE_EARLIER, DONE_CURRENT = 96, 35
# The daily snapshot reads every open deal into Python: beyond this size the demo skips it.
SNAPSHOT_LIMIT = 200_000

FEEDBACK = (
    ("tools", "CPQ takes minutes to price a multi-year deal", "Quotes with 3+ years time out."),
    ("leads", "Inbound leads arrive without a phone number", "About half of last week's."),
    ("process", "Discovery exit needs the economic buyer too early", "SMB deals rarely have one."),
    ("content", "No battle card against the new competitor", "Lost two deals to them this month."),
    ("tools", "Dialer and CRM log calls twice", "Every call shows up as two activities."),
    ("process", "Forecast call form due on Monday morning", "Friday afternoon would fit better."),
    ("content", "Case studies are all enterprise", "Need mid-market examples for proposals."),
    ("leads", "Lead routing sends EMEA leads to US reps", "Seen for leads from partner events."),
)
TRIAGE = (
    ("done", "Fixed by moving CPQ to the EU instance", "CPQ runs on the EU instance"),
    ("planned", "Enrichment vendor trial starts next month", None),
    ("triaged", "Looking at SMB-specific criteria", None),
)


def seed_demo(session: Session, *, end: date, seed: int, opportunities: int) -> None:
    """Load the playbook, tick checklists, write feedback and notes, take the snapshot."""
    rng = random.Random(seed)
    service.load(session, SHIPPED)
    _next_steps(session)
    _tick_checklists(session)
    at = datetime.combine(end, time(9), tzinfo=UTC)
    _feedback(session, rng, at)
    _notes(session, rng, at)
    _tool_stack(session, end)
    if opportunities <= SNAPSHOT_LIMIT:
        inspection.take_snapshot(session, on=end)


NEXT_STEPS = (
    "Book the demo with the team lead",
    "Send the business case to the CFO",
    "Agree the evaluation plan",
    "Confirm the signature process with legal",
)
# One open deal in NO_NEXT_STEP has none: what the no-next-step flag is there to find.
NO_NEXT_STEP = 6


def _next_steps(session: Session) -> None:
    open_stages = select(PipelineStage.id).where(PipelineStage.category == StageCategory.OPEN)
    for i, text in enumerate(NEXT_STEPS):
        session.execute(
            update(Opportunity)
            .where(
                Opportunity.stage_id.in_(open_stages),
                (Opportunity.id * 13) % NO_NEXT_STEP == i + 1,
            )
            .values(next_step=text)
        )
    # The rest of the remainders but 0 also get one: 5 of 6 deals have a next step.
    session.execute(
        update(Opportunity)
        .where(
            Opportunity.stage_id.in_(open_stages),
            (Opportunity.id * 13) % NO_NEXT_STEP == len(NEXT_STEPS) + 1,
        )
        .values(next_step=NEXT_STEPS[0])
    )


def _tick_checklists(session: Session) -> None:
    playbook = gate.active_playbook(session)
    assert playbook is not None
    order = {s.name: s.sort_order for s in session.scalars(select(PipelineStage))}
    salt = 0
    for play in playbook.stages:
        for item in play.checklist:
            salt += 17
            for earlier, share in ((True, DONE_EARLIER), (False, DONE_CURRENT)):
                stage_ids = select(PipelineStage.id).where(
                    PipelineStage.category == StageCategory.OPEN,
                    PipelineStage.sort_order > order[play.stage]
                    if earlier
                    else PipelineStage.sort_order == order[play.stage],
                )
                chosen = select(Opportunity.id, literal(item.key), true(), literal(None)).where(
                    and_(
                        Opportunity.stage_id.in_(stage_ids),
                        (Opportunity.id * 31 + salt) % 100 < share,
                    )
                )
                session.execute(
                    insert(DealChecklistItem).from_select(
                        ["opportunity_id", "item_key", "done", "updated_by_id"], chosen
                    )
                )


def _users(session: Session, *roles: Role) -> list[int]:
    return list(session.scalars(select(User.id).where(User.role.in_(roles)).order_by(User.id)))


def _feedback(session: Session, rng: random.Random, at: datetime) -> None:
    authors = _users(session, Role.SALES_REP, Role.MANAGER)
    ops = _users(session, Role.OPS_REP, Role.DIRECTOR, Role.ADMIN)
    if not authors:
        return
    for i, (category, title, text) in enumerate(FEEDBACK):
        author = rng.choice(authors)
        created = at - timedelta(days=rng.randint(2, 60))
        item = Feedback(
            author_id=author,
            category=category,
            title=title,
            text=text,
            status="new",
            created_at=created,
            updated_at=created,
        )
        if i < len(TRIAGE) and ops:
            item.status, item.response, item.change_made = TRIAGE[i]
            item.owner_id = rng.choice(ops)
        session.add(item)
        session.flush()
        voters = rng.sample(authors, k=min(len(authors), rng.randint(0, 12)))
        session.add_all(
            FeedbackVote(feedback_id=item.id, user_id=v, at=created) for v in voters if v != author
        )
    session.flush()


def _notes(session: Session, rng: random.Random, at: datetime) -> None:
    managers = _users(session, Role.MANAGER)
    open_ids = list(
        session.scalars(
            select(Opportunity.id)
            .join(PipelineStage)
            .where(PipelineStage.category == StageCategory.OPEN)
            .order_by(Opportunity.id)
            .limit(400)
        )
    )
    if not managers or not open_ids:
        return
    for opp_id in rng.sample(open_ids, k=min(6, len(open_ids))):
        session.add(
            CoachingNote(
                opportunity_id=opp_id,
                author_id=rng.choice(managers),
                at=at,
                flag="single_threaded",
                text="Who else is involved? Get a second contact before the proposal.",
            )
        )
    session.flush()


# The demo's tool stack, with waste to find: a dialer bought for everyone and used by a third,
# a second recorder nobody uses, and two tools that both send sequences.
TOOLS = (
    ("CRM", "Salesforce", "crm", 1.0, 1500, ("pipeline", "forecasting", "email sequences")),
    ("Dialer", "Aircall", "calling", 1.0, 480, ("calling", "call recording")),
    ("Engage", "Outreach", "sales engagement", 0.8, 1200, ("email sequences", "calling")),
    ("Recorder", "Chorus", "conversation intelligence", 0.5, 900, ("call recording",)),
    ("Intent", "Bombora", "data", 0.1, 3000, ("intent data",)),
)
# Share of seats active in the last three months, per tool.
ACTIVE = {"CRM": 0.95, "Dialer": 0.35, "Engage": 0.7, "Recorder": 0.0, "Intent": 1.0}


def _tool_stack(session: Session, end: date) -> None:
    reps = session.scalar(select(func.count()).select_from(User).where(User.role == Role.SALES_REP))
    seats_base = max(int(reps or 0), 10)
    months = [date(end.year, end.month, 1)]
    for _ in range(2):
        last = months[-1] - timedelta(days=1)
        months.append(date(last.year, last.month, 1))
    for name, vendor, category, share, per_seat, capabilities in TOOLS:
        seats = max(int(seats_base * share), 1)
        tool = SalesTool(
            name=name,
            vendor=vendor,
            category=category,
            seats=seats,
            annual_cost=Decimal(per_seat * seats),
            renewal_date=date(end.year + 1, (end.month % 12) + 1, 1),
            capabilities=list(capabilities),
        )
        session.add(tool)
        session.flush()
        session.add_all(
            ToolUsage(tool_id=tool.id, month=m, active_users=int(seats * ACTIVE[name]))
            for m in months
        )
    session.flush()
