"""Resolve references (owner, account, product, stage...) to ids, a batch of keys at a time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from salesops.ingest.targets import name_column
from salesops.models import Base, PipelineStage

CACHE_LIMIT = 200_000
IN_CHUNK = 2_000


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    category: str
    forecast_category: str


class StageRegistry:
    """Every pipeline stage by (case-insensitive) name and by id."""

    def __init__(self, connection: Connection) -> None:
        rows = connection.execute(
            select(
                PipelineStage.id,
                PipelineStage.name,
                PipelineStage.category,
                PipelineStage.forecast_category,
            )
        ).all()
        self.by_name = {r.name.casefold(): StageInfo(*r) for r in rows}
        self.by_id = {s.id: s for s in self.by_name.values()}

    def get(self, name: str) -> StageInfo | None:
        return self.by_name.get(name.strip().casefold())

    def known(self) -> str:
        return ", ".join(sorted(s.name for s in self.by_id.values()))


class RefResolver:
    """Look up ids of referenced rows by external id (within one source system) or by name.

    Hits are cached (up to CACHE_LIMIT keys per table); misses are asked again next time,
    because the row may be inserted later in the same import.
    """

    def __init__(self, connection: Connection, source_system: str) -> None:
        self.connection = connection
        self.source_system = source_system
        self._cache: dict[tuple[str, str], dict[str, tuple[int, dict[str, Any]]]] = {}
        self._attrs: dict[str, set[str]] = {}

    def want(self, table: str, attribute: str) -> None:
        """Also fetch `attribute` of rows of `table` (for derived fields)."""
        self._attrs.setdefault(table, set()).add(attribute)

    def lookup(
        self, table: str, by: str, keys: Iterable[str]
    ) -> dict[str, tuple[int, dict[str, Any]]]:
        cache = self._cache.setdefault((table, by), {})
        missing = {k for k in keys if k not in cache}
        if missing:
            if len(cache) > CACHE_LIMIT:
                cache.clear()
            cache.update(self._fetch(table, by, sorted(missing)))
        return cache

    def _fetch(
        self, table_name: str, by: str, keys: list[str]
    ) -> dict[str, tuple[int, dict[str, Any]]]:
        table = Base.metadata.tables[table_name]
        attrs = sorted(self._attrs.get(table_name, ()))
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        for start in range(0, len(keys), IN_CHUNK):
            chunk = keys[start : start + IN_CHUNK]
            if by == "name":
                column = table.c[name_column(table_name)]
                lowered = {k.casefold(): k for k in chunk}
                query = (
                    select(func.lower(column), table.c.id, *(table.c[a] for a in attrs))
                    .where(func.lower(column).in_(list(lowered)))
                    .order_by(table.c.id.desc())
                )
                for row in self.connection.execute(query):
                    key = lowered.get(row[0])
                    if key is not None:
                        found[key] = (row[1], dict(zip(attrs, row[2:], strict=True)))
                continue
            query = select(table.c.external_id, table.c.id, *(table.c[a] for a in attrs)).where(
                table.c.source_system == self.source_system, table.c.external_id.in_(chunk)
            )
            for row in self.connection.execute(query):
                found[row[0]] = (row[1], dict(zip(attrs, row[2:], strict=True)))
        return found

    def forget(self, table: str) -> None:
        """Drop cached attributes of `table` after its rows changed."""
        if table in self._attrs:
            for (name, _), cache in self._cache.items():
                if name == table:
                    cache.clear()
