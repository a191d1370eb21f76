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


# ----------------------------------------------------------------- snapshot age, history, gap

from counterweight.errors import ConfigError  # noqa: E402
from counterweight.groups import MAG7  # noqa: E402
from counterweight.measure.fundamentals import snapshot_data  # noqa: E402
from counterweight.measure.valuation import earnings_gap, valuation_at  # noqa: E402


def test_valuation_at_states_the_snapshot_age() -> None:
    f = pd.concat([snapshot("2025-01-01"), snapshot("2025-02-01")])
    r = valuation_at(f, [], as_of="2025-03-15", issuers=ISSUERS)
    assert r.snapshot == pd.Timestamp("2025-02-01") and r.age_days == 42
    assert r.to_dict() == {"snapshot": "2025-02-01", "as_of": "2025-03-15", "age_days": 42}
    table, _ = group_valuation(f, [], as_of="2025-03-15", issuers=ISSUERS)
    pd.testing.assert_frame_equal(r.table, table)
    assert valuation_at(f, [], issuers=ISSUERS).age_days == 0


def test_history_equals_one_snapshot_at_a_time() -> None:
    rng = np.random.default_rng(5)
    frames = []
    for k, d in enumerate(pd.date_range("2024-01-31", periods=6, freq="ME")):
        s = snapshot(str(d.date()))
        s["eps"] = s["eps"] * (1 + 0.1 * k) + rng.normal(0, 0.1, len(s))
        frames.append(s if k != 3 else s[s["ticker"] != "GOOG"])  # one date lists one class
    f = pd.concat(frames, ignore_index=True)
    big = group("Big", ["AAPL", "GOOGL", "GOOG"])
    hist = valuation_history(f, [big], issuers=ISSUERS)
    for d in hist.index:
        one, _ = group_valuation(f[f["date"] == d], [big], issuers=ISSUERS)
        np.testing.assert_allclose(hist.loc[d].to_numpy(), one.loc[hist.columns, "pe"].to_numpy())


def gap_snapshots(dates: list[str], mag_growth: float, rest_growth: float) -> pd.DataFrame:
    """Mag 7 (AAPL, Alphabet in two classes) and two other names, EPS compounding yearly."""
    frames = []
    t0 = pd.Timestamp(dates[0])
    for d in dates:
        years = (pd.Timestamp(d) - t0).days / 365.25
        gm, gr = (1 + mag_growth) ** years, (1 + rest_growth) ** years
        rows = [
            ("AAPL", 100.0, 1000.0, 5.0 * gm),
            ("GOOGL", 50.0, 800.0, 2.0 * gm),
            ("GOOG", 50.0, 800.0, 2.0 * gm),
            ("KO", 60.0, 300.0, 3.0 * gr),
            ("XOM", 100.0, 500.0, 8.0 * gr),
        ]
        s = pd.DataFrame(rows, columns=["ticker", "price", "market_cap", "eps"])
        s.insert(0, "date", pd.Timestamp(d))
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def test_earnings_gap_windows_and_reasons() -> None:
    dates = ["2015-01-05", "2016-01-04", "2024-01-02", "2024-07-01", "2025-01-02", "2025-02-03"]
    f = gap_snapshots(dates, 0.30, 0.05)
    g = earnings_gap(
        f, MAG7, as_of="2025-02-10", windows=("1M", "1Y", "3Y", "10Y"), issuers=ISSUERS
    )
    w = g.windows
    assert g.end == pd.Timestamp("2025-02-03") and g.age_days == 7
    years = (pd.Timestamp("2025-02-03") - pd.Timestamp("2024-01-02")).days / 365.25
    # 1Y: the snapshot nearest 2024-02-03 within 36.5 days is 2024-01-02 (32 days away)
    assert w.loc["1Y", "start"] == pd.Timestamp("2024-01-02")
    assert w.loc["1Y", "Mag 7"] == pytest.approx(1.30**years - 1)
    assert w.loc["1Y", "Rest"] == pytest.approx(1.05**years - 1)
    assert w.loc["1Y", "gap"] == pytest.approx(1.30**years - 1.05**years)
    assert w.loc["1Y", "Mag 7 (annualised)"] == pytest.approx(0.30)
    assert w.loc["1Y", "reason"] == ""
    # 3Y: nothing near 2022-02-03
    assert np.isnan(w.loc["3Y", "Mag 7"])
    assert w.loc["3Y", "reason"].startswith("no snapshot within 92 days of 2022-02-03")
    assert w.loc["10Y", "start"] == pd.Timestamp("2015-01-05")
    assert g.available == ["1M", "1Y", "10Y"]
    # index of the whole basket: Mag 7 and Rest weighted by their earnings
    e_mag = 1000 * 5 / 100 + 800 * 2 / 50
    e_rest = 300 * 3 / 60 + 500 * 8 / 100
    assert g.earnings.loc["2015-01-05", "Mag 7"] == pytest.approx(e_mag)
    assert g.earnings.loc["2015-01-05", "Rest"] == pytest.approx(e_rest)
    # the chain-linked index is the product of the consecutive like-for-like links
    total = (pd.Timestamp("2025-02-03") - pd.Timestamp("2015-01-05")).days / 365.25
    assert g.index["Mag 7"].iloc[-1] == pytest.approx(1.30**total)
    # trailing 1Y exists only where a snapshot sits about a year earlier
    t = g.trailing["Mag 7"].dropna()
    assert list(t.index) == [pd.Timestamp(d) for d in ("2016-01-04", "2025-01-02", "2025-02-03")]
    assert g.spacing.n == 6 and g.spacing.largest_gaps[0][:2] == (
        pd.Timestamp("2016-01-04"),
        pd.Timestamp("2024-01-02"),
    )


