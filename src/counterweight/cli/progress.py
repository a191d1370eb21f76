"""Progress display for long commands: a rich bar on a terminal, silence when piped or --quiet."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Reporter:
    def __init__(self, progress: Any | None, task: Any | None, quiet: bool) -> None:
        self._progress = progress
        self._task = task
        self._quiet = quiet

    def step(self, message: str) -> None:
        """Describe the current step (shown in the bar's description)."""
        if self._progress is not None:
            self._progress.update(self._task, description=message)

    def done(self, summary: str) -> None:
        """One unit finished: advance the bar and print its summary line (unless quiet)."""
        if self._progress is not None:
            self._progress.advance(self._task)
            self._progress.console.print(summary, highlight=False)
        elif not self._quiet:
            print(summary)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress_reporter(
    total: int, quiet: bool = False, label: str = "working"
) -> Iterator[_Reporter]:
    """Yield a reporter. A bar is drawn only when stderr is a terminal and not ``quiet``."""
    if quiet or not sys.stderr.isatty():
        yield _Reporter(None, None, quiet)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield _Reporter(progress, task, quiet)
