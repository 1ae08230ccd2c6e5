"""`salesops contracts ...`: list, show, move through the lifecycle, amend, documents,
renewals and the approval rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import documents
from salesops.auth.scoping import Scope, scope_for, system_scope
from salesops.cli.context import console, state
from salesops.config import get_settings
from salesops.contracts import amendments, paperwork, renewals, service
from salesops.contracts import lifecycle as core
from salesops.contracts.rules import load_rules, parse_rules
from salesops.contracts.service import LineInput
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import User

contracts_app = typer.Typer(
    help="Contracts: lifecycle, amendments, documents, renewals.", no_args_is_help=True
)
AS_HELP = "act as this user (their role and scope decide; default: the operator, unrestricted)"


def _who(session: Session, username: str | None) -> tuple[Scope, User | None]:
    if username is None:
        return system_scope(), None
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user {username!r} does not exist")
    return scope_for(session, user), user


def _parse_day(text: str | None, what: str) -> date | None:
    return None if text is None else _day(text, what)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{what} must be a date like 2026-03-31 (got {text!r})") from None


def parse_line(text: str, where: str) -> LineInput:
    """`QTY,PRICE[,DISCOUNT[,PRODUCT_ID]]`, e.g. `10,1200,0.25,3`."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if not 2 <= len(parts) <= 4:
            raise ValueError
        return LineInput(
            quantity=int(parts[0]),
            list_price=Decimal(parts[1]),
            discount=Decimal(parts[2]) if len(parts) > 2 and parts[2] else Decimal(0),
            product_id=int(parts[3]) if len(parts) > 3 and parts[3] else None,
        )
    except (ValueError, InvalidOperation):
        raise ValidationFailed(
            "invalid line", [Problem(f"{text!r} is not QTY,PRICE[,DISCOUNT[,PRODUCT_ID]]", where)]
        ) from None


@contracts_app.command("list")
def list_command(
    ctx: typer.Context,
    status: str = typer.Option(None, help="only contracts in this status"),
    account: int = typer.Option(None, help="only this account's contracts"),
    limit: int = typer.Option(100, min=1, max=10_000),
) -> None:
    """Contracts, ending soonest first."""
    with state(ctx).session() as session:
        rows, total = service.list_contracts(
            session, scope=system_scope(), status=status, account_id=account, limit=limit
        )
        table = Table("id", "account", "status", "start", "end", "value", "auto-renew", "notice by")
        for c in rows:
            table.add_row(
                str(c.id),
                str(c.account_id),
                c.status,
                str(c.start_date),
                str(c.end_date),
                f"{c.value:,.2f} {c.currency}",
                "yes" if c.auto_renew else "no",
                str(core.notice_date(c.end_date, c.notice_days)),
            )
        console.print(table)
        console.print(f"{len(rows)} of {total} contracts", highlight=False)


@contracts_app.command("show")
def show(ctx: typer.Context, contract_id: int) -> None:
    """One contract: terms, lines, amendments, documents, approvals needed, history."""
    with state(ctx).session() as session:
        c = service.get_visible(session, contract_id, scope=system_scope())
        console.print(
            f"contract {c.id}: account {c.account_id}, {c.status}, {c.start_date} to {c.end_date}"
            f" ({c.term_months} months), {c.value:,.2f} {c.currency} a year, version {c.version}",
            highlight=False,
        )
        needs = service.requirements(session, c)
        console.print(
            "approval: " + "; ".join(f"{r.rule} -> {r.approver.value}" for r in needs),
            highlight=False,
        )
        lines = Table("line", "product", "qty", "list price", "discount", "from", "to")
        for ln in service.lines_of(session, c):
            lines.add_row(
                str(ln.id),
                str(ln.product_id or ln.description),
                str(ln.quantity),
                f"{ln.list_price:,.2f}",
                f"{ln.discount}",
                str(ln.start_date),
                str(ln.end_date),
            )
        console.print(lines)
        for a in amendments.amendments_of(session, c):
            console.print(
                f"amendment {a.id}: {a.kind} from {a.effective_date}, annual"
                f" {a.annual_change:+,.2f}, prorated {a.prorated_amount:+,.2f}",
                highlight=False,
            )
        for d in documents.documents_for(session, "contract", c.id):
            console.print(f"document {d.id}: {d.filename} sha256 {d.sha256}", highlight=False)
        for e in service.history(session, c):
            move = f" {e.old_status} -> {e.new_status}" if e.new_status else ""
            console.print(f"{e.at:%Y-%m-%d %H:%M} {e.kind}{move} {e.note or ''}", highlight=False)


