"""What the dashboard pages show, asked of the metrics service (no metric math here: every
figure, delta and ratio comes back from `salesops.metrics`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from salesops import metrics
from salesops.calendar import add_months
from salesops.errors import Problem, ValidationFailed
from salesops.metrics import Source
from salesops.metrics.runner import empty_value
from salesops.models import Rep, Team, Territory
from salesops.web import periods
from salesops.web.filters import Filters

OVERVIEW_KPIS = (
    "bookings",
    "pipeline_value",
    "weighted_pipeline",
    "pipeline_coverage",
    "win_rate",
    "sales_cycle_length",
    "average_deal_size",
    "quota_attainment",
)


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    unit: str
    value: Any
    previous: Any
    pct_change: float | None
    higher_is_better: bool
    href: str
    note: str = ""  # what the value is, when not simply the period's (a finished period's pipeline)
    versus: str = ""  # what it is compared with: "same 34 days of Q2 2026"

    @property
    def trend(self) -> str:
        """'up' when the change is good news, 'down' when bad, 'flat' otherwise."""
        if self.pct_change is None or abs(self.pct_change) < 0.0005:
            return "flat"
        return "up" if (self.pct_change > 0) == self.higher_is_better else "down"


def metric_filters(session: Session, f: Filters) -> dict[str, str]:
    """The dashboard filters as the metrics service's dimension filters (human labels)."""
    out: dict[str, str] = {}
    if f.team is not None and (team := session.get(Team, f.team)) is not None:
        out["team"] = team.name
    if f.territory is not None and (terr := session.get(Territory, f.territory)) is not None:
        out["territory"] = terr.name
    if f.segment:
        out["segment"] = f.segment
    if f.rep is not None and (rep := session.get(Rep, f.rep)) is not None:
        out["owner"] = rep.name
    return out


def _allowed(name: str, filters: Mapping[str, str]) -> dict[str, str]:
    """Only the filters a metric can be sliced by (quotas know no segment, for instance)."""
    info = {m.name: m for m in metrics.list_metrics()}[name]
    return {k: v for k, v in filters.items() if k in info.dimensions}


FILTER_NAMES = {"owner": "rep"}


def unsliceable(name: str, filters: Mapping[str, str]) -> list[str]:
    """The filters set that `name` cannot honour: its figure would silently ignore them."""
    allowed = _allowed(name, filters)
    return [FILTER_NAMES.get(k, k) for k in filters if k not in allowed]


def compute(
    src: Source, name: str, f: Filters, filters: Mapping[str, str], **options: Any
) -> metrics.MetricResult:
    options.setdefault("start", f.start)
    options.setdefault("end", f.end)
    return metrics.compute(src, name, filters=_allowed(name, filters), **options)


# Open-pipeline figures are snapshots: compared as they stood at the matching moment of the
# previous period (not as it is now, closed out), and for a finished period as it started.
SNAPSHOT_KPIS = frozenset(
    {
        "pipeline_value",
        "weighted_pipeline",
        "weighted_pipeline_rep",
        "pipeline_coverage",
        "open_opportunities",
    }
)


def _value(result: metrics.MetricResult) -> Any:
    """The one figure of an undivided query; a sum or count over nothing is zero."""
    return result.rows[0].value if result.rows else empty_value(result.metric)


def pipeline_as_of(f: Filters, today: date) -> date | None:
    """When a period's open pipeline is read: its first day once over, else now (None)."""
    return f.start if periods.state_of(f, today) == "past" else None


