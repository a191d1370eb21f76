"""``counterweight backtest``: run weighting policies through history and compare them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from counterweight.cli.options import (
    check_span,
    date_callback,
    number_callback,
    output_callback,
    policy_spec_callback,
    schedule_callback,
    store_callback,
)

DEFAULT_POLICIES = ["cap", "equal"]


def _pct(v: Any, digits: int = 2) -> str:
    from counterweight.report.formats import pct

    return pct(v, digits)


def _ratio(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return "–"
    return f"{x:.2f}" if math.isfinite(x) else "–"


def _date(v: Any) -> str:
    return "–" if v is None or v != v else str(getattr(v, "date", lambda: v)())


ROWS: list[tuple[str, str, Any]] = [
    ("total_return", "Total return", _pct),
    ("cagr", "CAGR", _pct),
    ("volatility", "Volatility", _pct),
    ("sharpe", "Sharpe", _ratio),
    ("sortino", "Sortino", _ratio),
    ("max_drawdown", "Max drawdown", _pct),
    ("drawdown_peak", "  peak", _date),
    ("drawdown_trough", "  trough", _date),
    ("drawdown_recovery", "  recovered", _date),
    ("calmar", "Calmar", _ratio),
    ("tracking_error", "Tracking error", _pct),
    ("information_ratio", "Information ratio", _ratio),
    ("beta", "Beta", _ratio),
    ("up_capture", "Up capture", _ratio),
    ("down_capture", "Down capture", _ratio),
    ("turnover", "Turnover / year (one-sided)", _pct),
    ("costs_per_year", "Costs / year", lambda v: _pct(v, 3)),
    ("rebalances", "Trade dates", lambda v: str(int(v)) if v == v else "–"),
]


def backtest(
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            "-p",
            help="cap, equal, capped:0.05 (issuer cap) or a policy .toml file; repeat to compare.",
            callback=policy_spec_callback,
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="First date (YYYY-MM-DD).", callback=date_callback)
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last date (YYYY-MM-DD).", callback=date_callback)
    ] = None,
    schedule: Annotated[
        str,
        typer.Option(
            help="monthly, quarterly (S&P third Fridays), annually, never, band:X, relband:X.",
            callback=schedule_callback,
        ),
    ] = "quarterly",
    cost_bps: Annotated[
        float,
        typer.Option(
            help="Trading cost in basis points of traded value (0..1000).",
            callback=number_callback(0.0, 1000.0, what="bps"),
        ),
    ] = 5.0,
    spreads: Annotated[
        Path | None,
        typer.Option(help="CSV with columns ticker,spread_bps (full quoted spread; half is paid)."),
    ] = None,
    benchmark: Annotated[str, typer.Option(help="Reference ETF for relative figures.")] = "SPY",
    trade_on_changes: Annotated[
        bool, typer.Option(help="Rebalance fully on every index membership change.")
    ] = False,
    store: Annotated[
        Path | None,
        typer.Option(
            help="Read this DuckDB store instead of the embedded sample.", callback=store_callback
        ),
    ] = None,
    monthly: Annotated[
        bool, typer.Option(help="Use the embedded month-end panel (2014..2026).")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the HTML tear sheet here.", callback=output_callback),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Write the comparison table as JSON.", callback=output_callback
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="auto (numba for large panels when installed), numpy, or numba."),
    ] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Backtest weighting policies with drift, costs and point-in-time membership; compare them."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from counterweight.backtest import parse_rule, parse_schedule, run_backtest
    from counterweight.backtest.analysis import tearsheet_data
    from counterweight.cli.progress import progress_reporter
    from counterweight.data.files import atomic_write_json
    from counterweight.errors import InputError
    from counterweight.market import Market

    rules = [parse_rule(p) for p in (policy or DEFAULT_POLICIES)]
    sched = parse_schedule(schedule)
    spread_s = None
    if spreads is not None:
        try:
            frame = pd.read_csv(spreads)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read spreads: {exc}", file=spreads) from None
        for col in ("ticker", "spread_bps"):
            if col not in frame.columns:
                raise InputError(
                    "missing column (need ticker,spread_bps)", file=spreads, column=col
                )
        values = pd.to_numeric(frame["spread_bps"], errors="coerce")
        finite = values.abs() < float("inf")
        bad = values.isna() | ~finite | (values < 0) | (values > 10_000)
        if bad.any():
            line = int(bad.to_numpy().argmax()) + 2
            raise InputError(
                "spread must be a number from 0 to 10000 bps",
                file=spreads,
                row=line,
                column="spread_bps",
            )
        spread_s = pd.Series(values.to_numpy(), index=frame["ticker"].astype(str).str.upper())

    market: Market
    if store is not None:
        from counterweight.data import market_from_store

        market = market_from_store(str(store))
    else:
        from counterweight import load_sample

        market = load_sample("monthly" if monthly else "daily")
    check_span(market, start, end)

    with progress_reporter(len(rules), quiet=quiet, label="backtesting") as rep:

        def step(name: str) -> None:
            rep.step(f"backtesting {name}")
            rep.advance()

        result = run_backtest(
            market,
            rules,
            schedule=sched,
            cost_bps=cost_bps,
            spread_bps=spread_s,
            start=start,
            end=end,
            trade_on_changes=trade_on_changes,
            engine=engine,
            progress=step,
        )
        data = tearsheet_data(result, benchmark)

    console = Console()
    d = result.market.dates
    table = Table(
        title=f"Backtest {d[0].date()} .. {d[-1].date()}, {result.schedule}, {cost_bps:g} bps",
        width=100,
    )
    table.add_column("", style="bold", no_wrap=True)
    names = list(data.summary.index)
    for name in names:
        table.add_column(escape(str(name)), justify="right", overflow="fold")
    for key, label, fmt in ROWS:
        table.add_row(label, *[fmt(data.summary.loc[n, key]) for n in names])
    from counterweight.report.console import print_table

    print_table(console, table)  # the console's width; numbers never cut
    if data.relative_to in data.summary.index:
        console.print(f"Relative figures against {data.relative_to}.", highlight=False)
    if data.etf is not None:
        for strat, row in data.etf.table.iterrows():
            console.print(
                f"{strat}: {_pct(row['strategy_cagr'])} a year vs {row['etf']} {_pct(row['etf_cagr'])} "
                f"(gap {float(row['gap']):+.2%}, tracking error {_pct(row['tracking_error'])})",
                markup=False,
                highlight=False,
            )
        if data.etf.spread is not None:
            label, s, e = data.etf.spread
            console.print(
                f"{label}: backtest {s:+.2%} a year, ETFs {e:+.2%}, difference {s - e:+.2%}",
                highlight=False,
                markup=False,
            )

    from counterweight.report.caveats import caveat_lines

    for c in caveat_lines(result.caveats):  # survivorship is stated whenever it applies, once
        if "survivorship" in c.lower():
            console.print(f"[bold yellow]Note:[/bold yellow] {escape(c)}", highlight=False)
    if html is not None:
        from counterweight.report.tearsheet import write_tearsheet

        write_tearsheet(html, data, result.market.provenance)
        console.print(f"tear sheet written to {html}", highlight=False, markup=False)
    if json_out is not None:
        atomic_write_json(
            json_out,
            {
                "start": d[0].date().isoformat(),
                "end": d[-1].date().isoformat(),
                "schedule": result.schedule,
                "cost_bps": cost_bps,
                "strategies": data.summary.to_dict(orient="index"),
                "calendar_years": {
                    str(k): v for k, v in data.years.to_dict(orient="index").items()
                },
                "caveats": list(result.caveats),
            },
        )


def register(app: typer.Typer) -> None:
    """Add ``backtest`` to the app."""
    app.command("backtest")(backtest)
