"""The same catalog gives the same numbers on every engine: DuckDB, PostgreSQL, Parquet."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from salesops import metrics
from salesops.metrics.definitions import load_catalog
from tests.metrics.scenario import Company

WINDOW = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}
SLICED = {
    "win_rate": "team",
    "bookings": "owner",
    "pipeline_value": "region",
    "stage_conversion": "stage",
    "quota_attainment": "manager",
    "forecast_wape": "team",
}


def figures(src: metrics.Source) -> dict[str, Any]:
    """Every catalog metric over Q1 2025, plus a few sliced and monthly ones."""
    out: dict[str, Any] = {}
    for metric in load_catalog():
        out[metric.name] = metrics.compute(src, metric.name, **WINDOW).to_records()  # type: ignore[arg-type]
    for name, dim in SLICED.items():
        out[f"{name} by {dim}"] = metrics.compute(src, name, by=[dim]).to_records()
    out["bookings by month"] = metrics.compute(src, "bookings", grain="month").to_records()
    out["waterfall"] = [
        f.to_records()
        for f in metrics.pipeline_waterfall(src, date(2025, 1, 31), date(2025, 3, 31))
    ]
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_same(expected: dict[str, Any], got: dict[str, Any], engine: str) -> None:
    for key in expected:
        assert same(expected[key], got[key]), (
            f"{engine} differs on {key}: {got[key]} != {expected[key]}"
        )


def test_postgres_and_parquet_engines_agree_with_duckdb_on_the_whole_catalog(
    session: Session, company: Company, tmp_path: Path
) -> None:
    reference = figures(metrics.open_engine(session))
    assert reference["win_rate"] == [{"win_rate": 3 / 5}]
    if session.get_bind().dialect.name == "postgresql":
        assert_same(reference, figures(metrics.open_engine(session, engine="postgres")), "postgres")
    else:
        metrics.export_parquet(session.connection(), tmp_path / "export")
        parquet = metrics.open_engine(f"parquet:{tmp_path / 'export'}")
        assert parquet.engine.startswith("parquet:")
        assert_same(reference, figures(parquet), "parquet")
