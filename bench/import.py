"""Import throughput: N generated opportunity rows into a fresh SQLite database.

Prints the rows/s of `run_import` (the whole service: read, validate every field, resolve
owners and stages, look up existing keys, insert) in wall-clock and in CPU time, and two
baselines measured in the same process on the same machine: plain `csv.reader` parsing of
the file, and a raw `executemany` of ready-made tuples into the same table.
Usage: python bench/import.py [ROWS]   (default 1,000,000)
"""

from __future__ import annotations

import csv
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from salesops.db import make_engine, session_scope
from salesops.db.bulk import bulk_mode
from salesops.db.schema import upgrade
from salesops.ingest import run_import
from salesops.pipeline import stages

MAPPING = """
version: 1
source_system: bench
files:
  - match: reps.csv
    outputs:
      - target: reps
        key: id
        fields: {name: name}
  - match: opportunities.csv
    outputs:
      - target: opportunities
        key: id
        fields:
          name: name
          owner: owner
          stage: {column: stage, map: {Won: Closed Won, Lost: Closed Lost}}
          amount: amount
          close_date: close_date
          created_at: created
"""
STAGES = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Won", "Lost"]
RAW_INSERT = (
    "INSERT INTO opportunities (name, owner_id, amount, currency, stage_id, forecast_category,"
    " close_date, type, created_at, source_system, external_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def generate(directory: Path, rows: int) -> Path:
    rng = random.Random(7)
    reps = "".join(f"r{i},Rep {i}\n" for i in range(200))
    (directory / "reps.csv").write_text("id,name\n" + reps, encoding="utf-8")
    path = directory / "opportunities.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "owner", "stage", "amount", "close_date", "created"])
        for i in range(rows):
            month, day = 1 + i % 12, 1 + i % 28
            writer.writerow(
                [
                    f"OPP-{i:08d}",
                    f"Deal {i} for Account {i % 5000}",
                    f"r{rng.randrange(200)}",
                    rng.choice(STAGES),
                    f"{rng.randrange(100, 200_000)}.{rng.randrange(100):02d}",
                    f"2025-{month:02d}-{day:02d}",
                    f"2024-{month:02d}-{day:02d}T10:00:00Z",
                ]
            )
    return path


def parse_rate(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        parsed = sum(1 for _ in csv.reader(handle)) - 1
    return parsed / (time.perf_counter() - started)


def raw_rate(directory: Path, rows: int) -> tuple[float, float]:
    """Rows/s of a raw executemany of ready-made tuples: wall-clock and CPU time."""
    engine = make_engine(f"sqlite:///{directory / 'raw.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        stage_id = stages.ensure_stages(session)[0].id
    with engine.begin() as conn, bulk_mode(conn):
        conn.exec_driver_sql(
            "INSERT INTO reps (name, level, industries_known, is_active, created_at)"
            " VALUES ('r', 1, '[]', 1, '2025-01-01 00:00:00.000000')"
        )
        elapsed = cpu = 0.0
        for start in range(0, rows, 5000):
            batch = [
                (f"Deal {i}", 1, 1.5, "USD", stage_id, "pipeline", f"2025-{1 + i % 12:02d}-01",
                 "new", "2024-01-01 10:00:00.000000", "bench", f"OPP-{i:08d}")
                for i in range(start, min(start + 5000, rows))
            ]  # fmt: skip
            started, cpu_started = time.perf_counter(), time.process_time()
            conn.exec_driver_sql(RAW_INSERT, batch)
            elapsed += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
        return rows / elapsed, rows / cpu


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data = generate(directory, rows)
        print(f"generated {rows:,} opportunity rows ({data.stat().st_size / 1e6:.0f} MB)")
        engine = make_engine(f"sqlite:///{directory / 'bench.db'}")
        upgrade(engine)
        with session_scope(engine) as session:
            stages.ensure_stages(session)
        mapping = directory / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        wall, cpu = time.perf_counter(), time.process_time()
        with session_scope(engine) as session:
            summary = run_import(
                session,
                "csv",
                [directory / "reps.csv", data],
                mapping=mapping,
                as_of=datetime(2025, 6, 1, tzinfo=UTC),
            )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert summary.tables["opportunities"].inserted == rows, summary.tables
        parsing = parse_rate(data)
        raw, raw_cpu = raw_rate(directory, rows)
    rate, cpu_rate = rows / wall, rows / cpu
    print(
        f"salesops import:  {rate:>10,.0f} rows/s wall ({wall:.1f}s), {cpu_rate:,.0f} rows/s CPU"
        f" ({cpu:.2f}s)"
    )
    print(f"peak memory of the process after the import: {peak_mib:,.0f} MiB")
    print(f"csv.reader only:  {parsing:>10,.0f} rows/s  -> import is {rate / parsing:.2f}x of it")
    print(f"raw executemany:  {raw:>10,.0f} rows/s  -> import is {rate / raw:.2f}x of it (wall)")
    print(
        f"raw executemany:  {raw_cpu:>10,.0f} rows/s CPU -> import is {cpu_rate / raw_cpu:.2f}x"
        " of it (CPU time: the fair comparison on a loaded machine)"
    )
    print(
        f"target 50,000 rows/s: wall {'met' if rate >= 50_000 else 'NOT met'},"
        f" CPU {'met' if cpu_rate >= 50_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
