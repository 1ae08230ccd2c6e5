"""Export what you see: any table or chart of a dashboard page downloads as CSV.

The download is the page's own route asked with `?export=NAME`: the same code builds the same
context (same filters, same scoping, same cache), and `render` answers with that table or
chart as CSV instead of the HTML. A page only has to render through `render` and declare its
tables (`table(...)`: which rows of the context, which columns); charts need nothing more,
their CSV is read from the Plotly spec the page draws. Templates add the links with the
macros `csv_link` and `chart(..., csv=...)` of `partials/macros.html` (see docs/web.md).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from salesops.csvsafe import csv_lines
from salesops.errors import NotFound
from salesops.web.templating import templates

EXPORT_PARAM = "export"
Getter = Callable[[Any], Any]
# Rows to a CSV: a context key ("leaders", "health.stalled_biggest") or a function.
RowSource = str | Callable[[Mapping[str, Any]], Iterable[Any]]


def _path(value: Any, dotted: str) -> Any:
    """`a.b.c` of dicts, objects or a mix (None as soon as a step is missing)."""
    for part in dotted.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value


@dataclass(frozen=True)
class Table:
    """One exportable table of a page: where its rows are and the columns to write."""

    rows: RowSource
    columns: tuple[tuple[str, Getter], ...]

    def records(self, context: Mapping[str, Any]) -> Iterable[list[Any]]:
        rows = _path(context, self.rows) if isinstance(self.rows, str) else self.rows(context)
        for row in rows or ():
            yield [get(row) for _, get in self.columns]

    @property
    def header(self) -> list[str]:
        return [name for name, _ in self.columns]


_TABLES: dict[tuple[str, str], Table] = {}


def table(
    template: str,
    name: str,
    columns: Sequence[tuple[str, str | Getter]],
    *,
    rows: RowSource | None = None,
) -> None:
    """Declare table `name` of the page rendered by `template`.

    `columns` are (header, key path or function of the row); `rows` defaults to `name`.
    """
    getters = tuple((header, _getter(get)) for header, get in columns)
    _TABLES[(template, name)] = Table(rows if rows is not None else name, getters)


def _getter(get: str | Getter) -> Getter:
    if isinstance(get, str):
        return lambda row: _path(row, get)
    return get


def export_url(request: Request, name: str) -> str:
    """This page's URL (with its filters) asking for table or chart `name` as CSV."""
    params = {k: v for k, v in request.query_params.items() if k not in (EXPORT_PARAM, "page")}
    params[EXPORT_PARAM] = name
    return f"{request.url.path}?{urlencode(params)}"


templates.env.globals["export_url"] = export_url


def _filename(request: Request, name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", f"{request.url.path} {name}".lower()).strip("-")
    period = request.query_params.get("period") or request.cookies.get("salesops_filters", "")
    match = re.search(r"\d{4}(?:-Q\d|-\d\d)?", period)
    return f"{slug or 'overview'}{'-' + match.group(0) if match else ''}.csv"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Response:
    return StreamingResponse(
        csv_lines(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """The page, or with `?export=NAME` its table or chart NAME as CSV."""
    name = request.query_params.get(EXPORT_PARAM)
    if not name:
        return templates.TemplateResponse(request, template, context, status_code=status_code)
    spec = _TABLES.get((template, name))
    if spec is not None:
        header, rows = spec.header, spec.records(context)
    elif isinstance(context.get(name), str) and name.endswith(("chart", "spec")):
        header, rows = chart_table(context[name])
    else:
        raise NotFound(f"this page has no table or chart called {name!r}")
    return csv_response(_filename(request, name), header, rows)


def _array(value: Any) -> list[Any]:
    """A Plotly data array: a list, or the typed array Plotly 6 writes for numpy data."""
    if isinstance(value, Mapping) and "bdata" in value:
        raw = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return raw.tolist()  # type: ignore[no-any-return]
    return list(value or [])


def chart_table(spec_json: str) -> tuple[list[str], list[list[Any]]]:
    """The figures a Plotly chart draws: one row per category, one column per trace.

    A waterfall's totals are the running sums it draws; error bars become their own columns.
    """
    traces = json.loads(spec_json).get("data", [])
    categories: list[Any] = []
    columns: list[tuple[str, dict[Any, Any]]] = []
    for i, trace in enumerate(traces):
        horizontal = trace.get("orientation") == "h" or trace.get("type") == "funnel"
        labels = _array(trace.get("y" if horizontal else "x"))
        values = _array(trace.get("x" if horizontal else "y"))
        if trace.get("type") == "waterfall":
            values = _running(values, trace.get("measure") or [])
        name = trace.get("name") or ("value" if len(traces) == 1 else f"series {i + 1}")
        for label in labels:
            if label not in categories:
                categories.append(label)
        columns.append((name, dict(zip(labels, values, strict=False))))
        errors = trace.get("error_y") or {}
        if errors.get("array") is not None:
            plus = dict(zip(labels, _array(errors["array"]), strict=False))
            minus = dict(zip(labels, _array(errors.get("arrayminus")), strict=False))
            base = columns[-1][1]
            columns.append((f"{name} low", _offset(base, minus, -1)))
            columns.append((f"{name} high", _offset(base, plus, 1)))
    header = ["category", *(name for name, _ in columns)]
    return header, [[c, *(col.get(c) for _, col in columns)] for c in categories]


def _running(values: list[Any], measures: list[str]) -> list[Any]:
    total, out = 0.0, []
    for value, measure in zip(values, measures, strict=False):
        total = float(value) if measure == "absolute" else total + float(value or 0)
        out.append(total if measure == "total" else value)
    return out


def _offset(base: Mapping[Any, Any], by: Mapping[Any, Any], sign: int) -> dict[Any, Any]:
    return {
        k: (float(v) + sign * float(by[k]) if v is not None and by.get(k) is not None else None)
        for k, v in base.items()
    }
