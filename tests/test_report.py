"""`counterweight report`: builder, terminal (100 columns), JSON, CLI errors, user files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import counterweight as cw
from counterweight.cli import main
from counterweight.groups import group
from counterweight.measure.concentration import concentration_history
from counterweight.measure.leadership import attribution, compound
from counterweight.report.json_report import report_to_dict
from counterweight.report.main_report import MainReport, build_report
from counterweight.report.terminal import render


@pytest.fixture(scope="module")
def sample() -> cw.Market:
    return cw.load_sample()


@pytest.fixture(scope="module")
def rep(sample: cw.Market) -> MainReport:
    return build_report(sample, groups=[group("Chips", ["NVDA", "AVGO", "AMD", "MU"])])


def test_terminal_fits_100_columns(rep: MainReport) -> None:
    buf = io.StringIO()
    render(rep, Console(file=buf, width=100, color_system=None))
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 100
    for heading in (
        "Concentration on",
        "Largest 10",
        "Returns:",
        "Contributions",
        "Sectors:",
        "Valuation",
        "Data caveats",
        "Chips",
    ):
        assert heading in text


def test_report_numbers_trace_to_the_measures(rep: MainReport, sample: cw.Market) -> None:
    hist = concentration_history(
        sample, groups=[cw.MAG7, group("Chips", ["NVDA", "AVGO", "AMD", "MU"])]
    )
    assert rep.concentration_summary.loc["top10", "current"] == hist.measures["top10"].iloc[-1]
    assert rep.concentration_summary.loc["Mag 7", "average"] == pytest.approx(
        hist.measures["Mag 7"].mean()
    )
    att = attribution(sample)
    for w in rep.windows:
        daily = att.index_returns[w.start_pos + 1 : w.end_pos + 1]
        assert rep.returns.loc[w.label, "Index (cap)"] == pytest.approx(compound(daily), abs=1e-14)
    assert rep.contributions_groups[["Mag 7", "Rest"]].sum() == pytest.approx(
        rep.contribution_total, abs=1e-13
    )
    assert rep.contributions_sectors.sum() == pytest.approx(rep.contribution_total, abs=1e-13)
    assert rep.contribution_window.label == "YTD"
    assert rep.contribution_window.start.year == rep.as_of.year - 1
    # RSP - SPY straight from the ETF prices
    b = sample.benchmarks
    w = rep.windows[-1]
    spy = b["SPY"].loc[: w.end].iloc[-1] / b["SPY"].loc[: w.start].iloc[-1] - 1
    rsp = b["RSP"].loc[: w.end].iloc[-1] / b["RSP"].loc[: w.start].iloc[-1] - 1
    assert rep.equal_vs_cap.loc[w.label, "RSP - SPY"] == pytest.approx(rsp - spy)
    assert rep.valuation is not None and rep.valuation.loc["Mag 7", "n_names"] == 7


def test_json_has_every_table_and_no_nan(rep: MainReport, tmp_path: Path) -> None:
    from counterweight.data.files import atomic_write_json

    path = atomic_write_json(tmp_path / "r.json", report_to_dict(rep))
    data = json.loads(path.read_text())
    assert data["as_of"] == rep.as_of.date().isoformat()
    assert data["concentration"]["top10"]["current"] == pytest.approx(
        rep.concentration_summary.loc["top10", "current"]
    )
    assert sum(data["contributions"]["by_sector"].values()) == pytest.approx(
        data["contributions"]["index_return"]
    )
    assert len(data["history"]["concentration"]["dates"]) == len(rep.concentration.measures)
    assert {
        "returns",
        "equal_vs_cap",
        "size_style",
        "group_breadth",
        "sector_returns",
        "valuation",
        "provenance",
    } <= set(data)
    assert "NaN" not in path.read_text()


def test_as_of_and_range(sample: cw.Market) -> None:
    r = build_report(
        sample,
        as_of="2025-06-30",
        start="2024-01-01",
        windows=["1M", "3Y", "2025-01-01:2025-03-31"],
    )
    assert r.as_of == pd.Timestamp("2025-06-30") and r.start >= pd.Timestamp("2024-01-01")
    assert r.concentration.measures.index[-1] == r.as_of
    assert [w.label for w in r.windows] == ["1M", "2025-01-01:2025-03-31"]
    assert len(r.skipped_windows) == 1


def test_cli_report_writes_json_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "r.json"
    code = main(
        ["report", "--json", str(out_json), "--group", "Banks=JPM,BAC,WFC", "--window", "1M"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Banks" in printed and "JSON report written" in printed
    data = json.loads(out_json.read_text())
    assert "Banks" in data["groups"] and [w["label"] for w in data["windows"]] == ["1M"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["report", "--group", "nonsense"], "expected NAME=TICKER1"),
        (["report", "--as-of", "1990-01-01"], "before the first date"),
        (["report", "--window", "7Q"], "unknown window"),
        (["report", "--caps", "x.csv"], "need --prices"),
        (["report", "--prices", "/nonexistent/prices.csv"], "prices.csv"),
    ],
)
def test_cli_errors_are_one_line(
    args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    code = main([*args, "--json", str(out)])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("error:") and "\n" not in err and fragment in err
    assert not out.exists()  # nothing half-written


def test_cli_report_on_users_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2024-01-02", periods=300)
    tickers = ["AAPL", "MSFT", "GOOGL", "GOOG", "XOM", "JPM"]
    px = pd.DataFrame(
        100 * np.cumprod(1 + rng.normal(0, 0.01, (300, 6)), axis=0), index=dates, columns=tickers
    )
    px.index.name = "date"
    px.to_csv(tmp_path / "prices.csv")
    caps = pd.DataFrame(
        {
            "date": "2024-01-03",
            "ticker": tickers,
            "market_cap": [3e12, 2.8e12, 1e12, 1e12, 4e11, 5e11],
        }
    )
    caps.to_csv(tmp_path / "caps.csv", index=False)
    sec = pd.DataFrame(
        {
            "ticker": tickers,
            "name": ["Apple", "Microsoft", "Alphabet A", "Alphabet C", "Exxon", "JPMorgan"],
            "issuer": ["Apple", "Microsoft", "Alphabet", "Alphabet", "Exxon", "JPMorgan"],
            "sector": [
                "Information Technology",
                "Information Technology",
                "Communication Services",
                "Communication Services",
                "Energy",
                "Financials",
            ],
        }
    )
    sec.to_csv(tmp_path / "sec.csv", index=False)
    out = tmp_path / "r.json"
    code = main(
        [
            "report",
            "--prices",
            str(tmp_path / "prices.csv"),
            "--caps",
            str(tmp_path / "caps.csv"),
            "--securities",
            str(tmp_path / "sec.csv"),
            "--json",
            str(out),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    # the snapshot is exact on its anchor date (the session before it): Alphabet counted once
    first = data["history"]["concentration"]
    assert first["top1"][0] == pytest.approx(3e12 / 8.7e12)
    assert first["n_names"][0] == 5


def test_long_run_context_uses_only_data_up_to_as_of(sample: cw.Market) -> None:
    monthly = cw.load_sample("monthly")
    r = build_report(sample, as_of="2025-06-30", windows=["1M"], long_history=monthly)
    assert r.long_run is not None and r.long_run_summary is not None
    assert r.long_run.measures.index[-1] <= pd.Timestamp("2025-06-30")
    ref = concentration_history(monthly.slice(None, "2025-06-30"))
    assert r.long_run_summary.loc["Mag 7", "average"] == pytest.approx(ref.measures["Mag 7"].mean())
    data = report_to_dict(r)
    assert data["concentration_long_run"]["measures"]["top10"]["since"] == "2014-01-31"


def test_terminal_report_does_not_import_plotly() -> None:
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        "from counterweight.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['report']) == 0\n"
        "assert 'plotly' not in sys.modules, 'plotly imported without --html'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_minimal_user_data_renders_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prices and caps only: no sectors, no ETFs, no fundamentals; every renderer copes."""
    rng = np.random.default_rng(9)
    dates = pd.bdate_range("2024-01-02", periods=120)
    px = pd.DataFrame(
        100 * np.cumprod(1 + rng.normal(0, 0.01, (120, 3)), axis=0),
        index=dates,
        columns=["AAPL", "XOM", "KO"],
    )
    px.index.name = "date"
    px.to_csv(tmp_path / "p.csv")
    pd.DataFrame(
        {"date": "2024-01-03", "ticker": ["AAPL", "XOM", "KO"], "market_cap": [3e12, 4e11, 2e11]}
    ).to_csv(tmp_path / "c.csv", index=False)
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    code = main(
        [
            "report",
            "--prices",
            str(tmp_path / "p.csv"),
            "--caps",
            str(tmp_path / "c.csv"),
            "--html",
            str(html),
            "--json",
            str(js),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "nan" not in out and "Valuation" not in out and "no fundamentals" in out
    assert html.stat().st_size > 100_000 and json.loads(js.read_text())["valuation"] is None
