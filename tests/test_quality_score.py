"""The quality score: ROE, net-margin stability and earnings stability, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from counterweight.construct import schemes
from counterweight.market import Market

QUARTERS = ["2024-03-29", "2024-06-28", "2024-09-30", "2024-12-31"]
AS_OF = "2025-01-15"


def market() -> Market:
    rows = []
    spec = {  # ticker: price, eps per quarter, P/S, P/B per quarter
        "A": (100.0, [4, 4, 5, 5], 2.0, [4, 4, 4, 5]),
        "B": (50.0, [2, 3, 2, 3], 1.0, [2, 2, 2, 2]),
        "C": (20.0, [-1, 1, 2, 3], 0.5, [1, 1, 1, -1]),  # negative book at the end
    }
    for t, (px, eps, ps, pb) in spec.items():
        for d, e, b in zip(QUARTERS, eps, pb, strict=True):
            rows.append((d, t, px, e, ps, b))
    rows += [(d, "D", 60.0, 6.0, 3.0, 3.0) for d in QUARTERS[2:]]  # only two quarters
    rows.append(("2024-12-15", "A", 100.0, 100.0, 2.0, 5.0))  # superseded within its quarter
    rows += [("2025-03-31", t, 10.0, 50.0, 9.0, 9.0) for t in "ABCD"]  # after as_of: unseen
    f = pd.DataFrame(rows, columns=["date", "ticker", "price", "eps", "price_sales", "price_book"])
    f["date"] = pd.to_datetime(f["date"])
    f["market_cap"] = 1e9
    dates = pd.bdate_range("2024-01-02", "2025-04-30")
    prices = pd.DataFrame(100.0, index=dates, columns=list("ABCD"))
    return Market.from_frames(prices, fundamentals=f)


def z(x: np.ndarray) -> np.ndarray:
    """Clip to the 5th/95th percentiles (numpy's linear rule), z-score, clip at +-3."""
    ok = np.isfinite(x)
    out = np.full(x.shape, np.nan)
    v = np.clip(x[ok], np.quantile(x[ok], 0.05), np.quantile(x[ok], 0.95))
    out[ok] = np.clip((v - v.mean()) / v.std(ddof=0), -3, 3)
    return out


def test_quality_by_hand() -> None:
    m = market()
    comp = schemes.quality_components(m.fundamentals, pd.Timestamp(AS_OF))
    # ROE = EPS / price x P/B on the latest snapshot (2024-12-31)
    roe = np.array([5 / 100 * 5, 3 / 50 * 2, np.nan, 6 / 60 * 3])
    np.testing.assert_allclose(comp.loc[list("ABCD"), "roe"], roe)
    # net margin = EPS / price x P/S per quarter; stability = - its sample sd
    margins = {
        "A": np.array([4, 4, 5, 5]) / 100 * 2,
        "B": np.array([2, 3, 2, 3]) / 50 * 1,
        "C": np.array([-1, 1, 2, 3]) / 20 * 0.5,
    }
    ms = np.array([-np.std(margins[t], ddof=1) for t in "ABC"] + [np.nan])
    np.testing.assert_allclose(comp.loc[list("ABCD"), "margin_stability"], ms)
    eps = {"A": [4, 4, 5, 5], "B": [2, 3, 2, 3], "C": [-1, 1, 2, 3]}
    es = np.array([-np.std(eps[t], ddof=1) / abs(np.mean(eps[t])) for t in "ABC"] + [np.nan])
    np.testing.assert_allclose(comp.loc[list("ABCD"), "earnings_stability"], es)
    expected = np.nanmean(np.vstack([z(roe), z(ms), z(es)]), axis=0)
    got = schemes.score(m, "quality", AS_OF)
    np.testing.assert_allclose(got.loc[list("ABCD")].to_numpy(), expected)


def test_quality_has_no_look_ahead() -> None:
    m = market()
    full = schemes.score(m, "quality", AS_OF)
    cut = schemes.score(m.slice(end=AS_OF), "quality", AS_OF)
    pd.testing.assert_series_equal(full, cut)
    later = schemes.score(m, "quality", "2025-04-30")  # now the 2025-03-31 snapshot counts
    assert not np.allclose(later.to_numpy(), full.to_numpy(), equal_nan=True)


def test_quality_lookback_and_missing_fields() -> None:
    m = market()
    q = schemes.quarterly_snapshots(m.fundamentals, pd.Timestamp(AS_OF), quarters=2)
    assert q.groupby("ticker").size().max() == 2
    assert q[q["ticker"] == "A"]["eps"].tolist() == [5, 5]  # 2024-12-15 superseded by 12-31
    # without P/B and P/S only earnings stability is left; the composite is its z-score
    f = m.fundamentals.drop(columns=["price_book", "price_sales"])
    comp = schemes.quality_components(f, pd.Timestamp(AS_OF))
    assert comp["roe"].isna().all() and comp["margin_stability"].isna().all()
    composite = schemes.quality_composite(comp)
    np.testing.assert_allclose(
        composite.to_numpy(), z(comp["earnings_stability"].to_numpy()), equal_nan=True
    )
    assert schemes.quality_composite(comp.iloc[:0]).empty
    assert schemes.score(m, "quality", AS_OF).name == "quality"
