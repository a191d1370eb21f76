"""Market breadth: how many index members take part in a move.

Measures, each per date ``t`` over the point-in-time members of the index:

* share above the ``w``-day moving average: ``#{i : P_ti > MA_ti} / #{i eligible}``, with
  ``MA_ti = (1/w) * sum_{s=t-w+1..t} P_si``;
* share at ``w``-day highs / lows: ``P_ti >= max_{s in window} P_si`` (resp. ``<= min``);
* advance / decline: advancers ``r_ti > 0``, decliners ``r_ti < 0`` (unchanged count in neither),
  the A/D line ``cumsum(advancers - decliners)``;
* equal vs cap weight: the equal-weight and cap-weight member returns and their spread, and the
  share of members beating the cap-weight index over a window ("participation").

Eligibility and gaps: a ticker counts on date ``t`` only if it is a member on ``t`` **and** the
``w`` trailing sessions ``t-w+1..t`` all have a price (so a 200-day average needs 200 valid
prices in the last 200 sessions). A gap (NaN price) makes the ticker ineligible until the gap
has left the window; prices from before the ticker joined the index do count towards its
average. Shares are fractions; a date with no eligible member is NaN.

The moving-average kernel streams the panel once (compiled with numba when installed, a
numpy path of block-local window sums otherwise); highs and lows use the van Herk / Gil-Werman block
algorithm, O(T N) for any window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from counterweight.market import Market
from counterweight.measure.leadership import (
    basket_returns,
    company_equal_base,
    previous_close_base,
)

F = TypeVar("F", bound=Callable[..., Any])

_numba: Any
try:  # numba is a core dependency; where it cannot be imported the numpy twins give identical results
    import numba as _numba
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None

HAVE_NUMBA = _numba is not None

ANCHOR_EVERY = 8
"""The streaming moving-average kernel recomputes its running sums exactly from the window's
own rows every ``ANCHOR_EVERY`` windows (costing 1/ANCHOR_EVERY of a pass), so rounding from a
bad print reaches at most ``ANCHOR_EVERY + 1`` windows further."""

TIE_TOLERANCE = 1e-10
"""Relative margin by which a price must exceed its moving average to count as above it.

