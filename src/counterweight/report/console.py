"""Rich tables fitted to the console's width: numbers never cut, text never read as markup.

:func:`fit_table` / :func:`print_table` take any :class:`rich.table.Table`. Right-aligned
columns are numbers: they keep their full width and never wrap. Other columns are names: rich
may narrow them, each name staying on one line, abbreviated with an ellipsis, down to
:data:`LABEL_MIN` characters (a column created with ``overflow="fold"`` wraps instead). A table whose numbers still do not fit is printed in several
parts, each repeating the name columns. Strings become plain :class:`~rich.text.Text` unless
``markup`` is asked for, so user and data text (``[/bold]``) prints as it is, without control
characters (:func:`plain`). The width is the
console's own: rich's default console takes the terminal's width (``COLUMNS``, 80 when the
output is not a terminal).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

LABEL_MIN = 8
"""Narrowest a name column is abbreviated to (characters) before a table is split."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object, style: str = "") -> Text:
    """``text`` as plain :class:`Text`: no markup read, control characters (escape sequences,
    carriage returns, bells) removed so data cannot move the cursor or recolour the terminal."""
    return Text(_CONTROL.sub("", str(text)), style=style)


def _plain(x: RenderableType, markup: bool, **kw: Any) -> RenderableType:
    """A string as :class:`Text` (rich markup read only when ``markup``); ``kw`` are Text
    attributes (no_wrap, overflow)."""
    if not isinstance(x, str):
        return x
    text = Text.from_markup(_CONTROL.sub("", x)) if markup else plain(x)
    for k, v in kw.items():
        setattr(text, k, v)
    return text


def _width(console: Console, x: RenderableType) -> int:
    return Measurement.get(console, console.options, x).maximum


def _need(table: Table, widths: Sequence[int], numeric: Sequence[bool]) -> int:
    """Characters a table needs with its names cut to LABEL_MIN and its numbers whole."""
    total = (2 if table.box and table.show_edge else 0) + (len(widths) - 1 if table.box else 0)
    for i, (w, num) in enumerate(zip(widths, numeric, strict=True)):
        total += (w if num else min(w, LABEL_MIN)) + table._get_padding_width(i)
    return total


def _subtable(table: Table, keep: Sequence[int], title: str | Text | None) -> Table:
    sub = copy.copy(table)
    sub.columns = []
    for i, k in enumerate(keep):
        col = copy.copy(table.columns[k])
        col._index = i
        sub.columns.append(col)
    sub.title = title
    sub.min_width = None
    return sub


def fit_table(console: Console, table: Table, *, markup: bool = False) -> list[Table]:
    """``table`` made to fit ``console.width`` without cutting a number (see the module docs).

    Right-aligned columns are numbers: never wrapped, never cut. Other columns are names:
    abbreviated with an ellipsis (one line each). Strings become plain :class:`Text` (rich
    markup read only when ``markup``), so user and data text cannot break the output. Returns
    the table, or its parts when the numbers alone are wider than the console.
    """
    if table.width is not None and table.width > console.width:
        table.width = None  # a fixed width wider than the console: fit to the console instead
    numeric = [c.justify == "right" for c in table.columns]
    for col, num in zip(table.columns, numeric, strict=True):
        col.header = _plain(col.header, markup)
        if num:
            col.no_wrap = True
            col._cells = [_plain(c, markup) for c in col._cells]
        elif col.overflow == "fold":  # text asked to wrap: it wraps onto more lines
            col.no_wrap = False
            col._cells = [_plain(c, markup) for c in col._cells]
        else:  # collapsible by rich; each name stays on one line, cut with an ellipsis
            col.no_wrap = False
            col._cells = [_plain(c, markup, no_wrap=True, overflow="ellipsis") for c in col._cells]
    if isinstance(table.title, str):
        table.title = (
            Text.from_markup(_CONTROL.sub("", table.title)) if markup else plain(table.title)
        )
    widths = []
    for col in table.columns:
        w = max([_width(console, col.header), *(_width(console, c) for c in col._cells)])
        widths.append(min(w, col.max_width) if col.max_width else w)
    width = console.width
    if _need(table, widths, numeric) <= width or not any(numeric):
        return [table]
    labels = [i for i, n in enumerate(numeric) if not n]
    parts: list[list[int]] = []
    for i in (i for i, n in enumerate(numeric) if n):
        trial = [*parts[-1], i] if parts else [i]
        keep = sorted([*labels, *trial])
        sub = [widths[k] for k in keep]
        if parts and _need(table, sub, [numeric[k] for k in keep]) <= width:
            parts[-1] = trial
        elif parts:
            parts.append([i])
        else:
            parts = [[i]]
    out = []
    for n, chunk in enumerate(parts):
        title: str | Text | None = table.title if isinstance(table.title, (str, Text)) else None
        if n and title is not None:
            title = Text.assemble(title, " (continued)") if isinstance(title, Text) else title
        out.append(_subtable(table, sorted([*labels, *chunk]), title))
    return out


def print_table(console: Console, table: Table, *, markup: bool = False) -> None:
    """Print :func:`fit_table`'s result (one table, or its parts one after another)."""
    for i, part in enumerate(fit_table(console, table, markup=markup)):
        if i:
            console.print()
        console.print(part)
