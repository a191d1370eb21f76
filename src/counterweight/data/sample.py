"""The embedded default dataset: real S&P 500 data shipped inside the package.

Files live in ``counterweight/data/sample/`` (built by ``scripts/build_sample.py`` from the
project's shared data; sources, licences and caveats in the README there). :func:`load_sample`
turns them into a :class:`~counterweight.market.Market`, cached per process.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from counterweight.data.build import build_market
from counterweight.errors import ConfigError
from counterweight.market import Market, Provenance

SAMPLE_SOURCES = (
    "Daily and month-end adjusted closes (dividends reinvested) of S&P 500 members and 56 ETFs: "
    "Yahoo-derived closes from the public repository dsturdy/Factor_Attribution (no licence file)",
    "UnitedHealth (UNH) daily closes: auto-adjusted Yahoo closes, megacap OHLCV collection",
    "GICS sectors and sub-industries of the 2026-08-08 members, CIKs: datasets/s-and-p-500-companies (PDDL)",
    "Market cap, EPS, P/E, dividend yield snapshots: datasets/s-and-p-500-companies-financials "
    "(PDDL; values from Yahoo)",
    "Point-in-time S&P 500 membership (join and leave dates): index-constitution history (MIT)",
    "Fama-French 5 factors and momentum, daily: Kenneth R. French data library",
)

SAMPLE_CAVEATS = (
    "survivorship: the daily panel holds today's (2026-08) members only; stocks that left the index "
    "before 2026-08 have no daily prices, so index measures cover the members that survived",
    "UNH daily closes come from a different source than the other members'; ED, LULU, ROP and XYL "
    "(members in 2026-08) have no daily prices in the sample and are left out",
    "market caps are company-level (all share classes, not float-adjusted), unlike the float-adjusted "
    "caps S&P uses to weight the index, so weights differ slightly from the official index weights",
)


def sample_dir() -> Path:
    return Path(str(resources.files("counterweight.data") / "sample"))


def _read(name: str) -> pd.DataFrame:
    return pd.read_parquet(sample_dir() / name)


def _wide(long: pd.DataFrame) -> pd.DataFrame:
    wide = long.pivot(index="date", columns="ticker", values="price").sort_index()
    wide.index = pd.DatetimeIndex(wide.index, name="date")
    wide.columns.name = "ticker"
    return wide


def on_dates(frame: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Values of a daily frame on ``dates``: the last observation on or before each date."""
    return frame.reindex(frame.index.union(dates)).ffill().reindex(dates)


def compound_between(returns: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily returns compounded over each interval (previous date, date]; the first interval
    starts at the first daily return. Intervals with no daily return are NaN."""
    pos = dates.searchsorted(returns.index, side="left")
    inside = pos < len(dates)
    growth = (1.0 + returns[inside]).groupby(pos[inside]).prod(min_count=1) - 1.0
    out = growth.reindex(range(len(dates)))
    out.index = dates
    return out


@cache
def load_sample(frequency: str = "daily") -> Market:
    """The embedded Market: ``"daily"`` (2023-01 .. 2026-08) or ``"monthly"`` (2014 .. 2026)."""
    if frequency not in ("daily", "monthly"):
        raise ConfigError(f"frequency must be 'daily' or 'monthly', not {frequency!r}")
    prices = _wide(
        _read("prices_daily.parquet" if frequency == "daily" else "prices_monthly.parquet")
    )
    securities = _read("securities.parquet").set_index("ticker")
    membership = _read("membership.parquet")
    fundamentals = _read("fundamentals.parquet")
    etf = _wide(_read("etf_daily.parquet"))
    factors = _read("factors_daily.parquet").set_index("date")
    caveats = list(SAMPLE_CAVEATS)
    if frequency == "monthly":
        caveats[0] = (
            "survivorship: the month-end panel holds today's members and former members since 2015 that "
            "still trade; 158 of 741 members since 2015 (acquired or delisted) are absent"
        )
        caveats.append(
            "month-end closes; the last row is the close of 2026-08-03 (a partial month); "
            "between the 2018-02 and 2024-10 cap snapshots caps are carried by price alone"
        )
        last_close = etf.index[-1]
        if prices.index[-1] > last_close:  # the source labels a partial month as its month end
            prices = prices.rename(index={prices.index[-1]: last_close})
        etf = on_dates(etf, pd.DatetimeIndex(prices.index))
        factors = compound_between(factors, pd.DatetimeIndex(prices.index))
    prov = Provenance(
        sources=SAMPLE_SOURCES,
        caveats=tuple(caveats),
        name=f"embedded sample ({frequency})",
    )
    return build_market(
        prices,
        securities=securities,
        membership=membership,
        fundamentals=fundamentals,
        benchmarks=etf,
        factors=factors,
        provenance=prov,
    )
