"""What one import file may cost: columns, cell size, unpacked workbook size, rows, rejects
kept, and XML that declares entities. Each limit gives a clear error, never a traceback."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from salesops.errors import ValidationFailed
from salesops.ingest import readers, rejects
from salesops.ingest.mapping import FileFormat
from salesops.ingest.readers import MAX_COLUMNS, MAX_FIELD_CHARS, open_source
from salesops.ingest.rejects import RejectSink


def _read(path: Path) -> list[tuple[int, list[str]]]:
    source = open_source(path, FileFormat())
    try:
        return list(source.rows)
    finally:
        source.close()


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_file_with_more_columns_than_the_limit_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    path.write_text(header + "\n" + ",".join("1" for _ in range(MAX_COLUMNS + 1)) + "\n")
    with pytest.raises(ValidationFailed, match=f"{MAX_COLUMNS + 1:,} columns; the limit"):
        _read(path)


def test_a_field_longer_than_the_limit_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text('id,name\n1,ok\n2,"' + "x" * (MAX_FIELD_CHARS + 1) + '"\n')
    with pytest.raises(ValidationFailed) as caught:
        _read(path)
    assert "longer than 1,000,000 characters" in str(caught.value)
    assert "long.csv:3" in str(caught.value)


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _workbook(tmp_path / "big.xlsx", [["id"], *([i] for i in range(2000))])
    unpacked = sum(m.file_size for m in zipfile.ZipFile(path).infolist())
    monkeypatch.setattr(readers, "MAX_XLSX_UNPACKED_BYTES", unpacked - 1)
    with pytest.raises(ValidationFailed, match="unpacks to"):
        _read(path)


def test_a_sheet_with_more_rows_than_excel_allows_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _workbook(tmp_path / "rows.xlsx", [["id"], *([i] for i in range(50))])
    monkeypatch.setattr(readers, "MAX_XLSX_ROWS", 20)
    with pytest.raises(ValidationFailed, match="more than 20 rows"):
        _read(path)


def test_a_workbook_whose_xml_declares_entities_is_refused_without_expanding_them(
    tmp_path: Path,
) -> None:
    plain = _workbook(tmp_path / "plain.xlsx", [["id", "name"], [1, "Acme"]])
    hostile = tmp_path / "entities.xlsx"
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(hostile, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = (bomb + data.decode().replace("Acme", "&lol2;")).encode()
            target.writestr(member, data)
    with pytest.raises(ValidationFailed, match="entities or a DTD"):
        _read(hostile)


def test_only_the_first_rejects_are_written_and_all_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rejects, "MAX_REJECTS_KEPT", 2)
    sink = RejectSink()
    for line in range(2, 7):
        sink.add(
            Path("deals.csv"), ["id", "amount"], line, "opportunities", "bad", [str(line), "x"]
        )
    out = sink.write(tmp_path / "rejects.csv")
    sink.close()
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["_line"] for r in rows] == ["2", "3"]
    assert (sink.count, sink.kept) == (5, 2)


def test_rejects_of_a_very_wide_file_are_written_in_linear_time(tmp_path: Path) -> None:
    columns = [f"c{i}" for i in range(100_000)]
    sink = RejectSink()
    sink.add(Path("wide.csv"), columns, 2, "opportunities", "bad", ["v"] * len(columns))
    out = sink.write(tmp_path / "rejects.csv")
    sink.close()
    with out.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert len(header) == 4 + 100_000
