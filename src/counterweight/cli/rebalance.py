"""`counterweight rebalance` (holdings -> trade lists) and `counterweight stress` (scenario P&L).

Parses arguments, calls :mod:`counterweight.rebalance` and :mod:`counterweight.risk`, renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from counterweight.cli.options import (
    check_as_of,
    check_tickers,
    date_callback,
    historical_callback,
    int_callback,
    number_callback,
    output_callback,
    output_dir_callback,
    store_callback,
    tickers_callback,
)

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from counterweight.market import Market
    from counterweight.risk.stress import Scenario, StressResult

DEFAULT_SCENARIOS = ("Mag 7=-0.30", "Information Technology=-0.25", "small caps=+0.10")
DEFAULT_HISTORICAL = ("April 2025 sell-off",)


def _tickers(raw: str | None) -> frozenset[str]:
    from counterweight.market import normalize_ticker

    return frozenset(normalize_ticker(t) for t in (raw or "").split(",") if t.strip())


def _market(store: Path | None, monthly: bool = False) -> Market:
    from counterweight import load_sample

    if store is not None:
        from counterweight.data import market_from_store

        return market_from_store(str(store))
    return load_sample("monthly" if monthly else "daily")


def _target(
    market: Market, policy: Path | None, weights: Path | None, as_of: str | None
) -> tuple[Any, list[Any], str]:
    from counterweight.errors import ConfigError
    from counterweight.rebalance.targets import load_weights, policy_target

    if policy is not None and weights is not None:
        raise ConfigError("give either --policy or --weights, not both")
    if policy is not None:
        return policy_target(policy, market, as_of)
    if weights is not None:
        return load_weights(weights), [], weights.name
    raise ConfigError("a target is needed: --policy FILE (TOML) or --weights FILE (ticker,weight)")


def _pct(x: Any, digits: int = 2, signed: bool = False) -> str:
    from counterweight.report.formats import pct

    return pct(x, digits, signed)


def _usd(x: Any) -> str:
    from counterweight.report.formats import num

    return num(x, 0)


def _scenarios(
    market: Market,
    specs: list[str],
    historical: list[str],
    each: bool,
    as_of: str | None,
    window: int,
    monthly_fallback: bool,
) -> tuple[list[Scenario], list[str]]:
    """Build parametric and historical scenarios; a window the daily data lacks is replayed on
    the embedded month-end panel when ``monthly_fallback`` (said in the notes)."""
    from counterweight import load_sample
    from counterweight.errors import ConfigError, DataUnavailableError
    from counterweight.risk.stress import named_replay, parametric, parse_shock

    out: list[Scenario] = []
    notes: list[str] = []
    mode: Literal["basket", "each"] = "each" if each else "basket"
    for spec in specs:
        parts = [part for part in spec.split(";") if part.strip()]
        if not parts:
            raise ConfigError(f"--scenario {spec!r}: expected NAME=SIZE, e.g. 'Mag 7=-0.30'")
        try:
            shocks = [parse_shock(part, market, mode=mode) for part in parts]
        except ConfigError as exc:  # name the option: "--scenario 'Mag 7=30': ..."
            raise ConfigError(str(exc).replace("scenario '", "--scenario '", 1)) from None
        out.append(parametric(market, shocks, as_of=as_of, window=window))
    for name in historical:
        try:
            out.append(named_replay(market, name))
        except DataUnavailableError as exc:
            if not monthly_fallback:
                raise
            monthly = load_sample("monthly")
            try:
                out.append(named_replay(monthly, name))
                notes.append(f"{name}: daily data lacks it ({exc}); replayed on month-end data")
            except DataUnavailableError as exc2:
                notes.append(f"{name}: not available in the data ({exc2})")
    return out, notes


def _stress_table(console: Console, results: list[StressResult], portfolios: list[str]) -> None:
    from rich.table import Table

    from counterweight.report.console import print_table

    t = Table(title="Stress P&L (fraction of value)", title_justify="left", title_style="bold")
    t.add_column("scenario", max_width=44, overflow="fold")  # names carry sizes: wrap, never cut
    for p in portfolios:
        t.add_column(escape(p), justify="right", no_wrap=True)
    parts = portfolios if len(portfolios) <= 2 else []  # keep the table narrow
    for p in parts:
        t.add_column(escape(f"Mag 7 part ({p})"), justify="right", no_wrap=True)
    for r in results:
        cells = [_pct(r.total.get(p), 2, True) for p in portfolios]
        for p in parts:
            col = f"{p} pnl"
            v = (
                r.by_group[col].get("Mag 7")
                if "Mag 7" in r.by_group.index and col in r.by_group
                else None
            )
            cells.append(_pct(v, 2, True))
        t.add_row(escape(r.scenario.name), *cells)
    print_table(console, t)
    for r in results:
        extra = (
            f"; {len(r.uncovered)} held names absent from that data take the proxy's return"
            if r.uncovered
            else ""
        )
        console.print(f"[dim]{escape(f'{r.scenario.name}: {r.scenario.detail}{extra}')}[/dim]")


def rebalance_cmd(
    holdings: Annotated[
        Path,
        typer.Argument(
            help="Holdings CSV or Parquet (account, ticker, shares or market value, cash rows)."
        ),
    ],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Construction policy TOML giving the target."),
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", "-w", help="Target weights file (ticker, weight).")
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Trades CSV (all accounts).", callback=output_callback),
    ] = Path("trades.csv"),
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="Also write one trades CSV per account here.",
            callback=output_dir_callback,
        ),
    ] = None,
    turnover: Annotated[
        float | None,
        typer.Option(
            help="One-way turnover limit, fraction of account value (0..1).",
            callback=number_callback(0.0, 1.0),
        ),
    ] = None,
    min_trade: Annotated[
        float,
        typer.Option(
            "--min-trade",
            help="Smallest trade, USD (0..1e9).",
            callback=number_callback(0.0, 1e9, what="USD"),
        ),
    ] = 0.0,
    lots: Annotated[str, typer.Option(help="whole or fractional shares.")] = "whole",
    cash_buffer: Annotated[
        float,
        typer.Option(
            "--cash-buffer",
            help="Cash kept, fraction of value (0..0.99).",
            callback=number_callback(0.0, 0.99),
        ),
    ] = 0.0,
    no_buy: Annotated[
        str | None,
        typer.Option("--no-buy", help="Tickers never bought (T1,T2).", callback=tickers_callback),
    ] = None,
    no_sell: Annotated[
        str | None,
        typer.Option("--no-sell", help="Tickers never sold.", callback=tickers_callback),
    ] = None,
    hold: Annotated[
        str | None, typer.Option("--hold", help="Tickers never traded.", callback=tickers_callback)
    ] = None,
    sell_only: Annotated[bool, typer.Option("--sell-only", help="Only sells.")] = False,
    buy_only: Annotated[bool, typer.Option("--buy-only", help="Only buys.")] = False,
    rules: Annotated[
        str | None, typer.Option(help="Extra rule set to check: ric or ucits.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Market date for prices and target (YYYY-MM-DD within the data).",
            callback=date_callback,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="DuckDB store instead of the embedded sample.", callback=store_callback),
    ] = None,
    no_risk: Annotated[
        bool, typer.Option("--no-risk", help="Skip risk and stress before/after.")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a before/after HTML report.", callback=output_callback),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line.")] = False,
) -> None:
    """Trade lists moving every account toward a target under turnover, lots, cash and restrictions."""
    from rich.console import Console
    from rich.table import Table

    from counterweight.construct.rules import preset
    from counterweight.data.files import atomic_write_csv
    from counterweight.data.holdings import load_holdings
    from counterweight.errors import ConfigError
    from counterweight.rebalance import TradeRules, last_prices, rebalance
    from counterweight.rebalance.review import review

    if lots not in ("whole", "fractional"):
        raise ConfigError(f"--lots must be whole or fractional, got '{lots}'")
    if sell_only and buy_only:
        raise ConfigError("--sell-only and --buy-only exclude each other")
    book = load_holdings(holdings)
    market = _market(store)
    check_as_of(market, as_of)
    for opt, raw in (("--no-buy", no_buy), ("--no-sell", no_sell), ("--hold", hold)):
        check_tickers(market, _tickers(raw), opt, also=book.positions["ticker"])
    target, policy_rules, target_name = _target(market, policy, weights, as_of)
    trade_rules = TradeRules(
        turnover=turnover,
        min_trade=min_trade,
        lot=1.0 if lots == "whole" else 0.0,
        cash_buffer=cash_buffer,
        no_buy=_tickers(no_buy),
        no_sell=_tickers(no_sell),
        hold=_tickers(hold),
        mode="sell_only" if sell_only else "buy_only" if buy_only else "both",
    )
    prices = last_prices(market.prices_frame(), as_of)
    result = rebalance(book, target, prices=prices, rules=trade_rules)
    merged = list(policy_rules) + (list(preset(rules)) if rules else [])
    all_rules = list({r.name: r for r in merged}.values())  # a rule named twice is checked once
    scen: list[Scenario] = []
    notes: list[str] = []
    if not no_risk:
        scen, notes = _scenarios(
            market,
            list(DEFAULT_SCENARIOS[:1]),
            list(DEFAULT_HISTORICAL),
            False,
            as_of,
            252,
            store is None,
        )
    rev = review(
        result, market, rules=all_rules or None, scenarios=scen, as_of=as_of, with_risk=not no_risk
    )
    atomic_write_csv(out, result.trades, index=False)
    if out_dir is not None:
        for account, frame in result.trade_lists().items():
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in account)
            atomic_write_csv(out_dir / f"trades_{safe}.csv", frame, index=False)
    if html is not None:
        from counterweight.report.html import render_html, write_html
        from counterweight.report.rebalance_section import rebalance_sections

        write_html(
            html,
            render_html(
                "Rebalance",
                rebalance_sections(rev),
                market.provenance,
                subtitle=f"target: {target_name}",
            ),
        )

    from counterweight.report.console import print_table
    from counterweight.report.rebalance_text import cash_share

    console = Console()
    s = result.summary
    n_trades = len(result.trades)
    line = (
        f"{len(s)} account(s), {n_trades} trades, buys {_usd(s['buys'].sum())} USD, sells {_usd(s['sells'].sum())} USD"
        f", {cash_share(result)} -> {out}"
    )
    if quiet:
        console.print(line, markup=False, highlight=False)
        return
    console.print(
        f"[bold]Rebalance toward {escape(str(target_name))}[/bold] "
        f"(prices: {escape(str(result.price_source))})"
    )
    t = Table(title="Accounts", title_justify="left", title_style="bold")
    for c in (
        "account",
        "value",
        "trades",
        "turnover",
        "cash after",
        "dist. before",
        "dist. after",
    ):
        t.add_column(
            c,
            justify="left" if c == "account" else "right",
            no_wrap=True,
            max_width=18 if c == "account" else None,
        )
    shown = s.sort_values("turnover", ascending=False).head(15)
    for acc, row in shown.iterrows():
        t.add_row(
            escape(str(acc)),
            _usd(row["value"]),
            str(int(row["trades"])),
            _pct(row["turnover"]),
            _pct(row["cash_weight_after"]),
            _pct(row["distance_before"]),
            _pct(row["distance_after"]),
        )
    print_table(console, t)
    from counterweight.report.rebalance_text import print_cash_lines

    print_cash_lines(console, result)
    if len(s) > len(shown):
        console.print(
            f"[dim]... and {len(s) - len(shown)} more accounts (all in {escape(str(out))})[/dim]"
        )
    if len(s) == 1 and n_trades:
        tt = Table(title="Trades", title_justify="left", title_style="bold")
        for c in ("ticker", "side", "shares", "notional", "w before", "w after", "target"):
            tt.add_column(c, justify="left" if c in ("ticker", "side") else "right", no_wrap=True)
        top = result.trades.reindex(
            result.trades["notional"].abs().sort_values(ascending=False).index
        ).head(20)
        for _, r in top.iterrows():
            tt.add_row(
                escape(str(r["ticker"])),
                escape(str(r["side"])),
                f"{r['shares']:,.4g}",
                _usd(r["notional"]),
                _pct(r["weight_before"]),
                _pct(r["weight_after"]),
                _pct(r["target_weight"]),
            )
        print_table(console, tt)
    if rev.risk_before is not None and rev.risk_after is not None:
        rt = Table(
            title="Book risk (annual, Ledoit-Wolf)", title_justify="left", title_style="bold"
        )
        for c in ("", "before", "after", "change"):
            rt.add_column(c, justify="left" if not c else "right", no_wrap=True)
        for label, row in rev.risk_change.iterrows():
            is_beta = str(label) == "beta"
            cells = [
                f"{row[c]:.3f}" if is_beta else _pct(row[c]) for c in ("before", "after", "change")
            ]
            rt.add_row(escape(str(label)), *cells)
        print_table(console, rt)
    if rev.stress:
        _stress_table(console, rev.stress, ["before", "after"])
    bad = rev.violations
    if len(rev.compliance):
        if len(bad):
            console.print(
                f"[bold red]Compliance: {len(bad)} rule(s) fail after the trades[/bold red]"
            )
            for _, r in bad.head(20).iterrows():
                console.print(
                    f"  {r['account']}: {r['rule']}: {r['detail']}", markup=False, highlight=False
                )
        else:
            console.print("[green]Compliance: every rule passes after the trades[/green]")
    for n in (*notes, *rev.notes):
        console.print(f"[dim]note: {escape(str(n))}[/dim]")
    console.print(line, markup=False, highlight=False)


def stress_cmd(
    holdings: Annotated[
        Path | None, typer.Argument(help="Holdings file (its book is stressed).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", "-p", help="Policy TOML: stress its target.")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", "-w", help="Weights file: stress it.")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help="NAME=SIZE shocks, ';' joins several (repeatable)."),
    ] = None,
    historical: Annotated[
        list[str] | None,
        typer.Option(
            "--historical",
            help="Named window or START..END (repeatable).",
            callback=historical_callback,
        ),
    ] = None,
    each: Annotated[
        bool,
        typer.Option("--each", help="Shock every group member (default: the cap-weighted basket)."),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date YYYY-MM-DD within the data.", callback=date_callback),
    ] = None,
    window: Annotated[
        int,
        typer.Option(
            help="Days of returns for the covariance (20..5000).",
            callback=int_callback(20, 5000, "days"),
        ),
    ] = 252,
    store: Annotated[
        Path | None,
        typer.Option(help="DuckDB store instead of the embedded sample.", callback=store_callback),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Write P&L by scenario, group and sector as JSON.",
            callback=output_callback,
        ),
    ] = None,
) -> None:
    """P&L of the index and your portfolio under shocks and historical replays."""
    from rich.console import Console

    from counterweight.data.files import atomic_write_json
    from counterweight.data.holdings import load_holdings
    from counterweight.rebalance.targets import load_weights, policy_target
    from counterweight.risk.stress import stress

    market = _market(store)
    check_as_of(market, as_of)
    portfolios: dict[str, pd.Series] = {"index": market.cap_weights(as_of)}
    if holdings is not None:
        from counterweight.rebalance import last_prices
        from counterweight.rebalance.engine import holdings_weights

        book = load_holdings(holdings)
        w, value = holdings_weights(book, last_prices(market.prices_frame(), as_of))
        total = w.mul(value, axis=0).sum() / float(value.sum())
        portfolios["holdings"] = total[total != 0]
    if policy is not None:
        portfolios["policy"] = policy_target(policy, market, as_of)[0]
    if weights is not None:
        portfolios[weights.stem] = load_weights(weights)
    specs = list(scenario) if scenario else list(DEFAULT_SCENARIOS)
    hist = list(historical) if historical is not None else list(DEFAULT_HISTORICAL)
    scen, notes = _scenarios(market, specs, hist, each, as_of, window, store is None)
    results = [stress(sc, portfolios, securities=market.securities) for sc in scen]
    console = Console()
    names = list(portfolios)
    _stress_table(console, results, names)
    for n in notes:
        console.print(f"[dim]note: {escape(str(n))}[/dim]")
    if json_out is not None:
        atomic_write_json(
            json_out,
            {
                r.scenario.name: {
                    "detail": r.scenario.detail,
                    "total": r.total.to_dict(),
                    "by_group": r.by_group.to_dict(orient="index"),
                    "by_sector": r.by_sector.to_dict(orient="index"),
                }
                for r in results
            },
        )


def register(app: typer.Typer) -> None:
    """Add ``rebalance`` and ``stress`` to the app."""
    app.command("rebalance")(rebalance_cmd)
    app.command("stress")(stress_cmd)
