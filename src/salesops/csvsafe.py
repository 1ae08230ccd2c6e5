"""CSV cells that a spreadsheet cannot run: text starting with =, +, -, @, tab or CR is a formula
to Excel, LibreOffice and Google Sheets (CSV injection), so it gets a leading single quote.

Numbers stay numbers (a negative amount is data, not a formula); only text is escaped. Every CSV
salesops writes for people to open (dashboard downloads, API exports) goes through `safe_row`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with text that a spreadsheet would run as a formula prefixed by a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
