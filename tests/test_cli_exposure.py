"""`counterweight exposure`: the numbers it prints and writes are the API's; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counterweight.cli import main

BOOK = """account,ticker,shares
A,SPY,100
A,QQQ,50
A,XLK,40
A,NVDA,30
A,AAPL,20
A,VUG,10
A,CASH,5000
"""

POLICY = """[limits]
issuer_max = 0.05
[[limits.group]]
name = "Mag 7"
max = 0.20

[trades]
allowed = ["SPY", "RSP", "NVDA", "AAPL", "QQQ", "XLK"]
buy = ["RSP"]
no_sell = ["SPY"]
cash_max = 0.05
"""


def test_exposure_json_html_and_rebalance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "book.csv"
    book.write_text(BOOK)
    pol = tmp_path / "p.toml"
    pol.write_text(POLICY)
    out, js, html = tmp_path / "t.csv", tmp_path / "e.json", tmp_path / "e.html"
    code = main(
        [
            "exposure",
            str(book),
            "--json",
            str(js),
            "--html",
            str(html),
            "--rebalance",
            str(pol),
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    data = json.loads(js.read_text())
    funds = {f["instrument"]: f for f in data["funds"]}
    assert funds["VUG"]["method"] == "opaque" and funds["SPY"]["method"] == "model"
    assert sum(f["weight"] for f in data["funds"]) == pytest.approx(1.0, abs=1e-12)
    mag = next(g for g in data["groups"] if g["group"] == "Mag 7")
    assert f"Mag 7 {100 * mag['weight']:.1f}% of the book" in text
    assert data["rebalance"]["passed"] is True
    assert "RSP" in out.read_text() and "Look-through exposure" in html.read_text()
    assert "opaque" in text and "VUG" in text


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "book.csv"
    book.write_text("account,ticker,shares\nA,NOSUCHFUND,10\n")
    assert main(["exposure", str(book)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no price for held NOSUCHFUND" in err[0]
    bad_fund = tmp_path / "f.csv"
    bad_fund.write_text("fund,date,ticker,weight\nABC,2025-01-01,X,oops\n")
    book.write_text("account,ticker,shares\nA,AAPL,10\n")
    assert main(["exposure", str(book), "--funds", str(bad_fund)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "row 2, column 'weight': expected a number" in err[0]
    assert main(["exposure", str(book), "--save-funds"]) == 2
    assert "--save-funds needs --store" in capsys.readouterr().err


def test_store_keeps_fund_files_with_their_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A holdings file saved to the store is used by a later run without --funds, with its age."""
    prices = tmp_path / "p.csv"
    prices.write_text("date,AAA,BBB\n2025-01-02,10,20\n2025-01-03,10,20\n2025-01-06,11,20\n")
    store = tmp_path / "s.duckdb"
    assert main(["data", "import", str(prices), "--kind", "prices", "--store", str(store)]) == 0
    fund = tmp_path / "fnd.csv"
    fund.write_text("fund,date,ticker,weight\nFND,2025-01-03,AAA,0.75\nFND,2025-01-03,BBB,0.25\n")
    book = tmp_path / "b.csv"
    book.write_text("account,ticker,market_value\nA,FND,1000\nA,AAA,1000\n")
    assert (
        main(
            [
                "exposure",
                str(book),
                "--store",
                str(store),
                "--funds",
                str(fund),
                "--save-funds",
                "-q",
            ]
        )
        == 0
    )
    capsys.readouterr()
    js = tmp_path / "o.json"
    assert main(["exposure", str(book), "--store", str(store), "--json", str(js), "-q"]) == 0
    data = json.loads(js.read_text())
    fnd = next(f for f in data["funds"] if f["instrument"] == "FND")
    assert fnd["method"] == "file" and fnd["age_days"] == 3
    top = {r["column"]: r["weight"] for r in data["top10"]}
    assert top == pytest.approx({"AAA": 0.875, "BBB": 0.125}, abs=1e-15)


def test_the_shipped_example_runs_and_meets_its_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = Path(__file__).resolve().parents[1] / "examples" / "lookthrough"
    js = tmp_path / "e.json"
    code = main(
        [
            "exposure",
            str(ex / "book.csv"),
            "--rebalance",
            str(ex / "policy_mag7_20.toml"),
            "--out",
            str(tmp_path / "t.csv"),
            "--json",
            str(js),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().out
    checks = json.loads(js.read_text())["rebalance"]["checks"]
    assert checks and all(c["passed"] and c["after"] <= c["bound"] + 1e-9 for c in checks)
