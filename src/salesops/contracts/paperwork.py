"""Contract documents: the contract's data as template variables, rendered and stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import documents
from salesops.audit import service as audit
from salesops.contracts import lifecycle as core
from salesops.contracts.service import lines_of, record_event
from salesops.models import (
    Account,
    Contact,
    Contract,
    Document,
    DocumentTemplate,
    Opportunity,
    Product,
    User,
)

# What a contract template may use; anything else is refused when the template is saved.
VARIABLES = frozenset(
    {"contract", "account", "contact", "opportunity", "lines", "amendments", "seller", "today"}
)
DEFAULT_TEMPLATE = "contract-standard"
TEMPLATE_DIR = Path(__file__).with_name("templates")


def save_template(session: Session, name: str, body: str, *, by: User | None) -> DocumentTemplate:
    """Store a contract template (a new version when its body changed)."""
    return documents.register_template(session, name, body, variables=VARIABLES, by=by)


def template_for(session: Session, contract: Contract) -> DocumentTemplate:
    """The newest version of the contract's template, the packaged one when it has none."""
    name = contract.template or DEFAULT_TEMPLATE
    if name == DEFAULT_TEMPLATE:
        body = (TEMPLATE_DIR / f"{DEFAULT_TEMPLATE}.html").read_text(encoding="utf-8")
        return save_template(session, DEFAULT_TEMPLATE, body, by=None)
    return documents.latest_template(session, name)


def _pct(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f} %"


def context(session: Session, contract: Contract, *, today: date) -> dict[str, Any]:
    """The template variables of a contract, as plain values."""
    account = session.get(Account, contract.account_id)
    assert account is not None
    contact = session.scalars(
        select(Contact).where(Contact.account_id == account.id).order_by(Contact.id).limit(1)
    ).first()
    opp = session.get(Opportunity, contract.opportunity_id) if contract.opportunity_id else None
    lines = []
    for line in lines_of(session, contract):
        if not line.start_date <= max(today, contract.start_date) <= line.end_date:
            continue
        product = session.get(Product, line.product_id) if line.product_id else None
        lines.append(
            {
                "product": product.name if product else line.description,
                "description": line.description,
                "quantity": line.quantity,
                "list_price": f"{line.list_price:,.2f}",
                "discount": line.discount,
                "discount_pct": _pct(line.discount),
                "net": f"{core.line_net(line.quantity, line.list_price, line.discount):,.2f}",
                "start_date": line.start_date,
                "end_date": line.end_date,
            }
        )
    return {
        "seller": "salesops customer",
        "today": today,
        "contract": {
            "id": contract.id,
            "status": contract.status,
            "start_date": contract.start_date,
            "end_date": contract.end_date,
            "term_months": contract.term_months,
            "value": f"{contract.value:,.2f}",
            "currency": contract.currency,
            "auto_renew": contract.auto_renew,
            "notice_days": contract.notice_days,
            "notice_date": core.notice_date(contract.end_date, contract.notice_days),
            "price_increase_cap": _pct(contract.price_increase_cap)
            if contract.price_increase_cap is not None
            else None,
            "special_terms": contract.special_terms,
        },
        "account": {
            "name": account.name,
            "industry": account.industry,
            "country": account.country,
            "segment": account.segment,
        },
        "contact": {
            "name": f"{contact.first_name or ''} {contact.last_name or ''}".strip(),
            "email": contact.email,
            "title": contact.title,
        }
        if contact
        else None,
        "opportunity": {"name": opp.name, "amount": f"{opp.amount:,.2f}"} if opp else None,
        "lines": lines,
        "amendments": [],
    }


def generate(
    session: Session, contract: Contract, *, by: User | None, today: date
) -> list[Document]:
    """Render the contract to HTML and PDF and store both with the template's version."""
    template = template_for(session, contract)
    docs = documents.generate(
        session,
        template,
        context(session, contract, today=today),
        entity="contract",
        entity_id=contract.id,
        filename=f"contract-{contract.id}-{template.name}-v{template.version}",
        by=by,
    )
    note = f"{template.name} v{template.version}: " + ", ".join(
        f"{d.format} {d.sha256[:12]}" for d in docs
    )
    record_event(session, contract, "document", by=by, note=note)
    audit.record(
        session,
        user_id=by.id if by else None,
        action="document",
        entity="contract",
        entity_id=contract.id,
        changes={
            "documents": [d.id for d in docs],
            "template": template.name,
            "version": template.version,
        },
    )
    return docs
