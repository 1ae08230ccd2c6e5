"""What the runners of one import share, records in the making, and reading a field's text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from salesops.db.bulk import BulkInserter
from salesops.ingest.mapping import PLACEHOLDER, FieldSpec, Mapping
from salesops.ingest.rejects import RejectSink
from salesops.ingest.resolve import RefResolver, StageRegistry
from salesops.ingest.spec import Choice, Condition
from salesops.ingest.summary import ImportSummary
from salesops.models import Base

# Stands for the mapping's default owner until a new row needs its id (`Context.default_owner`).
DEFAULT_OWNER = object()


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
    _default_owner: int | None = None
    inserters: dict[str, BulkInserter] = field(default_factory=dict)
    # Currencies a row may carry: the reporting one and those with an exchange rate.
    rated_currencies: frozenset[str] = frozenset()

    def inserter(self, table: str) -> BulkInserter:
        if table not in self.inserters:
            self.inserters[table] = BulkInserter(self.connection, Base.metadata.tables[table])
        return self.inserters[table]

    def default_owner(self) -> int:
        """The id of the mapping's default owner: a rep of this source, created on first use."""
        if self._default_owner is None:
            owner = self.mapping.default_owner
            source = self.mapping.source_system
            found = self.resolver.lookup("reps", "external_id", [owner.key]).get(owner.key)
            if found is None:
                self.inserter("reps").insert(
                    [{"source_system": source, "external_id": owner.key, "name": owner.name}]
                )
                self.summary.table("reps").inserted += 1
                found = self.resolver.lookup("reps", "external_id", [owner.key])[owner.key]
            self._default_owner = found[0]
        return self._default_owner


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
    if spec.cases or spec.otherwise is not None:
        return conditional_getter(spec, index, file_name)
    if spec.value is not None:
        constant = spec.value
        return lambda values, line: constant
    if spec.column is not None:
        position = index[spec.column]
        return lambda values, line: values[position].strip() if position < len(values) else ""
    if spec.template:
        return template_getter(spec.template, index, file_name)
    return lambda values, line: ""


def _part(parts: dict[str, str], match: re.Match[str]) -> str:
    return parts[match.group(1)]


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
                # Not str.format: a column name may hold "." or "[" (`won.Company`).
                return PLACEHOLDER.sub(partial(_part, parts), template)
        return ""

    return get


def _choice_getter(choice: Choice | None, index: dict[str, int], file_name: str) -> Getter:
    if choice is None:
        return lambda values, line: ""
    return getter(
        FieldSpec("", column=choice.column, template=choice.template, value=choice.value),
        index,
        file_name,
    )


def _test(condition: Condition, index: dict[str, int]) -> Callable[[list[str]], bool]:
    position = index[condition.column]

    def text(values: list[str]) -> str:
        return values[position].strip() if position < len(values) else ""

    match condition.test:
        case "present":
            return lambda values: bool(text(values))
        case "empty":
            return lambda values: not text(values)
        case "matches":
            pattern = condition.pattern
            assert pattern is not None
            return lambda values: pattern.search(text(values)) is not None
        case "equals":
            wanted = set(condition.values)
            return lambda values: text(values).casefold() in wanted
        case _:
            unwanted = set(condition.values)
            return lambda values: text(values).casefold() not in unwanted


def conditional_getter(spec: FieldSpec, index: dict[str, int], file_name: str) -> Getter:
    """The text of the first case whose conditions all hold, else of `else` (else empty)."""
    cases = [
        ([_test(c, index) for c in case.when], _choice_getter(case.then, index, file_name))
        for case in spec.cases
    ]
    otherwise = _choice_getter(spec.otherwise, index, file_name)

    def get(values: list[str], line: int) -> str:
        for tests, then in cases:
            if all(test(values) for test in tests):
                return then(values, line)
        return otherwise(values, line)

    return get
