"""The rebalance and stress commands: files written, summaries printed, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from counterweight.cli import main

HOLDINGS = """Account Number,Symbol,Quantity
1001,AAPL,500
1001,NVDA,800
1001,XOM,300
1001,CASH,25000
1002,JPM,200
1002,GOOGL,150
1002,CASH,5000
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    h = tmp_path / "holdings.csv"
    h.write_text(HOLDINGS)
    w = tmp_path / "weights.csv"
    w.write_text("ticker,weight\nAAPL,0.2\nMSFT,0.2\nJPM,0.2\nKO,0.2\nXOM,0.1\n")
    return h, w


def test_rebalance_writes_trades_and_per_account_lists(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, w = files
    out = tmp_path / "trades.csv"
    html = tmp_path / "rb.html"
    code = main(
        [
            "rebalance",
            str(h),
            "--weights",
            str(w),
            "--out",
            str(out),
            "--out-dir",
            str(tmp_path / "lists"),
            "--turnover",
            "0.2",
            "--cash-buffer",
            "0.02",
            "--min-trade",
            "500",
            "--no-sell",
            "XOM",
            "--rules",
            "ric",
            "--html",
            str(html),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    trades = pd.read_csv(out, dtype={"account": str})
    assert set(trades["account"]) <= {"1001", "1002"}
    assert not ((trades["ticker"] == "XOM") & (trades["side"] == "SELL")).any()
    assert (trades["notional"].abs() >= 500).all()
    assert (tmp_path / "lists" / "trades_1001.csv").exists()
    assert "Compliance" in text and "Book risk" in text
    page = html.read_text()
    assert "Rebalance: risk before vs after" in page and "pre-trade compliance" in page
    assert max(len(line) for line in text.splitlines()) <= 100


def test_rebalance_with_policy_and_quiet(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, _ = files
    policy = Path(__file__).resolve().parents[1] / "examples" / "policies" / "mag7_max_20.toml"
    out = tmp_path / "t.csv"
    code = main(
        ["rebalance", str(h), "--policy", str(policy), "--out", str(out), "--no-risk", "--quiet"]
    )
    text = capsys.readouterr().out
    assert code == 0 and "2 account(s)" in text and out.exists()


def test_rebalance_errors_are_one_line(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, w = files
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,shares\nAAPL,abc\n")
    out = tmp_path / "never.csv"
    assert main(["rebalance", str(bad), "--weights", str(w), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "row 2" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert main(["rebalance", str(h), "--out", str(out)]) == 2
    assert "a target is needed" in capsys.readouterr().err


def test_stress_command(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, w = files
    js = tmp_path / "s.json"
    code = main(
        [
            "stress",
            str(h),
            "--weights",
            str(w),
            "--scenario",
            "Mag 7=-30%",
            "--historical",
            "April 2025 sell-off",
            "--json",
            str(js),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Mag 7 -30%" in text and "April 2025 sell-off" in text
    assert js.exists() and "by_sector" in js.read_text()
    assert main(["stress", "--scenario", "Nowhere=-0.1"]) == 2
    assert "unknown name" in capsys.readouterr().err
