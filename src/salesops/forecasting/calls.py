"""Forecast calls: reps submit commit / best case / pipeline; managers adjust their team's.

Every submission is a new row; the standing call of a (rep, team, period) is the latest. A
team's effective call is its manager's adjusted call when there is one, otherwise the sum of
its direct reps' calls and its sub-teams' effective calls: that is how calls roll up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import Scope, not_visible
from salesops.db.types import as_utc, utc_now
from salesops.errors import PermissionDenied, Problem, ValidationFailed
from salesops.forecasting.periods import Period
from salesops.models import (
    ForecastSubmission,
    Opportunity,
    PipelineStage,
    Rep,
    Team,
    TeamMembership,
    User,
)

ZERO = Decimal("0.00")
CATEGORIES = ("commit", "best_case", "pipeline")


def _check_amounts(commit: Decimal, best_case: Decimal, pipeline: Decimal) -> None:
    problems = [
        Problem(f"must not be negative (got {value})", name)
        for name, value in zip(CATEGORIES, (commit, best_case, pipeline), strict=True)
        if value < 0
    ]
    if commit > best_case:
        problems.append(Problem(f"commit {commit} exceeds best case {best_case}", "commit"))
    if best_case > pipeline:
        problems.append(Problem(f"best case {best_case} exceeds pipeline {pipeline}", "best_case"))
    if problems:
        raise ValidationFailed("invalid forecast call", problems)


def managed_teams(session: Session, rep: Rep) -> set[int]:
    """The teams `rep` manages, with every team below them."""
    parents = dict(session.execute(select(Team.id, Team.parent_id)).tuples().all())
    direct = set(session.scalars(select(Team.id).where(Team.manager_id == rep.id)))
    out = set()
    for team in parents:
        cursor: int | None = team
        seen: set[int] = set()
        while cursor is not None and cursor not in seen:
            if cursor in direct:
                out.add(team)
                break
            seen.add(cursor)
            cursor = parents.get(cursor)
    return out


def submit_call(
    session: Session,
    *,
    rep: Rep,
    period: Period,
    commit: Decimal,
    best_case: Decimal,
    pipeline: Decimal,
    team: Team | None = None,
    note: str | None = None,
    by: User | None = None,
    at: datetime | None = None,
) -> ForecastSubmission:
    """Record `rep`'s call for `period` (their own, or their team's when `team` is given)."""
    _check_amounts(commit, best_case, pipeline)
    if team is not None and team.id not in managed_teams(session, rep):
        raise PermissionDenied(f"{rep.name} does not manage team {team.name}")
    submission = ForecastSubmission(
        period_start=period.start,
        period_end=period.last_day,
        rep_id=rep.id,
        team_id=team.id if team else None,
        commit_amount=commit.quantize(Decimal("0.01")),
        best_case_amount=best_case.quantize(Decimal("0.01")),
        pipeline_amount=pipeline.quantize(Decimal("0.01")),
        note=note,
        submitted_at=as_utc(at) if at else utc_now(),
        submitted_by_id=by.id if by else None,
    )
    session.add(submission)
    session.flush()
    audit.record(
        session,
        user_id=by.id if by else None,
        action="create",
        entity="forecast_submission",
        entity_id=submission.id,
        changes=audit.diff(
            {},
            {
                "period_start": submission.period_start,
                "period_end": submission.period_end,
                "rep_id": submission.rep_id,
                "team_id": submission.team_id,
                "commit": submission.commit_amount,
                "best_case": submission.best_case_amount,
                "pipeline": submission.pipeline_amount,
                "note": submission.note,
            },
        ),
    )
    return submission


def submit_as(
    session: Session,
    *,
    scope: Scope,
    by: User | None,
    period: Period,
    commit: Decimal,
    best_case: Decimal,
    pipeline: Decimal,
    team_id: int | None = None,
    note: str | None = None,
) -> ForecastSubmission:
    """The caller's own call (or, with `team_id`, their call for a team they manage), with
    the same checks for the API and the dashboard."""
    scope.require_record_write("submit forecast calls")
    if scope.own_rep_id is None:
        raise ValidationFailed("only a user linked to a rep can submit forecast calls")
    rep = session.get(Rep, scope.own_rep_id)
    if rep is None:
        raise not_visible("rep", scope.own_rep_id)
    team = None
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None:
            raise not_visible("team", team_id)
    return submit_call(
        session,
        rep=rep,
        period=period,
        commit=commit,
        best_case=best_case,
        pipeline=pipeline,
        team=team,
        note=note,
        by=by,
    )


def standing_call(
    session: Session, period: Period, rep_id: int, team_id: int | None
) -> ForecastSubmission | None:
    """The latest call of `rep_id` for `period` (their own, or for `team_id`)."""
    team = (
        ForecastSubmission.team_id.is_(None)
        if team_id is None
        else ForecastSubmission.team_id == team_id
    )
    return session.scalars(
        select(ForecastSubmission)
        .where(
            ForecastSubmission.period_start == period.start,
            ForecastSubmission.rep_id == rep_id,
            team,
        )
        .order_by(ForecastSubmission.submitted_at.desc(), ForecastSubmission.id.desc())
        .limit(1)
    ).first()


def history(session: Session, *, period: Period | None = None) -> list[ForecastSubmission]:
    """Every submission (for one period if given), oldest first."""
    query = select(ForecastSubmission).order_by(
        ForecastSubmission.submitted_at, ForecastSubmission.id
    )
    if period is not None:
        query = query.where(ForecastSubmission.period_start == period.start)
    return list(session.scalars(query))


def standing(session: Session, period: Period) -> list[ForecastSubmission]:
    """The latest submission per (rep, team) for `period`."""
    latest: dict[tuple[int, int | None], ForecastSubmission] = {}
    for sub in history(session, period=period):
        latest[(sub.rep_id, sub.team_id)] = sub
    return list(latest.values())


@dataclass
class CallNode:
    """A team in the roll-up: its reps' calls, its sub-teams, and its effective call."""

    team_id: int
    name: str
    manager_id: int | None
    reps: dict[int, tuple[Decimal, Decimal, Decimal]] = field(default_factory=dict)
    children: list[CallNode] = field(default_factory=list)
    adjusted: tuple[Decimal, Decimal, Decimal] | None = None
    adjusted_by: int | None = None

    @property
    def rolled_up(self) -> tuple[Decimal, Decimal, Decimal]:
        """The sum of the reps' calls and the sub-teams' effective calls."""
        parts = list(self.reps.values()) + [child.effective for child in self.children]
        return (
            sum((p[0] for p in parts), ZERO),
            sum((p[1] for p in parts), ZERO),
            sum((p[2] for p in parts), ZERO),
        )

    @property
    def effective(self) -> tuple[Decimal, Decimal, Decimal]:
        return self.adjusted if self.adjusted is not None else self.rolled_up

    def as_dict(self) -> dict[str, object]:
        eff, rolled = self.effective, self.rolled_up
        return {
            "team_id": self.team_id,
            "team": self.name,
            "manager_id": self.manager_id,
            "commit": str(eff[0]),
            "best_case": str(eff[1]),
            "pipeline": str(eff[2]),
            "rolled_up": {"commit": str(rolled[0]), "best_case": str(rolled[1])},
            "adjusted": self.adjusted is not None,
            "reps": {
                str(rep): {"commit": str(c), "best_case": str(b), "pipeline": str(p)}
                for rep, (c, b, p) in sorted(self.reps.items())
            },
            "children": [child.as_dict() for child in self.children],
        }


