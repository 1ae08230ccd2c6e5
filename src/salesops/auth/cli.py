"""`salesops users ...` and `salesops tokens ...`: manage who can sign in and API tokens."""

from __future__ import annotations

import os

import typer
from rich.table import Table
from sqlalchemy import Engine, select

from salesops.audit import service as audit
from salesops.auth import demo
from salesops.auth import service as auth
from salesops.auth.demo import DEMO_PASSWORD
from salesops.cli.context import console, state
from salesops.db import session_scope
from salesops.errors import NotFound, PermissionDenied
from salesops.models import Rep, Role

users_app = typer.Typer(
    help="Manage users: create, list, change roles, disable.", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create and revoke API tokens.", no_args_is_help=True)

ROLES = ", ".join(r.value for r in Role)
CLI_SOURCE = "cli"  # the source address sign-ins from the command line are recorded under
PASSWORD_VARIABLE = "SALESOPS_PASSWORD"


def admin_sign_in(engine: Engine, username: str, *, purpose: str) -> int:
    """The id of admin `username` once their password checks out (prompted for, or read from
    SALESOPS_PASSWORD in scripts). The attempt is recorded and counts towards the sign-in
    lock even when it fails, as a dashboard sign-in would."""
    password = os.environ.get(PASSWORD_VARIABLE) or typer.prompt(
        f"password of {username}", hide_input=True
    )
    refused: PermissionDenied | None = None
    with session_scope(engine) as session:
        try:
            user = auth.authenticate_admin(
                session, username, password, ip=CLI_SOURCE, purpose=purpose
            )
        except PermissionDenied as exc:
            # Kept, not raised here: the failed attempt must be committed to count.
            refused = exc
        else:
            return user.id
    raise refused


@users_app.command("create")
def create(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="login name (no spaces)"),
    role: str = typer.Option(..., "--role", "-r", help=f"one of: {ROLES}"),
    password: str | None = typer.Option(
        None, "--password", "-p", help="prompted for (hidden) when not given"
    ),
    email: str | None = typer.Option(None, "--email"),
    full_name: str | None = typer.Option(None, "--name", help="full name"),
    rep: int | None = typer.Option(None, "--rep", help="link to this rep id (their records)"),
) -> None:
    """Create a user who can sign in to the dashboard and the API."""
    auth.parse_role(role)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with state(ctx).session() as session:
        user = auth.create_user(
            session, username, role=role, password=password, email=email, full_name=full_name
        )
        if rep is not None:
            linked = session.get(Rep, rep)
            if linked is None:
                raise NotFound(f"rep {rep} does not exist")
            audit.record(
                session,
                user_id=None,
                action="update",
                entity="rep",
                entity_id=linked.id,
                changes={"user_id": {"old": linked.user_id, "new": user.id}, "via": "cli"},
            )
            linked.user_id = user.id
    console.print(f"created user [bold]{username}[/] with role {role}")


@users_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List users with their role, linked rep and status."""
    with state(ctx).session() as session:
        reps = {r.user_id: r for r in session.scalars(select(Rep).where(Rep.user_id.is_not(None)))}
        table = Table(title="users")
        for column in ("id", "username", "role", "rep", "active", "password", "created"):
            table.add_column(column)
        for user in auth.list_users(session):
            rep = reps.get(user.id)
            table.add_row(
                str(user.id),
                user.username,
                user.role,
                f"{rep.name} (#{rep.id})" if rep else "",
                "yes" if user.is_active else "disabled",
                "set" if user.password_hash else "none",
                user.created_at.isoformat()[:10],
            )
    console.print(table)


@users_app.command("set-role")
def set_role(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help=f"one of: {ROLES}"),
) -> None:
    """Change a user's role."""
    with state(ctx).session() as session:
        user = auth.get_user(session, username)
        old = user.role
        auth.set_role(session, user, role, via="cli")
    console.print(f"{username}: role {old} -> {role}")


@users_app.command("disable")
def disable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Disable a user: their sessions end and their API tokens are revoked for good."""
    with state(ctx).session() as session:
        auth.disable_user(session, auth.get_user(session, username), via="cli")
    console.print(f"{username} disabled")


@users_app.command("enable")
def enable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Allow a disabled user to sign in again (tokens revoked when they were disabled stay
    revoked: create new ones)."""
    with state(ctx).session() as session:
        auth.enable_user(session, auth.get_user(session, username), via="cli")
    console.print(f"{username} enabled")


@users_app.command("unlock")
def unlock(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    ip: str | None = typer.Option(None, "--ip", help="only the failures from this address"),
) -> None:
    """Clear the failed sign-ins that lock a username (recorded in the audit log)."""
    with state(ctx).session() as session:
        cleared = auth.unlock(session, username, ip=ip, via="cli")
    source = f" from {ip}" if ip else ""
    console.print(f"{username}: {cleared} failed sign-in(s){source} cleared; sign-in is open")


@users_app.command("set-password")
def set_password(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    password: str | None = typer.Option(None, "--password", "-p", help="prompted when not given"),
) -> None:
    """Set a user's password (signs out their browser sessions)."""
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with state(ctx).session() as session:
        auth.set_password(session, auth.get_user(session, username), password, via="cli")
    console.print(f"password of {username} changed")


@tokens_app.command("create")
def create_token(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    name: str = typer.Option("", "--name", help="what the token is for"),
) -> None:
    """Create an API token and print it: it is shown this once and only its hash is kept."""
    with state(ctx).session() as session:
        created = auth.create_token(session, auth.get_user(session, username), name=name, via="cli")
        token_id = created.record.id
    console.print(f"token #{token_id} for {username} (send as 'Authorization: Bearer ...'):")
    # Plain print: the secret must be copyable without Rich wrapping or styling it.
    print(created.secret)


@tokens_app.command("list")
def list_tokens(
    ctx: typer.Context, username: str | None = typer.Argument(None, help="only this user's")
) -> None:
    """List API tokens (never their secrets)."""
    with state(ctx).session() as session:
        user = auth.get_user(session, username) if username else None
        names = {u.id: u.username for u in auth.list_users(session)}
        table = Table(title="API tokens")
        for column in ("id", "user", "name", "created", "last used", "status"):
            table.add_column(column)
        for token in auth.list_tokens(session, user=user):
            table.add_row(
                str(token.id),
                names.get(token.user_id, "?"),
                token.name,
                token.created_at.isoformat()[:16],
                token.last_used_at.isoformat()[:16] if token.last_used_at else "never",
                "revoked" if token.revoked_at else "active",
            )
    console.print(table)


@tokens_app.command("revoke")
def revoke(ctx: typer.Context, token_id: int = typer.Argument(..., help="token id")) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    with state(ctx).session() as session:
        user_id = auth.revoke_token(session, token_id, via="cli").user_id
    console.print(f"token #{token_id} (user id {user_id}) revoked")


@users_app.command("demo-logins")
def demo_logins(
    ctx: typer.Context,
    password: str = typer.Option(DEMO_PASSWORD, "--password", help="password for every login"),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="where the app will be served"),
) -> None:
    """Give one user of every role a known password (for the demo) and print the sign-ins.

    Uses the demo's own sales rep and manager users (linked to reps, so their scoping shows)
    and creates `admin`, `director`, `analyst` and `ops` when they do not exist.
    """
    with state(ctx).session() as session:
        logins = demo.ensure_demo_logins(session, password=password)
    table = Table(title=f"demo sign-ins at {url}  (password for all: {password})")
    for column in ("role", "username", "sees"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.role, login.username, login.sees)
    console.print(table)
    console.print(f"open {url} and sign in; API docs at {url}/api/v1/docs")
