"""CSV cells that a spreadsheet cannot run: text starting with =, +, -, @, tab or CR is a formula
to Excel, LibreOffice and Google Sheets (CSV injection), so it gets a leading single quote.

Numbers stay numbers (a negative amount is data, not a formula): only text is escaped, and text
that is a plain negative number (-5, -1500.25, as an imported file's rejected row holds it) is
left alone too; `-2+3` is a formula and is quoted. Every CSV
salesops writes goes through `safe_cell` (dashboard downloads, API exports, `salesops export`,
rejects files, `metrics query --format csv`).

The escape is reversible (`restore_cell`): text that already starts with quotes followed by a
formula character ('=x) gets one more quote too, so stripping one quote from any text that
starts with quotes and a formula character gives back the original exactly. Text that merely
starts with a quote ('hello) is written as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Escaped text, and text that would read as escaped: quotes, then a formula character.
_QUOTED_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NEGATIVE_NUMBER = re.compile(r"-\d+(?:\.\d+)?")


def safe_cell(value: Any) -> Any:
    """`value`, with text that a spreadsheet would run as a formula prefixed by a quote."""
    if (
        isinstance(value, str)
        and _QUOTED_FORMULA.match(value)
        and not _NEGATIVE_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The text `safe_cell` was given, from what it wrote (the inverse on text)."""
    if text.startswith("'") and _QUOTED_FORMULA.match(text):
        return text[1:]
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def csv_text(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document (header first), every cell escaped."""
    return "".join(csv_lines(header, rows))


def csv_lines(
    header: Sequence[str], rows: Iterable[Iterable[Any]], *, chunk: int = 65536
) -> Iterator[str]:
    """The CSV in pieces of about `chunk` characters, for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
        if buffer.tell() > chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
