"""Accounts (with geography, size and buying complexity), their owners over time, contacts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from salesops.demo import params as P  # noqa: N812
from salesops.demo import vocab
from salesops.demo.calendar import DAY, I64
from salesops.demo.org import FAR, Org
from salesops.demo.sinks import NULL_INT, Column

ACCOUNT_CHUNK = 100_000
COUNTRY_KEYS = tuple(vocab.CITIES)
Write = Callable[[str, dict[str, Column], int], None]


@dataclass
class Accounts:
    """What later steps need to know about every account (plain arrays, indexed 0..n-1)."""

    ids: I64
    seat: I64
    complexity: I64
    industry: I64
    employees: I64
    country: I64  # index into COUNTRY_KEYS
    created_ts: I64
    contact_first: I64  # id of the account's first contact
    contact_count: I64
    name: pa.Array
    contact_given: pa.Array  # contact first and last names, by contact id - first contact id
    contact_family: pa.Array
    seat_first: I64  # index of each seat's first account (accounts are sorted by seat)

    def __len__(self) -> int:
        return len(self.ids)


def _choice(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> I64:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right")


def _countries(rng: np.random.Generator, region: I64, group: I64) -> I64:
    group = group.copy()
    country = np.zeros(len(region), dtype=np.int64)
    for r, name in enumerate(P.REGIONS):
        free = (region == r) & (group < 0)
        group[free] = _choice(rng, vocab.GEO_GROUP_WEIGHT[name], int(free.sum()))
        for g, (_, countries) in enumerate(vocab.GEO_GROUPS[name]):
            mask = (region == r) & (group == g)
            keys = np.asarray([COUNTRY_KEYS.index(c) for c, _ in countries], dtype=np.int64)
            country[mask] = keys[_choice(rng, tuple(w for _, w in countries), int(mask.sum()))]
    return country


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(
        [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
    )


def build_accounts(seed: int, org: Org, write: Write) -> Accounts:
    """Generate every account with its contacts and owners, writing them chunk by chunk."""
    book = org.seat_book
    n = int(book.sum())
    seat_of = np.repeat(np.arange(org.seats, dtype=np.int64), book)
    seat_first = np.concatenate([[0], np.cumsum(book)[:-1]]).astype(np.int64)
    occ_first = np.searchsorted(org.occ_seat, np.arange(org.seats), side="left")
    occ_count = np.bincount(org.occ_seat, minlength=org.seats)
    base = org.ids["accounts"]
    keep: dict[str, list[I64]] = {
        k: []
        for k in ("complexity", "industry", "employees", "country", "created", "cfirst", "ccount")
    }
    names: list[pa.Array] = []
    given: list[pa.Array] = []
    family: list[pa.Array] = []
    next_contact = org.ids["contacts"] + 1
    industry_weights = tuple(w for _, w in vocab.INDUSTRIES)
    for chunk, lo in enumerate(range(0, n, ACCOUNT_CHUNK)):
        rng = np.random.default_rng([seed, 1, chunk])
        hi = min(lo + ACCOUNT_CHUNK, n)
        m = hi - lo
        idx = np.arange(lo, hi, dtype=np.int64)
        seat = seat_of[lo:hi]
        seg = org.seat_segment[seat]
        region = org.seat_region[seat]
        opened = org.seat_open_ts[seat]
        age = np.where(opened <= org.start_ts, rng.random(m) * 730, rng.random(m) * 30)
        created = opened - (age * DAY).astype(np.int64)
        created -= created % DAY - 10 * 3600
        employees = np.exp(np.log(np.take(P.EMPLOYEES_MEDIAN, seg)) + rng.normal(0, 0.7, m))
        low = np.take([r[0] for r in P.EMPLOYEES_RANGE], seg)
        high = np.take([r[1] for r in P.EMPLOYEES_RANGE], seg)
        employees = np.clip(np.round(employees), low, high).astype(np.int64)
        revenue = employees * np.exp(np.log(P.REVENUE_PER_EMPLOYEE_MEDIAN) + rng.normal(0, 0.5, m))
        revenue_cents = (np.round(revenue / 1000) * 100_000).astype(np.int64)
        complexity = np.clip(
            np.round(np.take(P.COMPLEXITY_BASE, seg) + rng.normal(0, 0.8, m)), 1, 5
        ).astype(np.int64)
        industry = _choice(rng, industry_weights, m)
        country = _countries(rng, region, org.seat_group[seat])
        lat = np.empty(m)
        lon = np.empty(m)
        for c, key in enumerate(COUNTRY_KEYS):
            mask = country == c
            cities = np.asarray(vocab.CITIES[key])
            pick = cities[rng.integers(0, len(cities), int(mask.sum()))]
            lat[mask], lon[mask] = pick[:, 0], pick[:, 1]
        lat = np.round(lat + rng.uniform(-0.2, 0.2, m), 4)
        lon = np.round(lon + rng.uniform(-0.2, 0.2, m), 4)
        # Subsidiaries: some larger accounts belong to an earlier Enterprise account.
        enterprise = np.flatnonzero(seg == 2) + lo
        earlier = np.searchsorted(enterprise, idx, side="left")
        has_parent = (seg >= 1) & (rng.random(m) < P.PARENT_SHARE) & (earlier > 0)
        parent = np.full(m, NULL_INT, dtype=np.int64)
        choose = (rng.random(m) * np.maximum(earlier, 1)).astype(np.int64)
        parent[has_parent] = enterprise[choose[has_parent]] + base + 1
        name = vocab.company_names(rng, m)
        country_names = [vocab.country_label(k) for k in COUNTRY_KEYS]
        write(
            "accounts",
            {
                "id": idx + base + 1,
                "name": name,
                "industry": vocab.pick([i for i, _ in vocab.INDUSTRIES], industry),
                "segment": vocab.pick(P.SEGMENTS, seg),
                "employees": employees,
                "annual_revenue": revenue_cents,
                "country": vocab.pick(country_names, country),
                "region": vocab.pick(P.REGIONS, region),
                "latitude": lat,
                "longitude": lon,
                "parent_id": parent,
                "buying_complexity": complexity,
                "territory_id": org.seat_territory[seat],
                "year_established": rng.integers(1950, 2023, m),
                "created_at": created,
            },
            m,
        )
        # Owners: every holder of the account's seat, from the account's creation on.
        counts = occ_count[seat]
        owner_acc = np.repeat(idx, counts)
        starts = np.repeat(occ_first[seat] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        occ = starts + np.arange(int(counts.sum()))
        first_row = np.concatenate([[True], owner_acc[1:] != owner_acc[:-1]])
        valid_from = np.where(first_row, np.repeat(created, counts), org.occ_from[occ]) // DAY
        to = org.occ_to[occ]
        write(
            "account_owners",
            {
                "account_id": owner_acc + base + 1,
                "rep_id": org.rep_id(org.occ_rep[occ]),
                "valid_from": valid_from,
                "valid_to": np.where(to >= FAR, NULL_INT, to // DAY),
            },
            len(occ),
        )
        # Contacts.
        ccount = 1 + rng.poisson(np.take(P.CONTACTS_MEAN, seg) - 1)
        total = int(ccount.sum())
        first, last = vocab.person_names(rng, total)
        domain = vocab.domains(name).take(pa.array(np.repeat(np.arange(m), ccount)))
        title = vocab.pick(vocab.CONTACT_TITLES, rng.integers(0, len(vocab.CONTACT_TITLES), total))
        write(
            "contacts",
            {
                "id": np.arange(next_contact, next_contact + total, dtype=np.int64),
                "account_id": np.repeat(idx, ccount) + base + 1,
                "first_name": first,
                "last_name": last,
                "email": vocab.emails(first, last, domain),
                "title": title,
                "created_at": np.repeat(created, ccount),
            },
            total,
        )
        cfirst = next_contact + np.concatenate([[0], np.cumsum(ccount)[:-1]])
        next_contact += total
        for key, value in (
            ("complexity", complexity),
            ("industry", industry),
            ("employees", employees),
            ("country", country),
            ("created", created),
            ("cfirst", cfirst),
            ("ccount", ccount),
        ):
            keep[key].append(np.asarray(value, dtype=np.int64))
        names.append(name)
        given.append(first)
        family.append(last)
    return Accounts(
        ids=np.arange(n, dtype=np.int64) + base + 1,
        seat=seat_of,
        complexity=np.concatenate(keep["complexity"]),
        industry=np.concatenate(keep["industry"]),
        employees=np.concatenate(keep["employees"]),
        country=np.concatenate(keep["country"]),
        created_ts=np.concatenate(keep["created"]),
        contact_first=np.concatenate(keep["cfirst"]),
        contact_count=np.concatenate(keep["ccount"]),
        name=_concat(names),
        contact_given=_concat(given),
        contact_family=_concat(family),
        seat_first=seat_first,
    )
