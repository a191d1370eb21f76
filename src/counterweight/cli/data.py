"""``counterweight data info`` and ``counterweight data import``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from counterweight.cli.progress import progress_reporter
from counterweight.report.console import print_table

if TYPE_CHECKING:
    import pandas as pd

data_app = typer.Typer(
    help="Inspect the data and import your own into the store.", no_args_is_help=True
)


@data_app.command("info")
def info(
    store: Annotated[
        Path | None, typer.Option(help="Read this DuckDB store instead of the embedded sample.")
    ] = None,
    monthly: Annotated[
        bool, typer.Option(help="Describe the embedded month-end panel (2014..2026).")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the coverage as JSON.")
    ] = None,
) -> None:
    """Print coverage: date range, tickers, share of missing values, suspicious prints, sources
    and caveats."""
    import pandas as pd
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from counterweight.data.files import atomic_write_json
    from counterweight.market import Market

    market: Market
    if store is not None:
        from counterweight.data import market_from_store

        market = market_from_store(str(store))
    else:
        from counterweight import load_sample

        market = load_sample("monthly" if monthly else "daily")
    cov = market.coverage()
    console = Console()  # the terminal's width (COLUMNS; 80 when piped)
    table = Table(title=f"{market.provenance.name}", show_header=False)
    table.add_column("what", style="bold", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_row("dates", f"{cov['dates']:,} ({cov['start']} .. {cov['end']})")
    table.add_row("tickers / issuers", f"{cov['tickers']:,} / {cov['issuers']:,}")
    table.add_row("members on the last date", f"{cov['members_last_date']:,}")
    table.add_row(
        "missing prices (member-days)", f"{cov['missing_price_share_of_member_cells']:.2%}"
    )
    table.add_row("missing caps (member-days)", f"{cov['missing_cap_share_of_member_cells']:.2%}")
    table.add_row(
        "estimated caps (member-days)", f"{cov['estimated_cap_share_of_member_cells']:.2%}"
    )
    table.add_row("cap basis / data end", f"{cov['cap_basis']} / {cov['data_end']}")
    table.add_row(
        "members without prices (last date)",
        f"{cov['members_without_price_last_date']:,} (priced share of the index by cap >= "
        f"{cov['min_cap_share_priced']:.1%} on every date)",
    )
    table.add_row("breadth closes", str(cov["breadth_basis"]))
    table.add_row("GICS sectors", str(cov["sectors"]))
    table.add_row("fundamentals rows", f"{cov['fundamentals_rows']:,}")
    if cov["benchmarks"]:
        lo, hi = cov["benchmarks_range"]
        table.add_row(
            "reference ETFs",
            f"{len(cov['benchmarks'])} ({lo} .. {hi}): {' '.join(cov['benchmarks'])}",
        )
    if cov["factors"]:
        lo, hi = cov["factors_range"]
        table.add_row("factors", f"{' '.join(cov['factors'])} ({lo} .. {hi})")
    print_table(console, table, markup=True)
    check = cap_estimate_check(market)
    if not check.empty:
        t2 = Table(title="Cap estimates vs the next snapshot (estimate / reported - 1)")
        for col in (
            "from",
            "to",
            "days",
            "names",
            "median |error|",
            "90th pct |error|",
            "mean error",
        ):
            t2.add_column(col, justify="right")
        for r in check.itertuples(index=False):
            t2.add_row(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                f"{r[4]:.2%}",
                f"{r[5]:.2%}",
                f"{r[6]:+.2%}",
            )
        print_table(console, t2, markup=True)
    flags = _bad_prints(store, market)
    if flags.empty:
        console.print("[bold]Suspicious prints[/bold]: none flagged")
    else:
        shown = flags.head(MAX_FLAGS_SHOWN)
        t3 = Table(
            title=f"Suspicious prints: {len(flags):,} flagged in {flags['ticker'].nunique():,} "
            "ticker(s)" + (f" (first {len(shown)})" if len(flags) > len(shown) else ""),
        )
        for col in ("ticker", "date", "flag", "previous", "price", "next", "move", "action"):
            t3.add_column(col, justify="left" if col in ("ticker", "flag", "action") else "right")
        for r in shown.itertuples(index=False):
            t3.add_row(
                escape(str(r.ticker)),
                str(pd.Timestamp(str(r.date)).date()),
                str(r.flag),
                f"{r.previous:.6g}",
                f"{r.price:.6g}",
                f"{r.next:.6g}",
                f"{r.move:+.1%}",
                str(r.action),
            )
        print_table(console, t3, markup=True)
    checked = print_self_check(console, market)
    console.print("[bold]Sources[/bold]")
    for s in market.provenance.sources:
        console.print(f"  - {s}", highlight=False)
    console.print("[bold]Caveats[/bold]")
    from rich.text import Text

    from counterweight.report.caveats import caveat_lines

    for c in caveat_lines(market.provenance.caveats):  # each once
        console.print(Text(f"  - {c}"))
    if json_out is not None:
        atomic_write_json(
            json_out,
            {
                "coverage": cov,
                "cap_estimate_check": []
                if check.empty
                else check.astype({"from": str, "to": str}).to_dict(orient="records"),
                "provenance": market.provenance.to_dict(),
                "self_check": {k: v.to_dict(orient="index") for k, v in checked.items()},
                "bad_prints": flags.astype({"date": str}).to_dict(orient="records"),
            },
        )


def print_self_check(console: object, market: object) -> dict[str, pd.DataFrame]:
    """Print the member indices against SPY and RSP (see measure.selfcheck); returns the tables."""
    from rich.table import Table

    from counterweight.market import Market
    from counterweight.measure.selfcheck import self_check

    assert isinstance(market, Market)
    check = self_check(market)
    for fund, tab in check.tables.items():
        what = "cap-weighted members" if fund == "SPY" else "issuer-level equal weight"
        t = Table(
            title=f"Self-check: {what} vs {fund} ({check.basis} caps, data to {check.data_end})",
        )
        cols = ["year", "index", fund, "gap after fee", "tracking error", "correlation"]
        if "tracking_error_vs_index" in tab.columns:
            cols.append("TE vs index level")
        for c in cols:
            t.add_column(c, justify="right")
        for label, r in tab.iterrows():
            row = [
                str(label),
                f"{r['index']:+.2%}",
                f"{r['fund']:+.2%}",
                f"{r['gap']:+.2%}",
                f"{r['tracking_error']:.2%}",
                f"{r['correlation']:.4f}",
            ]
            if "tracking_error_vs_index" in tab.columns:
                row.append(f"{r['tracking_error_vs_index']:.2%}")
            t.add_row(*row)
        print_table(console, t)  # type: ignore[arg-type]
    for miss in check.misses():
        console.print(f"  target missed: {miss}", highlight=False)  # type: ignore[attr-defined]
    return check.tables


MAX_FLAGS_SHOWN = 30


def _bad_prints(store: Path | None, market: object) -> pd.DataFrame:
    """Flags recorded in the store at import, else those detected now in the market's prices."""
    from counterweight.data.quality import detect_bad_prints
    from counterweight.data.store import Store
    from counterweight.market import Market

    assert isinstance(market, Market)
    if store is not None:
        with Store(store, read_only=True) as st:
            flags = st.price_flags()
        return flags.drop(columns=["table", "file"])
    found = detect_bad_prints(market.prices_frame())
    return found.assign(action="detected (not imported)")


