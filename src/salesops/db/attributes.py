"""Custom attributes (`accounts.attributes`, `opportunities.attributes`): what they may hold.

A CRM's own fields land here as name -> value, where a value is text, a number or a boolean
(dates are kept as ISO text). The bounds keep one record's attributes small enough to be read
into every metric and model run: at most MAX_ATTRIBUTES names of up to MAX_NAME characters
(letters, digits, `_`, `-`, `.` and spaces), text up to MAX_TEXT characters, finite numbers
within FLOAT_LIMIT.
"""

from __future__ import annotations

import math
import re
from typing import Any

from salesops.db.limits import FLOAT_LIMIT

MAX_ATTRIBUTES = 100
MAX_NAME = 60
MAX_TEXT = 500
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. -]*")
KINDS = ("text", "number", "bool", "date")


def attribute_problems(value: Any) -> list[str]:
    """Why `value` cannot be stored as a record's attributes (empty when it can)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["attributes must be a dictionary of name -> value"]
    problems = []
    if len(value) > MAX_ATTRIBUTES:
        problems.append(f"at most {MAX_ATTRIBUTES} attributes (got {len(value)})")
    for name, item in value.items():
        if not isinstance(name, str) or len(name) > MAX_NAME or not NAME.fullmatch(name):
            problems.append(
                f"attribute name {str(name)[:40]!r} must be 1 to {MAX_NAME} letters, digits,"
                " '_', '-', '.' or spaces"
            )
            continue
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int | float):
            if not math.isfinite(item) or abs(item) > FLOAT_LIMIT:
                problems.append(
                    f"attributes.{name} must be a finite number within ±{FLOAT_LIMIT:g}"
                )
        elif isinstance(item, str):
            if len(item) > MAX_TEXT:
                problems.append(f"attributes.{name} is longer than {MAX_TEXT} characters")
            elif "\x00" in item:
                problems.append(f"attributes.{name} contains a NUL character")
        else:
            problems.append(f"attributes.{name} must be text, a number or true/false")
    return problems
