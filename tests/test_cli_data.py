"""`counterweight data ...` end to end: output, one-line errors, exit codes, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from counterweight.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "counterweight", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **(env or {})),
        timeout=120,
    )


def test_data_info_on_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "info.json"
    assert main(["data", "info", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    # the point-in-time daily panel since 2014 (issue 12), with its self-check against SPY/RSP
    assert "2014-01-02 .. 2026-08-03" in text
    assert "survivorship" in text
    assert "Self-check" in text and "SPY" in text and "RSP" in text
    payload = json.loads(out.read_text())
    assert payload["coverage"]["tickers"] >= 600
    assert payload["provenance"]["as_of"] == "2026-08-03"
    assert payload["provenance"]["cap_basis"] == "float"
    assert payload["provenance"]["data_end"] == "2026-08-03"
    assert set(payload["self_check"]) == {"SPY", "RSP"}


def test_import_then_info_from_store(tmp_path: Path, write_file) -> None:
    db = tmp_path / "s.duckdb"
    prices = write_file("p.csv", "Date,Ticker,Close\n2024-01-02,AAA,10\n2024-01-03,AAA,11\n")
    r = run_cli("data", "import", str(prices), "--kind", "prices", "--store", str(db))
    assert r.returncode == 0, r.stderr
    assert "2 rows" in r.stdout and "2 new or changed" in r.stdout
    r = run_cli("data", "import", str(prices), "--kind", "prices", "--store", str(db), "--quiet")
    assert r.returncode == 0 and r.stdout == ""
    r = run_cli("data", "info", "--store", str(db))
    assert r.returncode == 0 and "2024-01-02 .. 2024-01-03" in r.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("date,ticker,price\n2024-01-02,A,1\n2024-01-02,A,2\n", "row 3, column 'ticker': duplicate"),
        ("date,ticker,price\nnot-a-date,A,1\n", "row 2, column 'date': cannot parse date"),
        ("a,b\n1,2\n", "unknown layout"),
    ],
)
def test_bad_import_is_one_line_nonzero_and_store_untouched(tmp_path: Path, write_file, content: str, fragment: str) -> None:
    db = tmp_path / "s.duckdb"
    bad = write_file("bad.csv", content)
    r = run_cli("data", "import", str(bad), "--kind", "prices", "--store", str(db))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and str(bad) in lines[0] and fragment in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no store, no lock file


def test_unknown_kind_and_missing_store(tmp_path: Path, write_file) -> None:
    f = write_file("p.csv", "date,ticker,price\n2024-01-02,A,1\n")
    r = run_cli("data", "import", str(f), "--kind", "bogus", "--store", str(tmp_path / "s.duckdb"))
    assert r.returncode == 2 and "expected one of" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("data", "info", "--store", str(tmp_path / "nothing.duckdb"))
    assert r.returncode != 0 and "no store" in r.stderr and "Traceback" not in r.stderr
