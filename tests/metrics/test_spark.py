"""The warehouse path: catalog metrics on PySpark (local mode) give DuckDB's numbers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.metrics.engines import from_backend
from salesops.pipeline import stages
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.metrics.scenario import DAY, T0, build

pytestmark = pytest.mark.spark

Q1: dict[str, Any] = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("win_rate", {"by": ["owner"]}),
    ("bookings", {"grain": "month"}),
    ("bookings", {"by": ["team"]}),
    ("pipeline_value", {"by": ["region"]}),
    ("pipeline_value", {"as_of": T0 + 30 * DAY}),
    ("weighted_pipeline", {}),
    ("weighted_pipeline_variance", {}),
    ("average_deal_size", {"by": ["manager"]}),
    ("median_deal_size", {}),
    ("sales_cycle_length", {}),
    ("stage_conversion", {"by": ["stage"]}),
    ("proposal_close_rate", {}),
    ("opportunities_created", {"by": ["team"], "grain": "quarter"}),
    ("lead_to_sale_rate", {"by": ["lead_source"]}),
    ("quota_attainment", {"by": ["owner"], **Q1}),
    ("quota_attainment_rate", Q1),
    ("pipeline_coverage", Q1),
    ("churn_rate", {"start": date(2024, 7, 1), "end": date(2025, 6, 30)}),
    ("net_revenue_retention", {"start": date(2024, 7, 1), "end": date(2025, 6, 30)}),
    ("forecast_wape", {}),
]


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark")
    engine = migrated_engine(fresh_sqlite_url(folder, "spark"))
    with Session(engine) as session:
        stages.ensure_stages(session)
        build(session)
        session.commit()
        metrics.export_parquet(session.connection(), folder / "parquet")
    engine.dispose()
    return folder / "parquet"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("salesops-metrics-test")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return bool(a == b)


def test_pyspark_local_mode_matches_duckdb_on_a_set_of_catalog_metrics(
    parquet_dir: Path, spark: Any
) -> None:
    import ibis

    backend = ibis.pyspark.connect(spark)
    for path in sorted(parquet_dir.glob("*.parquet")):
        backend.read_parquet(str(path), table_name=path.stem)
    on_spark = from_backend(backend, engine="pyspark", reporting_currency="USD")
    on_duckdb = metrics.open_engine(f"parquet:{parquet_dir}")
    assert on_duckdb.ctx.stages == on_spark.ctx.stages
    for name, options in QUERIES:
        expected = metrics.compute(on_duckdb, name, **options).to_records()
        got = metrics.compute(on_spark, name, **options).to_records()
        assert expected, name
        assert len(got) == len(expected), name
        for want, have in zip(expected, got, strict=True):
            assert close(want, have), f"{name} {options}: spark {have} != duckdb {want}"