def compare_figure(
    src: Source, name: str, f: Filters, filters: Mapping[str, str], today: date
) -> tuple[Any, Any, str, str]:
    """(value, previous, what the value is, what it is compared with) for one KPI.

    In progress, the previous period is cut at the same point: metrics that can be rebuilt as
    of a past moment read the whole previous period as it stood then (bookings so far against
    the full quota, like this period's); the others are computed over the elapsed days only.
    """
    if missing := unsliceable(name, filters):
        # A figure that ignores a filter would pass for the filtered one: none is shown.
        return None, None, "", f"not available by {' or '.join(missing)}"
    cmp = periods.comparison(f, today)
    prev = {"start": cmp.start, "end": cmp.end}
    if name in SNAPSHOT_KPIS:
        if cmp.state == "past":
            value = _value(compute(src, name, f, filters, as_of=f.start))
            before = _value(compute(src, name, f, filters, **prev, as_of=cmp.start))
            return value, before, f"at the start of {f.label}", cmp.snapshot_text
        value = _value(compute(src, name, f, filters))
        before = _value(compute(src, name, f, filters, **prev, as_of=cmp.moment))
        return value, before, "", cmp.snapshot_text
    if cmp.state == "future":
        return _value(compute(src, name, f, filters)), None, "", ""
    if cmp.state == "past":
        value = _value(compute(src, name, f, filters))
        return value, _value(compute(src, name, f, filters, **prev)), "", cmp.flow_text
    assert cmp.moment is not None
    if metrics.get_definition(name).point_in_time:
        value = _value(compute(src, name, f, filters))
        before = _value(compute(src, name, f, filters, **prev, as_of=cmp.moment))
    else:
        value = _value(compute(src, name, f, filters, end=today))
        before = _value(compute(src, name, f, filters, start=cmp.start, end=cmp.moment))
    return value, before, "", cmp.flow_text


def kpis(
    src: Source,
    f: Filters,
    filters: Mapping[str, str],
    names: Sequence[str] = OVERVIEW_KPIS,
    *,
    today: date | None = None,
) -> list[Kpi]:
    """Each KPI over the period with its change against the matching part of the one before."""
    today = today or date.today()
    result = []
    as_of = pipeline_as_of(f, today)
    for name in names:
        definition = metrics.get_definition(name)
        value, previous, note, versus = compare_figure(src, name, f, filters, today)
        _, pct = metrics.change(value, previous)
        drillable = definition.kind in ("aggregate", "ratio")
        extra = {"as_of": as_of.isoformat()} if as_of and name in SNAPSHOT_KPIS else {}
        result.append(
            Kpi(
                name=name,
                label=definition.label,
                unit=definition.unit,
                value=value,
                previous=previous,
                pct_change=pct,
                higher_is_better=definition.higher_is_better,
                href=f"/deals?{f.query(metric=name, **extra)}" if drillable else "",
                note=note,
                versus=versus,
            )
        )
    return result


def trend_window(f: Filters) -> tuple[date, date]:
    """Twelve months ending with the selected period."""
    start = add_months(date(f.end.year, f.end.month, 1), -11)
    return start, f.end


def series(
    src: Source,
    name: str,
    f: Filters,
    filters: Mapping[str, str],
    *,
    by: Sequence[str] = (),
    grain: str | None = None,
    start: date | None = None,
    end: date | None = None,
    **options: Any,
) -> list[metrics.MetricRow]:
    """The rows of `name`; none when a filter set cannot apply to it (quotas by segment)."""
    if unsliceable(name, filters):
        return []
    res = compute(
        src,
        name,
        f,
        filters,
        by=by,
        grain=grain,
        start=start or f.start,
        end=end or f.end,
        **options,
    )
    return list(res.rows)


def leaderboard(
    src: Source, f: Filters, filters: Mapping[str, str], today: date | None = None
) -> list[dict[str, Any]]:
    """Per rep: bookings, quota, attainment, win rate and open pipeline, best attainment first.

    A finished period's pipeline is the one it started with, as on the KPI cards.
    """
    as_of = pipeline_as_of(f, today or date.today())
    columns = {
        "bookings": "bookings",
        "quota": "quota_amount",
        "attainment": "quota_attainment",
        "win_rate": "win_rate",
        "pipeline": "pipeline_value",
        "deals_won": "won_deals",
    }
    table: dict[str, dict[str, Any]] = {}
    for key, name in columns.items():
        at: dict[str, Any] = {"as_of": as_of} if as_of and name in SNAPSHOT_KPIS else {}
        for row in series(src, name, f, filters, by=["owner"], **at):
            owner = row.dimensions["owner"]
            table.setdefault(owner, dict.fromkeys(["owner", *columns]) | {"owner": owner})[key] = (
                row.value
            )
    rows = list(table.values())
    rows.sort(
        key=lambda r: (
            r.get("attainment") is None,
            -(r.get("attainment") or 0),
            -(r.get("bookings") or 0),
        )
    )
    return rows


