"""The ``counterweight`` command line: parses arguments, calls the API, renders. Nothing else.

Each command lives in its own module under ``counterweight.cli`` and registers itself on the
one Typer app through ``register(app)``. :func:`main` turns every
:class:`~counterweight.errors.CounterweightError` into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import sys

import typer

from counterweight.errors import CounterweightError

app = typer.Typer(
    name="counterweight",
    help="Measure, monitor and act on US equity index concentration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    from counterweight.cli import backtest, construct, data, exposure, monitor, rebalance, report

    for module in (data, report, monitor, construct, rebalance, backtest, exposure):
        module.register(app)
    from counterweight.cli import households  # tax-aware households and transition

    households.register(app)


_register_commands()


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and tabs become spaces, other control characters are
    escaped (a value cannot move the cursor or forge a second line), runs of spaces collapse."""
    out = []
    for ch in str(text):
        if ch in "\r\n\t\v\f":
            out.append(" ")
        elif not ch.isprintable() and ch != " ":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _usage_exceptions() -> tuple[type[BaseException], ...]:
    classes: list[type[BaseException]] = [typer.TyperException]
    try:  # typer < 0.20 raises click's own exceptions
        import click

        classes.append(click.ClickException)
    except ImportError:  # pragma: no cover - recent typer vendors click
        pass
    return tuple(classes)


def _abort_exceptions() -> tuple[type[BaseException], ...]:
    classes: list[type[BaseException]] = [typer.Abort]
    try:
        import click

        classes.append(click.Abort)
    except ImportError:  # pragma: no cover
        pass
    return tuple(classes)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit code (also used by tests).

    Every failure is one ``error: ...`` line on stderr and a non-zero exit: usage errors
    (unknown option, missing argument, bad choice; exit 2, with a pointer to ``--help``),
    every :class:`CounterweightError` from the API (its ``exit_code``), and file-system errors
    reading or writing the user's files (exit 1). ``--help`` prints the help and exits 0.
    """
    try:
        rv = app(args=argv, prog_name="counterweight", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except CounterweightError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except _abort_exceptions():
        print("error: aborted", file=sys.stderr)
        return 1
    except _usage_exceptions() as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())  # no command given: the help is the answer
            return 2
        message = one_line(exc.format_message())  # type: ignore[attr-defined]
        command = getattr(ctx, "command_path", "") or "counterweight"
        hint = f" (see '{command} --help')" if ctx is not None else ""
        print(f"error: {message}{hint}", file=sys.stderr)
        code = getattr(exc, "exit_code", 2)
        return code if isinstance(code, int) and code != 0 else 2
    except OSError as exc:  # a user file the command reads or writes; the message names it
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: {one_line(exc.strerror or str(exc))}{where}", file=sys.stderr)
        return 1
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())