@contracts_app.command("move")
def move(
    ctx: typer.Context,
    contract_id: int,
    status: str,
    note: str = typer.Option(None, help="why (required to reject)"),
    reason: str = typer.Option(None, help="churn reason (required to terminate)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Move a contract to STATUS (in_review, approved, draft, sent, active, terminated...)."""
    with state(ctx).session() as session:
        scope, user = _who(session, as_user)
        c = service.get_visible(session, contract_id, scope=scope)
        old = c.status
        service.transition(session, c, status, scope=scope, by=user, note=note, reason=reason)
    console.print(f"contract {contract_id}: {old} -> {status}", highlight=False)


@contracts_app.command("amend")
def amend(
    ctx: typer.Context,
    contract_id: int,
    kind: str = typer.Option(..., help="upsell, downsell or cotermination"),
    effective: str = typer.Option(..., help="first day the amendment applies"),
    add: list[str] = typer.Option([], help="a line to add: QTY,PRICE[,DISCOUNT[,PRODUCT_ID]]"),
    reduce: list[str] = typer.Option([], help="LINE_ID,NEW_QUANTITY"),
    from_contract: int = typer.Option(None, help="the contract to co-terminate into this one"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Amend a signed contract; prints the annual change and the prorated amount."""
    pairs = []
    for i, text in enumerate(reduce):
        try:
            line_id, quantity = (int(x) for x in text.split(","))
        except ValueError:
            raise ValidationFailed(
                "invalid reduction", [Problem(f"{text!r} is not LINE_ID,QTY", f"--reduce[{i}]")]
            ) from None
        pairs.append((line_id, quantity))
    day = _day(effective, "--effective")
    with state(ctx).session() as session:
        scope, user = _who(session, as_user)
        c = service.get_visible(session, contract_id, scope=scope)
        a = amendments.amend(
            session,
            c,
            kind=kind,
            effective_date=day,
            scope=scope,
            by=user,
            add=[parse_line(t, f"--add[{i}]") for i, t in enumerate(add)],
            reduce=pairs,
            from_contract_id=from_contract,
        )
        console.print(
            f"amendment {a.id}: annual {a.annual_change:+,.2f}, prorated"
            f" {a.prorated_amount:+,.2f}; contract value now {c.value:,.2f}",
            highlight=False,
        )


@contracts_app.command("documents")
def generate(ctx: typer.Context, contract_id: int) -> None:
    """Render the contract to HTML and PDF and store both."""
    with state(ctx).session() as session:
        c = service.get_visible(session, contract_id, scope=system_scope())
        for d in paperwork.generate(session, c, by=None, today=date.today()):
            console.print(
                f"document {d.id}: {d.filename} ({d.size} bytes, sha256 {d.sha256})",
                highlight=False,
            )


@contracts_app.command("download")
def download(ctx: typer.Context, document_id: int, out: Path = typer.Option(..., "--out")) -> None:
    """Write a stored document to a file, byte for byte, after checking its checksum."""
    with state(ctx).session() as session:
        d = documents.get_document(session, document_id)
        if not documents.verify(d):
            raise ValidationFailed(f"document {d.id} no longer matches its checksum")
        out.write_bytes(d.content)
    console.print(f"{out}: {d.size} bytes, sha256 {d.sha256}", highlight=False)


@contracts_app.command("template")
def template(ctx: typer.Context, name: str, file: Path) -> None:
    """Save FILE as the next version of contract template NAME (checked before saving)."""
    try:
        body = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed("cannot read the template", [Problem(str(exc), str(file))]) from exc
    with state(ctx).session() as session:
        t = paperwork.save_template(session, name, body, by=None)
    console.print(f"template {t.name} version {t.version} (sha256 {t.checksum})", highlight=False)


@contracts_app.command("renewals")
def run_renewals(
    ctx: typer.Context,
    today: str = typer.Option(None, help="run as of this day (default: today)"),
) -> None:
    """Run the renewals pass now: raise renewal deals, notice alerts, auto-renew, expire."""
    settings = get_settings()
    day = _parse_day(today, "--today") or date.today()
    with state(ctx).session() as session:
        report = renewals.run_renewals(
            session,
            today=day,
            lead_days=settings.renewal_lead_days,
            alert_days=settings.notice_alert_days,
        )
    console.print(report.summary(), highlight=False)


@contracts_app.command("pipeline")
def pipeline(
    ctx: typer.Context,
    start: str = typer.Option(..., help="first end date to include"),
    end: str = typer.Option(..., help="last end date to include"),
    team: int = typer.Option(None, help="only contracts looked after by this team"),
) -> None:
    """Renewals pipeline: contracts per month of end date and bucket."""
    first, last = _day(start, "--start"), _day(end, "--end")
    with state(ctx).session() as session:
        rows = renewals.renewals(
            session,
            scope=system_scope(),
            start=first,
            end=last,
            today=date.today(),
            alert_days=get_settings().notice_alert_days,
            team_id=team,
        )
        table = Table("month", *renewals.PIPELINE_BUCKETS)
        for month, counts in sorted(renewals.pipeline_by_month(rows).items()):
            table.add_row(month, *(str(counts.get(b, 0)) for b in renewals.PIPELINE_BUCKETS))
        console.print(table)


@contracts_app.command("rules")
def rules(
    file: Path = typer.Option(None, help="check this file instead of the rules in force"),
) -> None:
    """Check and print the contract approval rules."""
    loaded = parse_rules(file.read_text(encoding="utf-8"), name=file.name) if file else load_rules()
    for rule in loaded.rules:
        conditions = ", ".join(
            f"{k}={v}" for k, v in rule.when.model_dump(exclude_none=True).items()
        )
        console.print(f"{rule.name}: when {conditions} -> {rule.approver}", highlight=False)
    console.print(
        f"default approver: {loaded.default_approver}; overlapping products"
        f" {'forbidden' if loaded.forbid_overlapping_products else 'allowed'}",
        highlight=False,
    )
