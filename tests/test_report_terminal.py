"""Terminal and presentation: real width with every number whole, tables that say they sum do
sum, user text is never read as rich markup, caveats once each, the leftover-cash line."""

from __future__ import annotations

import dataclasses
import io
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

import counterweight as cw
from counterweight.groups import group
from counterweight.report import terminal as term
from counterweight.report.caveats import caveat_lines, unique_lines
from counterweight.report.main_report import MainReport, build_report

OVERLAPPING = [group("Chips", ["NVDA", "AVGO", "AMD", "MU"]), group("AI", ["NVDA", "MSFT"])]


@pytest.fixture(scope="module")
def sample() -> cw.Market:
    return cw.load_sample()


@pytest.fixture(scope="module")
def rep(sample: cw.Market) -> MainReport:
    return build_report(sample, groups=OVERLAPPING)


def _tables(rep: MainReport) -> list[Table]:
    out = [
        term.concentration_table(rep),
        term.concentration_table(rep, long_run=True),
        term.holdings_table(rep),
        term.returns_table(rep),
        term.custom_groups_table(rep),
        term.breadth_table(rep),
        *term.contributions_tables(rep),
        term.pairs_table(rep),
        term.sectors_table(rep),
        term.valuation_table(rep),
    ]
    return [t for t in out if t is not None]


def _numeric_cells(rep: MainReport) -> list[str]:
    cells = []
    for t in _tables(rep):
        for col in t.columns:
            if col.justify == "right":
                cells.extend(str(c) for c in col.cells)
    return cells


def _render(rep: MainReport, width: int) -> str:
    buf = io.StringIO()
    term.render(rep, Console(file=buf, width=width, color_system=None))
    return buf.getvalue()


@pytest.mark.parametrize("width", [60, 100, 200])
def test_every_number_printed_whole(rep: MainReport, width: int) -> None:
    text = _render(rep, width)
    assert max(len(line) for line in text.splitlines()) <= width
    cells = _numeric_cells(rep)
    assert len(cells) > 300
    missing = [c for c in cells if c.strip() and c not in text]
    assert not missing, missing[:10]
    # no ellipsis touching a digit, a sign or a percent sign outside the first (name) column
    for line in text.splitlines():
        for field in line.split("│")[2:]:
            assert not re.search(r"[0-9%+\-.,]…|…[0-9]", field), line


