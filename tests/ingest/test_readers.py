"""Reading files as they come: encodings, delimiters, quoting, line endings, spreadsheets."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from salesops.errors import ValidationFailed
from salesops.ingest.mapping import FileFormat
from salesops.ingest.readers import open_source


def read_all(
    path: Path, fmt: FileFormat | None = None
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    source = open_source(path, fmt or FileFormat())
    try:
        return source.columns, list(source.rows)
    finally:
        source.close()


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("latin-1", b"")],
)
def test_utf8_utf8_with_bom_and_latin1_are_detected(
    tmp_path: Path, encoding: str, prefix: bytes
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(prefix + "name,city\nZoë,München\n".encode(encoding))
    columns, rows = read_all(path)
    assert columns == ["name", "city"]
    assert rows == [(2, ["Zoë", "München"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_comma_semicolon_and_tab_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        delimiter.join(["id", "amount", "note"]) + "\n" + delimiter.join(["1", "2,5", "x"]) + "\n"
    )
    if delimiter == ",":
        path.write_text('id,amount,note\n1,"2,5",x\n')
    columns, rows = read_all(path)
    assert columns == ["id", "amount", "note"]
    assert rows[0][1] == ["1", "2,5", "x"]


def test_quoted_fields_with_embedded_newlines_and_crlf_keep_their_starting_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'id,note\r\n1,"first\r\nsecond line"\r\n2,plain\r\n3,"a ""quoted"" word"\r\n')
    _, rows = read_all(path)
    assert rows == [
        (2, ["1", "first\r\nsecond line"]),
        (4, ["2", "plain"]),
        (5, ["3", 'a "quoted" word']),
    ]


def test_a_custom_field_and_record_separator_without_header(tmp_path: Path) -> None:
    path = tmp_path / "store.csv"
    path.write_text("1+|Bikes+|<x>1</x>&|\n2+|More Bikes+|<x>2</x>&|\n")
    fmt = FileFormat(
        delimiter="+|", record_terminator="&|\n", header=False, columns=("id", "name", "xml")
    )
    columns, rows = read_all(path, fmt)
    assert columns == ["id", "name", "xml"]
    assert rows == [(1, ["1", "Bikes", "<x>1</x>"]), (2, ["2", "More Bikes", "<x>2</x>"])]


def test_xlsx_sheets_are_read_with_dates_and_whole_numbers_as_text(tmp_path: Path) -> None:
    from datetime import datetime

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "amount", "closed"])
    sheet.append(["A-1", 1500.0, datetime(2025, 3, 31)])
    sheet.append(["A-2", 99.5, None])
    path = tmp_path / "deals.xlsx"
    book.save(path)
    columns, rows = read_all(path)
    assert columns == ["id", "amount", "closed"]
    assert rows == [(2, ["A-1", "1500", "2025-03-31"]), (3, ["A-2", "99.5", ""])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfei\x00d\x00", "UTF-16"),
        (b"id,name\n" + b"x" * 70000 + b"\n1,\xe9t\xc3", "not valid utf-8"),
    ],
)
def test_undecodable_files_fail_with_a_hint(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationFailed, match=message):
        read_all(path)
