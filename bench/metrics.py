"""Metrics benchmark: the dashboard metric set through Ibis on DuckDB, hand-written DuckDB SQL
and pandas, on one Parquet demo company, in the same run.

    .venv/bin/python bench/metrics.py [--opportunities N] [--dir DIR] [--repeat R]
        [--pandas-max N] [--sqlite N]

The data is `salesops demo --opportunities N --parquet DIR` (built when DIR is empty; default
N = 1,000,000 under /tmp/salesops-bench). Both DuckDB runs use the same in-memory tables on the
same connection; Ibis times include compiling the expression. Every figure is checked to be the
same across the three. Targets (issue 4): Ibis within 1.5x of the hand-written SQL, at least 5x
faster than pandas, the whole set under 10 s on 10M opportunities. The funnel's stage entries are
kept as a table once per data version (as the default engine does); that step is timed and
printed on its own, and the hand-written funnel SQL reads the same table. `--sqlite N` also
times every dashboard query on a SQLite operational database of N opportunities through the
default engine, first and warm (target: each under 1 s warm).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from salesops import metrics
from salesops.metrics.cohorts import MATERIALIZED_ENTRIES
from salesops.metrics.engines import ESSENTIAL, OPTIONAL, REQUIRED, from_backend, materialized

ROOT = Path("/tmp/salesops-bench")
MEMORY_LIMIT = "8GB"


def ensure_demo(folder: Path, n: int, *, parquet: bool = True) -> None:
    marker = folder / "opportunities.parquet" if parquet else folder
    if marker.exists():
        return
    print(f"building a {n:,}-opportunity demo company into {folder} ...", flush=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if parquet:
        cmd = [
            sys.executable,
            "-m",
            "salesops",
            "demo",
            "-n",
            str(n),
            "--end-date",
            "2026-10-31",
            "--parquet",
            str(folder),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    else:
        env = {"SALESOPS_DATABASE_URL": f"sqlite:///{folder}"}
        for args in (["init"], ["demo", "-n", str(n), "--end-date", "2026-10-31"]):
            subprocess.run(
                [sys.executable, "-m", "salesops", *args],
                check=True,
                env={**__import__("os").environ, **env},
                stdout=subprocess.DEVNULL,
            )
    print(f"  built in {time.perf_counter() - start:.0f} s", flush=True)


def load(folder: Path) -> Any:
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    # Spill to disk rather than be killed: 70M events and a window over them exceed RAM here.
    spill = ROOT / "duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.raw_sql(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.raw_sql(f"SET temp_directory = '{spill}'")
    for name in (*REQUIRED, *OPTIONAL):
        path = folder / f"{name}.parquet"
        if path.exists():
            # UTC timestamps are stored without their zone, as the default engine does.
            source = f"read_parquet('{path}')"
            zoned = [
                row[0]
                for row in con.raw_sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
                if row[1] == "TIMESTAMP WITH TIME ZONE"
            ]
            replace = ", ".join(f'"{c}"::TIMESTAMP AS "{c}"' for c in zoned)
            select = f"* REPLACE ({replace})" if zoned else "*"
            con.raw_sql(f"CREATE TABLE {name} AS SELECT {select} FROM {source}")
    assert all(name in con.list_tables() for name in ESSENTIAL)
    return con


def as_of_moment(con: Any) -> datetime:
    (latest,) = con.raw_sql("SELECT max(created_at) FROM opportunities").fetchone()
    day = latest.date() - (latest.date() - date(latest.year, 1, 1)) // 2
    return datetime.combine(day, dtime.max)


# Each dashboard metric: the catalog query and the same figures written by hand in DuckDB SQL.
OPP = """
WITH o AS (
  SELECT o.id, o.owner_id, o.account_id, o.amount, o.created_at, o.engaged_at, s.name AS stage,
         s.category, s.default_probability AS p,
         CASE WHEN s.category <> 'open'
              THEN coalesce(CAST(o.closed_at AS DATE), o.close_date) END AS closed_on
  FROM opportunities o JOIN pipeline_stages s ON s.id = o.stage_id)
"""
CLOSURE = """
WITH RECURSIVE closure(descendant, ancestor) AS (
  SELECT id, id FROM teams
  UNION ALL SELECT c.descendant, t.parent_id FROM closure c JOIN teams t ON t.id = c.ancestor
  WHERE t.parent_id IS NOT NULL)
