"""From trade weights to share counts: sells as fractions of holdings, lots, minimum trade,
and a final pass that keeps cash at or above its floor. Vectorised over (accounts, tickers).

Every step here only shrinks a trade toward zero (or drops it), so turnover after rounding is
never above the turnover before rounding, and no sell exceeds the shares held.
"""

from __future__ import annotations

import numpy as np


def trade_shares(
    trades: np.ndarray,
    weights: np.ndarray,
    shares: np.ndarray,
    prices: np.ndarray,
    value: np.ndarray,
) -> np.ndarray:
    """Share counts of trades given as fractions of account value.

    Sells are a fraction of the position, q = (x / w0) * shares, so selling a whole position
    gives exactly its share count; buys are q = x * value / price.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        sell = np.where(weights > 0, trades / weights, 0.0) * shares
        buy = trades * value[:, None] / prices
    q = np.where(trades < 0, np.maximum(sell, -shares), np.where(trades > 0, buy, 0.0))
    return np.where(np.isfinite(q), q, 0.0)


def round_lots(q: np.ndarray, shares: np.ndarray, lot: float) -> np.ndarray:
    """Round toward zero to multiples of ``lot`` shares (lot <= 0: fractional, unchanged).

    A sell of the whole position is kept whole even if the position is not a lot multiple.
    """
    if lot <= 0:
        return q
    out = np.trunc(q / lot) * lot
    full = (q < 0) & (q == -shares)
    return np.where(full, q, out)


def drop_small(q: np.ndarray, prices: np.ndarray, min_trade: float) -> np.ndarray:
    """Zero every trade whose notional |q * price| is below ``min_trade`` USD."""
    if min_trade <= 0:
        return q
    return np.where(np.abs(q * prices) < min_trade, 0.0, q)


def fit_cash(
    q: np.ndarray, prices: np.ndarray, cash: np.ndarray, floor: np.ndarray, lot: float
) -> np.ndarray:
    """Shrink buys so that cash + sells - buys >= min(floor, cash + sells), never below 0.

    Buys of an account over its allowance are scaled by f = allowance / buys and rounded
    toward zero again, so the allowance holds exactly (rounding only lowers buys).
    """
    notional = q * prices
    buys = np.where(notional > 0, notional, 0.0).sum(axis=1)
    sells = -np.where(notional < 0, notional, 0.0).sum(axis=1)
    allowance = cash + sells - np.minimum(floor, cash + sells)
    over = buys > allowance
    if not np.any(over):
        return q
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(over, np.clip(allowance / buys, 0.0, 1.0), 1.0)
    # a hair under f so that floating rounding of the product can never overshoot
    f = np.where(over, np.nextafter(f * (1.0 - 4 * np.finfo(float).eps), 0.0), 1.0)
    scaled = np.where(q > 0, q * f[:, None], q)
    if lot > 0:
        scaled = np.where(q > 0, np.trunc(scaled / lot) * lot, scaled)
    return np.where(over[:, None], scaled, q)


def top_up(
    q: np.ndarray,
    wanted: np.ndarray,
    prices: np.ndarray,
    budget: np.ndarray,
    lot: float,
    min_trade: float = 0.0,
) -> np.ndarray:
    """Spend what rounding left: add one lot to the buys that lost the most of a lot.

    ``wanted``: the buys before rounding (shares); ``budget`` (A,): USD that may still be
    spent (cash above the floor, and turnover room). Candidates are buys with
    wanted - q > 0, ranked by the fraction of a lot they lost; the longest prefix of that
    ranking whose cumulative cost fits the budget gets +1 lot each. Every buy stays within
    one lot of its wanted size, cash and turnover stay within their limits.
    """
    if lot <= 0:
        return q
    cost = lot * prices
    lost = np.where((wanted > 0) & (wanted - q > 0) & np.isfinite(cost), (wanted - q) / lot, 0.0)
    eligible = (lost > 0) & ((q + lot) * prices >= min_trade)
    score = np.where(eligible, lost, -1.0)
    order = np.argsort(-score, axis=1, kind="stable")
    rows = np.arange(q.shape[0])[:, None]
    ranked_cost = np.where(eligible[rows, order], cost[rows, order], np.inf)
    cum = np.cumsum(ranked_cost, axis=1)
    take_ranked = cum <= budget[:, None]
    take = np.zeros_like(eligible)
    take[rows, order] = take_ranked
    return np.where(take, q + lot, q)
