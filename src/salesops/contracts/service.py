"""Contracts: create, edit while draft, move through the lifecycle, approve, sign, read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from salesops import outbox
from salesops.audit import service as audit
from salesops.auth.scoping import Scope, not_visible, scope_for
from salesops.contracts import approval
from salesops.contracts import lifecycle as core
from salesops.contracts.rules import load_rules
from salesops.crm.records import values_of
from salesops.db.limits import problem_with
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import (
    Account,
    Contract,
    ContractEvent,
    ContractLineItem,
    ContractStatus,
    Product,
    Role,
    User,
)

S = ContractStatus
EDITABLE_FIELDS = (
    "start_date",
    "term_months",
    "currency",
    "auto_renew",
    "notice_days",
    "price_increase_cap",
    "special_terms",
    "template",
    "opportunity_id",
)


@dataclass(frozen=True)
class LineInput:
    """A line item as the caller gives it."""

    quantity: int
    list_price: Decimal
    discount: Decimal = Decimal(0)
    product_id: int | None = None
    description: str = ""


def get_visible(session: Session, contract_id: int, *, scope: Scope) -> Contract:
    """The contract, if the caller may see it (otherwise 'does not exist')."""
    contract = session.scalar(select(Contract).where(Contract.id == contract_id, scope.contracts()))
    if contract is None:
        raise not_visible("contract", contract_id)
    return contract


def list_contracts(
    session: Session,
    *,
    scope: Scope,
    status: str | None = None,
    account_id: int | None = None,
    ending_before: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Contract], int]:
    """Visible contracts, ending soonest first, and how many match."""
    where = [scope.contracts()]
    if status:
        where.append(Contract.status == status)
    if account_id:
        where.append(Contract.account_id == account_id)
    if ending_before:
        where.append(Contract.end_date <= ending_before)
    total = session.scalar(select(func.count()).select_from(Contract).where(*where)) or 0
    rows = session.scalars(
        select(Contract)
        .where(*where)
        .order_by(Contract.end_date, Contract.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def lines_of(session: Session, contract: Contract) -> list[ContractLineItem]:
    return list(
        session.scalars(
            select(ContractLineItem)
            .where(ContractLineItem.contract_id == contract.id)
            .order_by(ContractLineItem.id)
        )
    )


def history(session: Session, contract: Contract) -> list[ContractEvent]:
    """Every event of the contract, oldest first."""
    return list(
        session.scalars(
            select(ContractEvent)
            .where(ContractEvent.contract_id == contract.id)
            .order_by(ContractEvent.at, ContractEvent.id)
        )
    )


def record_event(
    session: Session,
    contract: Contract,
    kind: str,
    *,
    by: User | None,
    old: str | None = None,
    new: str | None = None,
    note: str | None = None,
) -> ContractEvent:
    event = ContractEvent(
        contract_id=contract.id,
        at=utc_now(),
        by_id=by.id if by else None,
        kind=kind,
        old_status=old,
        new_status=new,
        note=note,
    )
    session.add(event)
    return event


def _check_fields(values: dict[str, Any]) -> list[Problem]:
    problems = []
    table = Contract.__table__
    for key, value in values.items():
        if reason := problem_with(table.c[key], value):
            problems.append(Problem(f"{key} {reason}", key))
    term = values.get("term_months")
    if term is not None and not 1 <= term <= 120:
        problems.append(Problem("must be between 1 and 120 months", "term_months"))
    notice = values.get("notice_days")
    if notice is not None and not 0 <= notice <= 365:
        problems.append(Problem("must be between 0 and 365 days", "notice_days"))
    cap = values.get("price_increase_cap")
    if cap is not None and not Decimal(0) <= cap <= Decimal(1):
        problems.append(Problem("must be between 0 and 1 (0.05 is 5 %)", "price_increase_cap"))
    return problems


def _check_line(session: Session, line: LineInput, where: str) -> list[Problem]:
    problems = []
    if not 1 <= line.quantity <= 10_000_000:
        problems.append(Problem("must be between 1 and 10,000,000", f"{where}.quantity"))
    if not Decimal(0) <= line.list_price <= Decimal(10) ** 9:
        problems.append(Problem("must be between 0 and 1,000,000,000", f"{where}.list_price"))
    if not Decimal(0) <= line.discount <= Decimal(1):
        problems.append(Problem("must be between 0 and 1 (0.15 is 15 %)", f"{where}.discount"))
    if line.product_id is not None and session.get(Product, line.product_id) is None:
        problems.append(Problem(f"product {line.product_id} does not exist", f"{where}.product_id"))
    if len(line.description) > 200:
        problems.append(Problem("is longer than 200 characters", f"{where}.description"))
    return problems


def _require_editable(contract: Contract) -> None:
    if contract.status not in core.EDITABLE:
        raise Conflict(
            f"contract {contract.id} is {contract.status}: only a draft can be edited;"
            " a signed contract changes by amendment"
        )


def recompute_value(session: Session, contract: Contract) -> None:
    """A contract with line items is worth the sum of their annual net amounts."""
    lines = [ln for ln in lines_of(session, contract) if ln.end_date >= ln.start_date]
    if lines:
        contract.value = sum(
            (core.line_net(ln.quantity, ln.list_price, ln.discount) for ln in lines), Decimal(0)
        )


def create_contract(
    session: Session,
    *,
    scope: Scope,
    by: User | None,
    account_id: int,
    start_date: date,
    term_months: int,
    lines: list[LineInput] | None = None,
    value: Decimal | None = None,
    **fields: Any,
) -> Contract:
    """Create a draft contract on a visible account, with its line items."""
    scope.require_record_write("create contracts")
    values: dict[str, Any] = {"start_date": start_date, "term_months": term_months, **fields}
    problems = _check_fields(values)
    for i, line in enumerate(lines or []):
        problems += _check_line(session, line, f"lines[{i}]")
    if session.scalar(select(Account.id).where(Account.id == account_id, scope.accounts())) is None:
        problems.append(Problem(f"account {account_id} does not exist", "account_id"))
    if problems:
        raise ValidationFailed("invalid contract", problems)
    contract = Contract(
        account_id=account_id,
        status=S.DRAFT,
        end_date=core.end_for(start_date, term_months),
        value=value if value is not None else Decimal(0),
        **values,
    )
    session.add(contract)
    session.flush()
    for line in lines or []:
        _add_line(session, contract, line)
    recompute_value(session, contract)
    record_event(session, contract, "created", by=by, new=S.DRAFT)
    audit.record(
        session,
        user_id=by.id if by else None,
        action="create",
        entity="contract",
        entity_id=contract.id,
        changes=audit.diff({}, values_of(contract)),
    )
    return contract


def _add_line(
    session: Session,
    contract: Contract,
    line: LineInput,
    *,
    start: date | None = None,
    amendment_id: int | None = None,
) -> ContractLineItem:
    item = ContractLineItem(
        contract_id=contract.id,
        product_id=line.product_id,
        description=line.description,
        quantity=line.quantity,
        list_price=line.list_price,
        discount=line.discount,
        start_date=start or contract.start_date,
        end_date=contract.end_date,
        amendment_id=amendment_id,
    )
    session.add(item)
    session.flush()
    return item


def update_contract(
    session: Session, contract: Contract, changes: dict[str, Any], *, scope: Scope, by: User | None
) -> Contract:
    """Change a draft's terms (anything else is amended, not edited)."""
    scope.require_record_write("change contracts")
    _require_editable(contract)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    problems = [Problem("cannot be changed here", key) for key in unknown]
    problems += _check_fields({k: v for k, v in changes.items() if k in EDITABLE_FIELDS})
    if problems:
        raise ValidationFailed("invalid contract change", problems)
    before = values_of(contract)
    for key, value in changes.items():
        setattr(contract, key, value)
    contract.end_date = core.end_for(contract.start_date, contract.term_months)
    for line in lines_of(session, contract):
        line.start_date, line.end_date = contract.start_date, contract.end_date
    session.flush()
    diff = audit.diff(before, values_of(contract))
    if diff:
        record_event(session, contract, "edited", by=by, note=", ".join(sorted(diff)))
        audit.record(
            session,
            user_id=by.id if by else None,
            action="update",
            entity="contract",
            entity_id=contract.id,
            changes=diff,
        )
    return contract


