"""A team at work against a real server: `salesops serve` in its own process, N users at once.

    .venv/bin/python bench/load.py --database-url sqlite:////tmp/demo.db --users 20 --duration 120
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://... --src /tmp/main/src

The database must hold a demo company (`salesops demo -n N`). The users are real sign-ins of
the company, by role: about half sales reps, a quarter managers, the rest ops and directors.
Each signs in (dashboard cookie and API token) and, for `--duration` seconds, does what that
role does, with a think time of 0.2-1 s: dashboard pages, lists, metric queries, and a few
writes (a deal's amount changed through the API). Reported: throughput, p50/p95/p99 latency
per request type and per role, and errors (5xx, time-outs, refused connections, and 4xx other
than a lost race: 409/412).

Also measured, each in a new process:
- the first page after `serve` starts: the time until the overview shows its figures (and
  until the server answered at all);
- the first metric query of a new CLI process, with the metrics cache file and without it;
- peak memory (RSS) of the server and of those CLI processes.

`--src DIR` runs the server and the CLI from another source tree (main's code, for a before
and after on the same machine and data). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from salesops.auth import demo  # noqa: E402
from salesops.auth import service as auth  # noqa: E402
from salesops.db import make_engine, session_scope  # noqa: E402
from salesops.models import Opportunity, Rep, User  # noqa: E402

PASSWORD = "load-bench-password"
# The interpreter running the bench (a worktree has no .venv of its own: it uses main's).
PYTHON = sys.executable
ENTRY = "from salesops.cli.main import main; main()"
ROLE_SHARE = (("sales_rep", 0.5), ("manager", 0.25), ("ops_rep", 0.15), ("director", 0.10))
# Request type -> weight, per role.
MIX: dict[str, dict[str, float]] = {
    "sales_rep": {
        "page_overview": 3, "page_deals": 2, "list_opportunities": 3, "list_accounts": 2,
        "metric": 2, "write": 1,
    },
    "manager": {
        "page_overview": 3, "page_leaderboard": 2, "page_pipeline": 2, "list_opportunities": 2,
        "metric": 3, "write": 0.5,
    },
    "ops_rep": {
        "page_overview": 1, "list_opportunities": 3, "list_accounts": 3, "metric": 2, "write": 2,
    },
    "director": {
        "page_overview": 3, "page_pipeline": 2, "page_leaderboard": 1, "list_opportunities": 1,
        "metric": 4,
    },
}  # fmt: skip
METRICS = (
    "metrics/bookings?grain=month&from=2026-01-01&to=2026-10-31",
    "metrics/win_rate?by=owner&grain=quarter&from=2025-11-01&to=2026-10-31",
    "metrics/pipeline_value?by=stage",
    "metrics/average_deal_size?by=region&from=2026-01-01&to=2026-10-31",
)


@dataclass
class Sample:
    role: str
    kind: str
    seconds: float
    status: int  # 0: no answer (time-out, refused)


@dataclass
class Login:
    role: str
    username: str
    token: str


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def prepare_logins(url: str, users: int) -> list[Login]:
    """Real users of the company by role, with the bench password and an API token each."""
    engine = make_engine(url)
    wanted = {role: max(1, round(users * share)) for role, share in ROLE_SHARE}
    wanted["sales_rep"] += users - sum(wanted.values())
    logins: list[Login] = []
    with session_scope(engine) as session:
        demo.ensure_demo_logins(session, password=PASSWORD)
        for role, count in wanted.items():
            # The users owning most deals: a rep with a busy pipeline, a manager of a big team.
            found = list(
                session.scalars(
                    select(User)
                    .outerjoin(Rep, Rep.user_id == User.id)
                    .outerjoin(Opportunity, Opportunity.owner_id == Rep.id)
                    .where(User.role == role, User.is_active.is_(True))
                    .group_by(User.id)
                    .order_by(func.count(Opportunity.id).desc(), User.id)
                    .limit(count)
                )
            )
            for i in range(count):
                user = found[i % len(found)]
                if i < len(found):
                    auth.set_password(session, user, PASSWORD)
                token = auth.create_token(session, user, name="load-bench").secret
                logins.append(Login(role, user.username, token))
    engine.dispose()
    return logins


def environment(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src or ROOT / "src")
    return env


def start_server(url: str, port: int, src: Path | None) -> subprocess.Popen[bytes]:
    log = open(f"/tmp/salesops-load-{port}.log", "wb")  # noqa: SIM115 - kept for the process
    return subprocess.Popen(
        [PYTHON, "-c", ENTRY, "--database-url", url, "serve", "--port", str(port)],
        env=environment(src),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a running process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sign_in(base: str, login: Login, timeout: float) -> httpx.Client:
    """A client signed in to the dashboard (its cookie); API calls send the token."""
    client = httpx.Client(base_url=base, timeout=timeout)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    reply = client.post(
        "/login",
        data={"username": login.username, "password": PASSWORD, "csrf_token": token[1]},
    )
    assert reply.status_code in (200, 303), (login.username, reply.status_code)
    return client


def first_page(base: str, started: float, login: Login) -> tuple[float, float, float]:
    """(seconds until the server answers, until the overview answers, until it shows its
    figures), counted from the server process's start."""
    while True:
        try:
            httpx.get(f"{base}/login", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    up = time.perf_counter() - started
    client = sign_in(base, login, timeout=3600)
    answered = None
    while True:
        reply = client.get("/")
        if answered is None:
            answered = time.perf_counter() - started
        if reply.status_code == 200 and 'data-testid="preparing"' not in reply.text:
            break
        time.sleep(0.5)
    client.close()
    return up, answered, time.perf_counter() - started


def user_loop(
    base: str, login: Login, until: float, results: Results, seed: int, timeout: float
) -> None:
    rng = random.Random(seed)
    kinds = list(MIX[login.role])
    weights = [MIX[login.role][k] for k in kinds]
    try:
        client = sign_in(base, login, timeout)
    except Exception:
        results.add(Sample(login.role, "sign_in", 0.0, 0))
        return
    mine: list[int] = []
    try:
        api = {"Authorization": f"Bearer {login.token}"}
        reply = client.get("/api/v1/opportunities?status=open&limit=50", headers=api)
        if reply.status_code == 200:
            body = reply.json()
            items = body.get("items", body) if isinstance(body, dict) else body
            mine = [int(o["id"]) for o in items if isinstance(o, dict) and "id" in o]
        while time.perf_counter() < until:
            kind = rng.choices(kinds, weights)[0]
            if kind == "write" and not mine:
                kind = "list_opportunities"
            started = time.perf_counter()
            try:
                status = request(client, api, kind, rng, mine)
            except httpx.HTTPError:
                status = 0
            results.add(Sample(login.role, kind, time.perf_counter() - started, status))
            time.sleep(rng.uniform(0.2, 1.0))
    finally:
        client.close()


def request(
    client: httpx.Client, api: dict[str, str], kind: str, rng: random.Random, mine: list[int]
) -> int:
    if kind.startswith("page_"):
        path = {
            "page_overview": "/",
            "page_deals": "/deals?status=open",
            "page_pipeline": "/pipeline",
            "page_leaderboard": "/leaderboard",
        }[kind]
        return client.get(path).status_code
    if kind == "list_opportunities":
        offset = rng.randrange(0, 1000)
        return client.get(
            f"/api/v1/opportunities?limit=50&offset={offset}", headers=api
        ).status_code
    if kind == "list_accounts":
        offset = rng.randrange(0, 1000)
        return client.get(f"/api/v1/accounts?limit=50&offset={offset}", headers=api).status_code
    if kind == "metric":
        return client.get(f"/api/v1/{rng.choice(METRICS)}", headers=api).status_code
    # A write: read a deal, then change its amount (with its ETag when the API gives one).
    deal = rng.choice(mine)
    reply = client.get(f"/api/v1/opportunities/{deal}", headers=api)
    if reply.status_code != 200:
        return reply.status_code
    headers = dict(api)
    if "etag" in reply.headers:
        headers["If-Match"] = reply.headers["etag"]
    body: dict[str, Any] = {"amount": str(round(float(reply.json()["amount"]) + 1, 2))}
    if "version" in reply.json():
        body["version"] = reply.json()["version"]
    return client.patch(f"/api/v1/opportunities/{deal}", json=body, headers=headers).status_code


def is_error(status: int) -> bool:
    return status == 0 or status >= 500 or (400 <= status < 500 and status not in (409, 412))


def report(results: Results, duration: float) -> None:
    samples = results.samples
    print(f"\n{len(samples)} requests in {duration:.0f} s: {len(samples) / duration:.2f} req/s")

    def table(title: str, key: Any) -> None:
        groups: dict[str, list[Sample]] = defaultdict(list)
        for s in samples:
            groups[key(s)].append(s)
        print(f"\n{title:<20} {'n':>6} {'req/s':>7} {'p50 s':>8} {'p95 s':>8} {'p99 s':>8} errors")
        for name in sorted(groups):
            group = groups[name]
            times = [s.seconds for s in group]
            errors = sum(is_error(s.status) for s in group)
            print(
                f"{name:<20} {len(group):>6} {len(group) / duration:>7.2f}"
                f" {statistics.median(times):>8.3f} {percentile(times, 0.95):>8.3f}"
                f" {percentile(times, 0.99):>8.3f} {errors}"
            )

    table("request type", lambda s: s.kind)
    table("role", lambda s: s.role)
    codes: dict[int, int] = defaultdict(int)
    for s in samples:
        codes[s.status] += 1
    print(f"\nstatus codes: {dict(sorted(codes.items()))}")
    print(f"errors: {sum(is_error(s.status) for s in samples)}")


def first_metric_query(url: str, src: Path | None, label: str) -> None:
    """The first metric query of a new CLI process: wall time and peak memory."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-c", ENTRY, "--database-url", url, "metrics", "query", "win_rate", "--by",
         "team", "--format", "csv"],
        env=environment(src), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert status == 0, process.stderr.read().decode() if process.stderr else status
    print(f"first metric query, {label}: {wall:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MB")


def cache_files(url: str) -> list[Path]:
    """The metrics cache files of a SQLite database (PostgreSQL's: pass --cache-dir)."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[1]
        return list(Path(database).parent.glob(Path(database).name + ".metrics*.duckdb"))
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=300, help="per request, seconds")
    parser.add_argument("--src", type=Path, default=None, help="source tree to run (before)")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="SALESOPS_METRICS_CACHE for every process"
    )
    parser.add_argument("--skip-cli", action="store_true", help="no first-query measures")
    args = parser.parse_args()
    if args.cache_dir is not None:
        os.environ["SALESOPS_METRICS_CACHE"] = str(args.cache_dir)
    url = args.database_url
    print(f"database {make_engine(url).url.render_as_string(hide_password=True)}")
    print(f"code: {args.src or ROOT / 'src'}")
    logins = prepare_logins(url, args.users)
    by_role: dict[str, int] = defaultdict(int)
    for login in logins:
        by_role[login.role] += 1
    print(f"{len(logins)} users: {dict(by_role)}")

    if not args.skip_cli:

        def remove_cache() -> None:
            for path in cache_files(url):
                path.unlink()
            if args.cache_dir is not None:
                for path in args.cache_dir.glob("*.duckdb"):
                    path.unlink()

        remove_cache()
        first_metric_query(url, args.src, "no cache file")
        first_metric_query(url, args.src, "with the cache file")

    base = f"http://127.0.0.1:{args.port}"
    started = time.perf_counter()
    server = start_server(url, args.port, args.src)
    try:
        director = next(login for login in logins if login.role == "director")
        up, answered, ready = first_page(base, started, director)
        print(
            f"server answering after {up:.1f} s; first overview answered after {answered:.1f} s,"
            f" showing its figures after {ready:.1f} s"
        )
        results = Results()
        until = time.perf_counter() + args.duration
        threads = [
            threading.Thread(target=user_loop, args=(base, login, until, results, i, args.timeout))
            for i, login in enumerate(logins)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report(results, time.perf_counter() - began)
        print(f"server peak RSS {peak_rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
