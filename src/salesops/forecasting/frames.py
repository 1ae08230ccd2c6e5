"""The plain-data inputs of every forecaster, and how they are read from the database once.

Timestamps are naive `datetime64[ns]` in UTC (numpy arithmetic stays vectorised); amounts are
float64 in the opportunity's currency. The service converts back to Decimal when it stores.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

OPPORTUNITY_COLUMNS = (
    "id",
    "owner_id",
    "team_id",
    "account_id",
    "segment",
    "type",
    "lead_source",
    "stage",
    "amount",
    "currency",
    "close_date",
    "forecast_category",
    "created_at",
    "closed_at",
)
EVENT_COLUMNS = ("id", "opportunity_id", "field", "old_value", "new_value", "at")
STAGE_COLUMNS = ("name", "sort_order", "category", "default_probability")


@dataclass(frozen=True)
class History:
    """Current opportunities, their full event log, the stages and (optionally) activities and
    when each lead was captured (`leads.at`: a leading indicator of new business)."""

    opportunities: pd.DataFrame
    events: pd.DataFrame
    stages: pd.DataFrame
    activities: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"opportunity_id": pd.Series(dtype="int64"), "at": pd.Series(dtype="M8[ns]")}
        )
    )
    leads: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"at": pd.Series(dtype="M8[ns]")})
    )


def _utc_naive(values: pd.Series) -> pd.Series:
    converted = pd.to_datetime(values, utc=True, format="mixed")
    return converted.dt.tz_convert(None).astype("M8[ns]")


def normalise(history: History) -> History:
    """Coerce column types so that every loader (SQL, Parquet, a test) yields the same frames."""
    opps = history.opportunities.copy()
    for name in OPPORTUNITY_COLUMNS:
        if name not in opps.columns:
            opps[name] = None
    opps = opps[list(OPPORTUNITY_COLUMNS)]
    opps["id"] = opps["id"].astype("int64")
    opps["owner_id"] = opps["owner_id"].astype("int64")
    for name in ("team_id", "account_id"):
        opps[name] = pd.to_numeric(opps[name]).astype("float64").fillna(-1).astype("int64")
    opps["amount"] = pd.to_numeric(opps["amount"]).astype("float64").fillna(0.0)
    opps["created_at"] = _utc_naive(opps["created_at"])
    opps["closed_at"] = _utc_naive(opps["closed_at"])
    opps["close_date"] = pd.to_datetime(opps["close_date"]).astype("M8[ns]")
    for name in ("segment", "type", "lead_source", "stage", "currency", "forecast_category"):
        opps[name] = opps[name].astype("object").where(opps[name].notna(), None)
    opps = opps.sort_values("id", kind="stable").reset_index(drop=True)

    events = history.events.copy()
    for name in EVENT_COLUMNS:
        if name not in events.columns:
            events[name] = None
    events = events[list(EVENT_COLUMNS)]
    events["id"] = events["id"].astype("int64")
    events["opportunity_id"] = events["opportunity_id"].astype("int64")
    events["at"] = _utc_naive(events["at"])
    events = events[events["opportunity_id"].isin(opps["id"])]

    stages = history.stages.copy()[list(STAGE_COLUMNS)]
    stages["default_probability"] = stages["default_probability"].astype("float64")
    stages = stages.sort_values("sort_order", kind="stable").reset_index(drop=True)

    acts = history.activities.copy()
    acts = acts[["opportunity_id", "at"]].dropna()
    acts["opportunity_id"] = acts["opportunity_id"].astype("int64")
    acts["at"] = _utc_naive(acts["at"])
    leads = history.leads[["at"]].dropna().copy()
    leads["at"] = _utc_naive(leads["at"])
    leads = leads.sort_values("at", kind="stable").reset_index(drop=True)
    return History(opps, events.reset_index(drop=True), stages, acts.reset_index(drop=True), leads)


_OPPORTUNITIES_SQL = """
SELECT o.id, o.owner_id, m.team_id, o.account_id, a.segment, o.type, o.lead_source,
       s.name AS stage, o.amount, o.currency, o.close_date, o.forecast_category,
       o.created_at, o.closed_at
