"""Cap estimation between snapshots and company-level caps on share classes, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.data.caps import (
    cap_age_days,
    caps_from_shares,
    estimate_caps,
    implied_holdings,
    screen_jumps,
    screen_single_class,
    screen_snapshots,
    screen_unit_errors,
    split_company_level_caps,
)


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
    # before the snapshot's anchor the cap is unknown: a later snapshot is never carried
    # backwards (a look-ahead; issue 12)
    assert np.isnan(caps["A"].iloc[0])
    np.testing.assert_allclose(caps["A"].to_numpy()[1:], 10.0 * prices["A"].to_numpy()[1:])
    assert list(est["A"]) == [False, False, True, True, True, True]
    back, est_b = estimate_caps(prices, snaps, backfill=True)
    np.testing.assert_allclose(back["A"].to_numpy(), 10.0 * prices["A"].to_numpy())
    assert list(est_b["A"]) == [True, False, True, True, True, True]
    age = cap_age_days(prices, snaps)["A"].to_numpy()
    # anchored on Tue 2nd: 0 there, then calendar days (Mon 8th is 6 days later)
    np.testing.assert_array_equal(age[1:], [0.0, 1.0, 2.0, 3.0, 6.0])
    assert np.isnan(age[0])


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
    # no shares known before the first snapshot (no back-fill since issue 12)
    assert caps["A"].iloc[:2].isna().all()
    np.testing.assert_allclose(caps["A"].iloc[2:], 5.0 * prices["A"].iloc[2:])
    assert list(est["A"]) == [False, False, False, True, True, True]


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


# ---------------------------------------------------------------- screens, on planted cases
def _long_prices() -> pd.DataFrame:
    dates = pd.bdate_range("2015-01-01", periods=400)
    rng = np.random.default_rng(7)
    steps = rng.normal(0.0, 0.01, size=(len(dates), 3))
    return pd.DataFrame(
        100.0 * np.exp(np.cumsum(steps, axis=0)), index=dates, columns=["BRK-B", "GOOGL", "GOOG"]
    )


def _snaps(prices: pd.DataFrame, holdings: dict[str, float], every: int = 40) -> pd.DataFrame:
    rows = []
    for k in range(5, len(prices), every):
        d = prices.index[k] + pd.Timedelta(days=1)  # anchored on close k
        for t, h in holdings.items():
            rows.append(
                {
                    "date": d,
                    "ticker": t,
                    "price": prices[t].iloc[k],
                    "market_cap": h * prices[t].iloc[k],
                    "source": "s",
                }
            )
    return pd.DataFrame(rows)


def test_unit_error_screen_catches_thousands() -> None:
    px = _long_prices()
    snaps = _snaps(px, {"BRK-B": 2.0e9})
    bad = snaps.index[snaps["ticker"] == "BRK-B"][2:5]
    snaps.loc[bad, "market_cap"] /= 1000.0  # planted: reported in thousands
    flag = screen_unit_errors(snaps, implied_holdings(px, snaps))
    assert list(snaps.index[flag]) == list(bad)


def test_unit_error_screen_when_most_values_are_wrong() -> None:
    # Berkshire 2013-2017: most snapshots are 1000x too small; the reference level comes only
    # from caps an S&P 500 member can have (>= $1bn), so the bad majority is still flagged
    px = _long_prices()
    snaps = _snaps(px, {"BRK-B": 2.0e9})
    bad = snaps.index[:-2]
    snaps.loc[bad, "market_cap"] /= 1000.0
    flag = screen_unit_errors(snaps, implied_holdings(px, snaps))
    assert list(snaps.index[flag]) == list(bad)


def test_single_class_screen_splits_the_company() -> None:
    px = _long_prices()
    # Alphabet: company cap split equally, each class's holding 3e9; on one date only GOOGL
    # carries a cap, the whole company's (6e9 x price)
    snaps = _snaps(px, {"GOOGL": 3.0e9, "GOOG": 3.0e9})
    day = snaps["date"].unique()[4]
    g = snaps.index[(snaps["date"] == day) & (snaps["ticker"] == "GOOGL")]
    snaps.loc[g, "market_cap"] *= 2.0
    snaps = snaps.drop(index=snaps.index[(snaps["date"] == day) & (snaps["ticker"] == "GOOG")])
    issuer = {"GOOGL": "Alphabet", "GOOG": "Alphabet"}
    flag = screen_single_class(snaps, implied_holdings(px, snaps), issuer)
    assert list(snaps.index[flag]) == list(g)
    out = screen_snapshots(snaps, px, issuer)
    fixed = out.loc[g[0]]
    assert fixed["market_cap"] == pytest.approx(3.0e9 * px["GOOGL"].iloc[5 + 4 * 40], rel=1e-12)
    assert fixed["cap_basis"].startswith("single class")
    assert (out["cap_flag"] == "").all()


def test_jump_screen_rejects_a_spike_and_keeps_a_merger() -> None:
    px = _long_prices()
    snaps = _snaps(px, {"BRK-B": 2.0e9})
    rows = snaps.index[snaps["ticker"] == "BRK-B"]
    snaps.loc[rows[3], "market_cap"] *= 0.04  # planted: AAPL 2019-08-01 = 22.7 bn style outlier
    snaps.loc[rows[6:], "market_cap"] *= 1.8  # a lasting change (a merger paid in shares)
    h = implied_holdings(px, snaps)
    flag = screen_jumps(snaps, h)
    assert list(snaps.index[flag]) == [rows[3]]
    out = screen_snapshots(snaps, px, {})
    assert out.loc[rows[3], "cap_flag"] == "jump vs neighbours"
    assert (out.loc[rows[6:], "cap_flag"] == "").all()