def members_at(session: Session, day: date) -> dict[int, int]:
    """Rep id -> team id on `day`, from the effective-dated memberships."""
    query = select(TeamMembership.rep_id, TeamMembership.team_id).where(
        TeamMembership.valid_from <= day,
        or_(TeamMembership.valid_to.is_(None), TeamMembership.valid_to > day),
    )
    return dict(session.execute(query.order_by(TeamMembership.valid_from)).tuples().all())


def rollup(session: Session, period: Period) -> list[CallNode]:
    """The calls for `period` rolled up the team hierarchy; one tree per top-level team."""
    teams = list(session.scalars(select(Team).order_by(Team.id)))
    nodes = {t.id: CallNode(t.id, t.name, t.manager_id) for t in teams}
    roots: list[CallNode] = []
    for team in teams:
        parent = nodes.get(team.parent_id) if team.parent_id else None
        (parent.children if parent else roots).append(nodes[team.id])
    membership = members_at(session, period.start)
    for sub in standing(session, period):
        amounts = (sub.commit_amount, sub.best_case_amount, sub.pipeline_amount)
        if sub.team_id is None:
            team_id = membership.get(sub.rep_id)
            if team_id in nodes:
                nodes[team_id].reps[sub.rep_id] = amounts
        elif sub.team_id in nodes:
            node = nodes[sub.team_id]
            # The closest manager's latest adjustment wins (a director may override too).
            if node.adjusted is None or sub.rep_id == node.manager_id:
                node.adjusted, node.adjusted_by = amounts, sub.rep_id
    return roots


def won_by_owner(session: Session, period: Period) -> dict[int, Decimal]:
    """Won value per owner with a close in `period`."""
    query = (
        select(Opportunity.owner_id, func.sum(Opportunity.amount))
        .join(PipelineStage, Opportunity.stage_id == PipelineStage.id)
        .where(
            and_(
                PipelineStage.category == "won",
                Opportunity.closed_at >= period.start_at,
                Opportunity.closed_at < period.end_at,
            )
        )
        .group_by(Opportunity.owner_id)
    )
    return {
        owner: Decimal(str(total)).quantize(Decimal("0.01"))
        for owner, total in session.execute(query).tuples()
    }


