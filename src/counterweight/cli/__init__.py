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


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit code (also used by tests)."""
    try:
        app(args=argv, standalone_mode=False)
    except CounterweightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:  # raised by click for --help and usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            print("error: aborted", file=sys.stderr)
            return 1
        raise
    return 0


def run() -> None:  # pragma: no cover - thin wrapper for ``python -m counterweight``
    sys.exit(main())
