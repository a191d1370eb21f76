"""The embedded dataset: point-in-time coverage, caps without look-ahead, float adjustment,
share classes, provenance; works without ../shared (figures from the shared files are quoted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import counterweight as cw
from counterweight.data.caps import anchor_positions
from counterweight.data.sample import _read, sample_dir
from counterweight.groups import MAG7

# SPY's published weights on 2025-02-07 (holdings/spy_holdings_ssga_2025-02-07.csv, percent;
# they sum to 99.9625 with cash): the real index weights on that date
SPY_WEIGHTS_2025_02_07 = {
    "AAPL": 6.727683,
    "NVDA": 6.23431,
    "MSFT": 5.963145,
    "AMZN": 4.197636,
    "META": 3.049018,
    "GOOGL": 2.119826,
    "TSLA": 1.976884,
    "GOOG": 1.743427,
    "BRK-B": 1.696188,
    "WMT": 0.859256,
    "ORCL": 0.548706,
}
SPY_TOTAL = 99.9625


@pytest.fixture(scope="module")
def daily() -> cw.Market:
    return cw.load_sample()


def test_point_in_time_daily_panel(daily: cw.Market) -> None:
    assert daily.dates[0] == pd.Timestamp("2014-01-02")
    assert daily.dates[-1] == pd.Timestamp("2026-08-03")
    assert len(daily.tickers) >= 600  # former members included, not today's 500 only
    counts = daily.members.sum(axis=1)
    assert counts.min() >= 360 and counts.max() <= 510  # members with prices, every day
    cov = daily.member_coverage
    assert list(cov.columns) == ["members", "with_price", "with_cap", "cap_share_priced"]
    assert (cov.index == daily.dates).all()
    assert cov["members"].between(490, 510).all()  # all members, priced or not: gaps stated
    priced = (daily.members & np.isfinite(daily.prices)).sum(axis=1)
    assert (cov["with_price"].to_numpy() == priced).all()
    assert cov["cap_share_priced"].min() > 0.89
    assert cov.loc["2021":, "cap_share_priced"].min() > 0.99
    # former members are present where they were members: Twitter, Activision, First Republic
    for t, day in (("TWTR", "2020-06-01"), ("ATVI", "2022-06-01"), ("FRC", "2022-06-01")):
        if t in daily.tickers:
            assert t in daily.members_on(day)
    assert {"SPY", "RSP", "IWM", "VTV", "VUG", "XLK", "GSPC"} <= set(daily.benchmarks.columns)
    assert list(daily.factors.columns) == ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF", "Mom"]
    assert daily.factors["Mkt-RF"].abs().max() < 0.2
    assert set(MAG7.tickers) <= set(daily.tickers)
    assert daily.securities["sector"].loc[daily.members[-1]].nunique() == 11


def test_reused_symbols_never_reach_the_former_member(daily: cw.Market) -> None:
    # ADT, EMC, SE ... in the price file are today's holders of the symbol (README of the
    # shared data): the former members keep no prices, and their membership no later prices
    for t in ("ADT", "EMC", "SE", "TE", "STI", "NE", "INFO"):
        assert t not in daily.tickers
    # Dow Inc. (DOW since 2019) is a member with its own prices; Dow Chemical (to 2017) is not
    dow = daily.prices_frame()["DOW"]
    assert dow.loc[:"2019-03-01"].isna().all()
    assert "DOW" in daily.members_on("2020-01-02")


def test_caps_are_never_back_filled(daily: cw.Market) -> None:
    # before the anchor of a ticker's first usable snapshot its cap is unknown: no look-ahead
    snaps = _read("cap_snapshots.parquet")
    snaps = snaps[(snaps["cap_flag"].astype(str) == "") & snaps["market_cap"].notna()]
    prices = pd.read_parquet(sample_dir() / "prices_daily.parquet")
    full_dates = pd.DatetimeIndex(sorted(prices["date"].unique()))
    first = snaps.groupby("ticker", observed=True)["date"].min()
    caps = daily.company_caps
    assert caps is not None
    checked = 0
    for t, d in first.items():
        if str(t) not in daily.tickers:
            continue
        k = int(anchor_positions(full_dates, pd.DatetimeIndex([d]))[0])
        anchor = full_dates[max(k, 0)]
        col = daily.tickers.get_loc(str(t))
        before = daily.dates < anchor
        assert not np.isfinite(caps[before, col]).any(), t
        checked += int(before.any())
    assert checked > 20  # tickers whose first snapshot comes after 2014-01-02
    # the ages of the carried caps are known and non-negative
    age = daily.cap_age
    assert age is not None and np.nanmin(age) >= 0
    assert np.isfinite(age[np.isfinite(caps)]).all()


def test_float_weights_match_spy_on_its_holdings_date(daily: cw.Market) -> None:
    w = daily.cap_weights("2025-02-07")
    for t, pct in SPY_WEIGHTS_2025_02_07.items():
        assert w[t] == pytest.approx(pct / SPY_TOTAL, abs=0.0008), t
    mag7 = sum(SPY_WEIGHTS_2025_02_07[t] for t in MAG7.tickers) / SPY_TOTAL
    assert w[list(MAG7.tickers)].sum() == pytest.approx(mag7, abs=0.002)
    company = daily.with_basis("company").cap_weights("2025-02-07")
    # company caps put Walmart (Walton family) and Oracle (Ellison) far too heavy
    assert company["WMT"] > 1.5 * SPY_WEIGHTS_2025_02_07["WMT"] / SPY_TOTAL
    assert company["ORCL"] > 1.4 * SPY_WEIGHTS_2025_02_07["ORCL"] / SPY_TOTAL
    assert daily.provenance.cap_basis == "float"


def test_berkshire_from_the_holdings_float_cap(daily: cw.Market) -> None:
    w = daily.cap_weights("2025-08-01", issuer_level=True)
    brk = daily.securities.loc["BRK-B", "issuer"]
    assert 0.013 < w[brk] < 0.02  # about 1.6% (a 2018 class-B-only cap gave 1.19%)
    # the unit screen keeps 2013-2017's 1000x-too-small Berkshire caps out
    caps = daily.company_caps
    assert caps is not None
    k = daily.tickers.get_loc("BRK-B")
    assert np.nanmin(caps[:, k]) > 1e11


def test_alphabet_counted_once(daily: cw.Market) -> None:
    i = list(daily.tickers).index("GOOGL")
    j = list(daily.tickers).index("GOOG")
    assert daily.securities["issuer"].iloc[i] == daily.securities["issuer"].iloc[j]
    last = daily.fundamentals[daily.fundamentals["date"] == "2026-08-02"].set_index("ticker")
    company = last.loc[["GOOGL", "GOOG"], "market_cap"].sum()
    # the snapshot's whole-company figure on each class, averaged and split: summing the
    # classes counts Alphabet once, not twice
    assert company == pytest.approx((4355446800384.0 + 4361806151680.0) / 2, rel=1e-12)
    w = daily.cap_weights(issuer_level=True)
    alphabet = daily.securities.loc["GOOGL", "issuer"]
    assert w[alphabet] < 0.10
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    # 2015-12-31: one class carried the whole company in some snapshots; screened and split
    w15 = daily.cap_weights("2015-12-31", issuer_level=True)
    assert w15[alphabet] < 0.035  # about 2.7% in the index then, not 6.2%


def test_caps_anchor_on_snapshot(daily: cw.Market) -> None:
    # the snapshot of 2026-08-02 reflects the close of 2026-07-31: exact there, not estimated
    pos = daily.date_position("2026-07-31")
    k = list(daily.tickers).index("MMM")
    f = daily.fundamentals
    snap = f.loc[
        (f["date"] == pd.Timestamp("2026-08-02")) & (f["ticker"] == "MMM"), "market_cap"
    ].item()
    assert daily.company_caps is not None
    assert daily.company_caps[pos, k] == pytest.approx(snap, rel=1e-12)
    assert not daily.caps_estimated[pos, k]
    assert daily.cap_age is not None and daily.cap_age[pos, k] == 0.0
    # between the sparse snapshots of 2023 (quarterly file) caps are estimated, with an age
    q = daily.date_position("2023-03-01")
    assert daily.caps_estimated[q, k] and 0 < daily.cap_age[q, k] < 120


def test_fundamentals_schema_extends_the_old_one(daily: cw.Market) -> None:
    f = daily.fundamentals
    old = ["date", "ticker", "price", "market_cap", "eps", "pe", "div_yield", "source"]
    assert set(old) <= set(f.columns)
    assert {"price_sales", "price_book", "ebitda", "cap_flag", "cap_basis"} <= set(f.columns)
    assert f["date"].nunique() == 142  # every snapshot of the financials history


def test_price_return_beside_total_return(daily: cw.Market) -> None:
    pr = daily.price_return
    assert pr is not None
    k = daily.tickers.get_loc("ED")
    i = daily.date_position("2020-06-26")
    # ED's quoted close that day (dieperdev/yfinance) and its lower dividend-adjusted close
    assert pr[i, k] == pytest.approx(71.279999, rel=1e-6)
    assert daily.prices[i, k] < pr[i, k]
    closes, label = daily.breadth_prices()
    assert closes[i, k] == pr[i, k]
    assert "price return for" in label and "total return for the rest" in label


def test_provenance_and_caveats(daily: cw.Market) -> None:
    text = " ".join(daily.provenance.caveats).lower()
    for word in ("survivorship", "float", "estimated", "share class", "look-ahead"):
        assert word in text
    assert daily.provenance.as_of == pd.Timestamp("2026-08-03")
    assert daily.provenance.data_end == pd.Timestamp("2026-08-03")
    assert daily.provenance.to_dict()["cap_basis"] == "float"
    assert "float-adjusted" in daily.provenance.cap_basis_label


def test_monthly_is_a_resampling_on_trading_dates(daily: cw.Market) -> None:
    m = cw.load_sample("monthly")
    assert m.dates[0] == pd.Timestamp("2014-01-31")
    assert m.dates[-1] == pd.Timestamp("2026-08-03")
    assert set(m.dates) <= set(daily.dates)  # trading dates, never a Sunday month end
    assert pd.Timestamp("2025-11-28") in m.dates  # 2025-11-30 was a Sunday
    i = daily.date_position("2025-11-28")
    j = m.date_position("2025-11-28")
    np.testing.assert_array_equal(m.caps[j], daily.caps[i])
    np.testing.assert_array_equal(m.members[j], daily.members[i])
    assert (m.benchmarks.index == m.dates).all()
    assert m.provenance.cap_basis == "float"
    with pytest.raises(cw.ConfigError):
        cw.load_sample("weekly")
