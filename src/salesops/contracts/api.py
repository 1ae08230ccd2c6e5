"""REST endpoints of contracts: lifecycle, lines, amendments, documents, approvals,
renewals and the caller's inbox. Listing, reading and editing drafts is the generic
/contracts CRUD (crm/api.py), which refuses to edit anything but a draft."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from salesops import documents, outbox
from salesops.api.crud import ERRORS, IfMatch
from salesops.api.deps import CurrentUser, SessionDep
from salesops.config import get_settings
from salesops.contracts import amendments, paperwork, renewals, service
from salesops.contracts import lifecycle as core
from salesops.contracts.schemas import (
    AmendmentIn,
    AmendmentOut,
    ApprovalItem,
    ContractDetail,
    ContractOut,
    DocumentOut,
    DraftIn,
    EventOut,
    InboxOut,
    LineOut,
    LinesIn,
    RenewalRow,
    RenewalRunIn,
    RenewalRunOut,
    RequirementOut,
    TemplateIn,
    TemplateOut,
    TransitionIn,
)
from salesops.contracts.service import LineInput
from salesops.crm import versioning
from salesops.db.limits import DATE_MAX, DATE_MIN
from salesops.db.types import utc_now
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import Contract, DocumentTemplate

router = APIRouter(prefix="/contracts", tags=["contracts"], responses=ERRORS)
extra = APIRouter(tags=["contracts"], responses=ERRORS)


def _lines(body: list) -> list[LineInput]:  # type: ignore[type-arg]
    return [
        LineInput(ln.quantity, ln.list_price, ln.discount, ln.product_id, ln.description)
        for ln in body
    ]


def detail(session: SessionDep, contract: Contract) -> ContractDetail:
    """Everything the contract page and the API show about one contract."""
    needs = service.requirements(session, contract)
    return ContractDetail(
        contract=ContractOut.model_validate(contract),
        notice_date=core.notice_date(contract.end_date, contract.notice_days),
        lines=[LineOut.model_validate(x) for x in service.lines_of(session, contract)],
        amendments=[
            AmendmentOut.model_validate(x) for x in amendments.amendments_of(session, contract)
        ],
        history=[EventOut.model_validate(e) for e in service.history(session, contract)],
        documents=[
            DocumentOut.model_validate(d)
            for d in documents.documents_for(session, "contract", contract.id)
        ],
        approvals_needed=[RequirementOut(rule=r.rule, approver=r.approver.value) for r in needs],
        allowed_transitions=sorted(core.TRANSITIONS.get(contract.status, ())),
    )


@router.post(
    "/drafts",
    response_model=ContractOut,
    status_code=201,
    summary="Create a draft contract with its line items",
)
def create_draft(body: DraftIn, session: SessionDep, who: CurrentUser) -> Contract:
    fields = body.model_dump(exclude={"account_id", "start_date", "term_months", "lines", "value"})
    return service.create_contract(
        session,
        scope=who.scope,
        by=who.user,
        account_id=body.account_id,
        start_date=body.start_date,
        term_months=body.term_months,
        lines=_lines(body.lines),
        value=body.value,
        **fields,
    )


@router.get(
    "/{contract_id}/detail",
    response_model=ContractDetail,
    summary="A contract with its lines, amendments, history, documents and approvals",
)
def get_detail(contract_id: int, session: SessionDep, who: CurrentUser) -> ContractDetail:
    return detail(session, service.get_visible(session, contract_id, scope=who.scope))


@router.post(
    "/{contract_id}/transitions",
    response_model=ContractOut,
    summary="Move a contract through its lifecycle (submit, approve, reject, send, sign...)",
)
def transition(
    contract_id: int,
    body: TransitionIn,
    session: SessionDep,
    who: CurrentUser,
    if_match: str | None = IfMatch,
) -> Contract:
    contract = service.get_visible(session, contract_id, scope=who.scope)
    versioning.check(
        contract, "contract", versioning.from_body(body.version), versioning.from_if_match(if_match)
    )
    return service.transition(
        session,
        contract,
        body.status,
        scope=who.scope,
        by=who.user,
        note=body.note,
        reason=body.reason,
    )


@router.put(
    "/{contract_id}/lines", response_model=list[LineOut], summary="Replace a draft's line items"
)
def put_lines(contract_id: int, body: LinesIn, session: SessionDep, who: CurrentUser) -> list:  # type: ignore[type-arg]
    contract = service.get_visible(session, contract_id, scope=who.scope)
    return service.set_lines(session, contract, _lines(body.lines), scope=who.scope, by=who.user)


@router.post(
    "/{contract_id}/amendments",
    response_model=AmendmentOut,
    status_code=201,
    summary="Amend a signed contract (upsell, downsell, co-termination), prorated",
)
def amend(contract_id: int, body: AmendmentIn, session: SessionDep, who: CurrentUser) -> object:
    contract = service.get_visible(session, contract_id, scope=who.scope)
    return amendments.amend(
        session,
        contract,
        kind=body.kind,
        effective_date=body.effective_date,
        scope=who.scope,
        by=who.user,
        add=_lines(body.add),
        reduce=[(r.line_id, r.quantity) for r in body.reduce],
        from_contract_id=body.from_contract_id,
        note=body.note,
    )


@router.post(
    "/{contract_id}/documents",
    response_model=list[DocumentOut],
    status_code=201,
    summary="Render the contract's template to HTML and PDF and store both",
)
def generate(contract_id: int, session: SessionDep, who: CurrentUser) -> list:  # type: ignore[type-arg]
    contract = service.get_visible(session, contract_id, scope=who.scope)
    who.scope.require_record_write("generate contract documents")
    return paperwork.generate(session, contract, by=who.user, today=utc_now().date())


@router.get(
    "/{contract_id}/documents/{document_id}",
    response_class=Response,
    summary="Download a stored document, byte for byte as generated",
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def download(contract_id: int, document_id: int, session: SessionDep, who: CurrentUser) -> Response:
    contract = service.get_visible(session, contract_id, scope=who.scope)
    document = documents.get_document(session, document_id)
    if document.entity != "contract" or document.entity_id != contract.id:
        raise NotFound(f"document {document_id} does not exist")
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "ETag": f'"{document.sha256}"',
            "X-Checksum-SHA256": document.sha256,
        },
    )


@extra.get(
    "/contract-approvals",
    response_model=list[ApprovalItem],
    summary="Contracts in review that the caller may approve or reject",
)
def approvals(session: SessionDep, who: CurrentUser) -> list[ApprovalItem]:
    return [
        ApprovalItem(contract=ContractOut.model_validate(c), approver=role.value, rules=rules)
        for c, role, rules in service.review_queue(session, scope=who.scope)
    ]


def _window(start: date | None, end: date | None) -> tuple[date, date]:
    problems = [
        Problem(f"must be between {DATE_MIN} and {DATE_MAX}", name)
        for name, day in (("start", start), ("end", end))
        if day is not None and not DATE_MIN <= day <= DATE_MAX
    ]
    if problems:
        raise ValidationFailed("invalid window", problems)
    today = utc_now().date()
    first = start or today.replace(day=1)
    last = end or first + timedelta(days=365)
    if last < first:
        raise ValidationFailed("invalid window", [Problem("must not be before start", "end")])
    if (last - first).days > 3660:
        raise ValidationFailed("invalid window", [Problem("at most ten years", "end")])
    return first, last


@extra.get(
    "/renewals",
    response_model=list[RenewalRow],
    summary="Renewals calendar: visible contracts ending in a window, with their bucket",
)
def renewal_calendar(
    session: SessionDep,
    who: CurrentUser,
    start: date | None = None,
    end: date | None = None,
    team_id: int | None = Query(None, ge=1, le=2**31 - 1),
) -> list[RenewalRow]:
    first, last = _window(start, end)
    rows = renewals.renewals(
        session,
        scope=who.scope,
        start=first,
        end=last,
        today=utc_now().date(),
        alert_days=get_settings().notice_alert_days,
        team_id=team_id,
    )
    return [
        RenewalRow(
            contract_id=r.contract.id,
            account_id=r.contract.account_id,
            status=r.contract.status,
            end_date=r.contract.end_date,
            notice_date=r.notice_date,
            value=r.contract.value,
            currency=r.contract.currency,
            bucket=r.bucket,
            owner_id=r.owner.id if r.owner else None,
            renewal_opportunity_id=r.contract.renewal_opportunity_id,
        )
        for r in rows
    ]


@extra.get(
    "/renewals/pipeline",
    response_model=dict[str, dict[str, int]],
    summary="Renewals pipeline: contracts per month of end date and bucket",
)
def renewal_pipeline(
    session: SessionDep,
    who: CurrentUser,
    start: date | None = None,
    end: date | None = None,
    team_id: int | None = Query(None, ge=1, le=2**31 - 1),
) -> dict[str, dict[str, int]]:
    first, last = _window(start, end)
    rows = renewals.renewals(
        session,
        scope=who.scope,
        start=first,
        end=last,
        today=utc_now().date(),
        alert_days=get_settings().notice_alert_days,
        team_id=team_id,
    )
    return {
        month: {b: counts.get(b, 0) for b in renewals.PIPELINE_BUCKETS}
        for month, counts in sorted(renewals.pipeline_by_month(rows).items())
    }


@extra.post(
    "/renewals/run",
    response_model=RenewalRunOut,
    summary="Run the renewals pass now (raise renewals, alerts, auto-renew, expire)",
)
def run_renewals(body: RenewalRunIn, session: SessionDep, who: CurrentUser) -> RenewalRunOut:
    who.scope.require_planning("run renewals")
    settings = get_settings()
    report = renewals.run_renewals(
        session,
        today=body.today or utc_now().date(),
        lead_days=settings.renewal_lead_days,
        alert_days=settings.notice_alert_days,
    )
    return RenewalRunOut(
        raised=report.raised,
        alerted=report.alerted,
        renewed=report.renewed,
        expired=report.expired,
        skipped=report.skipped,
    )


@extra.get("/inbox", response_model=list[InboxOut], summary="The caller's notifications")
def get_inbox(session: SessionDep, who: CurrentUser, unread: bool = False) -> list:  # type: ignore[type-arg]
    return outbox.inbox(session, who.user, unread_only=unread)


@extra.post("/inbox/{item_id}/read", response_model=InboxOut, summary="Mark a notification read")
def read_item(item_id: int, session: SessionDep, who: CurrentUser) -> object:
    return outbox.mark_read(session, who.user, item_id)


@extra.get(
    "/document-templates",
    response_model=list[TemplateOut],
    summary="Every version of every document template",
)
def list_templates(session: SessionDep, who: CurrentUser) -> list:  # type: ignore[type-arg]
    return list(
        session.scalars(
            select(DocumentTemplate).order_by(DocumentTemplate.name, DocumentTemplate.version)
        )
    )


@extra.post(
    "/document-templates",
    response_model=TemplateOut,
    status_code=201,
    summary="Save a contract template (a new version when its body changed)",
)
def save_template(body: TemplateIn, session: SessionDep, who: CurrentUser) -> object:
    who.scope.require_planning("change document templates")
    return paperwork.save_template(session, body.name, body.body, by=who.user)
