"""Performance statistics of periodic simple returns: pure, NaN-aware, empyrical conventions.

Every function takes simple returns as fractions (a 1-D array or a Series, one value per period)
and returns a float (or an array / Series for the rolling and calendar versions). The defaults
follow empyrical-reloaded so results can be checked against it to machine precision:

* annualisation by ``periods_per_year`` (252 for daily data);
* volatility and tracking error use the sample standard deviation (ddof = 1);
* a NaN return is *no observation* for means and standard deviations, and a zero return for
  compounding (CAGR, drawdowns); relative measures use only periods where both series are finite.

Differences from empyrical on purpose are stated where they occur (information ratio is annualised;
rolling functions return a full-length, NaN-padded result aligned on the window's last period).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252
"""Trading days in a year, the annualisation factor of daily returns."""

ArrayLike = np.ndarray | pd.Series


SPACINGS: tuple[tuple[float, int], ...] = (
    (4.0, 252),  # daily (business days; a weekend is 3 days, a holiday weekend 4)
    (10.0, 52),  # weekly (7 days; 6 or 8 around holidays)
    (21.0, 26),  # bi-weekly (14 days)
    (60.0, 12),  # monthly (28 .. 31 days)
    (135.0, 4),  # quarterly (89 .. 92 days)
    (270.0, 2),  # semi-annual (181 .. 184 days)
)
"""Upper bound of the median spacing in calendar days, and the periods a year it means;
anything wider is annual (1)."""


def periods_per_year(dates: pd.DatetimeIndex | pd.Index | Any) -> int:
    """Annualisation factor of a date axis from its median spacing in calendar days.

    <= 4 days: 252 (daily), <= 10: 52 (weekly), <= 21: 26 (bi-weekly), <= 60: 12 (monthly),
    <= 135: 4 (quarterly), <= 270: 2 (semi-annual), else 1 (annual). The median makes it robust
    to holidays and to a minority of missing periods. Fewer than two dates: 252. The one
    annualisation rule of the package (risk, backtests and reports use it).
    """
    idx = pd.DatetimeIndex(dates)
    if len(idx) < 2:
        return PERIODS_PER_YEAR
    days = np.sort(np.asarray(idx.to_numpy(), dtype="datetime64[D]").astype(np.int64))
    gap = float(np.median(np.diff(days)))
    for limit, ppy in SPACINGS:
        if gap <= limit:
            return ppy
    return 1


def _values(returns: Any) -> np.ndarray:
    arr = np.asarray(returns, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D series of returns, got shape {arr.shape}")
    return arr


def _pair(returns: Any, benchmark: Any) -> tuple[np.ndarray, np.ndarray]:
    """Align two series (by label when both are Series) and keep periods where both are finite."""
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        returns, benchmark = returns.align(benchmark, join="inner")
    r, b = _values(returns), _values(benchmark)
    if r.shape != b.shape:
        raise ValueError(f"returns and benchmark differ in length: {r.shape} vs {b.shape}")
    ok = np.isfinite(r) & np.isfinite(b)
    return r[ok], b[ok]


def _std(x: np.ndarray) -> float:
    """Sample standard deviation (ddof=1) of the finite values; exactly 0 if they are all equal."""
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan")
    if np.all(x == x[0]):
        return 0.0
    return float(np.std(x, ddof=1))


def _ratio(num: float, den: float) -> float:
    if not np.isfinite(num) or not np.isfinite(den) or den == 0.0:
        if np.isfinite(num) and den == 0.0 and num != 0.0:
            return float(np.inf) if num > 0 else float(-np.inf)
        return float("nan")
    return num / den


# ---------------------------------------------------------------------------- single series
def total_return(returns: ArrayLike) -> float:
    """Compounded return over the whole series: prod(1 + r_t) - 1 (NaN periods count as 0)."""
    r = _values(returns)
    if r.size == 0:
        return float("nan")
    return float(np.nanprod(1.0 + r) - 1.0)


def cagr(returns: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate: (prod(1 + r_t)) ** (periods_per_year / n) - 1.

    ``n`` counts every period, NaN included (as empyrical's ``annual_return``).
    """
    r = _values(returns)
    if r.size == 0:
        return float("nan")
    growth = float(np.nanprod(1.0 + r))
    return float(growth ** (periods_per_year / r.size) - 1.0)


