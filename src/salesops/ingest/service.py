"""Import service: match files to a mapping, validate everything up front, then stream rows in."""

from __future__ import annotations

import fnmatch
import gc
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from salesops.crm import checks
from salesops.db.bulk import bulk_mode, indexes_deferred
from salesops.db.engine import WRITE_INTENT
from salesops.db.types import as_utc, utc_now
from salesops.errors import Problem, ValidationFailed
from salesops.ingest import joins
from salesops.ingest.engine import OutputRunner
from salesops.ingest.mapping import FileSpec, Mapping, load_mapping
from salesops.ingest.readers import SourceFile, open_source
from salesops.ingest.records import Context
from salesops.ingest.rejects import RejectSink
from salesops.ingest.resolve import RefResolver, StageRegistry
from salesops.ingest.sources import builtin_mapping, builtin_names
from salesops.ingest.summary import FileRead, ImportSummary
from salesops.ingest.targets import HISTORY
from salesops.models import Base, PipelineStage
from salesops.pipeline import stages
from salesops.pipeline.stages import StageSpec

Progress = Callable[[str, int, int], None]
CHUNK_ROWS = 10_000
BIG_INPUT_BYTES = 8 * 1024 * 1024
DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}


def resolve_mapping(source: str, mapping: Path | Mapping | None) -> Mapping:
    """The mapping to use: the one given, else the built-in one of `source`."""
    if isinstance(mapping, Mapping):
        return mapping
    if mapping is not None:
        return load_mapping(mapping)
    if source in builtin_names():
        return builtin_mapping(source)
    if source == "csv":
        raise ValidationFailed("`salesops import csv` needs --mapping FILE (see docs/importing.md)")
    known = ", ".join([*builtin_names(), "csv", "salesops"])
    raise ValidationFailed(f"unknown source {source!r} (known: {known})")


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the data files directly inside it."""
    result: list[Path] = []
    problems = []
    for path in paths:
        if path.is_dir():
            result.extend(p for p in sorted(path.iterdir()) if p.suffix.lower() in DATA_SUFFIXES)
        elif path.is_file():
            result.append(path)
        else:
            problems.append(Problem("no such file or directory", str(path)))
    if problems:
        raise ValidationFailed("cannot import", problems)
    return result


def match_files(
    mapping: Mapping, paths: list[Path]
) -> tuple[list[tuple[FileSpec, Path]], list[Path]]:
    """Pair files with the mapping's file specs (in the mapping's order); return the rest."""
    pairs: list[tuple[FileSpec, Path]] = []
    # A file that a `join` reads is joined, not imported by itself.
    used = {
        p
        for spec in mapping.files
        for j in spec.joins
        for p in joins.join_paths(j, paths, spec.match)
    }
    for spec in mapping.files:
        for path in paths:
            if path not in used and any(
                fnmatch.fnmatch(path.name.lower(), m.lower()) for m in spec.match
            ):
                pairs.append((spec, path))
                used.add(path)
    ignored = [p for p in paths if p not in used]
    if not pairs:
        expected = "; ".join(", ".join(f.match) for f in mapping.files)
        names = ", ".join(p.name for p in paths) or "no files"
        raise ValidationFailed(
            f"none of the files matches the {mapping.source_system} mapping",
            [Problem(f"expected file names like {expected}; got {names}")],
        )
    return pairs, ignored


def _ensure_declared_stages(session: Session, mapping: Mapping) -> None:
    existing = {s.name.casefold() for s in stages.ordered(session)}
    new = [d for d in mapping.stages if d.name.casefold() not in existing]
    if not new:
        return
    stages.ensure_stages(
        session,
        tuple(StageSpec(d.name, d.category, d.probability, d.forecast_category) for d in new),
    )
    for decl in new:
        if decl.after is None:
            continue
        ordered = stages.ordered(session)
        anchor = next((s for s in ordered if s.name.casefold() == decl.after.casefold()), None)
        stage = next(s for s in ordered if s.name == decl.name)
        if anchor is None:
            continue
        # Slot the new stage in right after its anchor, keeping the funnel order readable.
        for other in ordered:
            if other.sort_order > anchor.sort_order and other.id != stage.id:
                other.sort_order += 1
        stage.sort_order = anchor.sort_order + 1
    session.flush()


def _check_stage_names(session: Session, mapping: Mapping) -> None:
    known = {n.casefold() for n in session.scalars(select(PipelineStage.name))}
    problems = [
        Problem(f"stage {name!r} does not exist; declare it under `stages:` or map to a known one")
        for name in sorted(mapping.stage_names())
        if name.casefold() not in known
    ]
    if problems:
        raise ValidationFailed(f"mapping {mapping.name} names unknown stages", problems)


def _check_columns(
    spec: FileSpec, source: SourceFile, joined: list[str] | None = None
) -> list[Problem]:
    present = set(source.columns) | set(joined or ())
    problems = []
    read = set().union(*(output.source_columns() for output in spec.outputs))
    seen: set[str] = set()
    for column in source.columns:
        if column in seen and column in read:
            problems.append(
                Problem(
                    f"column {column!r} appears more than once in the header: which one to"
                    " read is ambiguous; rename or remove the duplicate",
                    source.path.name,
                )
            )
        seen.add(column)
    for output in spec.outputs:
        for column in sorted(output.source_columns() - present):
            problems.append(
                Problem(
                    f"missing column {column!r} needed by {output.target}"
                    f" (the file has: {', '.join(source.columns[:30])}"
                    + (f"; joined: {', '.join(joined[:30])}" if joined else "")
                    + ")",
                    source.path.name,
                )
            )
    return problems


def take_write_lock(session: Session) -> None:
    """Begin the session's transaction holding the write lock (SQLite: BEGIN IMMEDIATE).

    A long write must not fail half-way because another writer committed meanwhile. When the
    caller has already begun the transaction, it chose how (and owns it): nothing changes.
    """
    if session.get_transaction() is None:
        session.connection(execution_options={WRITE_INTENT: True})  # type: ignore[misc]


def run_import(
    session: Session,
    source: str,
    paths: Sequence[Path],
    *,
    mapping: Path | Mapping | None = None,
    as_of: datetime | None = None,
    rejects: Path | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import `paths` from `source` in the caller's transaction; a dry run is rolled back.

    Unless the caller began the transaction already, it begins holding the write lock after
    the mapping and the files' headers are checked (see `take_write_lock`).
    """
    if source == "salesops":
        from salesops.ingest.export import restore

        take_write_lock(session)
        return restore(session, paths, dry_run=dry_run, progress=progress)
    resolved = resolve_mapping(source, mapping)
    files = expand_paths(paths)
    pairs, ignored = match_files(resolved, files)
    if as_of is None:
        as_of = resolved.as_of
    if as_of is None:
        newest = max(p.stat().st_mtime for _, p in pairs)
        as_of = datetime.fromtimestamp(newest, tz=UTC)
    summary = ImportSummary(resolved.source_system, as_utc(as_of), dry_run=dry_run, ignored=ignored)
    # Open every file (reading only its header) so that all problems surface before any row;
    # joined files are read whole (they are lookup tables).
    opened: list[tuple[FileSpec, SourceFile, joins.Joiner | None]] = []
    problems: list[Problem] = []
    loaded: dict[int, joins.JoinedFile] = {}
    unreadable: set[int] = set()
    try:
        for spec, path in pairs:
            try:
                source_file = open_source(path, spec.format)
            except ValidationFailed as exc:
                problems.extend(exc.problems)
                continue
            for join in spec.joins:
                if id(join) not in loaded and id(join) not in unreadable:
                    try:
                        right = joins.join_paths(join, files, spec.match)
                        loaded[id(join)] = joins.load(join, right, summary)
                    except ValidationFailed as exc:
                        problems.extend(exc.problems)
                        unreadable.add(id(join))
            if any(id(j) in unreadable for j in spec.joins):
                opened.append((spec, source_file, None))
                continue
            joiner, join_problems = joins.joiner(
                [loaded[id(j)] for j in spec.joins], path, source_file.columns
            )
            problems.extend(join_problems)
            opened.append((spec, source_file, joiner))
            if not join_problems:
                joined = joiner.names if joiner else None
                problems.extend(_check_columns(spec, source_file, joined))
        if problems:
            raise ValidationFailed("cannot import", problems)
        # Only now, with the mapping and every file's header checked, does the import wait for
        # and take the database's write lock: a refused file never holds up other writers.
        take_write_lock(session)
        # A savepoint makes the import all-or-nothing even inside a caller's larger transaction.
        savepoint = session.begin_nested()
        try:
            _import_files(session, resolved, summary, opened, rejects, progress)
            joins.report(list(loaded.values()), summary)
        except BaseException:
            savepoint.rollback()
            raise
        if dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
    finally:
        for _, source_file, _ in opened:
            source_file.close()
    return summary