def set_lines(
    session: Session, contract: Contract, lines: list[LineInput], *, scope: Scope, by: User | None
) -> list[ContractLineItem]:
    """Replace a draft's line items."""
    scope.require_record_write("change contracts")
    _require_editable(contract)
    problems = [p for i, ln in enumerate(lines) for p in _check_line(session, ln, f"lines[{i}]")]
    if problems:
        raise ValidationFailed("invalid line items", problems)
    before = contract.value
    for old in lines_of(session, contract):
        session.delete(old)
    session.flush()
    items = [_add_line(session, contract, line) for line in lines]
    recompute_value(session, contract)
    record_event(session, contract, "edited", by=by, note=f"{len(items)} line items")
    audit.record(
        session,
        user_id=by.id if by else None,
        action="update",
        entity="contract",
        entity_id=contract.id,
        changes={
            "lines": {"old": None, "new": len(items)},
            "value": {"old": str(before), "new": str(contract.value)},
        },
    )
    return items


def facts(session: Session, contract: Contract) -> core.ContractFacts:
    lines = lines_of(session, contract)
    return core.ContractFacts(
        max_discount=max((ln.discount for ln in lines), default=Decimal(0)),
        annual_value=contract.value,
        term_months=contract.term_months,
        special_terms=bool((contract.special_terms or "").strip()),
    )


def requirements(session: Session, contract: Contract) -> list[core.Requirement]:
    """The approval rules that apply to the contract as it stands."""
    return core.required_approvals(load_rules(), facts(session, contract))


