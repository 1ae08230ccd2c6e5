"""The import engine: rows in chunks -> validated records -> batched inserts and updates.

Per chunk and output: build records (convert, map, validate every field), resolve
references in one query per referenced table, look up existing rows by key in one query,
then insert new rows with one executemany, update changed rows, and count unchanged ones.
Nothing here commits: the caller owns the one transaction of the whole import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update

from salesops.ingest import opportunity
from salesops.ingest.convert import converter
from salesops.ingest.lookups import existing_ids, existing_rows, unique_holders, update_rows
from salesops.ingest.mapping import PLACEHOLDER, FieldSpec, FileSpec, OutputSpec
from salesops.ingest.records import Context, Getter, Record, Rejected, getter, template_getter
from salesops.ingest.resolve import StageInfo
from salesops.ingest.targets import FieldDef, target

AS_OF = "$as_of"
MISSING = object()


class OutputRunner:
    """Writes one output of one file: build, resolve, deduplicate, insert or update."""

    def __init__(
        self, ctx: Context, file: FileSpec, output: OutputSpec, path: Path, columns: list[str]
    ) -> None:
        self.ctx = ctx
        self.output = output
        self.path = path
        self.columns = columns
        self.tdef = target(output.target)
        self.table = self.tdef.table
        self.counts = ctx.summary.table(output.target)
        index: dict[str, int] = {}
        for position, name in enumerate(columns):
            index.setdefault(name, position)
        self.index = index
        self.plan: list[tuple[FieldSpec, FieldDef, Getter, Callable[[str], Any]]] = []
        fields = [
            spec
            for spec in output.fields.values()
            if not (spec.optional and spec.source_columns() - index.keys())
        ]
        # The hot loop: a plain column needs no getter, map, pattern or default handling.
        self.fast: list[
            tuple[int, str, str, Callable[[str], Any], bool, int, dict[str, str] | None]
        ] = []
        for number, spec in enumerate(fields):
            fdef = self.tdef.fields[spec.name]
            convert = converter(spec, fdef, file.dates)
            self.plan.append((spec, fdef, getter(spec, index, path.name), convert))
            plain = (
                spec.column is not None
                and spec.pattern is None
                and not (spec.value_map and spec.strict)
                and not spec.columns
            )
            position = index[spec.column] if plain and spec.column is not None else -1
            is_ref = fdef.kind in {"ref", "stage"}
            self.fast.append(
                (position, spec.name, fdef.column, convert, is_ref, number, spec.value_map or None)
            )
            if spec.derive:
                ref_table = self.tdef.fields[spec.derive[0]].ref
                assert ref_table is not None
                ctx.resolver.want(ref_table, spec.derive[1])
        # (spec, field, key of its lookup results; None for a stage)
        self.ref_plan = [
            (s, d, None if d.kind == "stage" else (str(d.ref), s.lookup_by))
            for s, d, _, _ in self.plan
            if d.kind in {"ref", "stage"}
        ]
        self.stage_cache: dict[str, StageInfo] = {}
        self.derive_plan = [(s, d) for s, d, _, _ in self.plan if s.derive]
        self.required = [(f.name, f.column) for f in self.tdef.fields.values() if f.required]
        table_columns = set(self.table.columns.keys())
        self.needs_check = (
            output.target == "quotas"
            or bool(self.tdef.natural_key)
            or bool({"valid_from", "start_date"} & table_columns)
        )
        plain_key = (
            len(output.key) == 1
            and output.key[0] != "$hash"
            and PLACEHOLDER.fullmatch(output.key[0]) is not None
            and output.key[0][1:-1] in index
        )
        self.key_position = index[output.key[0][1:-1]] if plain_key else -1
        self.key_getters = [
            template_getter((k,), index, path.name) for k in output.key if k != "$hash"
        ]
        self.hash_key = "$hash" in output.key
        self.occurrences: dict[str, int] = {}
        # Rows this runner already wrote: ids above the watermark are new, lower ones are
        # marked in a bitmap, so duplicate keys are caught in bounded memory.
        self.touched = bytearray()
        self.watermark = ctx.connection.execute(select(func.max(self.table.c.id))).scalar() or 0
        self.deferred: list[tuple[Any, str, str, int, list[str]]] = []
        self.mapped_columns = [self.tdef.fields[s.name].column for s in fields]
        self.snapshots: list[dict[str, Any]] = []
        self.pending_rejects: list[tuple[int, str, list[str]]] = []
        # Single-column unique constraints besides the key (a product's name, a username).
        self.unique_columns = [
            c.name for c in self.table.columns if c.unique and c.name in set(self.mapped_columns)
        ]
        self.is_opportunity = output.target == "opportunities"
        self.opp = (
            opportunity.OpportunityRules(ctx, output, index, file) if self.is_opportunity else None
        )

    # -- building -------------------------------------------------------------------------
    def reject(self, record: Record, reason: str) -> None:
        self.counts.rejected += 1
        self.pending_rejects.append((record.line, reason, record.values))

    def flush_rejects(self) -> None:
        """Write this chunk's rejects in line order (checks reject rows at different steps)."""
        self.pending_rejects.sort(key=lambda item: item[0])
        for line, reason, values in self.pending_rejects:
            self.ctx.rejects.add(self.path, self.columns, line, self.output.target, reason, values)
        self.pending_rejects.clear()

    def _key(self, values: list[str], line: int) -> str:
        position = self.key_position
        if position >= 0:
            key = values[position].strip() if position < len(values) else ""
            if key and len(key) <= 120:
                return key
        if self.hash_key:
            digest = hashlib.sha1("\x1f".join(v.strip() for v in values).encode()).hexdigest()[:20]
            count = self.occurrences.get(digest, 0) + 1
            self.occurrences[digest] = count
            return f"{digest}-{count}"
        for get in self.key_getters:
            key = get(values, line)
            if key:
                if len(key) > 120:
                    raise Rejected(f"id {key[:40]!r}... is longer than 120 characters")
                return key
        raise Rejected("no id: the key column is empty")

    def build(self, line: int, values: list[str]) -> Record:
        record = Record(line, values)
        if self.tdef.imported:
            position = self.key_position
            key = values[position].strip() if 0 <= position < len(values) else ""
            record.key = key if key and len(key) <= 120 else self._key(values, line)
        cols = record.cols
        refs = record.refs
        problems: list[str] = []
        width = len(values)
        plan = self.plan
        for position, name, column, convert, is_ref, number, value_map in self.fast:
            if position >= 0:
                text = values[position].strip() if position < width else ""
                if text and value_map is not None:
                    text = value_map.get(text.casefold(), text)
                if text:
                    if is_ref:
                        refs[name] = text
                        continue
                    try:
                        cols[column] = convert(text)
                    except ValueError as exc:
                        problems.append(f"{name}: {exc}")
                    continue
            self._slow_field(record, plan[number], line, problems)
        if self.opp is not None and self.opp.history:
            problems.extend(self.opp.build(record, values))
        if problems:
            raise Rejected("; ".join(problems), record)
        return record

    def _slow_field(
        self,
        record: Record,
        entry: tuple[FieldSpec, FieldDef, Getter, Callable[[str], Any]],
        line: int,
        problems: list[str],
    ) -> None:
        spec, fdef, get, convert = entry
        values = record.values
        cols = record.cols
        if spec.columns:
            cols[fdef.column] = {
                c: values[self.index[c]].strip()
                for c in spec.columns
                if self.index[c] < len(values)
            }
            return
        text = get(values, line)
        if text and spec.pattern is not None:
            match = spec.pattern.search(text)
            text = (match.group(1) if match.groups() else match.group(0)).strip() if match else ""
        if spec.value_map and text:
            mapped = spec.value_map.get(text.casefold())
            if mapped is not None:
                text = mapped
            elif spec.strict:
                problems.append(f"{spec.name}: unexpected value {text!r}")
                return
        if not text and spec.default is not None:
            if spec.default == AS_OF:
                value: Any = self.ctx.as_of.date() if fdef.kind == "date" else self.ctx.as_of
                record.insert_only[fdef.column] = value
                return
            text = spec.default
        if not text:
            if fdef.kind in {"ref", "stage"} or spec.derive:
                cols.setdefault(fdef.column, None)
                return
            if spec.required:
                problems.append(f"{spec.name}: required but empty")
            cols[fdef.column] = None
            return
        if fdef.kind in {"ref", "stage"}:
            record.refs[spec.name] = text
            return
        try:
            cols[fdef.column] = convert(text)
        except ValueError as exc:
            problems.append(f"{spec.name}: {exc}")

    # -- resolving ------------------------------------------------------------------------
    def resolve(
        self, records: list[Record], failed: Sequence[tuple[Record, str]] = ()
    ) -> list[Record]:
        """Resolve references; rows that already failed get their further problems added."""
        everyone = [*records, *(record for record, _ in failed)]
        wanted: dict[tuple[str, str], set[str]] = {}
        for spec, fdef, _, _ in self.plan:
            if fdef.kind == "ref" and fdef.ref:
                wanted.setdefault((fdef.ref, spec.lookup_by), set()).update(
                    r.refs[spec.name] for r in everyone if spec.name in r.refs
                )
        found = {k: self.ctx.resolver.lookup(k[0], k[1], keys) for k, keys in wanted.items()}
        kept = []
        for record in records:
            try:
                self._resolve_one(record, found)
            except Rejected as exc:
                self.reject(record, str(exc))
                continue
            kept.append(record)
        for record, reason in failed:
            try:
                self._resolve_one(record, found, keep=False)
            except Rejected as more:
                reported = {part.split(":")[0] for part in reason.split("; ")}
                extra = [p for p in str(more).split("; ") if p.split(":")[0] not in reported]
                reason = "; ".join([reason, *extra])
            self.reject(record, reason)
        return kept

    def _resolve_one(
        self, record: Record, found: dict[tuple[str, str], dict[str, Any]], *, keep: bool = True
    ) -> None:
        attrs: dict[str, dict[str, Any]] = {}
        later: list[tuple[Any, str, str, int, list[str]]] = []
        problems: list[str] = []
        unknown: set[str] = set()
        cols = record.cols
        refs = record.refs
        for spec, fdef, lookup in self.ref_plan:
            text = refs.get(spec.name)
            if text is None:
                continue
            if lookup is None:  # a stage
                stage = self.stage_cache.get(text) or self.ctx.stages.get(text)
                if stage is None:
                    problems.append(f"unknown stage {text!r} (known: {self.ctx.stages.known()})")
                    unknown.add(fdef.name)
                else:
                    self.stage_cache[text] = stage
                    cols[fdef.column] = stage.id
                continue
            hit = found[lookup].get(text)
            if hit is not None:
                cols[fdef.column] = hit[0]
                attrs[spec.name] = hit[1]
            elif fdef.ref == self.output.target and spec.lookup_by == "external_id":
                cols[fdef.column] = None
                later.append((record.key, fdef.column, text, record.line, record.values))
            elif spec.missing == "null":
                cols[fdef.column] = None
            else:
                problems.append(f"unknown {spec.name} {text!r}")
                unknown.add(fdef.name)
        for spec, fdef in self.derive_plan:
            if cols.get(fdef.column) is None:
                assert spec.derive is not None
                cols[fdef.column] = attrs.get(spec.derive[0], {}).get(spec.derive[1])
        if self.opp is not None:
            self.opp.prepare(record, attrs)
        for name, column in self.required:
            value = cols.get(column, MISSING)
            if value is None:
                if name not in unknown:
                    problems.append(f"{name}: required but empty")
            elif value is MISSING and column not in record.insert_only and name not in unknown:
                problems.append(f"{name}: required but not given")
        if self.needs_check:
            extra = self._check(record)
            if extra:
                problems.append(extra)
        if problems:
            raise Rejected("; ".join(problems))
        if keep and later:
            self.deferred.extend(later)

    def _check(self, record: Record) -> str | None:
        cols = record.cols
        if self.output.target == "quotas":
            holders = sum(cols.get(c) is not None for c in ("rep_id", "team_id", "territory_id"))
            if holders != 1:
                return "a quota needs exactly one of rep, team or territory"
        start, end = (
            cols.get("valid_from") or cols.get("start_date"),
            cols.get("valid_to") or cols.get("end_date"),
        )
        if start is not None and end is not None and end < start:
            return f"ends ({end}) before it starts ({start})"
        if self.tdef.natural_key and any(cols.get(c) is None for c in self.tdef.natural_key):
            return f"needs {', '.join(c.removesuffix('_id') for c in self.tdef.natural_key)}"
        return None

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
        for line, values in chunk:
            self.counts.read += 1
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
            statement = (
                update(table).where(table.c.id == bindparam("_id")).values({column: bindparam("v")})
            )
            self.ctx.connection.execute(statement, values_list)
        self.deferred.clear()
