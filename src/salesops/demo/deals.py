"""Deal lives, simulated in bulk: funnel paths, slips, repricing, reassignments, reopenings.

Each deal is simulated to its end even when that lies after the demo's end date; only what
happened by then becomes events, so deals still open at the end form a realistic pipeline
(and their simulated future gives activities an honest health signal).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from salesops.demo import params as P  # noqa: N812
from salesops.demo.accounts import Accounts
from salesops.demo.calendar import (
    DAY,
    HOUR,
    I64,
    month_end_day,
    months,
    quarter_end_day,
    quarters,
    to_workday,
)
from salesops.demo.org import Org
from salesops.demo.sinks import NULL_INT

F64 = npt.NDArray[np.float64]
STAGE, FORECAST, AMOUNT, CLOSE_DATE, OWNER = 1, 2, 3, 4, 5  # event fields; 0 is "created"
SOURCES = (*P.LEAD_SOURCES, P.OUTBOUND, P.EXISTING_CUSTOMER, P.RENEWAL_SOURCE)
OUTBOUND, EXISTING, RENEWAL = len(P.LEAD_SOURCES), len(P.LEAD_SOURCES) + 1, len(P.LEAD_SOURCES) + 2
LOSS_REASONS = tuple(
    dict.fromkeys(P.LOSS_REASONS_EARLY + P.LOSS_REASONS_LATE + P.LOSS_REASONS_RENEWAL)
)


@dataclass
class Seeds:
    """Opportunities about to be simulated: what is known when each is created."""

    t0: I64
    seat: I64
    account: I64
    type: I64  # index into P.TYPES
    s0: I64
    amount: I64  # cents
    product: I64
    planned: I64  # expected close, day number
    source: I64  # index into SOURCES
    competitor: I64  # index into P.COMPETITORS, -1 for none
    contract: I64  # the contract a renewal renews, -1 otherwise
    root: I64  # the first deal of the family (renewals point at their origin)

    def __len__(self) -> int:
        return len(self.t0)

    def take(self, index: npt.NDArray[np.int64]) -> Seeds:
        return Seeds(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass
class Lives:
    """Simulated deals: their events up to the end date and their state then."""

    seeds: Seeds
    owner0: I64
    stage: I64
    forecast: I64
    amount: I64
    close_date: I64
    owner: I64
    closed_ts: I64  # NULL_INT while open
    loss_reason: I64  # index into LOSS_REASONS, -1 for none
    engaged_ts: I64
    will_win: npt.NDArray[np.bool_]  # simulated outcome, even beyond the end date
    end_ts: I64  # simulated close, even beyond the end date
    ev_opp: I64
    ev_ts: I64
    ev_field: I64
    ev_old: I64
    ev_new: I64


def _pick(rng: np.random.Generator, weights: F64 | tuple[float, ...], n: int) -> I64:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right")


def _round100(cents: F64) -> I64:
    return np.maximum(np.round(cents / 10_000) * 10_000, 50_000).astype(np.int64)


def _planned_close(rng: np.random.Generator, t0: I64, days: F64) -> I64:
    day = (t0 + (days * np.exp(rng.normal(0, P.CLOSE_DATE_PLAN_SIGMA, len(t0))) * DAY)) // DAY
    day = np.maximum(day.astype(np.int64), t0 // DAY + 7)
    snap = rng.random(len(t0))
    ts = day * DAY
    return np.where(
        snap < 0.25,
        quarter_end_day(quarters(ts)),
        np.where(snap < 0.6, month_end_day(ts), day),
    )


def _remaining_days(seg: I64, s0: I64, cfac: npt.NDArray[Any]) -> F64:
    share = np.cumsum(np.asarray(P.STAGE_TIME_SHARE)[::-1])[::-1]  # share from stage k on
    return np.take(P.CYCLE_MEDIAN_DAYS, seg) * share[s0] * cfac  # type: ignore[no-any-return]


def primaries(rng: np.random.Generator, org: Org, acc: Accounts, n: int) -> Seeds:
    """`n` new-business and expansion deals, spread over the history by seat capacity."""
    weight = np.take(P.SEAT_OPP_WEIGHT, org.seat_segment)
    days = (org.cut_ts - org.start_ts) // DAY
    month_factor = np.asarray(P.CREATE_MONTH_FACTOR) / max(P.CREATE_MONTH_FACTOR)
    got_t: list[I64] = []
    got_seat: list[I64] = []
    have = 0
    while have < n:
        m = (n - have) * 2 + 16
        seat = _pick(rng, weight, m)
        region = org.seat_region[seat]
        lo = np.take([P.REGION_WORK_HOURS_UTC[r][0] for r in P.REGIONS], region)
        hi = np.take([P.REGION_WORK_HOURS_UTC[r][1] for r in P.REGIONS], region)
        hour = lo + rng.random(m) * (hi - lo)
        t = to_workday(
            org.start_ts + rng.integers(0, days, m) * DAY + (hour * HOUR).astype(np.int64)
        )
        occ = org.occupancy_at(seat, t)
        ok = (t <= org.cut_ts) & (t >= org.seat_open_ts[seat]) & (org.occ_seat[occ] == seat)
        factor = org.activity_factor(occ, t) * month_factor[months(t) % 12]
        ok &= rng.random(m) < factor
        got_t.append(t[ok])
        got_seat.append(seat[ok])
        have += int(ok.sum())
    t0 = np.concatenate(got_t)[:n]
    seat = np.concatenate(got_seat)[:n]
    seg = org.seat_segment[seat]
    account = acc.seat_first[seat] + (rng.random(n) * org.seat_book[seat]).astype(np.int64)
    kind = (rng.random(n) < np.take(P.EXPANSION_SHARE, seg)).astype(np.int64)
    source = _pick(rng, (*P.LEAD_SOURCE_SHARE, 1 - sum(P.LEAD_SOURCE_SHARE)), n)
    source = np.where(kind == 1, EXISTING, source)
    s0 = np.where(source == OUTBOUND, 0, 1)
    product = np.zeros(n, dtype=np.int64)
    for s in range(len(P.SEGMENTS)):
        mask = seg == s
        product[mask] = _pick(rng, tuple(p.segment_weight[s] for p in P.PRODUCTS), int(mask.sum()))
    occ = org.occupancy_at(seat, t0)
    skill = org.rep_skill[org.occ_rep[occ]]
    years = (t0 - org.start_ts) / (365.25 * DAY)
    size = np.exp(
        np.log(np.take(P.SEGMENT_SIZE_MULTIPLIER, seg))
        + rng.normal(0, 1, n) * np.take(P.SIZE_SIGMA, seg)
    )
    size *= np.where(kind == 1, P.EXPANSION_SIZE, 1.0) * (1 + P.PRICE_GROWTH_PER_YEAR) ** years
    price = np.take([p.list_price for p in P.PRODUCTS], product) * 100.0
    amount = _round100(price * size * np.sqrt(skill))
    competitor = np.where(
        rng.random(n) < P.COMPETITOR_SHARE, rng.integers(0, len(P.COMPETITORS), n), -1
    )
    cfac = 1 + P.COMPLEXITY_CYCLE * (acc.complexity[account] - 3)
    planned = _planned_close(rng, t0, _remaining_days(seg, s0, cfac))
    none = np.full(n, -1, dtype=np.int64)
    return Seeds(
        t0=t0,
        seat=seat,
        account=account,
        type=kind,
        s0=s0,
        amount=amount,
        product=product,
        planned=planned,
        source=source,
        competitor=competitor,
        contract=none,
        root=none.copy(),
    )


def _path(
    rng: np.random.Generator, t_start: I64, s0: I64, advance: F64, dur: F64
) -> tuple[I64, I64, I64]:
    """Walk the funnel from `s0`: the stage a deal is lost in (5 if won), entries, close time."""
    n = len(t_start)
    k = np.arange(5)
    fail = (rng.random((n, 5)) >= advance) & (k >= s0[:, None])
    final = np.where(fail.any(axis=1), fail.argmax(axis=1), 5)
    spent = np.cumsum(np.where(k >= s0[:, None], dur, 0), axis=1)
    entries = t_start[:, None] + np.concatenate([np.zeros((n, 1)), spent[:, :-1]], axis=1)
    entries = entries.astype(np.int64)
    lost_at = np.minimum(final, 4)
    frac = rng.uniform(*P.LOST_DAYS_INTO_STAGE, n)
    end = np.where(
        final == 5,
        t_start + spent[:, 4],
        entries[np.arange(n), lost_at] + frac * dur[np.arange(n), lost_at],
    )
    return final.astype(np.int64), entries, end.astype(np.int64)


def _reason(rng: np.random.Generator, lost_in: I64, kind: I64, competitor: I64) -> I64:
    n = len(lost_in)
    early = np.asarray([LOSS_REASONS.index(r) for r in P.LOSS_REASONS_EARLY])
    late = np.asarray([LOSS_REASONS.index(r) for r in P.LOSS_REASONS_LATE])
    renewal = np.asarray([LOSS_REASONS.index(r) for r in P.LOSS_REASONS_RENEWAL])
    reason = np.where(
        lost_in <= 1,
        early[_pick(rng, P.LOSS_REASONS_EARLY_P, n)],
        late[_pick(rng, P.LOSS_REASONS_LATE_P, n)],
    )
    reason = np.where(kind == 2, renewal[_pick(rng, P.LOSS_REASONS_RENEWAL_P, n)], reason)
    to_rival = (reason == LOSS_REASONS.index("Lost to competitor")) & (competitor < 0)
    return np.where(to_rival, LOSS_REASONS.index("No decision"), reason)


class _Candidates:
    """Proposed field values over time; changes against the previous value become events."""

    def __init__(self) -> None:
        self.parts: list[tuple[I64, I64, int, I64]] = []

    def add(self, mask: npt.NDArray[np.bool_], ts: I64, field: int, value: I64) -> None:
        idx = np.flatnonzero(mask)
        self.parts.append((idx, ts[idx], field, value[idx]))


def simulate(rng: np.random.Generator, org: Org, acc: Accounts, seeds: Seeds) -> Lives:
    """Simulate every deal in `seeds` and keep what happened by the end date."""
    n = len(seeds)
    t0, seat, kind, s0 = seeds.t0, seeds.seat, seeds.type, seeds.s0
    seg = org.seat_segment[seat]
    occ0 = org.occupancy_at(seat, t0)
    owner0 = org.occ_rep[occ0]
    win = org.activity_factor(occ0, t0, win=True) * org.rep_skill[owner0] ** 0.5
    src_adv = np.take((*P.LEAD_SOURCE_ADVANCE, 1.0, 1.0, 1.0), seeds.source)
    step = (
        np.take(P.SEGMENT_ADVANCE, seg)
        * np.take([P.TYPE_ADVANCE[t] for t in P.TYPES], kind)
        * src_adv
        * np.where(seeds.competitor >= 0, P.COMPETITOR_ADVANCE, 1.0)
        * win**0.2
    )
    advance = np.clip(np.asarray(P.ADVANCE)[None, :] * step[:, None], 0.02, 0.985)
    cfac = 1 + P.COMPLEXITY_CYCLE * (acc.complexity[seeds.account] - 3)
    median = np.take(P.CYCLE_MEDIAN_DAYS, seg) * cfac
    renewal_scale = np.where(
        kind == 2, np.take(P.RENEWAL_LEAD_DAYS, seg) / (median * sum(P.STAGE_TIME_SHARE[2:])), 1.0
    )
    base = (median * renewal_scale)[:, None] * np.asarray(P.STAGE_TIME_SHARE)[None, :]
    dur = np.maximum(base * np.exp(rng.normal(0, P.DURATION_SIGMA, (n, 5))) * DAY, 2 * HOUR)
    final1, entries1, end1 = _path(rng, t0, s0, advance, dur)
    won1 = final1 == 5

    # Quarter-end behaviour of won deals: held to the quarter's last week, or pulled back into
    # the quarter just ended with a discount.
    q = quarters(end1)
    month_in_q = months(end1) % 3
    day_in_q = end1 // DAY - (quarter_end_day(q - 1) + 1)
    u = rng.random(n)
    hold = won1 & (month_in_q < 2) & (u < P.HOLD_TO_QUARTER_END)
    held = (quarter_end_day(q) - rng.integers(0, 7, n)) * DAY + 14 * HOUR
    end1 = np.where(hold & (held > end1), held, end1)
    pulled_ts = (quarter_end_day(q - 1) - rng.integers(0, 3, n)) * DAY + 15 * HOUR
    pull = (
        won1
        & ~hold
        & (day_in_q < 15)
        & (u < P.HOLD_TO_QUARTER_END + P.PULL_INTO_QUARTER)
        & (pulled_ts > entries1[:, 4] + HOUR)
    )
    end1 = np.where(pull, pulled_ts, end1)

    # Rare reopenings of lost deals: back to Discovery, then a second walk.
    reopen = ~won1 & (rng.random(n) < P.REOPEN_SHARE)
    t_re = end1 + (rng.uniform(*P.REOPEN_AFTER_DAYS, n) * DAY).astype(np.int64)
    final2, entries2, end2 = _path(rng, t_re, np.full(n, 2), advance, dur)
    end = np.where(reopen, end2, end1)
    final = np.where(reopen, final2, final1)

    c = _Candidates()
    reach1 = np.minimum(final1, 4)
    for k in range(1, 5):
        c.add((k > s0) & (k <= reach1), entries1[:, k], STAGE, np.full(n, k))
    c.add(np.ones(n, bool), end1, STAGE, np.where(won1, 5, 6))
    reach2 = np.minimum(final2, 4)
    c.add(reopen, t_re, STAGE, np.full(n, 2))
    for k in (3, 4):
        c.add(reopen & (k <= reach2), entries2[:, k], STAGE, np.full(n, k))
    c.add(reopen, end2, STAGE, np.where(final2 == 5, 5, 6))
    stage_parts = list(c.parts)
    forecast = np.asarray(P.STAGE_FORECAST)
    for idx, ts, _, value in stage_parts:
        c.parts.append((idx, ts, FORECAST, forecast[value]))
    # A rep calls some Proposal deals "commit" before they reach Negotiation.
    next_after_3 = np.where(reach1 >= 4, entries1[:, 4], end1)
    commit_at = entries1[:, 3] + (rng.uniform(0.3, 0.9, n) * (next_after_3 - entries1[:, 3]))
    commit = (reach1 >= 3) & (s0 <= 3) & (rng.random(n) < np.where(won1, *P.EARLY_COMMIT))
    c.add(commit, commit_at.astype(np.int64), FORECAST, np.full(n, 2))

    # Amounts: revised at Proposal, discounted in Negotiation or to land in the quarter.
    amount = seeds.amount.astype(np.float64)
    reprice = (reach1 >= 3) & (rng.random(n) < P.PROPOSAL_REPRICE)
    amount = np.where(
        reprice, _round100(amount * np.exp(rng.normal(0, P.PROPOSAL_REPRICE_SIGMA, n))), amount
    )
    c.add(reprice, entries1[:, 3], AMOUNT, amount.astype(np.int64))
    discount = (reach1 >= 4) & (rng.random(n) < P.NEGOTIATION_DISCOUNT)
    amount = np.where(
        discount, _round100(amount * (1 - rng.uniform(*P.NEGOTIATION_DISCOUNT_RANGE, n))), amount
    )
    c.add(discount, entries1[:, 4], AMOUNT, amount.astype(np.int64))
    amount = np.where(pull, _round100(amount * (1 - rng.uniform(*P.PULL_DISCOUNT, n))), amount)
    c.add(pull, end1, AMOUNT, amount.astype(np.int64))

    # Close dates slip while the deal is still open past them; closing sets the real date.
    current = seeds.planned.copy()
    slipping = np.ones(n, bool)
    for _ in range(P.SLIP_MAX):
        notice = (rng.uniform(*P.SLIP_NOTICE_DAYS, n) * DAY).astype(np.int64)
        at = np.maximum(current * DAY + notice + 10 * HOUR, t0 + HOUR)
        slipping &= (at < end1) & (current < end1 // DAY)
        r = rng.random(n)
        later = (current + 14) * DAY
        new = np.where(
            r < 0.4,
            month_end_day(later),
            np.where(r < 0.7, quarter_end_day(quarters(later)), current + rng.integers(14, 46, n)),
        )
        c.add(slipping, at, CLOSE_DATE, new)
        current = np.where(slipping, new, current)
    c.add(np.ones(n, bool), end1, CLOSE_DATE, end1 // DAY)
    c.add(reopen, t_re, CLOSE_DATE, t_re // DAY + 45)
    c.add(reopen, end2, CLOSE_DATE, end2 // DAY)

    # Owners: when the rep leaves, the team manager takes over the open deals (and keeps
    # them: a new hire starts with an empty pipeline and builds their own).
    o = np.minimum(occ0 + 1, len(org.occ_seat) - 1)
    leaves = (occ0 + 1 < len(org.occ_seat)) & (org.occ_seat[o] == seat) & org.occ_vacancy[o]
    c.add(leaves & (org.occ_from[o] < end), org.occ_from[o], OWNER, org.occ_rep[o])

    initial = {
        STAGE: s0,
        FORECAST: forecast[s0],
        AMOUNT: seeds.amount,
        CLOSE_DATE: seeds.planned,
        OWNER: owner0,
    }
    lives = _chains(c, initial, n, org.cut_ts)
    stage, last_stage_ts = lives.pop("stage"), lives.pop("stage_ts")
    closed = stage >= 5
    lost_in = np.where(reopen, reach2, reach1)
    reason = np.where(stage == 6, _reason(rng, lost_in, kind, seeds.competitor), -1)
    engaged = t0 + (rng.exponential(2.0, n) * DAY).astype(np.int64) + HOUR
    engaged = np.minimum(engaged, end - 60)
    return Lives(
        seeds=seeds,
        owner0=owner0,
        stage=stage,
        closed_ts=np.where(closed, last_stage_ts, NULL_INT),
        loss_reason=reason,
        engaged_ts=np.where(engaged <= org.cut_ts, engaged, NULL_INT),
        will_win=final == 5,
        end_ts=end,
        **lives,
    )


def owner_at(lives: Lives, deal: I64, ts: I64) -> I64:
    """The rep owning each `deal` at each `ts` (deals change owner at most once)."""
    changed = np.full(len(lives.stage), np.iinfo(np.int64).max, dtype=np.int64)
    moves = lives.ev_field == OWNER
    changed[lives.ev_opp[moves]] = lives.ev_ts[moves]
    result: I64 = np.where(ts >= changed[deal], lives.owner[deal], lives.owner0[deal])
    return result


def _chains(c: _Candidates, initial: dict[int, I64], n: int, cut: int) -> dict[str, I64]:
    """Turn candidates up to `cut` into events (old value = previous new value) and finals."""
    opp = np.concatenate([p[0] for p in c.parts])
    ts = np.concatenate([p[1] for p in c.parts])
    field = np.concatenate([np.full(len(p[0]), p[2]) for p in c.parts])
    value = np.concatenate([p[3] for p in c.parts]).astype(np.int64)
    keep = ts <= cut
    opp, ts, field, value = opp[keep], ts[keep], field[keep], value[keep]
    order = np.lexsort((ts, opp, field))
    opp, ts, field, value = opp[order], ts[order], field[order], value[order]
    start = np.ones(len(opp), bool)
    start[1:] = (opp[1:] != opp[:-1]) | (field[1:] != field[:-1])
    init = np.zeros(len(opp), dtype=np.int64)
    for f, values in initial.items():
        mask = field == f
        init[mask] = values[opp[mask]]
    previous = np.where(start, init, np.concatenate([[0], value[:-1]]))
    changed = value != previous
    last = np.ones(len(opp), bool)
    last[:-1] = start[1:]
    out: dict[str, I64] = {}
    for f, name in (
        (STAGE, "stage"),
        (FORECAST, "forecast"),
        (AMOUNT, "amount"),
        (CLOSE_DATE, "close_date"),
        (OWNER, "owner"),
    ):
        final = initial[f].copy()
        at = np.full(n, NULL_INT, dtype=np.int64)
        mask = last & (field == f)
        final[opp[mask]] = value[mask]
        at[opp[mask]] = ts[mask]
        out[name] = final
        if f == STAGE:
            out["stage_ts"] = at
    out.update(
        ev_opp=opp[changed],
        ev_ts=ts[changed],
        ev_field=field[changed],
        ev_old=previous[changed],
        ev_new=value[changed],
    )
    return out
