"""What every CLI command shares: the database URL and how to open a unit of work."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesops.db import make_engine, session_scope
from salesops.db.schema import current_revision, head_revision
from salesops.errors import ConfigurationError

# Piped or redirected output has no terminal width, and Rich would then squeeze tables into
# 80 columns and cut figures short ("21,51…"); a file or a pager gets every digit instead.
# COLUMNS, when set, still decides.
PIPED_WIDTH = 200
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH)
err_console = Console(stderr=True)


@dataclass
class CliState:
    database_url: str
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def require_schema(self) -> Engine:
        """The engine, after checking the schema is at the version this code expects."""
        current = current_revision(self.engine)
        if current is None:
            raise ConfigurationError(
                f"the database {self.database_url} has no salesops schema; run `salesops init`"
            )
        if current != head_revision():
            raise ConfigurationError(
                f"the database schema is at {current} but this salesops needs {head_revision()};"
                " run `salesops init` to upgrade it"
            )
        return self.engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work that commits if the command succeeds and rolls back otherwise."""
        with session_scope(self.require_schema()) as session:
            yield session


def state(ctx: typer.Context) -> CliState:
    """The CliState set up by the root callback."""
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
