"""Covariance of returns with Ledoit-Wolf shrinkage (scikit-learn), annualised, labelled.

Sigma_LW = (1 - delta) S + delta mu I, with S the sample covariance, mu = trace(S)/N and the
shrinkage delta chosen by Ledoit & Wolf (2004) to minimise expected Frobenius loss
(:class:`sklearn.covariance.LedoitWolf`). Returns are simple daily returns (fractions); the
matrix is multiplied by ``periods_per_year`` (252 for daily data, from
:func:`counterweight.measure.performance.periods_per_year`, the package's one annualisation
rule) so volatilities read as annual fractions.

Missing data: columns observed on fewer than ``min_coverage`` of the window's dates are left
out (listed in ``dropped``); remaining gaps are filled with the column mean, so a gap adds
nothing to the cross-products (variances of gappy columns are biased down by about their gap
share). Rows where every column is missing are removed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError
from counterweight.market import Market
from counterweight.measure.performance import periods_per_year

__all__ = ["Covariance", "ledoit_wolf", "market_covariance", "market_returns", "periods_per_year"]


@dataclass(frozen=True)
class Covariance:
    """An annualised covariance matrix with what it was computed from."""

    matrix: pd.DataFrame  # tickers x tickers, annual (fractions^2)
    shrinkage: float  # Ledoit-Wolf delta in [0, 1]
    observations: int  # dates used
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    periods_per_year: int = 252
    dropped: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tickers(self) -> pd.Index:
        return self.matrix.index

    def vols(self) -> pd.Series:
        """Annual volatility of each name, sqrt(diag Sigma)."""
        return pd.Series(
            np.sqrt(np.diag(self.matrix.to_numpy())), index=self.matrix.index, name="vol"
        )

    def sub(self, tickers: list[str] | pd.Index) -> np.ndarray:
        """The block of ``tickers`` as an array (all must be present)."""
        idx = self.matrix.index.get_indexer(pd.Index(tickers))
        if (idx < 0).any():
            missing = [t for t, i in zip(tickers, idx, strict=True) if i < 0]
            raise DataUnavailableError(f"no covariance for {', '.join(map(str, missing[:10]))}")
        return self.matrix.to_numpy()[np.ix_(idx, idx)]


def ledoit_wolf(
    returns: pd.DataFrame, *, min_coverage: float = 0.8, periods_per_year: int = 252
) -> Covariance:
    """Ledoit-Wolf covariance of a (dates x tickers) frame of simple returns (see module doc)."""
    from sklearn.covariance import LedoitWolf

    r = returns.dropna(how="all")
    if len(r) < 2:
        raise DataUnavailableError(
            f"need at least 2 dates of returns for a covariance, got {len(r)}"
        )
    coverage = r.notna().mean()
    keep = coverage[coverage >= min_coverage].index
    dropped = tuple(str(t) for t in r.columns if t not in set(keep))
    r = r[keep]
    if r.shape[1] == 0:
        raise DataUnavailableError("no ticker has enough return history for a covariance")
    x = r.to_numpy(dtype=np.float64)
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isfinite(x), x, mean)
    lw = LedoitWolf(assume_centered=False).fit(x)
    mat = pd.DataFrame(lw.covariance_ * periods_per_year, index=r.columns, columns=r.columns)
    idx = pd.DatetimeIndex(r.index)
    return Covariance(
        matrix=mat,
        shrinkage=float(lw.shrinkage_),
        observations=len(r),
        start=idx[0] if len(idx) else None,
        end=idx[-1] if len(idx) else None,
        periods_per_year=periods_per_year,
        dropped=dropped,
    )


def market_returns(
    market: Market,
    *,
    as_of: str | pd.Timestamp | None = None,
    window: int = 252,
    tickers: list[str] | pd.Index | None = None,
    extra: list[str] | None = None,
) -> pd.DataFrame:
    """The last ``window`` dates of returns up to ``as_of``; ``extra`` adds benchmark ETF series
    (from ``market.benchmarks``, returns computed on the stock date axis)."""
    end = market.date_position(as_of)
    start = max(0, end - window + 1)
    frame = market.returns_frame().iloc[start : end + 1]
    if tickers is not None:
        missing = [t for t in tickers if t not in market.tickers]
        if missing:
            raise DataUnavailableError(f"no return history for {', '.join(map(str, missing[:10]))}")
        frame = frame[list(tickers)]
    if extra:
        bm = market.benchmarks
        absent = [e for e in extra if e not in bm.columns]
        if absent:
            raise DataUnavailableError(f"no benchmark series {', '.join(absent)} in the market")
        px = bm[extra].reindex(market.dates[max(0, start - 1) : end + 1])
        ext = px.pct_change(fill_method=None).iloc[1 if start > 0 else 0 :]
        ext.index = frame.index
        frame = pd.concat([frame, ext], axis=1)
    return frame


def market_covariance(
    market: Market,
    *,
    as_of: str | pd.Timestamp | None = None,
    window: int = 252,
    tickers: list[str] | pd.Index | None = None,
    extra: list[str] | None = None,
    min_coverage: float = 0.8,
) -> Covariance:
    """Ledoit-Wolf covariance of the market's last ``window`` daily returns up to ``as_of``."""
    frame = market_returns(market, as_of=as_of, window=window, tickers=tickers, extra=extra)
    ppy = periods_per_year(pd.DatetimeIndex(frame.index))
    return ledoit_wolf(frame, min_coverage=min_coverage, periods_per_year=ppy)
