"""The default engine's copy after a data change: brought up to date from the cache file vs
read again whole, in the same process.

    .venv/bin/python bench/metrics_refresh.py [N]   (default 1,000,000 opportunities)

Uses (and builds when missing) the SQLite demo company of bench/metrics.py --sqlite N. Each
step starts from an empty in-memory cache, as a new `salesops metrics ...` process does:
  1. first query (read in place from the cache file when it holds the current data); the
     first funnel query (computes the stage entries and writes their file), and the same in
     a new process (reads them from that file),
  2. one deal is won through the pipeline service (new events, a changed opportunity), then
     the first query again: the copy is brought up to date from the file,
  3. the cache file deleted, the first query again: every large table read whole (the
     baseline, what every change cost before).
The change is rolled back at the end: the database is left as it was.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from salesops import metrics
from salesops.db import make_engine
from salesops.metrics.engines import clear_cache
from salesops.models import Opportunity, PipelineStage
from salesops.pipeline import service

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics import ROOT, ensure_demo  # the bench folder is not a package


def first_query(session: object) -> tuple[float, float]:
    clear_cache()
    began = time.perf_counter()
    total = float(metrics.compute(session, "bookings").total or 0)  # type: ignore[arg-type]
    return time.perf_counter() - began, total


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = ROOT / f"sqlite-{n}.db"
    ensure_demo(path, n, parquet=False)
    cache = Path(f"{path}.metrics.duckdb")
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        from sqlalchemy.orm import Session

        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        transaction = connection.begin()
        try:
            had_file = cache.exists()
            seconds, before = first_query(session)
            print(f"{n:,} opportunities on SQLite ({path})")
            how = "read in place from the cache file" if had_file else "read whole, file written"
            print(f"  first query ({how}): {seconds:.1f} s")
            began = time.perf_counter()
            funnel = metrics.funnel(session)
            computed = time.perf_counter() - began
            clear_cache()
            metrics.compute(session, "bookings")  # the copy, read in place: not timed here
            began = time.perf_counter()
            again = metrics.funnel(session)
            kept = time.perf_counter() - began
            assert again == funnel
            print(
                f"  first funnel query: {computed:.1f} s computing the stage entries (file"
                f" written); in a new process {kept:.1f} s reading them from the file"
            )
            deal = session.scalars(
                select(Opportunity)
                .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
                .where(PipelineStage.category == "open")
                .limit(1)
            ).one()
            service.close_opportunity(session, deal, won=True, at=datetime.now(UTC))
            session.flush()
            refreshed, after = first_query(session)
            print(f"  after one deal is won, brought up to date from the file: {refreshed:.1f} s")
            cache.unlink(missing_ok=True)
            whole, again = first_query(session)
            print(f"  the same, cache file deleted (every large table read whole): {whole:.1f} s")
            assert after == again, (after, again)
            print(f"  bookings {before:,.0f} -> {after:,.0f} (both ways equal)")
            print(f"  ratio: {whole / refreshed:.1f}x faster than reading everything again")
        finally:
            session.close()
            transaction.rollback()
    clear_cache()
    cache.unlink(missing_ok=True)  # it holds the rolled-back change
    Path(f"{path}.metrics.entries.duckdb").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
