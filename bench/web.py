"""Benchmark the web app on a large SQLite store: the overview page and 20 concurrent API clients.

    .venv/bin/python bench/web.py [--opportunities 1000000] [--db PATH]

Builds the demo company with N opportunities into PATH (reused when it is already there),
serves the app in-process, then measures:

1. the overview page as a director: the first (cold) load, then p50/p95 over 20 warm loads
   (target: p95 under 1 s);
2. 20 concurrent API clients (a third each a director, a manager and a sales rep, by bearer
   token; the rep and the manager are the ones with the most deals and the most reports)
   reading lists, single records, searches and a metric, against one client doing the same
   requests alone (the baseline): every reply must be 200 (or 404 for another's record).
   Latencies are printed per role too: scoped lists are what a rep or a manager waits for.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.browser import LiveServer  # noqa: E402

from salesops.api import create_app  # noqa: E402
from salesops.auth import demo  # noqa: E402
from salesops.auth import service as auth  # noqa: E402
from salesops.config import Settings  # noqa: E402
from salesops.db import make_engine, session_scope  # noqa: E402
from salesops.models import Opportunity, Rep, User  # noqa: E402
from salesops.web.cli import warm_metrics  # noqa: E402

PASSWORD = "bench-password"
CLIENTS = 20
REQUESTS_PER_CLIENT = 15


def ensure_database(path: Path, opportunities: int) -> str:
    url = f"sqlite:///{path}"
    salesops = [str(ROOT / ".venv" / "bin" / "salesops"), "--database-url", url]
    if path.exists():
        engine = make_engine(url)
        with session_scope(engine) as session:
            have = session.scalar(select(func.count()).select_from(Opportunity)) or 0
        engine.dispose()
        if have >= opportunities * 0.95:
            print(f"reusing {path} ({have:,} opportunities)")
            return url
    started = time.perf_counter()
    subprocess.run([*salesops, "init"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [
            *salesops,
            "demo",
            "--opportunities",
            str(opportunities),
            "--end-date",
            "2026-10-31",
            "--replace",
        ],
        check=True,
    )
    print(f"built {path} in {time.perf_counter() - started:.0f} s")
    return url


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=300)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert reply.status_code in (200, 303), reply.status_code
    return client


def bench_overview(base: str) -> None:
    client = sign_in(base, "director")
    client.timeout = httpx.Timeout(1800)
    started = time.perf_counter()
    first = client.get("/")
    cold = time.perf_counter() - started
    assert first.status_code == 200, first.text[:500]
    warm = []
    for _ in range(20):
        started = time.perf_counter()
        reply = client.get("/")
        warm.append(time.perf_counter() - started)
        assert reply.status_code == 200
    p50, p95 = statistics.median(warm), percentile(warm, 0.95)
    print(
        f"overview first load {cold:.2f} s (figures computed);"
        f" warm p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    print(
        f"  warm/cold ratio {p95 / cold:.3f}  (target p95 < 1 s: {'ok' if p95 < 1 else 'MISSED'})"
    )
    deals = []
    for _ in range(10):
        started = time.perf_counter()
        assert client.get("/deals?status=open").status_code == 200
        deals.append(time.perf_counter() - started)
    print(f"deals list p95 {percentile(deals, 0.95) * 1000:.0f} ms")


def request_plan(rng: random.Random, max_id: int) -> list[str]:
    plan = []
    for _ in range(REQUESTS_PER_CLIENT):
        kind = rng.randrange(5)
        if kind == 0:
            plan.append(f"/api/v1/opportunities?limit=50&offset={rng.randrange(0, 5000)}")
        elif kind == 1:
            plan.append(f"/api/v1/opportunities/{rng.randrange(1, max_id)}")
        elif kind == 2:
            plan.append("/api/v1/opportunities?status=open&sort=-amount&limit=20")
        elif kind == 3:
            plan.append(f"/api/v1/accounts?limit=50&offset={rng.randrange(0, 2000)}")
        else:
            plan.append("/api/v1/metrics/bookings?from=2026-01-01&to=2026-06-30&by=owner")
    return plan


def run_client(base: str, token: str, plan: list[str]) -> tuple[list[float], dict[int, int]]:
    times: list[float] = []
    codes: dict[int, int] = {}
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300
    ) as client:
        for path in plan:
            started = time.perf_counter()
            status = client.get(path).status_code
            times.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
    return times, codes


def bench_roles_alone(base: str, tokens: dict[str, str]) -> None:
    """Each role's scoped lists one at a time: what the scope costs, without contention."""
    lists = {
        "accounts p21": "/api/v1/accounts?limit=50&offset=1000",
        "opportunities p21": "/api/v1/opportunities?limit=50&offset=1000",
        "open deals by amount": "/api/v1/opportunities?status=open&sort=-amount&limit=20",
        "contacts": "/api/v1/contacts?limit=50",
        "activities": "/api/v1/activities?limit=50",
        "contracts": "/api/v1/contracts?limit=50",
        "leads": "/api/v1/leads?limit=50",
    }
    for role, token in tokens.items():
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=1800
        ) as client:
            cells = []
            for label, path in lists.items():
                started = time.perf_counter()
                reply = client.get(path)
                elapsed = time.perf_counter() - started
                assert reply.status_code == 200, reply.text[:300]
                body = reply.json()
                total = f"{body['total']:,}{'+' if body.get('total_at_least') else ''}"
                cells.append(f"{label} {elapsed * 1000:.0f} ms ({total})")
            print(f"{role:9s} alone: " + "; ".join(cells))