def test_default_console_takes_the_terminal_width(
    rep: MainReport, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    term.render(rep)
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 72
    monkeypatch.setenv("COLUMNS", "180")
    term.render(rep)
    wide = capsys.readouterr().out
    assert max(len(line) for line in wide.splitlines()) > 100  # not fixed at 100


def test_fit_table_splits_when_numbers_alone_do_not_fit() -> None:
    t = Table(title="wide")
    t.add_column("name")
    for i in range(8):
        t.add_column(f"col{i}", justify="right")
    t.add_row("a long name that must be cut", *[f"{-4.123456 * (i + 1):+.4%}" for i in range(8)])
    buf = io.StringIO()
    con = Console(file=buf, width=50, color_system=None)
    parts = term.fit_table(con, t)
    assert len(parts) > 1
    for p in parts:
        con.print(p)
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 50
    for i in range(8):
        assert f"{-4.123456 * (i + 1):+.4%}" in text
    assert "a long" in text and "…" in text  # the name is abbreviated, not the numbers


def _parse_pct(cell: str) -> float:
    return float(cell.strip().rstrip("%")) / 100


def test_tables_labelled_as_summing_do_sum(rep: MainReport) -> None:
    """Every terminal and HTML table whose title says it sums: its rows add up to its
    'index return' row (to display rounding); the custom groups overlap and say so."""
    total = rep.contribution_total
    # the data: partitions sum exactly
    assert rep.contributions_groups.sum() == pytest.approx(total, abs=1e-13)
    assert rep.contributions_sectors.sum() == pytest.approx(total, abs=1e-13)
    assert list(rep.contributions_groups.index) == ["Rest", "Mag 7"] or set(
        rep.contributions_groups.index
    ) == {"Mag 7", "Rest"}
    # the custom groups overlap (NVDA in both) and are not part of those tables
    assert set(rep.contributions_custom.index) == {"Chips", "AI"}
    summing = []
    for t in term.contributions_tables(rep):
        title = str(t.title)
        values = [str(c) for c in t.columns[-1].cells]
        labels = [str(c) for c in t.columns[0].cells]
        if "sum" in title:
            summing.append(title)
            assert labels[-1] == "index return"
            rows = [_parse_pct(v) for v in values[:-1]]
            assert _parse_pct(values[-1]) == pytest.approx(total, abs=5e-5)
            assert sum(rows) == pytest.approx(_parse_pct(values[-1]), abs=5e-5 * (len(rows) + 1))
        elif "Custom" in title:
            assert "not additive" in title
            assert not set(labels) & {"Mag 7", "Rest"}
    assert len(summing) == 2
    from counterweight.report.figures import contributions_section

    sec = contributions_section(rep)
    html_summing = [(c, f) for c, f in sec.tables if "sum" in c]
    assert len(html_summing) == 2
    for _, frame in html_summing:
        vals = [_parse_pct(v) for v in frame["contribution"]]
        assert frame.index[-1] == "index return"
        assert sum(vals[:-1]) == pytest.approx(vals[-1], abs=5e-5 * len(vals))
    assert any("not additive" in c for c, _ in sec.tables)
    # JSON says which parts are additive
    from counterweight.report.json_report import report_to_dict

    js = report_to_dict(rep, histories=False)["contributions"]
    assert sum(js["by_group"].values()) == pytest.approx(js["index_return"], abs=1e-13)
    assert sum(js["by_sector"].values()) == pytest.approx(js["index_return"], abs=1e-13)
    assert set(js["custom_groups"]) == {"Chips", "AI"} and "not additive" in js["additive"]


names = st.text(min_size=1, max_size=24).filter(lambda s: s.strip() != "")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names, ticker=names, note=names)
def test_arbitrary_text_never_breaks_the_terminal(
    rep: MainReport, name: str, ticker: str, note: str
) -> None:
    """Any group, ticker or note text (brackets, rich tags, unicode) prints as it is."""
    top = rep.top_holdings.copy()
    top.iloc[0, top.columns.get_loc("name")] = ticker
    top.iloc[0, top.columns.get_loc("tickers")] = ticker
    custom = pd.Series({name: 0.01, f"[bold]{name}": 0.02})
    breadth = [dataclasses.replace(b, group=name, best=ticker) for b in rep.breadth[:2]]
    prov = dataclasses.replace(rep.provenance, name=name, caveats=(note, f"[/red]{note}"))
    bad = dataclasses.replace(
        rep,
        top_holdings=top,
        contributions_custom=custom,
        breadth=breadth,
        notes=[note, "[/bold]"],
        provenance=prov,
        groups=(*rep.groups, name),
    )
    text = _render(bad, 100)
    assert "[/bold]" in text and "[/red]" in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)  # no control characters


def test_markup_in_a_group_name_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from counterweight.cli import main

    assert main(["report", "--group", "[/bold]=AAPL", "--group", "[red]x=MSFT"]) == 0
    out = capsys.readouterr().out
    assert "[/bold]" in out and "[red]x" in out


def test_caveats_once_each() -> None:
    lines = [
        "Survivorship bias: members on the last date only.",
        "survivorship: the daily panel holds today's members only",
        "364 tickers have no prices (survivorship: mostly former members)",
        "market caps are company-level and not float-adjusted",
        "Market caps are company-level and  not float-adjusted.",
        "UNH closes come from another source",
        "UNH closes come from another source.",
    ]
    assert unique_lines(lines) == [
        lines[0],
        lines[1],
        lines[2],
        lines[3],
        "UNH closes come from another source",
    ]
    out = caveat_lines(lines)
    assert len(out) == 3
    assert sum("urvivorship" in x.split(":")[0] for x in out) == 1
    surv = next(x for x in out if x.startswith("Survivorship bias: "))
    for fact in ("members on the last date only", "daily panel", "364 tickers"):
        assert fact in surv  # merged, nothing lost
    assert out[-1] == "UNH closes come from another source"


