"""Concentration kernels and API against brute-force and pandas references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from counterweight.errors import InputError
from counterweight.groups import MAG7, group
from counterweight.market import Market
from counterweight.measure.concentration import (
    concentration_history,
    effective_n,
    hhi,
    normalize_rows,
    portfolio_concentration,
    sum_columns_by_code,
    top_holdings,
    top_n_shares,
    versus_history,
)


def synthetic_market(t: int = 60, n: int = 12, seed: int = 0) -> Market:
    """Random caps and prices; GOOG/GOOGL share an issuer; one member leaves half-way."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-12-20", periods=t)
    tickers = [
        "AAPL",
        "MSFT",
        "NVDA",
        "GOOGL",
        "GOOG",
        "XOM",
        "JPM",
        "KO",
        "PFE",
        "CAT",
        "T",
        "NEE",
    ][:n]
    px = pd.DataFrame(
        100 * np.cumprod(1 + rng.normal(0, 0.02, (t, n)), axis=0), index=dates, columns=tickers
    )
    caps = px * rng.uniform(1e9, 5e10, n)
    members = pd.DataFrame(True, index=dates, columns=tickers)
    members.iloc[t // 2 :, -1] = False
    sectors = (
        ["Information Technology"] * 3
        + ["Communication Services"] * 2
        + [
            "Energy",
            "Financials",
            "Consumer Staples",
            "Health Care",
            "Industrials",
            "Communication Services",
            "Utilities",
        ]
    )
    sec = pd.DataFrame({"name": tickers, "issuer": tickers, "sector": sectors[:n]}, index=tickers)
    sec.loc[["GOOGL", "GOOG"], "issuer"] = "Alphabet"
    return Market.from_frames(px, caps=caps, members=members, securities=sec)


weights_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 15)),
    elements=st.one_of(st.just(np.nan), st.floats(0, 100, allow_nan=False)),
)


@settings(max_examples=80, deadline=None)
@given(weights_rows, st.lists(st.integers(1, 20), min_size=1, max_size=4))
def test_top_n_matches_full_sort(x: np.ndarray, ns: list[int]) -> None:
    w = normalize_rows(x)
    got = top_n_shares(w, ns)
    for t in range(w.shape[0]):
        row = w[t][np.isfinite(w[t])]
        for j, n in enumerate(ns):
            if row.size == 0:
                assert np.isnan(got[t, j])
            else:
                assert got[t, j] == pytest.approx(np.sort(row)[::-1][:n].sum(), abs=1e-12)


def test_top_n_with_ties_and_few_names() -> None:
    w = np.array([[0.3, 0.2, 0.2, 0.2, 0.1], [0.5, 0.5, np.nan, np.nan, np.nan]])
    got = top_n_shares(w, [1, 2, 3, 10])
    np.testing.assert_allclose(got[0], [0.3, 0.5, 0.7, 1.0])
    np.testing.assert_allclose(got[1], [0.5, 1.0, 1.0, 1.0])
    with pytest.raises(InputError):
        top_n_shares(w, [0])


@settings(max_examples=80, deadline=None)
@given(weights_rows)
def test_hhi_bounds_and_effective_n(x: np.ndarray) -> None:
    w = normalize_rows(x)
    h = hhi(w)
    n_held = np.sum(np.isfinite(w) & (w > 0), axis=1)
    for t in range(w.shape[0]):
        if np.isnan(w[t]).all():
            assert np.isnan(h[t])
            continue
        assert 1.0 / n_held[t] - 1e-12 <= h[t] <= 1.0 + 1e-12
        assert h[t] == pytest.approx(np.nansum(w[t] ** 2))
    en = effective_n(w)
    ok = np.isfinite(h)
    np.testing.assert_allclose(en[ok], 1 / h[ok])


def test_hhi_closed_forms() -> None:
    w = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, np.nan, np.nan, np.nan], [0.5, 0.3, 0.2, np.nan]])
    np.testing.assert_allclose(hhi(w), [0.25, 1.0, 0.38])
    np.testing.assert_allclose(effective_n(w), [4.0, 1.0, 1 / 0.38])


@settings(max_examples=50, deadline=None)
@given(weights_rows, st.data())
def test_sum_columns_by_code_matches_pandas(x: np.ndarray, data: st.DataObject) -> None:
    n = x.shape[1]
    codes = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    got = sum_columns_by_code(x, codes, 5)
    ref = pd.DataFrame(x).T.groupby(codes).sum(min_count=1).T.reindex(columns=range(5))
    np.testing.assert_allclose(got, ref.to_numpy(), equal_nan=True)


def reference_concentration(market: Market) -> pd.DataFrame:
    """Plain pandas, one date at a time: caps of members, grouped by issuer, sorted."""
    caps = market.caps_frame().where(market.members_frame())
    issuer = market.securities["issuer"]
    rows = {}
    for d, row in caps.iterrows():
        by_iss = row.dropna().groupby(issuer.reindex(row.dropna().index)).sum()
        w = by_iss / by_iss.sum()
        srt = w.sort_values(ascending=False)
        sec = market.securities["sector"].reindex(row.dropna().index)
        wt = row.dropna() / row.dropna().sum()
        rows[d] = {
            "top1": srt.iloc[:1].sum(),
            "top5": srt.iloc[:5].sum(),
            "top10": srt.iloc[:10].sum(),
            "hhi": (w**2).sum(),
            "effective_n": 1 / (w**2).sum(),
            "n_names": float(len(w)),
            "Mag 7": wt[wt.index.isin(MAG7.tickers)].sum(),
            "IT + Comm": wt[sec.isin(["Information Technology", "Communication Services"])].sum(),
        }
    return pd.DataFrame(rows).T


