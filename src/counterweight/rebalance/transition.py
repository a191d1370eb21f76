"""Multi-year transition: how fast a household reaches a group limit ("Mag 7 at most 20%")
under a yearly realised-gain budget.

Year k (k = 1, 2, ...) on trade date start + (k - 1) years: the household is rebalanced by
:func:`~counterweight.rebalance.households.rebalance_households` toward the target with that
year's budget (nothing realised yet that year); sold lots shrink, bought shares become new lots
(basis = price, acquired = the trade date), cash moves; then prices drift one year at the given
annual returns (default none: **no price change**). The plan stops in the first year whose
group weight after trading is at or below the limit, or after ``max_years``, or when a year
trades nothing. Lots held over a year turn long-term between years, which the next year's lot
order sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from counterweight.data.lots import Accounts, Lots
from counterweight.errors import InputError
from counterweight.market import normalize_ticker
from counterweight.rebalance.engine import TradeRules
from counterweight.rebalance.households import rebalance_households
from counterweight.rebalance.tax import TaxSettings


@dataclass(frozen=True)
class Transition:
    """``path``: one row per year (year, trade_date, group_weight_before / after, distance
    after, sells, buys, net gain, estimated tax, budget); ``trades``: every year's lot trades
    with a ``year`` column; ``reached``: the first year at or below the limit (None: not within
    the horizon); ``assumptions``: lines to print beside the table."""

    path: pd.DataFrame
    trades: pd.DataFrame
    reached: int | None
    limit: float
    group: str
    assumptions: tuple[str, ...]


def _weight(lf: pd.DataFrame, cash: float, members: set[str], px: pd.Series) -> float:
    mv = lf["shares"] * lf["ticker"].map(px)
    total = float(mv.sum()) + cash
    return float(mv[lf["ticker"].isin(members)].sum() / total) if total > 0 else 0.0


def plan_transition(
    lots: Lots,
    accounts: Accounts,
    target: pd.Series,
    *,
    household: str,
    group: Iterable[str],
    limit: float,
    budget: float,
    prices: pd.Series,
    settings: TaxSettings,
    rules: TradeRules | None = None,
    returns: pd.Series | float | None = None,
    start: str | pd.Timestamp | None = None,
    max_years: int = 10,
    group_name: str = "Mag 7",
) -> Transition:
    """Year-by-year path of one household (see the module docstring). ``budget``: realised
    gain allowed each year (USD); ``returns``: annual price return per ticker (or one number
    for all; None: no price change)."""
    if not 0 < limit <= 1:
        raise InputError(f"the group limit must be a fraction in (0, 1], got {limit}")
    if budget < 0:
        raise InputError(f"the yearly gain budget must be >= 0 USD, got {budget}")
    table = accounts.table[accounts.table["household"] == household]
    if table.empty:
        raise InputError(
            f"no household '{household}' in the accounts file", file=accounts.source or None
        )
    members = {normalize_ticker(t) for t in group}
    lf = lots.lots[lots.lots["account"].isin(table.index)].copy()
    cash = table["cash"].add(lots.cash.reindex(table.index).fillna(0.0), fill_value=0.0)
    px = prices.rename(index=normalize_ticker).astype(float).copy()
    own = lf.dropna(subset=["price"]).groupby("ticker")["price"].first()
    px = own.combine_first(px)
    lf["price"] = np.nan
    day = pd.Timestamp(start or settings.trade_date or pd.Timestamp.today().normalize())
    if returns is None:
        growth = pd.Series(0.0, index=px.index)
        ret_line = "no price change between years"
    elif isinstance(returns, (int, float)):
        growth = pd.Series(float(returns), index=px.index)
        ret_line = f"prices drift {float(returns):+.1%} a year, every name"
    else:
        growth = returns.rename(index=normalize_ticker).reindex(px.index).fillna(0.0)
        ret_line = "prices drift at the given annual returns: " + ", ".join(
            f"{k} {v:+.1%}" for k, v in returns.items()
        )
    rows, all_trades = [], []
    reached: int | None = None
    base = settings.model_copy(update={"gain_budget": budget, "realised": 0.0, "households": {}})
    for year in range(1, max_years + 1):
        total_cash = float(cash.sum())
        before = _weight(lf, total_cash, members, px)
        if before <= limit + 1e-12 and year == 1:
            reached = 0
            break
        res = rebalance_households(
            Lots(lots=lf, cash=pd.Series(dtype=float), source=lots.source),
            Accounts(
                table=table.assign(cash=cash.reindex(table.index).to_numpy()),
                source=accounts.source,
            ),
            target,
            prices=px,
            rules=rules,
            settings=base,
            trade_date=day,
        )
        t = res.trades.assign(year=year, trade_date=day)
        all_trades.append(t)
        # apply: sold lots shrink, buys become lots, cash moves
        sold = t[t["side"] == "SELL"].set_index(["account", "ticker", "lot_id"])["shares"]
        key = pd.MultiIndex.from_frame(lf[["account", "ticker", "lot_id"]])
        lf["shares"] = lf["shares"].to_numpy() + sold.reindex(key).fillna(0.0).to_numpy()
        buys = t[t["side"] == "BUY"]
        new = pd.DataFrame(
            {
                "account": buys["account"].to_numpy(),
                "ticker": buys["ticker"].to_numpy(),
                "lot_id": [
                    f"y{year}-{a}-{tk}"
                    for a, tk in zip(buys["account"], buys["ticker"], strict=True)
                ],
                "shares": buys["shares"].to_numpy(),
                "basis": buys["price"].to_numpy(),
                "acquired": np.datetime64(day, "ns"),
                "price": np.nan,
            }
        )
        lf = pd.concat([lf[lf["shares"] > 1e-12], new], ignore_index=True)
        flow = t.groupby("account")["notional"].sum()
        cash = cash.sub(flow.reindex(cash.index).fillna(0.0))
        s = res.summary.iloc[0] if len(res.summary) else None
        after = _weight(lf, float(cash.sum()), members, px)
        rows.append(
            {
                "year": year,
                "trade_date": day.date(),
                "group_weight_before": before,
                "group_weight_after": after,
                "distance_after": float(s["distance_after"]) if s is not None else np.nan,
                "sells": float(-t.loc[t["side"] == "SELL", "notional"].sum()),
                "buys": float(t.loc[t["side"] == "BUY", "notional"].sum()),
                "net_gain": float(s["net_gain"]) if s is not None else 0.0,
                "estimated_tax": float(s["estimated_tax"]) if s is not None else 0.0,
                "budget": budget,
            }
        )
        if after <= limit + 1e-12:
            reached = year
            break
        if t.empty:
            break
        px = px * (1.0 + growth.reindex(px.index).fillna(0.0))
        day = day + pd.DateOffset(years=1)
    assumptions = (
        ret_line,
        f"gain budget {budget:,.0f} USD a year, nothing realised yet in any year",
        f"tax rates short {settings.short_term_rate:.1%}, long {settings.long_term_rate:.1%}, "
        f"state {settings.state_rate:.1%}; lot order {settings.lot_order}",
        "no dividends, deposits or withdrawals; cash earns nothing",
        f"stops at {group_name} <= {limit:.1%} of household value, or after {max_years} years",
    )
    trades = pd.concat(all_trades, ignore_index=True) if all_trades else pd.DataFrame()
    return Transition(
        path=pd.DataFrame(rows),
        trades=trades,
        reached=reached,
        limit=limit,
        group=group_name,
        assumptions=assumptions,
    )
