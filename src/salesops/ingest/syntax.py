"""Parts of the mapping format beyond files, outputs and fields (docs/importing.md).

Conditional fields (`if_present` / `if_empty` / `cases`), joins of two files of one import,
constant keys, the default owner, and how deals got where they are (`lifecycle`,
`stage_history`). Parsed with the parser of the rest of a mapping (`salesops.ingest.mapping`),
so every problem is reported at once with its location. Nothing here evaluates code: a
condition is a column and one of a few fixed tests.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from salesops.ingest.spec import (
    PLACEHOLDER,
    Case,
    Choice,
    Condition,
    DefaultOwner,
    FieldSpec,
    FileFormat,
    JoinSpec,
    LifecycleSpec,
    StageHistorySpec,
)

if TYPE_CHECKING:
    from salesops.ingest.mapping import _Parser

CONDITIONAL_KEYS = {"cases", "if_present", "if_empty", "then", "else"}
TESTS = ("present", "empty", "equals", "not_equals", "in", "matches")
JOIN_DUPLICATES = ("error", "first", "last")


def choice(p: _Parser, data: Any, where: str) -> Choice | None:
    """A branch's text: a constant (plain text or `value`), a `column` or a `template`."""
    if isinstance(data, str | int | float) and not isinstance(data, bool):
        return Choice(value=str(data))
    if not isinstance(data, dict):
        p.problem(where, "expected a constant, or {column: ...}, {template: ...}, {value: ...}")
        return None
    p.keys(data, {"value", "column", "template"}, where)
    given = [k for k in ("value", "column", "template") if k in data]
    if len(given) != 1:
        p.problem(where, f"give exactly one of value, column, template (got {given or 'none'})")
        return None
    if "template" in data:
        return Choice(template=p.texts(data["template"], f"{where}.template"))
    text = data[given[0]]
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        p.problem(f"{where}.{given[0]}", f"expected text, got {type(text).__name__}")
        return None
    return Choice(value=str(text)) if given[0] == "value" else Choice(column=str(text))


def condition(p: _Parser, data: Any, where: str) -> Condition | None:
    """`{column: C, <test>: ...}` with one test: present, empty, equals, not_equals, in, matches."""
    if not isinstance(data, dict) or not isinstance(data.get("column"), str):
        p.problem(where, f"expected {{column: NAME, <test>: ...}}, a test of {', '.join(TESTS)}")
        return None
    p.keys(data, {"column", *TESTS}, where)
    tests = [t for t in TESTS if t in data]
    if len(tests) != 1:
        p.problem(where, f"give exactly one test of {', '.join(TESTS)} (got {tests or 'none'})")
        return None
    column, test, argument = data["column"], tests[0], data[tests[0]]
    if test in {"present", "empty"}:
        if not isinstance(argument, bool):
            p.problem(f"{where}.{test}", "expected true or false")
            return None
        return Condition(column, test if argument else ({"present", "empty"} - {test}).pop())
    if test == "matches":
        try:
            return Condition(column, "matches", pattern=re.compile(str(argument)))
        except re.error as exc:
            p.problem(f"{where}.matches", f"invalid regular expression: {exc}")
            return None
    values = argument if isinstance(argument, list) else [argument]
    if not values or any(isinstance(v, dict | list) or v is None for v in values):
        p.problem(f"{where}.{test}", "expected a value or a list of values")
        return None
    folded = tuple(str(v).strip().casefold() for v in values)
    return Condition(column, "not_equals" if test == "not_equals" else "equals", folded)


def conditional(
    p: _Parser, data: dict[str, Any], where: str
) -> tuple[tuple[Case, ...], Choice | None]:
    """The cases and `else` of a conditional field (`if_present`/`if_empty` or `cases`)."""
    otherwise = choice(p, data["else"], f"{where}.else") if "else" in data else None
    shorthand = [k for k in ("if_present", "if_empty") if k in data]
    if "cases" in data and shorthand:
        p.problem(where, f"give either `cases` or `{shorthand[0]}`, not both")
        return (), otherwise
    if len(shorthand) > 1:
        p.problem(where, "give one of if_present or if_empty")
        return (), otherwise
    if shorthand:
        key = shorthand[0]
        column = data[key]
        if not isinstance(column, str) or not column:
            p.problem(f"{where}.{key}", "expected the name of a column")
            return (), otherwise
        if "then" not in data:
            p.problem(where, f"`{key}` needs `then` (and optionally `else`)")
            return (), otherwise
        then = choice(p, data["then"], f"{where}.then")
        test = key.removeprefix("if_")
        return ((Case((Condition(column, test),), then),) if then else ()), otherwise
    if "then" in data:
        p.problem(f"{where}.then", "`then` belongs to if_present, if_empty or an item of `cases`")
    items = data["cases"]
    if not isinstance(items, list) or not items:
        p.problem(f"{where}.cases", "expected a list of {if: CONDITION, then: VALUE}")
        return (), otherwise
    cases: list[Case] = []
    for i, item in enumerate(items):
        here = f"{where}.cases[{i}]"
        if not isinstance(item, dict) or "if" not in item or "then" not in item:
            p.problem(here, "expected {if: CONDITION (or a list: all must hold), then: VALUE}")
            continue
        p.keys(item, {"if", "then"}, here)
        tests = item["if"] if isinstance(item["if"], list) else [item["if"]]
        when = [
            condition(p, t, f"{here}.if" + (f"[{j}]" if len(tests) > 1 else ""))
            for j, t in enumerate(tests)
        ]
        then = choice(p, item["then"], f"{here}.then")
        if then is not None and when and all(c is not None for c in when):
            cases.append(Case(tuple(c for c in when if c is not None), then))
    return tuple(cases), otherwise