A running (or cumulative) float64 sum carries rounding of order ``T * 1e-16`` relative, so a
price equal to its average (a flat or halted stock) could otherwise land on either side."""


def njit_optional(fn: F) -> F:
    """``numba.njit(cache=True)(fn)`` when numba is installed, else ``fn`` itself (same numbers,
    plain Python speed). Shared by the measure kernels that stream a panel once."""
    if _numba is None:  # pragma: no cover
        return fn
    return _numba.njit(cache=True, nogil=True)(fn)  # type: ignore[no-any-return,return-value]


# --------------------------------------------------------------------------- kernels


@njit_optional
def _above_ma_loop(
    prices: np.ndarray, members: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """One streaming pass: running sum and count of valid prices per ticker.

    Returns ``(above, eligible)`` counts per date (int64, shape (T,)). Above means
    ``P * w - S > TIE_TOLERANCE * |S|`` (no division; see :data:`TIE_TOLERANCE`). The running
    sums are recomputed from the window's own rows every :data:`ANCHOR_EVERY` windows.
    """
    t_len, n = prices.shape
    s = np.zeros(n)
    c = np.zeros(n, np.int64)
    above = np.zeros(t_len, np.int64)
    elig = np.zeros(t_len, np.int64)
    for t in range(t_len):
        row = prices[t]
        mem = members[t]
        has_old = t >= window
        if has_old and t % (window * ANCHOR_EVERY) == 0:  # re-anchor: exact sums of t-w+1 .. t-1
            s[:] = 0.0
            c[:] = 0
            for u in range(t - window + 1, t):
                for i in range(n):
                    v = np.float64(prices[u, i])
                    f = v - v == 0.0  # finite: NaN - NaN and inf - inf are NaN
                    s[i] += v if f else 0.0
                    c[i] += f
            has_old = False
        old = prices[t - window] if t >= window else prices[t]
        sub = 1.0 if has_old else 0.0
        isub = 1 if has_old else 0
        ab = 0
        el = 0
        for i in range(n):  # branch-free body so that the compiler can vectorise it
            x = np.float64(row[i])
            fx = x - x == 0.0
            o = np.float64(old[i])
            fo = o - o == 0.0
            si = s[i] + (x if fx else 0.0) - sub * (o if fo else 0.0)
            ci = c[i] + fx - isub * fo
            s[i] = si
            c[i] = ci
            e = fx and ci == window and mem[i]
            el += e
            ab += e and (x * window - si > TIE_TOLERANCE * abs(si))
        above[t] = ab
        elig[t] = el
    return above, elig


def trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """``sum_{s=t-w+1..t} x_s`` along axis 0 from block-local prefix sums.

    Time is cut into blocks of ``w`` rows with prefix sums ``g`` restarting at each block and
    ``e`` the block's total broadcast to its rows. Then for ``t >= w``

        sum_{t-w+1..t} = g_t + (e_{t-w} - g_{t-w})

    (the prefix of ``t``'s block plus the suffix of the previous block after ``t-w``; zero when
    the window is a whole block). Every term spans at most ``2w`` rows, so rounding never
    carries over from distant history: one bad print (a return of +60,000%) cannot pollute
    later windows as a running cumulative sum would. Rows before ``w`` hold sums from row 0.
    """
    t_len = x.shape[0]
    pad = (-t_len) % window
    xp = np.concatenate([x, np.zeros((pad, *x.shape[1:]), dtype=x.dtype)], axis=0)
    g = np.cumsum(xp.reshape(-1, window, *x.shape[1:]), axis=1)
    suffix = (g[:, -1:] - g).reshape(xp.shape)[:t_len]  # e - g: sum after row s in its block
    g = g.reshape(xp.shape)[:t_len]
    out = g.copy()
    if t_len > window:
        out[window:] += suffix[:-window]
    return out


def _above_ma_numpy(
    prices: np.ndarray, members: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised twin of :func:`_above_ma_loop` (block-local window sums), used without numba."""
    valid = np.isfinite(prices)
    x = np.where(valid, prices, 0.0).astype(np.float64)
    total = trailing_sum(x, window)
    count = trailing_sum(valid.astype(np.int64), window)
    elig = valid & (count == window) & members
    above = elig & (x * window - total > TIE_TOLERANCE * np.abs(total))
    return above.sum(axis=1).astype(np.int64), elig.sum(axis=1).astype(np.int64)


