"""`salesops demo` (being built)."""

from __future__ import annotations

import typer


def demo_command(ctx: typer.Context) -> None:
    """Build the demo company."""
    raise typer.Exit(1)