def _import_files(
    session: Session,
    mapping: Mapping,
    summary: ImportSummary,
    opened: list[tuple[FileSpec, SourceFile, joins.Joiner | None]],
    rejects: Path | None,
    progress: Progress | None,
) -> None:
    _ensure_declared_stages(session, mapping)
    _check_stage_names(session, mapping)
    session.flush()
    connection = session.connection()
    sink = RejectSink()
    ctx = Context(
        connection=connection,
        mapping=mapping,
        as_of=summary.as_of,
        summary=summary,
        rejects=sink,
        resolver=RefResolver(connection, mapping.source_system),
        stages=StageRegistry(connection),
        rated_currencies=checks.rated_currencies(connection),
    )
    # The import allocates millions of short-lived objects and no reference cycles: the
    # cyclic garbage collector would only rescan the live chunk again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with bulk_mode(connection), indexes_deferred(connection, _deferrable(ctx, opened)):
            for spec, source_file, joiner in opened:
                rows = _import_file(ctx, spec, source_file, joiner, progress)
                summary.files.append(
                    FileRead(source_file.path, rows, source_file.encoding, source_file.delimiter)
                )
        if sink.count:
            stamp = utc_now().strftime("%Y%m%dT%H%M%S")
            name = f"salesops-rejects-{mapping.source_system}-{stamp}.csv"
            target = rejects or Path(tempfile.gettempdir()) / name
            summary.rejects_path = sink.write(target)
            summary.rejects_written = sink.kept
            summary.reject_reasons = sink.kinds.most_common()
    finally:
        sink.close()
        if collecting:
            gc.enable()


