"""Investable weight factors: from holdings, from files, on a grid; the Market's cap basis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.data.build import build_market
from counterweight.data.float_factors import (
    iwf_from_holdings,
    iwf_panel,
    pool_share_classes,
    read_float_file,
)
from counterweight.errors import DataUnavailableError, InputError
from counterweight.market import Market


def _holdings_case() -> tuple[pd.DataFrame, pd.Series, dict[str, float]]:
    # true IWFs; a fund holds index shares / k with k = 250
    true = {
        "A": 1.0,
        "B": 1.0,
        "C": 1.0,
        "D": 1.0,
        "E": 1.0,
        "F": 0.9,
        "G": 0.5,
        "H": 1.0,
        "I": 1.0,
        "J": 1.0,
    }
    out = pd.Series({t: 1.0e8 * (i + 1) for i, t in enumerate(true)})
    held = pd.DataFrame(
        {"ticker": list(true), "shares_held": [out[t] * true[t] / 250.0 for t in true]}
    )
    return held, out, true


def test_iwf_from_holdings_recovers_the_factors() -> None:
    held, out, true = _holdings_case()
    res = iwf_from_holdings(held, out, "2025-02-07")
    got = res.table.set_index("ticker")["iwf"]
    for t, v in true.items():
        assert got[t] == pytest.approx(v, rel=1e-12)
    assert res.k == pytest.approx(250.0, rel=1e-12)
    assert res.clipped == () and res.unmatched == ()


def test_iwf_above_one_is_clipped_and_reported() -> None:
    held, out, _ = _holdings_case()
    held.loc[held["ticker"] == "C", "shares_held"] *= 1.3  # stale shares outstanding
    held = pd.concat([held, pd.DataFrame({"ticker": ["ZZ"], "shares_held": [5.0]})])
    res = iwf_from_holdings(held, out, "2025-02-07")
    got = res.table.set_index("ticker")
    assert got.loc["C", "iwf"] == 1.0
    assert got.loc["C", "raw"] == pytest.approx(1.3, rel=1e-12)
    assert res.clipped == ("C",)
    assert res.unmatched == ("ZZ",)


def test_pooled_share_classes_keep_the_issuer_float() -> None:
    # company cap 300 split equally (150 + 150); class A holds 2/3 of the float shares
    table = pd.DataFrame(
        {"ticker": ["A1", "A2"], "iwf": [1.0, 0.6], "raw": [1.2, 0.6], "date": "2025-02-07"}
    )
    caps = pd.Series({"A1": 150.0, "A2": 150.0})
    out = pool_share_classes(table, caps, {"A1": "A", "A2": "A"}, {"A1", "A2"})
    float_caps = out.set_index("ticker")["iwf"] * caps
    # issuer factor (1.2 + 0.6) / 2 = 0.9 <= 1: the raw class factors are kept
    assert float_caps.sum() == pytest.approx(0.9 * 300.0, rel=1e-12)
    assert float_caps["A1"] == pytest.approx(180.0, rel=1e-12)


def test_iwf_panel_valid_from_date() -> None:
    dates = pd.bdate_range("2024-01-01", periods=6)  # Mon 1 .. Mon 8
    table = pd.DataFrame(
        {
            "ticker": ["A", "A", "B"],
            "date": pd.to_datetime(["2024-01-02", "2024-01-04", "2024-01-06"]),  # Sat -> Mon
            "iwf": [0.5, 0.8, 0.7],
        }
    )
    tickers = pd.Index(["A", "B", "C"])
    one = iwf_panel(table, dates, tickers)
    np.testing.assert_allclose(one[:, 0], [1.0, 0.5, 0.5, 0.8, 0.8, 0.8])
    np.testing.assert_allclose(one[:, 1], [1.0, 1.0, 1.0, 1.0, 1.0, 0.7])
    np.testing.assert_allclose(one[:, 2], 1.0)
    first = iwf_panel(table, dates, tickers, before_first="first")
    np.testing.assert_allclose(first[:, 0], [0.5, 0.5, 0.5, 0.8, 0.8, 0.8])


def test_read_float_files(tmp_path: Path) -> None:
    f = tmp_path / "iwf.csv"
    f.write_text("date,ticker,iwf\n2025-01-02,brk.b,0.8\n2025-01-02,AAPL,1\n")
    got = read_float_file(f)
    assert list(got["ticker"]) == ["AAPL", "BRK-B"]
    assert got["iwf"].tolist() == [1.0, 0.8]
    g = tmp_path / "idx.csv"
    g.write_text("date,ticker,index_shares,shares_outstanding\n2025-01-02,X,50,200\n")
    assert read_float_file(g)["iwf"].tolist() == [0.25]
    h = tmp_path / "holdings_2025-02-07.csv"
    h.write_text("Ticker,Shares Held\nA,10\nB,20\nC,5\n")
    so = pd.Series({"A": 1000.0, "B": 2000.0, "C": 1000.0})
    got = read_float_file(h, shares_outstanding=so).set_index("ticker")
    assert got.loc["C", "iwf"] == pytest.approx(0.5)
    assert got.loc["A", "date"] == pd.Timestamp("2025-02-07")


@settings(max_examples=25, deadline=None)
@given(bad=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0001, max_value=1e6)))
def test_bad_iwf_names_row_and_column(tmp_path_factory: pytest.TempPathFactory, bad: float) -> None:
    f = tmp_path_factory.mktemp("iwf") / "iwf.csv"
    f.write_text(f"date,ticker,iwf\n2025-01-02,A,0.5\n2025-01-02,B,{bad!r}\n")
    with pytest.raises(InputError) as e:
        read_float_file(f)
    msg = str(e.value)
    assert "iwf.csv" in msg and "row 3" in msg and "iwf" in msg


def test_bad_float_files(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("date,ticker,weight\n2025-01-02,A,0.5\n")
    with pytest.raises(InputError, match="iwf"):
        read_float_file(f)
    g = tmp_path / "y.csv"
    g.write_text("date,ticker,iwf\nnot-a-date,A,0.5\n")
    with pytest.raises(InputError, match="row 2"):
        read_float_file(g)
    h = tmp_path / "z.csv"
    h.write_text("date,ticker,index_shares\n2025-01-02,A,5\n")
    with pytest.raises(InputError, match="shares outstanding"):
        read_float_file(h)


def _market(iwf: pd.DataFrame | None) -> Market:
    dates = pd.bdate_range("2024-01-01", periods=4)
    prices = pd.DataFrame(
        {"A": [10.0, 11.0, 12.0, 13.0], "B": [20.0, 20.0, 21.0, 22.0]}, index=dates
    )
    caps = pd.DataFrame(
        {"date": [dates[0]] * 2, "ticker": ["A", "B"], "market_cap": [100.0, 300.0]}
    )
    caps["date"] = caps["date"] + pd.Timedelta(days=1)  # anchored on the first close
    return build_market(prices, caps=caps, float_factors=iwf)


def test_float_basis_weights_by_brute_force() -> None:
    iwf = pd.DataFrame({"ticker": ["B"], "date": [pd.Timestamp("2024-01-01")], "iwf": [0.5]})
    m = _market(iwf)
    assert m.basis == "float" and m.provenance.cap_basis == "float"
    w = m.cap_weights("2024-01-01")
    # float caps 100 and 0.5 x 300 = 150
    assert w["A"] == pytest.approx(100 / 250, rel=1e-15)
    assert w["B"] == pytest.approx(150 / 250, rel=1e-15)
    c = m.with_basis("company")
    assert c.provenance.cap_basis == "company"
    assert c.cap_weights("2024-01-01")["A"] == pytest.approx(0.25, rel=1e-15)
    back = c.with_basis("float")
    np.testing.assert_array_equal(back.caps, m.caps)
    assert m.provenance.to_dict()["cap_basis"] == "float"
    sl = m.slice("2024-01-02", None)
    assert sl.iwf.shape == sl.caps.shape and sl.provenance.data_end == m.dates[-1]


def test_company_market_without_factors() -> None:
    m = _market(None)
    assert m.basis == "company"
    with pytest.raises(DataUnavailableError, match="--kind float"):
        m.with_basis("float")
    with pytest.raises(InputError, match="basis"):
        m.with_basis("free")


def test_store_imports_float_factors(tmp_path: Path) -> None:
    from counterweight.data.store import Store

    prices = tmp_path / "p.csv"
    prices.write_text(
        "date,ticker,price\n2024-01-02,A,10\n2024-01-02,B,20\n2024-01-03,A,11\n2024-01-03,B,20\n"
    )
    caps = tmp_path / "c.csv"
    # shares outstanding = cap / the stored price on the cap's date: A 110 / 11, B 400 / 20
    caps.write_text("date,ticker,market_cap\n2024-01-03,A,110\n2024-01-03,B,400\n")
    held = tmp_path / "spy_2024-01-02.csv"
    # shares outstanding A 10, B 20; held 10 / k and 10 / k: B's factor is 0.5
    held.write_text("Ticker,Shares Held\nA,1\nB,1\n")
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        st.import_file(prices, "prices")
        st.import_file(caps, "caps")
        st.import_file(held, "float")
        m = st.market()
    assert m.basis == "float"
    iwf = m.iwf
    assert iwf is not None
    np.testing.assert_allclose(iwf[-1], [1.0, 0.5])
    # the caps dated 01-03 anchor on the close of 01-02: company caps 110 and 400, B float 200
    w = m.cap_weights("2024-01-02")
    assert w["B"] == pytest.approx(200 / 310, rel=1e-12)
