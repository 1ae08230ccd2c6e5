"""Comp runs: read plans and the period's data, run the pure engine, store lines with lineage.

Plain functions, session first, never commit. Inputs are gathered into plain data, hashed
(the run's `input_checksum`: same checksum, same lines) and handed to `engine.calculate`.
A closed period is never recalculated: a late change to it shows up as adjustment lines in
the next run of a later period of the same year.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.compensation import engine
from salesops.compensation.engine import Deal, Line, Period, RepInput, Split
from salesops.compensation.plan import Plan, load_plan
from salesops.config import get_settings
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import (
    CompRun,
    Contract,
    CreditSplit,
    FxRate,
    Opportunity,
    PayoutLine,
    PipelineStage,
    Quota,
    Rep,
    Role,
    User,
)

BUILTIN_PLANS = Path(__file__).with_name("plans")


def plans_dir() -> Path:
    return get_settings().comp_plans_dir or BUILTIN_PLANS


def load_plans(directory: Path | None = None) -> list[Plan]:
    """Every plan file in `directory` (default: the configured one); all problems at once."""
    directory = directory or plans_dir()
    if not directory.is_dir():
        raise ValidationFailed("no plans", [Problem("not a directory", str(directory))])
    plans: list[Plan] = []
    problems: list[Problem] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            plans.append(load_plan(path))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.key in seen:
            problems.append(Problem(f"{plan.key} is also defined in {seen[plan.key]}", plan.source))
        seen[plan.key] = plan.source
    if problems:
        raise ValidationFailed("invalid plans", problems)
    return sorted(plans, key=lambda p: (p.name, p.version))


def plans_in_force(plans: list[Plan], day: date) -> list[Plan]:
    """The highest version of each plan that is in force on `day`."""
    best: dict[str, Plan] = {}
    for plan in plans:
        if plan.in_force(day) and (plan.name not in best or plan.version > best[plan.name].version):
            best[plan.name] = plan
    return [best[name] for name in sorted(best)]


@dataclass(frozen=True)
class Inputs:
    period: Period
    reps: list[RepInput]
    checksum: str
    currency: str


def _assigned(
    session: Session, plans: list[Plan], period: Period
) -> list[tuple[Rep, Plan, Decimal | None]]:
    reps = session.scalars(select(Rep).order_by(Rep.id)).all()
    roles = dict(session.execute(select(User.id, User.role)).tuples().all())
    known_roles = {r.value for r in Role}
    problems: list[Problem] = []
    out: dict[tuple[int, str], tuple[Rep, Plan, Decimal | None]] = {}
    for plan in plans:
        for i, a in enumerate(plan.assignments):
            where = f"{Path(plan.source).name}: assign[{i}]"
            if a.start > period.end or (a.end is not None and a.end < period.start):
                continue
            if a.role is not None:
                if a.role not in known_roles:
                    problems.append(Problem(f"unknown role {a.role!r}", f"{where}.role"))
                    continue
                matched = [r for r in reps if r.user_id and roles.get(r.user_id) == a.role]
            else:
                ref = str(a.rep)
                matched = [r for r in reps if ref in {str(r.id), r.email, r.name, r.external_id}]
                if not matched:
                    problems.append(Problem(f"unknown rep {ref!r}", f"{where}.rep"))
            for rep in matched:
                left = rep.termination_date is not None and rep.termination_date < period.start
                if left or (rep.hire_date is not None and rep.hire_date > period.end):
                    continue  # not employed in the period: nothing to pay
                out[(rep.id, plan.name)] = (rep, plan, a.quota)
    if problems:
        raise ValidationFailed("invalid plan assignments", problems)
    return [out[k] for k in sorted(out)]


def _fx(session: Session, currency: str, day: date, reporting: str) -> Decimal | None:
    if currency == reporting:
        return Decimal(1)
    query = select(FxRate.rate).where(FxRate.currency == currency)
    rate = session.scalar(query.where(FxRate.rate_date <= day).order_by(FxRate.rate_date.desc()))
    return rate if rate is not None else session.scalar(query.order_by(FxRate.rate_date))


def _deals(session: Session, start: date, end: date, currency: str) -> list[Deal]:
    reporting = get_settings().reporting_currency
    rows = session.scalars(
        select(Opportunity)
        .join(PipelineStage)
        .where(PipelineStage.category == "won")
        .where(Opportunity.close_date >= start, Opportunity.close_date <= end)
        .order_by(Opportunity.close_date, Opportunity.id)
    ).all()
    ids = [o.id for o in rows]
    splits: dict[int, list[Split]] = defaultdict(list)
    tcv: dict[int, Decimal] = {}
    if ids:
        for s in session.scalars(select(CreditSplit).where(CreditSplit.opportunity_id.in_(ids))):
            splits[s.opportunity_id].append(Split(s.rep_id, s.share, s.kind))
        for k in session.scalars(select(Contract).where(Contract.opportunity_id.in_(ids))):
            assert k.opportunity_id is not None
            tcv[k.opportunity_id] = k.value * k.term_months / 12
    problems: list[Problem] = []
    deals = []
    for o in rows:
        assert o.close_date is not None
        rate, plan_rate = (
            _fx(session, o.currency, o.close_date, reporting),
            _fx(session, currency, o.close_date, reporting),
        )
        if rate is None or plan_rate is None:
            missing = o.currency if rate is None else currency
            problems.append(Problem(f"no exchange rate for {missing}", f"deal {o.id} ({o.name})"))
            continue
        factor = rate / plan_rate
        acv = o.amount * factor
        deals.append(
            Deal(
                o.id, o.name, o.close_date, o.owner_id, o.type, acv,
                tcv=tcv[o.id] * factor if o.id in tcv else acv, first_year=acv,
                splits=tuple(sorted(splits[o.id], key=lambda s: (s.kind, s.rep_id))),
            )
        )  # fmt: skip
    if problems:
        raise ValidationFailed("cannot convert deal amounts", problems)
    return deals


def _quota(session: Session, rep_id: int, start: date, end: date) -> Decimal | None:
    amounts = session.scalars(
        select(Quota.amount).where(
            Quota.rep_id == rep_id, Quota.period_start >= start, Quota.period_end <= end
        )
    ).all()
    return sum(amounts, Decimal(0)) if amounts else None


def gather(session: Session, period: Period, directory: Path | None = None) -> Inputs:
    """Everything the engine needs for `period`, as plain data, with its checksum."""
    kind = period_text(period)
    grain = "year" if len(kind) == 4 else "quarter" if "Q" in kind else "month"
    # A run pays the plans of its own grain: a monthly contest in a month's run, a quarterly
    # commission plan in a quarter's.
    plans = [p for p in plans_in_force(load_plans(directory), period.start) if p.period == grain]
    assigned = _assigned(session, plans, period)
    managers = dict(session.execute(select(Rep.id, Rep.manager_id)).tuples().all())
    year = date(period.start.year, 1, 1)
    cache: dict[str, list[Deal]] = {}
    credited: dict[str, dict[int, list[engine.Credit]]] = {}
    reps: list[RepInput] = []
    for rep, plan, quota in assigned:
        if plan.currency not in cache:
            cache[plan.currency] = _deals(session, year, period.end, plan.currency)
        if plan.key not in credited:
            by_rep: dict[int, list[engine.Credit]] = defaultdict(list)
            for c in engine.credit(cache[plan.currency], plan.crediting, managers):
                by_rep[c.rep_id].append(c)
            credited[plan.key] = by_rep
        credits = credited[plan.key].get(rep.id, [])
        count = len(engine.periods_of_year(period.start.year, plan.period))
        q_period = quota if quota is not None else _quota(session, rep.id, period.start, period.end)
        q_year = (
            quota * count
            if quota is not None
            else _quota(session, rep.id, year, date(year.year, 12, 31))
        )
        reps.append(RepInput(rep.id, plan, tuple(credits), q_period, q_year))
    currency = plans[0].currency if plans else get_settings().reporting_currency
    return Inputs(period, reps, checksum(period, reps), currency)


def checksum(period: Period, reps: list[RepInput]) -> str:
    """SHA-256 of the period, each rep's plan file, credits and quotas in a canonical form."""
    doc = [period.label] + [
        [r.rep_id, r.plan.key, r.plan.checksum, str(r.quota_period), str(r.quota_year),
         [[c.deal_id, c.day.isoformat(), str(c.amount), str(c.share), c.reason, c.deal_type]
          for c in r.credits]]
        for r in reps
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


def _closed(session: Session, start: date) -> CompRun | None:
    return session.scalar(
        select(CompRun).where(CompRun.period_start == start, CompRun.status == "closed")
    )


def _adjustments(session: Session, period: Period, directory: Path | None) -> list[Line]:
    """Lines for late changes to closed periods of the same year: recalculated minus paid."""
    out: list[Line] = []
    closed = session.scalars(
        select(CompRun)
        .where(CompRun.status == "closed", CompRun.period_start >= date(period.start.year, 1, 1))
        .where(CompRun.period_start < period.start)
        .order_by(CompRun.period_start)
    ).all()
    for run in closed:
        then = Period(run.period_start, run.period_end)
        now = engine.calculate(gather(session, then, directory).reps, then)
        paid: dict[tuple[int, str, str], Decimal] = defaultdict(Decimal)
        for line in run.lines:
            paid[(line.rep_id, line.plan, line.rule)] += line.amount
        due: dict[tuple[int, str, str], Decimal] = defaultdict(Decimal)
        for new in now:
            if new.kind != "adjustment":
                due[(new.rep_id, new.plan, new.rule)] += new.amount
        for key in sorted(set(paid) | set(due)):
            delta = due[key] - paid[key]
            if delta:
                note = f"late change to closed period {then.label} (run {run.id})"
                out.append(
                    Line(
                        key[0], key[1], key[2], "adjustment", "", None, Decimal(0), delta, (), note
                    )
                )
    return out


def calculate(
    session: Session, period: Period, *, user_id: int | None = None, directory: Path | None = None
) -> CompRun:
    """Calculate `period` and store it as its open run (replacing the previous open run)."""
    if (closed := _closed(session, period.start)) is not None:
        raise Conflict(f"period {period.label} is closed (run {closed.id}); nothing recalculated")
    inputs = gather(session, period, directory)
    lines = engine.calculate(inputs.reps, period) + _adjustments(session, period, directory)
    stale = select(CompRun).where(CompRun.period_start == period.start, CompRun.status == "open")
    for old in session.scalars(stale).all():
        session.delete(old)
    session.flush()
    run = CompRun(
        period_start=period.start, period_end=period.end, input_checksum=inputs.checksum,
        plans={r.plan.key: r.plan.checksum for r in inputs.reps}, currency=inputs.currency,
        total=sum((line.amount for line in lines), Decimal(0)), created_by_id=user_id,
    )  # fmt: skip
    run.lines = [
        PayoutLine(
            rep_id=x.rep_id,
            plan=x.plan,
            rule=x.rule,
            kind=x.kind,
            tier=x.tier[:80],
            rate=x.rate,
            credited=x.credited,
            amount=x.amount,
            deals=[[d, str(a.quantize(engine.CENT))] for d, a in x.deals],
            note=x.note[:300],
        )
        for x in lines
    ]
    session.add(run)
    session.flush()
    audit.record(
        session, user_id=user_id, action="calculate", entity="comp_run", entity_id=run.id,
        changes={"period": period.label, "checksum": inputs.checksum, "total": str(run.total)},
    )  # fmt: skip
    return run


def current_run(session: Session, period: Period) -> CompRun:
    run = session.scalar(
        select(CompRun)
        .where(CompRun.period_start == period.start)
        .order_by(CompRun.status.desc(), CompRun.id.desc())  # "open" sorts after "closed"
    )
    if run is None:
        raise NotFound(f"no comp run for {period.label}: run `salesops comp calculate` first")
    return run


def close(session: Session, period: Period, *, user_id: int | None = None) -> CompRun:
    """Lock the period's open run: it is never recalculated or rewritten afterwards."""
    if _closed(session, period.start) is not None:
        raise Conflict(f"period {period.label} is already closed")
    run = current_run(session, period)
    run.status, run.closed_at, run.closed_by_id = "closed", utc_now(), user_id
    audit.record(
        session, user_id=user_id, action="close", entity="comp_run", entity_id=run.id,
        changes={"period": period.label, "checksum": run.input_checksum, "total": str(run.total)},
    )  # fmt: skip
    return run


def statement(session: Session, rep_id: int, period: Period) -> tuple[CompRun, list[PayoutLine]]:
    """One rep's lines of the period's current run."""
    run = current_run(session, period)
    return run, [line for line in run.lines if line.rep_id == rep_id]


def parse_period(text: str) -> Period:
    """`2026-Q1` (a quarter), `2026-03` (a month) or `2026` (a year)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        return engine.periods_of_year(int(m[1]), "quarter")[int(m[2]) - 1]
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", text)) and 1 <= int(m[2]) <= 12:
        return engine.periods_of_year(int(m[1]), "month")[int(m[2]) - 1]
    if re.fullmatch(r"\d{4}", text) and 1900 < int(text) < 2200:
        return engine.periods_of_year(int(text), "year")[0]
    raise ValidationFailed(
        f"period must be a quarter like 2026-Q1, a month like 2026-03 or a year (got {text!r})"
    )


def period_text(period: Period) -> str:
    """The inverse of `parse_period`: `2026-Q1`, `2026-03` or `2026`."""
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    if months == 12:
        return str(period.start.year)
    if months == 3:
        return f"{period.start.year}-Q{(period.start.month - 1) // 3 + 1}"
    return f"{period.start.year}-{period.start.month:02d}"


def find_rep(session: Session, ref: str) -> Rep:
    """A rep by id, e-mail or exact name."""
    rep = session.get(Rep, int(ref)) if ref.isdigit() else None
    rep = rep or session.scalars(select(Rep).where((Rep.email == ref) | (Rep.name == ref))).first()
    if rep is None:
        raise NotFound(f"no rep {ref!r}")
    return rep


STATEMENT_COLUMNS = (
    "plan", "rule", "kind", "tier", "rate", "credited", "amount", "deals", "note",
)  # fmt: skip


def statement_rows(lines: list[PayoutLine]) -> list[list[str]]:
    """A statement's lines as text cells; `deals` lists `id:credited` pairs."""
    return [
        [
            x.plan,
            x.rule,
            x.kind,
            x.tier,
            "" if x.rate is None else f"{x.rate.normalize():f}",
            f"{x.credited:.2f}",
            f"{x.amount:.2f}",
            " ".join(f"{d}:{a}" for d, a in x.deals),
            x.note,
        ]
        for x in lines
    ]
