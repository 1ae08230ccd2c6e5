"""Export every canonical table (Parquet or CSV plus manifest.json) and restore such an export.

A data export leaves credentials out: password hashes, API tokens, browser sessions (with
their CSRF tokens) and sign-in attempts (usernames and addresses). The manifest says what was
left out. A full backup with them (`include_secrets`) is for admins only; the CLI checks that.

The manifest lists, per table, its file, row count, column schema and SHA-256, so an export
can be checked before it is trusted. `restore` (`salesops import salesops DIR`) verifies the
checksums and the schema first, then writes rows with their original ids: importing an
export into an empty database reproduces it exactly, and importing it twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Table,
    delete,
    select,
)
from sqlalchemy.orm import Session

from salesops.csvsafe import restore_cell, safe_cell
from salesops.db.bulk import BulkInserter, bulk_mode, reset_sequences
from salesops.db.schema import current_revision
from salesops.db.types import Money, Ratio, UTCDateTime, utc_now
from salesops.errors import Problem, ValidationFailed
from salesops.ingest.summary import FileRead, ImportSummary
from salesops.models import Base, DemoBuild

FORMATS = ("parquet", "csv")
# Credentials and sign-in records: left out of a data export unless a full backup is asked for.
SECRET_TABLES = ("api_tokens", "web_sessions", "login_attempts")
SECRET_COLUMNS = {"users": ("password_hash",)}
# Trained models are pickles, which run code when loaded; they and their scores are rebuilt
# from the data (`salesops deals score train`): never exported, never restored from a file.
DERIVED_TABLES = ("trained_models", "deal_scores")
BATCH = 10_000
NULL = "\\N"  # how CSV exports write NULL (an empty field is an empty string)
Progress = Callable[[str, int, int], None]


def arrow_type(column: Column[Any]) -> pa.DataType:
    """The Arrow type that holds `column` without loss."""
    kind = column.type
    if isinstance(kind, Money):
        return pa.decimal128(18, 2)
    if isinstance(kind, Ratio):
        return pa.decimal128(7, 4)
    if isinstance(kind, UTCDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, DateTime):
        return pa.timestamp("us")
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, BigInteger | Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, Numeric):
        return pa.decimal128(kind.precision or 38, kind.scale or 0)
    if isinstance(kind, LargeBinary):
        return pa.binary()
    return pa.string()  # strings, and JSON as text


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(
    session: Session, table: Table, columns: list[Column[Any]]
) -> Iterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = session.connection().execute(
        select(*columns).order_by(*order).execution_options(yield_per=BATCH)
    )
    for partition in result.mappings().partitions(BATCH):
        yield [dict(row) for row in partition]


@contextmanager
def _fresh(path: Path) -> Iterator[Path]:
    """A new file to write `path` through: created under a fresh name in the same directory
    (never an existing file or a symlink someone left there), renamed over `path` once written.
    A symlink at `path` is replaced, not followed: its target is left as it was."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _csv_text(value: Any, column: Column[Any]) -> str:
    if value is None:
        return NULL
    if _is_json(column):
        return str(safe_cell(json.dumps(value, sort_keys=True)))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        # Text a spreadsheet would run as a formula is quoted (reversed by `_parse_csv`).
        return str(safe_cell(value))
    return str(value)


def left_out(include_secrets: bool) -> dict[str, Any]:
    """What an export leaves out, as the manifest records it."""
    if include_secrets:
        return {"tables": [], "columns": {}}
    return {
        "tables": list(SECRET_TABLES),
        "columns": {name: list(cols) for name, cols in SECRET_COLUMNS.items()},
        "reason": "credentials and sign-in records; a full backup (--include-secrets, admins "
        "only) keeps them",
    }


