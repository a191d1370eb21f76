"""Base weighting schemes and score tilts: cap, equal, inverse volatility, value/quality/momentum.

Every scheme returns a ticker-indexed :class:`pandas.Series` of weights (fractions summing to 1)
over the index members on ``as_of`` (the last trading date on or before it), and uses only
data up to ``as_of`` (no look-ahead), so a backtest can call it on each rebalance date.

* cap weight: ``w_i = cap_i / sum_j cap_j`` (members with a known cap);
* equal weight: ``1 / I`` per *issuer* (GOOG + GOOGL share one slot, split by cap);
* inverse volatility: ``w_i ∝ 1 / sigma_i``, sigma the standard deviation of daily returns over
  ``lookback`` days (names with fewer than ``lookback // 2`` returns get the median sigma);
* quality score: the mean z-score of return on equity (P/B)/(P/E), net-margin stability and
  earnings stability from the snapshots on or before ``as_of`` (:func:`quality_components`);
* score tilt: ``w_i ∝ b_i * m(z_i)`` with ``z`` the cross-sectional z-score of a score
  (winsorised at +-3) and the MSCI-style multiplier ``m(z) = 1 + s z`` for ``z >= 0`` and
  ``1 / (1 - s z)`` for ``z < 0`` (always positive; missing scores are neutral, z = 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.market import Market

SCORES = ("value", "dividend", "momentum", "low_volatility", "quality")


def _members(market: Market, as_of: str | pd.Timestamp | None) -> tuple[int, np.ndarray]:
    i = market.date_position(as_of)
    mem = market.members[i]
    if not mem.any():
        raise DataUnavailableError(f"no index members on {market.dates[i].date()}")
    return i, mem


def _normalise(w: pd.Series, what: str) -> pd.Series:
    w = w[np.isfinite(w.to_numpy(dtype=float)) & (w.to_numpy(dtype=float) > 0)]
    total = float(w.sum())
    if not total > 0:
        raise DataUnavailableError(f"{what}: no positive weight")
    out = w / total
    out.index.name = "ticker"
    return out.astype(float)


def cap_weight(market: Market, as_of: str | pd.Timestamp | None = None) -> pd.Series:
    """Cap weights of members on ``as_of``: cap_i / sum cap (members without a cap left out)."""
    i, mem = _members(market, as_of)
    caps = np.where(mem, market.caps[i], np.nan)
    return _normalise(pd.Series(caps, index=market.tickers), "cap weight")


def equal_weight(
    market: Market, as_of: str | pd.Timestamp | None = None, *, issuer_level: bool = True
) -> pd.Series:
    """Equal weight: 1/I per issuer (split across share classes by cap, else equally), or 1/N."""
    i, mem = _members(market, as_of)
    tickers = market.tickers[mem]
    if not issuer_level:
        return _normalise(pd.Series(1.0, index=tickers), "equal weight")
    codes = np.unique(market.issuer_codes[mem], return_inverse=True)[1]
    caps = market.caps[i][mem]
    n_iss = int(codes.max()) + 1
    known = np.isfinite(caps) & (caps > 0)
    count = np.bincount(codes, minlength=n_iss)
    all_known = np.bincount(codes, weights=known.astype(float), minlength=n_iss) == count
    cap_sum = np.bincount(codes, weights=np.where(known, caps, 0.0), minlength=n_iss)
    by_cap = all_known[codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(by_cap, caps / cap_sum[codes], 1.0 / count[codes])
    return _normalise(pd.Series(within / n_iss, index=tickers), "equal weight")


def inverse_volatility(
    market: Market, as_of: str | pd.Timestamp | None = None, *, lookback: int = 252
) -> pd.Series:
    """w_i ∝ 1/sigma_i, sigma over the last ``lookback`` daily returns ending on ``as_of``."""
    if lookback < 2:
        raise ConfigError("lookback must be at least 2 days")
    i, mem = _members(market, as_of)
    window = market.returns[max(0, i - lookback + 1) : i + 1][:, mem]
    obs = np.isfinite(window).sum(axis=0)
    sigma = np.full(window.shape[1], np.nan)
    enough = obs >= max(2, lookback // 2)
    if enough.any():
        sigma[enough] = np.nanstd(window[:, enough], axis=0, ddof=1)
    good = np.isfinite(sigma) & (sigma > 0)
    if not good.any():
        raise DataUnavailableError(
            f"inverse volatility: fewer than {lookback // 2} returns for every member"
        )
    sigma[~good] = np.median(sigma[good])
    return _normalise(pd.Series(1.0 / sigma, index=market.tickers[mem]), "inverse volatility")


def _latest_fundamentals(market: Market, as_of: pd.Timestamp) -> pd.DataFrame:
    f = market.fundamentals
    if f.empty or "ticker" not in f.columns:
        raise DataUnavailableError("the market has no fundamentals for value/quality scores")
    f = f[pd.to_datetime(f["date"]) <= as_of]
    if f.empty:
        raise DataUnavailableError(f"no fundamentals snapshot on or before {as_of.date()}")
    return f.sort_values("date")


QUALITY_QUARTERS = 8
"""Quarter-end snapshots (at most) behind the stability descriptors of the quality score."""

QUALITY_LOOKBACK_YEARS = 3
"""Only snapshots at most this many years before the as-of date enter the stability terms."""

QUALITY_MIN_OBS = 3
"""Fewest quarterly observations for a stability descriptor (else NaN)."""

QUALITY_DESCRIPTORS = ("roe", "margin_stability", "earnings_stability")

QUALITY_TAILS = 0.05
"""Each quality descriptor is clipped to its 5th and 95th cross-sectional percentiles."""


def quarterly_snapshots(
    fundamentals: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    quarters: int = QUALITY_QUARTERS,
    lookback_years: int = QUALITY_LOOKBACK_YEARS,
) -> pd.DataFrame:
    """Each ticker's last snapshot row in each calendar quarter, within ``lookback_years``
    before ``as_of`` (snapshots after ``as_of`` never enter), the latest ``quarters`` of them."""
    d = pd.to_datetime(fundamentals["date"])
    lo = as_of - pd.DateOffset(years=lookback_years)
    f = fundamentals[(d <= as_of) & (d > lo)].assign(_date=d)
    f = f.sort_values(["ticker", "_date"])
    f = f.assign(_q=f["_date"].dt.to_period("Q"))
    f = f.groupby(["ticker", "_q"], sort=False).tail(1)
    return f.groupby("ticker", sort=False).tail(quarters).drop(columns=["_q"])


def quality_components(fundamentals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Profitability descriptors per ticker from snapshots on or before ``as_of`` (fractions).

    With ``y = EPS / price`` (else ``1 / PE``), the trailing earnings yield:

    * ``roe`` = ``y x P/B`` = (P/B) / (P/E) = earnings / book equity, on the latest snapshot
      (NaN when P/B <= 0: negative book equity has no meaningful ROE);
    * ``margin_stability`` = minus the standard deviation (ddof 1) of the net margin
      ``y x P/S`` = earnings / revenue over :func:`quarterly_snapshots`;
    * ``earnings_stability`` = minus the coefficient of variation ``sd(EPS) / |mean EPS|`` over
      the same quarters (NaN when the mean EPS is <= 0).

    A stability descriptor needs :data:`QUALITY_MIN_OBS` quarters, else NaN. Earnings yields
    above 1 in magnitude (a P/E under 1) are treated as unit errors (NaN), as in
    :func:`counterweight.measure.fundamentals.earnings_from_snapshot`.
    """
    from counterweight.measure.fundamentals import MAX_EARNINGS_YIELD, snapshot_field

    f = fundamentals[pd.to_datetime(fundamentals["date"]) <= as_of]
    if f.empty:
        return pd.DataFrame(columns=list(QUALITY_DESCRIPTORS), dtype=float)

    def earnings_yield(frame: pd.DataFrame) -> pd.Series:
        eps, price, pe = (snapshot_field(frame, c) for c in ("eps", "price", "pe"))
        y = eps / price.where(price > 0)
        y = y.where(y.notna(), 1.0 / pe.where(pe > 0))
        return y.where(y.abs() <= MAX_EARNINGS_YIELD)

    latest = f.sort_values("date").groupby("ticker").tail(1).set_index("ticker")
    pb = snapshot_field(latest, "price_book")
    roe = earnings_yield(latest) * pb.where(pb > 0)

    q = quarterly_snapshots(f, as_of)
    ps = snapshot_field(q, "price_sales")
    margin = earnings_yield(q) * ps.where(ps > 0)
    eps = snapshot_field(q, "eps")
    by = q["ticker"]
    m_sd = margin.groupby(by).std(ddof=1).where(margin.groupby(by).count() >= QUALITY_MIN_OBS)
    e_mean = eps.groupby(by).mean()
    e_sd = eps.groupby(by).std(ddof=1)
    ok = (eps.groupby(by).count() >= QUALITY_MIN_OBS) & (e_mean > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = (e_sd / e_mean.abs()).where(ok)
    out = pd.DataFrame(
        {
            "roe": roe,
            "margin_stability": -m_sd,
            "earnings_stability": -cv,
        }
    )
    out.index.name = "ticker"
    return out.astype(float)


def winsorise(values: pd.Series, tail: float) -> pd.Series:
    """Clip to the ``tail`` and ``1 - tail`` quantiles (linear interpolation); NaN stays NaN."""
    v = values.astype(float).replace([np.inf, -np.inf], np.nan)
    if v.notna().sum() < 2:
        return v
    return v.clip(float(v.quantile(tail)), float(v.quantile(1.0 - tail)))


def quality_composite(components: pd.DataFrame, winsor: float = 3.0) -> pd.Series:
    """Mean of the available descriptors' cross-sectional z-scores.

    Each descriptor is first clipped to its 5th and 95th percentiles (:data:`QUALITY_TAILS`:
    a tiny book value gives an ROE of 100 and more, which would otherwise set the scale for
    everyone), then z-scored and the z-score clipped at +-``winsor``.

    The structure of the MSCI Quality Indices (Methodology, May 2013, section 2.2 and Appendix
    II: ROE, debt/equity and earnings variability, each z-scored and winsorised, averaged); the
    snapshots carry no debt, so net-margin stability takes the leverage term's place. A name with no descriptor is NaN (neutral in a tilt); a
    descriptor nobody has drops out.
    """
    z = pd.DataFrame(
        {c: zscore(winsorise(components[c], QUALITY_TAILS), winsor) for c in components.columns}
    )
    z = z.loc[:, components.notna().any()]
    out = z.mean(axis=1, skipna=True) if z.shape[1] else pd.Series(np.nan, index=z.index)
    return out.rename("quality").astype(float)


def score(market: Market, kind: str, as_of: str | pd.Timestamp | None = None) -> pd.Series:
    """A raw score per member ticker on ``as_of`` (higher = more weight when tilting).

    value: earnings yield eps / price from the latest fundamentals snapshot (NaN beyond
    +-1, a unit error); dividend: dividend yield as a fraction (snapshots in percent
    converted); momentum: 12-1 month total return (prices 252 to 21 days back);
    low_volatility: minus the 252-day daily-return standard deviation;
    quality: the profitability composite of :func:`quality_components` (ROE, net-margin
    stability, earnings stability), the mean of each descriptor's z-score. NaN = unknown.
    """
    i, mem = _members(market, as_of)
    tickers = market.tickers[mem]
    date = market.dates[i]
    if kind == "value":
        from counterweight.measure.fundamentals import MAX_EARNINGS_YIELD

        f = _latest_fundamentals(market, date).groupby("ticker").last()
        with np.errstate(divide="ignore", invalid="ignore"):
            ey = f["eps"].astype(float) / f["price"].astype(float)
        return ey.where(ey.abs() <= MAX_EARNINGS_YIELD).reindex(tickers)
    if kind == "dividend":
        from counterweight.measure.fundamentals import dividend_yield_fraction

        f = _latest_fundamentals(market, date)
        f = f.assign(div_yield=dividend_yield_fraction(f))  # percent or fraction per snapshot
        return f.groupby("ticker")["div_yield"].last().astype(float).reindex(tickers)
    if kind == "momentum":
        if i < 252:
            raise DataUnavailableError("momentum needs 252 trading days of prices before as_of")
        p0, p1 = market.prices[i - 252][mem], market.prices[i - 21][mem]
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(p1 / p0 - 1.0, index=tickers)
    if kind == "low_volatility":
        window = market.returns[max(0, i - 251) : i + 1][:, mem]
        ok = np.isfinite(window).sum(axis=0) >= 126
        sd = np.full(window.shape[1], np.nan)
        if ok.any():
            sd[ok] = np.nanstd(window[:, ok], axis=0, ddof=1)
        return pd.Series(-sd, index=tickers)
    if kind == "quality":
        comp = quality_components(_latest_fundamentals(market, date), date).reindex(tickers)
        return quality_composite(comp)
    raise ConfigError(
        f"unknown score '{kind}' (known: {', '.join(SCORES)}, or a score file column)"
    )


def tilt_multiplier(z: np.ndarray, strength: float) -> np.ndarray:
    """m(z) = 1 + s z (z >= 0), 1 / (1 - s z) (z < 0): positive, monotone, m(0) = 1."""
    z = np.asarray(z, dtype=float)
    sz = strength * z
    return np.where(sz >= 0, 1.0 + sz, 1.0 / (1.0 - np.minimum(sz, 0.0)))


def zscore(values: pd.Series, winsor: float = 3.0) -> pd.Series:
    """Cross-sectional z-score (population sd), winsorised at +-winsor; NaN stays NaN."""
    v = values.astype(float).replace([np.inf, -np.inf], np.nan)
    sd = float(v.std(ddof=0))
    if not sd > 0:
        return v * 0.0
    return ((v - v.mean()) / sd).clip(-winsor, winsor)


def tilt(base: pd.Series, scores: pd.Series, strength: float = 1.0) -> pd.Series:
    """w_i ∝ b_i * m(z_i): tilt base weights towards high scores (missing score: neutral)."""
    if strength < 0:
        raise ConfigError("tilt strength must be >= 0 (flip the score's sign instead)")
    z = zscore(scores.reindex(base.index)).fillna(0.0)
    return _normalise(base * tilt_multiplier(z.to_numpy(), strength), "tilt")


def blend(parts: Sequence[tuple[float, pd.Series]]) -> pd.Series:
    """sum_k a_k w_k / sum_k a_k over the union of tickers (absent = 0)."""
    if not parts:
        raise ConfigError("blend needs at least one part")
    total = sum(a for a, _ in parts)
    if any(a < 0 for a, _ in parts) or not total > 0:
        raise ConfigError("blend weights must be >= 0 with a positive sum")
    idx = parts[0][1].index
    for _, w in parts[1:]:
        idx = idx.union(w.index, sort=False)
    out = sum(a * w.reindex(idx).fillna(0.0) for a, w in parts)
    return _normalise(pd.Series(out, index=idx), "blend")
