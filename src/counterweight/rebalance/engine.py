"""Holdings + target weights -> one trade list per account, all accounts at once.

Pipeline per account (vectorised over accounts as rows of (A, U) arrays):

1. value V = sum(shares * price) + cash; current weights w0 = shares * price / V.
2. target t scaled to sum to min(sum(target), 1 - cash_buffer) (the buffer stays in cash).
3. desired trades d = t - w0, edited for restrictions: no-buy names keep only sells
   (d = min(d, 0)), no-sell names only buys, held names none; sell-only / buy-only apply the
   same edit to every name.
4. :func:`~counterweight.rebalance.turnover.limit_trades`: cash moves to the buffer as far
   as the limits allow (sell-only: every wanted sell), then the trades nearest to d with
   one-way turnover <= limit.
5. shares (sells as fractions of the position), minimum trade (a trade under it is dropped),
   lots (toward zero), minimum trade again, then buys shrunk so cash never falls below
   min(buffer, cash + sells) >= 0, then the cash rounding left rounds buys up to their nearest
   lot (never beyond it, never a trade under the minimum; within cash and turnover).

The cash left is split exactly into its causes (:data:`CASH_PARTS`, USD per account): the
buffer, the part of the account the target leaves uninvested, the limits (turnover,
restrictions, names without a price), trades dropped under the minimum, whole-share rounding
and buys trimmed to keep cash at its floor; the parts sum to the cash after the trades.

Prices are the holdings file's price column where given, else the market's last total-return
price (an adjusted close: for a recent as-of date it equals the traded price up to later
dividends; say so when it is used).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from counterweight.data.holdings import Holdings
from counterweight.errors import ConfigError, DataUnavailableError, InputError
from counterweight.market import normalize_ticker
from counterweight.rebalance.lots import drop_small, fit_cash, round_lots, top_up, trade_shares
from counterweight.rebalance.turnover import limit_trades

Mode = Literal["both", "sell_only", "buy_only"]

CASH_PARTS = ("buffer", "untargeted", "limits", "min_trade", "lots", "cash_floor")
"""Causes of the cash left after the trades (columns of :attr:`TradeArrays.cash_parts`), USD:

* ``buffer``: the cash buffer, buffer x value;
* ``untargeted``: what a target summing to less than 1 - buffer leaves in cash;
* ``limits``: cash the turnover limit, restricted or unpriced names and the mode (sell-only)
  keep (or, when negative, the cash they prevent raising), in the exact (fractional) solution;
* ``min_trade``: the exact trades dropped for being under the minimum (before or after
  rounding down), net (dropped buys leave cash, dropped sells keep it invested);
* ``lots``: whole-share rounding of the trades kept (rounding down leaves cash, rounding up
  to the nearest lot spends it);
* ``cash_floor``: buys trimmed so that cash stays at or above its floor.

