"""The default engine's copy of the large tables, kept in a DuckDB file between processes.

Reading a million deals and their seven million events out of SQLite through Python takes one
to two minutes, and every `salesops metrics ...` command is a new process. So the copy is also
written to a DuckDB file with the fingerprint of the data it holds; the next process that sees
the same fingerprint reads the tables from that file in seconds. After a change (another
fingerprint) the copy is brought up to date from the file (`refresh`: unchanged tables kept,
new events appended, changed tables read again) and the file rewritten. The file is only a
cache: if it cannot be read or written the engine loads from the database as before, and
deleting it is safe.

Where it lives (`SALESOPS_METRICS_CACHE`): `auto` (the default) puts it next to a SQLite
database file (`salesops.db` -> `salesops.db.metrics.duckdb`) and, for any other database
(PostgreSQL), in the user's cache directory (`$XDG_CACHE_HOME/salesops`, by default
`~/.cache/salesops`), one file per database URL; `off` keeps nothing; any other value is a
directory for the files of every database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

FORMAT = 2  # bump when what the file holds changes (2: the stamp names each table's columns)
_FINGERPRINT_TABLE = "salesops_fingerprint"
ALIAS = "salesops_cache"  # the name the file is attached under
Columns = dict[str, list[str]]  # table -> the columns the copy holds

log = logging.getLogger(__name__)


def cache_path(connection: Connection, setting: str) -> Path | None:
    """The cache file for this database under `setting`, or None when nothing is kept."""
    if setting == "off":
        return None
    url = connection.engine.url
    folder = Path(setting)
    if setting == "auto":
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                return None
            return Path(f"{url.database}.metrics.duckdb")
        folder = user_cache_dir()
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return folder / f"{digest[:20]}.metrics.duckdb"


def user_cache_dir() -> Path:
    """Where `auto` keeps the files of databases that are not a SQLite file (XDG layout)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salesops"


def entries_path(cache: Path) -> Path:
    """The file of the funnel's kept stage entries, next to the cache file `cache`."""
    return cache.with_name(cache.name.removesuffix(".duckdb") + ".entries.duckdb")


def stamp(fingerprint: Iterable[Any], columns: Columns) -> str:
    """What a cache file says it holds: this format, these columns, this data."""
    return json.dumps(
        {"format": FORMAT, "columns": columns, "fingerprint": list(fingerprint)}, default=str
    )


def restore(
    con: Any, path: Path, fingerprint: Iterable[Any], names: Iterable[str], columns: Columns
) -> bool:
    """Make `names` in `con` read from the cache file if it holds this fingerprint (and these
    columns: a migration that adds one must not be hidden by an old copy).

    The file stays attached read-only and the tables are views over it: nothing is copied, and
    a newer file renamed over it later does not disturb this connection.
    """
    if not attach_stamped(con, path, ALIAS, stamp(fingerprint, columns)):
        return False
    for name in names:
        con.raw_sql(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {ALIAS}."{name}"')
    return True


def attach_stamped(con: Any, path: Path, alias: str, expected: str) -> bool:
    """Attach the file read-only as `alias` if it carries exactly the stamp `expected`."""
    found = _attach(con, path, alias)
    if found == expected:
        return True
    if found is not None:
        detach(con, alias)
    return False


def attach_previous(con: Any, path: Path, columns: Columns) -> tuple[tuple[Any, ...], ...] | None:
    """Attach the cache file and return the fingerprint of the data it holds, when it is of
    this format and holds these columns (else None, and nothing stays attached): an earlier
    version of the data to bring up to date rather than read again."""
    found = _attach(con, path, ALIAS)
    if found is None:
        return None
    try:
        held = json.loads(found)
        if held.get("format") == FORMAT and held.get("columns") == columns:
            return tuple(tuple(part) for part in held["fingerprint"])
    except (ValueError, TypeError, KeyError):
        log.warning("metrics cache %s has an unreadable stamp", path)
    detach(con)
    return None


def detach(con: Any, alias: str = ALIAS) -> None:
    con.raw_sql(f"DETACH {alias}")


def _attach(con: Any, path: Path, alias: str) -> str | None:
    """Attach the file read-only and return its stamp; None (and detached) if it cannot."""
    if not path.exists():
        return None
    try:
        con.raw_sql(f"ATTACH '{_quoted(path)}' AS {alias} (READ_ONLY)")
    except Exception as exc:  # a damaged or foreign file: load from the database instead
        log.warning("metrics cache %s unreadable (%s); loading from the database", path, exc)
        return None
    try:
        found = con.raw_sql(f"SELECT stamp FROM {alias}.{_FINGERPRINT_TABLE}").fetchone()
        if found is not None:
            return str(found[0])
    except Exception as exc:
        log.warning("metrics cache %s incomplete (%s); loading from the database", path, exc)
    detach(con, alias)
    return None


def store(
    con: Any, path: Path, fingerprint: Iterable[Any], names: Iterable[str], columns: Columns
) -> None:
    """Write `names` from `con` to the cache file."""
    write(con, path, stamp(fingerprint, columns), {name: name for name in names})


def write(con: Any, path: Path, stamp_text: str, copies: dict[str, str]) -> None:
    """Write a file holding `copies` (its table name -> the table in `con`) and `stamp_text`:
    a new file, then renamed over the old one, so a reader never sees half a file."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        con.raw_sql(f"ATTACH '{_quoted(partial)}' AS salesops_cache_new")
        try:
            for target, source in copies.items():
                con.raw_sql(
                    f'CREATE TABLE salesops_cache_new."{target}" AS SELECT * FROM "{source}"'
                )
            con.raw_sql(
                f"CREATE TABLE salesops_cache_new.{_FINGERPRINT_TABLE} AS"
                f" SELECT '{stamp_text.replace(chr(39), chr(39) * 2)}' AS stamp"
            )
        finally:
            con.raw_sql("DETACH salesops_cache_new")
        os.replace(partial, path)
    except Exception as exc:  # a read-only directory, a full disk: the cache is optional
        log.warning("metrics cache %s not written: %s", path, exc)
        partial.unlink(missing_ok=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
