"""The comp engine: credits, then attainment, then earnings, as payout lines with lineage.

Pure: plain data in, plain data out, no database. Money is `Decimal` throughout; figures are
kept at full precision while a rule is computed (tiers, caps, gates) and each payout line is
rounded once, to the cent, half up (ROUND_HALF_UP) at the end; a statement's total is the sum
of its rounded lines, so it always adds up on paper. The same inputs give the same lines in
the same order (credits are ordered by close date, then deal id, then rep).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from salesops.compensation.plan import Crediting, Plan, Rule, Tier
from salesops.errors import Problem, ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Split:
    """A share of a deal's credit: `revenue` shares sum to 1, `overlay` shares need not."""

    rep_id: int
    share: Decimal
    kind: str = "revenue"


@dataclass(frozen=True)
class Deal:
    id: int
    name: str
    close_date: date
    owner_id: int
    type: str
    acv: Decimal
    tcv: Decimal | None = None
    first_year: Decimal | None = None
    margin: Decimal | None = None
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True)
class Credit:
    """What one rep is credited for one deal, and why (owner, split, overlay, manager)."""

    deal_id: int
    deal_name: str
    rep_id: int
    day: date
    amount: Decimal
    share: Decimal
    reason: str
    deal_type: str


@dataclass(frozen=True)
class Line:
    """One payout line: which rule, tier and rate, over which credited deals (id, amount)."""

    rep_id: int
    plan: str
    rule: str
    kind: str  # commission, reprice, cap, bonus, spiff, held, release, threshold
    tier: str
    rate: Decimal | None
    credited: Decimal
    amount: Decimal
    deals: tuple[tuple[int, Decimal], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class RepInput:
    """One rep under one plan for one period: their credits of the year so far and quotas."""

    rep_id: int
    plan: Plan
    credits: tuple[Credit, ...]  # every credit from the start of the year to the period's end
    quota_period: Decimal | None = None
    quota_year: Decimal | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def periods_of_year(year: int, kind: str) -> list[Period]:
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    out = []
    for first in range(1, 13, months):
        last = first + months - 1
        end = date(year, 12, 31) if last == 12 else date(year, last + 1, 1) - timedelta(days=1)
        out.append(Period(date(year, first, 1), end))
    return out


def period_of(day: date, kind: str) -> Period:
    return next(p for p in periods_of_year(day.year, kind) if p.start <= day <= p.end)


# --- crediting -------------------------------------------------------------------------------


def deal_amount(deal: Deal, which: str) -> Decimal | None:
    return {"acv": deal.acv, "tcv": deal.tcv, "first_year": deal.first_year, "margin": deal.margin}[
        which
    ]


def credit(
    deals: Iterable[Deal], rules: Crediting, managers: Mapping[int, int | None]
) -> list[Credit]:
    """Who is credited for each deal: owner or revenue splits (sum 1), overlays, managers."""
    problems: list[Problem] = []
    credits: list[Credit] = []
    for deal in sorted(deals, key=lambda d: (d.close_date, d.id)):
        if rules.deal_types and deal.type not in rules.deal_types:
            continue
        amount = deal_amount(deal, rules.amount)
        if amount is None:
            problems.append(Problem(f"no {rules.amount} amount", f"deal {deal.id} ({deal.name})"))
            continue
        revenue = [s for s in deal.splits if s.kind == "revenue"] if rules.use_splits else []
        shares = [(s.rep_id, s.share, "split") for s in revenue] or [(deal.owner_id, ONE, "owner")]
        total = sum((s for _, s, _ in shares), ZERO)
        if total != ONE:
            problems.append(
                Problem(
                    f"revenue splits sum to {total:%}, not 100%", f"deal {deal.id} ({deal.name})"
                )
            )
            continue
        if rules.overlays:
            shares += [(s.rep_id, s.share, "overlay") for s in deal.splits if s.kind == "overlay"]
        direct = list(shares)
        for rep_id, share, reason in direct:
            if reason == "overlay":
                continue
            boss, level = managers.get(rep_id), 0
            while boss is not None and level < rules.manager_levels:
                shares.append((boss, share, f"manager of {rep_id}"))
                boss, level = managers.get(boss), level + 1
        for rep_id, share, reason in shares:
            credits.append(
                Credit(
                    deal.id,
                    deal.name,
                    rep_id,
                    deal.close_date,
                    amount * share,
                    share,
                    reason,
                    deal.type,
                )
            )
    if problems:
        raise ValidationFailed("cannot credit deals", problems)
    return credits


# --- tiers -----------------------------------------------------------------------------------


def _scaled(tiers: Sequence[Tier], scale: Decimal) -> list[Tier]:
    return [
        replace(t, start=t.start * scale, end=None if t.end is None else t.end * scale)
        for t in tiers
    ]


def rate_at(tiers: Sequence[Tier], x: Decimal, semantics: str) -> tuple[Tier, Decimal]:
    """The tier holding `x` (from inclusive, to exclusive) and its rate; interpolated: the rate
    moves in a straight line from this tier's rate at its `from` to the next tier's at its `to`."""
    index = len(tiers) - 1
    for i, tier in enumerate(tiers):
        if tier.end is None or x < tier.end:
            index = i
            break
    tier = tiers[index]
    if semantics != "interpolated" or tier.end is None or index == len(tiers) - 1:
        return tier, tier.rate
    nxt = tiers[index + 1].rate
    position = max(ZERO, x - tier.start) / (tier.end - tier.start)
    return tier, tier.rate + (nxt - tier.rate) * position


def marginal_pieces(tiers: Sequence[Tier], a: Decimal, b: Decimal) -> list[tuple[Tier, Decimal]]:
    """The slices of the move from `a` to `b` in each tier (negative when moving down)."""
    lo, hi, sign = (a, b, ONE) if b >= a else (b, a, -ONE)
    out = []
    for tier in tiers:
        top = hi if tier.end is None else min(hi, tier.end)
        width = top - max(lo, tier.start)
        if width > 0:
            out.append((tier, width * sign))
    return out


# --- earnings --------------------------------------------------------------------------------


def _rate_table(rule: Rule, rep: RepInput, period: Period, year_start: date) -> list[Line]:
    plan = rep.plan.key
    now = [c for c in rep.credits if period.start <= c.day <= period.end]
    prior = [c for c in rep.credits if year_start <= c.day < period.start]
    quota = rep.quota_year if rule.reset == "year" else rep.quota_period
    if (rule.basis == "attainment" or rule.threshold is not None) and not quota:
        raise ValidationFailed(
            "no quota",
            [Problem(f"rule {rule.name!r} needs a quota for rep {rep.rep_id}", rule.location)],
        )
    scale = quota if rule.basis == "attainment" and quota else ONE
    tiers = _scaled(rule.tiers, scale)
    start = sum((c.amount for c in prior), ZERO) if rule.reset == "year" else ZERO
    end = start + sum((c.amount for c in now), ZERO)
    if rule.threshold is not None and quota and end / quota < rule.threshold:
        note = f"attainment {end / quota:.2%} below the threshold {rule.threshold:.2%}"
        return [
            Line(rep.rep_id, plan, rule.name, "threshold", "", None, end - start, ZERO, (), note)
        ]
    lines: list[Line] = []
    if rule.scope == "transaction":
        for c in now:
            if rule.semantics == "marginal":
                for tier, part in marginal_pieces(tiers, ZERO, c.amount):
                    lines.append(_line(rep, rule, "commission", tier, tier.rate, part, c))
            else:
                tier, rate = rate_at(tiers, c.amount, rule.semantics)
                lines.append(_line(rep, rule, "commission", tier, rate, c.amount, c))
        return lines
    cursor = start
    if rule.semantics == "marginal":
        for c in now:
            for tier, part in marginal_pieces(tiers, cursor, cursor + c.amount):
                lines.append(_line(rep, rule, "commission", tier, tier.rate, part, c))
            cursor += c.amount
        return lines
    tier, rate = rate_at(tiers, end, rule.semantics)
    for c in now:
        lines.append(_line(rep, rule, "commission", tier, rate, c.amount, c))
    if start:
        _, before = rate_at(tiers, start, rule.semantics)
        if rate != before:
            lines.append(
                Line(
                    rep.rep_id, plan, rule.name, "reprice", tier.label, rate - before, start,
                    start * (rate - before),
                    tuple((c.deal_id, c.amount) for c in prior),
                    f"credit earlier in the year re-rated from {before} to {rate}",
                )
            )  # fmt: skip
    return lines


def _line(
    rep: RepInput, rule: Rule, kind: str, tier: Tier, rate: Decimal, part: Decimal, c: Credit
) -> Line:
    return Line(
        rep.rep_id, rep.plan.key, rule.name, kind, tier.label, rate, part, part * rate,
        ((c.deal_id, part),), f"{c.reason} {(c.share * 100).normalize():f}% of {c.deal_name}",
    )  # fmt: skip


def _capped(rule: Rule, rep: RepInput, lines: list[Line]) -> list[Line]:
    cap, out = rule.cap, list(lines)
    keep = ONE - cap.soft_rate

    def cut(excess: Decimal, deals: tuple[tuple[int, Decimal], ...], what: str) -> Line:
        return Line(
            rep.rep_id, rep.plan.key, rule.name, "cap", what, None, ZERO, -excess * keep, deals,
            f"{what}: {excess} above the cap, paid at {cap.soft_rate:%}",
        )  # fmt: skip

    if cap.per_deal is not None:
        by_deal: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for line in lines:
            for deal_id, _ in line.deals:
                by_deal[deal_id] += line.amount / len(line.deals)
        for deal_id, total in sorted(by_deal.items()):
            if total > cap.per_deal:
                out.append(cut(total - cap.per_deal, ((deal_id, ZERO),), "cap per deal"))
    if cap.per_period is not None:
        total = sum((line.amount for line in out), ZERO)
        if total > cap.per_period:
            out.append(cut(total - cap.per_period, (), "cap per period"))
    return out


def _raw_rule(rule: Rule, rep: RepInput, period: Period, year_start: date) -> list[Line]:
    plan = rep.plan.key
    now = [c for c in rep.credits if period.start <= c.day <= period.end]
    if rule.kind == "bonus":
        if not rep.quota_period:
            raise ValidationFailed(
                "no quota", [Problem(f"bonus {rule.name!r} needs a period quota", rule.location)]
            )
        credited = sum((c.amount for c in now), ZERO)
        attained = credited / rep.quota_period
        assert rule.at_attainment is not None
        if attained < rule.at_attainment:
            return []
        note = f"attainment {attained:.2%} reached {rule.at_attainment:.2%}"
        deals = tuple((c.deal_id, c.amount) for c in now)
        return [
            Line(rep.rep_id, plan, rule.name, "bonus", "", None, credited, rule.amount, deals, note)
        ]
    if rule.kind == "contest":
        return []  # decided across reps in `calculate`
    if rule.kind == "spiff":
        return [
            Line(
                rep.rep_id,
                plan,
                rule.name,
                "spiff",
                "",
                None,
                c.amount,
                rule.amount,
                ((c.deal_id, c.amount),),
                f"{c.deal_name} qualifies",
            )
            for c in now
            if c.amount > 0
            and (not rule.deal_types or c.deal_type in rule.deal_types)
            and (rule.min_deal_amount is None or c.amount >= rule.min_deal_amount)
        ]
    return _capped(rule, rep, _rate_table(rule, rep, period, year_start))


def _gated(rule: Rule, rep: RepInput, period: Period) -> list[Line]:
    """A gated rule's lines are held until the year's attainment reaches the gate; the period
    that reaches it releases what earlier periods of the year held."""
    year_start = date(period.start.year, 1, 1)
    lines = _raw_rule(rule, rep, period, year_start)
    if rule.gate_ytd_attainment is None:
        return lines
    if not rep.quota_year:
        raise ValidationFailed(
            "no quota", [Problem(f"gate of {rule.name!r} needs a yearly quota", rule.location)]
        )

    def met(upto: date) -> bool:
        ytd = sum((c.amount for c in rep.credits if year_start <= c.day <= upto), ZERO)
        gate, quota = rule.gate_ytd_attainment or ZERO, rep.quota_year or ONE
        return ytd / quota >= gate

    if not met(period.end):
        return [
            replace(line, kind="held", amount=ZERO, note=f"held until YTD attainment reaches "
                    f"{rule.gate_ytd_attainment:.0%}: {line.amount:.2f} ({line.note})")
            for line in lines
        ]  # fmt: skip
    released: list[Line] = []
    for earlier in periods_of_year(period.start.year, rep.plan.period):
        if earlier.end >= period.start or met(earlier.end):
            continue
        held = _raw_rule(rule, rep, earlier, year_start)
        total = sum((line.amount for line in held), ZERO)
        if total:
            deals = tuple(d for line in held for d in line.deals)
            note = f"released: held in {earlier.label} until the gate was met"
            released.append(
                Line(
                    rep.rep_id,
                    rep.plan.key,
                    rule.name,
                    "release",
                    "",
                    None,
                    ZERO,
                    total,
                    deals,
                    note,
                )
            )
    return lines + released


def earn(rep: RepInput, period: Period) -> list[Line]:
    """Every payout line of one rep for one period under its plan, each rounded to the cent."""
    lines: list[Line] = []
    for rule in rep.plan.rules:
        lines.extend(_gated(rule, rep, period))
    return [replace(line, amount=line.amount.quantize(CENT, ROUND_HALF_UP)) for line in lines]


def contest(rule: Rule, reps: Sequence[RepInput], period: Period) -> list[Line]:
    """The top seller of the period (most credit) among the plan's eligible reps wins the prize;
    tied winners share it equally (each share rounded half up to the cent)."""
    totals = {
        r.rep_id: sum((c.amount for c in r.credits if period.start <= c.day <= period.end), ZERO)
        for r in reps
    }
    floor = rule.min_deal_amount if rule.min_deal_amount is not None else Decimal("0.01")
    eligible = {rep: total for rep, total in totals.items() if total >= floor}
    if not eligible:
        return []
    best = max(eligible.values())
    winners = sorted(rep for rep, total in eligible.items() if total == best)
    share = rule.amount / len(winners)
    tie = (
        f" (tie of {len(winners)}: the prize {rule.amount:,.2f} is shared)"
        if len(winners) > 1
        else ""
    )
    plan = reps[0].plan.key
    out = []
    pool = f"{len(eligible)} eligible"
    for rep in winners:
        note = f"top seller of {period.label} with {best:,.2f} credited among {pool}{tie}"
        out.append(Line(rep, plan, rule.name, "contest", "", None, best, share, (), note))
    return out


def calculate(reps: Iterable[RepInput], period: Period) -> list[Line]:
    """The lines of every rep, in rep order, then contest prizes: the whole run's result."""
    ordered = sorted(reps, key=lambda r: (r.rep_id, r.plan.key))
    out: list[Line] = []
    for rep in ordered:
        out.extend(earn(rep, period))
    by_plan: dict[str, list[RepInput]] = defaultdict(list)
    for rep in ordered:
        by_plan[rep.plan.key].append(rep)
    for members in by_plan.values():
        for rule in members[0].plan.rules:
            if rule.kind == "contest":
                prizes = contest(rule, members, period)
                out.extend(
                    replace(x, amount=x.amount.quantize(CENT, ROUND_HALF_UP)) for x in prizes
                )
    return out
