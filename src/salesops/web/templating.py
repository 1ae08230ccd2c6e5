"""The Jinja2 environment of the dashboard: templates in the package, formatting filters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader
from markupsafe import Markup

from salesops.web.nav import NAV, active_href

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
_search_path: list[str] = [str(TEMPLATES_DIR)]


def add_template_dir(directory: Path) -> None:
    """Let another package's pages use their own templates (which may extend ours)."""
    if str(directory) not in _search_path:
        _search_path.append(str(directory))
        templates.env.loader = FileSystemLoader(_search_path)


def money(value: Any, compact: bool = True) -> str:
    """$1.2M, $350K, $900 (compact) or $1,234,567 (full)."""
    if value is None:
        return "–"
    amount = float(value)
    if not compact:
        return f"${amount:,.0f}"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(amount) >= limit:
            return f"${amount / limit:,.1f}{suffix}"
    return f"${amount:,.0f}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.256 -> 25.6%."""
    if value is None:
        return "–"
    return f"{float(value) * 100:.{digits}f}%"


def number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, int | Decimal) and digits == 0:
        return f"{int(value):,}"
    return f"{float(value):,.{digits}f}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    return value.strftime("%d %b %Y")


def moment(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.strftime("%d %b %Y %H:%M UTC")


def json_script(value: str, element_id: str) -> Markup:
    """Embed JSON for the page's scripts without letting it close the script element."""
    safe = value.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="{element_id}">{safe}</script>')


templates.env.filters.update(money=money, pct=pct, number=number, day=day, moment=moment)
templates.env.globals.update(NAV=NAV, active_href=active_href, json_script=json_script)
