"""The real Maven CRM data, imported with `salesops import maven`, against the CSV files."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.ingest import run_import
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def test_maven_figures_match_a_direct_computation_from_the_csv_files(session: Session) -> None:
    pipeline_csv = shared_data("maven_crm_sales_opportunities/sales_pipeline.csv")
    folder = pipeline_csv.parent
    deals = read(pipeline_csv)
    teams = {r["sales_agent"]: r for r in read(folder / "sales_teams.csv")}
    run_import(session, "maven", [folder])
    session.flush()
    src = metrics.open_engine(session)

    closed = [d for d in deals if d["deal_stage"] in ("Won", "Lost")]
    won = [d for d in closed if d["deal_stage"] == "Won"]
    assert (len(won), len(closed) - len(won)) == (4238, 2473)
    assert metrics.compute(src, "win_rate").total == 4238 / 6711
    assert metrics.compute(src, "bookings").total == Decimal("10005534.00")

    def cycle(d: dict[str, str]) -> int:
        return (date.fromisoformat(d["close_date"]) - date.fromisoformat(d["engage_date"])).days

    assert (
        metrics.compute(src, "sales_cycle_length").total
        == 57
        == statistics.median(cycle(d) for d in won)
    )

    def per(key: str, rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
        grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in rows:
            agent = row["sales_agent"]
            grouped[agent if key == "owner" else teams[agent][key]].append(row)
        return grouped

    for dim, key in (("owner", "owner"), ("manager", "manager")):
        groups = per(key, closed)
        expected_rate = {
            k: sum(r["deal_stage"] == "Won" for r in v) / len(v) for k, v in groups.items()
        }
        got = metrics.compute(src, "win_rate", by=[dim])
        assert {r.dimensions[dim]: r.value for r in got.rows} == pytest.approx(expected_rate)
        sizes = {
            k: (sum(Decimal(r["close_value"]) for r in v) / len(v)).quantize(Decimal("0.01"))
            for k, v in per(key, won).items()
        }
        got = metrics.compute(src, "average_deal_size", by=[dim])
        assert {r.dimensions[dim]: r.value for r in got.rows} == sizes

    by_region = {
        k: statistics.median(cycle(r) for r in v) for k, v in per("regional_office", won).items()
    }
    got = metrics.compute(src, "sales_cycle_length", by=["region"])
    assert {r.dimensions["region"]: r.value for r in got.rows} == by_region

    by_quarter: dict[date, Decimal] = defaultdict(Decimal)
    for d in won:
        by_quarter[quarter(date.fromisoformat(d["close_date"]))] += Decimal(d["close_value"])
    got = metrics.compute(src, "bookings", grain="quarter")
    assert {r.period: r.value for r in got.rows} == by_quarter