Name by name against the exact trades: a dropped trade counts whole under ``min_trade``; a
kept trade's trim under ``cash_floor`` and the rest of its gap under ``lots``.
"""


@dataclass(frozen=True)
class TradeRules:
    """Constraints on the trades (fractions of account value unless named USD).

    ``turnover``: one-way turnover limit 1/2 sum|trade| / value (None: no limit).
    ``min_trade``: smallest trade in USD. ``lot``: shares per lot (1 whole shares, 0 fractional).
    ``cash_buffer``: cash kept, fraction of value. ``no_buy`` / ``no_sell`` / ``hold``:
    restricted tickers. ``mode``: "both", "sell_only" or "buy_only".
    """

    turnover: float | None = None
    min_trade: float = 0.0
    lot: float = 1.0
    cash_buffer: float = 0.0
    no_buy: frozenset[str] = field(default_factory=frozenset)
    no_sell: frozenset[str] = field(default_factory=frozenset)
    hold: frozenset[str] = field(default_factory=frozenset)
    mode: Mode = "both"

    def __post_init__(self) -> None:
        if self.turnover is not None and not (self.turnover >= 0):
            raise ConfigError(f"turnover must be >= 0, got {self.turnover}")
        if not (self.min_trade >= 0):
            raise ConfigError(f"min_trade must be >= 0 USD, got {self.min_trade}")
        if not (self.lot >= 0):
            raise ConfigError(f"lot must be >= 0 shares, got {self.lot}")
        if not (0 <= self.cash_buffer < 1):
            raise ConfigError(f"cash_buffer must be a fraction in [0, 1), got {self.cash_buffer}")
        if self.mode not in ("both", "sell_only", "buy_only"):
            raise ConfigError(f"mode must be both, sell_only or buy_only, got {self.mode}")
        for name in ("no_buy", "no_sell", "hold"):
            object.__setattr__(
                self, name, frozenset(normalize_ticker(t) for t in getattr(self, name))
            )

    def allowed(self, tickers: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """(can_buy, can_sell) boolean masks over ``tickers``."""
        ts = list(tickers)
        can_buy = np.array([t not in self.no_buy and t not in self.hold for t in ts], dtype=bool)
        can_sell = np.array([t not in self.no_sell and t not in self.hold for t in ts], dtype=bool)
        if self.mode == "sell_only":
            can_buy[:] = False
        elif self.mode == "buy_only":
            can_sell[:] = False
        return can_buy, can_sell


@dataclass(frozen=True)
class TradeArrays:
    """Result of :func:`rebalance_arrays`; all (A, U) unless noted, USD or fractions of value."""

    shares: np.ndarray  # traded shares, + buy / - sell
    notional: np.ndarray  # shares * price, USD
    weights_before: np.ndarray
    weights_after: np.ndarray
    target: np.ndarray  # scaled target weights
    value: np.ndarray  # (A,) account value USD
    cash_before: np.ndarray  # (A,) USD
    cash_after: np.ndarray  # (A,) USD
    turnover_limited: np.ndarray  # (A,) one-way turnover of the continuous solution
    cash_parts: np.ndarray  # (A, len(CASH_PARTS)) causes of cash_after, USD; rows sum to it
    dropped: np.ndarray  # (A,) wanted trades dropped under the minimum trade


def rebalance_arrays(
    shares: np.ndarray,
    prices: np.ndarray,
    cash: np.ndarray,
    target: np.ndarray,
    *,
    turnover: float | None = None,
    min_trade: float = 0.0,
    lot: float = 1.0,
    cash_buffer: float = 0.0,
    can_buy: np.ndarray | None = None,
    can_sell: np.ndarray | None = None,
    sell_only: bool = False,
) -> TradeArrays:
    """The kernel: ``shares`` (A, U) held, ``prices`` (A, U) or (U,) USD, ``cash`` (A,) USD,
    ``target`` (A, U) or (U,) weights (fractions of value, summing to <= 1).

    ``can_buy`` / ``can_sell`` (U,) or (A, U) masks encode restricted lists and modes;
    ``sell_only`` makes every wanted sell (within the turnover) instead of aiming cash at the
    buffer. ``lot`` in shares (0: fractional); ``min_trade`` in USD.
    """
    q0 = np.asarray(shares, dtype=np.float64)
    a, u = q0.shape
    px = np.broadcast_to(np.asarray(prices, dtype=np.float64), (a, u))
    c0 = np.asarray(cash, dtype=np.float64)
    tgt = np.broadcast_to(np.asarray(target, dtype=np.float64), (a, u))
    mv = np.where(q0 != 0, q0 * px, 0.0)
    value = mv.sum(axis=1) + c0
    safe_v = np.where(value > 0, value, 1.0)
    w0 = mv / safe_v[:, None]
    tsum = tgt.sum(axis=1)
    invest = np.minimum(tsum, 1.0 - cash_buffer)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(tsum[:, None] > 0, tgt * (invest / tsum)[:, None], 0.0)
    d = t - w0
    if can_buy is not None:
        d = np.where(can_buy, d, np.minimum(d, 0.0))
    if can_sell is not None:
        d = np.where(can_sell, d, np.maximum(d, 0.0))
    d = np.where(np.isfinite(px) & (value[:, None] > 0), d, 0.0)
    net = c0 / safe_v - cash_buffer
    if sell_only:
        net = np.full(a, -np.inf)
    tau = np.inf if turnover is None else float(turnover)
    x = limit_trades(d, tau, net)
    q_exact = trade_shares(x, w0, q0, px, safe_v)
    wanted = np.where(q_exact > 0, q_exact, 0.0)

    def usd(qq: np.ndarray) -> np.ndarray:
        return np.where(qq != 0, qq * px, 0.0)

    q1 = drop_small(q_exact, px, min_trade)
    q2 = round_lots(q1, q0, lot)
    q3 = drop_small(q2, px, min_trade)
    q4 = drop_small(fit_cash(q3, px, c0, cash_buffer * value, lot), px, min_trade)
    q = q4
    if lot > 0:  # spend what rounding left: buys up to their nearest lot, never beyond
        q = top_up(
            q, wanted, px, _spare(q, px, c0, cash_buffer * value, tau, value), lot, min_trade
        )
    notional = usd(q)
    cash_after = c0 - notional.sum(axis=1)
    # causes of the cash left, name by name against the exact (fractional) trades
    under = ((q_exact != 0) & (q1 == 0)) | ((q2 != 0) & (q3 == 0))
    dropped_mask = under & (q == 0)
    exact_usd = usd(q_exact)
    c_exact = c0 - exact_usd.sum(axis=1)
    live = value > 0
    buffer_usd = np.where(live, cash_buffer * value, 0.0)
    untargeted = np.where(live, (1.0 - cash_buffer - invest) * value, 0.0)
    min_part = np.where(dropped_mask, exact_usd, 0.0).sum(axis=1)
    floor_part = np.where(dropped_mask, 0.0, usd(q3) - usd(q4)).sum(axis=1)
    parts = np.column_stack(
        [
            buffer_usd,
            untargeted,
            c_exact - buffer_usd - untargeted,
            min_part,
            cash_after - c_exact - min_part - floor_part,
            floor_part,
        ]
    )
    dropped = dropped_mask.sum(axis=1)
    w1 = (mv + notional) / safe_v[:, None]
    return TradeArrays(
        shares=q,
        notional=notional,
        weights_before=w0,
        weights_after=w1,
        target=t,
        value=value,
        cash_before=c0,
        cash_after=cash_after,
        turnover_limited=0.5 * np.abs(x).sum(axis=1),
        cash_parts=parts,
        dropped=np.asarray(dropped),
    )


def _spare(
    q: np.ndarray,
    px: np.ndarray,
    cash: np.ndarray,
    floor: np.ndarray,
    tau: float,
    value: np.ndarray,
) -> np.ndarray:
    """USD that may still be bought: cash above its floor, and turnover room 2 tau V - sum|n|."""
    n = np.where(q != 0, q * px, 0.0)
    cash_after = cash - n.sum(axis=1)
    spare_cash = cash_after - np.maximum(np.minimum(floor, cash_after), 0.0)
    spare_turn = 2.0 * tau * value - np.abs(n).sum(axis=1)
    # a hair of slack against floating error in the sums
    out = np.minimum(spare_cash, spare_turn) * (1.0 - 1e-12)
    return np.maximum(out, 0.0)


@dataclass(frozen=True)
class Rebalance:
    """Trades of every account, with weights before and after and an account summary.

    ``trades``: long frame (account, ticker, side, shares, price, notional, weight_before,
    weight_after, target_weight), only non-zero trades. ``summary``: one row per account.
    ``weights_before`` / ``weights_after`` / ``target``: accounts x tickers (cash excluded).
    ``cash_parts``: accounts x :data:`CASH_PARTS`, the causes of the cash left (USD; each row
    sums to ``summary["cash_after"]``).
    """

    trades: pd.DataFrame
    summary: pd.DataFrame
    weights_before: pd.DataFrame
    weights_after: pd.DataFrame
    target: pd.DataFrame
    prices: pd.Series
    rules: TradeRules
    price_source: str = ""
    notes: tuple[str, ...] = ()
    cash_parts: pd.DataFrame = field(default_factory=pd.DataFrame)

    def for_account(self, account: str) -> pd.DataFrame:
        """The trade list of one account."""
        if account not in self.summary.index:
            raise InputError(f"no account '{account}' in the holdings")
        return self.trades[self.trades["account"] == account].reset_index(drop=True)

    def trade_lists(self) -> dict[str, pd.DataFrame]:
        """One trade list per account (accounts without trades get an empty frame)."""
        return {str(a): self.for_account(str(a)) for a in self.summary.index}


def _price_table(
    holdings: Holdings, tickers: pd.Index, prices: pd.Series | None
) -> tuple[np.ndarray, str]:
    """(A, U) prices: the file's price per (account, ticker), else the given price per ticker."""
    pos = holdings.positions
    accounts = holdings.accounts
    base = (
        pd.Series(np.nan, index=tickers)
        if prices is None
        else prices.reindex(tickers).astype(float)
    )
    # a file price of a ticker serves every account that lacks its own
    file_px = pos.dropna(subset=["price"]).groupby("ticker")["price"].first().reindex(tickers)
    implied = pos[pos["price"].isna() & pos["shares"].gt(0) & pos["market_value"].notna()]
    implied_px = (implied["market_value"] / implied["shares"]).groupby(implied["ticker"]).first()
    per_ticker = file_px.fillna(base).fillna(implied_px.reindex(tickers))
    table = np.broadcast_to(per_ticker.to_numpy(dtype=float), (len(accounts), len(tickers))).copy()
    own = pos.dropna(subset=["price"])
    if len(own):
        ai = accounts.get_indexer(pd.Index(own["account"]))
        ti = tickers.get_indexer(pd.Index(own["ticker"]))
        table[ai, ti] = own["price"].to_numpy(dtype=float)
    used = []
    if pos["price"].notna().any():
        used.append("the holdings file's price column")
    if prices is not None:
        used.append("the market's last total-return price (an adjusted close)")
    return table, " and ".join(used) or "holdings market values"


