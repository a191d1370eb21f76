"""Errors that reach the user as one clear line.

Every failure caused by the user's input (a file, a policy, a constraint set) is raised as a
subclass of :class:`CounterweightError`. The CLI catches exactly this class, prints its message
on one line and exits non-zero, so no traceback is ever shown for bad input.
"""

from __future__ import annotations

from pathlib import Path


class CounterweightError(Exception):
    """Base class of every error meant for the user (printed as one line by the CLI)."""

    exit_code: int = 2


class InputError(CounterweightError):
    """Bad input data: names the file, and where known the row and column, and what was expected.

    ``row`` is the 1-based line number in the file as a person sees it in an editor
    (the header is line 1), so the first data row of a CSV is row 2.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.detail = message
        where = []
        if self.file is not None:
            where.append(self.file)
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ConfigError(CounterweightError):
    """A TOML configuration (policy, guardrails, groups) is invalid; names the key."""


class InfeasibleError(CounterweightError):
    """Constraints cannot all hold; the message explains which ones bind and why, in words."""


class DataUnavailableError(CounterweightError):
    """The data needed for a computation is missing (date out of range, no caps, ...)."""


class OutputError(CounterweightError):
    """An output file cannot be written (a folder, a device, no space, ...); names the path.

    ``detail`` is the message without the leading path, so the CLI can put the option's name
    in front (``--json 'x': is a folder``).
    """

    def __init__(self, message: str, *, path: str | Path) -> None:
        self.path = str(path)
        self.detail = f"{self.path!r}: {message}"
        super().__init__(f"{self.path}: {message}")