def annual_volatility(returns: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Annualised volatility: std(r, ddof=1) * sqrt(periods_per_year), over finite periods."""
    return _std(_values(returns)) * float(np.sqrt(periods_per_year))


def sharpe_ratio(
    returns: ArrayLike,
    risk_free: float | ArrayLike = 0.0,
    periods_per_year: float = PERIODS_PER_YEAR,
) -> float:
    """Annualised Sharpe ratio: mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year).

    ``risk_free`` is a per-period rate (a scalar or a series aligned with ``returns``).
    """
    excess = _values(returns) - (
        np.asarray(risk_free, dtype=np.float64) if not np.isscalar(risk_free) else float(risk_free)  # type: ignore[arg-type]
    )
    excess = excess[np.isfinite(excess)]
    if excess.size < 2:
        return float("nan")
    return _ratio(float(np.mean(excess)), _std(excess)) * float(np.sqrt(periods_per_year))


def downside_risk(
    returns: ArrayLike, required_return: float = 0.0, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Annualised downside deviation: sqrt(mean(min(r - required, 0)^2)) * sqrt(periods_per_year)."""
    r = _values(returns)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan")
    down = np.minimum(r - required_return, 0.0)
    return float(np.sqrt(np.mean(down * down)) * np.sqrt(periods_per_year))


