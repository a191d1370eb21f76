"""`counterweight exposure`: what a book of funds and stocks really holds, and trades on it.

Parses arguments, calls :mod:`counterweight.exposure` (and
:mod:`counterweight.rebalance.lookthrough` with ``--rebalance``), renders with
:mod:`counterweight.report.exposure_section`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def exposure_cmd(
    holdings: Annotated[
        Path,
        typer.Argument(
            help="Holdings CSV or Parquet (account, ticker, shares or market value, price, cash rows)."
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date of the look-through (default: the data's last date)."),
    ] = None,
    funds: Annotated[
        list[Path] | None,
        typer.Option(
            "--funds",
            help="Fund holdings file (SSGA, iShares, Invesco, Vanguard or generic); repeatable.",
        ),
    ] = None,
    fund: Annotated[
        str | None,
        typer.Option("--fund", help="Fund ticker for a --funds file that does not name it."),
    ] = None,
    fund_date: Annotated[
        str | None,
        typer.Option(
            "--fund-date", help="Holdings date for a --funds file that does not state it."
        ),
    ] = None,
    save_funds: Annotated[
        bool,
        typer.Option(
            "--save-funds", help="Also store the --funds files in the store (needs --store)."
        ),
    ] = False,
    prefer_files: Annotated[
        bool,
        typer.Option("--prefer-files", help="Use a fund's holdings file before its index model."),
    ] = False,
    drift_files: Annotated[
        bool,
        typer.Option(
            "--drift-files", help="Carry holdings files to the as-of date by total return."
        ),
    ] = False,
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    store: Annotated[
        Path | None, typer.Option(help="DuckDB store instead of the embedded sample.")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the numbers as JSON.")
    ] = None,
    rebalance: Annotated[
        Path | None,
        typer.Option(
            "--rebalance",
            help="Look-through rebalance policy (TOML): limits on exposure, allowed trades.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Trades CSV of --rebalance.")] = Path(
        "trades.csv"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line.")] = False,
) -> None:
    """Look funds through to issuers: top 10, Mag 7, sectors by source, overlap, concentration, rules."""
    from rich.console import Console

    from counterweight import load_sample
    from counterweight.data.files import atomic_write_csv, atomic_write_json
    from counterweight.data.funds import default_library, read_fund_file, save_to_store
    from counterweight.data.holdings import Holdings, load_holdings
    from counterweight.data.store import Store
    from counterweight.errors import ConfigError
    from counterweight.exposure import FundResolver, exposure_report, lookthrough
    from counterweight.market import Market
    from counterweight.report import exposure_section as view

    console = Console(width=120)
    if save_funds and store is None:
        raise ConfigError("--save-funds needs --store PATH")
    if (fund or fund_date) and not funds:
        raise ConfigError("--fund and --fund-date describe a --funds file: give one")
    extra = []
    for f in funds or []:
        extra.extend(read_fund_file(f, fund=fund, date=fund_date))
    book = load_holdings(holdings)
    if account is not None:
        pos = book.positions[book.positions["account"].astype(str) == account]
        if pos.empty and account not in book.cash.index:
            raise ConfigError(
                f"--account {account}: not in {holdings} (accounts: {', '.join(map(str, book.accounts[:8]))})"
            )
        book = Holdings(
            positions=pos.reset_index(drop=True), cash=book.cash.loc[[account]], source=book.source
        )
    market: Market
    if store is not None:
        if not store.exists():
            with Store(store, read_only=True):
                pass  # raises the store's own "no store at ..." error
        with Store(store, read_only=not save_funds) as st:
            if save_funds:
                save_to_store(st, extra)
            library = default_library(st, extra)
            market = st.market()
    else:
        market = load_sample("daily")
        library = default_library(None, extra)
    resolver = FundResolver(
        market, library, prefer="file" if prefer_files else "model", drift_files=drift_files
    )
    lt = lookthrough(book, market, resolver, as_of)
    rep = exposure_report(lt, market)
    res = None
    if rebalance is not None:
        from counterweight.rebalance.lookthrough import load_policy, rebalance_lookthrough

        res = rebalance_lookthrough(book, market, resolver, load_policy(rebalance), lt.as_of)
        atomic_write_csv(out, res.trades, index=False)
    if not quiet:
        view.render(rep, console)
        if res is not None:
            console.print()
            view.render_rebalance(res, console)
    mag = rep.groups["weight"].get("Mag 7", float("nan"))
    summary = (
        f"{len(rep.funds)} instruments, {rep.total:,.0f} USD on {rep.as_of.date()}: "
        f"top 10 issuers {100 * rep.top10['weight'].sum():.1f}%, Mag 7 {100 * mag:.1f}% of the book"
    )
    if rep.opaque_weight > 0:
        summary += f", {100 * rep.opaque_weight:.1f}% opaque"
    console.print(summary)
    if res is not None:
        console.print(
            f"{len(res.trades)} trades written to {out}; limits on the looked-through book "
            + ("all hold" if res.passed else "[red]do not all hold[/red]")
        )
    if json_out is not None:
        atomic_write_json(json_out, view.to_payload(rep, res))
    if html is not None:
        from counterweight.report.html import render_html, write_html

        secs = view.sections(rep) + (view.rebalance_sections(res) if res is not None else [])
        write_html(
            html,
            render_html(
                "Look-through exposure",
                secs,
                provenance=market.provenance,
                subtitle=f"{holdings.name}, as of {rep.as_of.date()}",
            ),
        )
    if res is not None and not res.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``exposure`` to the app."""
    app.command("exposure")(exposure_cmd)
