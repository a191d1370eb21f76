"""Dispersion and correlation of index members: is the market one trade or many?

Cross-sectional dispersion over a window of ``w`` sessions on date ``t``: the population
standard deviation across members of their ``w``-session returns ``P_ti / P_{t-w,i} - 1``
(``w = 1`` is the daily cross-sectional spread). Members need both prices.

Average pairwise correlation over the trailing window ``W_t = {t-w+1..t}``, without forming the
N x N matrix. For each eligible stock standardise its window returns with the window's mean and
population standard deviation, ``z_si = (r_si - m_i) / s_i``, so ``corr_ij = (1/w) sum_s
z_si z_sj``. Summing over all ordered pairs (i, j), diagonal included:

    sum_ij corr_ij = (1/w) sum_s (sum_i z_si)^2 = var_s(A_s),   A_s = sum_i r_si / s_i,

because ``sum_i z_si = A_s - mean_s(A)`` (the population variance over the window's ``w``
dates). The diagonal contributes ``N``, so the mean off-diagonal correlation is

    rho_bar_t = (var_s(A_s) - N) / (N (N - 1)),

equivalently ``(N^2 var(mean_i z) - N) / (N (N - 1))``. Eligible on ``t``: a member on ``t``
with all ``w`` returns in the window finite and a positive variance; ``N >= 2`` is needed.

Cost: the per-stock window moments come from cumulative sums (O(T N)); the window sums
``A_s(t)`` are a banded product of the return panel with the (T, N) matrix of ``1 / s_i(t)``,
done as one BLAS matrix product per block of end dates, O(T N w) flops in total and O(B N)
memory. Returns are centred per stock on a median return first, which leaves every correlation
unchanged, and window sums are block-local (see :func:`~counterweight.measure.breadth.trailing_sum`) so that rounding stays
local to each window.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from counterweight.market import Market
from counterweight.measure.breadth import HAVE_NUMBA, njit_optional, trailing_sum

MIN_VARIANCE = 1e-14
"""Window return variances at or below this (returns as fractions) count as constant prices,
for which correlation is undefined: such stocks are left out."""


def cross_sectional_dispersion(
    prices: np.ndarray, members: np.ndarray, window: int = 1
) -> np.ndarray:
    """Population std across members of ``window``-session returns on each date (T,).

    NaN for the first ``window`` dates and where fewer than 2 members have both prices.
    """
    p = np.asarray(prices, dtype=np.float64)
    t_len = p.shape[0]
    out = np.full(t_len, np.nan)
    if t_len <= window:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        r = p[window:] / p[:-window] - 1.0
    ok = np.isfinite(r) & np.asarray(members, dtype=bool)[window:]
    n = ok.sum(axis=1)
    x = np.where(ok, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / np.maximum(n, 1)
        dev = np.where(ok, r - mean[:, None], 0.0)
        var = (dev * dev).sum(axis=1) / np.maximum(n, 1)
    out[window:] = np.where(n >= 2, np.sqrt(var), np.nan)
    return out


def _centred(returns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, valid, centre): returns minus a typical return of each column, NaN as 0.

    Any constant leaves variances and correlations unchanged; one near the typical return keeps
    ``E[x^2] - E[x]^2`` free of cancellation. The centre is the median of the column's finite
    returns on at most ~256 evenly spaced rows (cheap, and blind to bad prints).
    """
    r = np.asarray(returns, dtype=np.float64)
    valid = np.isfinite(r)
    step = max(1, r.shape[0] // 256)
    sub = r[::step]
    centre = np.zeros(r.shape[1])
    has = np.isfinite(sub).any(axis=0)
    if has.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre[has] = np.nanmedian(
                np.where(np.isfinite(sub[:, has]), sub[:, has], np.nan), axis=0
            )
    return np.where(valid, r - centre, 0.0), valid, centre


def window_moments(returns: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stock trailing-window (count of finite returns, mean, population variance), (T, N).

    Computed from block-local window sums of returns centred on a median return of each stock.
    Rows before ``window - 1`` hold partial windows (their count is below ``window``).
    """
    x, valid, centre = _centred(returns)
    n = trailing_sum(valid.astype(np.int64), window)
    s1 = trailing_sum(x, window)
    s2 = trailing_sum(x * x, window)
    m = s1 / np.maximum(n, 1)
    var = np.maximum(s2 / np.maximum(n, 1) - m * m, 0.0)
    return n, m + centre, var


@njit_optional
def _inv_sd_loop(
    r: np.ndarray, centre: np.ndarray, members: np.ndarray, window: int, min_var: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass: centred returns ``x`` (NaN as 0), ``1 / s_i(t)`` (0 where not eligible) and
    the eligible count per date.

    Window sums are running sums (add row ``t``, drop row ``t - w``) recomputed exactly from
    the window's rows every ``w`` rows, so rounding (a bad print of +60,000 %) never leaks
    further than two windows, as with the block-local sums of :func:`~counterweight.measure.breadth.trailing_sum`.
    """
    t_len, n = r.shape
    x = np.empty((t_len, n))
    ok = np.empty((t_len, n), np.bool_)
    inv = np.empty((t_len, n))
    counts = np.zeros(t_len, np.int64)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    sn = np.zeros(n, np.int64)
    for t in range(t_len):
        for i in range(n):
            v = r[t, i]
            good = v == v and abs(v) != np.inf
            ok[t, i] = good
            x[t, i] = v - centre[i] if good else 0.0
        if t >= window and t % window == 0:
            s1[:] = 0.0
            s2[:] = 0.0
            sn[:] = 0
            for u in range(t - window + 1, t + 1):
                for i in range(n):
                    xv = x[u, i]
                    s1[i] += xv
                    s2[i] += xv * xv
                    sn[i] += ok[u, i]
        else:
            for i in range(n):
                xv = x[t, i]
                s1[i] += xv
                s2[i] += xv * xv
                sn[i] += ok[t, i]
            if t >= window:
                for i in range(n):
                    xo = x[t - window, i]
                    s1[i] -= xo
                    s2[i] -= xo * xo
                    sn[i] -= ok[t - window, i]
        c = 0
        for i in range(n):
            iv = 0.0
            if t >= window - 1 and sn[i] == window and members[t, i]:
                m = s1[i] / window
                var = s2[i] / window - m * m
                if var > min_var:
                    iv = 1.0 / np.sqrt(var)
                    c += 1
            inv[t, i] = iv
        counts[t] = c
    return x, inv, counts


def _banded_average(
    x: np.ndarray, inv_sd: np.ndarray, counts: np.ndarray, window: int, b: int, out: np.ndarray
) -> None:
    """Fill ``out[t] = (var_s A_s(t) - N_t) / (N_t (N_t - 1))`` block by block of end dates."""
    t_len = x.shape[0]
    w_idx = np.arange(window)
    for lo in range(window - 1, t_len, b):
        hi = min(lo + b, t_len)
        k = hi - lo
        # rows lo-w+1 .. hi-1 against the end dates lo .. hi-1: M[s, j] = sum_i x_si / s_i(lo+j)
        m = x[lo - window + 1 : hi] @ inv_sd[lo:hi].T
        band = m[w_idx[:, None] + np.arange(k)[None, :], np.arange(k)[None, :]]  # (w, k)
        v = band.var(axis=0)
        nn = counts[lo:hi].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:hi] = np.where(nn >= 2, (v - nn) / (nn * (nn - 1.0)), np.nan)


def average_correlation(
    returns: np.ndarray,
    members: np.ndarray,
    window: int,
    *,
    block: int | None = None,
    use_numba: bool | None = None,
    blas_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rolling average pairwise correlation and the number of stocks it covers, each (T,).

    See the module docstring for the identity. NaN where fewer than 2 stocks are eligible or
    before the first full window. ``block``: end dates per matrix product (default
    ``max(window, 64)``); ``blas_threads``: cap BLAS threads for the products (each is small,
    about ``2 (block + window) block N`` flops, so on a busy machine 1 thread can be faster);
    ``use_numba``: force the compiled or the numpy path (default: numba when installed).
    """
    if window < 2:
        raise ValueError("window must be >= 2 sessions")
    r = np.asarray(returns, dtype=np.float64)
    t_len, n_cols = r.shape
    out = np.full(t_len, np.nan)
    counts = np.zeros(t_len, dtype=np.int64)
    if t_len < window or n_cols == 0:
        return out, counts
    mem = np.ascontiguousarray(members, dtype=np.bool_)
    if HAVE_NUMBA if use_numba is None else use_numba:
        _, _, centre = _centred(r[:: max(1, t_len // 256)])
        x, inv_sd, counts = _inv_sd_loop(
            np.ascontiguousarray(r), centre, mem, int(window), MIN_VARIANCE
        )
    else:
        n, _, var = window_moments(r, window)
        elig = (n == window) & (var > MIN_VARIANCE) & mem
        elig[: window - 1] = False
        counts = elig.sum(axis=1)
        with np.errstate(divide="ignore"):
            inv_sd = np.where(elig, 1.0 / np.sqrt(np.where(elig, var, 1.0)), 0.0)
        x, _, _ = _centred(r)  # invalid cells only ever meet zero weights
    b = max(int(block or max(window, 64)), 1)
    if blas_threads is None:
        _banded_average(x, inv_sd, counts, window, b, out)
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=blas_threads, user_api="blas"):
            _banded_average(x, inv_sd, counts, window, b, out)
    return out, counts


def dispersion_history(
    market: Market,
    *,
    correlation_windows: tuple[int, ...] = (21, 63),
    dispersion_windows: tuple[int, ...] = (1, 21),
) -> pd.DataFrame:
    """Labelled history: ``dispersion_<w>d``, ``avg_corr_<w>d`` (with ``n_corr_<w>d``) and the
    volatility-weighted ``avg_corr_vw_<w>d``.

    Dispersion columns are population standard deviations of member returns (fractions),
    correlations are the mean off-diagonal pairwise correlation of members' daily returns.
    """
    cols: dict[str, np.ndarray] = {}
    for w in dispersion_windows:
        cols[f"dispersion_{w}d"] = cross_sectional_dispersion(market.prices, market.members, w)
    for w in correlation_windows:
        rho, cnt = average_correlation(market.returns, market.members, w)
        cols[f"avg_corr_{w}d"] = rho
        cols[f"n_corr_{w}d"] = cnt.astype(np.float64)
        cols[f"avg_corr_vw_{w}d"], _ = average_correlation_vw(market.returns, market.members, w)
    frame = pd.DataFrame(cols, index=market.dates)
    frame.columns.name = "dispersion"
    return frame


# --------------------------------------------------------------------------- one-pass variant
#
# The volatility-weighted average correlation (the definition behind index "implied" and
# "realised" correlation measures) needs no per-window standardisation, so it streams the panel
# once. For the eligible set E_t (as above) with window standard deviations s_i and the equal-
# weight basket's window variance var(U), U_s = sum_{i in E_t} r_si:
#
#     var(U) = sum_i s_i^2 + sum_{i != j} s_i s_j rho_ij
#     rho_vw = sum_{i != j} s_i s_j rho_ij / sum_{i != j} s_i s_j
#            = (var(U) - sum_i s_i^2) / ((sum_i s_i)^2 - sum_i s_i^2)
#
# Every pair is weighted by s_i s_j; with equal volatilities it is the plain mean of the
# off-diagonal correlations. Cost per date: O(N) for the rolling moments and the new basket
# return, plus O(w) per stock entering or leaving E (the basket's past window returns are
# adjusted rather than recomputed), and O(w) for var(U).


@njit_optional
def _vw_corr_loop(
    r: np.ndarray, mem: np.ndarray, window: int, min_var: float
) -> tuple[np.ndarray, np.ndarray]:
    t_len, n = r.shape
    out = np.full(t_len, np.nan)
    counts = np.zeros(t_len, dtype=np.int64)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    cnt = np.zeros(n, dtype=np.int64)
    prev = np.zeros(n, dtype=np.bool_)
    u = np.zeros(t_len)
    inv_w = 1.0 / window
    for t in range(t_len):
        if t >= window and t % window == 0:
            # restart the rolling moments from the window's rows: rounding stays local
            s1[:] = 0.0
            s2[:] = 0.0
            cnt[:] = 0
            for s in range(t - window + 1, t):
                for i in range(n):
                    x = r[s, i]
                    if x - x == 0.0:
                        s1[i] += x
                        s2[i] += x * x
                        cnt[i] += 1
        drop = t >= window and t % window != 0
        lo = t - window + 1
        if lo < 0:
            lo = 0
        k = 0
        sum_sd = 0.0
        sum_var = 0.0
        acc = 0.0
        for i in range(n):  # one fused pass: moments, eligibility, basket return, set changes
            if drop:
                xo = r[t - window, i]
                if xo - xo == 0.0:
                    s1[i] -= xo
                    s2[i] -= xo * xo
                    cnt[i] -= 1
            x = r[t, i]
            if x - x == 0.0:
                s1[i] += x
                s2[i] += x * x
                cnt[i] += 1
            ok = False
            if cnt[i] == window and mem[t, i]:
                m = s1[i] * inv_w
                v = s2[i] * inv_w - m * m
                if v > min_var:
                    ok = True
                    k += 1
                    sum_sd += np.sqrt(v)
                    sum_var += v
                    acc += x
            if ok != prev[i]:  # entering or leaving: adjust the basket's earlier window rows
                sign = 1.0 if ok else -1.0
                for s in range(lo, t):
                    y = r[s, i]
                    if y - y == 0.0:
                        u[s] += sign * y
                prev[i] = ok
        u[t] = acc
        counts[t] = k
        if t >= window and k >= 2:
            p = 0.0
            q = 0.0
            for s in range(lo, t + 1):
                p += u[s]
                q += u[s] * u[s]
            var_u = q * inv_w - (p * inv_w) ** 2
            den = sum_sd * sum_sd - sum_var
            if den > 0.0:
                out[t] = (var_u - sum_var) / den
    return out, counts


def _vw_corr_numpy(
    r: np.ndarray, mem: np.ndarray, window: int, min_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised twin of :func:`_vw_corr_loop` (window moments from block-local sums, one
    basket return per date from the eligible set, O(w) updates for entering/leaving stocks)."""
    t_len, n = r.shape
    out = np.full(t_len, np.nan)
    cnt, _, var = window_moments(r, window)
    elig = (cnt == window) & (var > min_var) & mem
    elig[: window - 1] = False
    counts = elig.sum(axis=1).astype(np.int64)
    sd = np.sqrt(np.where(elig, var, 0.0))
    sum_sd = sd.sum(axis=1)
    sum_var = np.where(elig, var, 0.0).sum(axis=1)
    x = np.where(np.isfinite(r), r, 0.0)
    u = np.zeros(t_len)
    prev = np.zeros(n, dtype=bool)
    for t in range(t_len):
        lo = max(t - window + 1, 0)
        changed = np.flatnonzero(elig[t] != prev)
        if changed.size and t > lo:
            sign = np.where(elig[t, changed], 1.0, -1.0)
            u[lo:t] += x[lo:t][:, changed] @ sign
        prev = elig[t]
        u[t] = x[t, elig[t]].sum()
        if t >= window and counts[t] >= 2:
            win = u[lo : t + 1]
            var_u = float(np.mean(win * win) - np.mean(win) ** 2)
            den = sum_sd[t] ** 2 - sum_var[t]
            if den > 0:
                out[t] = (var_u - sum_var[t]) / den
    return out, counts


def average_correlation_vw(
    returns: np.ndarray,
    members: np.ndarray,
    window: int,
    *,
    use_numba: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rolling volatility-weighted average pairwise correlation and its stock count, each (T,).

    ``rho_vw = sum_{i != j} s_i s_j rho_ij / sum_{i != j} s_i s_j`` over the stocks eligible on
    each date (the same rule as :func:`average_correlation`), from the variance identity
    ``var(sum_i r_i) = sum_i s_i^2 + sum_{i != j} s_i s_j rho_ij`` in one pass over the panel
    (see the comment above). Population moments over the window. NaN before the first full
    window or with fewer than 2 eligible stocks.
    """
    if window < 2:
        raise ValueError("window must be >= 2 sessions")
    r = np.ascontiguousarray(returns, dtype=np.float64)
    mem = np.ascontiguousarray(members, dtype=np.bool_)
    if r.shape[0] < window or r.shape[1] == 0:
        return np.full(r.shape[0], np.nan), np.zeros(r.shape[0], dtype=np.int64)
    if HAVE_NUMBA if use_numba is None else use_numba:
        return _vw_corr_loop(r, mem, int(window), MIN_VARIANCE)  # type: ignore[no-any-return]
    return _vw_corr_numpy(r, mem, int(window), MIN_VARIANCE)
