"""``counterweight report``: concentration, leadership, sectors and valuation in one report.

Parses arguments, loads the market (embedded sample, a store, or the user's files), calls
:func:`counterweight.report.main_report.build_report` and renders it to the terminal and,
on request, to HTML and JSON. Computes nothing itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from counterweight.market import Market


def load_market(
    store: Path | None,
    prices: Path | None,
    caps: Path | None,
    securities: Path | None,
    membership: Path | None,
    fundamentals: Path | None,
    benchmarks: Path | None = None,
) -> Market:
    """The market the report runs on: explicit files, else a store, else the embedded sample."""
    from counterweight.errors import ConfigError

    if prices is not None:
        if store is not None:
            raise ConfigError(
                "give either --store or --prices (with its companion files), not both"
            )
        from counterweight.data import market_from_files

        return market_from_files(
            prices,
            caps=caps,
            securities=securities,
            membership=membership,
            fundamentals=fundamentals,
            benchmarks=benchmarks,
        )
    if any(p is not None for p in (caps, securities, membership, fundamentals, benchmarks)):
        raise ConfigError(
            "--caps, --securities, --membership, --fundamentals and --benchmarks need --prices"
        )
    if store is not None:
        from counterweight.data import market_from_store

        return market_from_store(str(store))
    from counterweight import load_sample

    return load_sample()


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""

    @app.command("report")
    def report(
        html: Annotated[
            Path | None,
            typer.Option(
                "--html", help="Write a self-contained HTML report with interactive charts."
            ),
        ] = None,
        json_out: Annotated[
            Path | None, typer.Option("--json", help="Write every number shown as JSON.")
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Date of the current readings (default: last date)."),
        ] = None,
        start: Annotated[str | None, typer.Option(help="First date of the history used.")] = None,
        end: Annotated[str | None, typer.Option(help="Last date of the history used.")] = None,
        store: Annotated[
            Path | None, typer.Option(help="Read the market from this DuckDB store.")
        ] = None,
        prices: Annotated[
            Path | None, typer.Option(help="Your total-return prices (CSV/Parquet, long or wide).")
        ] = None,
        caps: Annotated[
            Path | None, typer.Option(help="Your market caps or shares (with --prices).")
        ] = None,
        securities: Annotated[
            Path | None, typer.Option(help="Your security master: ticker, name, issuer, sector.")
        ] = None,
        membership: Annotated[
            Path | None, typer.Option(help="Your index membership intervals: ticker, start, end.")
        ] = None,
        fundamentals: Annotated[
            Path | None, typer.Option(help="Your fundamentals snapshots (for valuation).")
        ] = None,
        benchmarks: Annotated[
            Path | None,
            typer.Option(help="Your reference ETF prices (SPY, RSP, ...; with --prices)."),
        ] = None,
        group: Annotated[
            list[str] | None,
            typer.Option("--group", help="Custom basket NAME=T1,T2,... (repeatable)."),
        ] = None,
        window: Annotated[
            list[str] | None,
            typer.Option(
                "--window",
                help="Return window: 1W 1M 3M YTD 1Y 3Y MTD QTD ALL or START:END (repeatable).",
            ),
        ] = None,
        contribution_window: Annotated[
            str, typer.Option(help="Window of the contribution tables.")
        ] = "YTD",
        long_history: Annotated[
            bool,
            typer.Option(
                help="With the embedded data, also place readings in the month-end history since 2014."
            ),
        ] = True,
        ticker_level: Annotated[
            bool,
            typer.Option(
                "--ticker-level", help="Count share classes separately (default: one issuer)."
            ),
        ] = False,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Print nothing to the terminal (files only).")
        ] = False,
        with_monitor: Annotated[
            bool,
            typer.Option(
                "--monitor/--no-monitor",
                help="Add the rotation monitor (regime, breadth, correlation) to the HTML report.",
            ),
        ] = True,
    ) -> None:
        """Concentration today vs history, leadership, contributions, sectors and valuation."""
        from counterweight.groups import parse_group_spec
        from counterweight.measure.leadership import DEFAULT_WINDOWS
        from counterweight.report.main_report import build_report

        groups = [parse_group_spec(s) for s in (group or [])]
        market = load_market(store, prices, caps, securities, membership, fundamentals, benchmarks)
        long_market = None
        if long_history and store is None and prices is None:
            from counterweight import load_sample

            long_market = load_sample("monthly")
        rep = build_report(
            market,
            groups=groups,
            as_of=as_of,
            start=start,
            end=end,
            windows=tuple(window) if window else DEFAULT_WINDOWS,
            contribution_window=contribution_window,
            issuer_level=not ticker_level,
            long_history=long_market,
            long_history_label="month-end readings of current and former members",
        )
        if json_out is not None:
            from counterweight.data.files import atomic_write_json
            from counterweight.report.json_report import report_to_dict

            atomic_write_json(json_out, report_to_dict(rep))
        if html is not None:
            from counterweight.report.figures import render_main_html
            from counterweight.report.html import write_html

            extra = []
            if with_monitor:
                from counterweight.monitor import run_monitor
                from counterweight.report.monitor_section import monitor_sections

                extra = monitor_sections(run_monitor(market, as_of=rep.as_of))
            write_html(html, render_main_html(rep, extra_sections=extra))
        if not quiet:
            from counterweight.report.terminal import render

            render(rep)
            for label, path in (("HTML", html), ("JSON", json_out)):
                if path is not None:
                    print(f"{label} report written to {path}")
