"""Left joins of two files of one import: a leads file and a won-deals file keyed by lead id.

The joined ("right") file is read whole before the write lock is taken (it is a lookup
table: one row per key, held in memory), so its problems (a missing key column, duplicate
keys, broken rows) stop the import before anything is written. Each row of the main file
then gets the joined file's columns: the values of the row with the same key, or empty
texts when there is none. Rows of the joined file that no main row matched are counted in
the summary, with examples, because they are data the import did not use.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from salesops.errors import Problem, ValidationFailed
from salesops.ingest.readers import open_source
from salesops.ingest.spec import JoinSpec
from salesops.ingest.summary import ImportSummary

EXAMPLES = 5


@dataclass
class JoinedFile:
    """The rows of the joined file(s) of one `join`, by key."""

    spec: JoinSpec
    paths: list[Path]
    columns: list[str]
    rows: dict[str, list[str]] = field(default_factory=dict)
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (file, line)
    matched: set[str] = field(default_factory=set)
    main_files: list[str] = field(default_factory=list)
    blank_keys: int = 0


def matches(patterns: tuple[str, ...], path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name.lower(), m.lower()) for m in patterns)


def join_paths(spec: JoinSpec, paths: list[Path], main: tuple[str, ...] = ()) -> list[Path]:
    """The files `spec` joins: those it matches, except files of the main file's own `match`."""
    return [p for p in paths if matches(spec.match, p) and not matches(main, p)]


def load(spec: JoinSpec, paths: list[Path], summary: ImportSummary) -> JoinedFile:
    """Read the joined file(s) of `spec`; every problem is raised at once."""
    where = spec.location
    if not paths:
        raise ValidationFailed(
            "a joined file is missing",
            [Problem(f"no file given matches {', '.join(spec.match)}", where)],
        )
    problems: list[Problem] = []
    joined: JoinedFile | None = None
    duplicates: list[str] = []
    repeated: set[str] = set()
    dropped = 0
    for path in paths:
        source = open_source(path, spec.format)
        try:
            if spec.right not in source.columns:
                problems.append(Problem(
                    f"join key column {spec.right!r} is not in {path.name}"
                    f" (the file has: {', '.join(source.columns[:30])})",
                    f"{where}.on",
                ))  # fmt: skip
                continue
            if joined is None:
                joined = JoinedFile(spec, list(paths), list(source.columns))
            elif source.columns != joined.columns:
                problems.append(Problem(
                    f"{path.name} has other columns than {paths[0].name}: files joined by one"
                    " `join` must have the same columns",
                    where,
                ))  # fmt: skip
                continue
            position = source.columns.index(spec.right)
            width = len(source.columns)
            broken: list[int] = []
            for line, values in source.rows:
                if len(values) != width and not (
                    len(values) > width and not any(v.strip() for v in values[width:])
                ):
                    broken.append(line)
                    continue
                key = values[position].strip()
                if not key:
                    joined.blank_keys += 1
                    continue
                if key in joined.rows:
                    file, first = joined.origin[key]
                    where_first = str(first) if file == path.name else f"{first} of {file}"
                    duplicates.append(f"{key!r} on lines {where_first} and {line}")
                    repeated.add(key)
                    dropped += 1
                    if spec.duplicates != "last":
                        continue
                joined.rows[key] = values[:width]
                joined.origin[key] = (path.name, line)
            if broken:
                problems.append(Problem(
                    f"{len(broken)} row(s) of {path.name} do not have its {width} columns"
                    f" (lines {', '.join(map(str, broken[:EXAMPLES]))}): truncated or misquoted?",
                    where,
                ))  # fmt: skip
        finally:
            source.close()
    if duplicates and spec.duplicates == "error":
        problems.append(Problem(
            f"{len(repeated)} key(s) appear more than once in the joined file"
            f" ({len(duplicates)} repeated row(s), e.g. {'; '.join(duplicates[:EXAMPLES])}):"
            f" a left join needs one row per {spec.right!r}; remove the duplicates, or set"
            " `duplicates: first` or `last`",
            where,
        ))  # fmt: skip
    if problems:
        raise ValidationFailed("cannot join the files", problems)
    assert joined is not None
    if duplicates:
        kept = "first" if spec.duplicates == "first" else "last"
        summary.warn(
            "join_duplicates",
            dropped,
            f"{dropped} row(s) of {', '.join(p.name for p in paths)} repeat a key (e.g."
            f" {'; '.join(duplicates[:EXAMPLES])}); the {kept} row of each key was joined"
            f" (`duplicates: {spec.duplicates}`)",
        )
    return joined