def bench_api(base: str, tokens: dict[str, str], max_id: int) -> None:
    rng = random.Random(7)
    plans = [request_plan(rng, max_id) for _ in range(CLIENTS)]
    roles = list(tokens)
    role_of = [roles[i % len(roles)] for i in range(CLIENTS)]
    # Baseline: one client doing the first plan alone (warms the caches too).
    run_client(base, tokens[role_of[0]], plans[0])
    started = time.perf_counter()
    solo_times, _ = run_client(base, tokens[role_of[0]], plans[0])
    solo = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(
            pool.map(lambda i: run_client(base, tokens[role_of[i]], plans[i]), range(CLIENTS))
        )
    wall = time.perf_counter() - started
    codes: dict[int, int] = {}
    times: list[float] = []
    by_role: dict[str, list[float]] = {}
    for role, (client_times, client_codes) in zip(role_of, results, strict=True):
        times += client_times
        by_role.setdefault(role, []).extend(client_times)
        for code, n in client_codes.items():
            codes[code] = codes.get(code, 0) + n
    total = sum(codes.values())
    errors = total - codes.get(200, 0) - codes.get(404, 0)
    print(
        f"API, {CLIENTS} concurrent clients: {total} requests in {wall:.1f} s"
        f" ({total / wall:.1f} req/s), p50 {statistics.median(times) * 1000:.0f} ms,"
        f" p95 {percentile(times, 0.95) * 1000:.0f} ms; status codes {codes}; errors {errors}"
    )
    for role, role_times in by_role.items():
        print(
            f"  {role}: p50 {statistics.median(role_times) * 1000:.0f} ms,"
            f" p95 {percentile(role_times, 0.95) * 1000:.0f} ms,"
            f" max {max(role_times) * 1000:.0f} ms"
        )
    solo_rate = len(solo_times) / solo
    print(
        f"  baseline 1 client: {solo_rate:.1f} req/s; throughput ratio "
        f"{(total / wall) / solo_rate:.2f}x"
    )
    if errors:
        raise SystemExit(f"{errors} requests failed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    path = args.db or Path(f"/tmp/salesops_bench_web_{args.opportunities}.db")
    url = ensure_database(path, args.opportunities)
    engine = make_engine(url)
    with session_scope(engine) as session:
        demo.ensure_demo_logins(session, password=PASSWORD)
        director = session.scalars(select(User).where(User.username == "director")).one()
        # The heaviest scopes: the rep with the most deals, the manager with the most reports.
        rep_user = session.scalars(
            select(User)
            .join(Rep, Rep.user_id == User.id)
            .join(Opportunity, Opportunity.owner_id == Rep.id)
            .where(User.role == "sales_rep", User.is_active.is_(True))
            .group_by(User.id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        reports = aliased(Rep)
        manager = session.scalars(
            select(User)
            .join(Rep, Rep.user_id == User.id)
            .join(reports, reports.manager_id == Rep.id)
            .where(User.role == "manager", User.is_active.is_(True))
            .group_by(User.id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        tokens = {
            role: auth.create_token(session, user, name="bench").secret
            for role, user in (("director", director), ("manager", manager), ("rep", rep_user))
        }
        max_id = session.scalar(select(func.max(Opportunity.id))) or 1
    started = time.perf_counter()
    warm_metrics(engine)  # what `salesops serve` starts in the background
    print(
        f"metrics engine load (DuckDB copy of the store; once per process and data version):"
        f" {time.perf_counter() - started:.1f} s"
    )
    app = create_app(Settings(database_url=url), engine=engine)
    with LiveServer(app) as server:
        bench_overview(server.url)
        bench_roles_alone(server.url, tokens)
        bench_api(server.url, tokens, max_id)
    engine.dispose()


if __name__ == "__main__":
    main()
