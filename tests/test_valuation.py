"""Valuation: aggregate P/E as total cap over total earnings, share classes counted once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.errors import DataUnavailableError
from counterweight.groups import group
from counterweight.measure.valuation import (
    aggregate_valuation,
    earnings_from_snapshot,
    group_valuation,
    issuer_snapshot,
    valuation_history,
)

ISSUERS = pd.Series({"GOOGL": "Alphabet", "GOOG": "Alphabet"})


def snapshot(date: str = "2025-01-01") -> pd.DataFrame:
    # caps in USD bn for readability; Alphabet's company cap on both classes (as Yahoo reports it)
    rows = [
        ("AAPL", 200.0, 3000.0, 10.0, 20.0),  # earnings = 3000 * 10 / 200 = 150
        ("GOOGL", 100.0, 2000.0, 5.0, 20.0),  # company earnings 100
        ("GOOG", 101.0, 2000.0, 5.0, 20.2),
        ("XOM", 50.0, 500.0, -2.0, np.nan),  # a loss: earnings -20, P/E not reported
        ("KO", 60.0, 300.0, np.nan, 25.0),  # no EPS: earnings = cap / P/E = 12
        ("NEW", np.nan, np.nan, np.nan, np.nan),  # lacking data
    ]
    f = pd.DataFrame(rows, columns=["ticker", "price", "market_cap", "eps", "pe"])
    f.insert(0, "date", pd.Timestamp(date))
    return f


def test_earnings_by_eps_then_pe() -> None:
    e = earnings_from_snapshot(snapshot())
    np.testing.assert_allclose(e.to_numpy(), [150.0, 100.0, 2000 * 5 / 101, -20.0, 12.0, np.nan])


def test_group_valuation_hand_computed() -> None:
    mag = group("Big", ["AAPL", "GOOGL", "GOOG"])
    table, when = group_valuation(snapshot(), [mag], issuers=ISSUERS)
    assert when == pd.Timestamp("2025-01-01")
    alphabet_e = (100.0 + 2000 * 5 / 101) / 2
    big = table.loc["Big"]
    assert big["n_names"] == 2 and big["n_missing"] == 0
    assert big["market_cap"] == pytest.approx(5000.0)
    assert big["pe"] == pytest.approx(5000.0 / (150.0 + alphabet_e))
    assert big["earnings_yield"] == pytest.approx((150.0 + alphabet_e) / 5000.0)
    rest = table.loc["Rest"]
    assert rest["n_names"] == 3 and rest["n_missing"] == 1
    assert np.isnan(rest["pe"])  # earnings sum to -8: no meaningful P/E
    assert rest["earnings_yield"] == pytest.approx(-8.0 / 800.0)
    idx = table.loc["Index"]
    assert idx["pe"] == pytest.approx(5800.0 / (150.0 + alphabet_e - 8.0))
    # not a mean of ratios
    assert idx["pe"] != pytest.approx(np.nanmean(snapshot()["pe"]))


def test_loader_split_rows_are_not_halved() -> None:
    snap = snapshot()
    split = snap.copy()
    split.loc[split["ticker"].isin(["GOOGL", "GOOG"]), "market_cap"] = 1000.0
    split["cap_basis"] = np.where(
        split["ticker"].isin(["GOOGL", "GOOG"]), "company-level split equally", "reported"
    )
    a = issuer_snapshot(snap, ISSUERS)
    b = issuer_snapshot(split, ISSUERS)
    assert a.loc["Alphabet", "market_cap"] == pytest.approx(2000.0)
    assert b.loc["Alphabet", "market_cap"] == pytest.approx(2000.0)
    c = issuer_snapshot(split.drop(columns="cap_basis"), ISSUERS, class_caps="class")
    assert c.loc["Alphabet", "market_cap"] == pytest.approx(2000.0)


def test_universe_and_history() -> None:
    f = pd.concat([snapshot("2025-01-01"), snapshot("2025-02-01")])
    f.loc[f["date"] == "2025-02-01", "eps"] *= 2
    table, when = group_valuation(
        f, [], as_of="2025-01-15", universe=["AAPL", "MISSING"], include_rest=False
    )
    assert when == pd.Timestamp("2025-01-01")
    assert table.loc["Index", "n_names"] == 2 and table.loc["Index", "n_missing"] == 1
    assert table.loc["Index", "pe"] == pytest.approx(20.0)
    hist = valuation_history(f, [group("Apple", ["AAPL"])], issuers=ISSUERS)
    np.testing.assert_allclose(hist["Apple"], [20.0, 10.0])
    with pytest.raises(DataUnavailableError):
        group_valuation(f, [], as_of="2024-01-01")


def test_aggregate_handles_empty_basket() -> None:
    out = aggregate_valuation(pd.DataFrame({"market_cap": [], "earnings": []}))
    assert np.isnan(out["pe"]) and out["n_names"] == 0
