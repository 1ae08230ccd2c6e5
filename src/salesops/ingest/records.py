"""What the runners of one import share, records in the making, and reading a field's text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from salesops.db.bulk import BulkInserter
from salesops.ingest.mapping import PLACEHOLDER, FieldSpec, Mapping
from salesops.ingest.rejects import RejectSink
from salesops.ingest.resolve import RefResolver, StageRegistry
from salesops.ingest.summary import ImportSummary
from salesops.models import Base


class Rejected(Exception):
    """A row cannot be imported; the message says why (`record`: what was built of it)."""

    def __init__(self, message: str, record: Record | None = None) -> None:
        super().__init__(message)
        self.record = record


@dataclass
class Context:
    """What every output runner of one import shares."""

    connection: Connection
    mapping: Mapping
    as_of: datetime
    summary: ImportSummary
    rejects: RejectSink
    resolver: RefResolver
    stages: StageRegistry
    inserters: dict[str, BulkInserter] = field(default_factory=dict)
    # Currencies a row may carry: the reporting one and those with an exchange rate.
    rated_currencies: frozenset[str] = frozenset()

    def inserter(self, table: str) -> BulkInserter:
        if table not in self.inserters:
            self.inserters[table] = BulkInserter(self.connection, Base.metadata.tables[table])
        return self.inserters[table]


class Record:
    __slots__ = ("cols", "extra", "insert_only", "key", "line", "refs", "values")

    def __init__(self, line: int, values: list[str]) -> None:
        self.line = line
        self.values = values
        self.key: Any = None
        self.cols: dict[str, Any] = {}
        self.refs: dict[str, str] = {}
        self.insert_only: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}


Getter = Callable[[list[str], int], str]


def getter(spec: FieldSpec, index: dict[str, int], file_name: str) -> Getter:
    if spec.value is not None:
        constant = spec.value
        return lambda values, line: constant
    if spec.column is not None:
        position = index[spec.column]
        return lambda values, line: values[position].strip() if position < len(values) else ""
    if spec.template:
        return template_getter(spec.template, index, file_name)
    return lambda values, line: ""


def template_getter(templates: tuple[str, ...], index: dict[str, int], file_name: str) -> Getter:
    compiled = []
    for template in templates:
        names = PLACEHOLDER.findall(template)
        compiled.append((template, [(n, index.get(n, -1)) for n in names]))

    def get(values: list[str], line: int) -> str:
        for template, names in compiled:
            parts: dict[str, str] = {}
            for name, position in names:
                if name == "_line":
                    parts[name] = str(line)
                elif name == "_file":
                    parts[name] = file_name
                else:
                    parts[name] = values[position].strip() if 0 <= position < len(values) else ""
            if all(parts.values()):
                return template.format_map(parts)
        return ""

    return get
