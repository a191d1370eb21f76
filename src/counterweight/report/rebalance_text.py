"""Text of a rebalance's leftover cash: how much stays in cash and why.

Formats :attr:`counterweight.rebalance.Rebalance.cash_parts` (USD per account and cause, see
:data:`counterweight.rebalance.engine.CASH_PARTS`); computes nothing but sums and shares.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from counterweight.rebalance.engine import Rebalance
from counterweight.report.console import plain

SHOWN_BELOW = 5e-5
"""Causes smaller than this fraction of value (0.005%, 0.01% once rounded) are not listed."""


def _labels(result: Rebalance, dropped: int) -> dict[str, str]:
    r = result.rules
    return {
        "buffer": f"kept as the {r.cash_buffer:.2%} cash buffer",
        "untargeted": "left uninvested by the target (its weights sum to less than 1)",
        "limits": "held back by the turnover limit, restricted names or the trading mode",
        "min_trade": f"in {dropped:,} trade(s) under the {r.min_trade:,.0f} USD minimum "
        "(dropped, never rounded up)",
        "lots": "from whole-share rounding",
        "cash_floor": "from buys trimmed to keep cash at its floor",
    }


def cash_explanation(result: Rebalance, account: str | None = None) -> str:
    """One line: cash after the trades (percent of value and USD) and its causes, largest first.

    ``account`` None: all accounts together (USD summed, shares of the summed value).
    """
    s = result.summary
    parts = result.cash_parts
    if account is None:
        value = float(s["value"].sum())
        cash = float(s["cash_after"].sum())
        usd = parts.sum() if len(parts) else pd.Series(dtype=float)
        dropped = int(s["dropped_min_trade"].sum()) if "dropped_min_trade" in s else 0
        who = "all accounts" if len(s) > 1 else str(s.index[0]) if len(s) else "no account"
    else:
        i = int(s.index.get_indexer(pd.Index([account]))[0])
        value = float(s["value"].to_numpy(dtype=float)[i])
        cash = float(s["cash_after"].to_numpy(dtype=float)[i])
        usd = pd.Series(parts.to_numpy(dtype=float)[i], index=parts.columns)
        dropped = int(s["dropped_min_trade"].to_numpy()[i]) if "dropped_min_trade" in s else 0
        who = account
    if value <= 0:
        return f"{who}: no value, nothing to invest"
    share = usd / value
    shown = share[share.abs() >= SHOWN_BELOW].sort_values(key=lambda v: -v.abs())
    labels = _labels(result, dropped)
    causes = "; ".join(f"{v:+.2%} {labels.get(str(k), str(k))}" for k, v in shown.items())
    head = f"{who}: {cash / value:.2%} of value ({cash:,.0f} USD) left in cash"
    return f"{head}: {causes}" if causes else head


def cash_share(result: Rebalance) -> str:
    """Short form for a summary line: "cash left 27.59% of value" (all accounts together)."""
    value = float(result.summary["value"].sum())
    cash = float(result.summary["cash_after"].sum())
    return f"cash left {cash / value:.2%} of value" if value > 0 else "no value"


def cash_lines(result: Rebalance, max_accounts: int = 5) -> list[str]:
    """The book's line, then one line per account when there are at most ``max_accounts``."""
    accounts = [str(a) for a in result.summary.index]
    if len(accounts) <= 1:
        return [cash_explanation(result, accounts[0] if accounts else None)]
    lines = [cash_explanation(result)]
    if len(accounts) <= max_accounts:
        lines.extend(cash_explanation(result, a) for a in accounts)
    return lines


def print_cash_lines(console: Any, result: Rebalance, max_accounts: int = 5) -> None:
    """Print :func:`cash_lines` on a rich console as plain text (account names as they are)."""
    for line in cash_lines(result, max_accounts):
        console.print(plain(line))


def cash_frame(result: Rebalance) -> pd.DataFrame:
    """accounts x causes, as percent-of-value strings (for the HTML accounts table)."""
    v = result.summary["value"].where(result.summary["value"] > 0)
    share = result.cash_parts.div(v, axis=0)
    return share.map(lambda x: "–" if pd.isna(x) else f"{100 * x:.2f}%").add_prefix("cash: ")
