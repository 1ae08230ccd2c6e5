"""`salesops proposals ...`: list proposals of any kind and move them through their life cycle.

The CLI acts as the operator (full rights, recorded as 'system' in the audit log)."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from salesops import approvals
from salesops.approvals.schemas import ProposalRead
from salesops.auth.scoping import system_scope
from salesops.cli.context import console, state
from salesops.errors import ValidationFailed

proposals_app = typer.Typer(
    help="Proposals (territory plans, quotas, ...): list, show, submit, decide, apply, roll back.",
    no_args_is_help=True,
)


@proposals_app.command("list")
def list_command(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--kind"),
    status: str | None = typer.Option(None, "--state", help=", ".join(approvals.STATES)),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Proposals, newest first."""
    if status is not None and status not in approvals.STATES:
        raise ValidationFailed(f"--state must be one of {', '.join(approvals.STATES)}")
    with state(ctx).session() as session:
        rows = [
            ProposalRead.model_validate(p)
            for p in approvals.list_proposals(session, kind=kind, state=status)
        ]
    if fmt == "json":
        print(json.dumps([r.model_dump(mode="json", exclude={"payload"}) for r in rows], indent=2))
        return
    table = Table(title=f"{len(rows)} proposals")
    for column in ("id", "kind", "state", "title", "effective", "created"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            r.state,
            escape(r.title),
            str(r.effective_from or "-"),
            r.created_at.isoformat(timespec="minutes"),
        )
    console.print(table)


@proposals_app.command("show")
def show(ctx: typer.Context, proposal_id: int = typer.Argument(...)) -> None:
    """One proposal with its payload and its audited history (JSON)."""
    with state(ctx).session() as session:
        p = approvals.get(session, proposal_id)
        out = ProposalRead.model_validate(p).model_dump(mode="json")
        out["history"] = [
            {"at": e.at.isoformat(), "action": e.action, "user_id": e.user_id, "changes": e.changes}
            for e in approvals.history(session, p)
        ]
    print(json.dumps(out, indent=2))


def _move(ctx: typer.Context, proposal_id: int, action: str, reason: str | None) -> None:
    with state(ctx).session() as session:
        p = approvals.get(session, proposal_id)
        scope = system_scope()
        if action == "submit":
            approvals.submit(session, p, scope=scope)
        elif action == "approve":
            approvals.approve(session, p, scope=scope, reason=reason)
        elif action == "reject":
            approvals.reject(session, p, scope=scope, reason=reason or "")
        elif action == "apply":
            approvals.apply(session, p, scope=scope)
        else:
            approvals.roll_back(session, p, scope=scope, reason=reason or "")
        console.print(f"proposal {p.id} is {p.state}")


REASON = typer.Option(None, "--reason", help="why (kept in the audit log)")


@proposals_app.command("submit")
def submit(ctx: typer.Context, proposal_id: int = typer.Argument(...)) -> None:
    """Send a draft for a decision."""
    _move(ctx, proposal_id, "submit", None)


@proposals_app.command("approve")
def approve(
    ctx: typer.Context, proposal_id: int = typer.Argument(...), reason: str | None = REASON
) -> None:
    """Approve a submitted proposal."""
    _move(ctx, proposal_id, "approve", reason)


@proposals_app.command("reject")
def reject(
    ctx: typer.Context, proposal_id: int = typer.Argument(...), reason: str | None = REASON
) -> None:
    """Reject a submitted proposal (a reason is required)."""
    _move(ctx, proposal_id, "reject", reason)


@proposals_app.command("apply")
def apply(ctx: typer.Context, proposal_id: int = typer.Argument(...)) -> None:
    """Apply an approved proposal, effective from its date."""
    _move(ctx, proposal_id, "apply", None)


@proposals_app.command("rollback")
def rollback(
    ctx: typer.Context, proposal_id: int = typer.Argument(...), reason: str | None = REASON
) -> None:
    """Undo an applied proposal (a reason is required)."""
    _move(ctx, proposal_id, "roll_back", reason)
