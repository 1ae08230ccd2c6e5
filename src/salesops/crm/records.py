"""Generic scoped CRUD over the canonical tables: list, read, create, update, delete.

Each table is described once by a `Resource` (which rows a scope sees, which fields filter and
sort, who may write). Every write is checked against the caller's scope and recorded in the
audit log with old and new values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, String, cast, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnClause

from salesops.audit import service as audit
from salesops.auth.scoping import Scope, not_visible
from salesops.crm import versioning
from salesops.db.limits import problem_with
from salesops.db.types import Money, Ratio, UTCDateTime, as_utc
from salesops.errors import Conflict, Problem, ValidationFailed
from salesops.models import Base

M = TypeVar("M", bound=Base)
MAX_LIMIT = 500
# A list's total is counted exactly up to this many rows (or the end of the page asked for, when
# that is further); past it the count stops and the page says "at least". Counting every match
# costs a walk over all of them, which on millions of rows takes longer than the page itself.
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Resource(Generic[M]):
    """How one table is exposed: scoping, filters, search, sorting and write rules."""

    name: str
    model: type[M]
    visible: Callable[[Scope], ColumnElement[bool]]
    filter_fields: tuple[str, ...] = ()
    range_fields: tuple[str, ...] = ()
    search_fields: tuple[str, ...] = ()
    sort_fields: tuple[str, ...] = ("id",)
    default_sort: str = "id"
    # "records": reps and managers write inside their scope; "planning": ops/director/admin.
    write: Literal["records", "planning", "admin"] = "records"
    # The field naming the owning rep: checked on write, defaulted to the caller's own rep.
    owner_field: str | None = None
    # A field naming an account: the account must be visible to the caller.
    account_field: str | None = None
    read_only_fields: frozenset[str] = field(
        default_factory=lambda: frozenset({"id", "created_at"})
    )
    # A domain's own rule for generic writes: called with "create" (before the values are
    # assigned; it may fill defaults in them), "update" or "delete" and the row; it raises to
    # refuse (contracts: only drafts are edited here, the lifecycle moves them on).
    check_write: Callable[[str, Any, dict[str, Any]], None] | None = None

    def column(self, name: str) -> ColumnClause[Any]:
        return getattr(self.model, name)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a list: the rows, how many match in total, and where the page starts.

    `total_at_least` is true when counting stopped at `total` and more rows match.
    """

    items: list[M]
    total: int
    limit: int
    offset: int
    total_at_least: bool = False


def count_bounded(session: Session, query: Select[Any], bound: int) -> tuple[int, bool]:
    """How many rows `query` returns, counting no further than `bound`: (count, more match)."""
    counted = session.scalar(select(func.count()).select_from(query.limit(bound + 1).subquery()))
    return (bound, True) if (counted or 0) > bound else (counted or 0, False)


def values_of(obj: Base) -> dict[str, Any]:
    """The column values of a row, by attribute name (not its `version`: bookkeeping that
    every update bumps, which would otherwise fill the audit log)."""
    return {
        col.key: getattr(obj, col.key)
        for col in obj.__mapper__.column_attrs
        if col.key != "version"
    }


def _python_type(column_type: Any) -> type:
    # Our portable column types wrap a float/naive impl; say what Python sees instead.
    if isinstance(column_type, Money | Ratio):
        return Decimal
    if isinstance(column_type, UTCDateTime):
        return datetime
    try:
        return column_type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return str


def _coerce(resource: Resource[Any], name: str, raw: object) -> Any:
    """Turn a query-string value into the Python type of column `name`."""
    if not isinstance(raw, str):
        return raw
    if raw == "" or raw.lower() == "null":
        return None
    python_type = _python_type(resource.column(name).type)
    try:
        if python_type is bool:
            return raw.lower() in {"1", "true", "yes"}
        if python_type is datetime:
            return as_utc(datetime.fromisoformat(raw))
        if python_type is date:
            return date.fromisoformat(raw)
        if python_type is Decimal:
            return Decimal(raw)
        if python_type is int:
            return int(raw)
    except (ValueError, InvalidOperation) as exc:
        raise ValidationFailed(
            "invalid filter", [Problem(f"{raw!r} is not a valid {python_type.__name__}", name)]
        ) from exc
    return raw