def test_concentration_history_matches_pandas_reference() -> None:
    m = synthetic_market()
    got = concentration_history(m)
    ref = reference_concentration(m)
    pd.testing.assert_frame_equal(
        got.measures[ref.columns], ref, check_names=False, check_freq=False
    )
    np.testing.assert_allclose(got.sectors.sum(axis=1), 1.0)
    assert got.level == "issuer"


def test_issuer_merging_counts_alphabet_once() -> None:
    dates = pd.bdate_range("2024-01-01", periods=2)
    px = pd.DataFrame(1.0, index=dates, columns=["GOOGL", "GOOG", "AAPL", "KO"])
    caps = pd.DataFrame([[30.0, 30.0, 40.0, 0.0]] * 2, index=dates, columns=px.columns).replace(
        0.0, np.nan
    )
    sec = pd.DataFrame({"issuer": ["Alphabet", "Alphabet", "Apple", "Coca-Cola"]}, index=px.columns)
    m = Market.from_frames(px, caps=caps, securities=sec)
    issuer = concentration_history(m).measures.iloc[-1]
    ticker = concentration_history(m, issuer_level=False).measures.iloc[-1]
    assert issuer["top1"] == pytest.approx(0.6)  # Alphabet 60 of 100
    assert ticker["top1"] == pytest.approx(0.4)  # Apple as the largest ticker
    assert issuer["hhi"] == pytest.approx(0.6**2 + 0.4**2)
    assert ticker["hhi"] == pytest.approx(0.3**2 * 2 + 0.4**2)
    assert issuer["n_names"] == 2 and ticker["n_names"] == 3  # KO has no cap
    assert issuer["Mag 7"] == pytest.approx(1.0)
    tops = top_holdings(m, n=5)
    assert list(tops.index) == ["Alphabet", "Apple"] and tops["tickers"].iloc[0] == "GOOGL+GOOG"
    assert tops["cumulative"].iloc[-1] == pytest.approx(1.0)


def test_versus_history_against_numpy_percentile() -> None:
    idx = pd.bdate_range("2024-01-01", periods=200)
    rng = np.random.default_rng(3)
    s = pd.Series(rng.normal(size=200), index=idx, name="x")
    s.iloc[10] = np.nan
    r = versus_history(s, as_of=idx[150])
    hist = s.iloc[:151].dropna()
    assert r.current == hist.iloc[-1]
    assert r.average == pytest.approx(hist.mean())
    # percentile of score, "weak" definition: share of observations <= current
    assert r.percentile == pytest.approx((hist <= hist.iloc[-1]).sum() / len(hist))
    assert r.n_obs == 150 and r.maximum == hist.max() and r.max_date == hist.idxmax()


def test_portfolio_concentration_series_and_errors() -> None:
    sec = pd.DataFrame(
        {
            "issuer": ["Alphabet", "Alphabet", "Apple"],
            "sector": ["Communication Services"] * 2 + ["Information Technology"],
        },
        index=["GOOGL", "goog", "AAPL"],
    )
    w = pd.Series(
        {"GOOGL": 0.2, "GOOG": 0.2, "AAPL": 0.4, "CASH": np.nan}, name=pd.Timestamp("2024-05-01")
    )
    res = portfolio_concentration(w, securities=sec, groups=[MAG7, group("Apple", ["AAPL"])])
    row = res.measures.iloc[0]
    assert row["top1"] == pytest.approx(0.5) and row["Apple"] == pytest.approx(0.5)
    assert row["IT + Comm"] == pytest.approx(1.0)
    with pytest.raises(InputError):
        portfolio_concentration(pd.Series({"A": 0.5, "B": -0.1}))


def test_portfolio_of_index_weights_matches_index_history() -> None:
    m = synthetic_market()
    caps = m.caps_frame().where(m.members_frame())
    weights = caps.div(caps.sum(axis=1), axis=0)
    port = portfolio_concentration(weights, securities=m.securities)
    index = concentration_history(m)
    pd.testing.assert_frame_equal(
        port.measures, index.measures, check_freq=False, check_names=False
    )
    pd.testing.assert_frame_equal(port.sectors, index.sectors, check_freq=False, check_names=False)


def test_three_share_classes_merge() -> None:
    dates = pd.bdate_range("2024-01-01", periods=1)
    cols = ["A1", "A2", "A3", "B", "C"]
    px = pd.DataFrame(1.0, index=dates, columns=cols)
    caps = pd.DataFrame([[10.0, 10.0, 10.0, 40.0, 30.0]], index=dates, columns=cols)
    sec = pd.DataFrame({"issuer": ["A", "A", "A", "B", "C"]}, index=cols)
    row = concentration_history(
        Market.from_frames(px, caps=caps, securities=sec), groups=[]
    ).measures.iloc[0]
    assert row["top1"] == pytest.approx(0.4) and row["top5"] == pytest.approx(1.0)
    assert row["hhi"] == pytest.approx(0.3**2 + 0.4**2 + 0.3**2) and row["n_names"] == 3