def sortino_ratio(
    returns: ArrayLike, required_return: float = 0.0, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Sortino ratio: mean(r - required) * periods_per_year / downside_risk(r, required)."""
    r = _values(returns)
    r = r[np.isfinite(r)]
    if r.size < 2:
        return float("nan")
    mean = float(np.mean(r - required_return)) * periods_per_year
    return _ratio(mean, downside_risk(r, required_return, periods_per_year))


def wealth(returns: ArrayLike) -> np.ndarray:
    """Growth of 1: W_t = prod_{s<=t} (1 + r_s), NaN periods count as 0."""
    r = np.nan_to_num(_values(returns), nan=0.0)
    return np.cumprod(1.0 + r)


def drawdown_series(returns: ArrayLike) -> ArrayLike:
    """Drawdown from the running peak: D_t = W_t / max(1, max_{s<=t} W_s) - 1 (<= 0).

    The starting wealth of 1 counts as a peak, so a loss on the first period is a drawdown.
    A Series in gives a Series out.
    """
    w = wealth(returns)
    peak = np.maximum.accumulate(np.concatenate(([1.0], w)))[1:]
    dd = w / peak - 1.0
    if isinstance(returns, pd.Series):
        return pd.Series(dd, index=returns.index, name="drawdown")
    return dd


def max_drawdown(returns: ArrayLike) -> float:
    """Deepest drawdown min_t D_t as a negative fraction (0 if the series never falls)."""
    r = _values(returns)
    if r.size == 0:
        return float("nan")
    return float(np.min(np.asarray(drawdown_series(r))))


@dataclass(frozen=True)
class DrawdownInfo:
    """The maximum drawdown and its dates.

    ``peak`` is the last period at the high before the fall (None when the high is the starting
    wealth, before the first period), ``trough`` the period of the lowest wealth, ``recovery`` the
    first period back at or above the peak (None if not recovered by the end).
    """

    depth: float
    peak: pd.Timestamp | None
    trough: pd.Timestamp | None
    recovery: pd.Timestamp | None

    @property
    def recovered(self) -> bool:
        return self.recovery is not None


def max_drawdown_info(returns: pd.Series) -> DrawdownInfo:
    """Maximum drawdown with its peak, trough and recovery dates (see :class:`DrawdownInfo`)."""
    r = _values(returns)
    if r.size == 0:
        return DrawdownInfo(float("nan"), None, None, None)
    w = np.concatenate(([1.0], wealth(r)))
    peak_w = np.maximum.accumulate(w)
    dd = w / peak_w - 1.0
    trough = int(np.argmin(dd))
    depth = float(dd[trough])
    if depth >= 0.0:
        return DrawdownInfo(0.0, None, None, None)
    peak = int(np.flatnonzero(w[: trough + 1] == peak_w[trough])[-1])
    after = np.flatnonzero(w[trough:] >= peak_w[trough])
    recovery = None if after.size == 0 else trough + int(after[0])
    idx = returns.index

    def label(pos: int | None) -> pd.Timestamp | None:
        # position 0 is the starting wealth, before the first period
        return None if pos is None or pos == 0 else pd.Timestamp(idx[pos - 1])

    return DrawdownInfo(depth, label(peak), label(trough), label(recovery))


def calmar_ratio(returns: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Calmar ratio: CAGR / |max drawdown| (NaN when there is no drawdown)."""
    mdd = max_drawdown(returns)
    if not np.isfinite(mdd) or mdd >= 0.0:
        return float("nan")
    return cagr(returns, periods_per_year) / abs(mdd)


# ---------------------------------------------------------------------------- relative
def tracking_error(
    returns: ArrayLike, benchmark: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Annualised tracking error: std(r - b, ddof=1) * sqrt(periods_per_year)."""
    r, b = _pair(returns, benchmark)
    return _std(r - b) * float(np.sqrt(periods_per_year))


def information_ratio(
    returns: ArrayLike, benchmark: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Annualised information ratio: mean(r - b) / std(r - b, ddof=1) * sqrt(periods_per_year).

    empyrical's ``excess_sharpe`` is the same ratio *not* annualised (ours = it x sqrt(252)).
    """
    r, b = _pair(returns, benchmark)
    active = r - b
    if active.size < 2:
        return float("nan")
    return _ratio(float(np.mean(active)), _std(active)) * float(np.sqrt(periods_per_year))


def beta(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """Beta to the benchmark: cov(r, b) / var(b) over periods where both are finite."""
    r, b = _pair(returns, benchmark)
    if r.size < 2:
        return float("nan")
    res = b - np.mean(b)
    var = float(np.mean(res * res))
    if var < 1e-30:
        return float("nan")
    return float(np.mean(res * r)) / var


def alpha(
    returns: ArrayLike, benchmark: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Annualised Jensen alpha: (1 + mean(r - beta * b)) ** periods_per_year - 1."""
    r, b = _pair(returns, benchmark)
    bt = beta(r, b)
    if not np.isfinite(bt):
        return float("nan")
    return float((1.0 + np.mean(r - bt * b)) ** periods_per_year - 1.0)


def up_capture(
    returns: ArrayLike, benchmark: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Up-market capture: CAGR of r over periods with b > 0 / CAGR of b over those periods."""
    r, b = _pair(returns, benchmark)
    up = b > 0
    return _ratio(cagr(r[up], periods_per_year), cagr(b[up], periods_per_year))


def down_capture(
    returns: ArrayLike, benchmark: ArrayLike, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """Down-market capture: CAGR of r over periods with b < 0 / CAGR of b over those periods."""
    r, b = _pair(returns, benchmark)
    down = b < 0
    return _ratio(cagr(r[down], periods_per_year), cagr(b[down], periods_per_year))


# ---------------------------------------------------------------------------- calendar
def calendar_year_returns(returns: pd.Series) -> pd.Series:
    """Compounded return of each calendar year: prod_{t in year}(1 + r_t) - 1, indexed by year."""
    r = returns.fillna(0.0)
    years = pd.DatetimeIndex(r.index).year
    out = (1.0 + r).groupby(years).prod() - 1.0
    out.index.name = "year"
    return out


def annual_turnover(
    traded: ArrayLike, n_periods: int, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
    """One-sided annual turnover: (sum_t traded_t / 2) / years.

    ``traded_t`` is the two-sided traded value (buys + sells) as a fraction of portfolio value;
    half of it is the one-sided turnover of the mutual-fund convention. ``years = n / periods``.
    """
    t = np.nan_to_num(_values(traded), nan=0.0)
    if n_periods <= 0:
        return float("nan")
    return float(t.sum() / 2.0 / (n_periods / periods_per_year))


# ---------------------------------------------------------------------------- rolling
def _windows(x: np.ndarray, window: int) -> np.ndarray:
    if window < 1:
        raise ValueError("window must be at least 1")
    if x.size < window:
        return np.empty((0, window))
    return np.lib.stride_tricks.sliding_window_view(x, window)


def _rolled(values: np.ndarray, n: int, window: int, like: Any, name: str) -> ArrayLike:
    out = np.full(n, np.nan)
    if values.size:
        out[window - 1 :] = values
    if isinstance(like, pd.Series):
        return pd.Series(out, index=like.index, name=name)
    return out


def _nan_std_rows(w: np.ndarray) -> np.ndarray:
    """Row-wise sample std of finite values (exactly 0 where all finite values are equal)."""
    finite = np.isfinite(w)
    cnt = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(w, axis=1) / cnt
        dev = np.where(finite, w - mean[:, None], 0.0)
        var = (dev * dev).sum(axis=1) / (cnt - 1)
    sd = np.sqrt(var)
    lo = np.min(np.where(finite, w, np.inf), axis=1)
    hi = np.max(np.where(finite, w, -np.inf), axis=1)
    sd[(lo == hi) & (cnt >= 2)] = 0.0
    sd[cnt < 2] = np.nan
    return np.asarray(sd)


def rolling_volatility(
    returns: ArrayLike, window: int, periods_per_year: float = PERIODS_PER_YEAR
) -> ArrayLike:
    """Annualised volatility over each trailing window of ``window`` periods (NaN-padded)."""
    r = _values(returns)
    sd = _nan_std_rows(_windows(r, window)) * np.sqrt(periods_per_year)
    return _rolled(sd, r.size, window, returns, "rolling_volatility")


def rolling_sharpe(
    returns: ArrayLike, window: int, periods_per_year: float = PERIODS_PER_YEAR
) -> ArrayLike:
    """Annualised Sharpe ratio (zero risk-free rate) over each trailing window (NaN-padded)."""
    r = _values(returns)
    w = _windows(r, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(w, axis=1) if w.size else np.empty(0)
        out = mean / _nan_std_rows(w) * np.sqrt(periods_per_year)
    return _rolled(out, r.size, window, returns, "rolling_sharpe")


def rolling_return(returns: ArrayLike, window: int) -> ArrayLike:
    """Compounded return over each trailing window: prod(1 + r) - 1 (NaN as 0; NaN-padded)."""
    r = _values(returns)
    out = np.prod(1.0 + np.nan_to_num(_windows(r, window), nan=0.0), axis=1) - 1.0
    return _rolled(out, r.size, window, returns, "rolling_return")


def rolling_max_drawdown(returns: ArrayLike, window: int) -> ArrayLike:
    """Maximum drawdown within each trailing window, the window's start as the first peak."""
    r = _values(returns)
    w = 1.0 + np.nan_to_num(_windows(r, window), nan=0.0)
    wealth_ = np.cumprod(w, axis=1)
    peak = np.maximum(np.maximum.accumulate(wealth_, axis=1), 1.0)
    out = np.min(wealth_ / peak - 1.0, axis=1) if w.size else np.empty(0)
    return _rolled(out, r.size, window, returns, "rolling_max_drawdown")


def _rolling_pair(returns: ArrayLike, benchmark: ArrayLike) -> tuple[np.ndarray, np.ndarray, Any]:
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        returns, benchmark = returns.align(benchmark, join="inner")
    r, b = _values(returns), _values(benchmark)
    both = np.isfinite(r) & np.isfinite(b)
    return np.where(both, r, np.nan), np.where(both, b, np.nan), returns


def rolling_tracking_error(
    returns: ArrayLike,
    benchmark: ArrayLike,
    window: int,
    periods_per_year: float = PERIODS_PER_YEAR,
) -> ArrayLike:
    """Annualised tracking error over each trailing window (NaN-padded)."""
    r, b, like = _rolling_pair(returns, benchmark)
    te = _nan_std_rows(_windows(r - b, window)) * np.sqrt(periods_per_year)
    return _rolled(te, r.size, window, like, "rolling_tracking_error")


def rolling_beta(returns: ArrayLike, benchmark: ArrayLike, window: int) -> ArrayLike:
    """Beta to the benchmark over each trailing window (NaN-padded)."""
    r, b, like = _rolling_pair(returns, benchmark)
    wr, wb = _windows(r, window), _windows(b, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = wb - np.nanmean(wb, axis=1, keepdims=True) if wb.size else wb
        var = np.nanmean(res * res, axis=1) if wb.size else np.empty(0)
        cov = np.nanmean(res * wr, axis=1) if wb.size else np.empty(0)
        out = np.where(var < 1e-30, np.nan, cov / var)
    return _rolled(out, r.size, window, like, "rolling_beta")


def rolling_relative_return(returns: ArrayLike, benchmark: ArrayLike, window: int) -> ArrayLike:
    """Compounded strategy return minus compounded benchmark return over each trailing window."""
    r, b, like = _rolling_pair(returns, benchmark)
    rr = np.asarray(rolling_return(r, window))
    rb = np.asarray(rolling_return(b, window))
    out = rr - rb
    if isinstance(like, pd.Series):
        return pd.Series(out, index=like.index, name="rolling_relative_return")
    return out


# ---------------------------------------------------------------------------- tables
SUMMARY_COLUMNS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "tracking_error",
    "information_ratio",
    "beta",
    "up_capture",
    "down_capture",
)


def summary(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    periods_per_year: float = PERIODS_PER_YEAR,
) -> dict[str, float]:
    """All headline statistics of one return series (relative ones NaN without a benchmark)."""
    out: dict[str, float] = {
        "total_return": total_return(returns),
        "cagr": cagr(returns, periods_per_year),
        "volatility": annual_volatility(returns, periods_per_year),
        "sharpe": sharpe_ratio(returns, 0.0, periods_per_year),
        "sortino": sortino_ratio(returns, 0.0, periods_per_year),
        "max_drawdown": max_drawdown(returns),
        "calmar": calmar_ratio(returns, periods_per_year),
    }
    rel = ("tracking_error", "information_ratio", "beta", "up_capture", "down_capture")
    if benchmark is None:
        out.update(dict.fromkeys(rel, float("nan")))
    else:
        out["tracking_error"] = tracking_error(returns, benchmark, periods_per_year)
        out["information_ratio"] = information_ratio(returns, benchmark, periods_per_year)
        out["beta"] = beta(returns, benchmark)
        out["up_capture"] = up_capture(returns, benchmark, periods_per_year)
        out["down_capture"] = down_capture(returns, benchmark, periods_per_year)
    return out


def summary_table(
    returns: pd.DataFrame,
    benchmark: pd.Series | None = None,
    periods_per_year: float = PERIODS_PER_YEAR,
) -> pd.DataFrame:
    """:func:`summary` of each column of ``returns``, one row per strategy."""
    rows = {str(c): summary(returns[c], benchmark, periods_per_year) for c in returns.columns}
    return pd.DataFrame.from_dict(rows, orient="index")[list(SUMMARY_COLUMNS)]
