"""The parsed, validated form of a mapping (built by `salesops.ingest.mapping`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from salesops.models import ForecastCategory, StageCategory

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
SPECIAL_COLUMNS = {"_line", "_file"}


@dataclass(frozen=True)
class FileFormat:
    encoding: str = "auto"
    delimiter: str = "auto"  # one character, a longer separator, or "auto" to sniff
    record_terminator: str | None = None  # a custom row end such as "&|\n" (no quoting then)
    header: bool = True
    columns: tuple[str, ...] = ()  # names of the columns of a header-less file
    quote: str = '"'
    sheet: str | None = None  # .xlsx: the sheet to read (default: the first)
    skip_rows: int = 0


@dataclass(frozen=True)
class Choice:
    """Where the text of one branch of a conditional field comes from."""

    value: str | None = None  # a constant
    column: str | None = None
    template: tuple[str, ...] = ()

    def source_columns(self) -> set[str]:
        names = {self.column} if self.column else set()
        for template in self.template:
            names.update(PLACEHOLDER.findall(template))
        return names


@dataclass(frozen=True)
class Condition:
    """A test on one column's (stripped) text; comparisons ignore case."""

    column: str
    test: str  # present, empty, equals, not_equals, matches
    values: tuple[str, ...] = ()  # casefolded, for equals / not_equals
    pattern: re.Pattern[str] | None = None  # for matches


@dataclass(frozen=True)
class Case:
    """`then` applies when every condition of `when` holds."""

    when: tuple[Condition, ...]
    then: Choice


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is read from a source row."""

    name: str
    column: str | None = None
    template: tuple[str, ...] = ()  # the first whose placeholders are all non-empty wins
    value: str | None = None
    columns: tuple[str, ...] = ()  # json fields: a dict of these columns
    cases: tuple[Case, ...] = ()  # a conditional field: the first case that holds...
    otherwise: Choice | None = None  # ...else this (else empty)
    pattern: re.Pattern[str] | None = None
    value_map: dict[str, str] = field(default_factory=dict)  # keys casefolded
    strict: bool = False  # values missing from `value_map` are rejected
    default: str | None = None  # "$as_of" means the import's timestamp
    required: bool | None = None
    formats: tuple[str, ...] = ()
    decimal_separator: str = "."
    thousands_separator: str = ""
    scale: Decimal | None = None
    minimum: Decimal | None = None
    at_time: time | None = None  # time of day given to date-only values of datetimes
    lookup_by: str = "external_id"
    missing: str = "reject"  # an unknown reference is rejected, or left empty ("null")
    derive: tuple[str, str] | None = None  # (reference field, attribute) when empty
    optional: bool = False  # the column may be absent from the file: the field is then unset
    add_months: int = 0  # dates: shift, e.g. a quarter's end from its start (3 months, -1 day)
    add_days: int = 0
    # `attributes.<name>` fields, folded into the one json field: per column of `columns`,
    # the attribute's name and kind (text, number, bool, date).
    attribute_names: tuple[str, ...] = ()
    attribute_kinds: tuple[str, ...] = ()

    def source_columns(self) -> set[str]:
        names = set(self.columns)
        if self.column:
            names.add(self.column)
        for template in self.template:
            names.update(PLACEHOLDER.findall(template))
        for case in self.cases:
            names.update(c.column for c in case.when)
            names |= case.then.source_columns()
        if self.otherwise is not None:
            names |= self.otherwise.source_columns()
        return names - SPECIAL_COLUMNS


@dataclass(frozen=True)
class StageHistorySpec:
    """Columns such as HubSpot's `Date entered "<stage>"` that date each stage entered."""

    header_pattern: re.Pattern[str]
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifecycleSpec:
    """What a closed deal looked like while it was open, for sources that keep no history."""

    open_stage: str | None = None
    open_amount: FieldSpec | None = None
    close_date_known: bool = True


@dataclass(frozen=True)
class OutputSpec:
    target: str
    key: tuple[str, ...] = ()  # templates for external_id; ("$hash",) = content hash
    duplicates: str = "reject"  # or "merge": later rows with a seen key are skipped
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    lifecycle: LifecycleSpec | None = None
    stage_history: StageHistorySpec | None = None
    location: str = ""
    # A deal that closed before it was created: rejected, or kept (and counted) when allowed.
    impossible_dates: str = "reject"

    def source_columns(self) -> set[str]:
        """The columns the file must have (optional fields left out)."""
        names: set[str] = set()
        for spec in self.fields.values():
            # With alternative templates a missing column just makes that alternative empty.
            if not spec.optional and len(spec.template) < 2:
                names |= spec.source_columns()
        for template in self.key:
            names.update(PLACEHOLDER.findall(template))
        if self.lifecycle and self.lifecycle.open_amount:
            names |= self.lifecycle.open_amount.source_columns()
        return names - SPECIAL_COLUMNS - {"$hash"}


@dataclass(frozen=True)
class JoinSpec:
    """Another file of the import whose columns are added to each row (a left join)."""

    match: tuple[str, ...]
    left: str  # the column of the main file...
    right: str  # ...whose value is looked up in this column of the joined file
    format: FileFormat = field(default_factory=FileFormat)
    prefix: str = ""  # `as`: the joined columns are named "<prefix>.<column>"
    duplicates: str = "error"  # a key twice in the joined file: error, first or last
    location: str = ""

    def column_name(self, column: str) -> str:
        return f"{self.prefix}.{column}" if self.prefix else column


@dataclass(frozen=True)
class FileSpec:
    match: tuple[str, ...]
    format: FileFormat
    outputs: tuple[OutputSpec, ...]
    dates: tuple[str, ...] = ()
    location: str = ""
    joins: tuple[JoinSpec, ...] = ()


@dataclass(frozen=True)
class DefaultOwner:
    """The rep that owns deals of data without reps (created on first use)."""

    key: str = "unassigned"  # its external id in the mapping's source system
    name: str = "Unassigned"


@dataclass(frozen=True)
class StageDecl:
    name: str
    category: StageCategory
    probability: Decimal
    forecast_category: ForecastCategory
    after: str | None = None


@dataclass(frozen=True)
class Mapping:
    name: str
    source_system: str
    files: tuple[FileSpec, ...]
    currency: str = "USD"
    as_of: datetime | None = None
    stages: tuple[StageDecl, ...] = ()
    description: str = ""
    default_owner: DefaultOwner = field(default_factory=DefaultOwner)

    def stage_names(self) -> set[str]:
        """Every stage name that a value map of this mapping produces."""
        names: set[str] = set()
        for file in self.files:
            for output in file.outputs:
                for spec in output.fields.values():
                    if spec.name == "stage":
                        names.update(spec.value_map.values())
                        if spec.value:
                            names.add(spec.value)
                        choices = [c.then for c in spec.cases] + [spec.otherwise]
                        names.update(
                            spec.value_map.get(c.value.casefold(), c.value)
                            for c in choices
                            if c and c.value
                        )
                if output.lifecycle and output.lifecycle.open_stage:
                    names.add(output.lifecycle.open_stage)
        return names