def _overlaps(session: Session, contract: Contract) -> list[str]:
    """Products this contract shares, on overlapping days, with another signed contract."""
    mine = lines_of(session, contract)
    products = {ln.product_id for ln in mine if ln.product_id is not None}
    if not products:
        return []
    other = ContractLineItem
    clashes = session.execute(
        select(Contract.id, other.product_id)
        .join(other, other.contract_id == Contract.id)
        .where(
            Contract.account_id == contract.account_id,
            Contract.id != contract.id,
            Contract.status.in_(sorted(core.SIGNED)),
            other.product_id.in_(sorted(products)),
            and_(other.start_date <= contract.end_date, other.end_date >= contract.start_date),
        )
    ).all()
    return [f"product {p} is already on contract {c}" for c, p in clashes]


def approvers(session: Session, contract: Contract, role: Role) -> list[User]:
    """Active users who may approve at `role` and can see the contract."""
    ranks = [r.value for r, rank in core.APPROVER_RANK.items() if rank >= core.APPROVER_RANK[role]]
    users = session.scalars(select(User).where(User.role.in_(ranks), User.is_active.is_(True)))
    found = []
    for user in users:
        scope = scope_for(session, user)
        if session.scalar(select(Contract.id).where(Contract.id == contract.id, scope.contracts())):
            found.append(user)
    return found


def transition(
    session: Session,
    contract: Contract,
    new: str,
    *,
    scope: Scope,
    by: User | None,
    note: str | None = None,
    reason: str | None = None,
) -> Contract:
    """Move the contract to status `new` if the lifecycle and the caller's role allow it;
    a termination needs a `reason` from the rules file's churn reasons."""
    scope.require_record_write("change contracts")
    old = contract.status
    if problem := core.transition_problem(old, new):
        raise Conflict(problem)
    if old == S.IN_REVIEW and new == S.DRAFT and not (note or "").strip():
        raise ValidationFailed("a rejection needs a reason", [Problem("is required", "note")])
    if new == S.IN_REVIEW and not lines_of(session, contract) and contract.value <= 0:
        raise ValidationFailed(
            "nothing to review", [Problem("a contract needs a value or line items", "lines")]
        )
    if (
        new == S.ACTIVE
        and load_rules().forbid_overlapping_products
        and (clashes := _overlaps(session, contract))
    ):
        raise Conflict(f"contract {contract.id} overlaps signed contracts: {'; '.join(clashes)}")
    churn_reason = _churn_reason(reason) if new == S.TERMINATED else None
    if new == S.IN_REVIEW:
        approval.submit(session, contract, requirements(session, contract), scope=scope)
    if old == S.IN_REVIEW:  # a decision, taken through the contract's proposal
        approval.decide(
            session,
            contract,
            requirements(session, contract),
            approve=new == S.APPROVED,
            scope=scope,
            reason=note,
        )
    contract.status = new
    if churn_reason is not None:
        contract.churn_reason = churn_reason
    session.flush()
    kind = {S.APPROVED: "approved", S.ACTIVE: "signed"}.get(S(new), "transition")
    if old == S.IN_REVIEW and new == S.DRAFT:
        kind = "rejected"
    record_event(
        session,
        contract,
        kind,
        by=by,
        old=old,
        new=new,
        note=f"{churn_reason}: {note}" if churn_reason and note else churn_reason or note,
    )
    audit.record(
        session,
        user_id=by.id if by else None,
        action=kind,
        entity="contract",
        entity_id=contract.id,
        changes={"status": {"old": old, "new": new}, "note": note},
    )
    if new == S.IN_REVIEW:
        _ask_approvers(session, contract)
    return contract


def _churn_reason(reason: str | None) -> str:
    """The configured churn reason `reason` names (case-insensitive), or a ValidationFailed
    listing them."""
    known = load_rules().churn_reasons
    for candidate in known:
        if (reason or "").strip().lower() == candidate.lower():
            return candidate
    said = "is required" if not (reason or "").strip() else f"{reason!r} is not a churn reason"
    raise ValidationFailed(
        "a termination needs a churn reason",
        [Problem(f"{said} (one of: {', '.join(known)})", "reason")],
    )


def _ask_approvers(session: Session, contract: Contract) -> None:
    needs = requirements(session, contract)
    role = core.approver_role(needs)
    reasons = "; ".join(r.rule for r in needs)
    for user in approvers(session, contract, role):
        outbox.notify(
            session,
            user,
            f"Contract {contract.id} awaits your approval",
            f"Needs a {role.value}'s approval: {reasons}. Annual value {contract.value}"
            f" {contract.currency}.",
            link=f"/contracts/{contract.id}",
            key=f"contract:{contract.id}:review:{contract.version}:{user.id}",
        )


def review_queue(session: Session, *, scope: Scope) -> list[tuple[Contract, Role, str]]:
    """Contracts in review that the caller may decide, with the role and rules involved."""
    rows = session.scalars(
        select(Contract)
        .where(Contract.status == S.IN_REVIEW, scope.contracts())
        .order_by(Contract.id)
    )
    queue = []
    for contract in rows:
        needs = requirements(session, contract)
        role = core.approver_role(needs)
        if core.may_approve(scope.role, role):
            queue.append((contract, role, "; ".join(r.rule for r in needs)))
    return queue


def require_found(contract: Contract | None, contract_id: int) -> Contract:
    if contract is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return contract
