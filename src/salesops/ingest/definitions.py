"""Definition files: YAML read with the line of every key, and a checker that collects problems.

Import mappings were the first definition files; comp plans (and later scenarios, playbooks,
approval rules) use the same reader and checker so every one of them reports each problem as
`file:line: field.path: why`, all at once, before anything runs. `Checker` holds the generic
value readers (text, numbers, dates, allowed keys); a format's parser subclasses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from salesops.errors import Problem, ValidationFailed


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data, its display name and the 1-based line of each path."""

    name: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)


def _index(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines)
            lines[child] = key.start_mark.line + 1  # the key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, f"{path}[{i}]", lines)


def index_lines(node: yaml.Node | None) -> dict[str, int]:
    """The 1-based line of every path (`files[0].outputs[1].fields.amount`) under `node`."""
    lines: dict[str, int] = {}
    if node is not None:
        _index(node, "", lines)
    return lines


def parse_yaml(text: str, name: str, what: str = "definition") -> Document:
    """Parse YAML `text`; a syntax error is a ValidationFailed naming `name:line`."""
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        raise ValidationFailed(f"{what} is not valid YAML", [Problem(str(exc), where)]) from exc
    return Document(name, data, index_lines(node))


def read_yaml(path: Path, what: str = "definition") -> Document:
    """Read and parse the YAML file at `path` (unreadable or invalid: ValidationFailed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = Problem(str(exc), str(path))
        raise ValidationFailed(f"cannot read {what} {path}", [problem]) from exc
    return parse_yaml(text, path.name, what)


def relocated(exc: ValidationFailed, document: Document) -> ValidationFailed:
    """`exc`, raised by a parser that located problems as `name: path` without lines, with
    each problem given the line of its path in `document` (parse first, locate afterwards)."""
    checker = Checker(document.name, document.lines)
    prefix = f"{document.name}: "
    problems = [
        Problem(p.message, checker.locate(p.location[len(prefix) :]))
        if p.location.startswith(prefix)
        else p
        for p in exc.problems
    ]
    return ValidationFailed(exc.message, problems)


class Checker:
    """Collects problems with their location; `lines` (from a Document) adds line numbers."""

    def __init__(self, name: str, lines: dict[str, int] | None = None) -> None:
        self.name = name
        self.lines = lines or {}
        self.problems: list[Problem] = []

    def line(self, where: str) -> int | None:
        """The line of `where`, or of its nearest ancestor that the file spells out."""
        path = where
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    def locate(self, where: str) -> str:
        """`file:line: path` (or `file: path` when the file does not spell the path out)."""
        line = self.line(where)
        name = f"{self.name}:{line}" if line else self.name
        return f"{name}: {where}" if where else name

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(message, self.locate(where)))

    def keys(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                at = f"{where}.{key}" if where else str(key)
                self.problem(at, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")

    def text(self, data: dict[str, Any], key: str, where: str, default: str | None = None) -> Any:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str | int | float):
            self.problem(f"{where}.{key}", f"expected text, got {type(value).__name__}")
            return default
        return None if value is None else str(value)

    def texts(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem(where, "expected text or a list of texts")
        return ()

    def whole(self, value: Any, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(where, f"expected a whole number, got {value!r}")
            return 0
        return value

    def decimal(self, value: Any, where: str) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool):
            self.problem(where, f"expected a number, got {value!r}")
            return None
        try:
            raw = str(value).strip()
            # "12.5%" reads as 0.125: plan authors write rates the way plan documents do.
            number = Decimal(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
        except InvalidOperation:
            self.problem(where, f"expected a number, got {value!r}")
            return None
        if not number.is_finite():
            self.problem(where, f"expected a finite number, got {value!r}")
            return None
        return number

    def day(self, value: Any, where: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(where, f"expected a date (YYYY-MM-DD), got {value!r}")
            return None

    def fail(self, message: str) -> None:
        """Raise every problem collected so far, if any."""
        if self.problems:
            raise ValidationFailed(message, self.problems)
