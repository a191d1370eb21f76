"""The embedded dataset: coverage, share classes, provenance; works without ../shared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import counterweight as cw
from counterweight.groups import MAG7


@pytest.fixture(scope="module")
def daily() -> cw.Market:
    return cw.load_sample()


def test_daily_coverage(daily: cw.Market) -> None:
    assert daily.dates[0] == pd.Timestamp("2023-01-03")
    assert daily.dates[-1] == pd.Timestamp("2026-08-03")
    assert len(daily.tickers) >= 495
    assert "UNH" in daily.tickers
    assert daily.members[-1].sum() >= 490
    assert set(MAG7.tickers) <= set(daily.tickers)
    assert daily.securities["sector"].loc[daily.members[-1]].nunique() == 11
    assert np.isfinite(daily.prices[daily.members]).mean() > 0.999
    cov = daily.coverage()
    assert cov["missing_cap_share_of_member_cells"] < 0.05
    assert {"SPY", "RSP", "IWM", "VTV", "VUG", "XLK"} <= set(daily.benchmarks.columns)
    assert daily.benchmarks.index[0] == pd.Timestamp("2014-01-02")
    assert list(daily.factors.columns) == ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF", "Mom"]
    # factors are fractions: a daily market excess return is never near 1
    assert daily.factors["Mkt-RF"].abs().max() < 0.2


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
    assert w[alphabet] < 0.10  # double counting would put Alphabet at about twice its weight
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


def test_caps_anchor_on_snapshot(daily: cw.Market) -> None:
    # the snapshot of 2026-08-02 reflects the close of 2026-07-31: exact there, not estimated
    pos = daily.date_position("2026-07-31")
    k = list(daily.tickers).index("MMM")
    f = daily.fundamentals
    snap = f.loc[
        (f["date"] == pd.Timestamp("2026-08-02")) & (f["ticker"] == "MMM"), "market_cap"
    ].item()
    assert daily.caps[pos, k] == pytest.approx(snap, rel=1e-12)
    assert not daily.caps_estimated[pos, k]
    assert daily.caps_estimated[pos - 1, k]


def test_provenance_and_caveats(daily: cw.Market) -> None:
    text = " ".join(daily.provenance.caveats).lower()
    for word in ("survivorship", "float-adjusted", "estimated", "share class"):
        assert word in text
    assert daily.provenance.as_of == pd.Timestamp("2026-08-03")


def test_monthly_history() -> None:
    m = cw.load_sample("monthly")
    assert m.dates[0] == pd.Timestamp("2014-01-31")
    assert m.dates[-1] == pd.Timestamp("2026-08-03")
    assert len(m.tickers) > 600
    # point in time: members per month stay near 500 through the history
    counts = m.members.sum(axis=1)
    assert counts.min() > 380 and counts.max() <= 510
    assert (m.benchmarks.index == m.dates).all()
    with pytest.raises(cw.ConfigError):
        cw.load_sample("weekly")
