"""From trade weights to share counts: sells as fractions of holdings, lots, minimum trade,
a pass that keeps cash at or above its floor, and a last pass that rounds buys up to the
nearest lot with the cash left. Vectorised over (accounts, tickers).

Every step but the last only shrinks a trade toward zero (or drops it); the last adds at most
one lot to a buy whose exact size is at least half a lot above its rounded-down size, within
the cash and turnover left. So no sell exceeds the shares held, the turnover limit holds, and
no trade under the minimum is ever rounded up into one.
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
    """Spend what rounding left by rounding buys up to the nearest lot, never beyond it.

    ``wanted``: the buys before rounding (shares); ``budget`` (A,): USD that may still be
    spent (cash above the floor, and turnover room). A buy is a candidate when its exact size
    meets the minimum (``wanted * price >= min_trade``: a trade under the minimum is dropped,
    never rounded up) and rounding up is rounding to the nearest lot: with
    ``base = trunc(wanted / lot) * lot``, ``wanted - base >= lot / 2``, so the rounded buy
    ``base + lot`` overshoots its exact size by no more than rounding down would fall short.
    Candidates are taken greedily, the largest fraction of a lot first, each when its cost
    ``(base + lot - q) * price`` still fits the account's remaining budget; every buy ends
    within half a lot above its exact size, and cash and turnover stay within their limits.
    """
    if lot <= 0:
        return q
    with np.errstate(invalid="ignore"):
        base = np.trunc(wanted / lot) * lot
        frac = (wanted - base) / lot
        up = base + lot
        cost = (up - q) * prices
        eligible = (
            (wanted > 0)
            & np.isfinite(cost)
            & (wanted * prices >= min_trade)
            & (frac >= 0.5)
            & (q < up)
            & (up * prices >= min_trade)
        )
    n_max = int(eligible.sum(axis=1).max()) if eligible.size else 0
    if n_max == 0:
        return q
    order = np.argsort(np.where(eligible, -frac, 1.0), axis=1, kind="stable")
    rows = np.arange(q.shape[0])
    left = np.asarray(budget, dtype=np.float64).copy()
    out = q.copy()
    for j in range(n_max):  # greedy over the ranked candidates, all accounts at once
        col = order[:, j]
        c = cost[rows, col]
        take = eligible[rows, col] & (c <= left)
        left = np.where(take, left - c, left)
        out[rows[take], col[take]] = up[rows[take], col[take]]
    return out