def key(p: _Parser, data: Any, where: str) -> tuple[str, ...] | None:
    """`key: {value: X}`: every row has the same id (a constant, e.g. one rep for all rows)."""
    if not isinstance(data, dict):
        return None
    p.keys(data, {"value"}, where)
    value = data.get("value")
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        p.problem(f"{where}.value", "expected the constant id as text")
        return ()
    if "{" in str(value) or "}" in str(value):
        p.problem(f"{where}.value", "a constant id cannot hold { or }: use a template instead")
        return ()
    return (str(value),)


def joins(p: _Parser, data: Any, where: str) -> tuple[JoinSpec, ...]:
    """`join:` of a file: one or a list of {match, on, as, duplicates, format}."""
    if data is None:
        return ()
    items = data if isinstance(data, list) else [data]
    result = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]" if isinstance(data, list) else where
        if not isinstance(item, dict):
            p.problem(here, "expected {match: FILE PATTERN, on: COLUMN}")
            continue
        # YAML 1.1 reads a bare `on:` key as the boolean true.
        item = {("on" if k is True else k): v for k, v in item.items()}
        p.keys(item, {"match", "on", "as", "duplicates", "format"}, here)
        match = p.texts(item.get("match"), f"{here}.match")
        if not match:
            p.problem(f"{here}.match", "required: the joined file's name pattern")
        on = item.get("on")
        left = right = ""
        if isinstance(on, str) and on:
            left = right = on
        elif isinstance(on, dict) and set(on) == {"left", "right"}:
            left, right = str(on["left"] or ""), str(on["right"] or "")
        if not left or not right:
            p.problem(
                f"{here}.on",
                "required: the key column (same name in both files) or"
                " {left: COLUMN, right: COLUMN}",
            )
        prefix = item.get("as", "")
        if not isinstance(prefix, str) or (prefix and not re.fullmatch(r"[\w-]+", prefix)):
            p.problem(f"{here}.as", "expected a short name (letters, digits, _ or -)")
            prefix = ""
        duplicates = str(item.get("duplicates", "error"))
        if duplicates not in JOIN_DUPLICATES:
            p.problem(f"{here}.duplicates", f"expected one of {', '.join(JOIN_DUPLICATES)}")
        fmt = p.format(item.get("format") or {}, f"{here}.format")
        result.append(JoinSpec(match, left, right, fmt, prefix, duplicates, here))
    return tuple(result)


def joined_columns_known(fmt: FileFormat, file_joins: tuple[JoinSpec, ...]) -> set[str] | None:
    """Columns a header-less file's rows will have, joins included (None: not known yet)."""
    known = set(fmt.columns)
    for join in file_joins:
        if join.format.header:
            return None  # the joined file's header is only read at import time
        known.update(join.column_name(c) for c in join.format.columns)
    return known


def default_owner(p: _Parser, data: Any) -> DefaultOwner:
    """`default_owner: NAME` or {key: ID, name: NAME}: who owns deals the data gives no rep."""
    if data is None:
        return DefaultOwner()
    if isinstance(data, str) and data.strip():
        return DefaultOwner(key=data.strip(), name=data.strip())
    if not isinstance(data, dict):
        p.problem("default_owner", "expected a name, or {key: ID, name: NAME}")
        return DefaultOwner()
    p.keys(data, {"key", "name"}, "default_owner")
    key_text = str(data.get("key") or data.get("name") or "").strip()
    name = str(data.get("name") or key_text).strip()
    if not key_text:
        p.problem("default_owner", "give at least `key` or `name`")
        return DefaultOwner()
    if len(name) > 200 or len(key_text) > 120:
        p.problem("default_owner", "a name has at most 200 characters and a key at most 120")
    if PLACEHOLDER.search(key_text):
        p.problem("default_owner.key", "a constant id cannot hold a {placeholder}")
    return DefaultOwner(key=key_text, name=name)


def lifecycle(
    p: _Parser, data: Any, fields: dict[str, FieldSpec], where: str
) -> LifecycleSpec | None:
    """`lifecycle:` of an opportunities output: what a closed deal was while open."""
    if data is None:
        return None
    if not isinstance(data, dict):
        p.problem(where, "expected a dictionary")
        return None
    p.keys(data, {"open_stage", "open_amount", "close_date_known"}, where)
    amount = None
    if data.get("open_amount") is not None:
        amount = p.field("opportunities", "amount", data["open_amount"], f"{where}.open_amount")
        if amount and amount.derive and amount.derive[0] not in fields:
            p.problem(f"{where}.open_amount.derive", f"{amount.derive[0]!r} is not mapped")
    known = data.get("close_date_known", True)
    if not isinstance(known, bool):
        p.problem(f"{where}.close_date_known", "expected true or false")
        known = True
    return LifecycleSpec(p.text(data, "open_stage", where), amount, known)


def stage_history(p: _Parser, data: Any, where: str) -> StageHistorySpec | None:
    """`stage_history:` columns that date each stage entered (HubSpot)."""
    if data is None:
        return None
    if not isinstance(data, dict) or "columns" not in data:
        p.problem(where, "expected `columns`: a regular expression on column names")
        return None
    p.keys(data, {"columns", "formats"}, where)
    try:
        pattern = re.compile(str(data["columns"]))
    except re.error as exc:
        p.problem(f"{where}.columns", f"invalid regular expression: {exc}")
        return None
    if pattern.groups != 1:
        p.problem(f"{where}.columns", "the expression needs one group: the stage name")
    formats = p.texts(data.get("formats"), f"{where}.formats")
    p.check_formats(formats, f"{where}.formats")
    return StageHistorySpec(pattern, formats)