def _deferrable(
    ctx: Context, opened: list[tuple[FileSpec, SourceFile, joins.Joiner | None]]
) -> list[Table]:
    """Tables whose indexes are worth rebuilding once: empty now, and a large input coming."""
    if sum(source.size for _, source, _ in opened) < BIG_INPUT_BYTES:
        return []
    targets = {o.target for spec, _, _ in opened for o in spec.outputs}
    if HISTORY in targets:  # history import looks events up by opportunity
        return []
    if "opportunities" in targets:
        targets.add("opportunity_events")
    tables = []
    for name in sorted(targets & set(Base.metadata.tables)):
        table = Base.metadata.tables[name]
        if ctx.connection.execute(select(table.c.id).limit(1)).first() is None:
            tables.append(table)
    return tables


def _import_file(
    ctx: Context,
    spec: FileSpec,
    source: SourceFile,
    joiner: joins.Joiner | None,
    progress: Progress | None,
) -> int:
    from salesops.ingest.history import HistoryRunner

    runners = [
        (HistoryRunner if output.target == HISTORY else OutputRunner)(
            ctx, spec, output, source.path, source.columns, joiner
        )
        for output in spec.outputs
    ]
    rows = 0
    label = source.path.name
    while chunk := list(islice(source.rows, CHUNK_ROWS)):
        for runner in runners:
            runner.process(chunk)
        rows += len(chunk)
        if rows % (CHUNK_ROWS * 20) == 0:
            gc.collect(1)  # the few cycles the database layer makes: young ones only, cheap
        if progress is not None:
            progress(label, source.position(), source.size)
    for runner in runners:
        runner.finish()
        runner.report()
    if progress is not None:
        progress(label, source.size, source.size)
    return rows
