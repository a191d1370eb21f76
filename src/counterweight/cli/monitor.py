"""`counterweight monitor` (being built; see the issue tracker)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the command on the app (filled in by the issue that owns it)."""
