"""The import engine: rows in chunks -> validated records -> batched inserts and updates.

Per chunk and output: build records (convert, map, validate every field), resolve
references in one query per referenced table, look up existing rows by key in one query,
then insert new rows with one executemany, update changed rows, and count unchanged ones.
Nothing here commits: the caller owns the one transaction of the whole import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update

from salesops.ingest.builder import RecordBuilder
from salesops.ingest.joins import Joiner
from salesops.ingest.lookups import existing_ids, existing_rows, unique_holders, update_rows
from salesops.ingest.mapping import FileSpec, OutputSpec
from salesops.ingest.records import DEFAULT_OWNER, Context, Record, Rejected


class OutputRunner(RecordBuilder):
    """Writes one output of one file: build, resolve, deduplicate, insert or update."""

    def __init__(
        self,
        ctx: Context,
        file: FileSpec,
        output: OutputSpec,
        path: Path,
        columns: list[str],
        joiner: Joiner | None = None,
    ) -> None:
        super().__init__(ctx, file, output, path, columns, joiner)
        # Rows this runner already wrote: ids above the watermark are new, lower ones are
        # marked in a bitmap, so duplicate keys are caught in bounded memory.
        self.touched = bytearray()
        self.watermark = ctx.connection.execute(select(func.max(self.table.c.id))).scalar() or 0
        self.snapshots: list[dict[str, Any]] = []
        # Single-column unique constraints besides the key (a product's name, a username).
        self.unique_columns = [
            c.name for c in self.table.columns if c.unique and c.name in set(self.mapped_columns)
        ]

    # -- writing --------------------------------------------------------------------------
    def _seen(self, row_id: int) -> bool:
        if row_id > self.watermark:  # inserted earlier in this import
            return True
        byte, bit = divmod(row_id, 8)
        return byte < len(self.touched) and bool(self.touched[byte] & (1 << bit))

    def _mark(self, row_id: int) -> None:
        byte, bit = divmod(row_id, 8)
        if byte >= len(self.touched):
            self.touched.extend(bytes(byte - len(self.touched) + 1024))
        self.touched[byte] |= 1 << bit

    def process(self, chunk: list[tuple[int, list[str]]]) -> None:
        try:
            self._process(chunk)
        finally:
            self.flush_rejects()

    def _process(self, chunk: list[tuple[int, list[str]]]) -> None:
        records: list[Record] = []
        failed: list[tuple[Record, str]] = []
        width = len(self.columns)
        self.counts.read += len(chunk)
        joiner = self.joiner
        for line, values in chunk:
            if (
                len(values) != width
                and self.columns
                and not (len(values) > width and not any(v.strip() for v in values[width:]))
            ):
                self.reject(
                    Record(line, values),
                    f"row has {len(values)} fields but the file has {width} columns"
                    " (truncated or misquoted?)",
                )
                continue
            if joiner is not None:
                values = joiner.extend(values)
            try:
                records.append(self.build(line, values))
            except Rejected as exc:
                if exc.record is None:
                    self.reject(Record(line, values), str(exc))
                else:
                    failed.append((exc.record, str(exc)))
        records = self.resolve(records, failed)
        if not self.tdef.imported:
            for record in records:
                record.key = tuple(record.cols[c] for c in self.tdef.natural_key)
        unique: dict[Any, Record] = {}
        for record in records:
            first = unique.get(record.key)
            if first is None:
                unique[record.key] = record
            elif self.output.duplicates == "merge":
                self.counts.skipped += 1
            else:
                self.reject(record, f"duplicate id {record.key!r} (first on line {first.line})")
        if unique:
            self.write(list(unique.values()))

    def _existing(self, records: list[Record]) -> dict[Any, dict[str, Any]]:
        columns = {*self.mapped_columns, *(self.opp.tracked if self.opp else ())}
        if self.opp is not None:
            columns.add("created_at")
        columns |= {c for r in records for c in r.cols}
        return existing_rows(
            self.ctx.connection,
            self.tdef,
            self.ctx.mapping.source_system,
            [r.key for r in records],
            columns,
        )

    def write(self, records: list[Record]) -> None:
        existing = self._existing(records)
        inserts: list[Record] = []
        updates: list[tuple[Record, dict[str, Any]]] = []
        for record in records:
            old = existing.get(record.key)
            if old is None:
                inserts.append(record)
                continue
            if self._seen(old["id"]):
                if self.output.duplicates == "merge":
                    self.counts.skipped += 1
                else:
                    self.reject(
                        record,
                        f"duplicate id {record.key!r} (already imported from an earlier row)",
                    )
                continue
            self._mark(old["id"])
            if self.opp is not None and "created_at" not in record.cols:
                problem = self.opp.check_dates(record, old.get("created_at"))
                if problem:
                    self.reject(record, problem)
                    continue
            changes = {c: v for c, v in record.cols.items() if old.get(c) != v}
            if self.opp is not None:
                changes.update(self.opp.update_extras(record, old, changes))
            if changes:
                updates.append((record, changes))
            else:
                self.counts.unchanged += 1
        if self.unique_columns:
            inserts, updates = self._without_clashes(inserts, updates, existing)
        if inserts:
            self._insert(inserts)
        if updates:
            self._update(updates, existing)

    def _without_clashes(
        self,
        inserts: list[Record],
        updates: list[tuple[Record, dict[str, Any]]],
        existing: dict[Any, dict[str, Any]],
    ) -> tuple[list[Record], list[tuple[Record, dict[str, Any]]]]:
        """Reject rows whose value of a unique column (a product's name...) is taken."""
        rejected: set[int] = set()
        for column in self.unique_columns:
            candidates = [(r, r.cols.get(column), None) for r in inserts]
            candidates += [(r, c[column], existing[r.key]["id"]) for r, c in updates if column in c]
            values = sorted({v for _, v, _ in candidates if v is not None})
            if not values:
                continue
            taken = unique_holders(self.ctx.connection, self.tdef, column, values)
            first_line: dict[Any, int] = {}
            for record, value, own_id in candidates:
                if value is None or id(record) in rejected:
                    continue
                holder = taken.get(value)
                field = column.removesuffix("_id")
                if holder is not None and holder[0] != own_id:
                    source = holder[1] or "salesops"
                    self.reject(
                        record, f"{field} {value!r} is already taken (by a row from {source})"
                    )
                elif value in first_line:
                    self.reject(record, f"{field} {value!r} also on line {first_line[value]}")
                else:
                    first_line[value] = record.line
                    continue
                rejected.add(id(record))
        if not rejected:
            return inserts, updates
        return (
            [r for r in inserts if id(r) not in rejected],
            [(r, c) for r, c in updates if id(r) not in rejected],
        )

    def _insert(self, records: list[Record]) -> None:
        rows = []
        source_system = self.ctx.mapping.source_system
        imported = self.tdef.imported
        for record in records:
            row = record.cols  # the record is done with: complete it in place
            if record.insert_only:
                for column, value in record.insert_only.items():
                    if value is DEFAULT_OWNER:
                        value = self.ctx.default_owner()
                        self.defaulted += 1
                    row.setdefault(column, value)
            if imported:
                row["source_system"] = source_system
                row["external_id"] = record.key
            rows.append(row)
        self.ctx.inserter(self.output.target).insert(rows)
        self.counts.inserted += len(rows)
        self.ctx.resolver.forget(self.output.target)
        if self.opp is not None and self.opp.knows_history:
            self.opp.after_insert(records, self._existing_ids([r.key for r in records]))
        elif self.opp is not None:
            self.opp.note_inserts(records)

    def _existing_ids(self, keys: list[Any]) -> dict[Any, int]:
        return existing_ids(self.ctx.connection, self.tdef, self.ctx.mapping.source_system, keys)

    def _update(
        self, updates: list[tuple[Record, dict[str, Any]]], existing: dict[Any, dict[str, Any]]
    ) -> None:
        update_rows(
            self.ctx.connection,
            self.tdef,
            [(existing[record.key]["id"], changes) for record, changes in updates],
        )
        self.counts.updated += len(updates)
        self.ctx.resolver.forget(self.output.target)
        if self.opp is not None:
            self.opp.after_update(updates, existing)

    def finish(self) -> None:
        """Resolve references to rows of the same table that came later in the file."""
        if not self.deferred:
            return
        table = self.table
        parents = self.ctx.resolver.lookup(
            self.output.target, "external_id", {d[2] for d in self.deferred}
        )
        children = self._existing_ids([d[0] for d in self.deferred])
        params: dict[str, list[dict[str, Any]]] = {}
        for key, column, parent_key, line, values in self.deferred:
            parent = parents.get(parent_key)
            child = children.get(key)
            if parent is None or child is None:
                reason = (
                    f"imported without its {column.removesuffix('_id')}: {parent_key!r} is unknown"
                )
                self.ctx.rejects.add(
                    self.path, self.columns, line, self.output.target, reason, values
                )
                continue
            params.setdefault(column, []).append({"_id": child, "v": parent[0]})
        for column, values_list in params.items():
            assignments: dict[str, Any] = {column: bindparam("v")}
            if "version" in table.c:
                assignments["version"] = table.c.version + 1
            statement = update(table).where(table.c.id == bindparam("_id")).values(assignments)
            self.ctx.connection.execute(statement, values_list)
        self.deferred.clear()
