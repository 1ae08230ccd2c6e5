"""`salesops playbook ...`: load and show playbooks, a deal's play and checklist, move a deal
(exit criteria checked), deal hygiene and feedback.

Commands act as the operator (every record) unless `--as USERNAME` gives them that user's
scope, so a rep's or a manager's limits can be exercised from the shell too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from salesops.auth import users
from salesops.auth.scoping import Scope, scope_for, system_scope
from salesops.cli.context import console, err_console, state
from salesops.errors import ValidationFailed
from salesops.pipeline import access
from salesops.playbooks import digest, feedback, gate, inspection, service, tools

playbook_app = typer.Typer(
    help="Methodology playbooks, exit criteria, deal hygiene and feedback.", no_args_is_help=True
)


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{what} must be a date like 2025-03-31 (got {text!r})") from None


AS_HELP = "act as this user (their role and scope); default: the operator, who sees everything"


def scope_of(session: Session, username: str | None) -> Scope:
    if not username:
        return system_scope()
    return scope_for(session, users.get_user(session, username))


@playbook_app.command("load")
def load(
    ctx: typer.Context, path: Path = typer.Argument(..., help="the playbook file (YAML)")
) -> None:
    """Validate a playbook file, store it as a revision and put it in force."""
    with state(ctx).session() as session:
        revision = service.load(session, path)
        playbook = gate.playbook_of(revision)
        gated = sum(1 for p in playbook.stages if p.has_criteria)
        console.print(
            f"loaded {revision.methodology} revision {revision.revision} (id {revision.id}):"
            f" {len(playbook.stages)} stages, {gated} with exit criteria; now in force"
        )


@playbook_app.command("show")
def show(ctx: typer.Context) -> None:
    """The playbook in force, stage by stage."""
    with state(ctx).session() as session:
        revision, playbook = service.require_active(session)
        console.print(
            f"[bold]{playbook.methodology}[/] revision {revision.revision}"
            f" (loaded {revision.loaded_at:%Y-%m-%d %H:%M} UTC, checksum {revision.checksum[:12]})"
        )
        table = Table("stage", "on missing items", "required fields", "checklist", "activities")
        for play in playbook.stages:
            table.add_row(
                play.stage,
                play.enforcement,
                ", ".join(play.fields) or "-",
                ", ".join(i.key for i in play.checklist) or "-",
                ", ".join(f"{a.at_least} {a.kind}" for a in play.activities) or "-",
            )
        console.print(table)


@playbook_app.command("revisions")
def list_revisions(ctx: typer.Context) -> None:
    """Every loaded revision, newest first."""
    with state(ctx).session() as session:
        table = Table("id", "methodology", "revision", "loaded", "in force", "checksum")
        for r in service.revisions(session):
            table.add_row(
                str(r.id),
                r.methodology,
                str(r.revision),
                f"{r.loaded_at:%Y-%m-%d %H:%M}",
                "yes" if r.is_active else "",
                r.checksum[:12],
            )
        console.print(table)


@playbook_app.command("deal")
def deal(
    ctx: typer.Context,
    opp_id: int = typer.Argument(..., help="opportunity id"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """A deal's play: its stage's guidance, checklist, and what it lacks to leave the stage."""
    with state(ctx).session() as session:
        opp = access.get_visible(session, opp_id, scope=scope_of(session, as_user))
        found = service.deal_play(session, opp)
        console.print(f"[bold]{opp.name}[/] (id {opp.id}) in {opp.stage.name}")
        if found.revision is None:
            console.print("no playbook is loaded")
            return
        if found.play and found.play.guidance:
            console.print(found.play.guidance)
        for link in found.play.links if found.play else ():
            console.print(f"  - {link.title}: {link.url}")
        for line in found.checklist:
            mark = "x" if line.done else " "
            text = f"  [{mark}] {line.key} ({line.stage}): {line.label}"
            console.print(escape(text), highlight=False)
        if found.missing:
            console.print(f"missing to leave {opp.stage.name}:")
            for item in found.missing:
                console.print(f"  - {item.label}")
        elif found.is_open:
            console.print(f"meets every exit criterion of {opp.stage.name}")


@playbook_app.command("tick")
def tick(
    ctx: typer.Context,
    opp_id: int = typer.Argument(..., help="opportunity id"),
    key: str = typer.Argument(..., help="checklist item key, e.g. economic_buyer"),
    undo: bool = typer.Option(False, "--undo", help="mark the item not done"),
    note: str | None = typer.Option(None, "--note"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Mark a checklist item of a deal done (or not, with --undo)."""
    with state(ctx).session() as session:
        scope = scope_of(session, as_user)
        opp = access.get_visible(session, opp_id, scope=scope)
        service.set_checklist_item(session, opp, key, done=not undo, note=note, scope=scope)
        console.print(f"{key} on deal {opp.id}: {'not done' if undo else 'done'}")


