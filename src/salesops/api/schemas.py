"""Pydantic schemas derived from the ORM models, so the API can never drift from the tables."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.orm import Mapped

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
    """A page of a list: `total` rows match; this page starts at `offset`."""

    items: list[T]
    total: int
    limit: int
    offset: int


class _ServicePage(Protocol):
    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def total(self) -> int: ...


def page_body(page: _ServicePage, *, limit: int, offset: int) -> dict[str, Any]:
    """The response body of a `Page` from a service's page of rows and the request's window."""
    return {"items": page.items, "total": page.total, "limit": limit, "offset": offset}


def _field_types(model: type[Base]) -> dict[str, Any]:
    hints = typing.get_type_hints(model, include_extras=False)
    columns = {c.key for c in model.__mapper__.column_attrs}
    types: dict[str, Any] = {}
    for name, hint in hints.items():
        if name in columns and typing.get_origin(hint) is Mapped:
            types[name] = typing.get_args(hint)[0]
    return types


def _optional(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def read_schema(model: type[Base], name: str) -> type[BaseModel]:
    """Every column of `model`, as returned by the API."""
    fields: dict[str, Any] = {n: (tp, ...) for n, tp in _field_types(model).items()}
    return create_model(name, __config__=ConfigDict(from_attributes=True), **fields)


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
        if _optional(tp) or has_default or column_name in soft:
            fields[column_name] = (tp | None, None)
        else:
            fields[column_name] = (tp, ...)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


def update_schema(model: type[Base], name: str, *, exclude: Iterable[str] = ()) -> type[BaseModel]:
    """Every writable column, all optional: send only what changes (PATCH)."""
    skip = NEVER_WRITTEN | set(exclude)
    types = _field_types(model)
    fields: dict[str, Any] = {n: (tp | None, None) for n, tp in types.items() if n not in skip}
    if "version" in types:
        fields["version"] = (int | None, Field(None, ge=1, description=VERSION_HELP))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
