"""A router factory for the plain CRUD resources: list, read, create, update, delete.

No `from __future__ import annotations` here: FastAPI must see the request body models,
built per resource at run time, as real annotations.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from salesops.api.deps import CurrentUser, SessionDep
from salesops.api.schemas import (
    ErrorResponse,
    Page,
    create_schema,
    page_body,
    read_schema,
    update_schema,
)
from salesops.auth.scoping import Scope
from salesops.crm import records, versioning
from salesops.crm.records import Resource

RESERVED_PARAMS = frozenset({"limit", "offset", "sort", "q"})
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422)
}

# A write may name the version it is based on: a stale one is 409 (body) or 412 (If-Match).
STALE_ERRORS: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorResponse, "description": "If-Match names a version no longer current"}
}
IF_MATCH_HELP = (
    'the ETag you read (e.g. "3"): the change is refused with 412 when the record has changed since'
)
IfMatch = Header(None, alias="If-Match", description=IF_MATCH_HELP)

CreateFn = Callable[[Session, dict[str, Any], Scope], Any]


def tagged(response: Response, obj: Any) -> Any:
    """Return `obj` with its version as the response's ETag."""
    response.headers["ETag"] = versioning.etag(obj)
    return obj


def list_filters(request: Request) -> dict[str, str]:
    """Query parameters other than paging, sorting and search: they filter the list."""
    return {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMS}


def filter_help(resource: Resource[Any]) -> str:
    ranges = ", ".join(f"`{f}_from`/`{f}_to`" for f in resource.range_fields) or "none"
    equals = ", ".join(f"`{f}`" for f in resource.filter_fields) or "none"
    search = ", ".join(resource.search_fields) or "nothing"
    sorts = ", ".join(resource.sort_fields)
    return (
        f"Filters: {equals} (equality; comma-separated values mean any of them). "
        f"Ranges: {ranges}. `q` searches {search}. "
        f"`sort` is one of {sorts}, prefixed with `-` for descending."
    )


def crud_router(
    resource: Resource[Any],
    *,
    path: str,
    tag: str,
    read: type[BaseModel] | None = None,
    create: type[BaseModel] | None = None,
    update: type[BaseModel] | None = None,
    create_fn: CreateFn | None = None,
    allow_delete: bool = True,
) -> APIRouter:
    """Mount list/get/create/patch/delete for `resource` under `path`."""
    model = resource.model
    title = model.__name__
    read_model: Any = read or read_schema(model, f"{title}Read")
    create_model: Any = create or create_schema(model, f"{title}Create")
    update_model: Any = update or update_schema(model, f"{title}Update")
    page_model: Any = Page[read_model]
    router = APIRouter(prefix=path, tags=[tag], responses=ERRORS)

    @router.get("", response_model=page_model, summary=f"List {resource.name} records")
    def list_(
        request: Request,
        session: SessionDep,
        who: CurrentUser,
        limit: int = Query(50, ge=1, le=records.MAX_LIMIT),
        offset: int = Query(0, ge=0),
        sort: str | None = Query(None, description="field, or -field for descending"),
        q: str | None = Query(None, description="text search"),
    ) -> Any:
        page = records.list_records(
            session,
            resource,
            scope=who.scope,
            filters=list_filters(request),
            search=q,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        return page_body(page, limit=limit, offset=offset)

    list_.__doc__ = filter_help(resource)

    @router.get("/{record_id}", response_model=read_model, summary=f"Read one {resource.name}")
    def get(record_id: int, response: Response, session: SessionDep, who: CurrentUser) -> Any:
        return tagged(response, records.get_record(session, resource, record_id, scope=who.scope))

    @router.post(
        "", response_model=read_model, status_code=201, summary=f"Create a {resource.name}"
    )
    def post(body: create_model, response: Response, session: SessionDep, who: CurrentUser) -> Any:
        values = body.model_dump(exclude_unset=True)
        if create_fn is not None:
            return tagged(response, create_fn(session, values, who.scope))
        return tagged(response, records.create_record(session, resource, values, scope=who.scope))

    @router.patch(
        "/{record_id}",
        response_model=read_model,
        summary=f"Change fields of a {resource.name}",
        responses=STALE_ERRORS,
    )
    def patch(
        record_id: int,
        body: update_model,
        response: Response,
        session: SessionDep,
        who: CurrentUser,
        if_match: str | None = IfMatch,
    ) -> Any:
        obj = records.get_record(session, resource, record_id, scope=who.scope)
        values = body.model_dump(exclude_unset=True)
        body_version = versioning.from_body(values.pop("version", None))
        expected = (versioning.from_if_match(if_match), body_version)
        updated = records.update_record(
            session, resource, obj, values, scope=who.scope, expected=expected
        )
        return tagged(response, updated)

    if allow_delete:

        @router.delete(
            "/{record_id}",
            status_code=204,
            summary=f"Delete a {resource.name}",
            responses=STALE_ERRORS,
        )
        def delete(
            record_id: int, session: SessionDep, who: CurrentUser, if_match: str | None = IfMatch
        ) -> Response:
            obj = records.get_record(session, resource, record_id, scope=who.scope)
            expected = (versioning.from_if_match(if_match),)
            records.delete_record(session, resource, obj, scope=who.scope, expected=expected)
            return Response(status_code=204)

    return router
