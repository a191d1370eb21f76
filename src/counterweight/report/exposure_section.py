"""Rendering of a look-through exposure report: terminal tables, HTML sections, JSON.

Formats the numbers of an :class:`~counterweight.exposure.analysis.ExposureReport` (and of a
look-through rebalance); computes none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from counterweight.exposure.analysis import ExposureReport
from counterweight.report.formats import num, pct, txt
from counterweight.report.html import Section

if TYPE_CHECKING:
    from counterweight.rebalance.lookthrough import LookThroughRebalance

MAX_SOURCES = 6
LEFT = frozenset({"kind", "looked through", "sector", "limit", "rule", "instrument"})


def _table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", pad_edge=False)
    for i, c in enumerate(columns):
        t.add_column(
            c,
            min_width=10 if i == 0 else None,
            no_wrap=i > 0 and c != "looked through",
            justify="left" if i == 0 or c in LEFT else "right",
            max_width=34 if i == 0 else None,
        )
    return t


def shown_sources(rep: ExposureReport) -> list[str]:
    """The sources with the most weight (direct and funds), at most :data:`MAX_SOURCES`."""
    w = rep.funds.groupby(rep.funds["kind"].where(rep.funds["kind"] != "stock", "direct"))[
        "weight"
    ].sum()
    fund_w = rep.funds.loc[rep.funds["kind"].isin(["fund"]), "weight"]
    order = [*fund_w.sort_values(ascending=False).index.astype(str)]
    if "direct" in w.index and "direct" in rep.sources:
        order.insert(0, "direct")
    return [s for s in order if s in rep.sources][:MAX_SOURCES]


def funds_table(rep: ExposureReport) -> Table:
    t = _table(
        f"What is held on {rep.as_of.date()} (book {num(rep.total, 0)} USD)",
        "instrument",
        "kind",
        "weight",
        "looked through",
    )
    for inst, r in rep.funds.iterrows():
        how = r["description"] if r["kind"] in ("fund", "opaque") else ""
        t.add_row(str(inst), str(r["kind"]), pct(r["weight"], 2), how)
    return t


def top_table(rep: ExposureReport) -> Table:
    src = shown_sources(rep)
    t = _table(
        "Top 10 issuers, looked through (share of the book, by source)",
        "issuer",
        "sector",
        "weight",
        *src,
    )
    for _, r in rep.top10.iterrows():
        t.add_row(
            txt(r["name"]), txt(r["sector"])[:22], pct(r["weight"], 2), *(pct(r[s], 2) for s in src)
        )
    return t


def groups_table(rep: ExposureReport) -> Table:
    src = shown_sources(rep)
    t = _table("Groups, looked through", "group", "weight", *src)
    for g, r in rep.groups.iterrows():
        t.add_row(str(g), pct(r["weight"], 2), *(pct(r[s], 2) for s in src))
    return t


def sectors_table(rep: ExposureReport) -> Table:
    src = shown_sources(rep)
    t = _table("Sectors, looked through", "sector", "weight", "S&P 500", "vs index", *src)
    for s, r in rep.sectors.iterrows():
        diff = r["weight"] - r["S&P 500"] if pd.notna(r["S&P 500"]) else float("nan")
        t.add_row(
            str(s),
            pct(r["weight"], 2),
            pct(r["S&P 500"], 2),
            pct(diff, 2, signed=True),
            *(pct(r[x], 2) for x in src),
        )
    return t


def overlap_table(rep: ExposureReport) -> Table | None:
    if rep.overlap.empty:
        return None
    t = _table("Overlap between funds (sum of min weights)", "funds", "overlap", "common issuers")
    for _, r in rep.overlap.sort_values("overlap", ascending=False).iterrows():
        t.add_row(f"{r['fund_a']} / {r['fund_b']}", pct(r["overlap"], 1), f"{int(r['common']):,}")
    return t


def concentration_table(rep: ExposureReport) -> Table:
    t = _table(
        "Concentration of the looked-through equity, issuer level", "measure", "book", "S&P 500"
    )
    for m, r in rep.concentration.iterrows():
        if m in ("HHI",):
            t.add_row(str(m), num(r["book"], 4), num(r["S&P 500"], 4))
        elif m in ("effective N", "issuers"):
            t.add_row(
                str(m),
                num(r["book"], 1 if m == "effective N" else 0),
                num(r["S&P 500"], 1 if m == "effective N" else 0),
            )
        else:
            t.add_row(str(m), pct(r["book"], 2), pct(r["S&P 500"], 2))
    return t


def checks_table(rep: ExposureReport) -> Table:
    t = _table("Fund rules on the looked-through book", "rule", "result", "value", "limit")
    for c in rep.checks:
        t.add_row(c.name, "pass" if c.passed else "FAIL", pct(c.value, 2), pct(c.limit, 0))
    return t


def render(rep: ExposureReport, console: Console | None = None) -> None:
    """Print every table of the report, then its notes."""
    con = console or Console(width=120)
    for table in (
        funds_table(rep),
        top_table(rep),
        groups_table(rep),
        sectors_table(rep),
        overlap_table(rep),
        concentration_table(rep),
        checks_table(rep),
    ):
        if table is not None:
            con.print(table)
            con.print()
    for c in rep.checks:
        if not c.passed:
            con.print(f"[red]{c.name}[/red]: {c.detail}")
    for n in rep.notes:
        con.print(f"[yellow]note:[/yellow] {n}")


# --------------------------------------------------------------------------- HTML


def _pct_frame(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in cols:
        out[c] = [pct(v, 2) for v in out[c]]
    return out


def sections(rep: ExposureReport) -> list[Section]:
    """HTML sections: holdings and how each fund is looked through, issuers, groups, sectors,
    overlap, concentration, rules, notes (plotly bar of the top 10 split by source)."""
    import plotly.graph_objects as go

    src = shown_sources(rep)
    fig = go.Figure()
    names = [str(n) for n in rep.top10["name"]]
    for s in src:
        fig.add_bar(name=s, x=names, y=[100 * float(v) for v in rep.top10[s]])
    fig.update_layout(barmode="stack", yaxis_title="% of the book", height=380, margin={"t": 30})
    funds = rep.funds[
        ["kind", "weight", "method", "date", "age_days", "description", "source", "price"]
    ]
    top = rep.top10[["name", "sector", "weight", "cumulative", *src]]
    out = [
        Section(
            "What is held",
            f"The book's {len(rep.funds)} instruments on {rep.as_of.date()} ({num(rep.total, 0)} USD) "
            "and how each fund is looked through.",
            tables=[("Instruments", _pct_frame(funds, ["weight"]))],
        ),
        Section(
            "Top 10 issuers, looked through",
            "Share of the whole book held in each issuer through every fund and direct position.",
            figures=[fig],
            tables=[("Top 10", _pct_frame(top, ["weight", "cumulative", *src]))],
        ),
        Section(
            "Every issuer",
            f"The {min(len(rep.issuers), 50)} largest of {len(rep.issuers)} lines (issuers, cash, fund "
            "remainders, opaque funds); the JSON output lists all of them.",
            tables=[
                (
                    "Issuers",
                    _pct_frame(
                        rep.issuers.head(50)[["name", "sector", "kind", "weight", *src]],
                        ["weight", *src],
                    ),
                )
            ],
        ),
        Section(
            "Groups and sectors",
            "Mag 7 and GICS sectors across funds and direct positions, beside the S&P 500.",
            tables=[
                ("Groups", _pct_frame(rep.groups[["weight", *src]], ["weight", *src])),
                (
                    "Sectors",
                    _pct_frame(
                        rep.sectors[["weight", "S&P 500", *src]], ["weight", "S&P 500", *src]
                    ),
                ),
            ],
        ),
        Section(
            "Concentration and rules",
            "Concentration of the looked-through equity beside the S&P 500; RIC and UCITS checks "
            "on issuer weights as shares of the book.",
            tables=[
                ("Concentration", rep.concentration),
                (
                    "Rules",
                    pd.DataFrame(
                        {
                            "result": ["pass" if c.passed else "FAIL" for c in rep.checks],
                            "value": [pct(c.value, 2) for c in rep.checks],
                            "limit": [pct(c.limit, 0) for c in rep.checks],
                            "detail": [c.detail for c in rep.checks],
                        },
                        index=pd.Index([c.name for c in rep.checks], name="rule"),
                    ),
                ),
            ],
        ),
    ]
    if not rep.overlap.empty:
        ov = rep.overlap.set_index(["fund_a", "fund_b"])
        ov.index = pd.Index([f"{a} / {b}" for a, b in ov.index], name="funds")
        out.append(
            Section(
                "Overlap between funds",
                "sum over issuers of min(weight in a, weight in b)",
                tables=[("Overlap", _pct_frame(ov, ["overlap"]))],
            )
        )
    if rep.notes:
        out.append(
            Section(
                "Notes",
                html_blocks=["<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in rep.notes) + "</ul>"],
            )
        )
    return out


def _esc(s: str) -> str:
    import html

    return html.escape(s)


# --------------------------------------------------------------------------- rebalance


def rebalance_table(res: LookThroughRebalance) -> Table:
    t = _table(
        "Trades on the looked-through book",
        "account",
        "instrument",
        "shares",
        "value",
        "before",
        "after",
    )
    for r in res.trades.itertuples(index=False):
        t.add_row(
            str(r.account),
            str(r.ticker),
            num(r.shares, 2),
            num(r.value, 0),
            pct(r.weight_before, 2),
            pct(r.weight_after, 2),
        )
    return t


def rebalance_checks_table(res: LookThroughRebalance) -> Table:
    t = _table(
        "Limits on the looked-through exposure (verified after trading)",
        "account",
        "limit",
        "before",
        "after",
        "bound",
        "result",
    )
    for r in res.checks.itertuples(index=False):
        t.add_row(
            str(r.account),
            str(r.limit),
            pct(r.before, 2),
            pct(r.after, 2),
            pct(r.bound, 2),
            "pass" if r.passed else "FAIL",
        )
    return t


def compliance_table(res: LookThroughRebalance) -> Table:
    t = _table(
        "Fund rules on the looked-through book, before and after",
        "account",
        "rule",
        "before",
        "after",
        "result",
    )
    for r in res.compliance.itertuples(index=False):
        t.add_row(
            str(r.account),
            str(r.rule),
            pct(r.before, 2),
            pct(r.after, 2),
            "pass" if r.passed else "FAIL",
        )
    return t


def render_rebalance(res: LookThroughRebalance, console: Console | None = None) -> None:
    con = console or Console(width=120)
    con.print(rebalance_table(res))
    con.print()
    con.print(rebalance_checks_table(res))
    if len(res.compliance):
        con.print()
        con.print(compliance_table(res))
    for n in res.notes:
        con.print(f"[yellow]note:[/yellow] {n}")


def rebalance_sections(res: LookThroughRebalance) -> list[Section]:
    trades = res.trades.set_index("account")
    checks = res.checks.set_index("account")
    book = res.book.assign(larger=res.book[["before", "after"]].max(axis=1))
    book = book.sort_values("larger", ascending=False).head(15).drop(columns="larger")
    return [
        Section(
            "Rebalance on the looked-through exposure",
            "Trades in the allowed instruments so that the limits hold on the exposure after trading.",
            tables=[
                ("Trades", _pct_frame(trades, ["weight_before", "weight_after"])),
                ("Limits before and after", _pct_frame(checks, ["before", "after", "bound"])),
                (
                    "Fund rules before and after",
                    _pct_frame(res.compliance.set_index("account"), ["before", "after"]),
                ),
                (
                    "Looked-through exposure before and after, all accounts (largest 15)",
                    _pct_frame(book, ["before", "after"]),
                ),
            ],
        )
    ]


def to_payload(rep: ExposureReport, res: LookThroughRebalance | None = None) -> dict[str, Any]:
    out: dict[str, Any] = dict(rep.to_dict())
    if res is not None:
        out["rebalance"] = res.to_dict()
    return out
