"""Pydantic schemas derived from the ORM models, so the API can never drift from the tables."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    create_model,
)
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Mapped

from salesops.db.attributes import attribute_problems
from salesops.db.limits import DATE_MAX, DATE_MIN, field_bounds
from salesops.models import Base

T = TypeVar("T")

# Imported rows keep their source identity; it is set by importers, not by API clients.
# `version` is kept by the database; a PATCH may name it as a precondition (VERSION_FIELD).
NEVER_WRITTEN = frozenset({"id", "created_at", "source_system", "external_id", "version"})
VERSION_HELP = (
    "the version you read (from the record or its ETag): the change is refused with 409 when"
    " the record has changed since; leave it out to change whatever version is current"
)


class Error(BaseModel):
    """One problem with a request, with where it is (`field`, `query.limit`...)."""

    message: str
    location: str = ""


class ErrorBody(BaseModel):
    type: str
    message: str
    problems: list[Error] = []


class ErrorResponse(BaseModel):
    """The shape of every error the API returns."""

    error: ErrorBody


class Page(BaseModel, Generic[T]):
    """A page of a list: `total` rows match; this page starts at `offset`.

    Totals are exact up to 10,000 rows (or the end of the requested page, when further); past
    that counting stops, `total` is that bound and `total_at_least` is true.
    """

    items: list[T]
    total: int = Field(description="rows that match (a lower bound when total_at_least)")
    limit: int
    offset: int
    total_at_least: bool = Field(
        False, description="true when more than `total` rows match: counting stopped there"
    )


class _ServicePage(Protocol):
    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def total(self) -> int: ...


def page_body(page: _ServicePage, *, limit: int, offset: int) -> dict[str, Any]:
    """The response body of a `Page` from a service's page of rows and the request's window."""
    return {
        "items": page.items,
        "total": page.total,
        "limit": limit,
        "offset": offset,
        # Only list services with bounded counts (crm.records) say so; the others count exactly.
        "total_at_least": bool(getattr(page, "total_at_least", False)),
    }


def _checked_attributes(value: dict[str, Any] | None) -> dict[str, Any] | None:
    problems = attribute_problems(value)
    if problems:
        raise ValueError("; ".join(problems))
    return value


# Custom attributes (accounts, opportunities): flat name -> text, number or boolean, within
# the bounds of db/attributes.py (a 422 names the attribute, the store never sees the rest).
Attributes = Annotated[
    dict[StrictStr, StrictStr | StrictBool | StrictInt | StrictFloat | None],
    AfterValidator(_checked_attributes),
]


def _field_types(model: type[Base]) -> dict[str, Any]:
    hints = typing.get_type_hints(model, include_extras=False)
    columns = {c.key for c in model.__mapper__.column_attrs}
    types: dict[str, Any] = {}
    for name, hint in hints.items():
        if name in columns and typing.get_origin(hint) is Mapped:
            types[name] = typing.get_args(hint)[0]
            if name == "attributes" and model.__tablename__ in ("accounts", "opportunities"):
                types[name] = Attributes | None
    return types


def _optional(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


# Decimals leave the API as plain decimal strings ("0.00000000", "1000.00"), never in exponent
# notation ("0E-8", "1E+3"), which spreadsheets and many JSON clients misread.
PlainDecimal = Annotated[
    Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
]


def _plain_decimals(tp: Any) -> Any:
    if tp is Decimal:
        return PlainDecimal
    if _optional(tp) and Decimal in typing.get_args(tp):
        return PlainDecimal | None
    return tp


def read_schema(model: type[Base], name: str) -> type[BaseModel]:
    """Every column of `model`, as returned by the API."""
    fields: dict[str, Any] = {
        n: (_plain_decimals(tp), ...) for n, tp in _field_types(model).items()
    }
    return create_model(name, __config__=ConfigDict(from_attributes=True), **fields)


def _bounded(column: ColumnElement[Any], tp: Any, default: Any) -> Any:
    """A field default carrying the column's domain range, so bad values are a 422 and the
    OpenAPI document says what is accepted."""
    bounds = field_bounds(column)
    if date in (tp, *typing.get_args(tp)):
        bounds = {"ge": DATE_MIN, "le": DATE_MAX}
    return Field(default, **bounds)


def create_schema(
    model: type[Base], name: str, *, exclude: Iterable[str] = (), optional: Iterable[str] = ()
) -> type[BaseModel]:
    """The writable columns; required when the column is NOT NULL without a default."""
    skip = NEVER_WRITTEN | set(exclude)
    soft = set(optional)
    fields: dict[str, Any] = {}
    for column_name, tp in _field_types(model).items():
        if column_name in skip:
            continue
        column = model.__table__.c[column_name]
        has_default = column.default is not None or column.server_default is not None
        if _optional(tp) or column_name in soft:
            fields[column_name] = (tp | None, _bounded(column, tp, None))
        elif has_default:
            # Leave it out for the default; an explicit null cannot be stored.
            fields[column_name] = (tp, _bounded(column, tp, None))
        else:
            fields[column_name] = (tp, _bounded(column, tp, ...))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


def update_schema(model: type[Base], name: str, *, exclude: Iterable[str] = ()) -> type[BaseModel]:
    """Every writable column, all optional: send only what changes (PATCH)."""
    skip = NEVER_WRITTEN | set(exclude)
    fields: dict[str, Any] = {}
    for column_name, tp in _field_types(model).items():
        if column_name in skip:
            continue
        column = model.__table__.c[column_name]
        # A NOT NULL column may be left out of a PATCH, but not set to null.
        nullable_type = tp | None if _optional(tp) else tp
        fields[column_name] = (nullable_type, _bounded(column, tp, None))
    if "version" in _field_types(model):
        fields["version"] = (int | None, Field(None, ge=1, description=VERSION_HELP))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
