"""Deal hygiene, the pure part: inspection flags on open deals and a per-rep score.

Plain data in (`DealRecord`, won deals' stage durations, `Thresholds`), plain data out. The
flags and their thresholds are documented in docs/playbooks.md ("Deal hygiene"):

- `no_next_step`: the deal has no next step written down.
- `past_close_date`: its expected close date is before today.
- `stale`: no activity logged for `stale_days` days (counted from creation when it has none).
- `stuck_in_stage`: in its stage for longer than the 90th percentile of the time won deals
  spent in that stage (only where at least `min_won_sample` won deals passed through it).
- `late_amount_change`: the amount moved by `late_amount_ratio` or more within
  `late_amount_days` days before the close date in force at the time of the inspection.
- `missing_exit_criteria`: exit criteria of a stage the deal has already left are not met
  (it moved on with a warning, or was imported there); its current stage's criteria are its
  to-do list, shown on its page, not a flag.
- `single_threaded`: its activities reach at most one contact.

A rep's score is the share of checks their open deals pass (1 - flags / (deals x 7)), so one
flag on one deal of ten costs 1.4 points out of 100; a rep with no open deal has no score.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

FLAGS: dict[str, str] = {
    "no_next_step": "no next step",
    "past_close_date": "close date in the past",
    "stale": "no recent activity",
    "stuck_in_stage": "in stage longer than 90% of won deals",
    "late_amount_change": "amount changed late",
    "missing_exit_criteria": "exit criteria of passed stages not met",
    "single_threaded": "single-threaded",
}


@dataclass(frozen=True)
class Thresholds:
    stale_days: int = 14
    late_amount_days: int = 14
    late_amount_ratio: Decimal = Decimal("0.2")
    min_won_sample: int = 5
    percentile: float = 0.9


@dataclass(frozen=True)
class AmountChange:
    at: datetime
    old: Decimal
    new: Decimal


@dataclass(frozen=True)
class DealRecord:
    """One open deal as the inspection sees it."""

    id: int
    owner_id: int
    stage: str
    close_date: date | None
    next_step: str | None
    created_at: datetime
    stage_entered_at: datetime
    last_activity_at: datetime | None = None
    contacts: int = 0
    amount_changes: tuple[AmountChange, ...] = ()
    missing_exit: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flag:
    code: str
    detail: str

    @property
    def label(self) -> str:
        return FLAGS[self.code]


@dataclass(frozen=True)
class DealFlags:
    deal: DealRecord
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class RepScore:
    rep_id: int
    open_deals: int
    flagged_deals: int
    flag_counts: dict[str, int] = field(default_factory=dict)
    score: Decimal = Decimal(1)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile of `values` by linear interpolation between closest ranks (numpy's
    default): for [1, 2, 3, 4] and q=0.9, rank 2.7 lies between 3 and 4: 3.7."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stage_limits(
    durations: Mapping[str, Sequence[float]], thresholds: Thresholds = Thresholds()
) -> dict[str, float]:
    """Per stage, the days beyond which a deal is stuck: the percentile of won deals' days."""
    return {
        stage: percentile(days, thresholds.percentile)
        for stage, days in durations.items()
        if len(days) >= thresholds.min_won_sample
    }


def stage_durations(
    deals: Iterable[Sequence[tuple[datetime, str]]],
) -> dict[str, list[float]]:
    """Days each deal spent in each stage, from its stage entries [(at, stage), ...] in time
    order (the first is its creation); the last entry (won) has no duration."""
    out: dict[str, list[float]] = defaultdict(list)
    for entries in deals:
        for (at, stage), (next_at, _) in pairwise(entries):
            out[stage].append((next_at - at).total_seconds() / 86400)
    return dict(out)


def _late_change(deal: DealRecord, t: Thresholds) -> Flag | None:
    if deal.close_date is None:
        return None
    for change in deal.amount_changes:
        days_before = (deal.close_date - change.at.date()).days
        if not 0 <= days_before <= t.late_amount_days:
            continue
        base = max(abs(change.old), Decimal("0.01"))
        ratio = abs(change.new - change.old) / base
        if ratio >= t.late_amount_ratio:
            return Flag(
                "late_amount_change",
                f"{change.old} -> {change.new} on {change.at.date()}, {days_before} days before"
                " the close date",
            )
    return None


def flags_of(
    deal: DealRecord,
    *,
    now: datetime,
    limits: Mapping[str, float],
    thresholds: Thresholds = Thresholds(),
) -> tuple[Flag, ...]:
    """Every hygiene flag of one open deal at `now`, in the order of FLAGS."""
    t = thresholds
    out: list[Flag] = []
    if not (deal.next_step and deal.next_step.strip()):
        out.append(Flag("no_next_step", "no next step written down"))
    if deal.close_date is not None and deal.close_date < now.date():
        days = (now.date() - deal.close_date).days
        out.append(Flag("past_close_date", f"close date {deal.close_date}, {days} days ago"))
    last = deal.last_activity_at or deal.created_at
    idle = (now - last).total_seconds() / 86400
    if idle >= t.stale_days:
        since = "last activity" if deal.last_activity_at else "created, no activity since"
        out.append(Flag("stale", f"{idle:.0f} days since {since}"))
    limit = limits.get(deal.stage)
    in_stage = (now - deal.stage_entered_at).total_seconds() / 86400
    if limit is not None and in_stage > limit:
        out.append(
            Flag("stuck_in_stage", f"{in_stage:.0f} days in {deal.stage}; won deals: {limit:.0f}")
        )
    if late := _late_change(deal, t):
        out.append(late)
    if deal.missing_exit:
        out.append(Flag("missing_exit_criteria", "; ".join(deal.missing_exit)))
    if deal.contacts <= 1:
        out.append(Flag("single_threaded", f"{deal.contacts} contact(s) reached"))
    return tuple(out)


def inspect(
    deals: Iterable[DealRecord],
    *,
    now: datetime,
    limits: Mapping[str, float],
    thresholds: Thresholds = Thresholds(),
) -> list[DealFlags]:
    """The flags of every deal."""
    return [DealFlags(d, flags_of(d, now=now, limits=limits, thresholds=thresholds)) for d in deals]


def rep_scores(inspected: Iterable[DealFlags]) -> list[RepScore]:
    """Per rep: open deals, flagged deals, flags by code and the score, by rep id."""
    by_rep: dict[int, list[DealFlags]] = defaultdict(list)
    for item in inspected:
        by_rep[item.deal.owner_id].append(item)
    out = []
    for rep_id, items in sorted(by_rep.items()):
        counts: dict[str, int] = defaultdict(int)
        for item in items:
            for flag in item.flags:
                counts[flag.code] += 1
        total = sum(counts.values())
        score = Decimal(1) - Decimal(total) / Decimal(len(items) * len(FLAGS))
        out.append(
            RepScore(
                rep_id=rep_id,
                open_deals=len(items),
                flagged_deals=sum(1 for item in items if item.flags),
                flag_counts=dict(counts),
                score=score.quantize(Decimal("0.0001")),
            )
        )
    return out
