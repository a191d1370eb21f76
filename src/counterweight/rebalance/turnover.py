"""The best move toward a target within a turnover limit and a cash floor (exact, vectorised).

All quantities are fractions of account value, one row per account, one column per ticker.
Given the desired trades ``d = target - current`` (already edited for restricted names, see
:mod:`counterweight.rebalance.engine`), find trades ``x`` that solve

    minimise    sum_i (x_i - d_i)^2                  (distance of the result to the target)
    subject to  1/2 sum_i |x_i| <= tau               (one-way turnover limit)
                sum_i x_i <= room                    (buys - sells <= cash - buffer)
                x_i between 0 and d_i                (no wrong-way trade)

The solution soft-thresholds each side: ``x_i = max(d_i - theta_buy, 0)`` for buys and
``x_i = -max(|d_i| - theta_sell, 0)`` for sells. Small trades vanish first and every large
trade is cut by the same absolute amount, which is the least-squares optimum; scaling every
trade by ``2 tau / sum|d|`` (:func:`scale_trades`) meets the same limit further from the
target. The thresholds come from an exact sort-and-cumulate water-fill, so the turnover equals
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
    room: np.ndarray | float = np.inf,
) -> np.ndarray:
    """Trades nearest to ``desired`` (R, N) with one-way turnover <= ``turnover`` and
    buys - sells <= ``room`` (see the module docstring). Returns x (R, N), fractions.

    ``room`` is the account's cash less its buffer, as a fraction of its value; it may be
    negative (cash below the buffer: sells must exceed buys). If the buffer cannot be reached
    by selling what ``desired`` allows within the turnover limit, every allowed sell is made
    and no buy (the cash floor is then the best reachable, never below current cash).
    """
    d = np.atleast_2d(np.asarray(desired, dtype=np.float64))
    r = d.shape[0]
    tau = np.broadcast_to(np.asarray(turnover, dtype=np.float64), (r,))
    room_ = np.broadcast_to(np.asarray(room, dtype=np.float64), (r,))
    buy = np.maximum(d, 0.0)
    sell = np.maximum(-d, 0.0)
    bmax = buy.sum(axis=1)
    smax = sell.sum(axis=1)
    two_tau = 2.0 * tau
    # the most cash that can be raised is min(smax, 2 tau): a room below -that is unreachable
    room_eff = np.maximum(room_, -np.minimum(smax, two_tau))

    # case 1: nothing binds
    beta = bmax.copy()
    sigma = smax.copy()
    turn_ok = bmax + smax <= two_tau
    cash_ok = bmax - smax <= room_eff
    done = turn_ok & cash_ok

    # case 2: only the cash floor binds: sell everything wanted, buy what the cash allows
    c2 = ~done & ~cash_ok & (room_eff + 2.0 * smax <= two_tau)
    beta = np.where(c2, np.minimum(room_eff + smax, bmax), beta)
    done |= c2

    # case 3: only the turnover limit binds: one common threshold on |d|
    x3 = None
    if np.any(~done & ~turn_ok):
        absd = np.abs(d)
        cut = _side(absd, np.where(np.isfinite(two_tau), two_tau, absd.sum(axis=1)))
        x3 = np.sign(d) * cut
        b3 = np.maximum(x3, 0.0).sum(axis=1)
        s3 = np.maximum(-x3, 0.0).sum(axis=1)
        c3 = ~done & ~turn_ok & (b3 - s3 <= room_eff)
    else:
        c3 = np.zeros(r, dtype=bool)

    # case 4: both bind: buys = tau + room/2, sells = tau - room/2
    c4 = ~done & ~c3
    with np.errstate(invalid="ignore"):  # inf - inf on rows that are not in case 4
        beta = np.where(c4, np.clip(tau + room_eff / 2.0, 0.0, bmax), beta)
        sigma = np.where(c4, np.clip(tau - room_eff / 2.0, 0.0, smax), sigma)

    x = _side(buy, beta) - _side(sell, sigma)
    if x3 is not None and np.any(c3):
        x[c3] = x3[c3]
    return x


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
