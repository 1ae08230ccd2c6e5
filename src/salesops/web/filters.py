"""Dashboard filters (period, team, territory, segment, rep): kept in a cookie so they follow
the user from page to page, overridden by whatever the URL says."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

from salesops.calendar import add_months, quarter_label

FILTER_COOKIE = "salesops_filters"
FILTER_KEYS = ("period", "team", "territory", "segment", "rep")


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of `2025-Q3`, `2025-07` or `2025`."""
    try:
        if "-Q" in period:
            year, q = period.split("-Q")
            start = date(int(year), 3 * (int(q) - 1) + 1, 1)
            months = 3
        elif "-" in period:
            year, month = period.split("-")
            start = date(int(year), int(month), 1)
            months = 1
        else:
            start = date(int(period), 1, 1)
            months = 12
    except ValueError:
        return period_bounds(quarter_label(date.today()))
    return start, add_months(start, months) - timedelta(days=1)


def period_label(kind: str, start: date) -> str:
    """A period's name as the dashboard writes it: Q3 2026, Jul 2026 or 2026."""
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == "month":
        return start.strftime("%b %Y")
    return str(start.year)


def period_choices(today: date | None = None) -> list[tuple[str, str]]:
    """The periods offered in the filter bar: the last eight quarters and three years."""
    today = today or date.today()
    choices: list[tuple[str, str]] = []
    year, q = today.year, (today.month - 1) // 3 + 1
    for _ in range(8):
        choices.append((f"{year}-Q{q}", f"Q{q} {year}"))
        q -= 1
        if q == 0:
            year, q = year - 1, 4
    choices.extend((str(y), f"Year {y}") for y in range(today.year, today.year - 3, -1))
    return choices


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Filters:
    period: str
    team: int | None = None
    territory: int | None = None
    segment: str | None = None
    rep: int | None = None

    @property
    def start(self) -> date:
        return period_bounds(self.period)[0]

    @property
    def end(self) -> date:
        return period_bounds(self.period)[1]

    @property
    def kind(self) -> str:
        """quarter, month or year."""
        if "-Q" in self.period:
            return "quarter"
        return "month" if "-" in self.period else "year"

    @property
    def label(self) -> str:
        return period_label(self.kind, self.start)

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    def query(self, **extra: Any) -> str:
        """A query string carrying these filters plus `extra` (for links and drill-downs)."""
        params = {**self.active(), **{k: v for k, v in extra.items() if v is not None}}
        return urlencode(params)


def read_filters(request: Request) -> Filters:
    """Filters from the URL, falling back to the cookie, then to this quarter."""
    try:
        saved = json.loads(request.cookies.get(FILTER_COOKIE, "{}"))
        if not isinstance(saved, dict):
            saved = {}
    except ValueError:
        saved = {}
    params = request.query_params
    merged = {k: params[k] if k in params else saved.get(k) for k in FILTER_KEYS}
    period = str(merged["period"] or quarter_label(date.today()))
    period_bounds(period)  # validates, falling back on nonsense
    return Filters(
        period=period
        if period in dict(period_choices()) or period[:4].isdigit()
        else quarter_label(date.today()),
        team=_int(merged["team"]),
        territory=_int(merged["territory"]),
        segment=str(merged["segment"]) if merged["segment"] else None,
        rep=_int(merged["rep"]),
    )


def remember(response: Response, filters: Filters) -> None:
    """Persist the filters for the next page."""
    response.set_cookie(
        FILTER_COOKIE,
        json.dumps(filters.active()),
        max_age=60 * 60 * 24 * 90,
        httponly=True,
        samesite="lax",
    )
