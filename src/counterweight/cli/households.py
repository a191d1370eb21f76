"""`counterweight households` (tax-aware rebalance of many households, locally or on Dask) and
`counterweight transition` (a household's year-by-year path to a group limit).

Parses arguments, calls :mod:`counterweight.rebalance.households` / ``distributed`` /
``transition``, renders with :mod:`counterweight.report.tax_section`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import pandas as pd


def _target_and_prices(
    policy: Path | None, weights: Path | None, store: Path | None, as_of: str | None
) -> tuple[pd.Series, pd.Series, Any]:
    from counterweight import load_sample
    from counterweight.errors import ConfigError
    from counterweight.market import Market
    from counterweight.rebalance import last_prices
    from counterweight.rebalance.targets import load_weights, policy_target

    market = Market.from_store(str(store)) if store is not None else load_sample("daily")
    if policy is not None and weights is not None:
        raise ConfigError("give either --policy or --weights, not both")
    if policy is not None:
        target = policy_target(policy, market, as_of)[0]
    elif weights is not None:
        target = load_weights(weights)
    else:
        raise ConfigError(
            "a target is needed: --policy FILE (TOML) or --weights FILE (ticker,weight)"
        )
    return target, last_prices(market.prices_frame(), as_of), market


def _rules(
    turnover: float | None,
    min_trade: float,
    lots: str,
    cash_buffer: float,
    no_buy: str | None,
    no_sell: str | None,
    hold: str | None,
) -> Any:
    from counterweight.errors import ConfigError
    from counterweight.market import normalize_ticker
    from counterweight.rebalance import TradeRules

    if lots not in ("whole", "fractional"):
        raise ConfigError(f"--lots must be whole or fractional, got '{lots}'")

    def tk(raw: str | None) -> frozenset[str]:
        return frozenset(normalize_ticker(t) for t in (raw or "").split(",") if t.strip())

    return TradeRules(
        turnover=turnover,
        min_trade=min_trade,
        lot=1.0 if lots == "whole" else 0.0,
        cash_buffer=cash_buffer,
        no_buy=tk(no_buy),
        no_sell=tk(no_sell),
        hold=tk(hold),
    )


def _date(raw: str | None, option: str) -> Any:
    """A date option as a Timestamp (None stays None); a bad one is a one-line error."""
    import pandas as pd

    from counterweight.errors import ConfigError

    if raw is None:
        return None
    try:
        return pd.Timestamp(raw)
    except ValueError:
        raise ConfigError(f"{option}: expected a date YYYY-MM-DD, got '{raw}'") from None


def households_cmd(
    lots: Annotated[
        Path,
        typer.Argument(
            help="Lots CSV or Parquet (account, ticker, lot, shares, cost basis, acquired)."
        ),
    ],
    accounts: Annotated[
        Path,
        typer.Option("--accounts", "-a", help="Accounts file (account, household, type, cash)."),
    ],
    tax: Annotated[
        Path, typer.Option("--tax", help="Tax settings TOML (rates, gain budget, harvesting).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory (partitioned Parquet).")
    ],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Construction policy TOML giving the target."),
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", "-w", help="Target weights file (ticker, weight).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Local Dask workers (default: one process for small books, one worker per CPU for large).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Existing Dask scheduler, tcp://host:port.")
    ] = None,
    partition_size: Annotated[
        int, typer.Option("--partition-size", help="Households per task.")
    ] = 500,
    turnover: Annotated[
        float | None, typer.Option(help="One-way turnover limit per account.")
    ] = None,
    min_trade: Annotated[float, typer.Option("--min-trade", help="Smallest trade, USD.")] = 0.0,
    lot_size: Annotated[str, typer.Option("--lots", help="whole or fractional shares.")] = "whole",
    cash_buffer: Annotated[
        float, typer.Option("--cash-buffer", help="Cash kept, fraction of value.")
    ] = 0.0,
    no_buy: Annotated[str | None, typer.Option("--no-buy", help="Tickers never bought.")] = None,
    no_sell: Annotated[str | None, typer.Option("--no-sell", help="Tickers never sold.")] = None,
    hold: Annotated[str | None, typer.Option("--hold", help="Tickers never traded.")] = None,
    trade_date: Annotated[
        str | None,
        typer.Option(
            "--trade-date",
            help="Sale date for holding periods and wash sales (default: the tax file's, else today).",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Market date for prices and target.")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="DuckDB store for market data instead of the embedded sample."),
    ] = None,
    wash_store: Annotated[
        Path | None,
        typer.Option(
            "--wash-store",
            help="DuckDB file keeping open wash-sale windows across runs (default: --store, else the default store).",
        ),
    ] = None,
    household: Annotated[
        str | None, typer.Option("--household", help="Print this household's trades by lot.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, only the summary.")
    ] = False,
) -> None:
    """Tax-aware rebalance of every household: lots, gain budget, asset location, wash sales."""
    import sys

    import pandas as pd
    from rich.console import Console

    from counterweight.cli.progress import progress_reporter
    from counterweight.data.lots import check_lots_accounts, load_accounts, load_lots
    from counterweight.data.store import Store, default_store_path
    from counterweight.errors import ConfigError, CounterweightError
    from counterweight.rebalance.distributed import (
        Job,
        default_workers,
        partitions,
        read_results,
        run_households,
    )
    from counterweight.rebalance.tax import load_tax, open_wash_windows, record_wash_windows
    from counterweight.report.tax_section import (
        households_table,
        lot_trades_table,
        notes_lines,
        totals_line,
    )

    if partition_size < 1:
        raise ConfigError("--partition-size must be >= 1")
    if workers is not None and workers < 1:
        raise ConfigError("--workers must be >= 1")
    acc = load_accounts(accounts)
    settings = load_tax(tax)
    rules = _rules(turnover, min_trade, lot_size, cash_buffer, no_buy, no_sell, hold)
    target, prices, market = _target_and_prices(policy, weights, store, as_of)
    day = _date(trade_date, "--trade-date") or pd.Timestamp(
        settings.trade_date or pd.Timestamp.today().normalize()
    )
    n_households = len(acc.households)
    if workers is None and scheduler is None:
        workers = default_workers(n_households)
    if workers is None and scheduler is None:  # small book: validate the whole file first
        check_lots_accounts(load_lots(lots), acc)
    wpath = wash_store or store or default_store_path()
    if Path(wpath).exists():
        with Store(wpath, read_only=True) as st:
            windows = open_wash_windows(st, day)
    else:
        windows = open_wash_windows(None, day)
    job = Job(
        lots_path=str(lots),
        target=target,
        prices=prices,
        rules=rules,
        settings=settings,
        windows=windows,
        securities=market.securities,
        trade_date=day,
    )
    console = Console(width=120, soft_wrap=True)
    n_parts = len(partitions(acc, partition_size))
    with progress_reporter(n_parts, quiet=quiet, label="households") as bar:
        report = run_households(
            acc,
            job,
            out,
            workers=workers,
            scheduler=scheduler,
            partition_size=partition_size,
            on_done=lambda r: bar.advance(),
        )
    summary = (
        pd.concat(list(read_results(out, "summary")), ignore_index=True)
        if (out / "summary").exists()
        else pd.DataFrame()
    )
    if len(summary):
        summary = summary.set_index("household")
    kept = 0
    with Store(wpath) as st:
        for part in read_results(out, "trades"):
            if len(part):
                kept += record_wash_windows(st, part[part["household"].isin(summary.index)], day)
    try:
        pd.concat([summary.reset_index()]).to_csv(out / "summary.csv", index=False) if len(
            summary
        ) else None
    except OSError as exc:
        raise CounterweightError(f"cannot write {out / 'summary.csv'}: {exc}") from None
    console.print(
        f"{report.households} household(s) run, {report.skipped} already done, "
        f"{len(report.failures)} failed ({report.mode}, {report.wall:.1f} s); trade date {day.date()}",
        highlight=False,
    )
    if len(summary):
        console.print(totals_line(summary), highlight=False)
        if not quiet:
            console.print(households_table(summary))
    if household is not None:
        trades = pd.concat(
            [t[t["household"] == household] for t in read_results(out, "trades")], ignore_index=True
        )
        console.print(lot_trades_table(trades, household))
    for line in notes_lines(report.notes[:20]):
        console.print(line, highlight=False)
    console.print(
        f"wash-sale windows: {len(windows)} open from {wpath}; {kept} event(s) recorded",
        highlight=False,
    )
    console.print(
        f"results: {out}/trades, {out}/summary (Parquet partitions), {out}/summary.csv",
        highlight=False,
    )
    if report.failures:
        for h, why in report.failures[:20]:
            print(f"failed: household {h}: {why}", file=sys.stderr)
        raise typer.Exit(1)


def transition_cmd(
    lots: Annotated[Path, typer.Argument(help="Lots CSV or Parquet.")],
    accounts: Annotated[
        Path,
        typer.Option("--accounts", "-a", help="Accounts file (account, household, type, cash)."),
    ],
    household: Annotated[str, typer.Option("--household", help="The household to plan.")],
    tax: Annotated[
        Path, typer.Option("--tax", help="Tax settings TOML (rates; the budget here is --budget).")
    ],
    budget: Annotated[float, typer.Option("--budget", help="Realised-gain budget per year, USD.")],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Construction policy TOML giving the target."),
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", "-w", help="Target weights file.")
    ] = None,
    limit: Annotated[
        float, typer.Option("--limit", help="Group weight to reach, fraction.")
    ] = 0.20,
    group: Annotated[
        str, typer.Option("--group", help="mag7 or a comma list of tickers.")
    ] = "mag7",
    returns: Annotated[
        str | None,
        typer.Option(
            "--returns",
            help="Annual drift: one number (0.05) or T=r,... (NVDA=0.1,MSFT=0.05). Default: no price change.",
        ),
    ] = None,
    years: Annotated[int, typer.Option("--years", help="Horizon, years.")] = 10,
    lot_size: Annotated[str, typer.Option("--lots", help="whole or fractional shares.")] = "whole",
    min_trade: Annotated[float, typer.Option("--min-trade", help="Smallest trade, USD.")] = 0.0,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First trade date (default: the tax file's, else today)."),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="DuckDB store for market data instead of the sample.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the chart and table as HTML.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write every year's trades (CSV).")
    ] = None,
) -> None:
    """Year-by-year path of a household to "Mag 7 at most 20%" under a yearly gain budget."""
    import pandas as pd
    from rich.console import Console

    from counterweight.data.files import atomic_write_csv
    from counterweight.data.lots import check_lots_accounts, load_accounts, load_lots
    from counterweight.errors import ConfigError
    from counterweight.groups import MAG7_TICKERS
    from counterweight.market import normalize_ticker
    from counterweight.rebalance.tax import load_tax
    from counterweight.rebalance.transition import plan_transition
    from counterweight.report.html import render_html, write_html
    from counterweight.report.tax_section import (
        transition_sections,
        transition_table,
        transition_verdict,
    )

    if years < 1:
        raise ConfigError("--years must be >= 1")
    acc = load_accounts(accounts)
    book = load_lots(lots)
    check_lots_accounts(book, acc)
    settings = load_tax(tax)
    target, prices, _ = _target_and_prices(policy, weights, store, None)
    members = (
        list(MAG7_TICKERS)
        if group.lower() in ("mag7", "mag 7")
        else [t for t in group.split(",") if t.strip()]
    )
    name = "Mag 7" if group.lower() in ("mag7", "mag 7") else group
    drift: Any = None
    if returns is not None:
        if "=" in returns:
            parts: dict[str, float] = {}
            for item in returns.split(","):
                k, _, v = item.partition("=")
                try:
                    parts[normalize_ticker(k)] = float(v)
                except ValueError:
                    raise ConfigError(f"--returns: expected TICKER=number, got '{item}'") from None
            drift = pd.Series(parts)
        else:
            try:
                drift = float(returns)
            except ValueError:
                raise ConfigError(
                    f"--returns: expected a number or TICKER=number list, got '{returns}'"
                ) from None
    rules = _rules(None, min_trade, lot_size, 0.0, None, None, None)
    _date(start, "--start")
    tr = plan_transition(
        book,
        acc,
        target,
        household=household,
        group=members,
        limit=limit,
        budget=budget,
        prices=prices,
        settings=settings,
        rules=rules,
        returns=drift,
        start=start,
        max_years=years,
        group_name=name,
    )
    console = Console(width=110, soft_wrap=True)
    console.print(transition_verdict(tr), highlight=False)
    if len(tr.path):
        console.print(transition_table(tr))
    console.print("assumptions:", highlight=False)
    for a in tr.assumptions:
        console.print(f"  - {a}", highlight=False)
    if out is not None:
        atomic_write_csv(out, tr.trades, index=False)
        console.print(f"trades: {out}", highlight=False)
    if html is not None:
        write_html(
            html, render_html(f"Transition of household {household}", transition_sections(tr))
        )
        console.print(f"html: {html}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``households`` and ``transition`` to the app."""
    app.command("households")(households_cmd)
    app.command("transition")(transition_cmd)
