"""Lots and accounts importers: layouts, basis per share or total, cash rows, and malformed
files (hypothesis) naming the file, row and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterweight.data.lots import check_lots_accounts, load_accounts, load_lots
from counterweight.errors import InputError

GOOD = (
    "Account Number,Symbol,Lot ID,Quantity,Cost Basis,Acquisition Date,Price\n"
    "T1,NVDA,1,100,$5.00,2020-01-02,180\n"
    "T1,nvda,2,50,150,2025-12-01,\n"
    "T1,brk.b,3,10,300,2024-01-01,450\n"
    "IRA1,XOM,4,20,100,2022-01-01,110\n"
    "IRA1,CASH,,1500,,2022-01-01,\n"
)
ACCOUNTS = (
    "account,household,type,cash\nT1,H1,Individual,1000\nIRA1,H1,Rollover IRA,\nR1,H1,Roth IRA,0\n"
)


def test_layout_and_types(tmp_path: Path) -> None:
    p = tmp_path / "lots.csv"
    p.write_text(GOOD)
    lots = load_lots(p)
    lf = lots.lots
    assert list(lf["ticker"]) == ["NVDA", "NVDA", "BRK-B", "XOM"]
    assert lf["basis"].tolist() == [5.0, 150.0, 300.0, 100.0]
    assert str(lf["acquired"].iloc[0].date()) == "2020-01-02"
    assert lots.cash.to_dict() == {"IRA1": 1500.0}
    a = tmp_path / "acc.csv"
    a.write_text(ACCOUNTS)
    acc = load_accounts(a)
    assert acc.table["type"].tolist() == ["taxable", "deferred", "exempt"]
    assert acc.table["cash"].tolist() == [1000.0, 0.0, 0.0]
    check_lots_accounts(lots, acc)


def test_total_cost_and_parquet_filter(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "account": ["A", "A", "B"],
            "ticker": ["X", "Y", "X"],
            "shares": [10.0, 4.0, 2.0],
            "total_cost": [100.0, 10.0, 50.0],
            "acquired": ["2024-01-01"] * 3,
        }
    )
    p = tmp_path / "lots.parquet"
    frame.to_parquet(p)
    lots = load_lots(p, accounts={"B"})
    assert lots.lots["account"].tolist() == ["B"] and lots.lots["basis"].tolist() == [25.0]
    assert load_lots(p).lots["basis"].tolist() == [10.0, 2.5, 25.0]


def test_unknown_account_in_lots(tmp_path: Path) -> None:
    p = tmp_path / "lots.csv"
    p.write_text(GOOD.replace("IRA1,XOM", "ZZZ,XOM"))
    a = tmp_path / "acc.csv"
    a.write_text(ACCOUNTS)
    with pytest.raises(InputError, match="ZZZ"):
        check_lots_accounts(load_lots(p), load_accounts(a))


# (column index, bad value, expected message fragment) for the lots file
BAD_LOT_CELLS = [
    (0, "", "empty account"),
    (1, "", "empty ticker"),
    (3, "abc", "expected a number"),
    (3, "-5", "positive"),
    (3, "0", "positive"),
    (4, "x1", "expected a number"),
    (4, "-3", ">= 0"),
    (4, "", "missing cost basis"),
    (5, "yesterday", "acquisition date"),
    (5, "", "acquisition date"),
    (6, "-1", "positive"),
    (6, "n/a?", "expected a number"),
]
HEADER = [
    "Account Number",
    "Symbol",
    "Lot ID",
    "Quantity",
    "Cost Basis",
    "Acquisition Date",
    "Price",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 3), st.sampled_from(BAD_LOT_CELLS))
def test_malformed_lot_cell_names_file_row_column(tmp_path: Path, row: int, bad) -> None:
    col, value, fragment = bad
    lines = [line.split(",") for line in GOOD.strip().splitlines()[1:5]]  # 4 lot rows
    lines[row][col] = value
    p = tmp_path / "bad.csv"
    p.write_text(",".join(HEADER) + "\n" + "\n".join(",".join(x) for x in lines) + "\n")
    with pytest.raises(InputError) as exc:
        load_lots(p)
    e = exc.value
    assert e.file == str(p) and e.row == row + 2 and e.column == HEADER[col], str(e)
    assert fragment in str(e)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from([0, 1, 2]),
    st.sampled_from(["Account Number", "Symbol", "Quantity", "Acquisition Date"]),
)
def test_missing_column_or_duplicate_lot(tmp_path: Path, row: int, drop: str) -> None:
    frame = pd.read_csv(pd.io.common.StringIO(GOOD), dtype=str, keep_default_na=False)
    p = tmp_path / "x.csv"
    frame.drop(columns=[drop]).to_csv(p, index=False)
    with pytest.raises(InputError, match="column"):
        load_lots(p)
    dup = frame.copy()
    dup.loc[3, "Lot ID"] = "9"
    dup.loc[row, ["Account Number", "Symbol", "Lot ID"]] = ["IRA1", "XOM", "9"]
    dup.to_csv(p, index=False)
    with pytest.raises(InputError, match="appears twice") as exc:
        load_lots(p)
    assert exc.value.row == 5 and exc.value.column == "Lot ID"


BAD_ACCOUNT_CELLS = [
    (0, "", "empty account"),
    (1, "", "empty household"),
    (2, "crypto wallet", "unknown account type"),
    (3, "-10", "margin"),
    (3, "ten", "expected a number"),
]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 2), st.sampled_from(BAD_ACCOUNT_CELLS))
def test_malformed_accounts(tmp_path: Path, row: int, bad) -> None:
    col, value, fragment = bad
    head, *lines = [line.split(",") for line in ACCOUNTS.strip().splitlines()]
    lines[row][col] = value
    p = tmp_path / "acc.csv"
    p.write_text("\n".join(",".join(x) for x in [head, *lines]) + "\n")
    with pytest.raises(InputError) as exc:
        load_accounts(p)
    assert exc.value.row == row + 2 and exc.value.column == head[col]
    assert fragment in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_lots(tmp_path / "nope.csv")