def test_every_report_states_survivorship_once(rep: MainReport, sample: cw.Market) -> None:
    text = _render(rep, 100)
    bullets = [ln for ln in text.splitlines() if ln.startswith("  - ")]
    assert sum("urvivorship" in b for b in bullets) == 1
    from counterweight.report.html import render_html

    page = render_html("t", [], rep.provenance.with_caveats("Survivorship bias: again"))
    items = re.findall(r"<li>(.*?)</li>", page)
    assert sum("urvivorship" in i for i in items) == 1


def test_leftover_cash_line_sums_to_the_cash() -> None:
    from counterweight.data.holdings import Holdings
    from counterweight.rebalance import TradeRules, rebalance
    from counterweight.report.rebalance_text import cash_lines

    prices = pd.Series({"AAA": 6_181.0, "BBB": 95.0, "CCC": 410.0})
    target = pd.Series({"AAA": 0.002, "BBB": 0.5, "CCC": 0.45})
    book = Holdings.from_frame(
        pd.DataFrame([{"account": "[b]acct", "ticker": "CASH", "shares": 235_000.0}])
    )
    res = rebalance(book, target, prices=prices, rules=TradeRules(min_trade=500, cash_buffer=0.02))
    (line,) = cash_lines(res)
    cash = res.summary["cash_after"].iloc[0] / 235_000
    assert f"{cash:.2%} of value" in line
    parts = [float(x) / 100 for x in re.findall(r"([+-]\d+\.\d+)% ", line)]
    assert sum(parts) == pytest.approx(cash, abs=5e-5 * len(parts) + 1e-12)
    assert "cash buffer" in line and "under the 500 USD minimum" in line
    assert "whole-share rounding" in line


@pytest.mark.parametrize("width", [60, 200])
@pytest.mark.parametrize(
    "args",
    [
        ["monitor", "--sample"],
        ["backtest", "-p", "cap", "-p", "equal", "-p", "capped:0.05", "--start", "2025-06-01"],
    ],
)
def test_commands_use_the_terminal_width_and_keep_numbers_whole(
    args: list[str], width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from counterweight.cli import main

    monkeypatch.setenv("COLUMNS", str(width))
    assert main(args) in (0, 3)
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    for line in out.splitlines():
        for field in line.split("│")[2:]:
            assert not re.search(r"[0-9%+\-.,]…|…[0-9]", field), line


def test_rebalance_command_at_60_columns(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from counterweight.cli import main

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("COLUMNS", "60")
    args = [
        "rebalance",
        str(root / "examples" / "holdings_example.csv"),
        "-p",
        str(root / "examples" / "policies" / "mag7_max_20.toml"),
        "--min-trade",
        "500",
        "--no-risk",
        "-o",
        str(tmp_path / "t.csv"),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 60
    assert "left in cash" in out
    for line in out.splitlines():
        for field in line.split("│")[2:]:
            assert not re.search(r"[0-9%+\-.,]…|…[0-9]", field), line


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(40, 200),
    n_num=st.integers(1, 12),
    rows=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    label=names,
)
def test_fit_table_keeps_every_number_whole(
    width: int, n_num: int, rows: int, seed: int, label: str
) -> None:
    """Any table of name and number columns at any width from 40 to 200: every number is printed
    whole and no line is wider than the console."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = Table(title=f"{label} table")
    t.add_column("name")
    for j in range(n_num):
        t.add_column(f"c{j}", justify="right")
    cells = []
    for i in range(rows):
        nums = [f"{v:+,.{rng.integers(0, 4)}%}" for v in rng.normal(0, 50, n_num)]
        cells.extend(nums)
        t.add_row(f"{label} {i}" * int(rng.integers(1, 4)), *nums)
    buf = io.StringIO()
    term.print_table(Console(file=buf, width=width, color_system=None), t)
    text = buf.getvalue()
    # widths in terminal cells, as rich lays them out: a zero-width format character (U+E0000)
    # takes no cell, a Hangul syllable two
    from rich.cells import cell_len

    assert max(cell_len(line) for line in text.splitlines()) <= width
    for c in cells:
        assert c in text
