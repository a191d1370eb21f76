"""The report's valuation-over-time section: terminal tables, HTML section and JSON."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from rich.console import Console

from counterweight.groups import MAG7
from counterweight.measure.fundamentals import snapshot_spacing
from counterweight.measure.valuation import valuation_overview
from counterweight.report import valuation_section as vs

ISSUERS = pd.Series({"GOOGL": "Alphabet", "GOOG": "Alphabet"})
SECTORS = pd.Series(
    {"AAPL": "IT", "GOOGL": "Comm", "GOOG": "Comm", "KO": "Staples", "XOM": "Energy"}
)
DATES = ["2015-01-05", "2016-01-04", "2024-01-02", "2024-07-01", "2025-01-02", "2025-02-03"]


def fundamentals() -> pd.DataFrame:
    frames = []
    for k, d in enumerate(DATES):
        years = (pd.Timestamp(d) - pd.Timestamp(DATES[0])).days / 365.25
        gm, gr = 1.3**years, 1.05**years
        rows = [  # ticker, price, cap, eps, P/S, P/B, EBITDA, dividend yield (percent)
            ("AAPL", 100.0, 1000.0, 5.0 * gm, 5.0 / gm, 20.0, 80.0 * gm, 0.5),
            ("GOOGL", 50.0, 800.0, 2.0 * gm, 6.0 / gm, 5.0, 60.0 * gm, 0.0),
            ("GOOG", 50.0, 800.0, 2.0 * gm, 6.0 / gm, 5.0, 60.0 * gm, 0.0),
            ("KO", 60.0, 300.0, 3.0 * gr, 3.0 / gr, 10.0, 30.0 * gr, 3.0),
            ("XOM", 100.0, 500.0, 8.0 * gr, 1.0 / gr, 2.0, 90.0 * gr, 3.5 + k * 0.01),
        ]
        s = pd.DataFrame(
            rows,
            columns=["ticker", "price", "market_cap", "eps", "price_sales", "price_book",
                     "ebitda", "div_yield"],
        )  # fmt: skip
        s.insert(0, "date", pd.Timestamp(d))
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def overview():  # type: ignore[no-untyped-def]
    return valuation_overview(
        fundamentals(),
        MAG7,
        as_of="2025-02-10",
        windows=("1M", "1Y", "3Y"),
        issuers=ISSUERS,
        sectors=SECTORS,
    )


def test_terminal_tables_state_age_windows_and_growth() -> None:
    ov = overview()
    buf = io.StringIO()
    con = Console(file=buf, width=100, color_system=None)
    for t in vs.terminal_tables(ov, pd.Timestamp("2025-02-10"), pd.Timestamp("2025-02-03")):
        con.print(t)
    raw = buf.getvalue()
    assert max(len(line) for line in raw.splitlines()) <= 100
    text = " ".join(raw.split())  # lines wrap at the console width
    assert "Snapshot 2025-02-03, 7 days before the as-of date 2025-02-10" in text
    assert "Earnings gap" in text and "1Y" in text
    assert "3Y: no snapshot within 92 days of 2022-02-03" in text
    assert "Over 1Y (2024-01-02 to 2025-02-03): 4 of 4 sectors grew earnings" in text
    assert "4 of 4 sectors grew revenue" in text
    assert vs.terminal_tables(None, pd.Timestamp("2025-02-10"), None) == []


def test_html_section_and_json() -> None:
    ov = overview()
    (sec,) = vs.html_sections(ov, pd.Timestamp("2025-02-10"), pd.Timestamp("2025-02-03"))
    assert len(sec.figures) == 2 and len(sec.tables) == 3
    # the P/E chart breaks its lines inside each of the 4 gaps over 92 days (an empty point)
    ys = sec.figures[0].data[0].y
    assert np.isnan(ys).sum() == 4 and len(ys) == len(DATES) + 4
    data = vs.json_dict(ov, pd.Timestamp("2025-02-10"), pd.Timestamp("2025-02-03"))
    text = json.dumps(data, allow_nan=False)  # no NaN anywhere
    assert data is not None and data["snapshot_age_days"] == 7
    assert data["earnings_gap"]["windows"]["3Y"]["Mag 7"] is None
    assert data["fundamentals"]["sectors_grew"]["revenue"] == {"grew": 4, "of": 4}
    assert "like-for-like" in text


def test_spacing_and_window_texts() -> None:
    sp = snapshot_spacing(pd.DatetimeIndex(DATES))
    line = vs.spacing_text(sp, ["1Y"], ["3Y"])
    assert line.startswith("6 usable snapshots from 2015-01-05 to 2025-02-03")
    assert "2016-01-04 to 2024-01-02 (2,920 days)" in line and "Not supported" in line
    assert (
        vs.age_text(0) == "taken on the as-of date"
        and vs.age_text(1) == "1 day before the as-of date"
    )


def test_main_report_carries_the_overview() -> None:
    import counterweight as cw
    from counterweight.report.json_report import report_to_dict
    from counterweight.report.main_report import build_report

    rep = build_report(cw.load_sample())
    ov = rep.valuation_overview
    assert ov is not None and rep.valuation_date is not None
    assert ov.gap.end <= rep.as_of and ov.fundamentals.snapshot == ov.gap.end
    # the history's last P/E is the last usable snapshot's, on that snapshot's own names
    assert ov.pe.index[-1] == ov.gap.end
    d = report_to_dict(rep, histories=False)["valuation_over_time"]
    assert d["snapshot_age_days"] == (rep.as_of - ov.gap.end).days
    assert d["valuation_table_snapshot"] == rep.valuation_date.date().isoformat()


def test_a_partial_last_snapshot_is_named() -> None:
    ov = overview()
    lines = vs.terminal_lines(ov, pd.Timestamp("2025-02-05"))
    assert lines[0].startswith("The valuation table uses the 2025-02-05 snapshot")
    assert vs.mismatch_line(ov, ov.gap.end) is None
