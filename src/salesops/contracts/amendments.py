"""Amendments: the only way a signed contract changes (upsell, downsell, co-termination)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import Scope
from salesops.contracts import lifecycle as core
from salesops.contracts.service import (
    LineInput,
    _add_line,
    _check_line,
    get_visible,
    lines_of,
    record_event,
)
from salesops.errors import Conflict, Problem, ValidationFailed
from salesops.models import Contract, ContractAmendment, ContractLineItem, ContractStatus, User


def _active_lines(session: Session, contract: Contract, day: date) -> list[ContractLineItem]:
    return [ln for ln in lines_of(session, contract) if ln.start_date <= day <= ln.end_date]


def amend(
    session: Session,
    contract: Contract,
    *,
    kind: str,
    effective_date: date,
    scope: Scope,
    by: User | None,
    add: Sequence[LineInput] = (),
    reduce: Sequence[tuple[int, int]] = (),
    from_contract_id: int | None = None,
    note: str | None = None,
) -> ContractAmendment:
    """Amend a signed contract from `effective_date` to its end, with the prorated amount.

    upsell: `add` lines; downsell: `reduce` (line id, new quantity) pairs; cotermination:
    the lines of signed contract `from_contract_id` (same account) move into this one from
    `effective_date` and that contract ends the day before. Proration: the annual change x
    days left (both ends included) / 365; a co-termination is charged to this contract's end
    and credited the unused part of the old contract.
    """
    scope.require_record_write("amend contracts")
    if contract.status not in core.SIGNED:
        raise Conflict(
            f"contract {contract.id} is {contract.status}: only a signed contract is amended"
            + (" (edit the draft instead)" if contract.status == ContractStatus.DRAFT else "")
        )
    problems: list[Problem] = []
    if kind not in core.AMENDMENT_KINDS:
        problems.append(Problem(f"must be one of {', '.join(core.AMENDMENT_KINDS)}", "kind"))
    if not contract.start_date <= effective_date <= contract.end_date:
        problems.append(
            Problem(
                f"must fall within the contract ({contract.start_date} to {contract.end_date})",
                "effective_date",
            )
        )
    for i, line in enumerate(add):
        problems += _check_line(session, line, f"add[{i}]")
    if kind in ("upsell",) and not add:
        problems.append(Problem("an upsell adds at least one line", "add"))
    if kind == "downsell" and not reduce:
        problems.append(Problem("a downsell reduces at least one line", "reduce"))
    if kind == "cotermination" and from_contract_id is None:
        problems.append(Problem("names the contract to co-terminate", "from_contract_id"))
    current = {ln.id: ln for ln in _active_lines(session, contract, effective_date)}
    for i, (line_id, quantity) in enumerate(reduce):
        existing = current.get(line_id)
        if existing is None:
            problems.append(Problem(f"line {line_id} is not on the contract then", f"reduce[{i}]"))
        elif not 0 <= quantity < existing.quantity:
            problems.append(
                Problem(
                    f"must be below the current {existing.quantity} and not negative",
                    f"reduce[{i}]",
                )
            )
    if problems:
        raise ValidationFailed("invalid amendment", problems)

    amendment = ContractAmendment(
        contract_id=contract.id,
        kind=kind,
        effective_date=effective_date,
        annual_change=Decimal(0),
        prorated_amount=Decimal(0),
        note=note,
        created_by_id=by.id if by else None,
    )
    session.add(amendment)
    session.flush()
    change = Decimal(0)
    credit = Decimal(0)
    for line in add:
        _add_line(session, contract, line, start=effective_date, amendment_id=amendment.id)
        change += core.line_net(line.quantity, line.list_price, line.discount)
    for line_id, quantity in reduce:
        old = current[line_id]
        was = core.line_net(old.quantity, old.list_price, old.discount)
        _split(session, contract, old, effective_date, quantity, amendment.id)
        change += core.line_net(quantity, old.list_price, old.discount) - was
    if kind == "cotermination" and from_contract_id is not None:
        moved, credit = _coterminate(
            session, contract, from_contract_id, effective_date, amendment.id, scope=scope, by=by
        )
        change += moved
    amendment.annual_change = core.money(change)
    amendment.prorated_amount = core.money(
        core.prorate(change, effective_date, contract.end_date) - credit
    )
    contract.value = core.money(contract.value + change)
    session.flush()
    record_event(
        session,
        contract,
        "amended",
        by=by,
        note=f"{kind} from {effective_date}: annual {amendment.annual_change:+}, "
        f"prorated {amendment.prorated_amount:+}",
    )
    audit.record(
        session,
        user_id=by.id if by else None,
        action="amend",
        entity="contract",
        entity_id=contract.id,
        changes={
            "kind": kind,
            "effective_date": effective_date.isoformat(),
            "annual_change": str(amendment.annual_change),
            "prorated_amount": str(amendment.prorated_amount),
        },
    )
    return amendment


def _split(
    session: Session,
    contract: Contract,
    old: ContractLineItem,
    day: date,
    quantity: int,
    amendment_id: int,
) -> None:
    """End `old` the day before `day`; from `day` the same line runs with `quantity`."""
    if old.start_date == day:
        session.delete(old)
    else:
        old.end_date = day - timedelta(days=1)
    if quantity:
        _add_line(
            session,
            contract,
            LineInput(quantity, old.list_price, old.discount, old.product_id, old.description),
            start=day,
            amendment_id=amendment_id,
        )


def _coterminate(
    session: Session,
    contract: Contract,
    other_id: int,
    day: date,
    amendment_id: int,
    *,
    scope: Scope,
    by: User | None,
) -> tuple[Decimal, Decimal]:
    """Move the other contract's running lines here; return (annual moved, credit)."""
    other = get_visible(session, other_id, scope=scope)
    problems = []
    if other.id == contract.id or other.account_id != contract.account_id:
        problems.append(Problem("must be another contract of the same account", "from_contract_id"))
    elif other.status not in core.SIGNED:
        problems.append(
            Problem(f"contract {other.id} is {other.status}, not signed", "from_contract_id")
        )
    elif not other.start_date <= day <= other.end_date:
        problems.append(Problem(f"contract {other.id} is not running on {day}", "effective_date"))
    if problems:
        raise ValidationFailed("invalid co-termination", problems)
    moved = Decimal(0)
    for line in _active_lines(session, other, day):
        net = core.line_net(line.quantity, line.list_price, line.discount)
        moved += net
        _add_line(
            session,
            contract,
            LineInput(
                line.quantity, line.list_price, line.discount, line.product_id, line.description
            ),
            start=day,
            amendment_id=amendment_id,
        )
        if line.start_date == day:
            session.delete(line)
        else:
            line.end_date = day - timedelta(days=1)
    if not moved:
        moved = other.value  # a contract without line items moves its whole value
    credit = core.prorate(moved, day, other.end_date)
    old_status = other.status
    other.status = ContractStatus.TERMINATED
    other.end_date = max(day - timedelta(days=1), other.start_date)
    record_event(
        session,
        other,
        "transition",
        by=by,
        old=old_status,
        new=other.status,
        note=f"co-terminated into contract {contract.id}",
    )
    return moved, credit


def amendments_of(session: Session, contract: Contract) -> list[ContractAmendment]:
    return list(
        session.scalars(
            select(ContractAmendment)
            .where(ContractAmendment.contract_id == contract.id)
            .order_by(ContractAmendment.effective_date, ContractAmendment.id)
        )
    )
