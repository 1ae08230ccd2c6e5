"""Demo generator throughput into memory, Parquet, SQLite and PostgreSQL, with peak memory.

    python bench/generate.py [OPPORTUNITIES]        (default 200,000)

Each target runs in its own process so that its peak RSS is its own; CPU seconds (this
process only; PostgreSQL's server work is not included) show the cost on a busy machine.
Baselines measured in the same run: generation alone (no writing), and SQLAlchemy Core
`insert()` executemany of the same event rows that the demo's bulk path writes. PostgreSQL
uses a scratch database created next to SALESOPS_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards; it is skipped with a
message when the server does not answer.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

PG_URL = os.environ.get("SALESOPS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCRATCH = "salesops_bench_generate"


class NullSink:
    """Receives the conformed tables and drops them: the cost of generating alone."""

    def write(self, name: str, data: pa.Table) -> None:
        pass

    def close(self) -> None:
        pass


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(target: str, n: int, workdir: Path) -> dict[str, Any]:
    """One measurement, in this process."""
    from salesops.db import make_engine
    from salesops.demo.generator import DemoSpec, generate
    from salesops.demo.loader import load_into_database
    from salesops.demo.params import REFERENCE_END
    from salesops.demo.sinks import ParquetSink

    spec = DemoSpec(opportunities=n, end=REFERENCE_END)
    cpu = _cpu_seconds()
    started = time.perf_counter()
    if target == "generate only":
        rows = generate(spec, NullSink()).rows
    elif target == "parquet":
        sink = ParquetSink(workdir / "parquet")
        rows = generate(spec, sink).rows
        sink.close()
    elif target == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
        rows = load_into_database(engine, spec).rows
        engine.dispose()
    elif target == "postgresql":
        engine = make_engine(_scratch_url())
        rows = load_into_database(engine, spec).rows
        engine.dispose()
    else:
        raise ValueError(target)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu": _cpu_seconds() - cpu,
        "rows": rows,
        "peak_mib": _peak_mib(),
    }


def run_core_baseline(workdir: Path) -> dict[str, Any]:
    """Insert the events of one chunk with SQLAlchemy Core and with the demo's SQLite path."""
    from sqlalchemy import insert

    from salesops.db import make_engine
    from salesops.db.schema import upgrade
    from salesops.demo.generator import DemoSpec, generate
    from salesops.demo.params import REFERENCE_END
    from salesops.demo.sinks import DatabaseSink, table

    class Keep(NullSink):
        def __init__(self) -> None:
            self.events: list[pa.Table] = []

        def write(self, name: str, data: pa.Table) -> None:
            if name == "opportunity_events":
                self.events.append(data)

    keep = Keep()
    generate(DemoSpec(opportunities=20_000, end=REFERENCE_END), keep)
    events = pa.concat_tables(keep.events)
    result: dict[str, Any] = {"rows": events.num_rows}
    for how in ("core", "demo"):
        engine = make_engine(f"sqlite:///{workdir / f'{how}.db'}")
        upgrade(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            started = time.perf_counter()
            if how == "core":  # Python objects through the column types, as an ORM-less app would
                connection.execute(insert(table("opportunity_events")), events.to_pylist())
            else:
                DatabaseSink(connection).write("opportunity_events", events)
            result[how] = time.perf_counter() - started
        engine.dispose()
    return result


def _scratch_url() -> str:
    from sqlalchemy.engine import make_url

    from salesops.db import normalize_url

    return make_url(normalize_url(PG_URL)).set(database=SCRATCH).render_as_string(False)


def _postgres(action: str) -> bool:
    from sqlalchemy import text

    from salesops.db import make_engine

    try:
        admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)'))
            if action == "create":
                conn.execute(text(f'CREATE DATABASE "{SCRATCH}"'))
        admin.dispose()
    except Exception as exc:  # the server is optional for this benchmark
        print(f"PostgreSQL skipped: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return False
    return True


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print(f"demo generator, {n:,} opportunities, {os.cpu_count()} CPUs")
    results: dict[str, dict[str, Any]] = {}
    targets = ["generate only", "parquet", "sqlite"]
    if _postgres("create"):
        targets.append("postgresql")
    try:
        for target in targets:
            results[target] = _child("--one", target, str(n))
    finally:
        if "postgresql" in targets:
            _postgres("drop")
    base = results["generate only"]["seconds"]
    header = f"{'target':<14}{'seconds':>9}{'cpu s':>8}{'opps/s':>11}{'events/s':>12}"
    print(header + f"{'rows/s':>11}{'peak MiB':>10}{'vs generate':>13}")
    for target, r in results.items():
        rows = r["rows"]
        total = sum(rows.values())
        s = r["seconds"]
        print(
            f"{target:<14}{s:>9.1f}{r['cpu']:>8.1f}{n / s:>11,.0f}"
            f"{rows['opportunity_events'] / s:>12,.0f}"
            f"{total / s:>11,.0f}{r['peak_mib']:>10,.0f}{s / base:>12.2f}x"
        )
    core = _child("--core")
    print(
        f"SQLite insert of {core['rows']:,} event rows: SQLAlchemy Core insert() "
        f"{core['rows'] / core['core']:,.0f} rows/s, demo bulk path "
        f"{core['rows'] / core['demo']:,.0f} rows/s ({core['core'] / core['demo']:.1f}x faster)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("--one", "--core"):
        with tempfile.TemporaryDirectory() as tmp:
            if sys.argv[1] == "--one":
                out = run_one(sys.argv[2], int(sys.argv[3]), Path(tmp))
            else:
                out = run_core_baseline(Path(tmp))
        print(json.dumps(out))
    else:
        main()