def export_database(
    session: Session,
    directory: Path,
    *,
    format: str = "parquet",
    include_secrets: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write every table of the schema to `directory` with a manifest; return the manifest.

    Without `include_secrets`, credentials are left out (SECRET_TABLES, SECRET_COLUMNS); the
    caller decides who may ask for them.
    """
    if format not in FORMATS:
        raise ValidationFailed(f"unknown export format {format!r} (parquet or csv)")
    directory.mkdir(parents=True, exist_ok=True)
    omitted = left_out(include_secrets)
    tables = []
    for table in Base.metadata.sorted_tables:
        if table.name in omitted["tables"] or table.name in DERIVED_TABLES:
            continue
        path = directory / f"{table.name}.{format}"
        hidden = set(omitted["columns"].get(table.name, ()))
        columns = [c for c in table.columns if c.name not in hidden]
        rows = 0
        if format == "parquet":
            schema = pa.schema([pa.field(c.name, arrow_type(c), c.nullable) for c in columns])
            with _fresh(path) as fresh, pq.ParquetWriter(fresh, schema) as writer:
                for batch in _rows(session, table, columns):
                    arrays = [
                        pa.array(
                            [
                                json.dumps(r[c.name], sort_keys=True)
                                if _is_json(c) and r[c.name] is not None
                                else r[c.name]
                                for r in batch
                            ],
                            type=arrow_type(c),
                        )
                        for c in columns
                    ]
                    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                    rows += len(batch)
        else:
            with _fresh(path) as fresh, fresh.open("w", encoding="utf-8", newline="") as handle:
                writer_csv = csv.writer(handle)
                writer_csv.writerow([c.name for c in columns])
                for batch in _rows(session, table, columns):
                    writer_csv.writerows([_csv_text(r[c.name], c) for c in columns] for r in batch)
                    rows += len(batch)
        if progress is not None:
            progress(table.name, rows, rows)
        tables.append(
            {
                "table": table.name,
                "file": path.name,
                "rows": rows,
                "sha256": _sha256(path),
                "columns": [
                    {"name": c.name, "type": str(arrow_type(c)), "nullable": bool(c.nullable)}
                    for c in columns
                ],
            }
        )
    manifest = {
        "salesops_export": 1,
        "format": format,
        # CSV text cells that a spreadsheet would run are written with a leading quote.
        "csv_formulas_escaped": format == "csv",
        "exported_at": utc_now().isoformat(),
        "schema_revision": current_revision(session.get_bind().engine)
        if session.get_bind() is not None
        else None,
        "includes_secrets": include_secrets,
        "left_out": omitted,
        "derived_left_out": list(DERIVED_TABLES),
        "tables": tables,
    }
    with _fresh(directory / "manifest.json") as fresh:
        fresh.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# -- restore ------------------------------------------------------------------------------
def _parse_csv(text: str, column: Column[Any], escaped: bool = False) -> Any:
    if text == NULL:
        return None
    kind = column.type
    if _is_json(column):
        return json.loads(restore_cell(text) if escaped else text)
    if isinstance(kind, UTCDateTime | DateTime):
        return datetime.fromisoformat(text)
    if isinstance(kind, Boolean):
        return text == "true"
    if isinstance(kind, Date):
        return date.fromisoformat(text)
    if isinstance(kind, BigInteger | Integer):
        return int(text)
    if isinstance(kind, Float):
        return float(text)
    if isinstance(kind, Numeric | Money | Ratio):
        return Decimal(text)
    if isinstance(kind, LargeBinary):
        return bytes.fromhex(text)
    return restore_cell(text) if escaped else text


def _read_batches(
    path: Path, fmt: str, table: Table, escaped: bool = False
) -> Iterator[list[dict[str, Any]]]:
    columns = {c.name: c for c in table.columns}
    json_columns = [name for name, c in columns.items() if _is_json(c)]
    if fmt == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
            rows = batch.to_pylist()
            for row in rows:
                for name in json_columns:
                    if row.get(name) is not None:
                        row[name] = json.loads(row[name])
            yield rows
        return
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        chunk: list[dict[str, Any]] = []
        for values in reader:
            chunk.append(
                {n: _parse_csv(v, columns[n], escaped) for n, v in zip(header, values, strict=True)}
            )
            if len(chunk) >= BATCH:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _load_manifest(paths: Sequence[Path]) -> tuple[Path, dict[str, Any]]:
    if len(paths) != 1:
        raise ValidationFailed("`salesops import salesops` takes one export directory")
    path = paths[0]
    manifest_path = path / "manifest.json" if path.is_dir() else path
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(
            "not a salesops export", [Problem(f"cannot read manifest.json: {exc}", str(path))]
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("salesops_export") != 1:
        raise ValidationFailed("not a salesops export", [Problem("unknown manifest", str(path))])
    return manifest_path.parent, manifest


def _verify(directory: Path, manifest: dict[str, Any]) -> list[Problem]:
    problems = []
    for entry in manifest.get("tables", []):
        name = entry.get("table")
        where = f"{entry.get('file')}"
        table = Base.metadata.tables.get(name)
        if table is None:
            problems.append(Problem(f"table {name!r} does not exist in this salesops", where))
            continue
        if name in DERIVED_TABLES:
            problems.append(
                Problem(
                    f"{name} is never restored from a file (a stored model runs code when"
                    " loaded): train again after the import",
                    where,
                )
            )
            continue
        names = [c["name"] for c in entry.get("columns", [])]
        missing = [c.name for c in table.columns if c.name not in names and not c.nullable]
        extra = [n for n in names if n not in table.columns]
        if missing or extra:
            problems.append(Problem(f"columns differ (missing {missing}, unknown {extra})", where))
        path = directory / str(entry.get("file"))
        if not path.is_file():
            problems.append(Problem("file is missing", where))
        elif _sha256(path) != entry.get("sha256"):
            problems.append(Problem("checksum mismatch: the file changed since the export", where))
    return problems


def restore(
    session: Session,
    paths: Sequence[Path],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a salesops export, keeping ids: missing rows are inserted, changed ones updated."""
    directory, manifest = _load_manifest(paths)
    problems = _verify(directory, manifest)
    if problems:
        raise ValidationFailed("the export cannot be imported", problems)
    fmt = str(manifest.get("format", "parquet"))
    # Exports before the escape was introduced wrote text as it was: nothing to undo there.
    escaped = bool(manifest.get("csv_formulas_escaped"))
    entries = {e["table"]: e for e in manifest["tables"]}
    exported_at = datetime.fromisoformat(str(manifest.get("exported_at")))
    summary = ImportSummary("salesops", exported_at, dry_run=dry_run)
    session.flush()
    savepoint = session.begin_nested()
    try:
        connection = session.connection()
        with bulk_mode(connection):
            for table in Base.metadata.sorted_tables:
                entry = entries.get(table.name)
                if entry is None:
                    continue
                path = directory / entry["file"]
                rows = _restore_table(
                    session, table, _read_batches(path, fmt, table, escaped), summary
                )
                summary.files.append(FileRead(path, rows))
                if progress is not None:
                    progress(table.name, rows, int(entry.get("rows") or rows))
            reset_sequences(connection, list(Base.metadata.sorted_tables))
            if not int(entries.get("demo_builds", {}).get("rows") or 0):
                # Rows from a company that is not the demo now sit in this database: it is
                # no longer the demo company (no demo sign-ins with their public password).
                connection.execute(delete(DemoBuild))
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return summary


def _restore_table(
    session: Session, table: Table, batches: Iterator[list[dict[str, Any]]], summary: ImportSummary
) -> int:
    counts = summary.table(table.name)
    connection = session.connection()
    pk = list(table.primary_key.columns)
    inserter = BulkInserter(connection, table, with_id=True)
    # References to the same table may point forward: insert them empty, set them afterwards.
    self_refs = [
        c.name for c in table.columns if any(f.column.table is table for f in c.foreign_keys)
    ]
    pending: list[dict[str, Any]] = []
    total = 0
    for batch in batches:
        total += len(batch)
        counts.read += len(batch)
        keys = [tuple(r[c.name] for c in pk) for r in batch]
        existing: dict[tuple[Any, ...], dict[str, Any]] = {}
        if len(pk) == 1:
            query = select(table).where(pk[0].in_([k[0] for k in keys]))
            for found in connection.execute(query).mappings():
                existing[(found[pk[0].name],)] = dict(found)
        inserts = []
        for key, row in zip(keys, batch, strict=True):
            old = existing.get(key)
            if old is None:
                if self_refs:
                    pending.append({"_pk": key, **{c: row[c] for c in self_refs}})
                    row = {**row, **dict.fromkeys(self_refs)}
                inserts.append(row)
            elif any(old.get(c) != row.get(c) for c in row):
                connection.execute(
                    table.update().where(*(c == k for c, k in zip(pk, key, strict=True))), row
                )
                counts.updated += 1
            else:
                counts.unchanged += 1
        inserter.insert(inserts)
        counts.inserted += len(inserts)
    for item in pending:
        values = {c: item[c] for c in self_refs if item[c] is not None}
        if values:
            key = item["_pk"]
            connection.execute(
                table.update().where(*(c == k for c, k in zip(pk, key, strict=True))), values
            )
    return total
