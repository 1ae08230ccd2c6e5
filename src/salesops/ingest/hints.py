"""What to change in a mapping when a reference never matched: probe the other ways to match."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from salesops.ingest.targets import name_column
from salesops.models import Base

if TYPE_CHECKING:
    from salesops.ingest.builder import LookupTally
    from salesops.ingest.records import Context
    from salesops.ingest.spec import FieldSpec


def _probe(ctx: Context, table_name: str, lookup_by: str, examples: list[str]) -> str:
    """A sentence on how `examples` do match rows of `table_name`, or ''."""
    table = Base.metadata.tables[table_name]
    connection = ctx.connection
    source = ctx.mapping.source_system
    if lookup_by == "external_id":
        column = table.c[name_column(table_name)]
        lowered = [e.casefold() for e in examples]
        named = connection.execute(
            select(func.count()).where(func.lower(column).in_(lowered))
        ).scalar()
        if named:
            return f"they are {table_name} names, not ids: add `lookup: name` to the field"
        systems = sorted(
            str(s)
            for s in connection.execute(
                select(table.c.source_system)
                .where(table.c.external_id.in_(examples), table.c.source_system != source)
                .distinct()
            ).scalars()
        )
        if systems:
            return (
                f"they are ids of {table_name} imported from {', '.join(systems)}, and this"
                f" mapping's source_system is {source!r}: import both with one source_system"
            )
        return (
            f"no {table_name} row has these ids in source {source!r}: import the {table_name}"
            f" file first (or in the same import, with a part of the mapping whose target is"
            f" {table_name})"
        )
    if "external_id" in table.c:
        ids = connection.execute(
            select(func.count()).where(
                table.c.source_system == source, table.c.external_id.in_(examples)
            )
        ).scalar()
        if ids:
            return f"they are {table_name} ids, not names: remove `lookup: name`"
    return (
        f"no {table_name} row has these names: import the {table_name} first (or in the same"
        f" import, with a part of the mapping whose target is {table_name})"
    )


def lookup_failed(
    ctx: Context, target_name: str, spec: FieldSpec, table_name: str, tally: LookupTally
) -> str:
    """The warning for reference field `spec` whose every value failed to match."""
    examples = ", ".join(repr(e) for e in tally.examples)
    outcome = {
        "null": "were imported without it (`missing: null`)",
        "default": "got the default owner (`missing: default`)",
    }.get(spec.missing, "were rejected")
    advice = [_probe(ctx, table_name, spec.lookup_by, tally.examples)]
    if table_name == "reps" and spec.missing != "default":
        owner = ctx.mapping.default_owner
        advice.append(
            f"or give them the default owner {owner.name!r} with `missing: default`"
            + (
                " (or leave `owner` out of the mapping: every deal then has the default owner)"
                if target_name == "opportunities" and spec.name == "owner"
                else ""
            )
        )
    elif spec.missing == "reject":
        advice.append(f"or import them without a {spec.name} with `missing: null`")
    return (
        f"{target_name}.{spec.name}: none of the {tally.given:,} values matched {table_name} by"
        f" {spec.lookup_by} (e.g. {examples}); those rows {outcome}. Fix: {'; '.join(advice)}"
    )
