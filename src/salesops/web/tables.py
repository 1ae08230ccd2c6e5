"""The exportable tables of the dashboard's own pages: for each, the rows of the page context
the template draws and the columns of its CSV (raw figures: amounts unrounded, ratios as
fractions). Charts need no declaration (`salesops.web.export.chart_table`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from salesops.web.charts import WATERFALL_LABELS
from salesops.web.export import table

LEADERS = (
    ("rep", "owner"),
    ("bookings", "bookings"),
    ("quota", "quota"),
    ("attainment", "attainment"),
    ("win_rate", "win_rate"),
    ("deals_won", "deals_won"),
    ("open_pipeline", "pipeline"),
)
STALLED_DEALS = (
    ("id", "id"),
    ("deal", "name"),
    ("stage", "stage"),
    ("amount", lambda d: d.get("amount_rc") or d.get("amount")),
    ("close_date", "close_date"),
)


def _opportunities(key: str) -> Any:
    """Rows of a list of opportunities, with the owner's and account's names the page shows."""

    def rows(context: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
        page = context[key]
        owners = context.get("owners") or {}
        accounts = context.get("accounts") or {}
        for opp in getattr(page, "items", page):
            yield {
                "opp": opp,
                "owner": owners.get(opp.owner_id),
                "account": accounts.get(opp.account_id),
            }

    return rows


OPPORTUNITY = (
    ("id", "opp.id"),
    ("deal", "opp.name"),
    ("account", "account"),
    ("owner", "owner"),
    ("stage", "opp.stage.name"),
    ("amount", "opp.amount"),
    ("currency", "opp.currency"),
    ("close_date", "opp.close_date"),
    ("forecast_category", "opp.forecast_category"),
    ("closed_at", "opp.closed_at"),
)

for page in ("overview.html", "leaderboard.html"):
    table(page, "leaders", LEADERS)
table(
    "overview.html",
    "stalled_biggest",
    STALLED_DEALS,
    rows=lambda c: c["health"]["stalled_biggest"][:5],
)
table("health.html", "stalled_biggest", STALLED_DEALS, rows="health.stalled_biggest")
table(
    "health.html",
    "stalled_by_owner",
    (("owner", "dimensions.owner"), ("stalled_deals", "value")),
)
table(
    "pipeline.html",
    "waterfall",
    (
        ("step", lambda s: WATERFALL_LABELS.get(s.label, s.label)),
        ("amount", "amount"),
        ("deals", "deals"),
    ),
    rows=lambda c: c["waterfall"].steps if c.get("waterfall") else (),
)


def _funnel(context: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Won and lost stages have no "advanced" or drop-off: blank, as on the page."""
    for s in context["stages"]:
        end = s.stage in context["terminal"]
        yield {
            "stage": s.stage,
            "entered": s.entered,
            "advanced": None if end else s.advanced,
            "conversion": None if end else s.conversion,
            "dropped": None if end else s.dropped,
            "drop_off": None if end else s.drop_off,
            "win_rate": s.win_rate,
        }


table(
    "funnel.html",
    "stages",
    [(k, k) for k in ("stage", "entered", "advanced", "conversion", "dropped", "drop_off")]
    + [("won", "win_rate")],
    rows=_funnel,
)
table("deals.html", "deals", OPPORTUNITY, rows=_opportunities("all_deals"))
table("rep.html", "open_deals", OPPORTUNITY, rows=_opportunities("open_deals"))
table("rep.html", "won_deals", OPPORTUNITY, rows=_opportunities("won_deals"))
table("account.html", "opps", OPPORTUNITY, rows=_opportunities("opps"))


def _audit(context: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    users = context["users"]
    for e in context["entries"]:
        changes = json.dumps(e.changes, default=str, sort_keys=True)
        yield {"e": e, "who": users.get(e.user_id, "system"), "changes": changes}


table(
    "audit.html",
    "entries",
    (
        ("at", "e.at"),
        ("who", "who"),
        ("action", "e.action"),
        ("entity", "e.entity"),
        ("entity_id", "e.entity_id"),
        ("changes", "changes"),
    ),
    rows=_audit,
)
table(
    "users.html",
    "users",
    (
        ("username", "username"),
        ("full_name", "full_name"),
        ("role", "role"),
        ("active", "is_active"),
        ("password_set", lambda u: bool(u.password_hash)),
        ("created_at", "created_at"),
    ),
)
