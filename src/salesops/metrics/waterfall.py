"""The pipeline waterfall: how open pipeline moved between two moments, reconciling exactly.

One definition for every interface (the CLI, the API and the dashboard call `pipeline_waterfall`
and nothing else): the waterfall from `start` to `end` follows the open deals whose expected
close date lies in [close_from, close_to]. Each bound defaults to the waterfall's own dates
(`start`, `end`), i.e. "the pipeline for this period"; `all_open=True` takes every open deal
whatever its close date instead. Each deal falls in exactly one path, so that start + new +
increased - decreased + pulled_in - pushed_out - won - lost = end holds to the cent:

- in scope at both moments: the amount change is `increased` or `decreased`;
- in scope at the start only: amount change, then `won` or `lost` (closed by the end) or
  `pushed_out` (still open, close date moved out of scope) with its amount at the end;
- in scope at the end only: `new` (created after the start, or reopened) or `pulled_in` (open at
  the start with a close date out of scope);
- created or pulled in and closed in between (close date in scope): `new`/`pulled_in` then
  `won`/`lost`, both with its amount at closing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import ibis
from ibis.expr.types import Value

from salesops.db.types import as_utc
from salesops.errors import Problem, ValidationFailed
from salesops.metrics import facts, opportunity_fact
from salesops.metrics.dimensions import (
    OPPORTUNITY_DIMENSIONS,
    add_dimensions,
    apply_filters,
    label_column,
)
from salesops.metrics.runner import execute
from salesops.metrics.schemas import Waterfall, WaterfallStep
from salesops.metrics.service import SourceLike, _filters, dimension_sort_key, open_engine

STEPS = (
    "starting", "new", "increased", "decreased", "pulled_in", "pushed_out", "won", "lost",
    "ending",
)  # fmt: skip
CENT = Decimal("0.01")


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value).replace(tzinfo=None)
    return datetime.combine(value, time.max)


def pipeline_waterfall(
    source: SourceLike,
    start: date | datetime,
    end: date | datetime,
    *,
    close_from: date | None = None,
    close_to: date | None = None,
    all_open: bool = False,
    by: Sequence[str] = (),
    filters: Mapping[str, str | Sequence[str]] | None = None,
    engine: str | None = None,
) -> list[Waterfall]:
    """The waterfall from `start` to `end` (dates mean the end of that day), one per slice.

    The deals followed close in [close_from, close_to], by default [start, end]; with
    `all_open`, every open deal.
    """
    t0, t1 = _moment(start), _moment(end)
    close_from, close_to = close_scope(start, end, close_from, close_to, all_open=all_open)
    problems = [
        Problem(f"unknown dimension {d!r} (use {', '.join(OPPORTUNITY_DIMENSIONS)})", "by")
        for d in [*by, *(filters or {})]
        if d not in OPPORTUNITY_DIMENSIONS
    ]
    if t1 <= t0:
        problems.append(Problem(f"the waterfall ends ({end}) before it starts ({start})", "to"))
    if problems:
        raise ValidationFailed("invalid waterfall", problems)
    src = open_engine(source, engine=engine)
    tables, ctx = src.tables, src.ctx
    before = opportunity_fact.opportunities(
        tables, ctx, as_of=t0, columns=("is_open", "is_closed", "amount_rc", "close_date")
    )
    before = before.select(
        b_id="id", open0="is_open", closed0="is_closed", a0="amount_rc", cd0="close_date"
    )
    after = opportunity_fact.opportunities(tables, ctx, as_of=t1)
    j = after.left_join(before, after.id == before.b_id)

    def scoped(day: Value) -> Value:
        # Without a scope every open deal counts, even one with no expected close date.
        cond = day.notnull() if close_from or close_to else ibis.literal(True)
        if close_from is not None:
            cond = cond & (day >= close_from)
        if close_to is not None:
            cond = cond & (day <= close_to)
        return cond

    existed = j.b_id.notnull()
    in0 = existed & j.open0.fill_null(False) & scoped(j.cd0)
    in1 = j.is_open & scoped(j.close_date)
    a0 = j.a0.fill_null(ibis.literal(0, type=facts.MONEY))
    a1 = j.amount_rc
    closed_since = j.is_closed & (j.closed_at > t0) & (~existed | j.open0 | j.closed0)
    passing = ~in0 & ~in1 & closed_since & scoped(j.closed_on)
    entered = (in1 & ~in0) | passing
    exited = in0 & ~in1
    kept = in0 & in1
    delta = a1 - a0
    j = j.mutate(
        f_start=in0,
        f_end=in1,
        f_new=entered & (~existed | j.closed0.fill_null(False)),
        f_pulled=entered & existed & j.open0.fill_null(False),
        f_up=(kept | exited) & (delta > 0),
        f_down=(kept | exited) & (delta < 0),
        f_pushed=exited & j.is_open,
        f_won=(exited | passing) & j.is_won,
        f_lost=(exited | passing) & j.is_lost,
        a0=a0,
        delta=delta,
        wf_on=ibis.literal(t1.date()),
    )
    j = add_dimensions(j, [*by, *(filters or {})], tables, ctx, on_date="wf_on")
    j = apply_filters(j, _filters(filters))
    zero = ibis.literal(0, type=facts.MONEY)

    def total(flag: Value, amount: Value) -> Value:
        return amount.sum(where=flag).fill_null(zero)

    aggs: dict[str, Value] = {
        "starting": total(j.f_start, j.a0),
        "new": total(j.f_new, j.amount_rc),
        "increased": total(j.f_up, j.delta),
        "decreased": total(j.f_down, -j.delta),
        "pulled_in": total(j.f_pulled, j.amount_rc),
        "pushed_out": total(j.f_pushed, j.amount_rc),
        "won": total(j.f_won, j.amount_rc),
        "lost": total(j.f_lost, j.amount_rc),
        "ending": total(j.f_end, j.amount_rc),
    }
    flags = (
        "f_start",
        "f_new",
        "f_up",
        "f_down",
        "f_pulled",
        "f_pushed",
        "f_won",
        "f_lost",
        "f_end",
    )
    for step, flag in zip(STEPS, flags, strict=True):
        aggs[f"n_{step}"] = j.amount_rc.count(where=j[flag])
    keys = [label_column(d) for d in by]
    expr = j.group_by(keys).aggregate(**aggs) if keys else j.aggregate(**aggs)
    if keys:
        expr = expr.order_by(keys)
    result: list[Waterfall] = []
    for row in execute(src, expr):
        steps = tuple(WaterfallStep(s, _money(row[s]), int(row[f"n_{s}"] or 0)) for s in STEPS)
        result.append(
            Waterfall(
                start=t0.replace(tzinfo=UTC),
                end=t1.replace(tzinfo=UTC),
                close_from=close_from,
                close_to=close_to,
                currency=ctx.reporting_currency,
                steps=steps,
                dimensions={d: row[label_column(d)] for d in by},
            )
        )
    if "stage" in by:
        labels = dimension_sort_key(ctx)
        result.sort(key=lambda w: labels(w.dimensions))
    return result


def close_scope(
    start: date | datetime,
    end: date | datetime,
    close_from: date | None,
    close_to: date | None,
    *,
    all_open: bool = False,
) -> tuple[date | None, date | None]:
    """The close dates a waterfall follows: the given bounds, else its own dates; none (every
    open deal) with `all_open`."""
    if all_open:
        if close_from is not None or close_to is not None:
            raise ValidationFailed(
                "give either all_open or close dates, not both",
                [Problem("all_open takes every open deal, whatever its close date", "all_open")],
            )
        return None, None
    first = close_from or _day(start)
    last = close_to or _day(end)
    if last < first:
        raise ValidationFailed(
            "invalid waterfall",
            [Problem(f"close_to ({last}) is before close_from ({first})", "close_to")],
        )
    return first, last


def _day(value: date | datetime) -> date:
    return _moment(value).date()


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)