"""


def dashboard(at: datetime, entries: str, open_count: int) -> list[dict[str, Any]]:
    ts = at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return [
        {"name": "bookings", "query": {"grain": "month"}, "sql": OPP + """
            SELECT date_trunc('month', closed_on) AS k, sum(amount) FROM o
            WHERE category = 'won' GROUP BY 1 ORDER BY 1"""},
        {"name": "win_rate", "query": {"by": ["owner"]}, "sql": OPP + """
            SELECT coalesce(r.name, '(none)') AS k,
                   count(*) FILTER (WHERE category = 'won')::DOUBLE / count(*)
            FROM o LEFT JOIN reps r ON r.id = o.owner_id WHERE category <> 'open'
            GROUP BY 1 ORDER BY 1"""},
        {"name": "pipeline_value", "query": {"by": ["stage"]}, "sql": OPP + """
            SELECT stage AS k, sum(amount) FROM o WHERE category = 'open' GROUP BY 1 ORDER BY 1"""},
        {"name": "weighted_pipeline", "query": {}, "sql": OPP + """
            SELECT NULL AS k, sum(amount * p) FROM o WHERE category = 'open'"""},
        {"name": "average_deal_size", "query": {"by": ["region"]}, "sql": OPP + """
            SELECT coalesce(r.region, a.region, '(none)') AS k, round(avg(amount), 2)
            FROM o LEFT JOIN reps r ON r.id = o.owner_id LEFT JOIN accounts a ON a.id = o.account_id
            WHERE category = 'won' GROUP BY 1 ORDER BY 1"""},
        {"name": "sales_cycle_length", "query": {"by": ["region"]}, "sql": OPP + """
            SELECT coalesce(r.region, a.region, '(none)') AS k,
                   median(closed_on - CAST(coalesce(o.engaged_at, o.created_at) AS DATE))
            FROM o LEFT JOIN reps r ON r.id = o.owner_id LEFT JOIN accounts a ON a.id = o.account_id
            WHERE category = 'won' GROUP BY 1 ORDER BY 1"""},
        {"name": "opportunities_created", "query": {"grain": "quarter"}, "sql": """
            SELECT date_trunc('quarter', CAST(created_at AS DATE)) AS k, count(*)
            FROM opportunities GROUP BY 1 ORDER BY 1"""},
        {"name": "win_rate", "pandas": "win_rate by team", "query": {"by": ["team"]},
         "sql": CLOSURE + OPP.replace("WITH", ",") + """
            SELECT coalesce(t.name, '(none)') AS k,
                   count(*) FILTER (WHERE category = 'won')::DOUBLE / count(*)
            FROM o LEFT JOIN team_memberships m ON m.rep_id = o.owner_id
                AND m.valid_from <= o.closed_on
                AND o.closed_on < coalesce(m.valid_to, DATE '9999-12-31')
            LEFT JOIN closure c ON c.descendant = m.team_id LEFT JOIN teams t ON t.id = c.ancestor
            WHERE category <> 'open' GROUP BY 1 ORDER BY 1"""},
        {"name": "pipeline_value", "pandas": "pipeline_value as of", "query": {"as_of": at},
         "sql": f"""
            WITH later AS (
              SELECT opportunity_id, field, old_value,
                     row_number() OVER (PARTITION BY opportunity_id, field ORDER BY "at", id) AS n
              FROM opportunity_events WHERE "at" > TIMESTAMP '{ts}'
                AND field IN ('stage', 'amount')),
            firsts AS (
              SELECT opportunity_id,
                     max(old_value) FILTER (WHERE field = 'stage') AS old_stage,
                     max(old_value) FILTER (WHERE field = 'amount') AS old_amount
              FROM later WHERE n = 1 GROUP BY 1)
            SELECT NULL AS k, sum(coalesce(CAST(f.old_amount AS DECIMAL(18, 2)), o.amount))
            FROM opportunities o JOIN pipeline_stages s ON s.id = o.stage_id
            LEFT JOIN firsts f ON f.opportunity_id = o.id
            JOIN pipeline_stages s2 ON s2.name = coalesce(f.old_stage, s.name)
            WHERE o.created_at <= TIMESTAMP '{ts}' AND s2.category = 'open'"""},
        {"name": "stage_conversion", "query": {"by": ["stage"]}, "sql": f"""
            SELECT new_value AS k,
                   count(*) FILTER (WHERE coalesce(rank_after, 0) > entered_rank)::DOUBLE / count(*)
            FROM {entries} WHERE entered_rank <= {open_count} GROUP BY 1 ORDER BY 1"""},
    ]  # fmt: skip


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def normal(rows: list[tuple[Any, Any]]) -> list[tuple[str, float]]:
    out = []
    for key, value in rows:
        if isinstance(key, datetime):
            key = key.date()
        out.append(
            (str(key) if key is not None else "", float(value) if value is not None else math.nan)
        )
    return sorted(out)


def agree(a: list[tuple[str, float]], b: list[tuple[str, float]], tol: float = 1e-9) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and math.isclose(x[1], y[1], rel_tol=tol, abs_tol=1e-6)
        for x, y in zip(a, b, strict=True)
    )


def ibis_rows(src: metrics.Source, name: str, query: dict[str, Any]) -> list[tuple[Any, Any]]:
    result = metrics.compute(src, name, **query)
    keys = [*result.by, *(["period"] if result.grain else [])]
    return [
        (r.period if "period" in keys else (r.dimensions[keys[0]] if keys else None), r.value)
        for r in result.rows
    ]


def pandas_suite(
    folder: Path, at: datetime, entries: pd.DataFrame, open_count: int
) -> dict[str, Callable[[], list[tuple[Any, Any]]]]:
    """The same figures in pandas: raw frames are read once (not timed); each metric then does
    its own joins and derivations from them, as the SQL does. The funnel reads the same kept
    stage entries as the other two."""
    raw = pd.read_parquet(folder / "opportunities.parquet", columns=[
        "id", "owner_id", "account_id", "amount", "stage_id", "close_date", "created_at",
        "engaged_at", "closed_at"])  # fmt: skip
    raw["amount"] = raw["amount"].astype("float64")
    st = pd.read_parquet(folder / "pipeline_stages.parquet")
    st["default_probability"] = st["default_probability"].astype("float64")
    reps = pd.read_parquet(folder / "reps.parquet", columns=["id", "name", "region"])
    acc = pd.read_parquet(folder / "accounts.parquet", columns=["id", "region"])
    teams = pd.read_parquet(folder / "teams.parquet", columns=["id", "parent_id", "name"])
    tm = pd.read_parquet(folder / "team_memberships.parquet")
    ev = pd.read_parquet(
        folder / "opportunity_events.parquet",
        columns=["id", "opportunity_id", "field", "old_value", "new_value", "at"],
    )
    categories = dict(zip(st["name"], st["category"], strict=True))
    stage_cols = st[["id", "name", "category", "default_probability"]].rename(
        columns={"id": "stage_id", "name": "stage"}
    )

    def utc_day(col: pd.Series) -> pd.Series:
        return col.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()

    def deals(*, owner: bool = False, region: bool = False) -> pd.DataFrame:
        o = raw.merge(stage_cols, on="stage_id")
        closed = o["category"] != "open"
        o["closed_on"] = utc_day(o["closed_at"]).fillna(pd.to_datetime(o["close_date"]))
        o.loc[~closed, "closed_on"] = pd.NaT
        if owner or region:
            o = o.merge(
                reps.rename(columns={"id": "owner_id", "name": "owner", "region": "rep_region"}),
                on="owner_id",
                how="left",
            )
        if region:
            o = o.merge(
                acc.rename(columns={"id": "account_id", "region": "acc_region"}),
                on="account_id",
                how="left",
            )
            o["region"] = o["rep_region"].fillna(o["acc_region"]).fillna("(none)")
        return o

    def closure() -> pd.DataFrame:
        parents = dict(zip(teams["id"], teams["parent_id"], strict=True))
        pairs = []
        for team in teams["id"]:
            node = team
            while node is not None and not pd.isna(node):
                pairs.append((team, int(node)))
                node = parents.get(int(node))
        names = teams[["id", "name"]].rename(columns={"id": "ancestor", "name": "team"})
        return pd.DataFrame(pairs, columns=["team_id", "ancestor"]).merge(names, on="ancestor")

    def bookings() -> list[tuple[Any, Any]]:
        o = deals()
        w = o[o["category"] == "won"]
        return list(
            w.groupby(w["closed_on"].dt.to_period("M").dt.start_time)["amount"].sum().items()
        )

    def win_rate() -> list[tuple[Any, Any]]:
        o = deals(owner=True)
        c = o[o["category"] != "open"]
        return list((c["category"] == "won").groupby(c["owner"]).mean().items())

    def pipeline() -> list[tuple[Any, Any]]:
        o = deals()
        return list(o[o["category"] == "open"].groupby("stage")["amount"].sum().items())

    def weighted() -> list[tuple[Any, Any]]:
        o = deals()
        op = o[o["category"] == "open"]
        return [(None, (op["amount"] * op["default_probability"]).sum())]

    def deal_size() -> list[tuple[Any, Any]]:
        o = deals(region=True)
        w = o[o["category"] == "won"]
        return [(k, round(v, 2)) for k, v in w.groupby("region")["amount"].mean().items()]

    def cycle() -> list[tuple[Any, Any]]:
        o = deals(region=True)
        w = o[o["category"] == "won"]
        days = (w["closed_on"] - utc_day(w["engaged_at"].fillna(w["created_at"]))).dt.days
        return list(days.groupby(w["region"]).median().items())

    def created() -> list[tuple[Any, Any]]:
        quarter = utc_day(raw["created_at"]).dt.to_period("Q").dt.start_time
        return list(raw.groupby(quarter).size().items())

    def by_team() -> list[tuple[Any, Any]]:
        o = deals()
        c = o.loc[o["category"] != "open", ["owner_id", "closed_on", "category"]]
        c = c.rename_axis("deal").reset_index()
        m = c.merge(tm[["rep_id", "team_id", "valid_from", "valid_to"]], left_on="owner_id",
                    right_on="rep_id")  # fmt: skip
        end = pd.to_datetime(m["valid_to"]).fillna(pd.Timestamp("2262-01-01"))
        m = m[(pd.to_datetime(m["valid_from"]) <= m["closed_on"]) & (m["closed_on"] < end)]
        m = m.merge(closure(), on="team_id")
        none = c[~c["deal"].isin(m["deal"])].assign(team="(none)")
        both = pd.concat([m[["team", "category"]], none[["team", "category"]]])
        return list((both["category"] == "won").groupby(both["team"]).mean().items())

    def as_of() -> list[tuple[Any, Any]]:
        cut = pd.Timestamp(at, tz="UTC")
        o = raw.merge(stage_cols, on="stage_id")
        later = ev[(ev["at"] > cut) & ev["field"].isin(["stage", "amount"])]
        first = later.sort_values(["opportunity_id", "field", "at", "id"]).drop_duplicates(
            ["opportunity_id", "field"]
        )
        old = {f: g.set_index("opportunity_id")["old_value"] for f, g in first.groupby("field")}
        x = o[o["created_at"] <= cut].set_index("id")
        stage = old.get("stage", pd.Series(dtype=object)).reindex(x.index).fillna(x["stage"])
        amount = old.get("amount", pd.Series(dtype=object)).reindex(x.index).astype(float)
        amount = amount.fillna(x["amount"])
        return [(None, amount[stage.map(categories) == "open"].sum())]

    def conversion() -> list[tuple[Any, Any]]:
        e = entries[entries["entered_rank"] <= open_count]
        advanced = e["rank_after"].fillna(0) > e["entered_rank"]
        return list(advanced.groupby(e["new_value"]).mean().items())

    return {
        "bookings": bookings,
        "win_rate": win_rate,
        "pipeline_value": pipeline,
        "weighted_pipeline": weighted,
        "average_deal_size": deal_size,
        "sales_cycle_length": cycle,
        "opportunities_created": created,
        "win_rate by team": by_team,
        "pipeline_value as of": as_of,
        "stage_conversion": conversion,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pandas-max", type=int, default=2_000_000)
    parser.add_argument("--sqlite", type=int, default=0, help="also time SQLite with N deals")
    args = parser.parse_args()
    folder = args.dir or ROOT / f"demo-{args.opportunities}"
    ensure_demo(folder, args.opportunities)
    start = time.perf_counter()
    con = load(folder)
    (opps,) = con.raw_sql("SELECT count(*) FROM opportunities").fetchone()
    (events,) = con.raw_sql("SELECT count(*) FROM opportunity_events").fetchone()
    print(f"{opps:,} opportunities, {events:,} events loaded into DuckDB in"
          f" {time.perf_counter() - start:.1f} s")  # fmt: skip
    src = from_backend(con, engine="duckdb", reporting_currency="USD")
    assert src.ctx.currencies <= {"USD"}, "the hand-written SQL assumes one currency"
    start = time.perf_counter()
    src = materialized(src)
    entries = src.tables[MATERIALIZED_ENTRIES].get_name()
    print(f"funnel stage entries kept as a table in {time.perf_counter() - start:.1f} s"
          " (once per data version)")  # fmt: skip
    open_count = sum(1 for s in src.ctx.stages if s.category == "open")
    at = as_of_moment(con)
    suite = dashboard(at, entries, open_count)
    use_pandas = opps <= args.pandas_max
    frames = {}
    if use_pandas:
        kept = con.raw_sql(f"SELECT * FROM {entries}").fetch_df()
        frames = pandas_suite(folder, at, kept, open_count)
    print(f"\n{'metric':38} {'ibis s':>8} {'sql s':>8} {'ratio':>6} {'pandas s':>9} {'x':>6}")
    totals = {"ibis": 0.0, "sql": 0.0, "pandas": 0.0}
    for item in suite:
        label = item["name"] + "".join(
            f" {k}={v if k != 'as_of' else 'date'}" for k, v in item["query"].items()
        )
        t_ibis, got = timed(lambda i=item: ibis_rows(src, i["name"], i["query"]), args.repeat)
        t_sql, want = timed(lambda i=item: con.raw_sql(i["sql"]).fetchall(), args.repeat)
        assert agree(normal(got), normal(want)), f"{label}: ibis and SQL differ"
        totals["ibis"] += t_ibis
        totals["sql"] += t_sql
        pandas_text = ""
        name = item.get("pandas", item["name"])
        if frames:
            t_pd, pd_rows = timed(frames[name], 1)
            assert agree(normal(got), normal(pd_rows), tol=1e-6), f"{label}: pandas differs"
            totals["pandas"] += t_pd
            pandas_text = f"{t_pd:9.3f} {t_pd / t_ibis:6.1f}"
        print(
            f"{label[:38]:38} {t_ibis:8.3f} {t_sql:8.3f} {t_ibis / t_sql:6.2f} {pandas_text}",
            flush=True,
        )
    ratio = totals["ibis"] / totals["sql"]
    print(f"\nwhole dashboard set: ibis {totals['ibis']:.2f} s, hand-written SQL"
          f" {totals['sql']:.2f} s, ratio {ratio:.2f} (target <= 1.5)")  # fmt: skip
    if frames:
        print(f"pandas {totals['pandas']:.2f} s: ibis is {totals['pandas'] / totals['ibis']:.1f}x"
              " faster (target >= 5x)")  # fmt: skip
    if args.sqlite:
        sqlite_warm(args.sqlite, [(i["name"], i["query"]) for i in suite])


def sqlite_warm(n: int, queries: list[tuple[str, dict[str, Any]]]) -> None:
    """The dashboard queries on a SQLite operational store through the default engine: first
    (the first one loads DuckDB; the first funnel query keeps the stage entries) and warm."""
    from salesops.db import make_engine, session_scope

    path = ROOT / f"sqlite-{n}.db"
    ensure_demo(path, n, parquet=False)
    engine = make_engine(f"sqlite:///{path}")
    print(f"\nSQLite operational store, {n:,} opportunities (each query warm: target < 1 s)")
    worst = 0.0
    with session_scope(engine) as session:
        for name, query in queries:
            label = name + "".join(
                f" {k}={v if k != 'as_of' else 'date'}" for k, v in query.items()
            )
            first, _ = timed(lambda n=name, q=query: metrics.compute(session, n, **q), 1)
            warm, _ = timed(lambda n=name, q=query: metrics.compute(session, n, **q), 3)
            worst = max(worst, warm)
            print(f"  {label:38} first {first:7.2f} s   warm {warm:6.3f} s", flush=True)
    print(f"slowest warm query {worst:.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()
