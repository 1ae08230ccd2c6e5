"""Forecast calls: kept forever, rolled up the hierarchy, adjusted by managers, scored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from salesops.errors import PermissionDenied, ValidationFailed
from salesops.forecasting import calls, service
from salesops.forecasting.engine import Options
from salesops.forecasting.periods import period_of
from salesops.models import TeamMembership
from salesops.pipeline import service as pipeline
from tests.factories import make_opportunity
from tests.forecasting.company import build_org

Q1 = period_of(date(2025, 1, 1), "quarter")
D = Decimal


def call(session: Session, rep, commit: int, best: int, pipe: int, **kw: object):  # type: ignore[no-untyped-def]
    return calls.submit_call(
        session,
        rep=rep,
        period=Q1,
        commit=D(commit),
        best_case=D(best),
        pipeline=D(pipe),
        **kw,  # type: ignore[arg-type]
    )


def test_every_submission_is_kept_and_the_latest_one_stands(session: Session) -> None:
    org = build_org(session)
    rep = org.reps[0]
    call(session, rep, 10, 20, 30, at=datetime(2025, 1, 2, tzinfo=UTC))
    call(session, rep, 15, 25, 35, at=datetime(2025, 1, 9, tzinfo=UTC))
    assert [s.commit_amount for s in calls.history(session, period=Q1)] == [D(10), D(15)]
    [standing] = calls.standing(session, Q1)
    assert (standing.commit_amount, standing.best_case_amount) == (D(15), D(25))


def test_calls_roll_up_the_hierarchy_and_a_manager_adjustment_overrides_the_sum(
    session: Session,
) -> None:
    org = build_org(session)
    for i, rep in enumerate(org.reps):
        call(session, rep, 10 * (i + 1), 20 * (i + 1), 40 * (i + 1))
    [region] = calls.rollup(session, Q1)
    team0, team1 = region.children
    assert team0.effective == (D(30), D(60), D(120))  # reps 0 and 1: 10+20, 20+40, 40+80
    assert team1.effective == (D(70), D(140), D(280))
    assert region.effective == (D(100), D(200), D(400))

    call(session, org.managers[1], 50, 120, 280, team=org.teams[1])
    [region] = calls.rollup(session, Q1)
    assert region.children[1].effective == (D(50), D(120), D(280))
    assert region.children[1].rolled_up == (D(70), D(140), D(280))
    assert region.effective == (D(80), D(180), D(400))


def test_a_rep_moving_team_counts_where_they_were_at_the_period_start(session: Session) -> None:
    org = build_org(session)
    mover = org.reps[0]
    membership = session.query(TeamMembership).filter_by(rep_id=mover.id).one()
    membership.valid_to = date(2025, 2, 1)
    session.add(
        TeamMembership(rep_id=mover.id, team_id=org.teams[1].id, valid_from=date(2025, 2, 1))
    )
    call(session, mover, 10, 10, 10)
    [region] = calls.rollup(session, Q1)
    assert region.children[0].effective[0] == D(10)
    assert region.children[1].effective[0] == D(0)


def test_invalid_calls_report_every_problem_and_only_managers_adjust_teams(
    session: Session,
) -> None:
    org = build_org(session)
    with pytest.raises(ValidationFailed) as error:
        call(session, org.reps[0], -5, 30, 20)
    fields = {p.location for p in error.value.problems}
    assert fields == {"commit", "best_case"}
    with pytest.raises(PermissionDenied):
        call(session, org.reps[0], 1, 2, 3, team=org.teams[0])
    with pytest.raises(PermissionDenied):
        call(session, org.managers[0], 1, 2, 3, team=org.teams[1])


def test_call_accuracy_compares_each_call_with_the_model_and_the_actuals(
    session: Session,
) -> None:
    org = build_org(session)
    rep = org.reps[0]
    start = datetime(2024, 12, 1, tzinfo=UTC)
    won = make_opportunity(session, owner=rep, amount=40_000, at=start, close_date=date(2025, 2, 1))
    make_opportunity(session, owner=rep, amount=10_000, at=start, close_date=date(2025, 2, 1))
    service.run_forecast(
        session,
        as_of=datetime(2025, 1, 1, tzinfo=UTC),
        methods=["stage_weighted"],
        options=Options(grain="quarter", horizon=1, sims=200),
    )
    pipeline.close_opportunity(session, won, won=True, at=datetime(2025, 2, 3, tzinfo=UTC))
    call(session, rep, 30_000, 50_000, 50_000)
    call(session, org.managers[0], 45_000, 50_000, 60_000, team=org.teams[0])
    scores = calls.call_accuracy(session, [Q1], method="stage_weighted")
    own = next(s for s in scores if s.team_id is None)
    team = next(s for s in scores if s.team_id is not None)
    assert own.actual == D(40_000)
    assert own.error(own.commit) == pytest.approx(-0.25)
    assert own.error(own.best_case) == pytest.approx(0.25)
    # Stage-weighted model: two Prospecting deals at 5% -> 2,500.
    assert own.model == D("2500.00")
    assert team.actual == D(40_000)
    assert team.error(team.commit) == pytest.approx(0.125)
    summary = {(r["rep_id"], r["level"]): r for r in calls.accuracy_summary(scores)}
    assert summary[(rep.id, "rep")]["commit_abs_error"] == pytest.approx(0.25)
    assert summary[(org.managers[0].id, "manager")]["commit_bias"] == pytest.approx(0.125)
    assert own.rep == rep.name
    assert team.team == org.teams[0].name
    assert summary[(rep.id, "rep")]["rep"] == rep.name


def test_a_period_still_running_is_not_scored_against_part_of_its_bookings(
    session: Session,
) -> None:
    org = build_org(session)
    rep = org.reps[0]
    won = make_opportunity(session, owner=rep, amount=40_000, close_date=date(2025, 2, 1))
    pipeline.close_opportunity(session, won, won=True, at=datetime(2025, 1, 20, tzinfo=UTC))
    call(session, rep, 60_000, 80_000, 90_000)
    # On 15 February Q1 is half over: its 40,000 so far would score the call 50% high.
    assert calls.call_accuracy(session, [Q1], today=date(2025, 2, 15)) == []
    assert calls.not_ended(Q1) == (
        "2025-Q1 has not ended (it runs to 2025-03-31): its calls are scored against the"
        " bookings once it is over, not against part of them"
    )
    # The last day still belongs to the period; the day after, it is scored.
    assert calls.call_accuracy(session, [Q1], today=date(2025, 3, 31)) == []
    [score] = calls.call_accuracy(session, [Q1], today=date(2025, 4, 1))
    assert score.actual == D(40_000)
    assert score.error(score.commit) == pytest.approx(0.5)
