"""Fund holdings importers: the issuers' layouts, cash / futures / currency lines, clear errors.

Each fixture below is written from a published layout found with the project's search tool;
the comment above it says where. Numbers are made up but small enough to check by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterweight.data.funds import (
    HoldingsLibrary,
    embedded_holdings,
    load_from_store,
    read_fund_file,
    save_to_store,
)
from counterweight.data.store import Store
from counterweight.errors import InputError

SHARED = Path("/work/shared/data/holdings")

# SSGA daily holdings as State Street publishes them (holdings-daily-us-en-spy.xlsx saved as
# CSV): "Fund Name:", "Ticker Symbol:", "Holdings:, As of DD-Mon-YYYY", a blank line, the header
# on line 5 and disclaimer lines after the table. Layout from tradingwithpandas/IndexMonkey,
# index_monkey/scrapers/__init__.py (date on the 3rd row parsed with 'As of %d-%b-%Y', data
# from the 6th row, 19 trailer rows, cash lines with sector 'Unassigned'); columns and the '-'
# ticker of the US DOLLAR line exactly as in the shared spy_holdings_ssga_2025-02-07.csv.
SSGA = """Fund Name:,SPDR S&P 500 ETF Trust
Ticker Symbol:,SPY
Holdings:,As of 07-Feb-2025

Name,Ticker,Identifier,SEDOL,Weight,Sector,Shares Held,Local Currency
APPLE INC,AAPL,037833100,2046251,6.727683,-,185531362.0,USD
ALPHABET INC CL A,GOOGL,02079K305,BYVY8G0,2.119826,-,71719146.0,USD
ALPHABET INC CL C,GOOG,02079K107,BYY88Y7,1.750000,-,58000000.0,USD
BERKSHIRE HATHAWAY INC CL B,BRK.B ,084670702,2073390,1.700000,-,20000000.0,USD
US DOLLAR,-,999USDZ92,,0.070000,Unassigned,444601656.78,USD

Past performance is not a guarantee of future results.
"Holdings are subject to change."
"""

# iShares CSV download (…/1467271812596.ajax?fileType=csv&fileName=IVV_holdings&dataType=fund):
# nine lines before the header with the date on line 2 ("Fund Holdings as of"); pvotio/
# ishares-components engine/utils.py reads these files with 9 preamble rows and
# engine/ishare.py takes the date from the top; column names (Ticker, Name, Sector, Asset Class,
# Market Value, Weight (%), Notional Value, Quantity / Shares, Price, ...) as mapped in the
# iShares header maps found beside it. Cash, money-market (XTSLA) and futures lines carry the
# sector 'Cash and/or Derivatives'; a quoted disclaimer follows a blank line.
ISHARES = """iShares Core S&P 500 ETF
Fund Holdings as of,"Oct 03, 2025"
Inception Date,"May 15, 2000"
Shares Outstanding,"1,001,000,000.00"
Stock,"-"
Bond,"-"
Cash,"-"
Other,"-"
\xa0
Ticker,Name,Sector,Asset Class,Market Value,Weight (%),Notional Value,Quantity,Price,Location,Exchange,Currency,FX Rate,Market Currency,Accrual Date
"NVDA","NVIDIA CORP","Information Technology","Equity","50,000,000.00","7.50","50,000,000.00","268,000.00","186.57","United States","NASDAQ","USD","1.00","USD","-"
"MSFT","MICROSOFT CORP","Information Technology","Equity","44,000,000.00","6.60","44,000,000.00","85,000.00","517.35","United States","NASDAQ","USD","1.00","USD","-"
"XTSLA","BLK CSH FND TREASURY SL AGENCY","Cash and/or Derivatives","Money Market","600,000.00","0.09","600,000.00","600,000.00","1.00","United States","-","USD","1.00","USD","-"
"ESZ5","S&P500 EMINI DEC 25","Cash and/or Derivatives","Futures","0.00","0.00","2,000,000.00","6.00","6,700.00","United States","Chicago Mercantile Exchange","USD","1.00","USD","-"
"USD","USD CASH","Cash and/or Derivatives","Cash","100,000.00","0.01","100,000.00","100,000.00","100.00","United States","-","USD","1.00","USD","Jan 01, 2000"
\xa0
"The content contained herein is owned or licensed by BlackRock and/or its third-party information providers."
"""

# Invesco holdings export: the record layout "Fund Ticker", "Security Identifier", "Holding
# Ticker", "Shares/Par Value", "MarketValue", "Weight", "Name", "Class of Shares", "Sector",
# "Date" (example values '305,938', '26,790,990.66', 19.633, 08/25/2022) from the
# InvescoHoldingRecord interface found with search (an Invesco ETF holdings client).
INVESCO = """Fund Ticker,Security Identifier,Holding Ticker,Shares/Par Value,MarketValue,Weight,Name,Class of Shares,Sector,Date
QQQ,67066G104,NVDA    ,"305,938","57,000,000.00",9.921,NVIDIA Corp,Common Stock,Information Technology,10/03/2025
QQQ,594918104,MSFT,"100,000","47,600,000.00",8.286,Microsoft Corp,Common Stock,Information Technology,10/03/2025
QQQ,,USD,"45,000","45,000.00",0.010,U.S. Dollar,Cash,Cash,10/03/2025
RSP,037833100,AAPL,"10,000","2,250,000.00",0.200,Apple Inc,Common Stock,Information Technology,10/03/2025
"""

# Vanguard "Holdings details" export: title, fund name with the ticker in parentheses,
# "Equity,as of MM/DD/YYYY", then ",SEDOL,HOLDINGS,TICKER,% OF FUNDS*,SECTOR,COUNTRY,SECURITY
# DEPOSITORY RECEIPT TYPE,MARKET VALUE*,SHARES" with an empty first column; blank lines between.
# Layout from mkim0710/tidystat (an R reader of Holdings_details_Total_World_Stock_ETF 200930.csv,
# whose comments print the raw file's first lines).
VANGUARD = """Holdings details

