"""Rejected rows: kept with their file, line and reason, then written as one CSV to fix."""

from __future__ import annotations

import csv
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import IO

from salesops.csvsafe import safe_row
from salesops.ingest.readers import REJECTS_COLUMNS

META = REJECTS_COLUMNS
VALUES = re.compile(r"'[^']*'|\([^)]*\)|-?\d[\d.,]*")
MAX_KINDS = 1_000
# Rejected rows written to the rejects file; beyond that they are counted, not kept (a file
# that is mostly rejects is a wrong mapping, and the first rows show why).
MAX_REJECTS_KEPT = 100_000


def reason_kind(problem: str) -> str:
    """A problem without its values, so that like problems are counted together."""
    return re.sub(r"…(\s*…)+", "…", " ".join(VALUES.sub("…", problem).split()))


class RejectSink:
    """Collects rejects on disk while an import runs (bounded memory), writes one CSV at the end.

    The output has the bookkeeping columns first and then the original columns by name, so a
    fixed rejects file can be imported again with the same mapping. Values a spreadsheet would
    run as formulas are quoted (`salesops.csvsafe`); reading the file back takes the quote off
    (`salesops.ingest.readers.open_source` knows a rejects file by its first columns).
    """

    def __init__(self) -> None:
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._spool)
        self._columns: dict[str, list[str]] = {}
        self.count = 0
        self.kept = 0
        self.kinds: Counter[str] = Counter()

    def add(
        self, file: Path, columns: list[str], line: int, table: str, reason: str, values: list[str]
    ) -> None:
        self.count += 1
        if self.kept < MAX_REJECTS_KEPT:
            self._columns.setdefault(file.name, list(columns))
            self._writer.writerow([file.name, line, table, reason, *values])
            self.kept += 1
        for problem in reason.split("; "):
            kind = f"{table}: {reason_kind(problem)}"
            if kind in self.kinds or len(self.kinds) < MAX_KINDS:
                self.kinds[kind] += 1

    def write(self, path: Path) -> Path:
        """Write every reject to `path` (CSV, UTF-8) and return it."""
        # A dict keeps first-seen order and makes the union linear in the number of columns.
        ordered: dict[str, None] = {}
        for columns in self._columns.values():
            ordered.update((c, None) for c in columns if c not in META)
        union = list(ordered)
        position = {c: i for i, c in enumerate(union)}
        self._spool.seek(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(safe_row(META + union))
            for row in csv.reader(self._spool):
                file, line, table, reason, *values = row
                original = [""] * len(union)
                for name, value in zip(self._columns.get(file, []), values, strict=False):
                    if name in position:
                        original[position[name]] = value
                writer.writerow(safe_row([file, line, table, reason, *original]))
        return path

    def close(self) -> None:
        self._spool.close()