def cap_estimate_check(market: object) -> pd.DataFrame:
    """Out-of-sample error of the cap estimates between consecutive snapshots (see data.caps)."""
    import pandas as pd

    from counterweight.data.caps import estimate_error
    from counterweight.market import Market

    assert isinstance(market, Market)
    f = market.fundamentals
    if f.empty or "market_cap" not in f.columns:
        return pd.DataFrame()
    return estimate_error(market.prices_frame(), f, min_days=25)


@data_app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet file(s) to import.")],
    kind: Annotated[
        str,
        typer.Option(
            help="prices | benchmarks | caps | securities | membership | fundamentals | factors | float (IWF, index-shares or holdings-with-shares file)",
        ),
    ],
    store: Annotated[
        Path | None,
        typer.Option(
            help="DuckDB store (default: $COUNTERWEIGHT_STORE or ~/.local/share/counterweight/counterweight.duckdb)."
        ),
    ] = None,
    bad_prints: Annotated[
        str,
        typer.Option(
            "--bad-prints",
            help="Suspicious prices (one-day spikes that reverse, split-like jumps): "
            "exclude (store them as missing; the default) or keep.",
        ),
    ] = "exclude",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Validate and import files into the store: all files or none (one transaction), idempotent."""
    from counterweight.data.quality import BAD_PRINT_ACTIONS
    from counterweight.data.store import KINDS, Store, check_store_path, stage_files
    from counterweight.errors import InputError

    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    if bad_prints not in BAD_PRINT_ACTIONS:
        raise InputError(
            f"--bad-prints {bad_prints!r}: expected one of {', '.join(BAD_PRINT_ACTIONS)}"
        )
    check_store_path(store)
    with progress_reporter(len(files), quiet=quiet) as report:
        # every file is read and validated before the store is touched: a bad or missing file
        # creates nothing and changes nothing
        staged = stage_files(
            files,
            kind,
            bad_prints=bad_prints,
            progress=report.step,
            shares_outstanding=lambda: _stored_shares(store),
        )
        with Store(store) as st:
            results = st.write_staged(staged, progress=report.step)
        for result in results:
            report.done(result.summary())
        if not quiet:
            typer.echo(f"store: {st.path}")


def _stored_shares(store: Path | None) -> pd.Series:
    """Shares outstanding per ticker from an existing store (for index-share float files)."""
    from counterweight.data.store import Store, default_store_path

    path = store if store is not None else default_store_path()
    if not Path(path).exists():
        return pd.Series(dtype=float)
    with Store(path, read_only=True) as st:
        return st.shares_outstanding()


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