def _sort_clause(resource: Resource[Any], sort: str | None) -> list[Any]:
    key = (sort or resource.default_sort).strip()
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name not in resource.sort_fields:
        allowed = ", ".join(resource.sort_fields)
        raise ValidationFailed(
            "invalid sort", [Problem(f"{name!r} is not sortable (sortable: {allowed})", "sort")]
        )
    column = resource.column(name)
    primary = column.desc() if descending else column.asc()
    tiebreak = resource.column("id")
    return [primary, tiebreak.desc() if descending else tiebreak.asc()]


def filter_clauses(
    resource: Resource[Any], filters: Mapping[str, str], search: str | None
) -> list[ColumnElement[bool]]:
    """WHERE clauses for `field=value`, `field_from`/`field_to` ranges and a text search."""
    clauses: list[ColumnElement[bool]] = []
    problems: list[Problem] = []
    for key, raw in filters.items():
        if key in resource.filter_fields:
            values = [_coerce(resource, key, part) for part in str(raw).split(",")]
            column = resource.column(key)
            if values == [None]:
                clauses.append(column.is_(None))
            elif len(values) == 1:
                clauses.append(column == values[0])
            else:
                clauses.append(column.in_(values))
        elif key.endswith(("_from", "_to")) and key.rsplit("_", 1)[0] in resource.range_fields:
            name, end = key.rsplit("_", 1)
            value = _coerce(resource, name, raw)
            column = resource.column(name)
            clauses.append(column >= value if end == "from" else column <= value)
        else:
            problems.append(Problem(f"unknown filter {key!r}", key))
    if problems:
        allowed = list(resource.filter_fields) + [f"{f}_from/{f}_to" for f in resource.range_fields]
        raise ValidationFailed(f"invalid filters (allowed: {', '.join(allowed)})", problems)
    if search and resource.search_fields:
        pattern = f"%{search.strip().lower()}%"
        clauses.append(
            or_(
                *(
                    func.lower(cast(resource.column(f), String)).like(pattern)
                    for f in resource.search_fields
                )
            )
        )
    return clauses


