"""Market model: alignment, returns, issuer aggregation, cap weights, slicing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.errors import DataUnavailableError, InputError
from counterweight.market import Market, normalize_ticker


def test_returns_are_simple_and_nan_at_gaps() -> None:
    dates = pd.bdate_range("2024-01-01", periods=4)
    prices = pd.DataFrame({"A": [100.0, 110.0, np.nan, 121.0]}, index=dates)
    m = Market.from_frames(prices)
    r = m.returns[:, 0]
    assert np.isnan(r[0]) and np.isnan(r[2]) and np.isnan(r[3])
    assert r[1] == pytest.approx(0.1, abs=1e-15)


def test_issuer_level_counts_share_classes_once(tiny_market: Market) -> None:
    w_t = tiny_market.cap_weights("2024-01-01")
    w_i = tiny_market.cap_weights("2024-01-01", issuer_level=True)
    # caps: AAA 1000, BBB 1000, CC-A 200, CC-B 200 -> total 2400
    assert w_t["AAA"] == pytest.approx(1000 / 2400, abs=1e-15)
    assert w_i["C Co"] == pytest.approx(400 / 2400, abs=1e-15)
    assert w_i.sum() == pytest.approx(1.0, abs=1e-15)
    assert len(w_i) == 3


def test_to_issuers_matches_bruteforce(tiny_market: Market) -> None:
    arr = tiny_market.caps
    got = tiny_market.to_issuers(arr)
    for j, issuer in enumerate(tiny_market.issuers):
        cols = [
            i
            for i, t in enumerate(tiny_market.tickers)
            if tiny_market.securities.loc[t, "issuer"] == issuer
        ]
        np.testing.assert_allclose(got[:, j], arr[:, cols].sum(axis=1))


def test_non_members_excluded_from_weights(tiny_market: Market) -> None:
    mem = np.ones(tiny_market.shape, dtype=bool)
    mem[:, 1] = False  # BBB never a member
    m = tiny_market.with_members(mem)
    w = m.cap_weights("2024-01-01")
    assert "BBB" not in w.index
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    assert w["AAA"] == pytest.approx(1000 / 1400, abs=1e-15)


def test_slice_and_date_position(tiny_market: Market) -> None:
    s = tiny_market.slice("2024-01-02", "2024-01-04")
    assert list(s.dates.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert s.prices.shape == (3, 4)
    # a weekend date maps to the previous trading date
    assert tiny_market.date_position("2024-01-06") == tiny_market.date_position("2024-01-05")
    with pytest.raises(DataUnavailableError):
        tiny_market.date_position("2023-12-01")
    with pytest.raises(DataUnavailableError):
        tiny_market.slice("2030-01-01", "2030-02-01")


def test_universe_and_unknown_ticker(tiny_market: Market) -> None:
    u = tiny_market.universe(["bbb", "AAA"])
    assert list(u.tickers) == ["BBB", "AAA"]
    np.testing.assert_array_equal(u.prices[:, 1], tiny_market.prices[:, 0])
    with pytest.raises(DataUnavailableError):
        tiny_market.universe(["ZZZ"])


def test_duplicate_dates_rejected() -> None:
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-02"])
    with pytest.raises(InputError, match="duplicate date"):
        Market.from_frames(pd.DataFrame({"A": [1.0, 2.0]}, index=idx))


@pytest.mark.parametrize(
    ("raw", "want"),
    [("brk.b", "BRK-B"), ("BRK/B", "BRK-B"), ("BRK_B", "BRK-B"), (" aapl ", "AAPL")],
)
def test_normalize_ticker(raw: str, want: str) -> None:
    assert normalize_ticker(raw) == want


def test_breadth_prices_use_price_return_where_complete() -> None:
    dates = pd.bdate_range("2024-01-01", periods=4)
    tr = pd.DataFrame(
        {"A": [10.0, 11.0, 12.0, 13.0], "B": [5.0, 5.5, 6.0, 6.5], "C": [1.0, 1.0, 1.0, 1.0]},
        index=dates,
    )
    pr = pd.DataFrame(
        {"A": [11.0, 12.0, 13.0, 14.0], "B": [6.0, np.nan, 7.0, 7.5]}, index=dates
    )  # B's price return has a hole: B keeps its total return
    m = Market.from_frames(tr, price_return=pr)
    closes, label = m.breadth_prices()
    np.testing.assert_array_equal(closes[:, 0], pr["A"].to_numpy())
    np.testing.assert_array_equal(closes[:, 1], tr["B"].to_numpy())
    np.testing.assert_array_equal(closes[:, 2], tr["C"].to_numpy())
    assert label == "price return for 1 of 3 tickers, total return for the rest"
    assert Market.from_frames(tr).breadth_prices()[1].startswith("total return")
    # returns stay total return
    assert m.returns[1, 0] == pytest.approx(0.1, rel=1e-15)


def test_at_positions_is_a_resampling(tiny_market: Market) -> None:
    sub = tiny_market.at_positions([0, len(tiny_market.dates) - 1])
    assert list(sub.dates) == [tiny_market.dates[0], tiny_market.dates[-1]]
    np.testing.assert_array_equal(sub.prices[1], tiny_market.prices[-1])
    np.testing.assert_array_equal(sub.members[0], tiny_market.members[0])
    assert sub.provenance.as_of == tiny_market.dates[-1]
    with pytest.raises(InputError, match="increasing"):
        tiny_market.at_positions([1, 0])


def test_provenance_carries_basis_and_data_end(tiny_market: Market) -> None:
    d = tiny_market.provenance.to_dict()
    assert d["cap_basis"] == "company"  # no IWFs in this market
    assert d["data_end"] == tiny_market.dates[-1].date().isoformat()
    sl = tiny_market.slice(None, tiny_market.dates[0])
    # slicing moves the as-of date, never the data's end
    assert sl.provenance.as_of == tiny_market.dates[0]
    assert sl.provenance.data_end == tiny_market.dates[-1]


def test_staleness_says_when_the_as_of_is_past_the_data(tiny_market: Market) -> None:
    end = tiny_market.dates[-1]
    assert tiny_market.staleness(end) is None
    assert tiny_market.staleness(None) is None
    msg = tiny_market.staleness(end + pd.Timedelta(days=30))
    assert msg is not None and "30 days" in msg and str(end.date()) in msg
