"""Plotly figure specs built in Python from metric results; the browser only draws them.

Each data point carries its drill-down URL in `customdata`, so a click opens the deals behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from salesops.metrics import FunnelStage, MetricRow, Waterfall

BRAND = "#1d4ed8"
SOFT = "#93c5fd"
GOOD = "#059669"
BAD = "#dc2626"
GREY = "#94a3b8"
CATEGORY_COLORS = {
    "commit": "#1d4ed8",
    "best_case": "#60a5fa",
    "pipeline": "#bfdbfe",
    "closed": GOOD,
    "omitted": GREY,
}


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "font": {
            "family": "Inter, Segoe UI, system-ui, sans-serif",
            "size": 12,
            "color": "#374151",
        },
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hoverlabel": {"bgcolor": "#111827", "font": {"color": "#fff"}},
        "xaxis": {"gridcolor": "#eef0f3", "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": "#eef0f3", "zeroline": False, "automargin": True},
        "showlegend": False,
    }
    layout.update(extra)
    return layout


def to_json(fig: go.Figure) -> str:
    return str(fig.to_json())


def bookings_vs_quota(
    bookings: Sequence[MetricRow], quota: Sequence[MetricRow], drill: Any
) -> go.Figure:
    """Monthly bookings as bars with the quota as a line; a bar opens that month's wins."""
    months = sorted({r.period for r in [*bookings, *quota] if r.period is not None})
    won = {r.period: r.value for r in bookings}
    target = {r.period: r.value for r in quota}
    labels = [m.strftime("%b %Y") for m in months]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[won.get(m) or 0 for m in months],
        name="Bookings",
        marker_color=BRAND,
        customdata=[drill(m) for m in months],
        hovertemplate="%{x}<br>Bookings $%{y:,.0f}<extra></extra>",
    )
    if any(target.get(m) for m in months):
        fig.add_scatter(
            x=labels,
            y=[target.get(m) for m in months],
            name="Quota",
            mode="lines+markers",
            line={"color": "#f59e0b", "width": 2.5},
            marker={"size": 6},
            hovertemplate="%{x}<br>Quota $%{y:,.0f}<extra></extra>",
        )
    fig.update_layout(
        _layout(
            showlegend=True,
            legend={"orientation": "h", "y": 1.1, "x": 0},
            yaxis={"tickprefix": "$", "tickformat": "~s", "gridcolor": "#eef0f3"},
            bargap=0.3,
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
        )
    )
    return fig


def horizontal_bars(
    rows: Sequence[tuple[str, Any, str]], *, colors: Sequence[str] | None = None
) -> go.Figure:
    """(label, value, drill URL) rows as horizontal bars, first row on top."""
    labels = [r[0] for r in rows]
    fig = go.Figure(
        go.Bar(
            x=[r[1] or 0 for r in rows],
            y=labels,
            orientation="h",
            marker_color=list(colors) if colors else BRAND,
            customdata=[r[2] for r in rows],
            text=[_short(r[1]) for r in rows],
            textposition="auto",
            hovertemplate="%{y}<br>$%{x:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        _layout(
            yaxis={"autorange": "reversed", "automargin": True},
            xaxis={"tickprefix": "$", "tickformat": "~s", "gridcolor": "#eef0f3"},
        )
    )
    return fig


def funnel(
    stages: Sequence[FunnelStage], drill: Any, terminal: frozenset[str] = frozenset()
) -> go.Figure:
    """Deals entering each stage, with the share that went further (none for won stages)."""
    labels = [s.stage for s in stages]
    text = [
        f"{s.entered:,} · {s.conversion * 100:.0f}% advanced"
        if s.conversion is not None and s.stage not in terminal
        else f"{s.entered:,} deals"
        for s in stages
    ]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=[s.entered for s in stages],
            text=text,
            textinfo="text",
            marker={
                "color": [BRAND, "#2563eb", "#3b82f6", "#60a5fa", "#93c5fd", GOOD][: len(stages)]
                + [GOOD] * max(0, len(stages) - 6)
            },
            customdata=[drill(s.stage) for s in stages],
            hovertemplate="%{y}: %{x:,} deals entered<extra></extra>",
            connector={"fillcolor": "#eef2f7", "line": {"color": "#e5e7eb", "width": 1}},
        )
    )
    fig.update_layout(_layout())
    return fig


WATERFALL_LABELS = {
    "starting": "Start",
    "new": "New",
    "increased": "Increased",
    "decreased": "Decreased",
    "pulled_in": "Pulled in",
    "pushed_out": "Pushed out",
    "won": "Won",
    "lost": "Lost",
    "ending": "End",
}
_OUTFLOWS = {"decreased", "pushed_out", "won", "lost"}


def waterfall(moves: Waterfall, drill: Any) -> go.Figure:
    """Start → flows → end; won leaves the open pipeline, so it is drawn as an outflow."""
    measures, values, labels, links = [], [], [], []
    for step in moves.steps:
        labels.append(WATERFALL_LABELS.get(step.label, step.label))
        links.append(drill(step.label))
        if step.label == "starting":
            measures.append("absolute")
            values.append(float(step.amount))
        elif step.label == "ending":
            measures.append("total")
            values.append(0.0)
        else:
            measures.append("relative")
            values.append(-float(step.amount) if step.label in _OUTFLOWS else float(step.amount))
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            customdata=links,
            increasing={"marker": {"color": GOOD}},
            decreasing={"marker": {"color": BAD}},
            totals={"marker": {"color": BRAND}},
            connector={"line": {"color": "#cbd5e1", "width": 1}},
            hovertemplate="%{x}: $%{y:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        _layout(yaxis={"tickprefix": "$", "tickformat": "~s", "gridcolor": "#eef0f3"})
    )
    return fig


def _short(value: Any) -> str:
    if value is None:
        return ""
    amount = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(amount) >= limit:
            return f"${amount / limit:.1f}{suffix}"
    return f"${amount:,.0f}"
