"""What of a stored forecast each caller may see, decided by their `Scope` (auth.scoping).

- Roles that see the company (ops, analyst, director, admin): every line of a run.
- A manager: the lines of the teams in their scope (the teams they manage and every team
  below), never the company line.
- Anyone who does not see the company also gets a **deal line**: runs store company and team
  lines only, so a rep's own forecast is built at read time from the run's per-deal
  predictions for the deals in their scope (for a rep, their own deals). Per period it is what
  they had booked in the period before the run's as-of, plus each deal open at the as-of at
  its amount × the run's chance it is won within the run's horizon, placed in the period the
  model expects it to close. It has no P10-P90 range (the spread of a few deals is not
  simulated per rep) and leaves out business not yet in the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.auth.scoping import Scope
from salesops.forecasting.calls import won_by_owner
from salesops.forecasting.periods import Period, period_of
from salesops.forecasting.risk import quotas_in
from salesops.forecasting.service import run_summary
from salesops.models import DealPrediction, ForecastLine, ForecastRun, Opportunity, PipelineStage

ZERO = Decimal("0.00")

DEAL_LINE_BASIS = (
    "built from this run's per-deal predictions for the deals you can see: what was booked in"
    " the period before the run's as-of, plus each deal then open at its amount × the run's"
    " chance it is won within the run's horizon, in the period the model expects it to close"
    " (deals under a 5% chance have no expected period and are left out). No P10-P90 range,"
    " and no business not yet in the pipeline: runs store company and team lines only."
)


def visible_lines(run: ForecastRun, scope: Scope) -> list[ForecastLine]:
    """The run's lines `scope` may see: all of them, or only its teams' (never the company)."""
    if scope.sees_all:
        return list(run.lines)
    teams = scope.team_ids or frozenset()
    return [ln for ln in run.lines if ln.team_id is not None and ln.team_id in teams]


def top_teams(scope: Scope, parents: dict[int, int | None]) -> list[int]:
    """The teams of a manager's scope that sit under no other team of it (their tree roots)."""
    teams = scope.team_ids or frozenset()
    return sorted(t for t in teams if parents.get(t) not in teams)


@dataclass(frozen=True)
class DealLine:
    """One period of a deal line (see the module docstring)."""

    period: Period
    horizon: int
    booked_before: Decimal
    from_pipeline: Decimal
    open_deals: int

    @property
    def expected(self) -> Decimal:
        return self.booked_before + self.from_pipeline

    def as_dict(self) -> dict[str, Any]:
        return {
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.last_day.isoformat(),
            "horizon": self.horizon,
            "booked_before_as_of": str(self.booked_before),
            "from_pipeline": str(self.from_pipeline),
            "expected": str(self.expected),
            "open_deals": self.open_deals,
        }


def _periods(run: ForecastRun) -> list[tuple[int, Period]]:
    starts = sorted({(ln.horizon, ln.period_start) for ln in run.lines if ln.team_id is None})
    return [(k, period_of(start, run.grain)) for k, start in starts]  # type: ignore[arg-type]


def deal_lines(session: Session, run: ForecastRun, scope: Scope) -> list[DealLine]:
    """Per period of `run`, the forecast of the deals `scope` may see (empty for a run
    without per-deal predictions, such as run_rate's)."""
    periods = _periods(run)
    if not periods:
        return []
    owners = scope.opportunities()
    query = (
        select(
            DealPrediction.amount,
            DealPrediction.p_win_in_horizon,
            DealPrediction.expected_close_date,
        )
        .join(Opportunity, Opportunity.id == DealPrediction.opportunity_id)
        .where(DealPrediction.run_id == run.id, owners)
    )
    expected = {k: ZERO for k, _ in periods}
    counted = {k: 0 for k, _ in periods}
    rows = session.execute(query).tuples().all()
    for amount, p_win, close in rows:
        for k, period in periods:
            if close is not None and period.start <= close <= period.last_day:
                expected[k] += (amount * p_win).quantize(Decimal("0.01"))
                counted[k] += 1
                break
    first = periods[0][1]
    booked = session.scalar(
        select(func.coalesce(func.sum(Opportunity.amount), 0))
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(
            owners,
            PipelineStage.category == "won",
            Opportunity.closed_at >= first.start_at,
            Opportunity.closed_at <= run.as_of,
        )
    )
    before = Decimal(str(booked or 0)).quantize(Decimal("0.01"))
    return [
        DealLine(
            period=period,
            horizon=k,
            booked_before=before if i == 0 else ZERO,
            from_pipeline=expected[k],
            open_deals=counted[k],
        )
        for i, (k, period) in enumerate(periods)
    ]


def run_view(session: Session, run: ForecastRun, scope: Scope) -> dict[str, Any]:
    """A stored run as `scope` may see it: its visible lines, and for those who do not see
    the company, the deal line of their own deals (`own_lines`, with its `own_basis`)."""
    view = run_summary(run, lines=visible_lines(run, scope))
    if not scope.sees_all:
        view["own_lines"] = [d.as_dict() for d in deal_lines(session, run, scope)]
        view["own_basis"] = DEAL_LINE_BASIS
    return view


def rep_quota(session: Session, period: Period, scope: Scope) -> Decimal:
    """The quota of the reps in `scope` falling in `period` (their rep quotas, pro rata)."""
    reps, _ = quotas_in(session, period)
    return sum((v for rep, v in reps.items() if scope.sees_rep(rep)), ZERO)


def booked_in(session: Session, period: Period, scope: Scope) -> Decimal:
    """Won value closed in `period` on the deals `scope` may see."""
    return sum((v for rep, v in won_by_owner(session, period).items() if scope.sees_rep(rep)), ZERO)
