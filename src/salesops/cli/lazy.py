"""A Typer group whose sub-commands are imported only when they run.

Each domain's CLI pulls in heavy libraries (Ibis, pandas, scikit-learn, FastAPI...). Importing
them all for `salesops --help` or `salesops status` made every command take seconds, so the
root only knows each command's import path and one-line help until it is invoked.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click
import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """Where a sub-command lives (`module:attribute`) and its one-line help for listings."""

    target: str
    help: str


def load(name: str, spec: LazyCommand) -> click.Command:
    """Import `spec.target` and turn it (a Typer app or a command function) into a click command."""
    module_name, attribute = spec.target.split(":")
    target: Any = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name, help=spec.help if not target.__doc__ else None)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """Lists lazy commands from their static help; imports one only when it is resolved."""

    lazy: dict[str, LazyCommand] = {}  # noqa: RUF012 (filled once by the root module)
    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy:
            return command
        spec = self.lazy[cmd_name]
        if self._listing:
            return click.Command(cmd_name, help=spec.help, short_help=spec.help)
        return load(cmd_name, spec)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