@dataclass(frozen=True)
class CallScore:
    """One standing call set against the model's forecast and what was actually won."""

    period: str
    rep_id: int
    rep: str
    team_id: int | None
    team: str | None
    commit: Decimal
    best_case: Decimal
    model: Decimal | None
    actual: Decimal

    def error(self, value: Decimal | None) -> float | None:
        if value is None or self.actual == 0:
            return None
        return float((value - self.actual) / self.actual)

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period,
            "rep_id": self.rep_id,
            "rep": self.rep,
            "team_id": self.team_id,
            "team": self.team,
            "commit": str(self.commit),
            "best_case": str(self.best_case),
            "model": None if self.model is None else str(self.model),
            "actual": str(self.actual),
            "commit_error": self.error(self.commit),
            "best_case_error": self.error(self.best_case),
            "model_error": self.error(self.model),
        }


def has_ended(period: Period, today: date) -> bool:
    return period.last_day < today


def not_ended(period: Period) -> str:
    """Why the calls of a period still running are not scored."""
    return (
        f"{period.label} has not ended (it runs to {period.last_day}): its calls are scored"
        " against the bookings once it is over, not against part of them"
    )


def _team_reps(session: Session, period: Period) -> dict[int, set[int]]:
    from salesops.forecasting.service import team_tree

    membership = members_at(session, period.start)
    out: dict[int, set[int]] = {}
    for team, below in team_tree(session).items():
        out[team] = {rep for rep, t in membership.items() if t in below}
    return out


def _model_figures(
    session: Session, period: Period, method: str
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per-owner and per-team model forecasts from the latest run made before the period."""
    from salesops.models import DealPrediction, ForecastLine, ForecastRun

    run = session.scalars(
        select(ForecastRun)
        .join(ForecastLine, ForecastLine.run_id == ForecastRun.id)
        .where(
            ForecastRun.method == method,
            ForecastRun.as_of <= period.end_at,
            ForecastLine.period_start == period.start,
        )
        .order_by(ForecastRun.as_of.desc(), ForecastRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return {}, {}
    teams = {
        line.team_id: line.expected
        for line in run.lines
        if line.team_id is not None and line.period_start == period.start
    }
    owners: dict[int, Decimal] = {}
    if run.horizon == 1:
        query = (
            select(Opportunity.owner_id, DealPrediction.amount, DealPrediction.p_win_in_horizon)
            .join(Opportunity, Opportunity.id == DealPrediction.opportunity_id)
            .where(DealPrediction.run_id == run.id)
        )
        for owner, amount, p in session.execute(query).tuples():
            owners[owner] = owners.get(owner, ZERO) + (amount * p).quantize(Decimal("0.01"))
    return owners, teams


def call_accuracy(
    session: Session, periods: list[Period], *, method: str = "ensemble", today: date | None = None
) -> list[CallScore]:
    """Every standing call in the periods of `periods` that have ended, compared with the
    model and the actual bookings (a period still running is skipped: see `not_ended`)."""
    today = today or utc_now().date()
    out: list[CallScore] = []
    names = dict(session.execute(select(Rep.id, Rep.name)).tuples().all())
    teams = dict(session.execute(select(Team.id, Team.name)).tuples().all())
    for period in (p for p in periods if has_ended(p, today)):
        won = won_by_owner(session, period)
        owners, team_models = _model_figures(session, period, method)
        team_reps = _team_reps(session, period)
        for sub in sorted(standing(session, period), key=lambda s: (s.rep_id, s.team_id or 0)):
            if sub.team_id is None:
                actual = won.get(sub.rep_id, ZERO)
                model = owners.get(sub.rep_id)
            else:
                members = team_reps.get(sub.team_id, set())
                actual = sum((won.get(r, ZERO) for r in members), ZERO)
                model = team_models.get(sub.team_id)
            out.append(
                CallScore(
                    period=period.label,
                    rep_id=sub.rep_id,
                    rep=names.get(sub.rep_id, str(sub.rep_id)),
                    team_id=sub.team_id,
                    team=None if sub.team_id is None else teams.get(sub.team_id),
                    commit=sub.commit_amount,
                    best_case=sub.best_case_amount,
                    model=model,
                    actual=actual,
                )
            )
    return out


def accuracy_summary(scores: list[CallScore]) -> list[dict[str, object]]:
    """Per submitter and level (own call or team call): mean absolute and signed errors."""
    groups: dict[tuple[int, str], list[CallScore]] = {}
    for score in scores:
        level = "rep" if score.team_id is None else "manager"
        groups.setdefault((score.rep_id, level), []).append(score)
    out: list[dict[str, object]] = []
    for (rep_id, level), items in sorted(groups.items()):
        row: dict[str, object] = {
            "rep_id": rep_id,
            "rep": items[0].rep,
            "level": level,
            "calls": len(items),
        }
        for name in ("commit", "best_case", "model"):
            errors = [e for e in (s.error(getattr(s, name)) for s in items) if e is not None]
            row[f"{name}_abs_error"] = sum(abs(e) for e in errors) / len(errors) if errors else None
            row[f"{name}_bias"] = sum(errors) / len(errors) if errors else None
        out.append(row)
    return out
