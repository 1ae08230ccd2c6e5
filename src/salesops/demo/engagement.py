"""Leads (converted and not) and activities (touches on deals, leads and customers)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from salesops.demo import params as P  # noqa: N812
from salesops.demo import vocab
from salesops.demo.accounts import COUNTRY_KEYS, Accounts
from salesops.demo.calendar import DAY, HOUR, I64, quarters, to_workday
from salesops.demo.chunk import Counters, Rows
from salesops.demo.deals import Lives, owner_at
from salesops.demo.org import Org
from salesops.demo.sinks import NULL_INT, Column

CAMPAIGN_PREFIX = (
    "Website",
    "Referral Program",
    "Partner Program",
    "Field Events",
    "Webinar Series",
    "Paid Search",
)
KINDS = tuple(k for k, _ in P.ACTIVITY_KIND_SHARE)


def _campaign(source: I64, ts: I64) -> pa.Array:
    q = quarters(ts)
    label = pa.array(q // 4 + 1970).cast(pa.string())
    return vocab.join(
        vocab.pick(CAMPAIGN_PREFIX, source), " ", label, "-Q", pa.array(q % 4 + 1).cast(pa.string())
    )


def _attributes(industry: pa.Array, employees: I64, title: pa.Array, country: pa.Array) -> pa.Array:
    return vocab.join(
        '{"industry": "',
        industry,
        '", "employees": ',
        pa.array(employees).cast(pa.string()),
        ', "title": "',
        title,
        '", "country": "',
        country,
        '"}',
    )


def lead_rows(
    rng: np.random.Generator,
    org: Org,
    acc: Accounts,
    lives: Lives,
    keep: np.ndarray,
    new_id: I64,
    ids: Counters,
) -> tuple[Rows, dict[str, I64]]:
    """Leads behind marketing-sourced new deals, plus the leads of those sources that did not
    convert (source-dependent conversion rates)."""
    s = lives.seeds
    conv = np.flatnonzero(keep & (s.type == 0) & (s.source < len(P.LEAD_SOURCES)))
    n = len(conv)
    account = s.account[conv]
    created = s.t0[conv] - (rng.exponential(P.LEAD_AGE_DAYS, n) * DAY).astype(np.int64) - HOUR
    created = np.maximum(created, s.t0[conv] - 180 * DAY)
    contact = acc.contact_first[account] + (rng.random(n) * acc.contact_count[account]).astype(
        np.int64
    )
    local = pa.array(contact - org.ids["contacts"] - 1)
    first, last = acc.contact_given.take(local), acc.contact_family.take(local)
    company = acc.name.take(pa.array(account))
    source = s.source[conv]
    lam = (1 - np.asarray(P.LEAD_CONVERSION)) / np.asarray(P.LEAD_CONVERSION)
    extra = rng.poisson(lam[source])
    m = int(extra.sum())
    parent = np.repeat(np.arange(n), extra)
    e_created = created[parent] + (rng.normal(0, P.LEAD_SPREAD_DAYS, m) * DAY).astype(np.int64)
    e_created = np.clip(e_created, org.start_ts, org.cut_ts - HOUR)
    age = (org.cut_ts - e_created) / DAY
    u = rng.random(m)
    status = np.where(
        age < 21,
        np.where(u < 0.6, 0, 1),
        np.where(
            age < 60,
            np.where(u < 0.5, 1, np.where(u < 0.65, 2, 3)),
            np.where(u < 0.85, 3, np.where(u < 0.95, 1, 2)),
        ),
    )
    e_first, e_last = vocab.person_names(rng, m)
    e_company = vocab.company_names(rng, m)
    industries = [i for i, _ in vocab.INDUSTRIES]
    seg = org.seat_segment[s.seat[conv]]
    e_employees = np.maximum(
        1, np.exp(np.log(np.take(P.EMPLOYEES_MEDIAN, seg[parent])) + rng.normal(0, 0.9, m))
    ).astype(np.int64)
    countries = [vocab.country_label(k) for k in COUNTRY_KEYS]
    title_ix = rng.integers(0, len(vocab.CONTACT_TITLES), n + m)
    titles = vocab.pick(vocab.CONTACT_TITLES, title_ix)
    attributes = pa.concat_arrays(
        [
            _attributes(
                vocab.pick(industries, acc.industry[account]),
                acc.employees[account],
                titles[:n],
                vocab.pick(countries, acc.country[account]),
            ),
            _attributes(
                vocab.pick(industries, rng.integers(0, len(industries), m)),
                e_employees,
                titles[n:],
                vocab.pick(countries, acc.country[account][parent]),
            ),
        ]
    )
    all_created = np.concatenate([created, e_created])
    order = np.argsort(all_created, kind="stable")
    lead_id = np.empty(n + m, dtype=np.int64)
    lead_id[order] = ids.leads + 1 + np.arange(n + m)
    ids.leads += n + m
    all_source = np.concatenate([source, source[parent]])
    owner = org.rep_id(np.concatenate([lives.owner0[conv], lives.owner0[conv][parent]]))
    score = np.concatenate([rng.beta(5, 3, n), rng.beta(2, 4, m)])
    all_first = pa.concat_arrays([first, e_first])
    all_last = pa.concat_arrays([last, e_last])
    all_company = pa.concat_arrays([company, e_company])
    none = np.full(m, NULL_INT, dtype=np.int64)
    leads: dict[str, Column] = {
        "id": lead_id,
        "first_name": all_first,
        "last_name": all_last,
        "email": vocab.emails(all_first, all_last, vocab.domains(all_company)),
        "company": all_company,
        "source": vocab.pick(P.LEAD_SOURCES, all_source),
        "campaign": _campaign(all_source, all_created),
        "status": vocab.pick(
            ("new", "working", "qualified", "disqualified", "converted"),
            np.concatenate([np.full(n, 4), status]),
        ),
        "attributes": attributes,
        "score": np.round(score * 10_000).astype(np.int64),
        "owner_id": owner,
        "created_at": all_created,
        "converted_at": np.concatenate([s.t0[conv], none]),
        "converted_account_id": np.concatenate([acc.ids[account], none]),
        "converted_contact_id": np.concatenate([contact, none]),
        "converted_opportunity_id": np.concatenate([new_id[conv], none]),
    }
    until = np.concatenate([s.t0[conv], np.minimum(e_created + 30 * DAY, org.cut_ts)])
    info = {
        "id": lead_id,
        "created": all_created,
        "until": until,
        "owner": owner,
        "contact": np.concatenate([contact, none]),
    }
    return {"leads": (leads, n + m)}, info


def _kinds(rng: np.random.Generator, n: int) -> I64:
    shares = np.cumsum([w for _, w in P.ACTIVITY_KIND_SHARE])
    return np.searchsorted(shares / shares[-1], rng.random(n), side="right")


def activity_rows(
    rng: np.random.Generator,
    org: Org,
    acc: Accounts,
    lives: Lives,
    keep: np.ndarray,
    new_id: I64,
    leads: dict[str, I64],
    ids: Counters,
) -> Rows:
    """Touches on deals (denser and more recent on deals heading for a win), leads, customers."""
    s = lives.seeds
    k = np.flatnonzero(keep)
    seg = org.seat_segment[s.seat[k]]
    life = (lives.end_ts[k] - s.t0[k]) / DAY
    count = 1 + rng.poisson(np.minimum(life / np.take(P.ACTIVITY_GAP_DAYS, seg), P.ACTIVITY_MAX))
    deal = np.repeat(k, count)
    first = np.concatenate([[True], deal[1:] != deal[:-1]]) if len(deal) else np.zeros(0, bool)
    u = rng.random(len(deal))
    # Winning deals keep being worked until the end; losing ones go quiet well before.
    shape = np.where(lives.will_win[deal], np.sqrt(u), u**2)
    span = lives.end_ts[deal] - s.t0[deal]
    ts = np.where(first, lives.engaged_ts[deal], s.t0[deal] + (shape * span).astype(np.int64))
    ok = (ts != NULL_INT) & (ts <= org.cut_ts) & (ts <= lives.end_ts[deal])
    deal, ts, first = deal[ok], ts[ok], first[ok]
    kind = np.where(first, 2, _kinds(rng, len(deal)))
    account = s.account[deal]
    contact = acc.contact_first[account] + (
        rng.random(len(deal)) * acc.contact_count[account]
    ).astype(np.int64)
    rep = org.rep_id(owner_at(lives, deal, ts))
    # Leads: a couple of touches while they were worked.
    lead_n = 1 + rng.poisson(0.5, len(leads["id"]))
    lead = np.repeat(np.arange(len(leads["id"])), lead_n)
    lead_ts = leads["created"][lead] + (
        rng.random(len(lead)) * np.maximum(leads["until"][lead] - leads["created"][lead], HOUR)
    ).astype(np.int64)
    lead_ok = lead_ts <= org.cut_ts
    lead, lead_ts = lead[lead_ok], lead_ts[lead_ok]
    # Customers: a kickoff meeting a week after each win.
    won = np.flatnonzero(keep & (lives.stage == 5))
    kick_ts = to_workday(lives.closed_ts[won] + 7 * DAY)
    kick = won[kick_ts <= org.cut_ts]
    kick_ts = kick_ts[kick_ts <= org.cut_ts]
    n_deal, n_lead, n_kick = len(deal), len(lead), len(kick)
    total = n_deal + n_lead + n_kick
    kind_all = np.concatenate([kind, _kinds(rng, n_lead) % 2, np.full(n_kick, 2)])
    subject_ix = rng.integers(0, 4, total)
    subjects = [sub for k_ in KINDS for sub in vocab.ACTIVITY_SUBJECTS[k_]] + ["Kickoff meeting"]
    subject = np.where(
        np.arange(total) >= n_deal + n_lead, len(subjects) - 1, kind_all * 4 + subject_ix
    )
    minutes = np.where(
        kind_all == 0,
        rng.integers(5, 31, total),
        np.where(kind_all == 2, 15 * rng.integers(2, 5, total), NULL_INT),
    )
    all_ts = np.concatenate([ts, lead_ts, kick_ts])
    order = np.argsort(all_ts, kind="stable")
    act_id = np.empty(total, dtype=np.int64)
    act_id[order] = ids.activities + 1 + np.arange(total)
    ids.activities += total
    nulls = np.full(n_lead, NULL_INT, dtype=np.int64)
    activities: dict[str, Column] = {
        "id": act_id,
        "kind": vocab.pick(KINDS, kind_all),
        "subject": vocab.pick(subjects, subject),
        "occurred_at": all_ts,
        "duration_minutes": minutes,
        "rep_id": np.concatenate([rep, leads["owner"][lead], org.rep_id(lives.owner[kick])]),
        "opportunity_id": np.concatenate([new_id[deal], nulls, np.full(n_kick, NULL_INT)]),
        "account_id": np.concatenate([acc.ids[account], nulls, acc.ids[s.account[kick]]]),
        "lead_id": np.concatenate(
            [np.full(n_deal, NULL_INT), leads["id"][lead], np.full(n_kick, NULL_INT)]
        ),
        "contact_id": np.concatenate([contact, leads["contact"][lead], np.full(n_kick, NULL_INT)]),
    }
    return {"activities": (activities, total)}
