"""Comp statements as documents (HTML and PDF) through the shared `documents` package.

The template is stored as a versioned document template ("comp_statement"); each generated
statement is stored with the template version and its SHA-256, under entity
"comp_statement" and the rep's id, so a rep's past statements can be listed and verified.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from salesops import documents
from salesops.compensation import service
from salesops.compensation.engine import Period
from salesops.models import Rep

TEMPLATE_NAME = "comp_statement"
VARIABLES = ("rep", "period", "run_id", "status", "checksum", "currency", "total", "lines")
TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Statement {{ rep }} {{ period }}</title>
<style>
body { font-family: sans-serif; font-size: 10pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: 3px 5px; text-align: left; }
td.num { text-align: right; }
</style></head>
<body>
<h1>Commission statement: {{ rep }}</h1>
<p>Period {{ period }}; run {{ run_id }} ({{ status }}); inputs SHA-256 {{ checksum }}</p>
<table>
<thead><tr><th>Plan</th><th>Rule</th><th>Kind</th><th>Tier</th><th>Rate</th>
<th>Credited</th><th>Amount</th><th>Deals (id: credited)</th><th>Note</th></tr></thead>
<tbody>
{% for l in lines %}<tr><td>{{ l.plan }}</td><td>{{ l.rule }}</td><td>{{ l.kind }}</td>
<td>{{ l.tier }}</td><td class="num">{{ l.rate }}</td><td class="num">{{ l.credited }}</td>
<td class="num">{{ l.amount }}</td><td>{{ l.deals }}</td><td>{{ l.note }}</td></tr>
{% endfor %}</tbody>
<tfoot><tr><th colspan="6">Total</th><th class="num">{{ total }} {{ currency }}</th>
<th colspan="2"></th></tr></tfoot>
</table>
</body></html>
"""


def generate(
    session: Session, rep: Rep, period: Period, formats: tuple[str, ...] = ("html", "pdf")
) -> list[Any]:
    """Render and store `rep`'s statement for `period` (one document per format)."""
    run, lines = service.statement(session, rep.id, period)
    rows = service.statement_rows(lines)
    keys = service.STATEMENT_COLUMNS
    context = {
        "rep": rep.name, "period": service.period_text(period), "run_id": run.id,
        "status": run.status, "checksum": run.input_checksum, "currency": run.currency,
        "total": f"{sum((x.amount for x in lines), Decimal(0)):,.2f}",
        "lines": [dict(zip(keys, row, strict=True)) for row in rows],
    }  # fmt: skip
    template = documents.register_template(session, TEMPLATE_NAME, TEMPLATE, variables=VARIABLES)
    stem = f"statement-{rep.id}-{service.period_text(period)}-run{run.id}"
    return documents.generate(
        session, template, context, entity="comp_statement", entity_id=rep.id,
        filename=stem, formats=formats,
    )  # fmt: skip