def list_records(
    session: Session,
    resource: Resource[M],
    *,
    scope: Scope,
    filters: Mapping[str, str] | None = None,
    search: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
    where: Sequence[ColumnElement[bool]] = (),
) -> Page[M]:
    """A page of the rows of `resource` the scope may see, filtered and sorted."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            "invalid page", [Problem(f"limit must be between 1 and {MAX_LIMIT}", "limit")]
        )
    if offset < 0:
        raise ValidationFailed("invalid page", [Problem("offset must not be negative", "offset")])
    clauses = [resource.visible(scope), *filter_clauses(resource, filters or {}, search), *where]
    query = select(resource.model).where(*clauses)
    items = list(
        session.scalars(
            query.order_by(*_sort_clause(resource, sort)).limit(limit).offset(offset)
        ).unique()
    )
    if (items and len(items) < limit) or (not items and offset == 0):
        # The page holds the last match: the total needs no second query.
        return Page(items, offset + len(items), limit, offset)
    # Counted on a constant, not the rows, so an index that holds the filtered columns serves it.
    matches = select(literal(1)).select_from(resource.model).where(*clauses)
    total, at_least = count_bounded(session, matches, max(COUNT_LIMIT, offset + limit))
    return Page(items, total, limit, offset, at_least)


def get_record(session: Session, resource: Resource[M], record_id: int, *, scope: Scope) -> M:
    """The row `record_id`, or NotFound when it does not exist or is outside the scope."""
    row = session.scalar(
        select(resource.model).where(resource.column("id") == record_id, resource.visible(scope))
    )
    if row is None:
        raise not_visible(resource.name, record_id)
    return row


def _require_write(resource: Resource[Any], scope: Scope, action: str) -> None:
    if resource.write == "planning":
        scope.require_planning(f"{action} {resource.name}s")
    elif resource.write == "admin":
        scope.require_admin(f"{action} {resource.name}s")
    else:
        scope.require_record_write(f"{action} {resource.name}s")


def _reference_visible(
    session: Session, column: Any, value: int, scope: Scope, resources: Mapping[str, Resource[Any]]
) -> bool:
    target = next(iter(column.foreign_keys)).column
    resource = resources.get(target.table.name)
    if resource is None:  # products, stages, users: not scoped, but they must exist
        return session.scalar(select(target).where(target == value)) is not None
    query = select(resource.column("id")).where(resource.column("id") == value)
    if not scope.sees_all:
        query = query.where(resource.visible(scope))
    return session.scalar(query) is not None


def _check_links(
    session: Session, resource: Resource[Any], scope: Scope, obj: Base, changed: Iterable[str]
) -> None:
    """Every record a write points at must exist and be inside the caller's scope.

    A reference the caller cannot see is refused with the same message as one that does not
    exist, so the answer never reveals which ids exist elsewhere.
    """
    from salesops.crm.resources import BY_TABLE

    changed = set(changed)
    if resource.owner_field and resource.owner_field in changed:
        scope.require_owner(getattr(obj, resource.owner_field), f"give a {resource.name}")
    problems: list[Problem] = []
    for column in obj.__table__.columns:
        value = getattr(obj, column.key, None)
        if not column.foreign_keys or column.key not in changed or value is None:
            continue
        if not _reference_visible(session, column, value, scope, BY_TABLE):
            kind = next(iter(column.foreign_keys)).column.table.name
            problems.append(Problem(f"there is no {kind} record {value} you can see", column.key))
    if problems:
        raise ValidationFailed(f"this {resource.name} points at records it cannot use", problems)


def _flush(session: Session, resource: Resource[Any], record_id: object = "") -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise Conflict(f"{resource.name} conflicts with existing data: {reason}") from exc
    except StaleDataError as exc:
        raise versioning.lost_race(resource.name, record_id) from exc


def _column_name(obj: Base, key: str) -> str:
    return obj.__mapper__.column_attrs[key].columns[0].name


def _assign(resource: Resource[Any], obj: Base, values: Mapping[str, Any]) -> None:
    columns = {c.key for c in obj.__mapper__.column_attrs}
    problems = [
        Problem("unknown or read-only field", key)
        for key in values
        if key not in columns or key in resource.read_only_fields or key == "version"
    ]
    if problems:
        raise ValidationFailed(f"cannot set these {resource.name} fields", problems)
    table = obj.__table__
    problems = [
        Problem(f"{key} {reason}", key)
        for key, value in values.items()
        if (reason := problem_with(table.c[_column_name(obj, key)], value))
    ]
    if problems:
        raise ValidationFailed(f"invalid {resource.name} values", problems)
    for key, value in values.items():
        setattr(obj, key, value)


def create_record(
    session: Session, resource: Resource[M], values: Mapping[str, Any], *, scope: Scope
) -> M:
    """Create a row; a rep's records default to being theirs."""
    _require_write(resource, scope, "create")
    obj = resource.model()
    values = dict(values)
    if resource.owner_field and values.get(resource.owner_field) is None:
        values[resource.owner_field] = scope.own_rep_id
    if resource.check_write:
        resource.check_write("create", obj, values)
    _assign(resource, obj, values)
    _check_links(session, resource, scope, obj, values)
    session.add(obj)
    _flush(session, resource)
    audit.record(
        session,
        user_id=scope.user_id,
        action="create",
        entity=resource.name,
        entity_id=getattr(obj, "id", None),
        changes=audit.diff({}, values_of(obj)),
    )
    return obj


def update_record(
    session: Session,
    resource: Resource[M],
    obj: M,
    values: Mapping[str, Any],
    *,
    scope: Scope,
    expected: Sequence[versioning.Expected | None] = (),
) -> M:
    """Change fields of a row the scope can see, keeping it inside the scope; refused as
    stale when `expected` names a version the row no longer has."""
    _require_write(resource, scope, "change")
    versioning.check(obj, resource.name, *expected)
    if resource.check_write:
        resource.check_write("update", obj, dict(values))
    before = values_of(obj)
    _assign(resource, obj, values)
    _check_links(session, resource, scope, obj, values)
    _flush(session, resource, getattr(obj, "id", ""))
    changes = audit.diff(before, values_of(obj))
    if changes:
        audit.record(
            session,
            user_id=scope.user_id,
            action="update",
            entity=resource.name,
            entity_id=getattr(obj, "id", None),
            changes=changes,
        )
    return obj


def delete_record(
    session: Session,
    resource: Resource[M],
    obj: M,
    *,
    scope: Scope,
    expected: Sequence[versioning.Expected | None] = (),
) -> None:
    """Delete a row the scope can see (refused while other records still point at it)."""
    _require_write(resource, scope, "delete")
    versioning.check(obj, resource.name, *expected)
    if resource.check_write:
        resource.check_write("delete", obj, {})
    before = values_of(obj)
    session.delete(obj)
    _flush(session, resource, before.get("id", ""))
    audit.record(
        session,
        user_id=scope.user_id,
        action="delete",
        entity=resource.name,
        entity_id=before.get("id"),
        changes=audit.diff(before, {}),
    )
