"""The metrics service: every screen, API and export asks for metrics through these functions.

`source` is where the data is: a SQLAlchemy Session or Engine of the operational store (run on
DuckDB fed through Arrow, the default), an engine spec string (`duckdb`, `postgres`,
`parquet:DIR`, an Ibis URL) or an already opened `Source`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesops.config import get_settings
from salesops.db.types import as_utc
from salesops.errors import ValidationFailed
from salesops.metrics import compare as comparing
from salesops.metrics import compiler, periods, tenure
from salesops.metrics.definitions import Catalog, MetricDefinition, allowed_dimensions, load_catalog
from salesops.metrics.dimensions import add_dimensions, apply_filters
from salesops.metrics.engines import Source, materialized, open_source
from salesops.metrics.facts import Context
from salesops.metrics.periods import Window
from salesops.metrics.query_check import Query, all_params, check_query
from salesops.metrics.runner import empty_value, execute, run_metric
from salesops.metrics.schemas import FunnelStage, MetricInfo, MetricResult, MetricRow
from salesops.metrics.steps import prepared

SourceLike = Session | Engine | str | Source


@lru_cache(maxsize=4)
def _catalog_for(user_dir: str | None) -> Catalog:
    return load_catalog(Path(user_dir) if user_dir else None)


def catalog() -> Catalog:
    """The shipped catalog plus the metrics in `Settings.metrics_dir` (validated, cached)."""
    directory = get_settings().metrics_dir
    return _catalog_for(str(directory) if directory else None)


def list_metrics() -> list[MetricInfo]:
    """Every metric in the catalog, in catalog order."""
    cat = catalog()
    return [
        MetricInfo(
            name=m.name,
            label=m.label,
            unit=m.unit,
            kind=m.kind,
            description=m.description,
            dimensions=tuple(allowed_dimensions(m, cat.metrics)),
            grains=tuple(m.grains),
        )
        for m in cat
    ]


def get_definition(name: str) -> MetricDefinition:
    """The definition of metric `name` (NotFound lists the known names)."""
    return catalog().get(name)


def open_engine(
    source: SourceLike, *, engine: str | None = None, now: datetime | None = None
) -> Source:
    """Resolve `source` (and an optional engine spec) to an opened Source."""
    if isinstance(source, Source):
        if now is None:
            return source
        moment = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
        return replace(source, ctx=replace(source.ctx, now=moment))
    currency = get_settings().reporting_currency
    if isinstance(source, str):
        return open_source(source, reporting_currency=currency, now=now)
    if isinstance(source, Session):
        return open_source(engine, session=source, reporting_currency=currency, now=now)
    return open_source(engine, engine=source, reporting_currency=currency, now=now)


def _moment(value: date | datetime | None) -> datetime | None:
    """A query's as-of moment as naive UTC; a bare date means the end of that day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).replace(tzinfo=None)
    return datetime.combine(value, time.max)


