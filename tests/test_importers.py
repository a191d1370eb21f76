"""Importers: good files in every layout, bad files with one clear error naming file/row/column."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterweight.data import importers as im
from counterweight.errors import InputError


def test_prices_long_with_common_export_names(write_file) -> None:
    f = write_file(
        "p.csv",
        "Date,Symbol,Adj Close\n2024-01-02,aapl,100\n2024-01-03,AAPL,101.5\n2024-01-02,brk.b,400\n",
    )
    wide = im.read_prices(f)
    assert list(wide.columns) == ["AAPL", "BRK-B"]
    assert wide.loc["2024-01-03", "AAPL"] == 101.5
    assert np.isnan(wide.loc["2024-01-03", "BRK-B"])


def test_prices_wide_and_parquet_roundtrip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
            "MSFT": [1.0, 2.0],
            "GOOG": [3.0, np.nan],
        }
    )
    f = tmp_path / "w.parquet"
    frame.to_parquet(f)
    wide = im.read_prices(f)
    assert wide.shape == (2, 2)
    assert wide.loc["2024-01-02", "GOOG"] == 3.0
    # a parquet with the dates as its index reads the same
    g = tmp_path / "i.parquet"
    frame.set_index("date").to_parquet(g)
    pd.testing.assert_frame_equal(im.read_prices(g), wide)


def test_compact_dates(write_file) -> None:
    f = write_file("p.csv", "date,ticker,close\n20240102,A,1\n20240103,A,2\n")
    assert list(im.read_prices(f).index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]


@pytest.mark.parametrize(
    ("text", "row", "column", "fragment"),
    [
        ("date,ticker,price\n2024-01-02,A,1\n2024-13-45,A,2\n", 3, "date", "cannot parse date"),
        (
            "date,ticker,price\n2024-01-02,A,1\n2024-01-02,A,2\n",
            3,
            "ticker",
            "duplicate (date, ticker)",
        ),
        ("date,ticker,price\n2024-01-02,A,1\n2024-01-03,A,-5\n", 3, "price", "must be positive"),
        ("date,ticker,price\n2024-01-02,A,1\n2024-01-03,A,0\n", 3, "price", "must be positive"),
        ("date,ticker,price\n2024-01-02,A,abc\n", 2, "price", "expected a number"),
        ("date,ticker,price\n2024-01-02,A,inf\n", 2, "price", "finite"),
        ("date,ticker,price\n2024-01-02,,1\n", 2, "ticker", "empty ticker"),
    ],
)
def test_bad_prices_name_row_and_column(
    write_file, text: str, row: int, column: str, fragment: str
) -> None:
    f = write_file("bad.csv", text)
    with pytest.raises(InputError) as info:
        im.read_prices(f)
    err = info.value
    assert err.file == str(f)
    assert err.row == row
    assert err.column == column
    assert fragment in str(err)
    assert "\n" not in str(err)


def test_unknown_layout_and_types(write_file, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown layout"):
        im.read_prices(write_file("x.csv", "foo,bar\n1,2\n"))
    with pytest.raises(InputError, match="unknown file type"):
        im.read_prices(write_file("x.xlsx", "whatever"))
    with pytest.raises(InputError, match="file not found"):
        im.read_prices(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="empty"):
        im.read_prices(write_file("e.csv", ""))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not a parquet file at all")
    with pytest.raises(InputError, match="cannot read"):
        im.read_prices(bad)


def test_wide_duplicate_date_and_ticker(write_file) -> None:
    with pytest.raises(InputError, match="duplicate date") as info:
        im.read_prices(write_file("w.csv", "date,A\n2024-01-02,1\n2024-01-02,2\n"))
    assert info.value.row == 3
    with pytest.raises(InputError, match="duplicate column"):
        im.read_prices(write_file("w2.csv", "date,brk.b,BRK-B\n2024-01-02,1,2\n"))


def test_caps_and_shares(write_file) -> None:
    caps = im.read_caps(write_file("c.csv", "Date,Ticker,Market Cap\n2024-01-02,A,1e9\n"))
    assert caps["market_cap"].item() == 1e9
    shares = im.read_caps(write_file("s.csv", "date,symbol,shares_outstanding\n2024-01-02,A,100\n"))
    assert shares["shares"].item() == 100
    with pytest.raises(InputError, match="must be positive") as info:
        im.read_caps(write_file("neg.csv", "date,ticker,market_cap\n2024-01-02,A,-1\n"))
    assert info.value.row == 2


def test_securities_issuer_from_cik(write_file) -> None:
    text = (
        "Symbol,Security,GICS Sector,GICS Sub-Industry,CIK\n"
        "GOOGL,Alphabet Inc. (Class A),Communication Services,Interactive Media,1652044\n"
        "GOOG,Alphabet Inc. (Class C),Communication Services,Interactive Media,1652044\n"
        "AAPL,Apple Inc.,Information Technology,Hardware,320193\n"
    )
    sec = im.read_securities(write_file("s.csv", text))
    assert sec.loc["GOOG", "issuer"] == sec.loc["GOOGL", "issuer"] == "Alphabet Inc."
    assert sec.loc["AAPL", "issuer"] == "Apple Inc."
    assert sec.loc["AAPL", "sector"] == "Information Technology"
    with pytest.raises(InputError, match="duplicate ticker"):
        im.read_securities(write_file("d.csv", "ticker,name\nA,x\na,y\n"))


def test_securities_known_share_classes_without_cik(write_file) -> None:
    sec = im.read_securities(write_file("s.csv", "ticker,sector\nFOXA,CS\nFOX,CS\n"))
    assert sec.loc["FOX", "issuer"] == sec.loc["FOXA", "issuer"] == "Fox"


def test_membership(write_file) -> None:
    mem = im.read_membership(
        write_file("m.csv", "symbol,opt-in,opt-out\nA,2020-01-01,\nB,2019-01-01,2021-06-30\n")
    )
    assert pd.isna(mem.loc[mem.ticker == "A", "end"].item())
    assert mem.loc[mem.ticker == "B", "end"].item() == pd.Timestamp("2021-06-30")
    with pytest.raises(InputError, match="before start") as info:
        im.read_membership(write_file("b.csv", "ticker,start,end\nA,2020-01-01,2019-01-01\n"))
    assert info.value.row == 2
    with pytest.raises(InputError, match="cannot parse date") as info:
        im.read_membership(
            write_file("c.csv", "ticker,start,end\nA,2020-01-01,\nB,2020-01-01,notadate\n")
        )
    assert info.value.row == 3


def test_fundamentals(write_file) -> None:
    f = im.read_fundamentals(
        write_file("f.csv", "date,ticker,eps,pe,Market Cap\n2024-01-02,A,2,15,1e9\n")
    )
    assert list(f.columns) == ["date", "ticker", "eps", "pe", "market_cap"]


FRENCH = """This file was created by CMPT_ME_BEME_RETS using the 202601 CRSP database.
The 1-month TBill rate data until 202405 are from Ibbotson Associates.