def above_moving_average_counts(
    prices: np.ndarray, members: np.ndarray, window: int, *, use_numba: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(above, eligible) member counts per date for the ``window``-session moving average.

    ``prices`` (T, N) float (float32 accepted, summed in float64), ``members`` (T, N) bool.
    Eligible: member on t, and all ``window`` prices ``t-window+1..t`` finite.
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    p = np.ascontiguousarray(prices)
    if p.dtype not in (np.float32, np.float64):
        p = p.astype(np.float64)
    m = np.ascontiguousarray(members, dtype=np.bool_)
    if use_numba is None:
        use_numba = HAVE_NUMBA
    if use_numba:
        return _above_ma_loop(p, m, int(window))  # type: ignore[no-any-return]
    return _above_ma_numpy(p, m, int(window))


def moving_average(prices: np.ndarray, window: int) -> np.ndarray:
    """Trailing ``window``-session mean (T, N); NaN unless all ``window`` prices are finite."""
    valid = np.isfinite(prices)
    total = trailing_sum(np.where(valid, prices, 0.0).astype(np.float64), window)
    count = trailing_sum(valid.astype(np.int64), window)
    out = total / window
    out[count < window] = np.nan
    out[: window - 1] = np.nan
    return out


def _block_extreme(x: np.ndarray, window: int, op: np.ufunc) -> np.ndarray:
    """Trailing ``window`` max/min along axis 0 by van Herk / Gil-Werman (O(T N) for any w).

    ``out[t] = op over x[t-w+1..t]`` for t >= w-1 (rows before that are left as ``x``).
    Split time into blocks of ``w``: prefix extreme ``g`` running forward within a block and
    suffix extreme ``h`` running backward; the window ending at ``t`` is ``op(h[t-w+1], g[t])``.
    """
    t_len = x.shape[0]
    pad = (-t_len) % window
    fill = -np.inf if op is np.maximum else np.inf
    xp = np.concatenate([x, np.full((pad, *x.shape[1:]), fill)], axis=0)
    blocks = xp.reshape(-1, window, *x.shape[1:])
    g = op.accumulate(blocks, axis=1).reshape(xp.shape)[:t_len]
    h = op.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(xp.shape)[:t_len]
    out = x.copy()
    if t_len >= window:
        out[window - 1 :] = op(h[: t_len - window + 1], g[window - 1 :])
    return out


def highs_lows_counts(
    prices: np.ndarray, members: np.ndarray, window: int = 252
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(highs, lows, eligible) member counts per date for ``window``-session highs and lows.

    A high: ``P_t >= max(P_{t-w+1..t})`` (i.e. P_t is the window maximum, ties included); a low
    likewise with the minimum. Eligible as for moving averages (all ``window`` prices finite).
    """
    p = np.asarray(prices, dtype=np.float64)
    valid = np.isfinite(p)
    count = trailing_sum(valid.astype(np.int64), window)
    elig = valid & (count == window) & np.asarray(members, dtype=bool)
    elig[: window - 1] = False
    hi = _block_extreme(np.where(valid, p, -np.inf), window, np.maximum)
    lo = _block_extreme(np.where(valid, p, np.inf), window, np.minimum)
    highs = (elig & (p >= hi)).sum(axis=1)
    lows = (elig & (p <= lo)).sum(axis=1)
    return highs, lows, elig.sum(axis=1)


def advance_decline_counts(
    returns: np.ndarray, members: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(advancers, decliners, counted) per date: members with a finite return r > 0 / r < 0."""
    r = np.asarray(returns, dtype=np.float64)
    ok = np.isfinite(r) & np.asarray(members, dtype=bool)
    with np.errstate(invalid="ignore"):
        adv = (ok & (r > 0)).sum(axis=1)
        dec = (ok & (r < 0)).sum(axis=1)
    return adv, dec, ok.sum(axis=1)


def index_returns(
    returns: np.ndarray,
    caps: np.ndarray,
    members: np.ndarray,
    mask: np.ndarray | None = None,
    issuer_codes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Equal- and cap-weight daily returns of the members (optionally of a column subset).

    The basket of day ``t`` is the members *on* ``t`` with a finite return on ``t`` (and, for
    cap weight, a finite positive cap at ``t-1``), weighted at the previous close:
    ``r_cw,t = sum_i cap_{t-1,i} r_ti / sum_i cap_{t-1,i}``; ``r_ew,t`` gives each company one
    equal slot (share classes with the same ``issuer_codes`` split it by cap at ``t-1``; without
    codes every ticker is its own company: ``mean_i r_ti``). The first date and dates without
    any such member are NaN. The kernels are the ones :mod:`counterweight.measure.leadership`
    uses for every basket return.
    """
    r = np.asarray(returns, dtype=np.float64)
    held = np.asarray(members, dtype=bool)
    if mask is not None:
        held = held & np.asarray(mask, dtype=bool)[None, :]
    caps = np.asarray(caps, dtype=np.float64)
    ew_base = np.full(r.shape, np.nan)
    if r.shape[0] > 1:
        active = held[1:] & np.isfinite(r[1:])
        codes = np.arange(r.shape[1]) if issuer_codes is None else issuer_codes
        ew_base[1:] = np.where(active, company_equal_base(active, caps[:-1], codes), np.nan)
    ew = basket_returns(ew_base, r)
    cw = basket_returns(previous_close_base(caps, held), r)
    return ew, cw


def compound(returns: np.ndarray, window: int) -> np.ndarray:
    """Trailing compounded return ``prod(1 + r_{t-w+1..t}) - 1`` of a (T,) series.

    NaN where any return in the window is NaN (the first date of an index series is NaN, so the
    first full window ends on date ``window``).
    """
    r = np.asarray(returns, dtype=np.float64)
    out = np.full(r.shape, np.nan)
    if len(r) < window:
        return out
    logs = np.log1p(r)
    valid = np.isfinite(logs)
    s = trailing_sum(np.where(valid, logs, 0.0), window)
    n = trailing_sum(valid.astype(np.int64), window)
    full = (n == window) & (np.arange(len(r)) >= window - 1)
    out[full] = np.expm1(s[full])
    return out


# --------------------------------------------------------------------------- labelled API


def share_above_moving_average(market: Market, window: int = 200) -> pd.Series:
    """Share of eligible members whose close is above their ``window``-session average.

    Uses price-return closes where the market has them (:meth:`Market.breadth_prices`), as
    published breadth series do; total-return closes otherwise."""
    closes, _basis = market.breadth_prices()
    above, elig = above_moving_average_counts(closes, market.members, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(elig > 0, above / np.maximum(elig, 1), np.nan)
    return pd.Series(share, index=market.dates, name=f"above_{window}d")


def breadth_history(
    market: Market,
    *,
    ma_windows: tuple[int, ...] = (50, 200),
    high_low_window: int = 252,
    participation_window: int = 63,
) -> pd.DataFrame:
    """Every breadth measure on every date (fractions unless the name says a count).

    Columns: ``above_<w>d`` per moving-average window; ``new_highs`` / ``new_lows`` (share at
    ``high_low_window``-session highs / lows); ``advancers``, ``decliners`` (counts),
    ``ad_net`` (advancers - decliners), ``ad_line`` (its cumulative sum from the first date),
    ``ew_return`` / ``cw_return`` (member equal- and cap-weight daily returns), ``ew_minus_cw``
    and ``participation`` (share of members, eligible over the window, whose compounded return
    over ``participation_window`` sessions beats the cap-weight index's). Moving averages and
    highs / lows use price-return closes where the market has them; returns, advances and
    participation use total return. ``frame.attrs["breadth_basis"]`` says which closes.
    """
    cols: dict[str, np.ndarray] = {}
    closes, basis = market.breadth_prices()  # once: every window and the highs / lows share it
    for w in ma_windows:
        above, ma_elig = above_moving_average_counts(closes, market.members, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"above_{w}d"] = np.where(ma_elig > 0, above / np.maximum(ma_elig, 1), np.nan)
    highs, lows, elig = highs_lows_counts(closes, market.members, high_low_window)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["new_highs"] = np.where(elig > 0, highs / np.maximum(elig, 1), np.nan)
        cols["new_lows"] = np.where(elig > 0, lows / np.maximum(elig, 1), np.nan)
    adv, dec, counted = advance_decline_counts(market.returns, market.members)
    cols["advancers"] = adv.astype(np.float64)
    cols["decliners"] = dec.astype(np.float64)
    net = (adv - dec).astype(np.float64)
    net[counted == 0] = np.nan
    cols["ad_net"] = net
    cols["ad_line"] = np.cumsum(np.nan_to_num(net))
    ew, cw = index_returns(
        market.returns, market.caps, market.members, issuer_codes=market.issuer_codes
    )
    cols["ew_return"] = ew
    cols["cw_return"] = cw
    cols["ew_minus_cw"] = ew - cw
    cols["participation"] = participation(market, participation_window, cw_returns=cw)
    frame = pd.DataFrame(cols, index=market.dates)
    frame.columns.name = "breadth"
    frame.attrs["breadth_basis"] = basis
    return frame


def participation(
    market: Market, window: int = 63, *, cw_returns: np.ndarray | None = None
) -> np.ndarray:
    """Share of members beating the cap-weight index over the trailing ``window`` sessions.

    A member on ``t`` counts if its prices on ``t-window`` and ``t`` are both finite; its return
    ``P_t / P_{t-w} - 1`` is compared with the index's compounded cap-weight return.
    """
    if cw_returns is None:
        _, cw_returns = index_returns(market.returns, market.caps, market.members)
    bench = compound(cw_returns, window)
    p = market.prices
    t_len = p.shape[0]
    out = np.full(t_len, np.nan)
    if t_len <= window:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        stock = p[window:] / p[:-window] - 1.0
    ok = np.isfinite(stock) & market.members[window:] & np.isfinite(bench[window:, None])
    beat = (
        ok & (stock > np.where(np.isfinite(bench[window:, None]), bench[window:, None], 0.0))
    ).sum(axis=1)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[window:] = np.where(n > 0, beat / np.maximum(n, 1), np.nan)
    return out
