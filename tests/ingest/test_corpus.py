"""The malformed-input corpus: every kind of bad import file the attack run tried, each with
the exit code and the message it must get, and the database exactly as it was afterwards.

The cases are listed in `corpus/manifest.yaml`; the small files are committed under `corpus/`
and the big or binary ones are made here at test time (`GENERATED`). Each case runs the real
CLI entry point in-process (`run_cli`) against one database per backend that holds a small
baseline import, and the test compares every table's rows before and after.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from salesops.db import session_scope
from salesops.ingest import readers
from salesops.models import Base
from salesops.pipeline import stages
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine

CORPUS = Path(__file__).parent / "corpus"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text())
HEADER = "id,name,rep,stage,amount,close\n"
ROW = "d2,Deal,r1,Prospecting,5,2025-03-31\n"


def _xlsx(rows: list[list[Any]], *, sheet_xml: Callable[[bytes], bytes] | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)  # type: ignore[union-attr]
    plain = io.BytesIO()
    book.save(plain)
    if sheet_xml is None:
        return plain.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml(data)
            dst.writestr(item, data)
    return out.getvalue()


def _with_dtd(xml: bytes) -> bytes:
    entities = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    return xml.replace(b"<worksheet", entities + b"<worksheet", 1)


def _padded(xml: bytes) -> bytes:
    # 2 MB of whitespace inside the sheet: compresses to a few KB, unpacks past the 1 MB limit
    # this case sets (the real limit, 512 MB, would take seconds to build).
    return xml.replace(b"<sheetData>", b"<sheetData>" + b" " * (2 << 20), 1)


HEAD = HEADER.strip().split(",")
GENERATED: dict[str, Callable[[], bytes]] = {
    "deals_too_many_columns.csv": lambda: (
        HEADER.strip() + "," + ",".join(f"c{i}" for i in range(2_100)) + "\n"
    ).encode(),
    "deals_huge_cell.csv": lambda: (
        HEADER + "d2," + "y" * (readers.MAX_FIELD_CHARS + 1) + ",r1,Prospecting,5,2025-03-31\n"
    ).encode(),
    # Valid UTF-8 for longer than the encoding sample, then a byte that is not.
    "deals_not_utf8_late.csv": lambda: (
        HEADER.encode()
        + b"d2,"
        + b"n" * readers.SAMPLE_BYTES
        + b",r1,Prospecting,5,2025-03-31\n"
        + b"d3,Caf\xe9,r1,Prospecting,5,2025-03-31\n"
    ),
    "deals_utf16.csv": lambda: (HEADER + ROW).encode("utf-16"),
    "deals_binary.csv": lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    # A NUL byte past the first 8 KB, where the binary sniffing does not look.
    "deals_nul_late.csv": lambda: (
        HEADER + "d2," + "n" * 9_000 + ",r1,Prospecting,5,2025-03-31\n"
        "d3,Nul\x00byte,r1,Prospecting,5,2025-03-31\n"
    ).encode(),
    "deals_bom_and_crlf.csv": lambda: codecs.BOM_UTF8
    + (HEADER + "d2,Bad day,r1,Prospecting,5,2025-13-01\n").replace("\n", "\r\n").encode(),
    "deals_dtd.xlsx": lambda: _xlsx(
        [HEAD, ["d2", "x", "r1", "Prospecting", 5, "2025-03-31"]], sheet_xml=_with_dtd
    ),
    "deals_zip_bomb.xlsx": lambda: _xlsx([HEAD], sheet_xml=_padded),
    "deals_too_many_rows.xlsx": lambda: _xlsx(
        [HEAD, *[[f"d{i}", "x", "r1", "Prospecting", 5, "2025-03-31"] for i in range(12)]]
    ),
    "deals_not_a_workbook.xlsx": lambda: (HEADER + ROW).encode(),
    "deals_bad_values.xlsx": lambda: _xlsx(
        [HEAD, ["d2", "Sheet deal", "r1", "Prospecting", "-7", "2025-02-30"]]
    ),
}


def _fingerprint(engine: Engine) -> dict[str, str]:
    """A digest of every row of every table, by table."""
    digests = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    """One database per backend for the whole corpus: a baseline imported, then only
    imports that must leave it exactly as it is."""
    url = scratch_url(request.param, tmp_path_factory.mktemp("corpus"), "corpus")
    engine = migrated_engine(url)
    with session_scope(engine) as session:
        stages.ensure_stages(session)
    yield url, engine
    engine.dispose()


@pytest.fixture(scope="module")
def baseline(database: tuple[str, Engine]) -> tuple[str, Engine]:
    from salesops.ingest.service import run_import

    url, engine = database
    files = sorted((CORPUS / "baseline").iterdir())
    with session_scope(engine) as session:
        summary = run_import(session, "csv", files, mapping=CORPUS / "mapping.yaml")
    assert summary.table("opportunities").inserted == 1
    return url, engine


def _case_id(case: dict[str, Any]) -> str:
    return str(case.get("file") or case.get("generate") or "") + (
        f"+{case['mapping']}" if "mapping" in case else ""
    )


def test_the_manifest_lists_every_file_of_the_corpus_once() -> None:
    named = [c["file"] for c in CASES if "file" in c]
    assert len(named) == len(set(named))
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"manifest.yaml", "mapping.yaml"}
    assert on_disk <= set(named), sorted(on_disk - set(named))
    mappings = {c["mapping"] for c in CASES if "mapping" in c}
    assert {p.name for p in (CORPUS / "mappings").iterdir()} <= mappings
    assert all(c["exit"] == 0 or "message" in c for c in CASES)  # a refusal says why
    assert {c["generate"] for c in CASES if "generate" in c} == set(GENERATED)
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_malformed_import_gets_its_exit_code_and_message_and_changes_nothing(
    case: dict[str, Any],
    baseline: tuple[str, Engine],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = baseline
    for name, value in (case.get("limits") or {}).items():
        monkeypatch.setattr(readers, name, value)
    if "generate" in case:
        path = tmp_path / case["generate"]
        path.write_bytes(GENERATED[case["generate"]]())
    else:
        path = CORPUS / case.get("file", "baseline/deals_ok.csv")
    mapping = (
        CORPUS / "mappings" / case["mapping"] if "mapping" in case else CORPUS / "mapping.yaml"
    )
    rejects = tmp_path / "rejects.csv"
    before = _fingerprint(engine)
    code, out, err = run_cli(
        capsys, url, "import", "csv", str(path), "--mapping", str(mapping),
        "--rejects", str(rejects), "--as-of", "2025-06-01T00:00:00Z",
    )  # fmt: skip
    said = " ".join((out + err).split())
    assert "Traceback" not in said, said
    assert code == case["exit"], said
    for fragment in case.get("message", []):
        assert " ".join(str(fragment).split()) in said, said
    if "rejects" in case:
        import csv

        with rejects.open(encoding="utf-8", newline="") as handle:
            found = [(int(r["_line"]), r["_file"], r["_reason"]) for r in csv.DictReader(handle)]
        assert [(line, path.name) for line, _, _ in found] == [
            (line, path.name) for line, _ in case["rejects"]
        ], found
        for (_, _, reason), (_, fragment) in zip(found, case["rejects"], strict=True):
            assert re.search(fragment, reason), (fragment, reason)
        for fragment in case.get("rejects_text", []):
            assert fragment in rejects.read_text(encoding="utf-8")
    else:
        assert not rejects.exists()
    assert _fingerprint(engine) == before, "the database changed"
