"""Holdings importer: broker column names, number formats, cash rows, tax lots, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from counterweight.data.holdings import DEFAULT_ACCOUNT, Holdings, load_holdings
from counterweight.errors import InputError


def write(tmp_path: Path, text: str, name: str = "h.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_broker_columns_cash_and_number_formats(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "Account Number,Symbol,Quantity,Price,Market Value\n"
        '1001,AAPL,"1,000",$200.00,"$200,000.00"\n'
        "1001,brk.b,10,400,4000\n"
        '1001,Cash & Cash Investments,,,"$5,250.50"\n'
        "1002,MSFT,5,,\n"
        "1002,CASH,,,(0)\n"
        "Account Total,,,,209250.50\n",
    )
    h = load_holdings(p)
    assert list(h.accounts) == ["1001", "1002"]
    pos = h.positions.set_index(["account", "ticker"])
    assert pos.loc[("1001", "AAPL"), "shares"] == 1000.0
    assert pos.loc[("1001", "AAPL"), "price"] == 200.0
    assert ("1001", "BRK-B") in pos.index  # ticker normalised
    assert h.cash["1001"] == pytest.approx(5250.50)
    assert h.cash["1002"] == 0.0
    assert len(h) == 3


def test_tax_lots_are_summed_and_no_account_column_is_one_account(tmp_path: Path) -> None:
    p = write(tmp_path, "ticker,shares\nAAPL,3\nAAPL,4.5\nUSD,100\n")
    h = load_holdings(p)
    assert list(h.accounts) == [DEFAULT_ACCOUNT]
    assert h.positions["shares"].tolist() == [7.5]
    assert h.cash[DEFAULT_ACCOUNT] == 100.0


def test_market_value_only_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"account": ["a", "a"], "ticker": ["NVDA", "CASH"], "value": [1000.0, 50.0]}
    )
    p = tmp_path / "h.parquet"
    frame.to_parquet(p)
    h = load_holdings(p)
    assert np.isnan(h.positions["shares"].iloc[0])
    assert h.positions["market_value"].iloc[0] == 1000.0
    assert h.cash["a"] == 50.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("ticker,shares\nAAPL,abc\n", "row 2, column 'shares': expected a number"),
        ("ticker,shares\nAAPL,-3\n", "row 2, column 'shares': negative shares"),
        ("symbol,weight\nAAPL,1\n", "need a shares column"),
        ("name,shares\nApple,1\n", "no ticker column"),
        ("ticker,shares,price\nAAPL,1,0\n", "price must be positive"),
        ("account,ticker,shares\n,AAPL,1\n", "empty account"),
        ("ticker,shares\nCASH,-5\n", "negative cash"),
    ],
)
def test_bad_input_names_file_row_column(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_holdings(p)
    assert needle in str(err.value)
    assert str(p) in str(err.value)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="file not found"):
        load_holdings("/nonexistent/holdings.csv")


def test_from_frame_roundtrip() -> None:
    h = Holdings.from_frame(pd.DataFrame({"Symbol": ["AAPL"], "Qty": [2]}))
    assert h.positions["shares"].tolist() == [2.0]