def test_earnings_gap_since_row_and_no_look_ahead() -> None:
    dates = ["2023-01-03", "2024-06-03", "2025-08-01", "2026-01-02"]
    f = gap_snapshots(dates, 0.20, 0.10)
    g = earnings_gap(f, MAG7, as_of="2025-12-31", windows=("1Y",), issuers=ISSUERS)
    assert g.end == pd.Timestamp("2025-08-01")  # the 2026 snapshot is after as_of
    assert np.isnan(g.windows.loc["1Y", "Mag 7"])  # nothing within 36 days of 2024-08-01
    since = g.windows.loc["since 2024-06-03"]
    years = (pd.Timestamp("2025-08-01") - pd.Timestamp("2024-06-03")).days / 365.25
    assert since["years"] == pytest.approx(years)
    assert since["Mag 7"] == pytest.approx(1.2**years - 1) and since["reason"] == ""
    cut = earnings_gap(f[f["date"] <= "2025-12-31"], MAG7, windows=("1Y",), issuers=ISSUERS)
    pd.testing.assert_frame_equal(cut.windows, g.windows)


def test_partial_snapshots_and_coverage() -> None:
    f = gap_snapshots(["2024-01-02", "2025-01-02"], 0.2, 0.1)
    partial = f[f["date"] == "2025-01-02"].iloc[:1].assign(date=pd.Timestamp("2024-06-03"))
    f = pd.concat([f, partial], ignore_index=True)
    g = earnings_gap(f, MAG7, windows=("1Y",), issuers=ISSUERS)
    assert pd.Timestamp("2024-06-03") not in g.earnings.index
    assert g.notes and "2024-06-03" in g.notes[0]
    # Alphabet lacks EPS at the end: like-for-like Mag 7 is Apple only, 1000 / 1800 of its cap
    f2 = f.copy()
    f2.loc[(f2["date"] == "2025-01-02") & f2["ticker"].str.startswith("GOOG"), "eps"] = np.nan
    g2 = earnings_gap(f2, MAG7, windows=("1Y",), issuers=ISSUERS)
    assert np.isnan(g2.windows.loc["1Y", "Mag 7"])
    assert "cover 56% of Mag 7's cap" in g2.windows.loc["1Y", "reason"]
    ok = earnings_gap(f2, MAG7, windows=("1Y",), issuers=ISSUERS, min_coverage=0.5)
    assert ok.windows.loc["1Y", "Mag 7"] == pytest.approx(1.2 ** (366 / 365.25) - 1)
    with pytest.raises(ConfigError, match="exactly"):
        earnings_gap(snapshot_data(f, [MAG7, group("X", ["KO"])]), MAG7)


def test_a_caps_only_snapshot_is_not_a_valuation_snapshot() -> None:
    caps_only = pd.DataFrame(
        {"date": pd.Timestamp("2025-03-01"), "ticker": ["AAPL"], "market_cap": [3100.0]}
    )
    f = pd.concat([snapshot("2025-01-01"), caps_only], ignore_index=True)
    r = valuation_at(f, [], as_of="2025-03-15", issuers=ISSUERS)
    assert r.snapshot == pd.Timestamp("2025-01-01") and r.age_days == 73
