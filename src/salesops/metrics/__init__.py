"""Metrics: one governed KPI catalog compiled to Ibis; DuckDB, PostgreSQL or any warehouse.

The public API (see docs/metrics.md):

    compute(source, name, *, by, grain, start, end, filters, as_of, compare, params) -> MetricResult
    query(source, name, **same) -> pandas.DataFrame
    list_metrics(), get_definition(name), funnel(source, ...), drill_down(source, name, ...)
    pipeline_waterfall(source, start, end, *, close_from, close_to, by) -> list[Waterfall]
"""

from salesops.metrics.compare import change
from salesops.metrics.definitions import MetricDefinition
from salesops.metrics.engines import Source, export_parquet
from salesops.metrics.schemas import (
    FunnelStage,
    MetricInfo,
    MetricResult,
    MetricRow,
    Waterfall,
    WaterfallStep,
)
from salesops.metrics.service import (
    compiled_sql,
    compute,
    drill_down,
    funnel,
    get_definition,
    list_metrics,
    open_engine,
    query,
)
from salesops.metrics.waterfall import pipeline_waterfall

__all__ = [
    "FunnelStage",
    "MetricDefinition",
    "MetricInfo",
    "MetricResult",
    "MetricRow",
    "Source",
    "Waterfall",
    "WaterfallStep",
    "change",
    "compiled_sql",
    "compute",
    "drill_down",
    "export_parquet",
    "funnel",
    "get_definition",
    "list_metrics",
    "open_engine",
    "pipeline_waterfall",
    "query",
]
