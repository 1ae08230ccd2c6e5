"""The canonical tables an import can write, and the fields a mapping may set on each.

Fields are derived from the table definitions: a plain column is a field of the same name; a
foreign key `<x>_id` is a reference field `<x>` resolved through the referenced table's
(source_system, external_id) or name. Link tables without an import key (memberships,
owners, assignments) are identified by their natural key instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import JSON, Boolean, Column, Date, Float, Integer, String, Table

from salesops.db.types import Money, Ratio, UTCDateTime
from salesops.models import Base

# Tables a mapping may target, in the order their rows can be written.
IMPORTABLE = (
    "users",
    "teams",
    "reps",
    "territories",
    "products",
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "quotas",
    "activities",
    "contracts",
    "contract_line_items",
    "team_memberships",
    "account_owners",
    "territory_assignments",
    "opportunity_history",
)
# The columns that identify a row of a link table (tables without an import key).
NATURAL_KEYS = {
    "team_memberships": ("rep_id", "team_id", "valid_from"),
    "account_owners": ("account_id", "rep_id", "valid_from"),
    "territory_assignments": ("rep_id", "territory_id", "valid_from"),
    # A contract holds a product once from a given day (an amendment starts a new line).
    "contract_line_items": ("contract_id", "product_id", "start_date"),
}
# Columns an import never sets: they belong to salesops itself.
NEVER_IMPORTED = {"id", "source_system", "external_id", "password_hash"}
# How a reference is matched "by name" on each referenced table.
NAME_COLUMNS = {"users": "username", "pipeline_stages": "name"}
# Money that can never be negative in a CRM export.
NON_NEGATIVE = {"amount", "list_price", "annual_revenue", "value", "employees"}


@dataclass(frozen=True)
class FieldDef:
    """One settable field of a target: its kind, the column it fills, what it references."""

    name: str
    column: str
    kind: str  # str int float money ratio date datetime bool json ref stage
    required: bool = False
    max_length: int | None = None
    ref: str | None = None


@dataclass(frozen=True)
class TargetDef:
    name: str
    table: Table
    fields: dict[str, FieldDef] = field(default_factory=dict)
    natural_key: tuple[str, ...] = ()

    @property
    def imported(self) -> bool:
        return not self.natural_key


def _kind(column: Column[object]) -> str:
    kind_by_type: list[tuple[type, str]] = [
        (Money, "money"),
        (Ratio, "ratio"),
        (UTCDateTime, "datetime"),
        (Boolean, "bool"),
        (Date, "date"),
        (Float, "float"),
        (Integer, "int"),
        (JSON, "json"),
        (String, "str"),
    ]
    for sql_type, kind in kind_by_type:
        if isinstance(column.type, sql_type):
            return kind
    return "decimal"


def _required(column: Column[object]) -> bool:
    return not column.nullable and column.default is None and column.server_default is None


HISTORY = "opportunity_history"


def _history_target() -> TargetDef:
    """Snapshots of an opportunity over time (Salesforce OpportunityHistory) -> events."""
    table = Base.metadata.tables["opportunity_events"]
    fields = [
        FieldDef("opportunity", "opportunity_id", "ref", True, None, "opportunities"),
        FieldDef("at", "at", "datetime", True),
        FieldDef("stage", "stage_id", "stage"),
        FieldDef("amount", "amount", "money"),
        FieldDef("close_date", "close_date", "date"),
        FieldDef("forecast_category", "forecast_category", "str", False, 20),
        FieldDef("by", "by_user_id", "ref", False, None, "users"),
    ]
    return TargetDef(HISTORY, table, {f.name: f for f in fields}, ("opportunity_id", "at"))


@cache
def target(name: str) -> TargetDef:
    """The definition of importable table `name` (KeyError if it cannot be imported)."""
    if name == HISTORY:
        return _history_target()
    if name not in IMPORTABLE:
        raise KeyError(name)
    table = Base.metadata.tables[name]
    fields: dict[str, FieldDef] = {}
    for column in table.columns:
        if column.name in NEVER_IMPORTED:
            continue
        foreign = next(iter(column.foreign_keys), None)
        if foreign is not None:
            ref_table = foreign.column.table.name
            fname = column.name.removesuffix("_id")
            kind = "stage" if ref_table == "pipeline_stages" else "ref"
            fields[fname] = FieldDef(fname, column.name, kind, _required(column), None, ref_table)
            continue
        length = column.type.length if isinstance(column.type, String) else None
        fields[column.name] = FieldDef(
            column.name, column.name, _kind(column), _required(column), length
        )
    return TargetDef(name, table, fields, NATURAL_KEYS.get(name, ()))


def name_column(table: str) -> str:
    """The column a reference `by: name` matches on in `table`."""
    return NAME_COLUMNS.get(table, "name")
