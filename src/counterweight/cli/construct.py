"""``counterweight construct``: target weights under a policy, with before/after concentration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from counterweight.cli.options import (
    check_as_of,
    date_callback,
    int_callback,
    output_callback,
    store_callback,
)

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console


def _pct(x: float, signed: bool = False) -> str:
    return f"{100 * x:+.2f}%" if signed else f"{100 * x:.2f}%"


def _measure_rows(measures: pd.DataFrame) -> list[tuple[str, ...]]:
    labels = {
        "top1": "largest issuer",
        "top5": "top 5 issuers",
        "top10": "top 10 issuers",
        "hhi": "HHI",
        "effective_n": "effective N (issuers)",
        "n_names": "issuers held",
    }
    rows = []
    for key, row in measures.iterrows():
        label = labels.get(str(key), f"{key} share")
        if key in ("effective_n", "n_names"):
            fmt = [f"{row['benchmark']:.1f}", f"{row['target']:.1f}", f"{row['change']:+.1f}"]
            if key == "n_names":
                fmt = [f"{row['benchmark']:.0f}", f"{row['target']:.0f}", f"{row['change']:+.0f}"]
        elif key == "hhi":
            fmt = [f"{row['benchmark']:.4f}", f"{row['target']:.4f}", f"{row['change']:+.4f}"]
        else:
            fmt = [_pct(row["benchmark"]), _pct(row["target"]), _pct(row["change"], True)]
        rows.append((label, *fmt))
    return rows


def _render(console: Console, construction, prof, quiet: bool) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from counterweight.report.console import print_table

    c = construction
    w = c.weights
    console.print(
        f"[bold]{escape(str(c.policy))}[/bold]  as of {c.as_of.date()}  ·  {len(w)} names  ·  "
        f"path: {escape(str(c.path))}  ·  sum {w.sum():.12f}"
    )
    for note in c.notes:
        console.print(f"  note: {escape(str(note))}")
    if not quiet:
        t = Table(title="Concentration (issuer level)")
        t.add_column("measure")
        for col in ("benchmark (cap)", "target", "change"):
            t.add_column(col, justify="right")
        for row in _measure_rows(prof.measures):
            t.add_row(*(escape(cell) for cell in row))
        print_table(console, t, markup=True)
        s = Table(title="Sectors")
        s.add_column("sector")
        for col in ("benchmark", "target", "change"):
            s.add_column(col, justify="right")
        for name, row in prof.sectors.iterrows():
            s.add_row(
                escape(str(name)),
                _pct(row["benchmark"]),
                _pct(row["target"]),
                _pct(row["change"], True),
            )
        print_table(console, s, markup=True)
        h = Table(title=f"Largest {len(prof.holdings)} target weights")
        h.add_column("ticker")
        h.add_column("name", max_width=28, overflow="ellipsis", no_wrap=True)
        h.add_column("sector", max_width=22, overflow="ellipsis", no_wrap=True)
        for col in ("benchmark", "base", "target"):
            h.add_column(col, justify="right")
        for tk, row in prof.holdings.iterrows():
            h.add_row(
                escape(str(tk)),
                escape(str(row["name"])),
                escape(str(row["sector"])),
                _pct(row["benchmark"]),
                _pct(row["base"]),
                _pct(row["target"]),
            )
        print_table(console, h, markup=True)
    if c.checks:
        r = Table(title="Rule checks")
        r.add_column("rule", max_width=40)
        r.add_column("result", justify="center")
        r.add_column("detail", overflow="fold")
        for chk in c.checks:
            r.add_row(
                escape(str(chk.name)),
                "[green]pass[/green]" if chk.passed else "[red]FAIL[/red]",
                escape(str(chk.detail)),
            )
        print_table(console, r, markup=True)


def register(app: typer.Typer) -> None:
    """Add ``construct`` to the app."""

    @app.command("construct")
    def construct_cmd(
        policy: Annotated[Path, typer.Option("--policy", "-p", help="Construction policy (TOML).")],
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="Date YYYY-MM-DD within the data (default: the last date with data).",
                callback=date_callback,
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out", "-o", help="Write target weights CSV here.", callback=output_callback
            ),
        ] = None,
        store: Annotated[
            Path | None,
            typer.Option(
                help="DuckDB store instead of the embedded sample.", callback=store_callback
            ),
        ] = None,
        top: Annotated[
            int,
            typer.Option(
                "--top", help="Largest weights to list (1..1000).", callback=int_callback(1, 1000)
            ),
        ] = 15,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Only the summary and rule checks.")
        ] = False,
    ) -> None:
        """Target weights under a policy, with before/after concentration and rule checks."""
        from rich.console import Console

        from counterweight.construct.policy import load_policy, profile
        from counterweight.data.files import atomic_write_csv

        pol = load_policy(policy)
        if store is not None:
            from counterweight.data import market_from_store

            market = market_from_store(str(store))
        else:
            from counterweight import load_sample

            market = load_sample()
        check_as_of(market, as_of)
        construction = pol.construct(market, as_of)
        prof = profile(construction, market, top=top)
        console = Console()  # the terminal's width (COLUMNS; 80 when piped)
        _render(console, construction, prof, quiet)
        if out is not None:
            frame = construction.weights.rename("weight").to_frame()
            atomic_write_csv(out, frame, index=True)
            console.print(f"wrote {len(frame)} weights to {escape(str(out))}", highlight=False)
        if any(not chk.passed for chk in construction.checks):
            raise typer.Exit(code=1)
