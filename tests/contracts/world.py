"""A small hand-built contracts world: one account owned by a rep with a login, two
products, and scopes for each role that matters to contracts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops.auth.scoping import Scope, scope_for
from salesops.contracts import service
from salesops.contracts.service import LineInput
from salesops.models import Account, AccountOwner, Contract, Product, Rep, User
from tests.factories import make_account, make_rep, make_user


@dataclass
class World:
    account: Account
    rep: Rep
    rep_user: User
    manager: User
    director: User
    seats: Product
    support: Product

    def scope(self, session: Session, user: User) -> Scope:
        return scope_for(session, user)


def build(session: Session) -> World:
    rep_user = make_user(session, role="sales_rep")
    rep_user.email = "rep@example.com"
    rep = make_rep(session, user=rep_user)
    account = make_account(session, name="Acme")
    session.add(AccountOwner(account_id=account.id, rep_id=rep.id, valid_from=date(2020, 1, 1)))
    seats = Product(name="Seats")
    support = Product(name="Support")
    session.add_all([seats, support])
    session.flush()
    return World(
        account,
        rep,
        rep_user,
        make_user(session, role="manager"),
        make_user(session, role="director"),
        seats,
        support,
    )


def signed_contract(
    session: Session,
    world: World,
    *,
    start: date = date(2026, 1, 1),
    term: int = 12,
    lines: list[LineInput] | None = None,
    **fields: object,
) -> Contract:
    """A contract taken through review, approval, sending and signing by the right people."""
    rep = world.scope(session, world.rep_user)
    contract = service.create_contract(
        session,
        scope=rep,
        by=world.rep_user,
        account_id=world.account.id,
        start_date=start,
        term_months=term,
        lines=[LineInput(10, Decimal(1200), Decimal("0.25"), world.seats.id)]
        if lines is None
        else lines,
        **({"value": Decimal(5000)} if lines == [] else {}),
        **fields,
    )
    service.transition(session, contract, "in_review", scope=rep, by=world.rep_user)
    director = world.scope(session, world.director)
    service.transition(session, contract, "approved", scope=director, by=world.director)
    service.transition(session, contract, "sent", scope=rep, by=world.rep_user)
    service.transition(session, contract, "active", scope=rep, by=world.rep_user)
    return contract
