"""Rows of one output of one file -> checked records, ready to be written.

Each row's fields are converted, mapped and validated, then the chunk's references are resolved
in one query per referenced table. Every problem of a row is collected before it is rejected, so
the rejects file says all that is wrong with a row at once. Writing the records is
`salesops.ingest.engine`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesops.crm import checks
from salesops.db.attributes import attribute_problems
from salesops.ingest import opportunity
from salesops.ingest.convert import _boolean, converter
from salesops.ingest.mapping import PLACEHOLDER, FieldSpec, FileSpec, OutputSpec
from salesops.ingest.records import (
    DEFAULT_OWNER,
    Context,
    Getter,
    Record,
    Rejected,
    getter,
    template_getter,
)
from salesops.ingest.resolve import StageInfo
from salesops.ingest.targets import FieldDef, target

if TYPE_CHECKING:
    from salesops.ingest.joins import Joiner

AS_OF = "$as_of"
MISSING = object()
EXAMPLES = 5


class LookupTally:
    """How the lookups of one reference field went: values given, values unknown."""

    def __init__(self) -> None:
        self.given = 0
        self.unknown = 0
        self.examples: list[str] = []

    def miss(self, text: str) -> None:
        self.unknown += 1
        if len(self.examples) < EXAMPLES and text not in self.examples:
            self.examples.append(text)


class RecordBuilder:
    """Builds and resolves the records of one output of one file; rejects what fails."""

    def __init__(
        self,
        ctx: Context,
        file: FileSpec,
        output: OutputSpec,
        path: Path,
        columns: list[str],
        joiner: Joiner | None = None,
    ) -> None:
        self.ctx = ctx
        self.output = output
        self.path = path
        self.columns = columns  # the file's own columns (rejects are written with these)
        self.width = len(columns)
        self.joiner = joiner
        self.tdef = target(output.target)
        self.table = self.tdef.table
        self.counts = ctx.summary.table(output.target)
        index: dict[str, int] = {}
        for position, name in enumerate([*columns, *(joiner.names if joiner else ())]):
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
        # A rate row names the currency it rates: that is what gives the currency its rate.
        self.has_currency = "currency" in table_columns and output.target != "fx_rates"
        self.needs_check = (
            self.has_currency
            or output.target == "quotas"
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
        self.deferred: list[tuple[Any, str, str, int, list[str]]] = []
        self.mapped_columns = [self.tdef.fields[s.name].column for s in fields]
        self.pending_rejects: list[tuple[int, str, list[str]]] = []
        self.is_opportunity = output.target == "opportunities"
        self.opp = (
            opportunity.OpportunityRules(ctx, output, index, file) if self.is_opportunity else None
        )
        # Data without reps: every deal belongs to the mapping's default owner.
        self.owner_default = self.is_opportunity and "owner" not in output.fields
        self.lookups = {spec.name: LookupTally() for spec, _, lookup in self.ref_plan if lookup}
        self.defaulted = 0

    # -- building -------------------------------------------------------------------------
    def reject(self, record: Record, reason: str) -> None:
        self.counts.rejected += 1
        values = record.values[: self.width] if self.joiner else record.values
        self.pending_rejects.append((record.line, reason, values))

    def flush_rejects(self) -> None:
        """Write this chunk's rejects in line order (checks reject rows at different steps)."""
        self.pending_rejects.sort(key=lambda item: item[0])
        for line, reason, values in self.pending_rejects:
            self.ctx.rejects.add(self.path, self.columns, line, self.output.target, reason, values)
        self.pending_rejects.clear()

    # -- after the file -------------------------------------------------------------------
    def report(self) -> None:
        """Warn about what the summary's counts do not show (a lookup that never matched...)."""
        from salesops.ingest import hints  # only when a lookup failed for every row

        summary = self.ctx.summary
        target_name = self.output.target
        for spec, fdef, lookup in self.ref_plan:
            tally = self.lookups.get(spec.name)
            if lookup is None or tally is None or not tally.given:
                continue
            if tally.unknown == tally.given:
                summary.warn(
                    "lookup_failed",
                    tally.unknown,
                    hints.lookup_failed(self.ctx, target_name, spec, str(fdef.ref), tally),
                )
        if self.defaulted:
            owner = self.ctx.mapping.default_owner
            why = "the mapping has no `owner`" if self.owner_default else "`missing: default`"
            summary.notes.append(
                f"{self.path.name}: {self.defaulted:,} {target_name} row(s) got the default"
                f" owner {owner.name!r} (rep {owner.key!r}; {why})"
            )
        if self.opp is not None:
            self.opp.report(self.path.name)

    def _key(self, values: list[str], line: int) -> str:
        position = self.key_position
        if position >= 0:
            key = values[position].strip() if position < len(values) else ""
            if key and len(key) <= 120:
                return key
        if self.hash_key:
            # Only the file's own columns: a row's id must not change when joined data does.
            own = values[: self.width] if self.joiner else values
            digest = hashlib.sha1("\x1f".join(v.strip() for v in own).encode()).hexdigest()[:20]
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
            if spec.attribute_names:
                cols[fdef.column] = attributes_of(spec, values, self.index, problems)
                return
            cols[fdef.column] = {
                c: values[self.index[c]].strip()
                for c in spec.columns
                if self.index[c] < len(values)
            }
            if fdef.column == "attributes":
                problems.extend(attribute_problems(cols[fdef.column]))
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
                name = spec.name
                texts = [r.refs[name] for r in everyone if name in r.refs]
                wanted.setdefault((fdef.ref, spec.lookup_by), set()).update(texts)
                self.lookups[name].given += len(texts)
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
        defaulted = 0
        cols = record.cols
        refs = record.refs
        stage_cache = self.stage_cache
        for spec, fdef, lookup in self.ref_plan:
            text = refs.get(spec.name)
            if text is None:
                if spec.missing == "default":
                    cols[fdef.column] = self.ctx.default_owner()
                    defaulted = 1
                continue
            if lookup is None:  # a stage
                stage = stage_cache.get(text)
                if stage is None:
                    stage = self.ctx.stages.get(text)
                    if stage is None:
                        problems.append(
                            f"unknown stage {text!r} (known: {self.ctx.stages.known()})"
                        )
                        unknown.add(fdef.name)
                        continue
                    stage_cache[text] = stage
                cols[fdef.column] = stage.id
                continue
            hit = found[lookup].get(text)
            if hit is not None:
                cols[fdef.column] = hit[0]
                if hit[1]:
                    attrs[spec.name] = hit[1]
                continue
            if fdef.ref == self.output.target and spec.lookup_by == "external_id":
                self.lookups[spec.name].given -= 1  # resolved at the end of the file
                cols[fdef.column] = None
                later.append((record.key, fdef.column, text, record.line, record.values))
                continue
            self.lookups[spec.name].miss(text)
            if spec.missing == "null":
                cols[fdef.column] = None
            elif spec.missing == "default":
                cols[fdef.column] = self.ctx.default_owner()
                defaulted = 1
            else:
                problems.append(f"unknown {spec.name} {text!r}")
                unknown.add(fdef.name)
        for spec, fdef in self.derive_plan:
            if cols.get(fdef.column) is None:
                assert spec.derive is not None
                cols[fdef.column] = attrs.get(spec.derive[0], {}).get(spec.derive[1])
        if self.owner_default:
            # Only for new deals: a file without owners must not take deals from their reps.
            record.insert_only["owner_id"] = DEFAULT_OWNER
        if self.opp is not None:
            problems.extend(self.opp.prepare(record, attrs))
        for name, column in self.required:
            value = cols.get(column, MISSING)
            if value is None:
                if name not in unknown:
                    problems.append(f"{name}: required but empty")
            elif value is MISSING and column not in record.insert_only and name not in unknown:
                problems.append(f"{name}: required but not given")
        if self.needs_check:
            extra = self._check(record, unknown)
            if extra:
                problems.append(extra)
        if problems:
            raise Rejected("; ".join(problems))
        if keep:
            self.defaulted += defaulted
        if keep and later:
            self.deferred.extend(later)

    def _check(self, record: Record, unknown: set[str]) -> str | None:
        cols = record.cols
        if self.has_currency and (
            reason := checks.currency_problem(cols.get("currency"), self.ctx.rated_currencies)
        ):
            return f"currency: {reason}"
        if self.output.target == "quotas":
            # The records service's rules (API and form share them), field by field.
            problems = checks.quota_problems(cols)
            if unknown:  # an unknown rep is the problem, not that the quota then has no holder
                problems = [p for p in problems if p.location != "holder"]
            if problems:
                return "; ".join(str(p) for p in problems)
        start, end = (
            cols.get("valid_from") or cols.get("start_date"),
            cols.get("valid_to") or cols.get("end_date"),
        )
        if start is not None and end is not None and end < start:
            return f"ends ({end}) before it starts ({start})"
        if self.tdef.natural_key and any(cols.get(c) is None for c in self.tdef.natural_key):
            return f"needs {', '.join(c.removesuffix('_id') for c in self.tdef.natural_key)}"
        return None


def attributes_of(
    spec: FieldSpec, values: list[str], index: dict[str, int], problems: list[str]
) -> dict[str, Any] | None:
    """The `attributes.<name>` fields of one row, typed; empty cells are left out."""
    out: dict[str, Any] = {}
    for column, name, kind in zip(
        spec.columns, spec.attribute_names, spec.attribute_kinds, strict=True
    ):
        position = index[column]
        text = values[position].strip() if position < len(values) else ""
        if not text:
            continue
        try:
            out[name] = attribute_value(text, kind)
        except ValueError as exc:
            problems.append(f"attributes.{name}: {exc}")
    problems.extend(attribute_problems(out))
    return out or None


def attribute_value(text: str, kind: str) -> Any:
    """One attribute's value from its text: a number, a boolean, an ISO date or the text."""
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "bool":
        return _boolean(text)
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a date like 2025-03-31") from None
    return text