FROM opportunities o
JOIN pipeline_stages s ON s.id = o.stage_id
LEFT JOIN accounts a ON a.id = o.account_id
LEFT JOIN (
    SELECT tm.rep_id, MAX(tm.team_id) AS team_id FROM team_memberships tm
    WHERE tm.valid_to IS NULL GROUP BY tm.rep_id
) m ON m.rep_id = o.owner_id
"""


def load_history(session: Session, *, with_activities: bool = True) -> History:
    """Read opportunities, events, stages and activity times in one pass each."""
    conn = session.connection()
    opps = pd.read_sql(text(_OPPORTUNITIES_SQL), conn)
    events = pd.read_sql(
        text(
            'SELECT id, opportunity_id, field, old_value, new_value, "at" FROM opportunity_events'
        ),
        conn,
    )
    stages = pd.read_sql(
        text("SELECT name, sort_order, category, default_probability FROM pipeline_stages"), conn
    )
    if with_activities:
        acts = pd.read_sql(
            text(
                'SELECT opportunity_id, occurred_at AS "at" FROM activities'
                " WHERE opportunity_id IS NOT NULL"
            ),
            conn,
        )
    else:
        acts = pd.DataFrame({"opportunity_id": [], "at": []})
    leads = pd.read_sql(text('SELECT created_at AS "at" FROM leads'), conn)
    return normalise(History(opps, events, stages, acts, leads))


def fingerprint(*frames: pd.DataFrame, extra: str = "") -> str:
    """A SHA-256 of the frames' contents: equal inputs give equal fingerprints."""
    digest = hashlib.sha256(extra.encode())
    for frame in frames:
        digest.update(",".join(map(str, frame.columns)).encode())
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(np.ascontiguousarray(hashed).tobytes())
    return digest.hexdigest()


def load_parquet(directory: str, *, with_activities: bool = True) -> History:
    """Read the same inputs from a Parquet export (`salesops export`, `salesops demo --parquet`)
    with DuckDB, for companies too large to forecast from the operational store."""
    from pathlib import Path

    import duckdb

    folder = Path(directory)
    tables = [
        "opportunities",
        "opportunity_events",
        "pipeline_stages",
        "accounts",
        "team_memberships",
        "activities",
        "leads",
    ]
    conn = duckdb.connect()
    try:
        for table in tables:
            path = folder / f"{table}.parquet"
            if path.exists():
                conn.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
            elif table in ("activities", "accounts", "team_memberships", "leads"):
                empty = {
                    "leads": "SELECT NULL::TIMESTAMP AS created_at",
                    "activities": "SELECT NULL::BIGINT AS opportunity_id,"
                    " NULL::TIMESTAMP AS occurred_at",
                    "accounts": "SELECT NULL::BIGINT AS id, NULL::VARCHAR AS segment",
                    "team_memberships": "SELECT NULL::BIGINT AS rep_id, NULL::BIGINT AS team_id,"
                    " NULL::DATE AS valid_to",
                }[table]
                conn.execute(f"CREATE VIEW {table} AS {empty} LIMIT 0")
            else:
                raise FileNotFoundError(f"{path} is missing")
        opps = conn.execute(_OPPORTUNITIES_SQL).df()
        events = conn.execute(
            'SELECT id, opportunity_id, field, old_value, new_value, "at" FROM opportunity_events'
        ).df()
        stages = conn.execute(
            "SELECT name, sort_order, category, default_probability FROM pipeline_stages"
        ).df()
        acts = (
            conn.execute(
                'SELECT opportunity_id, occurred_at AS "at" FROM activities'
                " WHERE opportunity_id IS NOT NULL"
            ).df()
            if with_activities
            else pd.DataFrame({"opportunity_id": [], "at": []})
        )
        leads = conn.execute('SELECT created_at AS "at" FROM leads').df()
    finally:
        conn.close()
    return normalise(History(opps, events, stages, acts, leads))
