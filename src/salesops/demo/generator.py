"""The demo-company generator: organisation, accounts, then deals chunk by chunk, then quotas.

Deterministic for a seed: every step draws from its own numpy Generator seeded from
(seed, step, chunk), and chunk sizes never depend on where the rows go, so SQLite, PostgreSQL
and Parquet receive identical rows. Memory stays bounded: only per-seat, per-rep and
per-account arrays live for the whole run; deals, events, leads and activities exist one
chunk at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from salesops.db.types import utc_now
from salesops.demo import params as P  # noqa: N812
from salesops.demo.accounts import build_accounts
from salesops.demo.calendar import DAY, I64, seconds
from salesops.demo.chunk import Counters, Rows, chunk_rows, simulate_chunk
from salesops.demo.engagement import activity_rows, lead_rows
from salesops.demo.org import IdBase, build_org
from salesops.demo.quotas import Bookings, quota_rows
from salesops.demo.sinks import Column, Sink, conform, from_rows, table
from salesops.errors import Problem, ValidationFailed

# Tables the generator fills, in the order it writes them (foreign keys first).
TABLES = (
    "users",
    "reps",
    "teams",
    "team_memberships",
    "territories",
    "territory_assignments",
    "products",
    "accounts",
    "account_owners",
    "contacts",
    "opportunities",
    "opportunity_events",
    "contracts",
    "leads",
    "activities",
    "quotas",
)
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class DemoSpec:
    """What to build: how many opportunities, from which seed, ending when."""

    opportunities: int = 20_000
    seed: int = P.DEFAULT_SEED
    # The day it is built (UTC), so open deals are current rather than stalled; pass a date
    # for a reproducible company.
    end: date = field(default_factory=lambda: utc_now().date())

    def validate(self) -> DemoSpec:
        problems = []
        if not P.MIN_OPPORTUNITIES <= self.opportunities <= P.MAX_OPPORTUNITIES:
            problems.append(
                Problem(
                    f"must be between {P.MIN_OPPORTUNITIES:,} and {P.MAX_OPPORTUNITIES:,}",
                    "--opportunities",
                )
            )
        if self.seed < 0:
            problems.append(Problem("must not be negative", "--seed"))
        if not date(2000, 1, 1) <= self.end <= date(2090, 12, 31):
            problems.append(Problem("must be between 2000-01-01 and 2090-12-31", "--end-date"))
        if problems:
            raise ValidationFailed("invalid demo options", problems)
        return self

    @property
    def start(self) -> date:
        """First day of the history: HISTORY_YEARS (plus a warm-up) before `end`."""
        after = self.end + timedelta(days=1)
        day = min(after.day, 28) if after.month == 2 else after.day  # 29 February
        start = after.replace(year=after.year - P.HISTORY_YEARS, day=day)
        return start - timedelta(P.WARMUP_DAYS)


@dataclass
class DemoResult:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.rows.get("opportunity_events", 0)


def generate(
    spec: DemoSpec,
    sink: Sink,
    *,
    ids: IdBase | None = None,
    stage_ids: I64 | None = None,
    taken_usernames: set[str] | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Generate the demo company into `sink`; `stage_ids` maps the default stages to ids
    (when None, the stages themselves are written too, with ids 1-7)."""
    spec.validate()
    ids = ids or IdBase()
    result = DemoResult()
    next_id = {name: ids[name] for name in TABLES}

    def write(name: str, columns: dict[str, Column], rows: int) -> None:
        next_id.setdefault(name, ids[name])
        if "id" not in columns:
            columns = {"id": np.arange(rows, dtype=np.int64) + next_id[name] + 1, **columns}
        sink.write(name, conform(table(name), columns, rows))
        next_id[name] = max(next_id[name], ids[name] + result.rows.get(name, 0) + rows)
        result.rows[name] = result.rows.get(name, 0) + rows

    def write_rows(rows: Rows) -> None:
        for name, (columns, n) in rows.items():
            write("quotas" if name == "team_quotas" else name, columns, n)

    def tick(phase: str, amount: int) -> None:
        if progress is not None:
            progress(phase, amount)

    if stage_ids is None:
        stage_ids = np.arange(1, len(P.STAGE_NAMES) + 1, dtype=np.int64)
        write(
            "pipeline_stages",
            {
                "id": stage_ids,
                "name": list(P.STAGE_NAMES),
                "sort_order": stage_ids,
                "category": ["open"] * 5 + ["won", "lost"],
                "default_probability": [round(p * 10_000) for p in P.STAGE_PROBABILITY],
                "forecast_category": [P.FORECAST_NAMES[f] for f in P.STAGE_FORECAST],
                "is_active": True,
            },
            len(P.STAGE_NAMES),
        )
    start_ts = seconds(spec.start)
    cut_ts = seconds(spec.end) + DAY - 1
    org = build_org(
        np.random.default_rng([spec.seed, 0]),
        n_opportunities=spec.opportunities,
        start_ts=start_ts,
        cut_ts=cut_ts,
        ids=ids,
        taken_usernames=set(taken_usernames or ()),
    )
    for name in TABLES[:7]:
        if name in org.tables:
            columns, n = from_rows(org.tables[name])
            write(name, columns, n)
    tick("organisation", 1)
    accounts = build_accounts(spec.seed, org, write)
    tick("accounts", 1)
    counters = Counters(
        **{
            name: ids[name]
            for name in ("opportunities", "opportunity_events", "contracts", "leads", "activities")
        }
    )
    bookings = Bookings(org)
    done = 0
    for chunk in range(0, (spec.opportunities + P.CHUNK - 1) // P.CHUNK):
        size = min(P.CHUNK, spec.opportunities - done)
        rng = np.random.default_rng([spec.seed, 2, chunk])
        lives, contracts, keep = simulate_chunk(rng, org, accounts, size)
        rows, new_id = chunk_rows(org, accounts, lives, contracts, keep, counters, stage_ids)
        write_rows(rows)
        leads, lead_info = lead_rows(rng, org, accounts, lives, keep, new_id, counters)
        write_rows(leads)
        write_rows(activity_rows(rng, org, accounts, lives, keep, new_id, lead_info, counters))
        won = keep & (lives.stage == 5)
        bookings.add(lives.owner[won], lives.closed_ts[won], lives.amount[won])
        done += size
        tick("opportunities", size)
    write_rows(quota_rows(org, bookings, org.team_parent))
    tick("quotas", 1)
    return result
