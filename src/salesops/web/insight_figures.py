"""The figures of the insight pages: retention and churn, competitors, lead conversion, ramp.

Like `salesops.web.dashboard`, each `build_*` asks the metrics catalog (through
`salesops.web.views`, on a source restricted to the caller) and formats nothing itself: every
value, count and ratio is a metric's value, numerator or denominator. Each figure carries the
link to the records behind it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from salesops import metrics
from salesops.calendar import add_months, period_start
from salesops.metrics import MetricRow, Source
from salesops.web import views
from salesops.web.charts import to_json
from salesops.web.dashboard import drill
from salesops.web.filters import Filters
from salesops.web.insight_charts import COHORT_COLORS, Line, grouped_bars, lines

QUARTERS = 8  # the "over time" charts: eight quarters ending with the selected period
MONTHS_AFTER = (0, 3, 6, 9, 12, 15, 18, 21, 24)  # points of the cohort retention curves
TENURE_MONTHS = tuple(range(12))  # points of the ramp curves (0 = the hire month)
FILTER_DIMENSIONS = {"team": "team", "territory": "territory", "segment": "segment", "rep": "owner"}
FILTER_LABELS = {"team": "team", "territory": "territory", "segment": "segment", "rep": "rep"}


def quarters(f: Filters) -> tuple[date, date, list[date]]:
    """First day, last day and quarter starts of the eight quarters ending with the period."""
    last = period_start(f.end, "quarter")
    first = add_months(last, -3 * (QUARTERS - 1))
    return first, f.end, [add_months(first, 3 * i) for i in range(QUARTERS)]


def quarter_name(day: date) -> str:
    return f"Q{(day.month - 1) // 3 + 1} {day.year}"


def ignored_filters(f: Filters, *names: str) -> list[str]:
    """The active filters that none of `names` can be sliced by (said on the page)."""
    dims = {d for m in metrics.list_metrics() if m.name in names for d in m.dimensions}
    return [
        FILTER_LABELS[key]
        for key, dim in FILTER_DIMENSIONS.items()
        if getattr(f, key) not in (None, "") and dim not in dims
    ]


def accounts_link(f: Filters, metric: str, **extra: Any) -> str:
    return f"/retention/accounts?{f.query(metric=metric, **extra)}"


def leads_link(f: Filters, metric: str, **extra: Any) -> str:
    return f"/lead-conversion/leads?{f.query(metric=metric, **extra)}"


def _cell(row: MetricRow | None, link: str) -> dict[str, Any]:
    if row is None:
        return {"value": None, "numerator": None, "denominator": None, "href": None}
    return {
        "value": row.value,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "href": link,
    }


def _cohort_colors(count: int) -> tuple[str, ...]:
    """`count` colours spread over the cohort scale, oldest first."""
    if count <= 1:
        return COHORT_COLORS[:1]
    step = (len(COHORT_COLORS) - 1) / (count - 1)
    return tuple(COHORT_COLORS[round(i * step)] for i in range(count))


def _by_period(rows: list[MetricRow]) -> dict[date, MetricRow]:
    return {r.period: r for r in rows if r.period is not None}


# --- retention and churn ---------------------------------------------------------------------

RETENTION_KPIS = (
    "gross_revenue_retention",
    "net_revenue_retention",
    "churn_rate",
    "revenue_churn_rate",
)


def build_retention(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    kpis = [
        replace(k, href=accounts_link(f, k.name)) for k in views.kpis(src, f, mf, RETENTION_KPIS)
    ]
    first, last, starts = quarters(f)
    window: dict[str, Any] = {"grain": "quarter", "start": first, "end": last}
    grr = _by_period(views.series(src, "gross_revenue_retention", f, mf, **window))
    nrr = _by_period(views.series(src, "net_revenue_retention", f, mf, **window))
    churn = _by_period(views.series(src, "churn_rate", f, mf, **window))
    trend: list[dict[str, Any]] = []
    for q in starts:
        if q not in grr:
            continue
        at = q.isoformat()
        trend.append(
            {
                "label": quarter_name(q),
                "grr": _cell(grr.get(q), accounts_link(f, "gross_revenue_retention", quarter=at)),
                "nrr": _cell(nrr.get(q), accounts_link(f, "net_revenue_retention", quarter=at)),
                "churn": _cell(
                    churn.get(q), accounts_link(f, "churn_rate", quarter=at, only="churned")
                ),
                "accounts_href": accounts_link(f, "churn_rate", quarter=at),
            }
        )
    trend_chart = lines(
        [
            Line(
                name,
                [t["label"] for t in trend],
                [t[key]["value"] for t in trend],
                [t[key]["href"] for t in trend],
            )
            for name, key in (("Gross (GRR)", "grr"), ("Net (NRR)", "nrr"))
        ],
        reference=1.0,
    )
    return {
        "title": "Retention and churn",
        "kpis": kpis,
        "trend": trend,
        "trend_chart": to_json(trend_chart) if trend else None,
        **_cohorts(src, f, mf, starts, window),
        "ignored": ignored_filters(f, *RETENTION_KPIS),
    }


def _cohorts(
    src: Source, f: Filters, mf: dict[str, str], starts: list[date], window: dict[str, Any]
) -> dict[str, Any]:
    """Net revenue retention of each first-contract cohort, months after it started."""
    points: dict[int, dict[date, MetricRow]] = {}
    for months in MONTHS_AFTER:
        rows = views.series(
            src, "cohort_net_revenue_retention", f, mf, params={"months_after": months}, **window
        )
        points[months] = _by_period(rows)
    logos = _by_period(
        views.series(src, "cohort_logo_retention", f, mf, params={"months_after": 0}, **window)
    )
    cohorts: list[dict[str, Any]] = []
    for q in starts:
        if q not in points[0]:
            continue
        cells = [
            _cell(
                points[m].get(q),
                accounts_link(
                    f,
                    "cohort_net_revenue_retention",
                    quarter=q.isoformat(),
                    **{"param.months_after": m},
                    title=f"{quarter_name(q)} cohort, {m} months on",
                ),
            )
            for m in MONTHS_AFTER
        ]
        start = points[0][q]
        cohorts.append(
            {
                "label": quarter_name(q),
                "accounts": logos[q].denominator if q in logos else None,
                "start_value": start.denominator,
                "cells": cells,
            }
        )
    chart = lines(
        [
            Line(
                c["label"],
                [f"{m}" for m, cell in zip(MONTHS_AFTER, c["cells"], strict=True) if cell["href"]],
                [cell["value"] for cell in c["cells"] if cell["href"]],
                [cell["href"] for cell in c["cells"] if cell["href"]],
            )
            for c in cohorts
        ],
        colors=_cohort_colors(len(cohorts)),
        x_title="months after the first contract started",
        reference=1.0,
    )
    return {
        "cohorts": cohorts,
        "months_after": MONTHS_AFTER,
        "cohort_chart": to_json(chart) if cohorts else None,
    }


# --- competitors -----------------------------------------------------------------------------

TOP_COMPETITORS = 6


def build_competitors(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    kpis = views.kpis(src, f, mf, ("competitor_win_rate", "win_rate", "win_rate_value"))
    won_value = {
        r.dimensions["competitor"]: r.value
        for r in views.series(src, "bookings", f, mf, by=["competitor"])
    }
    table: list[dict[str, Any]] = []
    for r in views.series(src, "competitor_win_rate", f, mf, by=["competitor"]):
        name = r.dimensions["competitor"]
        closed, won = int(r.denominator or 0), int(r.numerator or 0)
        table.append(
            {
                "competitor": name,
                "closed": closed,
                "won": won,
                "lost": closed - won,
                "win_rate": r.value,
                "won_value": won_value.get(name),
                "closed_href": drill(
                    f, metric="competitor_win_rate", competitor=name, title=f"Closed against {name}"
                ),
                "won_href": drill(
                    f, metric="won_deals", competitor=name, title=f"Won against {name}"
                ),
                "lost_href": drill(
                    f, metric="lost_deals", competitor=name, title=f"Lost against {name}"
                ),
                "value_href": drill(
                    f, metric="bookings", competitor=name, title=f"Won against {name}"
                ),
            }
        )
    table.sort(key=lambda t: (-t["closed"], t["competitor"]))
    first, last, starts = quarters(f)
    over_time = views.series(
        src, "competitor_win_rate", f, mf, by=["competitor"], grain="quarter", start=first, end=last
    )
    grid: dict[str, dict[date, MetricRow]] = {}
    for r in over_time:
        if r.period is not None:
            grid.setdefault(r.dimensions["competitor"], {})[r.period] = r
    totals = {
        name: sum(int(r.denominator or 0) for r in cells.values()) for name, cells in grid.items()
    }
    ranked = sorted(grid, key=lambda n: (-totals[n], n))
    matrix: list[dict[str, Any]] = []
    for name in ranked:
        cells = [
            _cell(
                grid[name].get(q),
                drill(
                    f,
                    metric="competitor_win_rate",
                    competitor=name,
                    quarter=q.isoformat(),
                    title=f"Closed against {name}, {quarter_name(q)}",
                ),
            )
            for q in starts
        ]
        matrix.append({"competitor": name, "closed": totals[name], "cells": cells})
    chart = lines(
        [
            Line(
                m["competitor"],
                [quarter_name(q) for q in starts],
                [c["value"] for c in m["cells"]],
                [c["href"] or "" for c in m["cells"]],
                [
                    f"{c['numerator']} of {c['denominator']} won"
                    if c["denominator"]
                    else "no deals"
                    for c in m["cells"]
                ],
            )
            for m in matrix[:TOP_COMPETITORS]
        ]
    )
    return {
        "title": "Competitors",
        "kpis": kpis,
        "table": table,
        "matrix": matrix,
        "quarters": [quarter_name(q) for q in starts],
        "trend_chart": to_json(chart) if matrix else None,
        "top": TOP_COMPETITORS,
        "ignored": ignored_filters(f, "competitor_win_rate"),
    }


# --- lead conversion -------------------------------------------------------------------------

LEAD_KPIS = ("leads_created", "lead_to_opportunity_rate", "lead_to_sale_rate", "lead_bookings")


def build_leads(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    kpis = [replace(k, href=leads_link(f, k.name)) for k in views.kpis(src, f, mf, LEAD_KPIS)]

    def by_source(name: str) -> dict[str, MetricRow]:
        return {
            r.dimensions["lead_source"]: r
            for r in views.series(src, name, f, mf, by=["lead_source"])
        }

    created, converted = by_source("leads_created"), by_source("lead_to_opportunity_rate")
    sold, booked = by_source("lead_to_sale_rate"), by_source("lead_bookings")
    table: list[dict[str, Any]] = []
    for source, row in created.items():
        conv, sale = converted.get(source), sold.get(source)
        table.append(
            {
                "source": source,
                "leads": row.value,
                "converted": conv.numerator if conv else 0,
                "conversion": conv.value if conv else None,
                "won": sale.numerator if sale else 0,
                "sale_rate": sale.value if sale else None,
                "bookings": booked[source].value if source in booked else None,
                "leads_href": leads_link(f, "leads_created", lead_source=source),
                "converted_href": leads_link(
                    f, "lead_to_opportunity_rate", lead_source=source, only="converted"
                ),
                "won_href": leads_link(f, "lead_to_sale_rate", lead_source=source, only="won"),
                "bookings_href": leads_link(f, "lead_bookings", lead_source=source),
            }
        )
    table.sort(key=lambda t: (-(t["leads"] or 0), t["source"]))
    bars = grouped_bars(
        [t["source"] for t in table],
        [
            ("Leads", [t["leads"] for t in table], [t["leads_href"] for t in table]),
            ("Converted", [t["converted"] for t in table], [t["converted_href"] for t in table]),
            ("Won", [t["won"] for t in table], [t["won_href"] for t in table]),
        ],
    )
    first, last, starts = quarters(f)
    rates = views.series(
        src,
        "lead_to_opportunity_rate",
        f,
        mf,
        by=["lead_source"],
        grain="quarter",
        start=first,
        end=last,
    )
    grid: dict[str, dict[date, MetricRow]] = {}
    for r in rates:
        if r.period is not None:
            grid.setdefault(r.dimensions["lead_source"], {})[r.period] = r
    trend = lines(
        [
            Line(
                source,
                [quarter_name(q) for q in starts],
                [grid[source][q].value if q in grid[source] else None for q in starts],
                [
                    leads_link(
                        f,
                        "lead_to_opportunity_rate",
                        lead_source=source,
                        quarter=q.isoformat(),
                        only="converted",
                    )
                    for q in starts
                ],
                [
                    f"{grid[source][q].numerator} of {grid[source][q].denominator} converted"
                    if q in grid[source]
                    else "no leads"
                    for q in starts
                ],
            )
            for source in sorted(grid)
        ]
    )
    return {
        "title": "Lead conversion",
        "kpis": kpis,
        "table": table,
        "bars_chart": to_json(bars) if table else None,
        "trend_chart": to_json(trend) if grid else None,
        "ignored": ignored_filters(f, *LEAD_KPIS),
    }


# --- ramp by hire cohort ---------------------------------------------------------------------


def build_ramp(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    first, last, starts = quarters(f)
    window: dict[str, Any] = {"grain": "quarter", "start": first, "end": last}
    points = {
        k: _by_period(
            views.series(src, "ramp_bookings_per_rep", f, mf, params={"tenure_month": k}, **window)
        )
        for k in TENURE_MONTHS
    }
    ramp = _by_period(views.series(src, "ramp_time", f, mf, **window))
    threshold = metrics.get_definition("ramp_time").params.get("attainment_threshold", 1.0)
    cohorts: list[dict[str, Any]] = []
    for q in starts:
        measured = [points[k][q] for k in TENURE_MONTHS if q in points[k]]
        if not measured:
            continue
        cells = [
            _cell(
                points[k].get(q),
                drill(
                    f,
                    metric="ramp_bookings_per_rep",
                    quarter=q.isoformat(),
                    **{"param.tenure_month": k},
                    title=f"Won by the {quarter_name(q)} hires in tenure month {k}",
                ),
            )
            for k in TENURE_MONTHS
        ]
        time = ramp.get(q)
        cohorts.append(
            {
                "label": quarter_name(q),
                "reps": max(int(r.denominator or 0) for r in measured),
                "ramp_months": time.value if time else None,
                "ramped": time.numerator if time else None,
                "cells": cells,
            }
        )
    chart = lines(
        [
            Line(
                c["label"],
                [str(k) for k, cell in zip(TENURE_MONTHS, c["cells"], strict=True) if cell["href"]],
                [cell["value"] for cell in c["cells"] if cell["href"]],
                [cell["href"] for cell in c["cells"] if cell["href"]],
                [f"{cell['denominator']} reps" for cell in c["cells"] if cell["href"]],
            )
            for c in cohorts
        ],
        unit="money",
        colors=_cohort_colors(len(cohorts)),
        x_title="month of tenure (0 = the hire month)",
    )
    return {
        "title": "Ramp by hire cohort",
        "cohorts": cohorts,
        "tenure_months": TENURE_MONTHS,
        "ramp_chart": to_json(chart) if cohorts else None,
        "threshold": threshold,
        "ignored": ignored_filters(f, "ramp_bookings_per_rep"),
    }
