"""The embedded default dataset: real S&P 500 data shipped inside the package.

Files live in ``counterweight/data/sample/`` (built by ``scripts/build_sample.py`` from the
project's shared data; sources, licences and caveats in the README there). :func:`load_sample`
turns them into a :class:`~counterweight.market.Market`, cached per process.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.data.build import build_market
from counterweight.errors import ConfigError
from counterweight.market import Market, Provenance

SAMPLE_START = pd.Timestamp("2014-01-02")
"""First date of the embedded Market (the files hold a warm-up quarter before it, so that the
cap snapshots of late 2013 anchor the first dates' caps)."""

SAMPLE_SOURCES = (
    "Daily adjusted closes (dividends reinvested) of S&P 500 members past and present and of 56 "
    "ETFs: Yahoo-derived closes (public repositories dsturdy/Factor_Attribution, no licence file)",
    "42 members missing there (acquired, delisted or renamed): dieperdev/yfinance-stock-data "
    "(public domain; close and adjusted close to 2024-03-08), Spooky-Labs/Course-1 (split-adjusted "
    "closes to 2025-04-04), UNH auto-adjusted closes (guydekowski/market-lab)",
    "GICS sectors and sub-industries of the 2026-08-08 members, CIKs: datasets/s-and-p-500-companies (PDDL)",
    "Market cap, EPS, P/E, P/S, P/B, EBITDA, dividend yield: 142 snapshots 2012-12 .. 2026-08 of "
    "datasets/s-and-p-500-companies-financials (PDDL; values from Yahoo)",
    "Quarterly market caps 2001 .. 2025-02 (MIT), screened, between the snapshots",
    "Investable weight factors: SPDR S&P 500 ETF (SPY) holdings of 2025-02-07 as State Street "
    "publishes them (via umiuni-community/company_market_cap_2025, MIT)",
    "Company caps of 5 later additions: QQQ holdings of 2025-10-04 (public repository major/index-etfs, "
    "no licence file)",
    "Point-in-time S&P 500 membership (join and leave dates): index-constitution history (MIT)",
    "Fama-French 5 factors and momentum, daily: Kenneth R. French data library",
)

SAMPLE_CAVEATS = (
    "survivorship: the daily panel holds every member since 2014 that has prices in the sources; "
    "members without prices (mostly acquired before 2020) are a stated gap: see "
    "Market.member_coverage (members, members with a price, and their share of the index by cap)",
    "float adjustment: one investable weight factor per member, measured from SPY's holdings of "
    "2025-02-07 (shares held x k / shares outstanding), is applied to the whole history; "
    "members not held by SPY then (former members, later additions) count at their company cap "
    "(IWF 1); float changes over time are not modelled",
    "share classes: a snapshot's whole-company cap on each class (Alphabet, Fox, News Corp) is "
    "split equally among the classes, so the issuer is counted once; the class factors then "
    "carry the classes' float shares",
    "caps between snapshots are carried from the latest snapshot by the total-return price (no "
    "look-ahead; never back-filled before a ticker's first snapshot); estimates drift by the "
    "dividend yield and by buybacks or issuance since the snapshot, and their age is kept "
    "(Market.cap_age); between the 2018-02 and 2024-10 snapshots the quarterly cap file fills in",
    "priced members without a cap (2-9 on most days): members that joined after the 2018-02 "
    "snapshot and left before the 2024-10 one are in no cap source (BIO, ETSY, IPGP, OGN, PENN, "
    "SEDG, ...), nor are recent additions without a snapshot; they are left out of cap weights, "
    "and as most were removed after falling, the cap-weighted members run slightly ahead of the "
    "index in those years",
    "Berkshire Hathaway: the snapshots give class-B-only caps (and 2013-2017 ones 1000x too small, "
    "screened out) until its float cap from SPY's holdings on 2025-02-07, so its weight before "
    "2025-02 is understated (about 1.1% against about 1.6%)",
    "total return: for ED, HES, HOLX, IPG, K, LULU, ROP, UNH and XYL the prices after 2024-03-08 "
    "are split-adjusted closes only (dividends missed); ED, LULU, ROP and XYL have no prices after "
    "2025-04-04 and are a stated gap",
)


def sample_dir() -> Path:
    return Path(str(resources.files("counterweight.data") / "sample"))


def _read(name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    # ticker strings as categories: reading two million rows stays fast
    return pq.read_table(sample_dir() / name).to_pandas(strings_to_categorical=True)


def _wide(long: pd.DataFrame, value: str = "price") -> pd.DataFrame:
    """Long (date, ticker, value) to wide (date x ticker), by a scatter (pivot is slow)."""
    rows = long[long[value].notna()]
    tick = rows["ticker"].astype("category")
    t_codes = tick.cat.codes.to_numpy()
    t_uni = tick.cat.categories
    used = np.unique(t_codes)
    remap = np.full(len(t_uni), -1)
    remap[used] = np.arange(len(used))
    d = rows["date"].to_numpy(dtype="datetime64[ns]")
    du = np.unique(d)
    arr = np.full((len(du), len(used)), np.nan)
    arr[np.searchsorted(du, d), remap[t_codes]] = rows[value].to_numpy(dtype=np.float64)
    names = [str(t) for t in t_uni[used]]
    order = np.argsort(names, kind="stable")
    return pd.DataFrame(
        arr[:, order],
        index=pd.DatetimeIndex(du, name="date"),
        columns=pd.Index([names[i] for i in order], name="ticker"),
    )


def _read_wide(name: str) -> pd.DataFrame:
    """A wide file (a date column and one column per ticker) as a (date x ticker) frame."""
    import pyarrow.parquet as pq

    table = pq.read_table(sample_dir() / name)
    names = table.column_names[1:]
    arr = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, col in enumerate(names):
        arr[:, j] = table.column(col).to_numpy(zero_copy_only=False)
    dates = pd.DatetimeIndex(table.column(0).to_numpy(), name="date")
    return pd.DataFrame(arr, index=dates, columns=pd.Index(names, name="ticker"), copy=False)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns back to strings (small tables, compared and merged downstream)."""
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(str).where(frame[c].notna(), None)
    return frame


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


def month_end_view(market: Market) -> Market:
    """The daily market resampled on the last trading date of each month (a view, not a panel
    of its own): prices, caps and membership on those dates; ETF closes on them; daily factors
    compounded over each month."""
    d = market.dates
    last = pd.Series(np.arange(len(d)), index=d).groupby([d.year, d.month]).max().to_numpy()
    m = market.at_positions(last)
    dates = m.dates
    bench = market.benchmarks
    bench = bench if bench.empty else on_dates(bench, dates)
    fac = market.factors
    fac = fac if fac.empty else compound_between(fac, dates)
    prov = m.provenance.with_caveats(
        "month-end view: the daily panel on the last trading date of each month "
        f"(the last row is {dates[-1].date()}, possibly a partial month)"
    )
    return replace(
        m, benchmarks=bench, factors=fac, provenance=replace(prov, name="embedded sample (monthly)")
    )


@cache
def load_sample(frequency: str = "daily") -> Market:
    """The embedded Market: ``"daily"`` (2014-01-02 .. 2026-08-03, point in time) or
    ``"monthly"`` (its month-end resampling, on trading dates)."""
    if frequency not in ("daily", "monthly"):
        raise ConfigError(f"frequency must be 'daily' or 'monthly', not {frequency!r}")
    if frequency == "monthly":
        return month_end_view(load_sample("daily"))
    prices = _read_wide("prices_daily.parquet")
    pr = _read_wide("price_return_daily.parquet").reindex(index=prices.index)
    securities = _plain(_read("securities.parquet")).set_index("ticker")
    membership = _plain(_read("membership.parquet"))
    fundamentals = _plain(_read("fundamentals.parquet"))
    caps = _plain(_read("cap_snapshots.parquet"))
    iwf = _plain(_read("float_factors.parquet"))
    etf = _wide(_read("etf_daily.parquet"))
    factors = _plain(_read("factors_daily.parquet")).set_index("date")
    prov = Provenance(
        sources=SAMPLE_SOURCES,
        caveats=SAMPLE_CAVEATS,
        name=f"embedded sample ({frequency})",
    )
    coverage = None
    if (sample_dir() / "coverage_daily.parquet").exists():  # written by scripts/build_sample.py
        coverage = pd.read_parquet(sample_dir() / "coverage_daily.parquet").set_index("date")
    market = build_market(
        prices,
        caps=caps,
        securities=securities,
        membership=membership,
        fundamentals=fundamentals,
        benchmarks=etf,
        factors=factors,
        provenance=prov,
        float_factors=iwf,
        iwf_before_first="first",
        price_return=pr,
        unpriced_caps=True,
        coverage=coverage,
    )
    # the first quarter is a warm-up for the caps; every fundamentals snapshot stays (the last
    # ones, to 2026-08-22, are after the last close and still the latest valuation data)
    return replace(market.slice(SAMPLE_START, None), fundamentals=market.fundamentals)
