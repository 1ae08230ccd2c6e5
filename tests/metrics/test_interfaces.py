"""The CLI and the API give the same figures: one waterfall definition, stages in funnel order.

A committed database of one rep's deals, read through `salesops metrics ...` and through
`/api/v1/...` with the same dates. The waterfall from 2025-03-01 to 2025-03-31 (ends of days):

    deal  created     amount          close date                      stage now
    A     2025-02-10  1,000           2025-03-20                      Qualification
    B     2025-02-10  2,000 -> 2,500  2025-03-25 (raised 2025-03-10)  Proposal
    C     2025-03-05  4,000           2025-03-28                      Prospecting
    D     2025-02-10  3,000           2025-03-15, won that day        Closed Won
    E     2025-02-10  1,500           2025-06-30                      Negotiation
    F     2025-03-10    700           2025-05-15                      Prospecting
    G     2025-02-10    800           2025-03-18 -> 2025-04-30 (moved 2025-03-12)  Negotiation

Closing in March (the default scope): starting A + B + D + G = 6,800; new C 4,000; increased
B 500; pushed out G 800; won D 3,000; ending A + B + C = 7,500.
Every open deal (`--all-open`): starting 6,800 + E 1,500 = 8,300; new C + F = 4,700; increased
500; won 3,000; ending 7,500 + E + F + G = 10,500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from salesops.api import create_app
from salesops.auth import service as auth
from salesops.cli.main import app as cli
from salesops.config import Settings
from salesops.pipeline import service, stages
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.factories import make_opportunity, make_rep

MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
MARCH_ARGS = ("--from", MARCH["from"], "--to", MARCH["to"])
IN_MARCH = {
    "starting": ("6800.00", 4), "new": ("4000.00", 1), "increased": ("500.00", 1),
    "decreased": ("0.00", 0), "pulled_in": ("0.00", 0), "pushed_out": ("800.00", 1),
    "won": ("3000.00", 1), "lost": ("0.00", 0), "ending": ("7500.00", 3),
}  # fmt: skip
ALL_OPEN = {
    "starting": ("8300.00", 5), "new": ("4700.00", 2), "increased": ("500.00", 1),
    "decreased": ("0.00", 0), "pulled_in": ("0.00", 0), "pushed_out": ("0.00", 0),
    "won": ("3000.00", 1), "lost": ("0.00", 0), "ending": ("10500.00", 6),
}  # fmt: skip
FUNNEL = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won"]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _build(session: Session) -> None:
    rep = make_rep(session, name="Wes")

    def deal(amount: int, created: str, close: str, stage: str) -> object:
        opp = make_opportunity(
            session, owner=rep, amount=amount, at=_at(created), close_date=date.fromisoformat(close)
        )
        if stage != "Prospecting":
            service.move_stage(session, opp, stages.by_name(session, stage), at=_at(created))
        return opp

    deal(1000, "2025-02-10", "2025-03-20", "Qualification")
    b = deal(2000, "2025-02-10", "2025-03-25", "Proposal")
    service.change_amount(session, b, Decimal(2500), at=_at("2025-03-10"))  # type: ignore[arg-type]
    deal(4000, "2025-03-05", "2025-03-28", "Prospecting")
    d = deal(3000, "2025-02-10", "2025-03-15", "Prospecting")
    service.close_opportunity(session, d, won=True, at=_at("2025-03-15"))  # type: ignore[arg-type]
    deal(1500, "2025-02-10", "2025-06-30", "Negotiation")
    deal(700, "2025-03-10", "2025-05-15", "Prospecting")
    g = deal(800, "2025-02-10", "2025-03-18", "Negotiation")
    service.change_close_date(session, g, date(2025, 4, 30), at=_at("2025-03-12"))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    database = fresh_sqlite_url(tmp_path_factory.mktemp("interfaces"), "interfaces")
    engine = migrated_engine(database)
    with Session(engine) as session:
        stages.ensure_stages(session)
        _build(session)
        session.commit()
    engine.dispose()
    return database


@pytest.fixture(scope="module")
def api(url: str) -> Iterator[TestClient]:
    engine = migrated_engine(url)
    with Session(engine) as session:
        token = auth.create_token(session, auth.create_user(session, "ops", role="ops_rep")).secret
        session.commit()
    engine.dispose()
    with TestClient(
        create_app(Settings(database_url=url), web=False),
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def cli_json(url: str, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["--database-url", url, "metrics", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    records: list[dict[str, object]] = json.loads(result.output)
    return records


def cli_steps(url: str, *args: str) -> dict[str, tuple[str, int]]:
    return {
        str(r["step"]): (f"{Decimal(str(r['amount'])):.2f}", int(str(r["deals"])))
        for r in cli_json(url, "waterfall", *MARCH_ARGS, *args)
    }


def api_steps(api: TestClient, **params: str) -> dict[str, tuple[str, int]]:
    reply = api.get("/api/v1/waterfall", params={**MARCH, **params})
    assert reply.status_code == 200, reply.text
    (fall,) = reply.json()
    assert fall["reconciles"] is True
    return {s["step"]: (s["amount"], s["deals"]) for s in fall["steps"]}


def test_the_cli_and_the_api_waterfalls_agree_with_the_hand_computation(
    url: str, api: TestClient
) -> None:
    # Before: the API took every open deal (ending 10,500) where the CLI took March's (7,500).
    assert cli_steps(url) == IN_MARCH
    assert api_steps(api) == IN_MARCH
    assert cli_steps(url, "--all-open") == ALL_OPEN
    assert api_steps(api, all_open="true") == ALL_OPEN
    explicit = {"close_from": "2025-03-01", "close_to": "2025-03-31"}
    assert api_steps(api, **explicit) == IN_MARCH
    both = api.get("/api/v1/waterfall", params={**MARCH, **explicit, "all_open": "true"})
    assert both.status_code == 422
    unknown = api.get("/api/v1/waterfall", params={**MARCH, "by": "colour"})
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["error"]["problems"][0]["message"]


def test_stages_come_in_funnel_order_not_alphabetically(url: str, api: TestClient) -> None:
    created = cli_json(url, "query", "opportunities_created", "--by", "stage")
    assert [r["stage"] for r in created] == FUNNEL
    reply = api.get("/api/v1/metrics/opportunities_created", params={"by": ["owner", "stage"]})
    assert [(r["owner"], r["stage"]) for r in reply.json()["rows"]] == [("Wes", s) for s in FUNNEL]
    # The counts follow their stage: C and F are still prospecting, D was won.
    assert [r["opportunities_created"] for r in created] == [2, 1, 1, 2, 1]
    monthly = cli_json(url, "query", "opportunities_created", "--by", "stage", "--grain", "month")
    assert [(r["stage"], r["period"]) for r in monthly] == [
        ("Prospecting", "2025-03-01"),
        ("Qualification", "2025-02-01"),
        ("Proposal", "2025-02-01"),
        ("Negotiation", "2025-02-01"),
        ("Closed Won", "2025-02-01"),
    ]
    falls = api.get("/api/v1/waterfall", params={**MARCH, "all_open": "true", "by": "stage"})
    assert [w["dimensions"]["stage"] for w in falls.json()] == FUNNEL
    by_stage = cli_json(url, "waterfall", *MARCH_ARGS, "--by", "stage")
    assert list(dict.fromkeys(str(r["stage"]) for r in by_stage)) == FUNNEL
