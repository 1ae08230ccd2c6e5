"""The exportable tables of the insight pages (`salesops.web.export`): the rows each page draws,
with raw figures (ratios as fractions, amounts unrounded). Their charts need no declaration.

Tables whose columns depend on the filters (the competitors' quarters) are written long: one
row per competitor and quarter, so the columns of the CSV never change under a filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from salesops.web.export import table
from salesops.web.insight_figures import MONTHS_AFTER, TENURE_MONTHS


def _cell(index: int, key: str = "value") -> Any:
    return lambda row: row["cells"][index][key]


table(
    "insights/retention.html",
    "trend",
    (
        ("quarter", "label"),
        ("accounts", "churn.denominator"),
        ("churned", "churn.numerator"),
        ("churn_rate", "churn.value"),
        ("gross_revenue_retention", "grr.value"),
        ("net_revenue_retention", "nrr.value"),
    ),
)
table(
    "insights/retention.html",
    "cohorts",
    (
        ("cohort", "label"),
        ("accounts", "accounts"),
        ("value_at_start", "start_value"),
        *((f"nrr_month_{m}", _cell(i)) for i, m in enumerate(MONTHS_AFTER)),
    ),
)
table(
    "insights/competitors.html",
    "table",
    [(k, k) for k in ("competitor", "closed", "won", "lost", "win_rate", "won_value")],
)


def _matrix(context: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for m in context["matrix"]:
        for quarter, cell in zip(context["quarters"], m["cells"], strict=True):
            yield {"competitor": m["competitor"], "quarter": quarter} | cell


table(
    "insights/competitors.html",
    "matrix",
    (
        ("competitor", "competitor"),
        ("quarter", "quarter"),
        ("closed", "denominator"),
        ("won", "numerator"),
        ("win_rate", "value"),
    ),
    rows=_matrix,
)
table(
    "insights/leads.html",
    "table",
    [
        (k, k)
        for k in ("source", "leads", "converted", "conversion", "won", "sale_rate", "bookings")
    ],
)
table(
    "insights/ramp.html",
    "cohorts",
    (
        ("hired", "label"),
        ("reps", "reps"),
        ("ramp_months", "ramp_months"),
        ("ramped", "ramped"),
        *((f"bookings_per_rep_month_{k}", _cell(i)) for i, k in enumerate(TENURE_MONTHS)),
    ),
)
table(
    "insights/account_list.html",
    "accounts",
    (
        ("account_id", "account_id"),
        ("account", "name"),
        ("value_at_start", "start_value"),
        ("value_at_end", "end_value"),
        ("status", "status"),
    ),
)


def _leads(context: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    facts, deals, owners = context["facts"], context["deals"], context["owners"]
    for lead in context["leads"]:
        fact, deal = facts[lead.id], deals.get(lead.converted_opportunity_id)
        yield {
            "lead": lead,
            "name": " ".join(n for n in (lead.first_name, lead.last_name) if n),
            "owner": owners.get(lead.owner_id) if lead.owner_id else None,
            "deal": deal.name if deal else None,
            "converted": bool(fact.get("is_converted")),
            "won_value": fact.get("won_amount_rc") if fact.get("is_won") else None,
        }


table(
    "insights/lead_list.html",
    "leads",
    (
        ("lead_id", "lead.id"),
        ("lead", "name"),
        ("company", "lead.company"),
        ("source", "lead.source"),
        ("owner", "owner"),
        ("created_at", "lead.created_at"),
        ("status", "lead.status"),
        ("converted", "converted"),
        ("converted_into", "deal"),
        ("won_value", "won_value"),
    ),
    rows=_leads,
)
