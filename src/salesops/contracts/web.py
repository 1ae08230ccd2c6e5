"""Dashboard pages for contracts: the list, a contract (lines, amendments, documents,
history, lifecycle buttons), the approvals inbox, the renewals calendar and pipeline, and
the user's notifications. Every page reads through the same scoped services as the API."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import documents, outbox
from salesops.config import get_settings
from salesops.contracts import amendments, paperwork, renewals, service
from salesops.contracts import lifecycle as core
from salesops.contracts.rules import load_rules
from salesops.db.types import utc_now
from salesops.errors import NotFound
from salesops.models import Account, ContractStatus
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import add_template_dir, templates

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).resolve().parent / "templates")
register(NavItem("Contracts", "/contracts", "file", 70))
register(NavItem("Approvals", "/approvals", "check", 71))
register(NavItem("Renewals", "/renewals", "calendar", 72))
register(NavItem("Inbox", "/inbox", "bell", 73))

# What the lifecycle buttons say.
ACTIONS = {
    ContractStatus.IN_REVIEW: "Submit for review",
    ContractStatus.APPROVED: "Approve",
    ContractStatus.SENT: "Mark sent",
    ContractStatus.ACTIVE: "Mark signed",
    ContractStatus.DRAFT: "Back to draft",
    ContractStatus.TERMINATED: "Terminate",
}


def _render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    return templates.TemplateResponse(request, template, context, status_code=status)


def _names(session: Session, account_ids: set[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    rows = session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids)))
    return {int(i): str(n) for i, n in rows}


@router.get("/contracts")
def contract_list(
    request: Request,
    session: SessionDep,
    who: WebUser,
    status: str | None = None,
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    rows, total = service.list_contracts(
        session, scope=who.scope, status=status or None, limit=100, offset=(page - 1) * 100
    )
    context = page_context(request, session, who) | {
        "contracts": rows,
        "total": total,
        "status": status or "",
        "page": page,
        "statuses": list(core.TRANSITIONS),
        "accounts": _names(session, {c.account_id for c in rows}),
        "notice": {c.id: core.notice_date(c.end_date, c.notice_days) for c in rows},
    }
    return _render(request, "contracts.html", context)


def _detail(
    request: Request,
    session: Session,
    who: Any,
    contract_id: int,
    message: str | None = None,
    status: int = 200,
) -> Response:
    contract = service.get_visible(session, contract_id, scope=who.scope)
    needs = service.requirements(session, contract)
    moves = sorted(core.TRANSITIONS.get(contract.status, ()))
    context = page_context(request, session, who) | {
        "contract": contract,
        "account": session.get(Account, contract.account_id),
        "lines": service.lines_of(session, contract),
        "amendments": amendments.amendments_of(session, contract),
        "documents": documents.documents_for(session, "contract", contract.id),
        "history": service.history(session, contract),
        "needs": needs,
        "approver": core.approver_role(needs).value,
        "moves": [
            (m, ACTIONS.get(ContractStatus(m), m.replace("_", " ").title()))
            for m in moves
            if m not in (ContractStatus.RENEWAL_DUE, ContractStatus.RENEWED, ContractStatus.EXPIRED)
        ],
        "notice_date": core.notice_date(contract.end_date, contract.notice_days),
        "can_write": forms.allowed(lambda: who.scope.require_record_write()),
        "message": message,
        "net": core.line_net,
        "churn_reasons": load_rules().churn_reasons,
    }
    return _render(request, "contract.html", context, status)


@router.get("/contracts/{contract_id}")
def contract_page(
    contract_id: int, request: Request, session: SessionDep, who: WebUser
) -> Response:
    return _detail(request, session, who, contract_id)


@router.post("/contracts/{contract_id}/move")
async def move(
    contract_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    data = await forms.read(request)
    contract = service.get_visible(session, contract_id, scope=who.scope)
    state = forms.FormState()
    forms.attempt(
        session,
        state,
        lambda: service.transition(
            session,
            contract,
            data.get("status", ""),
            scope=who.scope,
            by=who.user,
            note=data.get("note") or None,
            reason=data.get("reason") or None,
        ),
    )
    if state.ok:
        return forms.done(f"/contracts/{contract_id}")
    return _detail(request, session, who, contract_id, state.message, state.status)


@router.post("/contracts/{contract_id}/documents")
async def generate(
    contract_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    contract = service.get_visible(session, contract_id, scope=who.scope)
    state = forms.FormState()

    def make() -> object:
        who.scope.require_record_write("generate contract documents")
        return paperwork.generate(session, contract, by=who.user, today=utc_now().date())

    forms.attempt(session, state, make)
    if state.ok:
        return forms.done(f"/contracts/{contract_id}#documents")
    return _detail(request, session, who, contract_id, state.message, state.status)


@router.get("/contracts/{contract_id}/documents/{document_id}")
def download(contract_id: int, document_id: int, session: SessionDep, who: WebUser) -> Response:
    contract = service.get_visible(session, contract_id, scope=who.scope)
    document = documents.get_document(session, document_id)
    if document.entity != "contract" or document.entity_id != contract.id:
        raise NotFound(f"document {document_id} does not exist")
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "X-Checksum-SHA256": document.sha256,
        },
    )


@router.get("/approvals")
def approvals_inbox(request: Request, session: SessionDep, who: WebUser) -> Response:
    queue = service.review_queue(session, scope=who.scope)
    context = page_context(request, session, who) | {
        "queue": queue,
        "accounts": _names(session, {c.account_id for c, _, _ in queue}),
    }
    return _render(request, "contract_approvals.html", context)


@router.get("/renewals")
def renewals_page(
    request: Request,
    session: SessionDep,
    who: WebUser,
    start: str | None = None,
    end: str | None = None,
    team: int | None = Query(None, ge=1, le=2**31 - 1),
) -> Response:
    today = utc_now().date()
    try:
        first = date.fromisoformat(start) if start else today.replace(day=1)
        last = date.fromisoformat(end) if end else first + timedelta(days=365)
    except ValueError:
        first, last = today.replace(day=1), today.replace(day=1) + timedelta(days=365)
    last = min(max(last, first), first + timedelta(days=3660))
    rows = renewals.renewals(
        session,
        scope=who.scope,
        start=first,
        end=last,
        today=today,
        alert_days=get_settings().notice_alert_days,
        team_id=team,
    )
    context = page_context(request, session, who) | {
        "rows": rows,
        "start": first,
        "end": last,
        "team": team,
        "buckets": renewals.PIPELINE_BUCKETS,
        "months": sorted(renewals.pipeline_by_month(rows).items()),
        "accounts": _names(session, {r.contract.account_id for r in rows}),
    }
    return _render(request, "renewals.html", context)


@router.get("/inbox")
def inbox_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    context = page_context(request, session, who) | {"items": outbox.inbox(session, who.user)}
    return _render(request, "inbox.html", context)


@router.post("/inbox/{item_id}/read")
async def mark_read(item_id: int, session: SessionDep, who: forms.FormUser) -> Response:
    outbox.mark_read(session, who.user, item_id)
    return forms.done("/inbox")
