"""Several clients at once against a served app: no acknowledged write is lost, none is a 5xx.

Each client reads the deal (its ETag), adds 1 to the amount and writes it back with If-Match;
a 409/412 means someone else got there first, so it reads again and retries. Every 200 is an
increment the server promised to keep: the final amount must be the start plus their count.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from salesops.api import create_app
from salesops.auth import service as auth
from salesops.config import Settings
from salesops.db import make_engine, session_scope
from salesops.pipeline import stages
from tests.conftest import scratch_url
from tests.databases import migrated_engine
from tests.orgchart import build_org
from tests.web.browser import LiveServer

CLIENTS = 4
INCREMENTS = 12  # acknowledged increments each client makes


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[str], int]]:
    url = scratch_url(request.param, tmp_path, "concurrency")
    migrated_engine(url).dispose()
    engine = make_engine(url)
    with session_scope(engine) as session:
        stages.ensure_stages(session)
        org = build_org(session)
        users = ("ann", "mia", "ops_rep", "director")
        tokens = [auth.create_token(session, org.users[u]).secret for u in users]
        deal = org.opps["ann"][0].id
    app = create_app(Settings(database_url=url), engine=engine)
    with LiveServer(app) as server:
        yield server.url, tokens, deal
    engine.dispose()


def _increment(
    base: str, token: str, deal: int, statuses: Counter[int], lock: threading.Lock
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    done = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while done < INCREMENTS:
            read = client.get(f"/api/v1/opportunities/{deal}")
            with lock:
                statuses[read.status_code] += 1
            if read.status_code != 200:
                continue
            amount = Decimal(read.json()["amount"]) + 1
            write = client.patch(
                f"/api/v1/opportunities/{deal}",
                json={"amount": str(amount)},
                headers={"If-Match": read.headers["ETag"]},
            )
            with lock:
                statuses[write.status_code] += 1
            if write.status_code == 200:
                done += 1


def test_concurrent_read_modify_writes_lose_no_acknowledged_increment(
    served: tuple[str, list[str], int],
) -> None:
    base, tokens, deal = served
    start = Decimal(
        httpx.get(
            f"{base}/api/v1/opportunities/{deal}", headers={"Authorization": f"Bearer {tokens[0]}"}
        ).json()["amount"]
    )
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_increment, args=(base, token, deal, statuses, lock))
        for token in tokens[:CLIENTS]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    print(f"statuses: {dict(sorted(statuses.items()))}")
    assert not [code for code in statuses if code >= 500], statuses
    assert set(statuses) <= {200, 409, 412}, statuses
    final = httpx.get(
        f"{base}/api/v1/opportunities/{deal}", headers={"Authorization": f"Bearer {tokens[0]}"}
    ).json()
    assert Decimal(final["amount"]) == start + CLIENTS * INCREMENTS
    # One version per acknowledged write, none skipped or repeated.
    assert final["version"] == 1 + CLIENTS * INCREMENTS
