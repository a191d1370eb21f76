"""The docs quote computed figures only: each generated block equals its recomputation, and
the report doc's statements about the tables match the code."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

import counterweight as cw
from counterweight.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("doc_tables", ROOT / "scripts" / "doc_tables.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("block", ["firing-rates", "alert-examples", "cap-errors", "cash-example"])
def test_generated_blocks_are_current(block: str) -> None:
    mod = _script()
    doc, make = mod.BLOCKS[block]
    text = (ROOT / "docs" / doc).read_text()
    assert mod.rewrite(text, block, make()) == text, (
        f"docs/{doc} block {block} is stale: run python scripts/doc_tables.py"
    )


def test_cap_error_table_is_what_data_info_prints(tmp_path: Path) -> None:
    out = tmp_path / "info.json"
    assert main(["data", "info", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["cap_estimate_check"]
    text = (ROOT / "docs" / "data.md").read_text()
    block = text.split("<!-- cap-errors:start -->")[1].split("<!-- cap-errors:end -->")[0]
    lines = [ln for ln in block.strip().splitlines()[2:]]
    assert len(lines) == len(rows)
    for ln, r in zip(lines, rows, strict=True):
        cells = [c.strip() for c in ln.strip("|").split("|")]
        assert cells[0] == str(r["from"])[:10] and cells[1] == str(r["to"])[:10]
        assert cells[4] == f"{r['median_abs_error']:.2%}"
        assert cells[5] == f"{r['p90_abs_error']:.2%}"
        assert cells[6] == f"{r['mean_error']:+.2%}"


def test_report_doc_names_the_etfs_each_output_shows() -> None:
    from counterweight.report.figures import leadership_section
    from counterweight.report.main_report import build_report
    from counterweight.report.terminal import returns_table

    rep = build_report(cw.load_sample())
    term = {str(c.header).split()[0] for c in returns_table(rep).columns[2:]}
    etfs_terminal = sorted(term & {"SPY", "RSP", "QQQ", "IWM"})
    html = leadership_section(rep).tables[0][1]
    etfs_html = sorted(c.split()[0] for c in html.columns if c.endswith("(ETF)"))
    doc = (ROOT / "docs" / "report.md").read_text()
    line = next(ln for ln in doc.splitlines() if ln.startswith("3. **Returns by window**"))
    para = " ".join(doc[doc.index(line) : doc.index("4. **Inside the groups**")].split())
    m_term = re.search(r"terminal: ([A-Z, and]+)", para)
    m_html = re.search(r"HTML and JSON: ([A-Z, and]+)", para)
    assert m_term and m_html, para
    assert sorted(re.findall(r"[A-Z]{3}", m_term.group(1))) == etfs_terminal
    assert sorted(re.findall(r"[A-Z]{3}", m_html.group(1))) == etfs_html
    assert set(re.findall(r"[A-Z]{3}", m_html.group(1))) <= {
        c.split()[0] for c in rep.returns.columns if c.endswith("(ETF)")
    }


def _block(doc: str, name: str) -> list[str]:
    text = (ROOT / "docs" / doc).read_text()
    body = text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]
    return [ln.strip() for ln in body.strip().splitlines()]


def test_rebalance_doc_cash_example_is_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/rebalance.md's leftover-cash example is what the command prints for that account."""
    book = tmp_path / "cash.csv"
    book.write_text("account,ticker,shares,market_value\nA,CASH,,235000\n")
    monkeypatch.setenv("COLUMNS", "250")
    args = [
        "rebalance",
        str(book),
        "-p",
        str(ROOT / "examples" / "policies" / "mag7_max_20.toml"),
        "--min-trade",
        "500",
        "--no-risk",
        "-o",
        str(tmp_path / "t.csv"),
    ]
    assert main(args) == 0
    printed = [ln.strip() for ln in capsys.readouterr().out.splitlines()]
    (expected,) = _block("rebalance.md", "cash-example")
    assert expected in printed


def test_monitor_doc_alert_examples_are_the_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    lines = _block("monitor.md", "alert-examples")
    assert len(lines) == 4
    for cmd, alert in zip(lines[::2], lines[1::2], strict=True):
        args = cmd.removeprefix("$ counterweight ").split()
        assert main(args) == 3
        printed = [ln.strip() for ln in capsys.readouterr().out.splitlines()]
        assert alert in printed, (alert, printed)