Total World Stock ETF (VT)


Equity,as of 09/30/2020

,SEDOL,HOLDINGS,TICKER,% OF FUNDS*,SECTOR,COUNTRY,SECURITY DEPOSITORY RECEIPT TYPE,MARKET VALUE*,SHARES
,2046251,Apple Inc.,AAPL,3.33%,Information Technology,United States,,"$642,000,000","5,540,000"
,2588173,Microsoft Corp.,MSFT,2.61%,Information Technology,United States,,"$503,000,000","2,390,000"
,B0YBKJ7,Amazon.com Inc.,AMZN,2.07%,Consumer Discretionary,United States,,"$399,000,000","126,000"
"""

# The shared snapshot layout (etf_holdings_qqq_iwm_mdy_spsm_2025-10.csv, from major/index-etfs):
# trailing spaces in tickers as the raw issuer files carry them, CASH_USD, an E-mini future,
# an earn-out and Pathward Financial, whose ticker is CASH.
SNAPSHOT = """fund,snapshot_date,ticker,name,weight_pct
MDY,2025-10-04,CASH_USD,U.S. Dollar,0.948074
MDY,2025-10-04,EME ,EMCOR Group Inc,0.7
MDY,2025-10-04,CASY,Caseys General Stores Inc,98.351926
SPSM,2025-10-04,CASH,PATHWARD FINANCIAL INC,0.114
SPSM,2025-10-04,RTYZ5,E-MINI RUSS 2000  DEC25,0.002138
SPSM,2025-10-04,2200963D,OMNIAB INC   12.5 EARNOUT,0.0
SPSM,2025-10-04,CVI,CVR ENERGY INC,99.0
"""


def _w(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_ssga_preamble_percent_cash_and_trailing_space(tmp_path: Path) -> None:
    (h,) = read_fund_file(_w(tmp_path, "spy.csv", SSGA))
    assert (h.fund, h.date, h.layout) == ("SPY", pd.Timestamp("2025-02-07"), "ssga")
    eq = h.equity
    assert list(eq.index) == ["AAPL", "GOOGL", "GOOG", "BRK-B"]
    assert eq["AAPL"] == pytest.approx(0.06727683, abs=1e-15)
    cash = h.lines[h.lines["kind"] == "cash"]
    assert len(cash) == 1 and cash["weight"].iloc[0] == pytest.approx(0.0007, abs=1e-15)
    assert h.lines.loc[h.lines["ticker"] == "AAPL", "shares"].iloc[0] == 185531362.0
    assert h.non_equity == pytest.approx(1 - (6.727683 + 2.119826 + 1.75 + 1.7) / 100, abs=1e-12)


def test_ishares_nine_line_preamble_futures_money_market(tmp_path: Path) -> None:
    (h,) = read_fund_file(_w(tmp_path, "IVV_holdings.csv", ISHARES))
    assert (h.fund, h.date, h.layout) == ("IVV", pd.Timestamp("2025-10-03"), "ishares")
    kinds = dict(zip(h.lines["ticker"], h.lines["kind"], strict=True))
    assert kinds == {
        "NVDA": "equity",
        "MSFT": "equity",
        "XTSLA": "cash",
        "ESZ5": "future",
        "USD": "cash",
    }
    assert h.equity.to_dict() == pytest.approx({"NVDA": 0.075, "MSFT": 0.066}, abs=1e-15)
    assert h.lines.set_index("ticker").loc["NVDA", "sector"] == "Information Technology"


def test_invesco_two_funds_in_one_file(tmp_path: Path) -> None:
    out = read_fund_file(_w(tmp_path, "invesco.csv", INVESCO))
    assert [(h.fund, h.date) for h in out] == [
        ("QQQ", pd.Timestamp("2025-10-03")),
        ("RSP", pd.Timestamp("2025-10-03")),
    ]
    qqq = out[0]
    assert qqq.layout == "invesco"
    assert qqq.equity.to_dict() == pytest.approx({"NVDA": 0.09921, "MSFT": 0.08286}, abs=1e-15)
    assert qqq.lines.set_index("ticker").loc["NVDA", "shares"] == 305938.0
    assert (qqq.lines["kind"] == "cash").sum() == 1


def test_vanguard_percent_signs_and_ticker_in_title(tmp_path: Path) -> None:
    (h,) = read_fund_file(_w(tmp_path, "vt.csv", VANGUARD))
    assert (h.fund, h.date, h.layout) == ("VT", pd.Timestamp("2020-09-30"), "vanguard")
    assert h.equity.to_dict() == pytest.approx({"AAPL": 0.0333, "MSFT": 0.0261, "AMZN": 0.0207})
    assert h.lines.set_index("ticker").loc["AMZN", "shares"] == 126000.0


def test_snapshot_kinds_trailing_spaces_and_real_tickers_named_cash(tmp_path: Path) -> None:
    mdy, spsm = read_fund_file(_w(tmp_path, "snap.csv", SNAPSHOT))
    assert "EME" in mdy.equity.index and "EME " not in mdy.equity.index
    k = dict(zip(spsm.lines["ticker"], spsm.lines["kind"], strict=True))
    assert k == {"CASH": "equity", "RTYZ5": "future", "2200963D": "other", "CVI": "equity"}
    assert dict(zip(mdy.lines["ticker"], mdy.lines["kind"], strict=True))["CASH-USD"] == "cash"


def test_generic_fraction_percent_and_shares(tmp_path: Path) -> None:
    frac = _w(
        tmp_path,
        "g1.csv",
        "fund,date,ticker,weight\nABC,2025-01-31,AAA,0.6\nABC,2025-01-31,BBB,0.4\n",
    )
    (h,) = read_fund_file(frac)
    assert h.equity.to_dict() == {"AAA": 0.6, "BBB": 0.4} and not h.notes
    pct = _w(
        tmp_path,
        "g2.csv",
        "fund,date,ticker,weight\nABC,2025-01-31,AAA,60\nABC,2025-01-31,BBB,40\n",
    )
    (h2,) = read_fund_file(pct)
    assert h2.equity.to_dict() == pytest.approx({"AAA": 0.6, "BBB": 0.4}, abs=1e-15)
    assert "read as percent" in h2.notes[0]
    sh = _w(
        tmp_path,
        "g3.csv",
        "fund,date,ticker,shares,price\nABC,2025-01-31,AAA,30,10\nABC,2025-01-31,BBB,10,20\n",
    )
    (h3,) = read_fund_file(sh)
    assert h3.equity.to_dict() == pytest.approx({"AAA": 0.6, "BBB": 0.4}, abs=1e-15)


def test_fund_and_date_given_when_the_file_has_none(tmp_path: Path) -> None:
    body = SSGA.split("\n", 4)[4]  # header and table only, like the shared SPY file
    p = _w(tmp_path, "spy_plain.csv", body)
    with pytest.raises(InputError, match="no fund named"):
        read_fund_file(p)
    (h,) = read_fund_file(p, fund="SPY", date="2025-02-07")
    assert h.fund == "SPY" and len(h.equity) == 4
    with pytest.raises(InputError, match="is for SPY, not QQQ"):
        read_fund_file(_w(tmp_path, "spy2.csv", SSGA), fund="QQQ")


@pytest.mark.skipif(not SHARED.exists(), reason="shared data absent")
def test_real_files_and_the_embedded_copy_agree() -> None:
    (spy,) = read_fund_file(
        SHARED / "spy_holdings_ssga_2025-02-07.csv", fund="SPY", date="2025-02-07"
    )
    ref = pd.read_csv(SHARED / "spy_holdings_ssga_2025-02-07.csv")
    stocks = ref[ref["Ticker"].str.strip() != "-"]
    assert len(spy.lines) == 505
    assert spy.equity.sum() == pytest.approx(stocks["Weight"].sum() / 100, abs=1e-12)
    snaps = {
        h.fund: h for h in read_fund_file(SHARED / "etf_holdings_qqq_iwm_mdy_spsm_2025-10.csv")
    }
    emb = {h.fund: h for h in embedded_holdings()}
    assert set(emb) == {"SPY", "QQQ", "IWM", "MDY", "SPSM"}
    for f, h in snaps.items():
        np.testing.assert_allclose(
            emb[f].equity.sort_index().to_numpy(), h.equity.sort_index().to_numpy(), atol=1e-12
        )
    raw = pd.read_csv(SHARED / "etf_holdings_qqq_iwm_mdy_spsm_2025-10.csv")
    assert snaps["QQQ"].lines["weight"].sum() == pytest.approx(
        raw.loc[raw["fund"] == "QQQ", "weight_pct"].sum() / 100, abs=1e-12
    )


def test_embedded_funds_add_up() -> None:
    for h in embedded_holdings():
        assert 0.99 <= h.lines["weight"].sum() <= 1.0 + 1e-9, h.fund
        assert (h.lines["weight"] >= 0).all()


@pytest.mark.parametrize(
    ("text", "needle", "row", "column"),
    [
        (
            "fund,date,ticker,weight\nA,2025-01-01,X,abc\n",
            "expected a number, got 'abc'",
            2,
            "weight",
        ),
        (
            "fund,date,ticker,weight\nA,2025-01-01,X,0.5\nA,2025-13-45,Y,0.5\n",
            "expected a date",
            3,
            "date",
        ),
        ("fund,date,ticker,weight\nA,2025-01-01,X,-0.1\n", "negative weight", 2, "weight"),
        ("fund,date,ticker,weight\nA,2025-01-01,,0.1\n", "has no ticker", 2, "ticker"),
        ("name,value\nfoo,1\n", "no holdings header", None, None),
        (
            "fund,date,ticker,weight\nA,2025-01-01,X,0.9\nA,2025-01-01,Y,0.9\n",
            "add up to 180.00%",
            None,
            None,
        ),
        ("fund,date,ticker,weight\n", "no holdings lines", 1, None),
    ],
)
def test_errors_name_file_row_column(
    tmp_path: Path, text: str, needle: str, row: int | None, column: str | None
) -> None:
    p = _w(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=needle) as ei:
        read_fund_file(p)
    assert ei.value.file == str(p)
    assert ei.value.row == row
    assert ei.value.column == column


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(min_value=1, max_value=8),
    bad_row=st.integers(min_value=0, max_value=7),
    junk=st.text(alphabet="abcxyz!?#", min_size=1, max_size=5),
    preamble=st.integers(min_value=0, max_value=9),
)
def test_hypothesis_a_bad_weight_is_named_by_line(
    tmp_path: Path, n: int, bad_row: int, junk: str, preamble: int
) -> None:
    """Any table under any number of preamble lines: a non-number weight is reported on its line."""
    bad = bad_row % n
    pre = "".join(f"Note {i}:,something\n" for i in range(preamble))
    lines = [f"ABC,2025-01-31,T{i},{junk if i == bad else 1.0 / n}" for i in range(n)]
    p = tmp_path / "h.csv"
    p.write_text(pre + "fund,date,ticker,weight\n" + "\n".join(lines) + "\n")
    with pytest.raises(InputError) as ei:
        read_fund_file(p)
    assert ei.value.row == preamble + 2 + bad
    assert ei.value.column == "weight"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    weights=st.lists(st.floats(min_value=0.001, max_value=1.0), min_size=1, max_size=10),
    pad=st.sampled_from(["", " ", "  "]),
    preamble=st.integers(min_value=0, max_value=9),
)
def test_hypothesis_preamble_and_spaces_do_not_change_the_result(
    tmp_path: Path, weights: list[float], pad: str, preamble: int
) -> None:
    w = np.array(weights) / sum(weights)
    table = "fund,date,ticker,weight_pct\n" + "".join(
        f"ABC,2025-01-31,T{i}{pad},{float(100 * x)!r}\n" for i, x in enumerate(w)
    )
    pre = "".join(f"Line {i} of the preamble\n" for i in range(preamble))
    p = tmp_path / "ok.csv"
    p.write_text(pre + table + "\nDisclaimer: holdings subject to change.\n")
    (h,) = read_fund_file(p)
    np.testing.assert_allclose(h.equity.to_numpy(), w, atol=1e-15)
    assert list(h.equity.index) == [f"T{i}" for i in range(len(w))]


def test_store_roundtrip_and_latest_on_or_before(tmp_path: Path) -> None:
    a = _w(
        tmp_path,
        "a.csv",
        "fund,date,ticker,weight\nABC,2025-01-31,AAA,0.6\nABC,2025-01-31,BBB,0.4\n",
    )
    b = _w(
        tmp_path,
        "b.csv",
        "fund,date,ticker,weight\nABC,2025-03-31,AAA,0.5\nABC,2025-03-31,CCC,0.5\n",
    )
    with Store(tmp_path / "s.duckdb") as store:
        assert save_to_store(store, read_fund_file(a)) == 2
        save_to_store(store, read_fund_file(b))
        save_to_store(store, read_fund_file(b))  # idempotent
        got = load_from_store(store)
    assert [(h.fund, h.date) for h in got] == [
        ("ABC", pd.Timestamp("2025-01-31")),
        ("ABC", pd.Timestamp("2025-03-31")),
    ]
    lib = HoldingsLibrary(got)
    assert lib.latest("ABC", "2025-02-15").date == pd.Timestamp("2025-01-31")  # type: ignore[union-attr]
    assert lib.latest("ABC", "2025-03-31").equity.to_dict() == {"AAA": 0.5, "CCC": 0.5}  # type: ignore[union-attr]
    assert lib.latest("ABC", "2024-12-31") is None


_CELLS = st.one_of(
    st.sampled_from(
        ["", "-", "AAPL", "US DOLLAR", "Cash", "Futures", "12.5%", "(3)", "$1,000", "n/a"]
    ),
    st.sampled_from(["2025-01-31", "As of 07-Feb-2025", "13/45/2025", "Ticker", "Weight", "fund"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.sampled_from(
        [
            "fund,date,ticker,weight",
            "Name,Ticker,Identifier,SEDOL,Weight,Sector,Shares Held,Local Currency",
            "Ticker,Name,Sector,Asset Class,Market Value,Weight (%),Quantity,Price",
            "fund,snapshot_date,ticker,name,weight_pct",
            "garbage,header",
        ]
    ),
    body=st.lists(st.lists(_CELLS, min_size=0, max_size=9), max_size=8),
    preamble=st.lists(st.lists(_CELLS, max_size=3), max_size=4),
)
def test_hypothesis_any_malformed_file_is_an_input_error(
    tmp_path: Path, header: str, body: list[list[str]], preamble: list[list[str]]
) -> None:
    """Whatever the lines hold, the importer reads them or raises InputError naming the file."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    for r in preamble:
        w.writerow(r)
    buf.write(header + "\n")
    for r in body:
        w.writerow(r)
    p = tmp_path / "fuzz.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    try:
        out = read_fund_file(p, fund="FUZ", date="2025-01-31")
    except InputError as exc:
        assert exc.file == str(p)
        return
    for h in out:
        assert np.isfinite(h.lines["weight"]).all()
        assert h.lines["weight"].sum() <= 1.05 + 1e-12
        assert set(h.lines["kind"]) <= {"equity", "cash", "future", "currency", "other"}


def test_fund_from_the_issuers_file_names(tmp_path: Path) -> None:
    body = SSGA.split("\n", 4)[4]  # no preamble: the fund comes from the file name
    (h,) = read_fund_file(_w(tmp_path, "holdings-daily-us-en-xlk.csv", body), date="2025-02-07")
    assert h.fund == "XLK"
    (i,) = read_fund_file(_w(tmp_path, "IWB_holdings.csv", ISHARES))
    assert i.fund == "IWB"
