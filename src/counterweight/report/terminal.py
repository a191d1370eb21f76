"""Terminal rendering of the main report: rich tables that fit the terminal's width.

Formats the numbers of a :class:`~counterweight.report.main_report.MainReport`; computes none.
Width: the console's own (rich's default: the terminal's width, or ``COLUMNS``; 80 when output
is not a terminal); tables go through :func:`~counterweight.report.console.print_table`, so no
number is cut and no text is read as rich markup.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from counterweight.report.caveats import caveat_lines, unique_lines
from counterweight.report.console import LABEL_MIN, fit_table, plain, print_table
from counterweight.report.formats import num, pct, txt
from counterweight.report.main_report import MainReport
from counterweight.report.valuation_section import terminal_tables

__all__ = ["LABEL_MIN", "fit_table", "num", "pct", "print_table", "render", "txt"]


MEASURE_LABELS = {
    "top1": "Top 1 share",
    "top5": "Top 5 share",
    "top10": "Top 10 share",
    "hhi": "HHI",
    "effective_n": "Effective N",
    "IT + Comm": "IT + Comm. Services",
}


def _table(title: str, *columns: str, first_width: int | None = None) -> Table:
    t = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        width=None,
        min_width=min(len(title), 60),
        pad_edge=False,
    )
    for i, c in enumerate(columns):
        if i == 0:
            t.add_column(c, no_wrap=True, max_width=first_width)
        else:
            t.add_column(c, justify="right", no_wrap=True)
    return t


def concentration_table(rep: MainReport, long_run: bool = False) -> Table | None:
    s = rep.long_run_summary if long_run else rep.concentration_summary
    if s is None:
        return None
    since = s["since"].iloc[0] if len(s) else ""
    title = (
        f"Long-run context: {rep.long_run_label} since {since}, last reading {s['date'].iloc[0]}"
        if long_run
        else f"Concentration on {rep.as_of.date()} vs history since {since} ({rep.level} level)"
    )
    t = _table(
        title,
        "measure",
        "today",
        "average",
        "percentile",
        "min",
        "max",
        "max on",
    )
    for name, row in s.iterrows():
        label = MEASURE_LABELS.get(str(name), f"{name} share")
        if name == "effective_n":
            vals = [
                num(row["current"]),
                num(row["average"]),
                pct(row["percentile"], 0),
                num(row["min"]),
                num(row["max"]),
            ]
        elif name == "hhi":
            vals = [
                num(row["current"] * 1e4, 0),
                num(row["average"] * 1e4, 0),
                pct(row["percentile"], 0),
                num(row["min"] * 1e4, 0),
                num(row["max"] * 1e4, 0),
            ]
            label = "HHI (x 10,000)"
        else:
            vals = [
                pct(row["current"]),
                pct(row["average"]),
                pct(row["percentile"], 0),
                pct(row["min"]),
                pct(row["max"]),
            ]
        t.add_row(label, *vals, str(row["max_date"]))
    return t


def holdings_table(rep: MainReport) -> Table:
    t = _table(
        f"Largest {len(rep.top_holdings)} on {rep.as_of.date()}",
        "name",
        "tickers",
        "sector",
        "weight",
        "cumulative",
        first_width=28,
    )
    t.columns[1].justify = "left"
    t.columns[2].justify = "left"
    t.columns[2].max_width = 24
    for _, row in rep.top_holdings.iterrows():
        t.add_row(
            str(row["name"]),
            str(row["tickers"]),
            txt(row["sector"]),
            pct(row["weight"], 2),
            pct(row["cumulative"]),
        )
    return t


def returns_table(rep: MainReport) -> Table:
    cols = [
        ("Index (cap)", "index"),
        ("Index (equal)", "index EW"),
        ("Mag 7 (cap)", "Mag 7"),
        ("Mag 7 (equal)", "Mag 7 EW"),
        ("Rest (cap)", "rest"),
        ("Rest (equal)", "rest EW"),
        ("SPY (ETF)", "SPY"),
        ("RSP (ETF)", "RSP"),
    ]
    cols = [(c, lbl) for c, lbl in cols if c in rep.returns.columns]
    t = _table(
        "Returns: members cap- and equal-weighted, Mag 7 vs the rest, ETFs",
        "window",
        "from",
        *[lbl for _, lbl in cols],
    )
    for label, row in rep.returns.iterrows():
        t.add_row(str(label), str(row["start"]), *[pct(row[c], 1, signed=True) for c, _ in cols])
    return t


def custom_groups_table(rep: MainReport) -> Table | None:
    names = [g for g in rep.groups if g != "Mag 7"]
    if not names:
        return None
    t = _table(
        "Custom baskets (cap / equal weighted within the basket)",
        "window",
        *[f"{g} {w}" for g in names for w in ("cap", "EW")],
    )
    for label, row in rep.returns.iterrows():
        t.add_row(
            str(label),
            *[pct(row.get(f"{g} ({w})"), 1, True) for g in names for w in ("cap", "equal")],
        )
    return t


def breadth_table(rep: MainReport) -> Table:
    t = _table(
        "Inside the groups (issuer level): names up, beating the index, spread",
        "group",
        "window",
        "up",
        "beat idx",
        "best",
        "worst",
        "spread",
        "disp.",
        first_width=10,
    )
    for b in rep.breadth:
        t.add_row(
            b.group,
            b.window.label,
            f"{b.n_up}/{b.n_names}",
            f"{b.n_beat_index}/{b.n_names}",
            f"{b.best[:14]} {pct(b.best_return, 0, True)}",
            f"{b.worst[:14]} {pct(b.worst_return, 0, True)}",
            pct(b.spread, 0),
            pct(b.dispersion, 1),
        )
    return t


def contributions_tables(rep: MainReport) -> list[Table]:
    w = rep.contribution_window
    head = f"Contributions to the index return {pct(rep.contribution_total, 2, True)} ({w.label}: {w.start.date()} to {w.end.date()})"
    t = _table(head, "name", "sector", "contribution", "share of return", first_width=34)
    t.columns[1].justify = "left"
    for _, row in rep.contributions_top.iterrows():
        t.add_row(
            str(row["name"]),
            txt(row["sector"]),
            pct(row["contribution"], 2, True),
            pct(row["share_of_return"], 0),
        )
    total = pct(rep.contribution_total, 2, True)
    out = [t]
    for title, first, series in (
        ("By group: Mag 7 + rest sum to the index return", "group", rep.contributions_groups),
        ("By sector: sectors sum to the index return", "sector", rep.contributions_sectors),
    ):
        g = _table(title, first, "contribution")
        for name, v in series.items():
            g.add_row(str(name), pct(v, 2, True))
        g.add_section()
        g.add_row("index return", total)
        out.append(g)
    if len(rep.contributions_custom):
        c = _table(
            "Custom groups (may overlap: not additive)",
            "group",
            "contribution",
        )
        for name, v in rep.contributions_custom.items():
            c.add_row(str(name), pct(v, 2, True))
        out.append(c)
    return out


def pairs_table(rep: MainReport) -> Table:
    labels = [w.label for w in rep.windows]
    t = _table(
        "Equal vs cap weight, size and style (return differences)",
        "comparison",
        *labels,
        first_width=34,
    )
    for col in rep.equal_vs_cap.columns:
        t.add_row(str(col), *[pct(rep.equal_vs_cap.loc[lbl, col], 1, True) for lbl in labels])
    if not rep.size_style.empty:
        t.add_section()
        for name, row in rep.size_style.iterrows():
            t.add_row(str(name), *[pct(row.get(lbl), 1, True) for lbl in labels])
    return t


def sectors_table(rep: MainReport) -> Table | None:
    if rep.sector_summary.empty:
        return None
    w = rep.contribution_window
    t = _table(
        f"Sectors: weight today vs history; {w.label} returns",
        "sector",
        "weight",
        "avg",
        "pctile",
        "members",
        "EW",
        "SPDR",
        "EW ETF",
        first_width=24,
    )
    sr = rep.sector_returns
    for name, row in rep.sector_summary.iterrows():
        r = sr.loc[str(name)] if name in sr.index else pd.Series(dtype=object)
        t.add_row(
            str(name),
            pct(row["current"]),
            pct(row["average"]),
            pct(row["percentile"], 0),
            pct(r.get("members (cap)"), 1, True),
            pct(r.get("members (equal)"), 1, True),
            pct(r.get("sector ETF"), 1, True),
            pct(r.get("equal-weight ETF"), 1, True),
        )
    return t


def valuation_table(rep: MainReport) -> Table | None:
    v = rep.valuation
    if v is None:
        return None
    date = "" if rep.valuation_date is None else rep.valuation_date.date()
    t = _table(
        f"Valuation on the {date} snapshot: aggregate P/E = total cap / total earnings",
        "basket",
        "P/E",
        "earn. yield",
        "cap $bn",
        "names",
        "lacking data",
        first_width=24,
    )
    for name, row in v.iterrows():
        t.add_row(
            str(name),
            num(row["pe"]),
            pct(row["earnings_yield"], 2),
            num(row["market_cap"] / 1e9, 0),
            str(int(row["n_names"])),
            str(int(row["n_missing"])),
        )
    return t


def render(rep: MainReport, console: Console | None = None) -> None:
    """Print the whole report (width: the console's; a new console takes the terminal's)."""
    con = console or Console()
    con.print(plain(rep.title, style="bold"))
    con.print(
        plain(
            f"{rep.provenance.name}: {rep.start.date()} to {rep.as_of.date()}, "
            f"{int(rep.concentration.measures['n_names'].iloc[-1])} names on the last date "
            f"({rep.level} level)"
        )
    )
    end = rep.provenance.data_end
    con.print(
        plain(
            f"weights from {rep.provenance.cap_basis_label}; data end "
            f"{'unknown' if end is None else end.date()}"
        )
    )
    tables: list[Table | None] = [
        concentration_table(rep),
        concentration_table(rep, long_run=True),
        holdings_table(rep),
        returns_table(rep),
        custom_groups_table(rep),
        breadth_table(rep),
        *contributions_tables(rep),
        pairs_table(rep),
        sectors_table(rep),
        valuation_table(rep),
        *terminal_tables(rep.valuation_overview, rep.as_of, rep.valuation_date),
    ]
    for t in tables:
        if t is not None:
            con.print()
            print_table(con, t)
    notes = [*rep.skipped_windows, *rep.notes]
    if notes:
        con.print()
        con.print(Text("Notes", style="bold"))
        for n in unique_lines(notes):
            con.print(plain(f"  - {n}"))
    con.print()
    con.print(Text("Data caveats", style="bold"))
    for c in caveat_lines(rep.provenance.caveats):
        con.print(plain(f"  - {c}"))
