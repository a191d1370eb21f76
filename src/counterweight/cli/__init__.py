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
    from counterweight.cli import backtest, construct, data, monitor, rebalance, report

    for module in (data, report, monitor, construct, rebalance, backtest):
        module.register(app)
    from counterweight.cli import households  # tax-aware households and transition

    households.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit code (also used by tests).

    Typer/click handle usage errors themselves (exit 2 with a usage line); every
    :class:`CounterweightError` from the API becomes one ``error: ...`` line on stderr.
    """
    try:
        app(args=argv, prog_name="counterweight")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except CounterweightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


def run() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())