@playbook_app.command("move")
def move(
    ctx: typer.Context,
    opp_id: int = typer.Argument(..., help="opportunity id"),
    stage: str = typer.Argument(..., help="the stage to move to"),
    loss_reason: str | None = typer.Option(None, "--loss-reason"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Move a deal to a stage; the playbook's exit criteria warn or block."""
    with state(ctx).session() as session:
        scope = scope_of(session, as_user)
        opp = access.get_visible(session, opp_id, scope=scope)
        before = opp.stage.name
        access.move_stage(session, opp, stage, scope=scope, loss_reason=loss_reason)
        for verdict in gate.warnings(session):
            err_console.print(
                f"[yellow]warning:[/] exit criteria not met leaving {verdict.from_stage}:"
                f" {verdict.summary()}",
                highlight=False,
            )
        console.print(f"deal {opp.id}: {before} -> {opp.stage.name}")


@playbook_app.command("hygiene")
def hygiene_command(
    ctx: typer.Context,
    rep: int | None = typer.Option(None, "--rep", help="only this rep's deals (rep id)"),
    as_of: str | None = typer.Option(None, "--as-of", help="inspect as at the end of this day"),
    limit: int = typer.Option(20, "--limit", help="flagged deals to list (0: reps only)"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Hygiene flags on open deals and the score of each rep."""
    at = inspection.end_of(parse_day(as_of, "--as-of")) if as_of else None
    with state(ctx).session() as session:
        found = inspection.inspect(session, scope=scope_of(session, as_user), rep_id=rep, at=at)
        reps = Table("rep", "open deals", "flagged", "score", "flags")
        for r in sorted(found.reps, key=lambda r: r.score):
            flags = ", ".join(f"{k} {v}" for k, v in sorted(r.flag_counts.items()))
            reps.add_row(
                found.names.get(r.rep_id, str(r.rep_id)),
                str(r.open_deals),
                str(r.flagged_deals),
                f"{r.score * 100:.0f}%",
                flags,
            )
        console.print(reps)
        flagged = sorted((d for d in found.deals if d.flags), key=lambda d: -len(d.flags))
        if limit and flagged:
            deals = Table("deal", "owner", "stage", "flags")
            for d in flagged[:limit]:
                deals.add_row(
                    f"{d.deal.id} {found.deal_names[d.deal.id][0]}",
                    found.names.get(d.deal.owner_id, ""),
                    d.deal.stage,
                    "; ".join(f"{f.label} ({f.detail})" for f in d.flags),
                )
            console.print(deals)
        total = sum(len(d.flags) for d in found.deals)
        console.print(
            f"{len(flagged)} of {len(found.deals)} open deals flagged, {total} flags",
            highlight=False,
        )


@playbook_app.command("hygiene-snapshot")
def hygiene_snapshot(
    ctx: typer.Context,
    on: str | None = typer.Option(None, "--on", help="the day to record (default today)"),
) -> None:
    """Store each rep's hygiene for the day (the trend); run it daily."""
    day = parse_day(on, "--on") if on else None
    with state(ctx).session() as session:
        count = inspection.take_snapshot(session, on=day)
        console.print(f"hygiene of {count} reps recorded")


@playbook_app.command("note")
def note(
    ctx: typer.Context,
    opp_id: int = typer.Argument(..., help="opportunity id"),
    text: str = typer.Argument(..., help="the coaching note"),
    flag: str | None = typer.Option(None, "--flag", help="the hygiene flag it is about"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Add a coaching note to a deal."""
    with state(ctx).session() as session:
        scope = scope_of(session, as_user)
        opp = access.get_visible(session, opp_id, scope=scope)
        added = inspection.add_note(session, opp, scope=scope, text=text, flag=flag)
        console.print(f"note {added.id} on deal {opp.id}")


@playbook_app.command("feedback")
def feedback_list(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help=", ".join(feedback.STATUSES)),
    category: str | None = typer.Option(None, "--category", help=", ".join(feedback.CATEGORIES)),
) -> None:
    """Feedback items, most voted first."""
    with state(ctx).session() as session:
        table = Table("id", "votes", "category", "status", "title")
        for item in feedback.items(session, scope=system_scope(), status=status, category=category):
            f = item.feedback
            table.add_row(str(f.id), str(item.votes), f.category, f.status, f.title)
        console.print(table)


@playbook_app.command("feedback-submit")
def feedback_submit(
    ctx: typer.Context,
    category: str = typer.Argument(..., help=", ".join(feedback.CATEGORIES)),
    title: str = typer.Argument(...),
    text: str = typer.Argument(...),
    deal: int | None = typer.Option(None, "--deal", help="the opportunity it is about"),
    as_user: str = typer.Option(..., "--as", help="the user submitting it"),
) -> None:
    """Submit feedback as a user."""
    with state(ctx).session() as session:
        item = feedback.submit(
            session,
            scope=scope_of(session, as_user),
            category=category,
            title=title,
            text=text,
            opportunity_id=deal,
        )
        console.print(f"feedback {item.id} submitted")


@playbook_app.command("feedback-triage")
def feedback_triage(
    ctx: typer.Context,
    feedback_id: int = typer.Argument(...),
    status: str | None = typer.Option(None, "--status", help=", ".join(feedback.STATUSES)),
    owner: str | None = typer.Option(None, "--owner", help="username of the owner"),
    response: str | None = typer.Option(None, "--response"),
    change_made: str | None = typer.Option(None, "--change-made", help="what changed"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Triage feedback: status, owner, response, what changed."""
    with state(ctx).session() as session:
        changes: dict[str, Any] = {"status": status}
        if owner is not None:
            changes["owner_id"] = users.get_user(session, owner).id
        if response is not None:
            changes["response"] = response
        if change_made is not None:
            changes["change_made"] = change_made
        item = feedback.get(session, feedback_id)
        feedback.triage(session, item, scope=scope_of(session, as_user), **changes)
        console.print(f"feedback {item.id}: {item.status}")


@playbook_app.command("subscribe")
def subscribe(
    ctx: typer.Context,
    topic: str = typer.Argument(..., help="hygiene_flags or stalled_deals"),
    as_user: str = typer.Option(..., "--as", help="the person subscribing"),
    weekly: bool = typer.Option(False, "--weekly", help="on Mondays instead of daily"),
) -> None:
    """Subscribe a person to a digest (in-app inbox and e-mail)."""
    with state(ctx).session() as session:
        user = users.get_user(session, as_user)
        sub = digest.subscribe(session, user, topic, frequency="weekly" if weekly else "daily")
        console.print(f"{user.username}: {sub.topic} {sub.frequency}")


@playbook_app.command("digests")
def digests(
    ctx: typer.Context,
    on: str | None = typer.Option(None, "--on", help="the day (default today)"),
) -> None:
    """Write the digests due today now (the worker does it daily)."""
    day = parse_day(on, "--on") if on else date.today()
    with state(ctx).session() as session:
        console.print(f"{digest.send_digests(session, on=day)} digest(s) for {day}")


@playbook_app.command("tools")
def tools_report(ctx: typer.Context) -> None:
    """The sales tool stack: cost per active user, unused seats, overlapping capabilities."""
    with state(ctx).session() as session:
        found = tools.stack(session, scope=system_scope())
        table = Table("tool", "seats", "active", "unused", "annual cost", "per active user/mo")
        for tool, r in found.tools:
            table.add_row(
                tool.name,
                str(r.seats),
                str(r.active_users),
                str(r.unused_seats),
                f"{r.annual_cost:,.0f}",
                f"{r.cost_per_active_user:,.2f}" if r.cost_per_active_user else "nobody uses it",
            )
        console.print(table)
        for capability, names in found.overlaps.items():
            console.print(f"overlap: {capability} in {', '.join(names)}", highlight=False)
        console.print(
            f"annual cost {found.annual_cost:,.0f}, unused seats {found.unused_cost:,.0f}",
            highlight=False,
        )


@playbook_app.command("tools-usage")
def tools_usage(
    ctx: typer.Context, path: Path = typer.Argument(..., help="CSV: tool,month,active_users")
) -> None:
    """Import monthly active users per tool (all rows or none)."""
    text = path.read_text(encoding="utf-8-sig")
    with state(ctx).session() as session:
        rows = tools.import_usage(session, text, scope=system_scope(), name=path.name)
        console.print(f"{rows} usage row(s) imported")
