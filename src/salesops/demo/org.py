"""The sales organisation: seats, reps who come and go, teams, territories, users, products.

A *seat* is a rep position with a book of accounts. Seats open over the history (the team
grows); each seat is held by a sequence of reps (hired, ramped, some leave), with vacancies in
between during which the team manager covers the seat's accounts and deals.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from salesops.demo import params as P  # noqa: N812
from salesops.demo import vocab
from salesops.demo.calendar import DAY, HOUR, I64
from salesops.demo.sinks import NULL_INT, Column

F64 = npt.NDArray[np.float64]
FAR = np.int64(2**40)  # "never" for interval ends
OPS_USERS = (
    ("admin", "Demo Administrator", "admin"),
    ("salesops", "Sam Ops", "ops_rep"),
    ("analyst", "Alex Analyst", "analyst"),
)


@dataclass
class IdBase:
    """Ids already used in each table: generated ids start after these."""

    base: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.base.get(name, 0)


@dataclass
class Org:
    start_ts: int
    cut_ts: int
    reorg_ts: int
    ids: IdBase
    seat_region: I64
    seat_segment: I64
    seat_territory: I64  # territory ids
    seat_group: I64  # geo group within the region, -1 when the territory is the whole region
    seat_team_before: I64
    seat_team_after: I64
    seat_open_ts: I64
    seat_book: I64  # accounts per seat
    occ_seat: I64
    occ_from: I64
    occ_to: I64
    occ_rep: I64
    occ_vacancy: npt.NDArray[np.bool_]
    rep_skill: F64
    rep_hire_ts: I64
    rep_term_ts: I64  # FAR when still employed
    rep_is_seller: npt.NDArray[np.bool_]
    rep_segment: I64
    team_members: list[tuple[int, int, int, int]]  # (team id, rep idx, from day, to day/NULL)
    product_ids: I64
    team_parent: dict[int, int | None]
    tables: dict[str, list[dict[str, Column]]] = field(default_factory=dict)

    @property
    def seats(self) -> int:
        return len(self.seat_region)

    def rep_id(self, rep: npt.NDArray[Any]) -> I64:
        return rep + self.ids["reps"] + 1

    def user_id(self, rep: npt.NDArray[Any]) -> I64:
        return rep + self.ids["users"] + len(OPS_USERS) + 1

    def occupancy_at(self, seat: I64, ts: I64) -> I64:
        """Index into the occupancy arrays of who held each seat at each time."""
        key = self.occ_seat * (2**41) + self.occ_from
        return np.searchsorted(key, seat * (2**41) + ts, side="right") - 1

    def activity_factor(self, occ: I64, ts: I64, *, win: bool = False) -> F64:
        """How productive the holder of a seat is at `ts`: ramping new hires, covering managers."""
        start = P.RAMP_START_WIN if win else P.RAMP_START_ACTIVITY
        tenure_months = (ts - self.rep_hire_ts[self.occ_rep[occ]]) / (30.44 * DAY)
        ramp = np.clip(start + (1 - start) * tenure_months / P.RAMP_MONTHS, start, 1.0)
        vacancy = 0.9 if win else P.VACANCY_ACTIVITY
        return np.where(self.occ_vacancy[occ], vacancy, ramp)


def _largest_remainder(total: int, weights: tuple[float, ...] | list[float], floor: int) -> I64:
    w = np.asarray(weights, dtype=np.float64)
    base = np.full(len(w), floor, dtype=np.int64)
    rest = max(total - base.sum(), 0)
    exact = w / w.sum() * rest
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: rest - counts.sum()]] += 1
    result: I64 = base + counts
    return result


def _username(first: str, last: str, taken: set[str]) -> str:
    stem = (first[0] + last).lower()
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}{n}"
    taken.add(name)
    return name


def build_org(
    rng: np.random.Generator,
    *,
    n_opportunities: int,
    start_ts: int,
    cut_ts: int,
    ids: IdBase,
    taken_usernames: set[str],
) -> Org:
    """Seats, reps, teams, territories, users and products for a company of this size."""
    n_seats = max(len(P.REGIONS) * len(P.SEGMENTS), round(n_opportunities / P.OPPS_PER_SEAT))
    cells = [(r, s) for r in range(len(P.REGIONS)) for s in range(len(P.SEGMENTS))]
    cell_weight = [P.REGION_SHARE[r] * P.SEGMENT_SHARE[s] for r, s in cells]
    cell_seats = _largest_remainder(n_seats, cell_weight, 1)
    reorg_ts = start_ts + P.REORG_DATE_OFFSET_DAYS * DAY
    reorg_ts -= reorg_ts % DAY
    created_org = start_ts - 400 * DAY

    tables: dict[str, list[dict[str, Column]]] = {}

    def add(name: str, row: dict[str, Column]) -> None:
        tables.setdefault(name, []).append(row)

    # Territories: worldwide -> region -> leaf (region x segment [x geo group]).
    territory_id = ids["territories"]

    def new_territory(
        name: str, parent: int | None, region: str | None, rules: dict[str, Any]
    ) -> int:
        nonlocal territory_id
        territory_id += 1
        add(
            "territories",
            {
                "id": territory_id,
                "name": name,
                "parent_id": parent,
                "region": region,
                "rules": json.dumps(rules),
                "created_at": created_org,
            },
        )
        return territory_id

    # Teams: global sales -> region -> segment teams of up to SEATS_PER_TEAM seats.
    team_id = ids["teams"]
    team_parent: dict[int, int | None] = {}
    leaders: list[tuple[str, int, str, int | None]] = []  # (title, team id, region, level)

    def new_team(name: str, parent: int | None, region: str | None) -> int:
        nonlocal team_id
        team_id += 1
        team_parent[team_id] = parent
        add(
            "teams",
            {
                "id": team_id,
                "name": name,
                "parent_id": parent,
                "region": region,
                "created_at": created_org,
            },
        )
        return team_id

    world = new_territory("Worldwide", None, None, {})
    root_team = new_team("Global Sales", None, None)
    leaders.append(("Chief Revenue Officer", root_team, "", 6))
    seat_region: list[int] = []
    seat_segment: list[int] = []
    seat_territory: list[int] = []
    seat_group: list[int] = []
    seat_team: list[int] = []
    team_seats: dict[int, list[int]] = {}
    for r, region in enumerate(P.REGIONS):
        region_territory = new_territory(P.REGION_NAMES[region], world, region, {"region": region})
        region_team = new_team(P.REGION_NAMES[region], root_team, region)
        leaders.append(("Regional Vice President", region_team, region, 5))
        for s, segment in enumerate(P.SEGMENTS):
            count = int(cell_seats[r * len(P.SEGMENTS) + s])
            groups = vocab.GEO_GROUPS[region]
            label = f"{region} {segment}"
            if count >= len(groups):
                per_group = _largest_remainder(count, vocab.GEO_GROUP_WEIGHT[region], 1)
                leaves, geo = [], []
                for g, ((group, countries), k) in enumerate(zip(groups, per_group, strict=True)):
                    names = sorted({vocab.country_label(c) for c, _ in countries})
                    rules: dict[str, Any] = {
                        "region": region,
                        "segment": segment,
                        "countries": names,
                    }
                    if group == "US East":
                        rules["longitude_min"] = -97.3
                    elif group == "US West":
                        rules["longitude_max"] = -97.3
                    leaf = new_territory(f"{label} - {group}", region_territory, region, rules)
                    leaves += [leaf] * int(k)
                    geo += [g] * int(k)
            else:
                leaf = new_territory(
                    label, region_territory, region, {"region": region, "segment": segment}
                )
                leaves = [leaf] * count
                geo = [-1] * count
            n_teams = math.ceil(count / P.SEATS_PER_TEAM)
            cell_teams = [
                new_team(label if n_teams == 1 else f"{label} {k + 1}", region_team, region)
                for k in range(n_teams)
            ]
            for team in cell_teams:
                leaders.append(("Sales Manager", team, region, 4))
            for k in range(count):
                team = cell_teams[k * n_teams // count]
                team_seats.setdefault(team, []).append(len(seat_region))
                seat_region.append(r)
                seat_segment.append(s)
                seat_territory.append(leaves[k])
                seat_group.append(geo[k])
                seat_team.append(team)
    n_seats = len(seat_region)

    # Reorganisation: a share of seats in cells with several teams moves to a sibling team.
    team_before = np.asarray(seat_team, dtype=np.int64)
    team_after = team_before.copy()
    siblings: dict[tuple[int, int], list[int]] = {}
    for k in range(n_seats):
        cell = (seat_region[k], seat_segment[k])
        if team_before[k] not in siblings.setdefault(cell, []):
            siblings[cell].append(int(team_before[k]))
    moves = rng.random(n_seats) < P.REORG_SHARE
    pick_other = rng.random(n_seats)
    for k in np.flatnonzero(moves):
        options = [t for t in siblings[(seat_region[k], seat_segment[k])] if t != team_before[k]]
        if options:
            team_after[k] = options[int(pick_other[k] * len(options))]

    # Seats open over time; the first seat of every cell exists from the start.
    open_ts = np.where(
        rng.random(n_seats) < P.SEATS_OPEN_AT_START,
        start_ts,
        start_ts + (rng.random(n_seats) * (cut_ts - 60 * DAY - start_ts)).astype(np.int64),
    )
    first_of_cell = np.ones(n_seats, dtype=bool)
    first_of_cell[1:] = (np.diff(np.asarray(seat_region)) != 0) | (
        np.diff(np.asarray(seat_segment)) != 0
    )
    open_ts = np.where(first_of_cell, start_ts, open_ts)
    open_ts = open_ts - open_ts % DAY + 9 * HOUR

    n_accounts = max(60, round(n_opportunities * P.ACCOUNTS_PER_OPP))
    book = _largest_remainder(n_accounts, [P.SEAT_ACCOUNT_WEIGHT[s] for s in seat_segment], 3)

    # Leaders (never leave) then, seat by seat, the reps who hold it.
    rep_rows: list[dict[str, Any]] = []
    team_manager: dict[int, int] = {}
    manager_of_region: dict[str, int] = {}
    for title, team, region, level in leaders:
        idx = len(rep_rows)
        if title == "Chief Revenue Officer":
            boss = None
        elif title == "Regional Vice President":
            boss, manager_of_region[region] = 0, idx
        else:
            boss = manager_of_region[region]
        team_manager[team] = idx
        hire = start_ts - int((1 + rng.random() * 5) * 365 * DAY)
        rep_rows.append(
            {
                "title": title,
                "team": team,
                "region": region,
                "level": level,
                "manager": boss,
                "hire": hire - hire % DAY + 9 * HOUR,
                "term": None,
                "seller": False,
                "segment": -1,
            }
        )
    occ: list[tuple[int, int, int, int, bool]] = []  # seat, from, to, rep, vacancy
    tenure_scale = P.MEAN_TENURE_MONTHS * 30.44 * DAY
    for k in range(n_seats):
        t = int(open_ts[k])
        hire = t - int(rng.random() * 5 * 365 * DAY) if t < start_ts + DAY else t
        while t <= cut_ts:
            idx = len(rep_rows)
            term = t + int(rng.exponential(tenure_scale))
            term = term - term % DAY + 17 * HOUR
            rep_rows.append(
                {
                    "title": None,
                    "team": int(team_before[k]),
                    "region": P.REGIONS[seat_region[k]],
                    "level": 0,
                    "manager": None,
                    "hire": hire,
                    "term": term if term <= cut_ts else None,
                    "seller": True,
                    "segment": seat_segment[k],
                    "seat": k,
                }
            )
            occ.append((k, t, term if term <= cut_ts else int(FAR), idx, False))
            if term > cut_ts:
                break
            gap = int(rng.integers(P.VACANCY_DAYS[0], P.VACANCY_DAYS[1] + 1)) * DAY
            cover_team = int(team_before[k] if term < reorg_ts else team_after[k])
            occ.append((k, term, term + gap - 8 * HOUR, team_manager[cover_team], True))
            t = hire = term + gap - 8 * HOUR
    occ_arr = np.asarray([(a, b, c, d) for a, b, c, d, _ in occ], dtype=np.int64)
    vacancy = np.asarray([v for *_, v in occ], dtype=bool)
    n_reps = len(rep_rows)
    hire_ts = np.asarray([r["hire"] for r in rep_rows], dtype=np.int64)
    term_ts = np.asarray([r["term"] or FAR for r in rep_rows], dtype=np.int64)
    skill = np.exp(rng.normal(0, P.SKILL_SIGMA, n_reps))
    prior_years = rng.integers(0, 9, n_reps)

    # Users and reps.
    first, last = vocab.person_names(rng, n_reps)
    firsts, lasts = first.to_pylist(), last.to_pylist()
    user_base = ids["users"]
    for i, (username, full_name, role) in enumerate(OPS_USERS):
        taken_usernames.add(username)
        add(
            "users",
            {
                "id": user_base + i + 1,
                "username": username,
                "full_name": full_name,
                "email": f"{username}@lumen.example",
                "role": role,
                "is_active": True,
                "created_at": created_org,
            },
        )
    team_members: list[tuple[int, int, int, int]] = []
    industries = [name for name, _ in vocab.INDUSTRIES]
    for i, rep in enumerate(rep_rows):
        username = _username(firsts[i], lasts[i], taken_usernames)
        full = f"{firsts[i]} {lasts[i]}"
        active = rep["term"] is None
        role = "sales_rep" if rep["seller"] else ("manager" if rep["level"] == 4 else "director")
        user_id = user_base + len(OPS_USERS) + i + 1
        rep_id = ids["reps"] + i + 1
        add(
            "users",
            {
                "id": user_id,
                "username": username,
                "full_name": full,
                "email": f"{username}@lumen.example",
                "role": role,
                "is_active": active,
                "created_at": int(hire_ts[i]),
            },
        )
        tenure_years = max(0.0, (cut_ts - hire_ts[i]) / (365.25 * DAY))
        experience = int(prior_years[i] + tenure_years) + (4 if not rep["seller"] else 0)
        if rep["seller"]:
            segment = P.SEGMENTS[rep["segment"]]
            level = 1 if experience < 3 else (2 if experience < 7 else 3)
            title = ("", "Senior ", "Principal ")[level - 1] + f"{segment} Account Executive"
            seat = rep["seat"]
            manager = team_manager[
                int(team_after[seat] if hire_ts[i] >= reorg_ts else team_before[seat])
            ]
        else:
            level, title, manager = rep["level"], rep["title"], rep["manager"]
        known = sorted(set(rng.choice(industries, size=int(rng.integers(1, 4)), replace=True)))
        add(
            "reps",
            {
                "id": rep_id,
                "user_id": user_id,
                "name": full,
                "email": f"{username}@lumen.example",
                "title": title,
                "hire_date": int(hire_ts[i] // DAY),
                "termination_date": None if active else int(term_ts[i] // DAY),
                "level": level,
                "experience_years": experience,
                "manager_id": None if manager is None else ids["reps"] + manager + 1,
                "industries_known": json.dumps([str(x) for x in known]),
                "capacity": int(book[rep["seat"]] * (1 + 0.4 * rng.random()))
                if rep["seller"]
                else None,
                "region": rep["region"] or None,
                "is_active": active,
                "created_at": int(hire_ts[i]),
            },
        )
        if not rep["seller"]:
            team_members.append((rep["team"], i, int(hire_ts[i] // DAY), NULL_INT))
    for row in tables["teams"]:
        row["manager_id"] = ids["reps"] + team_manager[int(row["id"])] + 1  # type: ignore[arg-type]
    # Memberships and territory assignments of sellers follow their seat (split at the reorg).
    reorg_day = reorg_ts // DAY
    for seat, t_from, t_to, holder, vac in occ:
        if vac:
            continue
        # The first holder of a seat was usually hired before the history starts.
        d_from = int(min(t_from, hire_ts[holder]) // DAY)
        d_to = t_to // DAY if t_to < FAR else NULL_INT
        if (
            team_before[seat] != team_after[seat]
            and d_from < reorg_day
            and (d_to == NULL_INT or d_to > reorg_day)
        ):
            team_members.append((int(team_before[seat]), holder, d_from, reorg_day))
            team_members.append((int(team_after[seat]), holder, reorg_day, d_to))
        else:
            team = team_after[seat] if d_from >= reorg_day else team_before[seat]
            team_members.append((int(team), holder, d_from, d_to))
        add(
            "territory_assignments",
            {
                "rep_id": ids["reps"] + holder + 1,
                "territory_id": seat_territory[seat],
                "valid_from": d_from,
                "valid_to": None if d_to == NULL_INT else d_to,
            },
        )
    for team, member, d_from, d_to in team_members:
        add(
            "team_memberships",
            {
                "rep_id": ids["reps"] + member + 1,
                "team_id": team,
                "valid_from": d_from,
                "valid_to": None if d_to == NULL_INT else d_to,
            },
        )
    for i, spec in enumerate(P.PRODUCTS):
        add(
            "products",
            {
                "id": ids["products"] + i + 1,
                "name": spec.name,
                "family": spec.family,
                "list_price": spec.list_price * 100,
                "currency": "USD",
                "is_active": True,
                "created_at": created_org,
            },
        )
    return Org(
        start_ts=start_ts,
        cut_ts=cut_ts,
        reorg_ts=reorg_ts,
        ids=ids,
        seat_region=np.asarray(seat_region, dtype=np.int64),
        seat_segment=np.asarray(seat_segment, dtype=np.int64),
        seat_territory=np.asarray(seat_territory, dtype=np.int64),
        seat_group=np.asarray(seat_group, dtype=np.int64),
        seat_team_before=team_before,
        seat_team_after=team_after,
        seat_open_ts=open_ts.astype(np.int64),
        seat_book=book,
        occ_seat=occ_arr[:, 0],
        occ_from=occ_arr[:, 1],
        occ_to=occ_arr[:, 2],
        occ_rep=occ_arr[:, 3],
        occ_vacancy=vacancy,
        rep_skill=skill,
        rep_hire_ts=hire_ts,
        rep_term_ts=term_ts,
        rep_is_seller=np.asarray([r["seller"] for r in rep_rows], dtype=bool),
        rep_segment=np.asarray([r["segment"] for r in rep_rows], dtype=np.int64),
        team_members=team_members,
        product_ids=np.arange(len(P.PRODUCTS), dtype=np.int64) + ids["products"] + 1,
        team_parent=team_parent,
        tables=tables,
    )