@dataclass
class Joiner:
    """Adds the joined files' columns to each row of one main file."""

    width: int  # the main file's columns
    parts: list[tuple[JoinedFile, int, list[int]]]  # joined, main key position, added columns
    names: list[str]

    def extend(self, values: list[str]) -> list[str]:
        width = self.width
        # The joined columns must land at their positions even on a row of the wrong width
        # (history outputs read such rows too).
        row = values[:width] if len(values) >= width else [*values, *[""] * (width - len(values))]
        for joined, left, positions in self.parts:
            key = row[left].strip() if left < len(row) else ""
            found = joined.rows.get(key) if key else None
            if found is None:
                row.extend([""] * len(positions))
            else:
                joined.matched.add(key)
                row.extend(found[p] for p in positions)
        return row


def joiner(
    joins: list[JoinedFile], main: Path, columns: list[str]
) -> tuple[Joiner | None, list[Problem]]:
    """The joiner of main file `main` with header `columns`, or the problems that prevent it."""
    if not joins:
        return None, []
    problems: list[Problem] = []
    parts: list[tuple[JoinedFile, int, list[int]]] = []
    names: list[str] = []
    taken = set(columns)
    for joined in joins:
        spec = joined.spec
        joined.main_files.append(main.name)
        if spec.left not in columns:
            problems.append(Problem(
                f"join key column {spec.left!r} is not in {main.name}"
                f" (the file has: {', '.join(columns[:30])})",
                f"{spec.location}.on",
            ))  # fmt: skip
            continue
        positions = []
        for position, column in enumerate(joined.columns):
            name = spec.column_name(column)
            if name in taken:
                if position == joined.columns.index(spec.right) and not spec.prefix:
                    continue  # the key itself: the main file has it already
                problems.append(Problem(
                    f"column {column!r} is in both {main.name} and {joined.paths[0].name}:"
                    f" give the join a prefix (`as: NAME`) and read it as NAME.{column}",
                    spec.location,
                ))  # fmt: skip
                continue
            taken.add(name)
            names.append(name)
            positions.append(position)
        parts.append((joined, columns.index(spec.left), positions))
    return Joiner(len(columns), parts, names), problems


def report(joins: list[JoinedFile], summary: ImportSummary) -> None:
    """Notes on how each join went, and a warning for joined rows that matched nothing."""
    for joined in joins:
        files = ", ".join(p.name for p in joined.paths)
        mains = ", ".join(joined.main_files)
        summary.notes.append(
            f"join: {len(joined.matched):,} of {len(joined.rows):,} keys of {files} matched a row"
            f" of {mains}"
        )
        unmatched = [k for k in joined.rows if k not in joined.matched]
        if unmatched:
            examples = ", ".join(
                f"{k!r} ({joined.origin[k][0]} line {joined.origin[k][1]})"
                for k in unmatched[:EXAMPLES]
            )
            summary.warn(
                "join_unmatched",
                len(unmatched),
                f"{len(unmatched):,} row(s) of {files} match no row of {mains}"
                f" ({joined.spec.right} = {joined.spec.left}; e.g. {examples}):"
                " their data was not imported",
            )
        if joined.blank_keys:
            summary.warn(
                "join_blank_key",
                joined.blank_keys,
                f"{joined.blank_keys:,} row(s) of {files} have an empty {joined.spec.right!r}"
                " and were not joined",
            )