def _normalised(prices: pd.Series | None) -> pd.Series | None:
    if prices is None:
        return None
    out = prices.copy()
    out.index = pd.Index([normalize_ticker(t) for t in prices.index])
    return out


def _book(
    holdings: Holdings, tickers: pd.Index, prices: pd.Series | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """(shares (A, U), prices (A, U), price source) of the holdings on ``tickers``."""
    pos = holdings.positions
    accounts = holdings.accounts
    px, source = _price_table(holdings, tickers, _normalised(prices))
    ai = accounts.get_indexer(pd.Index(pos["account"]))
    ti = tickers.get_indexer(pd.Index(pos["ticker"]))
    q0 = np.zeros((len(accounts), len(tickers)))
    sh = pos["shares"].to_numpy(dtype=float)
    mv = pos["market_value"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sh = np.where(np.isfinite(sh), sh, mv / px[ai, ti])
    held_no_px = ~np.isfinite(sh) | (~np.isfinite(px[ai, ti]) & (sh > 0))
    if held_no_px.any():
        bad = sorted(set(pos["ticker"][held_no_px]))
        raise InputError(
            f"no price for held {', '.join(bad[:10])}: add a price column or use a market that has "
            "them (a book of funds rebalances on its looked-through exposure with "
            "`counterweight exposure FILE --rebalance POLICY.toml`)",
            file=holdings.source or None,
        )
    np.add.at(q0, (ai, ti), sh)
    return q0, px, source


def holdings_weights(
    holdings: Holdings, prices: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """(weights accounts x tickers, account values USD): w = shares * price / (sum + cash)."""
    tickers = pd.Index(sorted(set(holdings.positions["ticker"].unique().tolist())), name="ticker")
    q0, px, _ = _book(holdings, tickers, prices)
    mv = np.where(q0 != 0, q0 * px, 0.0)
    value = mv.sum(axis=1) + holdings.cash.to_numpy(dtype=float)
    idx = pd.Index(holdings.accounts.astype(str), name="account")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(value[:, None] > 0, mv / value[:, None], 0.0)
    return pd.DataFrame(w, index=idx, columns=tickers), pd.Series(value, index=idx, name="value")


def rebalance(
    holdings: Holdings,
    target: pd.Series,
    *,
    prices: pd.Series | None = None,
    rules: TradeRules | None = None,
) -> Rebalance:
    """Trade lists moving every account of ``holdings`` toward ``target`` under ``rules``.

    ``target``: weights by ticker (fractions; summing to <= 1, the rest stays in cash).
    ``prices``: USD per share by ticker (e.g. :func:`last_prices` of a Market); the holdings
    file's own price column takes precedence.
    """
    rules = rules or TradeRules()
    tgt = target.copy()
    tgt.index = pd.Index([normalize_ticker(t) for t in tgt.index])
    tgt = tgt.groupby(level=0).sum()
    if (tgt < 0).any():
        neg = ", ".join(tgt.index[tgt < 0][:5])
        raise InputError(f"negative target weights are not supported ({neg})")
    if tgt.sum() > 1 + 1e-9:
        raise InputError(f"target weights sum to {tgt.sum():.6f} > 1")
    tickers = pd.Index(
        sorted(set(holdings.positions["ticker"].unique().tolist()) | set(tgt.index[tgt > 0])),
        name="ticker",
    )
    accounts = holdings.accounts
    q0, px, source = _book(holdings, tickers, prices)
    a = len(accounts)
    t_vec = tgt.reindex(tickers).fillna(0.0).to_numpy(dtype=float)
    missing = [
        t
        for t, v, p in zip(tickers, t_vec, px[0] if a else [], strict=False)
        if v > 0 and not np.isfinite(p)
    ]
    if missing:
        raise DataUnavailableError(
            f"no price for target names {', '.join(missing[:10])}: cannot size buys"
        )
    can_buy, can_sell = rules.allowed(tickers)
    res = rebalance_arrays(
        q0,
        px,
        holdings.cash.to_numpy(dtype=float),
        t_vec,
        turnover=rules.turnover,
        min_trade=rules.min_trade,
        lot=rules.lot,
        cash_buffer=rules.cash_buffer,
        can_buy=can_buy,
        can_sell=can_sell,
        sell_only=rules.mode == "sell_only",
    )
    return _package(res, accounts, tickers, px, rules, source)


def _package(
    res: TradeArrays,
    accounts: pd.Index,
    tickers: pd.Index,
    px: np.ndarray,
    rules: TradeRules,
    source: str,
) -> Rebalance:
    ai, ti = np.nonzero(res.shares)
    q = res.shares[ai, ti]
    trades = pd.DataFrame(
        {
            "account": accounts[ai].astype(str),
            "ticker": tickers[ti].astype(str),
            "side": np.where(q > 0, "BUY", "SELL"),
            "shares": q,
            "price": px[ai, ti],
            "notional": res.notional[ai, ti],
            "weight_before": res.weights_before[ai, ti],
            "weight_after": res.weights_after[ai, ti],
            "target_weight": res.target[ai, ti],
        }
    )
    buys = np.where(res.notional > 0, res.notional, 0.0).sum(axis=1)
    sells = np.where(res.notional < 0, -res.notional, 0.0).sum(axis=1)
    safe_v = np.where(res.value > 0, res.value, np.nan)
    summary = pd.DataFrame(
        {
            "value": res.value,
            "cash_before": res.cash_before,
            "cash_after": res.cash_after,
            "buys": buys,
            "sells": sells,
            "turnover": 0.5 * (buys + sells) / safe_v,
            "trades": (res.shares != 0).sum(axis=1),
            "distance_before": 0.5 * np.abs(res.weights_before - res.target).sum(axis=1),
            "distance_after": 0.5 * np.abs(res.weights_after - res.target).sum(axis=1),
            "cash_weight_after": res.cash_after / safe_v,
            "buffer_met": res.cash_after >= rules.cash_buffer * res.value - 1e-6,
            "dropped_min_trade": res.dropped,
        },
        index=pd.Index(accounts.astype(str), name="account"),
    )
    idx = pd.Index(accounts.astype(str), name="account")
    return Rebalance(
        trades=trades,
        summary=summary,
        weights_before=pd.DataFrame(res.weights_before, index=idx, columns=tickers),
        weights_after=pd.DataFrame(res.weights_after, index=idx, columns=tickers),
        target=pd.DataFrame(res.target, index=idx, columns=tickers),
        prices=pd.Series(px[0] if len(accounts) else np.full(len(tickers), np.nan), index=tickers),
        rules=rules,
        price_source=source,
        cash_parts=pd.DataFrame(res.cash_parts, index=idx, columns=pd.Index(CASH_PARTS)),
    )


def last_prices(prices: pd.DataFrame, as_of: object = None) -> pd.Series:
    """Last finite price of each column on or before ``as_of`` (a wide date x ticker frame)."""
    frame = prices if as_of is None else prices.loc[: pd.Timestamp(str(as_of))]
    return frame.ffill().iloc[-1].dropna() if len(frame) else pd.Series(dtype=float)