def health(src: Source, f: Filters, filters: Mapping[str, str], today: date) -> dict[str, Any]:
    """Stalled deals, deals past their close date, and close dates pushed out this period."""
    yesterday = today - timedelta(days=1)
    stalled = compute(src, "stalled_deals", f, filters, start=None, end=None)
    past_due_count = compute(src, "open_opportunities", f, filters, start=None, end=yesterday)
    past_due_value = compute(src, "pipeline_value", f, filters, start=None, end=yesterday)
    moves = waterfall(src, f, filters, today)
    stalled_deals = metrics.drill_down(
        src, "stalled_deals", filters=_allowed("stalled_deals", filters), limit=DRILL_LIMIT
    )
    biggest = sorted(stalled_deals, key=lambda r: -(r.get("amount_rc") or r.get("amount") or 0))
    return {
        "stalled_biggest": biggest[:10],
        "stalled": stalled.total,
        "stalled_days": metrics.get_definition("stalled_deals").params.get("stalled_days", 30),
        "past_due": past_due_count.total,
        "past_due_value": past_due_value.total,
        "pushed_out": next((s for s in moves.steps if s.label == "pushed_out"), None)
        if moves
        else None,
        "waterfall": moves,
    }


def waterfall(
    src: Source, f: Filters, filters: Mapping[str, str], today: date
) -> metrics.Waterfall | None:
    """How the pipeline closing in the period moved from the period's start until today."""
    end = min(f.end, today)
    if end <= f.start:
        return None
    result = metrics.pipeline_waterfall(
        src,
        f.start,
        end,
        close_from=f.start,
        close_to=f.end,
        filters=_allowed("pipeline_value", filters),
    )
    return result[0] if result else None


def funnel(src: Source, f: Filters, filters: Mapping[str, str]) -> list[metrics.FunnelStage]:
    return metrics.funnel(
        src, start=f.start, end=f.end, filters=_allowed("stage_conversion", filters)
    )


def stage_order(src: Source) -> list[str]:
    """Stage names in funnel order, as the metrics source knows them."""
    return [s.name for s in sorted(src.ctx.stages, key=lambda s: (s.sort_order, s.id))]


DRILL_LIMIT = 10_000
DRILL_DIMENSIONS = ("stage", "forecast_category", "owner", "lead_source", "competitor")


def drill_ids(
    src: Source,
    f: Filters,
    filters: Mapping[str, str],
    metric: str,
    params: Mapping[str, str],
) -> list[int]:
    """The ids of the deals behind a figure, as the metrics service defines them."""
    dims = {k: params[k] for k in DRILL_DIMENSIONS if params.get(k)}
    options: dict[str, Any] = {"start": f.start, "end": f.end}
    try:
        if params.get("month"):
            options.update(period=date.fromisoformat(params["month"]), grain="month")
        if params.get("quarter"):
            options.update(period=date.fromisoformat(params["quarter"]), grain="quarter")
        if params.get("as_of"):
            options["as_of"] = date.fromisoformat(params["as_of"])
    except ValueError as exc:
        raise ValidationFailed("invalid drill-down", [Problem(str(exc), "month/as_of")]) from exc
    if metric == "stage_conversion" and "stage" in dims:
        # The cohort of a stage is a parameter of stage_conversion, not a slice.
        options["params"] = {"from_stage": dims.pop("stage")}
    if metric in ("stalled_deals",):
        options.update(start=None, end=None)
    # A point of a curve (e.g. a month of tenure) is a metric parameter: `param.NAME=VALUE`.
    chosen = {k.removeprefix("param."): v for k, v in params.items() if k.startswith("param.")}
    if chosen:
        options["params"] = {**options.get("params", {}), **chosen}
    rows = metrics.drill_down(
        src, metric, filters={**_allowed(metric, filters), **dims}, limit=DRILL_LIMIT, **options
    )
    key = "opportunity_id" if rows and "opportunity_id" in rows[0] else "id"
    return list(dict.fromkeys(int(r[key]) for r in rows))
