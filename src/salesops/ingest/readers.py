"""Streaming readers: CSV in any usual encoding and delimiter, odd bulk-load formats, .xlsx.

Each reader yields `(line, values)` one row at a time, where `line` is the 1-based physical
line (or spreadsheet row) the record starts on, and reports how many bytes it has consumed
so a progress bar can follow it. Nothing is read into memory whole.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from salesops.csvsafe import restore_cell
from salesops.errors import Problem, ValidationFailed
from salesops.ingest.mapping import FileFormat

SAMPLE_BYTES = 64 * 1024
BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\x1f\x8b", b"\xd0\xcf\x11\xe0", b"\x7fELF")
# Limits on what one file may cost (docs/importing.md): far above any real CRM export, low
# enough that a hostile or broken file is refused in seconds instead of exhausting memory.
MAX_COLUMNS = 2_000
MAX_FIELD_CHARS = 1_000_000
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_XLSX_ROWS = 1_048_576  # Excel's own limit: a sheet claiming more is not a real workbook
csv.field_size_limit(MAX_FIELD_CHARS)


class _CountingReader(io.RawIOBase):
    """A raw binary stream that remembers how many bytes have been read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.consumed += n or 0
        return int(n or 0)

    def close(self) -> None:
        self.raw.close()
        super().close()


# The first columns of a rejects file (`salesops.ingest.rejects`).
REJECTS_COLUMNS = ["_file", "_line", "_table", "_reason"]


@dataclass
class SourceFile:
    """An opened input: its column names and a one-pass iterator over its records."""

    path: Path
    columns: list[str]
    rows: Iterator[tuple[int, list[str]]]
    size: int
    encoding: str = ""
    delimiter: str = ""
    _counter: _CountingReader | None = field(default=None, repr=False)
    _rows_read: int = 0

    def position(self) -> int:
        """Bytes consumed so far (rows for spreadsheets), for progress reporting."""
        return self._counter.consumed if self._counter else self._rows_read

    def close(self) -> None:
        if self._counter is not None:
            self._counter.close()


def _fail(path: Path, message: str, line: int | None = None) -> ValidationFailed:
    where = f"{path.name}:{line}" if line else path.name
    return ValidationFailed(f"cannot read {path.name}", [Problem(message, where)])


