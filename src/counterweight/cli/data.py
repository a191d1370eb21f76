"""`counterweight data ...` (being built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the command group on the app."""