def _filters(filters: Mapping[str, str | Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    result = {}
    for dim, values in (filters or {}).items():
        result[dim] = (values,) if isinstance(values, str) else tuple(str(v) for v in values)
    return result


def compute(
    source: SourceLike,
    name: str,
    *,
    by: Sequence[str] = (),
    grain: str | None = None,
    start: date | None = None,
    end: date | None = None,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    as_of: date | datetime | None = None,
    compare: str | None = None,
    params: Mapping[str, Any] | None = None,
    engine: str | None = None,
    now: datetime | None = None,
    explain: bool = False,
) -> MetricResult:
    """Compute metric `name`: `start`..`end` are inclusive dates; `as_of` rewinds the pipeline.

    With `explain`, the result's `sql` holds the SQL that ran (rendering it costs time).
    """
    cat = catalog()
    metric = cat.get(name)
    query = Query(
        by=tuple(dict.fromkeys(by)),
        grain=grain,  # checked with everything else in check_query
        window=Window.inclusive(start, end),
        filters=_filters(filters),
        as_of=_moment(as_of),
        params=dict(params or {}),
    )
    check_query(metric, cat, query)
    src = open_engine(source, engine=engine, now=now)
    if metric.kind == "retention" and not query.window.bounded:
        raise ValidationFailed(f"{name} needs a window: give --from and --to")
    src = _with_entries(src, metric, cat, query)
    rows, sql = run_metric(src, metric, cat, query, explain=explain)
    compared_with = None
    if compare is not None:
        # Today is the as-of day when the query rewinds, else the day of `now`.
        if query.as_of is not None:
            day = query.as_of.date()
        else:
            day = as_utc(now).date() if now is not None else comparing.today()
        rows, compared_with = comparing.compared(
            rows,
            query,
            compare,
            empty_value(metric),
            lambda q: run_metric(src, metric, cat, q)[0],
            point_in_time=metric.point_in_time,
            today=day,
        )
    rows = in_funnel_order(rows, query.by, src.ctx)
    return MetricResult(
        metric=metric,
        rows=tuple(rows),
        by=query.by,
        grain=query.grain,
        start=start,
        end=end,
        as_of=query.as_of,
        compare=compare,
        compared_with=compared_with,
        filters=query.filters,
        engine=src.engine,
        currency=src.ctx.reporting_currency,
        sql=sql,
    )


def dimension_sort_key(ctx: Context) -> Callable[[Mapping[str, str]], list[tuple[int, str]]]:
    """Sort key for a row's dimension labels: stages in funnel order (pipeline_stages' order,
    labels that are no stage last), every other label by name."""
    stages = sorted(ctx.stages, key=lambda s: (s.sort_order, s.id))
    order = {s.name: i for i, s in enumerate(stages)}

    def key(dimensions: Mapping[str, str]) -> list[tuple[int, str]]:
        return [
            (order.get(v, len(order)), v) if d == "stage" else (0, v) for d, v in dimensions.items()
        ]

    return key


def in_funnel_order(rows: list[MetricRow], by: Sequence[str], ctx: Context) -> list[MetricRow]:
    """`rows` sorted by their dimensions and period, stages in funnel order (not by name)."""
    if "stage" not in by:
        return rows
    labels = dimension_sort_key(ctx)
    return sorted(rows, key=lambda r: (labels(r.dimensions), r.period or date.min))


def _with_entries(src: Source, metric: MetricDefinition, cat: Catalog, query: Query) -> Source:
    """`src` with the funnel's kept stage entries when `metric` reads stage entries."""
    return materialized(src, as_of=query.as_of) if _reads_entries(metric, cat) else src


def _reads_entries(metric: MetricDefinition, cat: Catalog) -> bool:
    """Whether `metric` (or a metric it is built from) counts stage entries."""
    seen: set[str] = set()
    todo = [metric]
    while todo:
        m = todo.pop()
        if m.name in seen:
            continue
        seen.add(m.name)
        if m.fact == "stage_entries":
            return True
        todo.extend(cat.get(n) for n in (*m.inputs.values(), *([m.of] if m.of else [])))
    return False


def query(source: SourceLike, name: str, **options: Any) -> Any:
    """`compute(...)` returned as a pandas DataFrame (one row per result row)."""
    return compute(source, name, **options).to_pandas()


def compiled_sql(
    name: str, *, source: SourceLike | None = None, dialect: str = "duckdb", **options: Any
) -> str:
    """The SQL that metric `name` compiles to (on `source`'s engine when given)."""
    if source is not None:
        return compute(source, name, **options).sql
    from salesops.metrics import facts

    cat = catalog()
    metric = cat.get(name)
    tables = _offline_tables()
    ctx = facts.Context(
        reporting_currency=get_settings().reporting_currency,
        stages=_default_stages(),
        now=datetime.now(UTC).replace(tzinfo=None),
        available=frozenset(tables),
        quota_range=(date(2025, 1, 1), date(2025, 12, 31)),
    )
    q = Query(
        by=tuple(options.get("by", ())),
        grain=options.get("grain"),
        window=Window.inclusive(options.get("start"), options.get("end")),
    )
    if metric.kind == "retention" and not q.window.bounded:
        q = replace(q, window=Window(date(2025, 1, 1), date(2026, 1, 1)))
    expr = compiler.compile_metric(metric, cat, tables, ctx, q)
    return str(ibis.to_sql(expr, dialect=dialect))


def _default_stages() -> tuple[Any, ...]:
    from salesops.metrics.facts import StageInfo
    from salesops.pipeline.stages import DEFAULT_STAGES

    return tuple(
        StageInfo(i + 1, s.name, i + 1, s.category.value, s.probability)
        for i, s in enumerate(DEFAULT_STAGES)
    )


def _offline_tables() -> dict[str, ibis.Table]:
    """Unbound Ibis tables with the canonical schemas, to show SQL without a database."""
    from salesops.metrics.engines import OPTIONAL, REQUIRED, _arrow_type
    from salesops.models import Base

    result = {}
    for name in (*REQUIRED, *OPTIONAL):
        table = Base.metadata.tables[name]
        fields = {}
        for column in table.columns:
            kind = _arrow_type(column)
            if kind is not None:
                fields[column.name] = ibis.dtype(kind)
        result[name] = ibis.table(ibis.schema(fields), name=name)
    return result


def funnel(
    source: SourceLike,
    *,
    start: date | None = None,
    end: date | None = None,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    as_of: date | datetime | None = None,
    engine: str | None = None,
) -> list[FunnelStage]:
    """The cohort funnel: per stage, deals that entered it in the window and how far they went."""
    query = Query(
        window=Window.inclusive(start, end), filters=_filters(filters), as_of=_moment(as_of)
    )
    src = materialized(open_engine(source, engine=engine), as_of=query.as_of)
    rows = execute(src, compiler.funnel(src.tables, src.ctx, query))
    by_stage = {r["stage"]: r for r in rows}
    result = []
    for stage, _rank in sorted(src.ctx.ranks().items(), key=lambda kv: kv[1]):
        r = by_stage.get(stage)
        result.append(
            FunnelStage(
                stage=stage,
                entered=int(r["entered"]) if r else 0,
                advanced=int(r["advanced"]) if r else 0,
                won=int(r["won"]) if r else 0,
            )
        )
    return result


def drill_down(
    source: SourceLike,
    name: str,
    *,
    start: date | None = None,
    end: date | None = None,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    period: date | None = None,
    grain: str | None = None,
    as_of: date | datetime | None = None,
    params: Mapping[str, Any] | None = None,
    engine: str | None = None,
    limit: int | None = 1000,
) -> list[dict[str, Any]]:
    """The rows (deals, stage entries or leads) behind a number of an aggregate or ratio metric,
    the accounts behind a retention figure, the deals behind a point of the ramp curve.

    Give the same window and filters as the figure; with `grain`, `period` picks one period.
    Each record carries the fact's id (or `account_id`) and the columns the metric uses.
    """
    cat = catalog()
    metric = cat.get(name)
    if metric.kind not in ("aggregate", "ratio", *_RECORD_KINDS):
        raise ValidationFailed(
            f"{name} is a {metric.kind} metric; drill into its inputs"
            f" ({', '.join(metric.inputs.values()) or metric.of or 'none'})"
        )
    if period is not None:
        grain = periods.check_grain(grain) or "month"
        start = period
        end = periods.next_period(periods.truncate(period, grain), grain)
        end = date.fromordinal(end.toordinal() - 1)
    query = Query(
        window=Window.inclusive(start, end),
        filters=_filters(filters),
        as_of=_moment(as_of),
        params={**all_params(metric, cat), **(params or {})},
    )
    check_query(metric, cat, query)
    if metric.kind in _RECORD_KINDS:
        if metric.kind == "retention" and not query.window.bounded:
            raise ValidationFailed(f"{name} needs a window: give --from and --to")
        src = open_engine(source, engine=engine)
        expr = tenure.records(metric, src.tables, src.ctx, query)
        return execute(src, expr if limit is None else expr.limit(limit))
    src = _with_entries(open_engine(source, engine=engine), metric, cat, query)
    t = prepared(metric, src.tables, src.ctx, query, _DRILL_COLUMNS[metric.fact])
    keep = [c for c in _DRILL_COLUMNS.get(metric.fact, ()) if c in t.columns]
    expr = t.select(*keep).order_by(keep[0])
    if limit is not None:
        expr = expr.limit(limit)
    return execute(src, expr)


# Kinds whose records are not a fact's rows: the accounts behind retention, the deals behind a
# point of the ramp curve (see `salesops.metrics.tenure.records`).
_RECORD_KINDS = ("retention", "cohort_retention", "ramp_curve")

_DRILL_COLUMNS = {
    "opportunities": (
        "id",
        "name",
        "owner_id",
        "account_id",
        "stage",
        "amount",
        "currency",
        "amount_rc",
        "close_date",
        "created_at",
        "closed_at",
        "cycle_days",
        "type",
        "lead_source",
        "competitor",
    ),
    "stage_entries": ("opportunity_id", "entered_stage", "entered_at", "exited_at", "advanced"),
    "leads": (
        "id",
        "owner_id",
        "lead_source",
        "created_at",
        "converted_at",
        "is_converted",
        "converted_opportunity_id",
        "is_won",
        "won_amount_rc",
    ),
    "quotas": ("id", "owner_id", "period_start", "period_end", "amount_rc"),
}

_ = (add_dimensions, apply_filters)
