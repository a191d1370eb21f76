"""HTML sections of a rebalance: trades, weights and risk before vs after, stress, compliance.

Formats a :class:`~counterweight.rebalance.review.RebalanceReview`; computes no figure.
"""

from __future__ import annotations

import pandas as pd

from counterweight.rebalance.review import RebalanceReview
from counterweight.report.html import Section
from counterweight.report.rebalance_text import cash_frame, cash_lines

TOP = 25


def _bar_before_after(frame: pd.DataFrame, title: str, ytitle: str) -> object:
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, color in (("before", "#8d99ae"), ("after", "#14213d")):
        if col in frame.columns:
            fig.add_bar(name=col, x=[str(i) for i in frame.index], y=frame[col], marker_color=color)
    fig.update_layout(
        title=title,
        barmode="group",
        yaxis_tickformat=".1%",
        yaxis_title=ytitle,
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 80},
    )
    return fig


def _pct_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Fractions shown as percent strings (the table renderer prints floats as-is)."""
    return frame.map(lambda v: "–" if pd.isna(v) else f"{100 * v:.2f}%")


def rebalance_sections(rev: RebalanceReview) -> list[Section]:
    """Before/after sections for the HTML report (the lead wires them into the main report)."""
    res = rev.result
    s = res.summary
    sections: list[Section] = []
    accounts = s[["value", "trades", "buys", "sells", "cash_after"]].copy()
    for col in ("turnover", "distance_before", "distance_after", "cash_weight_after"):
        accounts[col] = s[col].map(lambda v: f"{100 * v:.2f}%")
    if len(res.cash_parts):
        accounts = accounts.join(cash_frame(res))
    if "dropped_min_trade" in s:
        accounts["trades dropped (min trade)"] = s["dropped_min_trade"]
    summary_intro = (
        f"{len(s)} account(s), {len(res.trades)} trades; buys {s['buys'].sum():,.0f} USD, sells "
        f"{s['sells'].sum():,.0f} USD. Distance = half the sum of |weight - target|. Prices: "
        f"{res.price_source}. " + " ".join(f"{line}." for line in cash_lines(res, 1))
    )
    tables = [("Accounts (USD; percent of account value)", accounts.head(200))]
    if len(res.trades):
        top = res.trades.reindex(
            res.trades["notional"].abs().sort_values(ascending=False).index
        ).head(TOP)
        show = top[["account", "ticker", "side", "shares", "notional"]].copy()
        for c in ("weight_before", "weight_after", "target_weight"):
            show[c] = top[c].map(lambda v: f"{100 * v:.2f}%")
        tables.append((f"Largest {min(TOP, len(top))} trades", show.set_index("account")))
    sections.append(
        Section("Rebalance: trades", summary_intro, tables=tables, anchor="rebalance-trades")
    )

    figures: list[object] = []
    risk_tables: list[tuple[str, pd.DataFrame]] = []
    if rev.risk_before is not None and rev.risk_after is not None:
        groups = pd.DataFrame(
            {"before": rev.risk_before.by_group["share"], "after": rev.risk_after.by_group["share"]}
        )
        figures.append(
            _bar_before_after(groups, "Share of total risk by group", "share of variance")
        )
        sectors = pd.DataFrame(
            {
                "before": rev.risk_before.by_sector["weight"],
                "after": rev.risk_after.by_sector["weight"],
            }
        ).fillna(0.0)
        figures.append(_bar_before_after(sectors, "Sector weights", "weight"))
        change = rev.risk_change.copy()
        risk_tables.append(("Book risk, annual (beta is a ratio)", change))
        rs = pd.DataFrame(
            {
                "before": rev.risk_before.by_sector["share"],
                "after": rev.risk_after.by_sector["share"],
            }
        )
        risk_tables.append(("Share of risk by sector", _pct_frame(rs)))
        sections.append(
            Section(
                "Rebalance: risk before vs after",
                "Ex-ante risk of all accounts together (value-weighted), Ledoit-Wolf covariance of "
                "daily returns, annualised. A group's share of risk is the sum of w_i (Sigma w)_i "
                "over its names divided by w' Sigma w.",
                figures=figures,
                tables=risk_tables,
                anchor="rebalance-risk",
            )
        )
    if rev.stress:
        rows = {
            r.scenario.name: {"before": r.total["before"], "after": r.total["after"]}
            for r in rev.stress
        }
        frame = pd.DataFrame(rows).T
        st_tables = [("Scenario P&L (fraction of value)", _pct_frame(frame))]
        for r in rev.stress:
            g = r.by_group[[c for c in r.by_group.columns if c.endswith("pnl")]]
            st_tables.append((f"{r.scenario.name}: P&L by group", _pct_frame(g)))
        intro = " ".join(f"{r.scenario.name}: {r.scenario.detail}." for r in rev.stress)
        sections.append(
            Section(
                "Rebalance: stress before vs after",
                intro,
                figures=[_bar_before_after(frame, "Scenario P&L", "P&L")],
                tables=st_tables,
                anchor="rebalance-stress",
            )
        )
    if len(rev.compliance):
        bad = rev.violations
        intro = (
            "Every rule passes after the trades."
            if bad.empty
            else f"{len(bad)} rule check(s) fail after the trades; the issuers involved are named."
        )
        sections.append(
            Section(
                "Rebalance: pre-trade compliance",
                intro,
                tables=[("Rule checks", rev.compliance.set_index("account"))],
                anchor="rebalance-compliance",
            )
        )
    if rev.notes:
        sections[0].intro += " Notes: " + "; ".join(rev.notes)
    return sections
