"""The best move toward a target within a turnover limit, keeping cash on target (exact, vectorised).

All quantities are fractions of account value, one row per account, one column per ticker.
Given the desired trades ``d = target - current`` (already edited for restricted names, see
:mod:`counterweight.rebalance.engine`), the trades ``x`` solve

    minimise    sum_i (x_i - d_i)^2                  (distance of the result to the target)
    subject to  1/2 sum_i |x_i| <= tau               (one-way turnover limit)
                sum_i x_i = n*                       (net flow: cash moves to its target
                                                      as far as the limits allow)
                x_i between 0 and d_i                (no wrong-way trade)

Cash comes first: the net flow n* deploys the cash above the buffer (or raises the shortfall)
as far as the wanted buys / sells and the turnover allow, so a turnover limit never leaves the
account holding idle cash. Within that, the solution soft-thresholds each side:
``x_i = max(d_i - theta_buy, 0)`` for buys and ``x_i = -max(|d_i| - theta_sell, 0)`` for
sells. Small trades vanish first and every large trade is cut by the same absolute amount,
which is the least-squares optimum; scaling every trade by ``2 tau / sum|d|``
(:func:`scale_trades`) meets the same limit further from the target and keeps every small
trade. The thresholds come from an exact sort-and-cumulate water-fill, so the turnover equals
its limit to rounding error (about 1e-16 per name).
"""

from __future__ import annotations

import numpy as np


def water_fill(a: np.ndarray, total: np.ndarray | float) -> np.ndarray:
    """Per row, the threshold theta >= 0 with sum_i max(a_i - theta, 0) = total.

    ``a`` (R, N) is non-negative; ``total`` (R,) or scalar. Where ``total >= sum(a)`` theta is
    0; where ``total <= 0`` theta is max(a) (nothing passes). Exact: theta = (c_K - total) / K
    with c_K the sum of the K largest entries, K the number of entries above theta.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    r, n = a.shape
    tot = np.broadcast_to(np.asarray(total, dtype=np.float64), (r,))
    if n == 0:
        return np.zeros(r)
    s = -np.sort(-a, axis=1)  # descending
    cs = np.cumsum(s, axis=1)
    k = np.arange(1, n + 1, dtype=np.float64)
    cand = (cs - tot[:, None]) / k
    valid = s > cand  # true for k = 1..K, false after (s is descending, cand crosses it once)
    kk = valid.sum(axis=1)
    rows = np.arange(r)
    theta = np.where(kk > 0, cand[rows, np.maximum(kk - 1, 0)], s[:, 0])
    theta = np.maximum(theta, 0.0)
    return np.where(tot >= cs[:, -1], 0.0, theta)


def _side(a: np.ndarray, total: np.ndarray) -> np.ndarray:
    """max(a - theta, 0) with theta from :func:`water_fill`."""
    theta = water_fill(a, total)
    out = np.maximum(a - theta[:, None], 0.0)
    # rows that want everything get exactly a (no rounding from theta = 0)
    return np.where((total >= a.sum(axis=1))[:, None], a, out)


def limit_trades(
    desired: np.ndarray,
    turnover: np.ndarray | float = np.inf,
    net: np.ndarray | float | None = None,
) -> np.ndarray:
    """Trades nearest to ``desired`` (R, N) with one-way turnover <= ``turnover`` and net flow
    buys - sells as close to ``net`` as the limits allow (see the module docstring).

    ``net`` (fractions of value): the cash to deploy, cash/V - buffer (negative: cash to
    raise); None means the net flow of ``desired`` itself; -inf means "sell all that is
    wanted" (sell-only). It is clipped to what can be reached,
    n* = clip(net, -min(S, 2 tau), min(B, 2 tau)) with B, S the wanted buys and sells. On the
    line buys - sells = n* the distance falls as buys grow, so buys = min(B, S + n*, tau + n*/2)
    and sells = buys - n*; each side is then cut by its own water-fill threshold.
    """
    d = np.atleast_2d(np.asarray(desired, dtype=np.float64))
    r = d.shape[0]
    tau = np.broadcast_to(np.asarray(turnover, dtype=np.float64), (r,))
    buy = np.maximum(d, 0.0)
    sell = np.maximum(-d, 0.0)
    bmax = buy.sum(axis=1)
    smax = sell.sum(axis=1)
    want = bmax - smax if net is None else np.broadcast_to(np.asarray(net, dtype=np.float64), (r,))
    n = np.clip(want, -np.minimum(smax, 2.0 * tau), np.minimum(bmax, 2.0 * tau))
    beta = np.minimum(np.minimum(bmax, smax + n), tau + n / 2.0)
    beta = np.maximum(beta, np.maximum(n, 0.0))
    sigma = np.clip(beta - n, 0.0, smax)
    return _side(buy, beta) - _side(sell, sigma)


def scale_trades(desired: np.ndarray, turnover: np.ndarray | float) -> np.ndarray:
    """The simple alternative: every trade scaled by min(1, 2 tau / sum|d|) (for comparison)."""
    d = np.atleast_2d(np.asarray(desired, dtype=np.float64))
    total = np.abs(d).sum(axis=1)
    tau = np.broadcast_to(np.asarray(turnover, dtype=np.float64), (d.shape[0],))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(total > 2.0 * tau, 2.0 * tau / total, 1.0)
    return d * f[:, None]


def one_way_turnover(trades: np.ndarray) -> np.ndarray:
    """1/2 sum_i |x_i| per row (fractions of account value)."""
    return 0.5 * np.abs(np.atleast_2d(trades)).sum(axis=1)
