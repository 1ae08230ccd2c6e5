"""One chunk of the demo: deals with their renewals and contracts, as rows for every table."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesops.demo import params as P  # noqa: N812
from salesops.demo import vocab
from salesops.demo.accounts import Accounts
from salesops.demo.calendar import DAY, HOUR, I64, add_months_days, to_workday
from salesops.demo.deals import (
    AMOUNT,
    CLOSE_DATE,
    FORECAST,
    LOSS_REASONS,
    OWNER,
    RENEWAL,
    SOURCES,
    STAGE,
    Lives,
    Seeds,
    owner_at,
    primaries,
    simulate,
)
from salesops.demo.org import Org
from salesops.demo.sinks import MONEY, NULL_INT, Column, decimal_array

FIELD_NAMES = ("created", "stage", "forecast_category", "amount", "close_date", "owner")
Rows = dict[str, tuple[dict[str, Column], int]]


@dataclass
class Counters:
    """The last id used in each table written chunk by chunk."""

    opportunities: int = 0
    opportunity_events: int = 0
    contracts: int = 0
    leads: int = 0
    activities: int = 0


def _concat(parts: list[Lives]) -> Lives:
    offset = 0
    pieces: dict[str, list[I64]] = {}
    for lives in parts:
        for f in fields(Lives):
            if f.name == "seeds":
                continue
            value = getattr(lives, f.name)
            pieces.setdefault(f.name, []).append(value + offset if f.name == "ev_opp" else value)
        offset += len(lives.stage)
    seeds = Seeds(
        **{f.name: np.concatenate([getattr(p.seeds, f.name) for p in parts]) for f in fields(Seeds)}
    )
    return Lives(seeds=seeds, **{k: np.concatenate(v) for k, v in pieces.items()})  # type: ignore[arg-type]


@dataclass
class Contracts:
    opp: I64  # index of the won deal in the chunk
    account: I64
    start: I64
    end: I64
    term: I64
    value: I64
    auto: np.ndarray
    renewal_of: I64  # contract index, -1 for first contracts


def _contracts(
    rng: np.random.Generator, org: Org, lives: Lives, offset: int, earlier_end: I64
) -> Contracts:
    won = np.flatnonzero(lives.stage == 5)
    n = len(won)
    seg = org.seat_segment[lives.seeds.seat[won]]
    start = lives.closed_ts[won] // DAY + rng.integers(0, 15, n)
    renews = lives.seeds.contract[won]
    # A renewal contract starts the day after the one it renews ends (or on signature if late).
    follow = earlier_end[np.maximum(renews, 0)] + 1 if len(earlier_end) else start
    start = np.where(renews >= 0, np.maximum(follow, lives.closed_ts[won] // DAY), start)
    term = np.zeros(n, dtype=np.int64)
    for s in range(len(P.SEGMENTS)):
        mask = seg == s
        cumulative = np.cumsum(P.TERM_SHARE[s])
        term[mask] = np.take(
            P.TERM_MONTHS, np.searchsorted(cumulative, rng.random(int(mask.sum())))
        )
    end = add_months_days(start, term) - 1
    return Contracts(
        opp=won + offset,
        account=lives.seeds.account[won],
        start=start,
        end=end,
        term=term,
        value=lives.amount[won],
        auto=rng.random(n) < np.take(P.AUTO_RENEW, seg),
        renewal_of=lives.seeds.contract[won],
    )


def _renewal_seeds(
    rng: np.random.Generator, org: Org, acc: Accounts, con: Contracts, first: int, roots: I64
) -> Seeds:
    n = len(con.opp)
    seat = acc.seat[con.account]
    seg = org.seat_segment[seat]
    lead = np.take(P.RENEWAL_LEAD_DAYS, seg) + rng.integers(-10, 11, n)
    t0 = to_workday((con.end - lead) * DAY + 15 * HOUR + rng.integers(0, 4 * HOUR, n))
    silent = rng.random(n) < np.take(P.NO_RENEWAL_OPPORTUNITY, seg)
    keep = np.flatnonzero((t0 <= org.cut_ts) & ~silent)
    uplift = np.exp(rng.normal(*P.RENEWAL_UPLIFT, n))
    amount = np.maximum(np.round(con.value * uplift / 10_000) * 10_000, 50_000).astype(np.int64)
    competitor = np.where(rng.random(n) < 0.25, rng.integers(0, len(P.COMPETITORS), n), -1)
    seeds = Seeds(
        t0=t0,
        seat=seat,
        account=con.account,
        type=np.full(n, 2),
        s0=np.full(n, 2),
        amount=amount,
        product=np.zeros(n, dtype=np.int64),
        planned=con.end,
        source=np.full(n, RENEWAL),
        competitor=competitor,
        contract=np.arange(n) + first,
        root=roots,
    )
    return seeds.take(keep)


def simulate_chunk(
    rng: np.random.Generator, org: Org, acc: Accounts, size: int
) -> tuple[Lives, Contracts, np.ndarray]:
    """`size` deals (families of a first deal and its renewals) plus the contracts they won."""
    seeds = primaries(rng, org, acc, size)
    seeds.root = np.arange(size, dtype=np.int64)
    parts = [simulate(rng, org, acc, seeds)]
    generation = [np.zeros(size, dtype=np.int64)]
    contracts: list[Contracts] = []
    offset, n_contracts = 0, 0
    while True:
        lives = parts[-1]
        ends = np.concatenate([c.end for c in contracts]) if contracts else np.zeros(0, np.int64)
        con = _contracts(rng, org, lives, offset, ends)
        contracts.append(con)
        renewal = _renewal_seeds(
            rng, org, acc, con, n_contracts, lives.seeds.root[con.opp - offset]
        )
        renewal.product = lives.seeds.product[con.opp - offset][renewal.contract - n_contracts]
        offset += len(lives.stage)
        n_contracts += len(con.opp)
        if len(renewal) == 0:
            break
        parts.append(simulate(rng, org, acc, renewal))
        generation.append(np.full(len(renewal), len(parts) - 1, dtype=np.int64))
    lives = _concat(parts)
    con = Contracts(
        **{
            f.name: np.concatenate([getattr(c, f.name) for c in contracts])
            for f in fields(Contracts)
        }
    )
    # Keep exactly `size` deals: whole families in order, the last one possibly cut short.
    order = np.lexsort((np.concatenate(generation), lives.seeds.root))
    keep = np.zeros(len(lives.stage), bool)
    keep[order[:size]] = True
    return lives, con, keep


def _strings(field: I64, values: I64, org: Org) -> pa.Array:
    """Canonical text of event values (see salesops.pipeline.service.event_value)."""
    out = pa.nulls(len(values), pa.string())
    parts = []
    stage_names = pa.array(P.STAGE_NAMES)
    forecast_names = pa.array(P.FORECAST_NAMES)
    for f in range(6):
        idx = np.flatnonzero(field == f)
        v = values[idx]
        if f in (0, STAGE):
            text = stage_names.take(pa.array(v))
        elif f == FORECAST:
            text = forecast_names.take(pa.array(v))
        elif f == AMOUNT:
            text = decimal_array(v, MONEY).cast(pa.string())
        elif f == CLOSE_DATE:
            text = pa.array(v.astype(np.int32), pa.int32()).cast(pa.date32()).cast(pa.string())
        else:
            text = pa.array(org.rep_id(v)).cast(pa.string())
        parts.append((idx, text))
    if not parts:
        return out
    index = np.concatenate([i for i, _ in parts])
    texts = pa.concat_arrays([t for _, t in parts])
    inverse = np.empty(len(index), dtype=np.int64)
    inverse[index] = np.arange(len(index))
    return texts.take(pa.array(inverse))


def chunk_rows(
    org: Org,
    acc: Accounts,
    lives: Lives,
    con: Contracts,
    keep: np.ndarray,
    ids: Counters,
    stage_ids: I64,
) -> tuple[Rows, I64]:
    """Rows for opportunities, their events and contracts; also each deal's new id (or -1)."""
    s = lives.seeds
    kept = np.flatnonzero(keep)
    kept = kept[np.argsort(s.t0[kept], kind="stable")]
    n = len(kept)
    new_id = np.full(len(keep), -1, dtype=np.int64)
    new_id[kept] = ids.opportunities + 1 + np.arange(n)
    ids.opportunities += n
    k = kept
    account = s.account[k]
    seat = s.seat[k]
    year = (s.planned[k] * DAY).astype("datetime64[s]").astype("datetime64[Y]").astype(
        np.int64
    ) + 1970
    labels = [p.name for p in P.PRODUCTS] + [f"Expansion - {p.name}" for p in P.PRODUCTS]
    labels += [f"Renewal {y}" for y in range(2000, 2101)]
    label = np.where(
        s.type[k] == 0,
        s.product[k],
        np.where(
            s.type[k] == 1,
            len(P.PRODUCTS) + s.product[k],
            2 * len(P.PRODUCTS) + np.clip(year, 2000, 2100) - 2000,
        ),
    )
    stage = lives.stage[k]
    noise = np.asarray([-0.1, -0.05, 0, 0, 0.05, 0.1])[np.arange(n) % 6]
    probability = np.where(
        stage >= 5,
        np.take(P.STAGE_PROBABILITY, stage),
        np.clip(np.take(P.STAGE_PROBABILITY, stage) + noise, 0.01, 0.95),
    )
    reason = lives.loss_reason[k]
    opportunities: dict[str, Column] = {
        "id": new_id[k],
        "name": vocab.join(acc.name.take(pa.array(account)), " - ", vocab.pick(labels, label)),
        "account_id": acc.ids[account],
        "owner_id": org.rep_id(lives.owner[k]),
        "product_id": org.product_ids[s.product[k]],
        "territory_id": org.seat_territory[seat],
        "amount": lives.amount[k],
        "currency": "USD",
        "stage_id": stage_ids[stage],
        "forecast_category": vocab.pick(P.FORECAST_NAMES, lives.forecast[k]),
        "close_date": lives.close_date[k],
        "type": vocab.pick(P.TYPES, s.type[k]),
        "lead_source": vocab.pick(SOURCES, s.source[k]),
        "competitor": pa.array([None, *P.COMPETITORS]).take(pa.array(s.competitor[k] + 1)),
        "loss_reason": pa.array([None, *LOSS_REASONS]).take(pa.array(reason + 1)),
        "probability": np.round(probability * 10_000).astype(np.int64),
        "created_at": s.t0[k],
        "engaged_at": lives.engaged_ts[k],
        "closed_at": lives.closed_ts[k],
    }
    # Events: a "created" event per deal, then every change, ordered per deal in time.
    ev_keep = keep[lives.ev_opp]
    opp = np.concatenate([k, lives.ev_opp[ev_keep]])
    ts = np.concatenate([s.t0[k], lives.ev_ts[ev_keep]])
    field = np.concatenate([np.zeros(n, dtype=np.int64), lives.ev_field[ev_keep]])
    old = np.concatenate([np.zeros(n, dtype=np.int64), lives.ev_old[ev_keep]])
    new = np.concatenate([s.s0[k], lives.ev_new[ev_keep]])
    order = np.lexsort((field, ts, new_id[opp]))
    opp, ts, field, old, new = opp[order], ts[order], field[order], old[order], new[order]
    m = len(opp)
    old_text = pc.if_else(pa.array(field == 0), pa.nulls(m, pa.string()), _strings(field, old, org))
    by = np.where(field == OWNER, NULL_INT, org.user_id(owner_at(lives, opp, ts)))
    events: dict[str, Column] = {
        "id": ids.opportunity_events + 1 + np.arange(m),
        "opportunity_id": new_id[opp],
        "field": vocab.pick(FIELD_NAMES, field),
        "old_value": old_text,
        "new_value": _strings(field, new, org),
        "at": ts,
        "by_user_id": by,
        "source": "demo",
    }
    ids.opportunity_events += m
    # Contracts of kept won deals; statuses follow what became of their renewal.
    has = keep[con.opp]
    idx = np.flatnonzero(has)
    idx = idx[np.argsort(con.start[idx], kind="stable")]
    c_id = np.full(len(con.opp), -1, dtype=np.int64)
    c_id[idx] = ids.contracts + 1 + np.arange(len(idx))
    ids.contracts += len(idx)
    renewal_stage = np.full(len(con.opp), -1, dtype=np.int64)
    renewing = np.flatnonzero(keep & (s.contract >= 0))
    renewal_stage[s.contract[renewing]] = lives.stage[renewing]
    cut_day = org.cut_ts // DAY
    status = np.where(
        renewal_stage == 5,
        1,
        np.where(renewal_stage == 6, 2, np.where((renewal_stage < 0) & (con.end < cut_day), 3, 0)),
    )
    seg = org.seat_segment[acc.seat[con.account]]
    renewal_of = np.where(con.renewal_of >= 0, c_id[np.maximum(con.renewal_of, 0)], NULL_INT)
    contracts: dict[str, Column] = {
        "id": c_id[idx],
        "account_id": acc.ids[con.account[idx]],
        "opportunity_id": new_id[con.opp[idx]],
        "status": vocab.pick(("active", "renewed", "churned", "expired"), status[idx]),
        "start_date": con.start[idx],
        "end_date": con.end[idx],
        "term_months": con.term[idx],
        "value": con.value[idx],
        "currency": "USD",
        "auto_renew": con.auto[idx],
        "renewal_of_id": renewal_of[idx],
        "template": vocab.pick(P.TEMPLATES, seg[idx]),
        "created_at": lives.closed_ts[con.opp[idx]],
    }
    rows: Rows = {
        "opportunities": (opportunities, n),
        "opportunity_events": (events, m),
        "contracts": (contracts, len(idx)),
    }
    return rows, new_id
