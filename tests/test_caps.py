"""Cap estimation between snapshots and company-level caps on share classes, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.data.caps import caps_from_shares, estimate_caps, split_company_level_caps


def _prices() -> pd.DataFrame:
    dates = pd.bdate_range("2024-01-01", periods=6)  # Mon 1 .. Mon 8
    return pd.DataFrame({"A": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]}, index=dates)


def test_previous_snapshot_estimate_by_hand() -> None:
    prices = _prices()
    # snapshot dated Wed 3rd reflects Tue 2nd's close (11.0): holding = 110 / 11 = 10
    snaps = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-03"]), "ticker": ["A"], "market_cap": [110.0]}
    )
    caps, est = estimate_caps(prices, snaps)
    np.testing.assert_allclose(caps["A"].to_numpy(), 10.0 * prices["A"].to_numpy())
    assert list(est["A"]) == [True, False, True, True, True, True]


def test_two_snapshots_switch_at_anchor() -> None:
    prices = _prices()
    snaps = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-05"]),
            "ticker": ["A", "A"],
            "market_cap": [
                100.0,
                260.0,
            ],  # holdings 10 (anchor Jan 1 @10) and 20 (anchor Jan 4 @13)
        }
    )
    caps, _ = estimate_caps(prices, snaps)
    want = [100.0, 110.0, 120.0, 260.0, 280.0, 300.0]
    np.testing.assert_allclose(caps["A"].to_numpy(), want)
    interp, _ = estimate_caps(prices, snaps, method="interpolate")
    # log-linear in holdings between positions 0 and 3: 10 * 2**(k/3)
    hold = interp["A"].to_numpy() / prices["A"].to_numpy()
    np.testing.assert_allclose(hold[:4], 10.0 * 2.0 ** (np.arange(4) / 3.0))


def test_company_level_caps_split_once() -> None:
    snaps = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-08-02"] * 3),
            "ticker": ["GOOGL", "GOOG", "XOM"],
            "price": [356.13, 356.65, 100.0],
            "market_cap": [4355446800384.0, 4361806151680.0, 4.0e11],
        }
    )
    issuer = {"GOOGL": "Alphabet", "GOOG": "Alphabet", "XOM": "Exxon"}
    out, notes = split_company_level_caps(snaps, issuer)
    alpha = out[out["ticker"].isin(["GOOGL", "GOOG"])]["market_cap"]
    assert alpha.sum() == pytest.approx((4355446800384.0 + 4361806151680.0) / 2, rel=1e-15)
    assert alpha.iloc[0] == alpha.iloc[1]
    assert out.loc[out["ticker"] == "XOM", "market_cap"].item() == 4.0e11
    assert notes and "Alphabet" in notes[0]


def test_class_caps_of_their_own_are_kept() -> None:
    # implied share counts differ by 40%: each class carries its own cap, keep them
    snaps = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-08-02"] * 2),
            "ticker": ["FOXA", "FOX"],
            "price": [58.0, 52.0],
            "market_cap": [58.0 * 2.4e8, 52.0 * 1.7e8],
        }
    )
    out, notes = split_company_level_caps(snaps, {"FOXA": "Fox", "FOX": "Fox"})
    np.testing.assert_allclose(out["market_cap"], snaps["market_cap"])
    assert not notes


def test_caps_from_shares() -> None:
    prices = _prices()
    shares = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-03"]), "ticker": ["A"], "shares": [5.0]}
    )
    caps, est = caps_from_shares(prices, shares)
    np.testing.assert_allclose(caps["A"], 5.0 * prices["A"])
    assert list(est["A"]) == [True, True, False, True, True, True]


def test_estimate_error_is_zero_when_holdings_constant() -> None:
    from counterweight.data.caps import estimate_error

    prices = pd.DataFrame(
        {"A": np.linspace(10, 20, 30), "B": np.linspace(50, 40, 30)},
        index=pd.bdate_range("2024-01-01", periods=30),
    )
    # snapshots that report exactly holding x the previous close: the estimate is exact
    snaps = []
    for d in ("2024-01-10", "2024-01-24"):
        k = prices.index.searchsorted(pd.Timestamp(d)) - 1
        snaps += [
            (pd.Timestamp(d), "A", 3.0 * prices["A"].iloc[k]),
            (pd.Timestamp(d), "B", 7.0 * prices["B"].iloc[k]),
        ]
    frame = pd.DataFrame(snaps, columns=["date", "ticker", "market_cap"])
    out = estimate_error(prices, frame)
    assert len(out) == 1 and out["names"].item() == 2
    assert out["median_abs_error"].item() < 1e-14
    # a 10% buyback at B shows as a +11.1% error for B
    frame.loc[
        (frame["ticker"] == "B") & (frame["date"] == pd.Timestamp("2024-01-24")), "market_cap"
    ] *= 0.9
    out = estimate_error(prices, frame)
    assert out["mean_error"].item() == pytest.approx((1 / 0.9 - 1) / 2, rel=1e-12)


def test_equal_caps_with_different_quotes_are_company_level() -> None:
    # 2024-10-10 in the sample: Fox's classes carry the same company cap although their quoted
    # prices differ by 8% (the source priced all shares at one class's price)
    snaps = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-10-10"] * 2),
            "ticker": ["FOX", "FOXA"],
            "price": [38.49, 41.74],
            "market_cap": [1.835873e10, 1.835876e10],
        }
    )
    out, _ = split_company_level_caps(snaps, {"FOX": "Fox", "FOXA": "Fox"})
    assert out["market_cap"].sum() == pytest.approx((1.835873e10 + 1.835876e10) / 2, rel=1e-15)
    assert set(out["cap_basis"]) == {"company-level split equally"}
