"""What an import did, per table: the figures the CLI prints and the service returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class TableCounts:
    """Rows of one table: read from the files, and what became of each."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # repeated keys of `duplicates: merge` outputs (e.g. a manager per row)


@dataclass
class FileRead:
    path: Path
    rows: int
    encoding: str = ""
    delimiter: str = ""


@dataclass(frozen=True)
class ImportWarning:
    """Something imported that the user should know about: counted, with examples."""

    kind: str  # e.g. closed_before_created, no_lifecycle, join_unmatched, lookup_failed
    count: int
    message: str  # the sentence shown, with the count and examples


@dataclass
class ImportSummary:
    """The outcome of one import run (also of a dry run, which is rolled back)."""

    source_system: str
    as_of: datetime
    dry_run: bool = False
    files: list[FileRead] = field(default_factory=list)
    tables: dict[str, TableCounts] = field(default_factory=dict)
    ignored: list[Path] = field(default_factory=list)
    rejects_path: Path | None = None
    rejects_written: int = 0  # at most rejects.MAX_REJECTS_KEPT of the rejected rows
    reject_reasons: list[tuple[str, int]] = field(default_factory=list)  # most common first
    notes: list[str] = field(default_factory=list)  # how it went (e.g. rows joined)
    warnings: list[ImportWarning] = field(default_factory=list)

    def warn(self, kind: str, count: int, message: str) -> None:
        self.warnings.append(ImportWarning(kind, count, message))

    def warning(self, kind: str) -> ImportWarning | None:
        """The first warning of `kind`, if any."""
        return next((w for w in self.warnings if w.kind == kind), None)

    def table(self, name: str) -> TableCounts:
        return self.tables.setdefault(name, TableCounts())

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values())

    @property
    def changed(self) -> int:
        return sum(t.inserted + t.updated for t in self.tables.values())
