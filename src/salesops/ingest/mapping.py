"""The declarative mapping format: which file feeds which table, and how each field is read.

`load_mapping` validates a whole mapping before any data row is read and reports every
problem at once, each with its location (`mapping.yaml: files[1].outputs[0].fields.amount`).
The format is documented with a worked example in docs/importing.md.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesops.db.attributes import KINDS as ATTRIBUTE_KINDS
from salesops.db.attributes import attribute_problems
from salesops.db.types import as_utc
from salesops.errors import ValidationFailed
from salesops.ingest import syntax
from salesops.ingest.definitions import Checker, read_yaml
from salesops.ingest.spec import (
    PLACEHOLDER,
    Case,
    FieldSpec,
    FileFormat,
    FileSpec,
    LifecycleSpec,
    Mapping,
    OutputSpec,
    StageDecl,
    StageHistorySpec,
)
from salesops.ingest.targets import IMPORTABLE, target
from salesops.models import ForecastCategory, StageCategory

ENCODINGS = {"auto", "utf-8", "utf-8-sig", "latin-1", "cp1252"}
__all__ = [
    "PLACEHOLDER",
    "FieldSpec",
    "FileFormat",
    "FileSpec",
    "LifecycleSpec",
    "Mapping",
    "OutputSpec",
    "StageDecl",
    "StageHistorySpec",
    "load_mapping",
    "parse_mapping",
]


class _Parser(Checker):
    def mapping(self, data: Any) -> Mapping:
        if not isinstance(data, dict):
            self.problem("", "a mapping must be a YAML dictionary with `source_system` and `files`")
            raise ValidationFailed("invalid mapping", self.problems)
        self.keys(
            data,
            {
                "version", "source_system", "description", "currency", "as_of", "stages", "files",
                "default_owner",
            },
            "",
        )  # fmt: skip
        if data.get("version", 1) != 1:
            self.problem("version", "only version 1 of the mapping format exists")
        source = self.text(data, "source_system", "") or ""
        if not source:
            self.problem("source_system", "required: the name stored with every imported row")
        elif len(source) > 40:
            self.problem("source_system", "at most 40 characters")
        currency = (self.text(data, "currency", "", "USD") or "USD").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            self.problem("currency", f"expected a 3-letter ISO code, got {currency!r}")
        as_of = None
        if data.get("as_of") is not None:
            as_of = _parse_as_of(data["as_of"])
            if as_of is None:
                self.problem("as_of", f"expected an ISO timestamp, got {data['as_of']!r}")
        stages = tuple(
            self.stage(s, f"stages[{i}]") for i, s in enumerate(data.get("stages") or [])
        )
        files_data = data.get("files")
        if not isinstance(files_data, list) or not files_data:
            self.problem("files", "required: a list of files, each with `match` and `outputs`")
            files_data = []
        files = tuple(self.file(f, f"files[{i}]") for i, f in enumerate(files_data))
        owner = syntax.default_owner(self, data.get("default_owner"))
        if self.problems:
            raise ValidationFailed(f"invalid mapping {self.name}", self.problems)
        return Mapping(
            name=self.name,
            source_system=source,
            files=files,
            currency=currency,
            as_of=as_of,
            stages=tuple(s for s in stages if s is not None),
            description=str(data.get("description") or ""),
            default_owner=owner,
        )

    def stage(self, data: Any, where: str) -> StageDecl | None:
        if not isinstance(data, dict) or "name" not in data:
            self.problem(where, "a stage needs at least a `name`")
            return None
        self.keys(data, {"name", "category", "probability", "forecast_category", "after"}, where)
        try:
            category = StageCategory(data.get("category", "open"))
            forecast = ForecastCategory(data.get("forecast_category", "pipeline"))
        except ValueError as exc:
            self.problem(where, str(exc))
            return None
        probability = self.decimal(data.get("probability", 0), f"{where}.probability")
        if probability is None or not Decimal(0) <= probability <= 1:
            self.problem(f"{where}.probability", "expected a probability between 0 and 1")
            return None
        after = data.get("after")
        return StageDecl(str(data["name"]), category, probability, forecast, after)

    def file(self, data: Any, where: str) -> FileSpec:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary with `match` and `outputs`")
            return FileSpec((), FileFormat(), ())
        self.keys(data, {"match", "format", "outputs", "dates", "join"}, where)
        match = self.texts(data.get("match"), f"{where}.match")
        if not match:
            self.problem(f"{where}.match", "required: a file name pattern such as 'accounts*.csv'")
        fmt = self.format(data.get("format") or {}, f"{where}.format")
        outputs_data = data.get("outputs")
        if not isinstance(outputs_data, list) or not outputs_data:
            self.problem(f"{where}.outputs", "required: a list of outputs (target, key, fields)")
            outputs_data = []
        outputs = tuple(self.output(o, f"{where}.outputs[{i}]") for i, o in enumerate(outputs_data))
        dates = self.texts(data.get("dates"), f"{where}.dates")
        self.check_formats(dates, f"{where}.dates")
        joins = syntax.joins(self, data.get("join"), f"{where}.join")
        known = syntax.joined_columns_known(fmt, joins)
        if not fmt.header and known is not None:
            for join in joins:
                if join.left not in fmt.columns:
                    self.problem(
                        f"{join.location}.on", f"{join.left!r} is not one of the file's columns"
                    )
            for i, output in enumerate(outputs):
                for column in sorted(output.source_columns() - known):
                    self.problem(
                        f"{where}.outputs[{i}]",
                        f"column {column!r} is not one of the file's `format.columns`",
                    )
        return FileSpec(match, fmt, outputs, dates, where, joins)

    def format(self, data: Any, where: str) -> FileFormat:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary")
            return FileFormat()
        allowed = {"encoding", "delimiter", "record_terminator", "header", "columns", "quote"}
        self.keys(data, allowed | {"sheet", "skip_rows"}, where)
        encoding = str(data.get("encoding", "auto")).lower().replace("_", "-")
        if encoding not in ENCODINGS:
            self.problem(f"{where}.encoding", f"expected one of {', '.join(sorted(ENCODINGS))}")
        delimiter = str(data.get("delimiter", "auto"))
        if delimiter == "\\t":
            delimiter = "\t"
        if not delimiter:
            self.problem(f"{where}.delimiter", "must not be empty")
        header = data.get("header", True)
        if not isinstance(header, bool):
            self.problem(f"{where}.header", "expected true or false")
            header = True
        columns = self.texts(data.get("columns"), f"{where}.columns")
        if not header and not columns:
            self.problem(f"{where}.columns", "a file without a header row needs `columns`")
        terminator = data.get("record_terminator")
        if terminator is not None and delimiter == "auto":
            self.problem(f"{where}.delimiter", "a custom record_terminator needs a delimiter")
        skip = data.get("skip_rows", 0)
        if not isinstance(skip, int) or skip < 0:
            self.problem(f"{where}.skip_rows", "expected a whole number of rows to skip")
            skip = 0
        return FileFormat(
            encoding=encoding,
            delimiter=delimiter,
            record_terminator=None if terminator is None else str(terminator),
            header=header,
            columns=columns,
            quote=str(data.get("quote", '"')),
            sheet=data.get("sheet"),
            skip_rows=skip,
        )

    def output(self, data: Any, where: str) -> OutputSpec:
        if not isinstance(data, dict):
            self.problem(where, "expected a dictionary with `target`, `key` and `fields`")
            return OutputSpec("")
        self.keys(
            data,
            {
                "target", "key", "duplicates", "fields", "lifecycle", "stage_history",
                "impossible_dates",
            },
            where,
        )  # fmt: skip
        name = str(data.get("target", ""))
        try:
            tdef = target(name)
        except KeyError:
            self.problem(
                f"{where}.target", f"unknown target {name!r} (one of {', '.join(IMPORTABLE)})"
            )
            return OutputSpec(name)
        constant = syntax.key(self, data.get("key"), f"{where}.key")
        key = constant if constant is not None else self.texts(data.get("key"), f"{where}.key")
        if tdef.imported and not key and constant is None:
            self.problem(f"{where}.key", "required: the column (or template) of the record's id")
        if not tdef.imported and key:
            self.problem(f"{where}.key", f"{name} rows are identified by {tdef.natural_key}")
        if constant is None:
            key = tuple(k if ("{" in k or k == "$hash") else "{" + k + "}" for k in key)
        duplicates = str(data.get("duplicates", "reject"))
        if duplicates not in {"reject", "merge"}:
            self.problem(f"{where}.duplicates", "expected reject or merge")
        fields_data = data.get("fields") or {}
        if not isinstance(fields_data, dict) or not fields_data:
            self.problem(f"{where}.fields", "required: canonical field -> source column")
            fields_data = {}
        fields: dict[str, FieldSpec] = {}
        attributes: list[tuple[str, str, str]] = []
        for fname, fdata in fields_data.items():
            if str(fname).startswith("attributes."):
                found = self.attribute(name, str(fname), fdata, f"{where}.fields.{fname}")
                attributes += [found] if found else []
                continue
            spec = self.field(name, str(fname), fdata, f"{where}.fields.{fname}")
            if spec is not None:
                fields[spec.name] = spec
        if attributes:
            if "attributes" in fields:
                self.problem(
                    f"{where}.fields.attributes", "give either attributes or attributes.<name>"
                )
            fields["attributes"] = FieldSpec(
                name="attributes",
                columns=tuple(a[1] for a in attributes),
                attribute_names=tuple(a[0] for a in attributes),
                attribute_kinds=tuple(a[2] for a in attributes),
            )
        for fdef in tdef.fields.values():
            # A deal without a creation time was created at the export's time; one without an
            # owner belongs to the mapping's default owner.
            defaulted = name == "opportunities" and fdef.name in {"created_at", "owner"}
            if fdef.required and fdef.name not in fields and not defaulted:
                self.problem(f"{where}.fields", f"{name} needs the field {fdef.name!r}")
        for spec in fields.values():
            if spec.derive and spec.derive[0] not in fields:
                self.problem(
                    f"{where}.fields.{spec.name}.derive",
                    f"{spec.derive[0]!r} is not a reference field of this output",
                )
        impossible = str(data.get("impossible_dates", "reject"))
        if impossible not in {"reject", "keep"}:
            self.problem(f"{where}.impossible_dates", "expected reject or keep")
        elif "impossible_dates" in data and name != "opportunities":
            self.problem(f"{where}.impossible_dates", "applies to opportunities only")
        lifecycle = history = None
        if "lifecycle" in data or "stage_history" in data:
            if name != "opportunities":
                self.problem(where, "lifecycle and stage_history apply to opportunities only")
            lifecycle = syntax.lifecycle(self, data.get("lifecycle"), fields, f"{where}.lifecycle")
            history = syntax.stage_history(
                self, data.get("stage_history"), f"{where}.stage_history"
            )
        return OutputSpec(name, key, duplicates, fields, lifecycle, history, where, impossible)

    def check_formats(self, formats: tuple[str, ...], where: str) -> None:
        for fmt in formats:
            probe = datetime(2001, 2, 3, 4, 5, 6)
            try:
                if datetime.strptime(probe.strftime(fmt), fmt).year != 2001 and "%Y" in fmt:
                    raise ValueError
            except ValueError:
                self.problem(where, f"date format {fmt!r} cannot read back what it writes")

    def attribute(
        self, target_name: str, name: str, data: Any, where: str
    ) -> tuple[str, str, str] | None:
        """`attributes.<name>: Column` or `{column: Column, type: number}`: one custom field
        (attribute name, source column, kind)."""
        fdef = target(target_name).fields.get("attributes")
        if fdef is None or fdef.kind != "json":
            self.problem(where, f"{target_name} has no custom attributes")
            return None
        attr = name.removeprefix("attributes.")
        if attribute_problems({attr: None}):
            self.problem(where, attribute_problems({attr: None})[0])
            return None
        if isinstance(data, str):
            data = {"column": data}
        if not isinstance(data, dict) or not data.get("column"):
            self.problem(where, "expected a column name or {column: ..., type: ...}")
            return None
        self.keys(data, {"column", "type"}, where)
        kind = str(data.get("type", "text"))
        if kind not in ATTRIBUTE_KINDS:
            self.problem(f"{where}.type", f"expected one of {', '.join(ATTRIBUTE_KINDS)}")
            return None
        return attr, str(data["column"]), kind

    def field(self, target_name: str, name: str, data: Any, where: str) -> FieldSpec | None:
        fdef = target(target_name).fields.get(name)
        if fdef is None:
            known = ", ".join(sorted(target(target_name).fields))
            self.problem(where, f"{target_name} has no field {name!r} (fields: {known})")
            return None
        if isinstance(data, str):
            data = {"column": data}
        if not isinstance(data, dict):
            self.problem(where, "expected a column name or a dictionary")
            return None
        allowed = {
            "column", "template", "value", "columns", "pattern", "map", "strict", "default",
            "required", "format", "decimal_separator", "thousands_separator", "scale", "min",
            "time", "lookup", "missing", "derive", "optional", "add_months", "add_days",
            *syntax.CONDITIONAL_KEYS,
        }  # fmt: skip
        self.keys(data, allowed, where)
        kinds = ("column", "template", "value", "columns", "cases", "if_present", "if_empty")
        sources = [k for k in kinds if k in data]
        if len(sources) > 1:
            self.problem(where, f"give only one of {', '.join(kinds)} (got {sources})")
        if not sources and "derive" not in data and "default" not in data:
            self.problem(
                where, "needs a column, template, value, columns, a condition, derive or default"
            )
        cases: tuple[Case, ...] = ()
        otherwise = None
        if {"cases", "if_present", "if_empty"} & set(data):
            cases, otherwise = syntax.conditional(self, data, where)
        elif "else" in data or "then" in data:
            self.problem(where, "`then` and `else` belong to if_present, if_empty or cases")
        if "columns" in data and fdef.kind != "json":
            self.problem(where, "`columns` builds a dictionary: only for json fields")
        pattern = None
        if "pattern" in data:
            try:
                pattern = re.compile(str(data["pattern"]), re.DOTALL)
            except re.error as exc:
                self.problem(f"{where}.pattern", f"invalid regular expression: {exc}")
        value_map = data.get("map") or {}
        if not isinstance(value_map, dict):
            self.problem(f"{where}.map", "expected source value -> canonical value")
            value_map = {}
        formats = self.texts(data.get("format"), f"{where}.format")
        if formats and fdef.kind not in {"date", "datetime"}:
            self.problem(f"{where}.format", "date formats apply to date and datetime fields")
        self.check_formats(formats, f"{where}.format")
        at_time = None
        if data.get("time") is not None:
            try:
                at_time = time.fromisoformat(str(data["time"]))
            except ValueError:
                self.problem(f"{where}.time", "expected a time of day such as 23:59:59")
        lookup = str(data.get("lookup", "external_id"))
        missing = str(data.get("missing", "reject"))
        if ("lookup" in data or "missing" in data) and fdef.kind not in {"ref"}:
            self.problem(where, "lookup and missing apply to reference fields only")
        if lookup not in {"external_id", "name"}:
            self.problem(f"{where}.lookup", "expected external_id or name")
        if missing not in {"reject", "null", "default"}:
            self.problem(f"{where}.missing", "expected reject, null or default")
        elif missing == "default" and fdef.ref != "reps":
            self.problem(f"{where}.missing", "`default` (the default owner) is for reps only")
        derive = None
        if data.get("derive") is not None:
            parts = str(data["derive"]).split(".")
            if len(parts) != 2:
                self.problem(f"{where}.derive", "expected <reference field>.<column>")
            else:
                derive = (parts[0], parts[1])
                ref = target(target_name).fields.get(parts[0])
                if ref is None or ref.ref is None:
                    self.problem(f"{where}.derive", f"{parts[0]!r} is not a reference field")
                elif ref.ref in IMPORTABLE and parts[1] not in target(ref.ref).table.columns:
                    self.problem(f"{where}.derive", f"{ref.ref} has no column {parts[1]!r}")
        minimum = self.decimal(data.get("min"), f"{where}.min")
        return FieldSpec(
            name=name,
            column=self.text(data, "column", where),
            template=self.texts(data.get("template"), f"{where}.template"),
            value=self.text(data, "value", where),
            columns=self.texts(data.get("columns"), f"{where}.columns"),
            pattern=pattern,
            value_map={str(k).strip().casefold(): str(v) for k, v in value_map.items()},
            strict=bool(data.get("strict", False)),
            default=self.text(data, "default", where),
            required=data.get("required"),
            formats=formats,
            decimal_separator=str(data.get("decimal_separator", ".")),
            thousands_separator=str(data.get("thousands_separator", "")),
            scale=self.decimal(data.get("scale"), f"{where}.scale"),
            minimum=minimum,
            at_time=at_time,
            lookup_by=lookup,
            missing=missing,
            derive=derive,
            optional=bool(data.get("optional", False)),
            add_months=self.whole(data.get("add_months", 0), f"{where}.add_months"),
            add_days=self.whole(data.get("add_days", 0), f"{where}.add_days"),
            cases=cases,
            otherwise=otherwise,
        )


def _parse_as_of(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def parse_mapping(data: Any, *, name: str = "mapping") -> Mapping:
    """Validate mapping `data` (already parsed from YAML); every problem is reported at once."""
    return _Parser(name).mapping(data)


def load_mapping(path: Path) -> Mapping:
    """Read and validate the YAML mapping at `path`; problems name their line."""
    document = read_yaml(path, "mapping")
    return _Parser(document.name, document.lines).mapping(document.data)


# The generic checks of a definition file (unknown keys, texts, whole numbers, decimals, every
# problem collected with its location) for other definition formats to build on.
DefinitionParser = _Parser