,Mkt-RF,SMB,HML,RF
19260701,    0.09,   -0.25,   -0.27,    0.01
19260702,    0.45,   -0.33,   -0.06,    0.01

Copyright 2026 Eugene F. Fama and Kenneth R. French
"""


def test_french_file_as_published(write_file) -> None:
    ff = im.read_french(write_file("F-F.csv", FRENCH))
    assert list(ff.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert ff.loc["1926-07-02", "Mkt-RF"] == pytest.approx(0.0045, abs=1e-15)
    assert len(ff) == 2
    # read_factors recognises the layout too
    pd.testing.assert_frame_equal(im.read_factors(write_file("F2.csv", FRENCH)), ff)


def test_french_monthly_and_annual_section(write_file) -> None:
    text = ",Mom\n202401,  1.50\n202402, -0.50\n\n Annual Factors: January-December\n,Mom\n2024,  3.0\n"
    ff = im.read_french(write_file("m.csv", "Momentum\n" + text))
    assert list(ff.index.strftime("%Y-%m-%d")) == ["2024-01-31", "2024-02-29"]
    assert ff["Mom"].tolist() == pytest.approx([0.015, -0.005])
    with pytest.raises(InputError, match="no header"):
        im.read_french(write_file("n.csv", "just text\n"))


# ---------------------------------------------------------------- hypothesis: malformed files
cell = st.one_of(
    st.text(
        alphabet=string.printable.replace("\r", "").replace("\x0b", "").replace("\x0c", ""),
        max_size=8,
    ),
    st.sampled_from(
        ["2024-01-02", "20240103", "NaN", "-1", "0", "1e400", "abc", "", '"', ",", "2024-02-30"]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(
        st.sampled_from(["date", "ticker", "price", "Adj Close", "Symbol", "x", "", "AAPL"]),
        min_size=1,
        max_size=4,
    ),
    rows=st.lists(st.lists(cell, min_size=0, max_size=5), max_size=6),
    kind=st.sampled_from(["prices", "caps", "securities", "membership", "fundamentals", "factors"]),
)
def test_malformed_csv_only_clear_errors(tmp_path_factory, header, rows, kind) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    reader = {
        "prices": im.read_prices,
        "caps": im.read_caps,
        "securities": im.read_securities,
        "membership": im.read_membership,
        "fundamentals": im.read_fundamentals,
        "factors": im.read_factors,
    }[kind]
    try:
        reader(path)
    except InputError as exc:
        message = str(exc)
        assert message.startswith(str(path))
        assert "\n" not in message
        assert "Traceback" not in message


# ---------------------------------------------------------------- the review's cases, by name
def _err(reader, path) -> InputError:
    with pytest.raises(InputError) as info:
        reader(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    return info.value


def test_offsets_are_not_applied_and_may_mix(write_file) -> None:
    f = write_file(
        "p.csv",
        "date,ticker,price\n2024-01-02T00:00:00+05:00,A,1\n2024-01-03 23:30:00-04:00,A,2\n"
        "2024-01-04T00:00:00Z,A,3\n",
    )
    assert list(im.read_prices(f).index.strftime("%Y-%m-%d")) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02 00:00", "2024-01-03 00:00"]).tz_localize(
                "Asia/Karachi"
            ),
            "ticker": "A",
            "price": [1.0, 2.0],
        }
    )
    frame.to_parquet(f.with_suffix(".parquet"))
    got = im.read_prices(f.with_suffix(".parquet")).index
    assert list(got.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]


@pytest.mark.parametrize(
    ("text", "row", "column", "fragment"),
    [
        ("date,ticker,price\n0001-01-01,A,1\n", 2, "date", "outside 1900-01-01"),
        ("date,ticker,price\n1700-01-01,A,1\n", 2, "date", "outside"),
        ("date,ticker,price\n2263-04-12,A,1\n", 2, "date", "outside"),
        ("date,ticker,price\n9999-12-31,A,1\n", 2, "date", "outside"),
        ("date,ticker,price\n2024-01-02,A,1\n05.01.2024,A,1\n", 3, "date", "ambiguous"),
        ("date,ticker,price\n2024-01-02,A,1\n20240103,A,1\n", 3, "date", "format YYYY-MM-DD"),
        ("date,AAPL,AAPL\n2024-01-02,1,2\n", 1, "AAPL", "duplicate column"),
        ("date,AAPL,,MSFT\n2024-01-02,1,2,3\n", 1, None, "empty name"),
        ("date,Date,ticker,price\n2024-01-02,2024-01-02,A,1\n", 1, "Date", "duplicate column"),
        ("date,ticker,price,Price\n2024-01-02,A,1,1\n", 1, "Price", "duplicate column"),
        ("date,ticker,price\n2024-01-02,A,1\n2024-01-03,A\n", 3, None, "missing field"),
        ("date,AAPL,MSFT\n2024-01-02,1,2\n2024-01-03,1,0\n", 3, "MSFT", "MSFT on 2024-01-03"),
        ('date,ticker,price\n2024-01-02,A,"1.234,5"\n', 2, "price", "expected a number"),
    ],
)
def test_review_cases_prices(write_file, text, row, column, fragment) -> None:
    err = _err(im.read_prices, write_file("p.csv", text))
    assert (err.row, err.column) == (row, column) and fragment in str(err)


def test_review_cases_other_kinds(write_file, tmp_path: Path) -> None:
    from counterweight.data.holdings import load_holdings

    err = _err(
        im.read_caps, write_file("c.csv", "date,ticker,market_cap,close\n2024-01-02,A,5e9,0\n")
    )
    assert (err.row, err.column) == (2, "close") and "positive" in str(err)
    err = _err(im.read_caps, write_file("z.csv", "date,ticker,market_cap\n2024-01-02,A,0\n"))
    assert (err.row, err.column) == (2, "market_cap")
    err = _err(im.read_fundamentals, write_file("f.csv", "date,ticker,PE,pe\n2024-01-02,A,1,2\n"))
    assert err.row == 1 and "duplicate column" in str(err)
    err = _err(
        im.read_factors, write_file("ff.csv", "date,Mkt-RF\n2024-01-02,0.01\n2024-01-02,0.02\n")
    )
    assert (err.row, err.column) == (3, "date") and "duplicate date" in str(err)
    french = "Title\n\n,Mkt-RF,RF\n20240102,0.5,nan\n\n"
    err = _err(im.read_factors, write_file("F-F.CSV", french))
    assert (err.row, err.column) == (4, "RF") and "finite" in str(err)
    err = _err(im.read_factors, write_file("F-G.CSV", french.replace("nan", "inf")))
    assert err.row == 4
    pq = tmp_path / "n.parquet"
    pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-02"] * 2), "ticker": ["A", None], "price": [1.0, 2.0]}
    ).to_parquet(pq)
    err = _err(im.read_prices, pq)
    assert (err.row, err.column) == (2, "ticker") and "empty ticker" in str(err)
    err = _err(load_holdings, write_file("h.csv", "ticker,shares\nAAPL,1e308\n"))
    assert (err.row, err.column) == (2, "shares") and "implausibly large" in str(err)
    import gzip

    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(b"date,ticker,price\n" + b"2024-01-02,A,1\n" * 500)[:60])
    err = _err(im.read_prices, gz)
    assert "truncated or corrupt" in str(err)


def test_tickers_that_look_like_missing_words_are_tickers(write_file) -> None:
    # NA (Nano Labs), NAN (a Nuveen fund) and NAT (Nordic American Tankers) are listed tickers;
    # only software's spellings of a missing value (nan, NaN, None, <NA>, ...) are refused
    f = write_file("w.csv", "date,NA,NAN,NAT,NONE\n2024-01-02,1,2,3,4\n")
    assert list(im.read_prices(f).columns) == ["NA", "NAN", "NAT", "NONE"]
    for spelling in ("nan", "NaN", "None", "<NA>", "NaT"):
        err = _err(
            im.read_prices, write_file("l.csv", f"date,ticker,price\n2024-01-02,{spelling},1\n")
        )
        assert (err.row, err.column) == (2, "ticker") and "empty ticker" in str(err)
