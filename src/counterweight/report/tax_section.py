"""Presentation of the tax-aware household rebalance and the multi-year transition: terminal
tables (rich) and HTML sections. Formats finished numbers; computes none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.table import Table

from counterweight.report.formats import num, pct
from counterweight.report.html import Section


def households_table(summary: pd.DataFrame, top: int = 15) -> Table:
    """The households with the most tax first: value, distance before/after, gains, tax,
    what the budget left undone."""
    t = Table(
        title=f"Households (largest estimated tax first; {min(top, len(summary))} of {len(summary)})",
        title_justify="left",
        title_style="bold",
    )
    for col in (
        "household",
        "value",
        "dist before",
        "dist after",
        "ST gain",
        "LT gain",
        "net gain",
        "tax",
        "budget left",
        "sells undone",
    ):
        t.add_column(col, justify="left" if col == "household" else "right", no_wrap=True)
    show = summary.sort_values("estimated_tax", ascending=False).head(top)
    for h, r in show.iterrows():
        t.add_row(
            str(h),
            num(r["value"], 0),
            pct(r["distance_before"], 2),
            pct(r["distance_after"], 2),
            num(r["short_term_gains"] + r["short_term_losses"], 0),
            num(r["long_term_gains"] + r["long_term_losses"], 0),
            num(r["net_gain"], 0),
            num(r["estimated_tax"], 0),
            "no budget"
            if not pd.notna(r["budget_left"]) or r["budget_left"] == float("inf")
            else num(r["budget_left"], 0),
            num(r["sells_undone"], 0),
        )
    return t


def totals_line(summary: pd.DataFrame) -> str:
    """One line of book totals (USD)."""
    if summary.empty:
        return "no household traded"
    return (
        f"{len(summary)} household(s): realised short-term {summary['short_term_gains'].sum() + summary['short_term_losses'].sum():,.0f}, "
        f"long-term {summary['long_term_gains'].sum() + summary['long_term_losses'].sum():,.0f} USD; "
        f"estimated tax {summary['estimated_tax'].sum():,.0f} USD; sells the budget left undone "
        f"{summary['sells_undone'].sum():,.0f} USD; mean distance to target "
        f"{summary['distance_before'].mean():.2%} -> {summary['distance_after'].mean():.2%}"
    )


def lot_trades_table(trades: pd.DataFrame, household: str, top: int = 30) -> Table:
    """One household's trades by lot."""
    t = Table(
        title=f"Trades of household {household} (by lot)", title_justify="left", title_style="bold"
    )
    for col in (
        "account",
        "type",
        "ticker",
        "lot",
        "side",
        "shares",
        "notional",
        "term",
        "gain",
        "tax",
        "reason",
    ):
        t.add_column(
            col,
            justify="right" if col in ("shares", "notional", "gain", "tax") else "left",
            no_wrap=True,
        )
    sub = trades[trades["household"] == household].head(top)
    for r in sub.itertuples(index=False):
        t.add_row(
            str(r.account),
            str(r.account_type),
            str(r.ticker),
            str(r.lot_id),
            str(r.side),
            num(r.shares, 2),
            num(r.notional, 0),
            str(r.term),
            num(r.gain, 0) if r.side == "SELL" else "",
            num(r.tax, 0) if r.side == "SELL" else "",
            str(r.reason),
        )
    return t


def transition_table(tr: Any) -> Table:
    """The year-by-year path of a :class:`~counterweight.rebalance.transition.Transition`."""
    t = Table(
        title=f"Transition to {tr.group} <= {tr.limit:.0%}",
        title_justify="left",
        title_style="bold",
    )
    for col in (
        "year",
        "date",
        f"{tr.group} before",
        f"{tr.group} after",
        "sells",
        "buys",
        "net gain",
        "tax",
    ):
        t.add_column(col, justify="right", no_wrap=True)
    for r in tr.path.itertuples(index=False):
        t.add_row(
            str(r.year),
            str(r.trade_date),
            pct(r.group_weight_before, 2),
            pct(r.group_weight_after, 2),
            num(r.sells, 0),
            num(r.buys, 0),
            num(r.net_gain, 0),
            num(r.estimated_tax, 0),
        )
    return t


def transition_verdict(tr: Any) -> str:
    if tr.reached == 0:
        return f"already at or below {tr.limit:.0%} {tr.group}: nothing to do"
    if tr.reached is None:
        last = tr.path["group_weight_after"].iloc[-1] if len(tr.path) else float("nan")
        return f"{tr.group} still {last:.2%} after {len(tr.path)} year(s): the limit is not reached within the horizon"
    return f"{tr.group} at most {tr.limit:.0%} in year {tr.reached}"


def transition_sections(tr: Any) -> list[Section]:
    """HTML: the group weight after each year against the limit, tax by year, and the table."""
    import plotly.graph_objects as go

    p = tr.path
    fig = go.Figure()
    years = [0, *p["year"].tolist()]
    w = [p["group_weight_before"].iloc[0] if len(p) else None, *p["group_weight_after"].tolist()]
    fig.add_scatter(
        x=years, y=w, mode="lines+markers", name=f"{tr.group} weight", line={"color": "#14213d"}
    )
    fig.add_scatter(
        x=years,
        y=[tr.limit] * len(years),
        mode="lines",
        name="limit",
        line={"dash": "dash", "color": "#c0392b"},
    )
    fig.add_bar(
        x=p["year"],
        y=p["estimated_tax"],
        name="estimated tax (USD)",
        yaxis="y2",
        marker_color="#8d99ae",
        opacity=0.6,
    )
    fig.update_layout(
        title=f"{tr.group} weight after each year",
        xaxis_title="year",
        yaxis={"tickformat": ".0%", "title": "weight"},
        yaxis2={"overlaying": "y", "side": "right", "title": "tax, USD", "showgrid": False},
        height=400,
        margin={"l": 50, "r": 60, "t": 50, "b": 40},
    )
    table = p.copy()
    for c in ("group_weight_before", "group_weight_after", "distance_after"):
        table[c] = table[c].map(lambda v: f"{100 * v:.2f}%")
    for c in ("sells", "buys", "net_gain", "estimated_tax", "budget"):
        table[c] = table[c].map(lambda v: f"{v:,.0f}")
    blocks = ["<ul>" + "".join(f"<li>{_esc(a)}</li>" for a in tr.assumptions) + "</ul>"]
    return [
        Section(
            title=f"Transition to {tr.group} <= {tr.limit:.0%}",
            intro=transition_verdict(tr) + ". Assumptions below.",
            figures=[fig],
            tables=[("Year by year (USD; percent of household value)", table.set_index("year"))],
            html_blocks=blocks,
        )
    ]


def _esc(s: str) -> str:
    import html

    return html.escape(s)


def notes_lines(notes: Sequence[str]) -> list[str]:
    return [f"note: {n}" for n in dict.fromkeys(notes)]
