"""Plotly specs for the insight pages (retention, competitors, lead conversion, ramp).

Built like `salesops.web.charts`: Python builds the figure, each point carries its drill-down
URL in `customdata`, the browser only draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from salesops.web.charts import BRAND, GOOD, SOFT, _layout

# Distinct, colour-blind-friendly line colours (Okabe-Ito, without yellow on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#999999")
# Cohorts read oldest (dark) to newest (light green), so a cohort's place in time shows in its
# colour; viridis stopped before its pale yellow end, which would not read on white.
COHORT_COLORS = (
    "#440154",
    "#472c7a",
    "#3b518b",
    "#2c718e",
    "#21908d",
    "#27ad81",
    "#5cc863",
    "#aadc32",
)
FORMATS = {
    "ratio": {"tickformat": ".0%", "hover": "%{y:.1%}"},
    "money": {"tickformat": "$~s", "hover": "$%{y:,.0f}"},
    "count": {"tickformat": ",d", "hover": "%{y:,}"},
}


@dataclass(frozen=True)
class Line:
    """One series: its points (x label, y value or None, drill URL, extra hover text)."""

    name: str
    x: list[str] = field(default_factory=list)
    y: list[Any] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def lines(
    series: Sequence[Line],
    *,
    unit: str = "ratio",
    colors: Sequence[str] = PALETTE,
    x_title: str | None = None,
    reference: float | None = None,
) -> go.Figure:
    """Lines with markers, one per series; a gap where a point has no value."""
    fmt = FORMATS.get(unit, FORMATS["count"])
    fig = go.Figure()
    for i, s in enumerate(series):
        fig.add_scatter(
            x=s.x,
            y=[None if v is None else float(v) for v in s.y],
            name=s.name,
            mode="lines+markers",
            line={"color": colors[i % len(colors)], "width": 2.5},
            marker={"size": 7},
            customdata=s.links,
            text=s.notes or None,
            hovertemplate=f"<b>{s.name}</b><br>%{{x}}: {fmt['hover']}"
            + ("<br>%{text}" if s.notes else "")
            + "<extra></extra>",
            connectgaps=False,
        )
    if reference is not None:
        fig.add_hline(y=reference, line={"color": "#9ca3af", "dash": "dot", "width": 1})
    fig.update_layout(
        _layout(
            showlegend=True,
            legend={"orientation": "h", "y": -0.18, "x": 0},
            yaxis={"tickformat": fmt["tickformat"], "gridcolor": "#eef0f3", "automargin": True},
            xaxis={
                "type": "category",
                "gridcolor": "#eef0f3",
                "automargin": True,
                **({"title": {"text": x_title, "font": {"size": 11}}} if x_title else {}),
            },
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            hovermode="closest",
        )
    )
    return fig


def grouped_bars(
    labels: Sequence[str], groups: Sequence[tuple[str, Sequence[Any], Sequence[str]]]
) -> go.Figure:
    """Bars per label, one colour per group (name, values, drill URLs), values printed."""
    colors = (SOFT, BRAND, GOOD)
    fig = go.Figure()
    for i, (name, values, links) in enumerate(groups):
        fig.add_bar(
            x=list(labels),
            y=[v or 0 for v in values],
            name=name,
            marker_color=colors[i % len(colors)],
            customdata=list(links),
            text=[f"{int(v or 0):,}" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{x}}<br>{name}: %{{y:,}}<extra></extra>",
        )
    fig.update_layout(
        _layout(
            showlegend=True,
            barmode="group",
            bargap=0.25,
            legend={"orientation": "h", "y": 1.16, "x": 0},
            yaxis={"gridcolor": "#eef0f3", "tickformat": ",d", "automargin": True},
            xaxis={"tickangle": 0, "automargin": True},
            margin={"l": 10, "r": 10, "t": 48, "b": 10},
        )
    )
    return fig