def detect_encoding(sample: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, Latin-1 otherwise."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(path, "the file is UTF-16; save it as UTF-8 (or Latin-1) and import again")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def sniff_delimiter(text: str) -> str:
    """The most plausible of , ; tab and | for a CSV whose first lines are `text`."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _check_not_binary(sample: bytes, path: Path) -> None:
    if not sample:
        raise _fail(path, "the file is empty (not even a header row)")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(path, "the file is UTF-16; save it as UTF-8 (or Latin-1) and import again")
    if sample.startswith(BINARY_MAGIC) or b"\x00" in sample[:8192]:
        raise _fail(path, "this is a binary file, not CSV text (for Excel, use a .xlsx file)")


def open_source(path: Path, fmt: FileFormat) -> SourceFile:
    """Open `path` for streaming according to `fmt`, reading its header when it has one."""
    if not path.is_file():
        raise _fail(path, "no such file")
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _open_xlsx(path, fmt)
    with path.open("rb") as probe:
        sample = probe.read(SAMPLE_BYTES)
    _check_not_binary(sample, path)
    encoding = fmt.encoding if fmt.encoding != "auto" else detect_encoding(sample, path)
    delimiter = fmt.delimiter
    if delimiter == "auto":
        delimiter = sniff_delimiter(sample.decode(encoding, errors="replace"))
    counter = _CountingReader(path.open("rb"))
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding=encoding, newline="")
    if fmt.record_terminator is not None:
        records = _split_records(text, path, delimiter, fmt.record_terminator)
    else:
        records = _csv_records(text, path, delimiter, fmt.quote)
    for _ in range(fmt.skip_rows):
        next(records, None)
    columns = list(fmt.columns)
    if fmt.header:
        first = next(records, None)
        if first is None:
            counter.close()
            raise _fail(path, "the file has no header row")
        header = [c.strip().lstrip("\ufeff") for c in first[1]]
        columns = header if not fmt.columns else list(fmt.columns)
    if len(columns) > MAX_COLUMNS:
        counter.close()
        raise _fail(path, f"the file has {len(columns):,} columns; the limit is {MAX_COLUMNS:,}")
    if columns[: len(REJECTS_COLUMNS)] == REJECTS_COLUMNS:
        # A rejects file salesops wrote: its formula-looking values were quoted, unquote them.
        columns = [restore_cell(c) for c in columns]
        records = ((n, [restore_cell(v) for v in values]) for n, values in records)
    source = SourceFile(path, columns, records, path.stat().st_size, encoding, delimiter, counter)
    return source


def _decoding_failed(
    path: Path, encoding: str, exc: UnicodeDecodeError, line: int | None = None
) -> ValidationFailed:
    """A decoding failure deep in a file, as one clear problem (at `line` when known)."""
    where = " from this line on" if line else ""
    return _fail(
        path,
        f"not valid {encoding}{where} ({exc.reason}); set `encoding: latin-1` in the mapping "
        "or save the file as UTF-8",
        line,
    )


def _decode_errors(records: Iterator[tuple[int, list[str]]], path: Path, encoding: str) -> Any:
    """Turn a decoding failure deep in a file into one clear problem."""
    try:
        yield from records
    except UnicodeDecodeError as exc:
        raise _decoding_failed(path, encoding, exc) from exc


def _csv_records(
    text: io.TextIOWrapper, path: Path, delimiter: str, quote: str
) -> Iterator[tuple[int, list[str]]]:
    def records() -> Iterator[tuple[int, list[str]]]:
        if len(delimiter) != 1:
            raise _fail(path, f"a quoted CSV needs a one-character delimiter, not {delimiter!r}")
        if quote:
            reader = csv.reader(text, delimiter=delimiter, quotechar=quote, strict=True)
        else:
            reader = csv.reader(text, delimiter=delimiter, quoting=csv.QUOTE_NONE, strict=True)
        line = 1
        try:
            for values in reader:
                if values:
                    yield line, values
                line = reader.line_num + 1
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                message = f"a field is longer than {MAX_FIELD_CHARS:,} characters"
                raise _fail(path, message, line) from exc
            raise _fail(path, f"malformed CSV ({exc}); is the file truncated?", line) from exc
        except UnicodeDecodeError as exc:
            # The decoder reads ahead in blocks: the bad byte is at this record or a later
            # one of the same block, so "from line N" is what can honestly be said.
            raise _decoding_failed(path, text.encoding, exc, line) from exc

    return records()


def _split_records(
    text: io.TextIOWrapper, path: Path, delimiter: str, terminator: str
) -> Iterator[tuple[int, list[str]]]:
    """Records ended by `terminator` with fields split on `delimiter`: no quoting at all."""

    def records() -> Iterator[tuple[int, list[str]]]:
        buffer = ""
        number = 0
        while True:
            block = text.read(1 << 16)
            if not block:
                break
            buffer += block
            *complete, buffer = buffer.split(terminator)
            for record in complete:
                number += 1
                if record.strip():
                    yield number, record.split(delimiter)
        if buffer.strip():
            yield number + 1, buffer.rstrip("\r\n").split(delimiter)

    return iter(_decode_errors(records(), path, text.encoding))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_xlsx_size(path: Path) -> None:
    """Refuse a workbook that unpacks to more than the limit, before parsing any of it."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, f"not a readable .xlsx workbook ({exc})") from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _fail(
            path,
            f"the workbook unpacks to {unpacked / 2**20:,.0f} MB; the limit is"
            f" {MAX_XLSX_UNPACKED_BYTES / 2**20:,.0f} MB (export the sheet as CSV instead)",
        )


def _open_xlsx(path: Path, fmt: FileFormat) -> SourceFile:
    import zipfile

    from defusedxml import DefusedXmlException
    from openpyxl import load_workbook

    _check_xlsx_size(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except DefusedXmlException as exc:
        raise _fail(path, f"the workbook's XML declares entities or a DTD ({exc})") from exc
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError) as exc:
        if isinstance(exc.__cause__ or exc.__context__, DefusedXmlException):
            message = "the workbook's XML declares entities or a DTD, which salesops refuses"
            raise _fail(path, message) from exc
        raise _fail(path, f"not a readable .xlsx workbook ({exc})") from exc
    if fmt.sheet is not None and fmt.sheet not in workbook.sheetnames:
        raise _fail(path, f"no sheet {fmt.sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
    sheet = workbook[fmt.sheet] if fmt.sheet else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    source = SourceFile(path, list(fmt.columns), iter(()), int(sheet.max_row or 0))

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, row in enumerate(rows, start=1):
                if number > MAX_XLSX_ROWS:
                    raise _fail(path, f"the sheet has more than {MAX_XLSX_ROWS:,} rows", number)
                source._rows_read = number
                values = [_cell_text(v) for v in row]
                if len(values) > MAX_COLUMNS and any(values[MAX_COLUMNS:]):
                    raise _fail(path, f"a row has more than {MAX_COLUMNS:,} columns", number)
                if any(values):
                    yield number, values[:MAX_COLUMNS]
        except DefusedXmlException as exc:
            raise _fail(path, f"the sheet's XML declares entities or a DTD ({exc})") from exc
        except SyntaxError as exc:  # xml.etree's ParseError
            raise _fail(path, f"the sheet's XML is malformed ({exc})") from exc
        finally:
            workbook.close()

    iterator = records()
    for _ in range(fmt.skip_rows):
        next(iterator, None)
    if fmt.header:
        first = next(iterator, None)
        if first is None:
            raise _fail(path, "the sheet is empty (not even a header row)")
        header = [c.strip() for c in first[1]]
        while header and not header[-1]:
            header.pop()
        source.columns = header if not fmt.columns else list(fmt.columns)
    source.rows = iterator
    return source
