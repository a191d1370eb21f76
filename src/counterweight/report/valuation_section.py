"""The valuation-over-time part of the main report: P/E history, earnings gap, fundamentals.

Formats a :class:`~counterweight.measure.valuation.ValuationOverview` (computed by
:func:`~counterweight.report.main_report.build_report`) for the terminal (rich tables), the
HTML report (Plotly charts and tables) and the JSON report; computes nothing. Functions take
the overview and the dates they need, not the whole report, so this module imports neither
the report builder nor the other renderers' modules at import time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from counterweight.measure.fundamentals import SnapshotSpacing
from counterweight.measure.valuation import ValuationOverview
from counterweight.report.formats import num, pct

GAP_DAYS = 92
"""Gaps between snapshots longer than this break the chart lines (no false continuity)."""

BASKET_COLORS = {"Mag 7": "#d1495b", "Rest": "#00798c", "Index": "#14213d"}

AMOUNT_LABELS = {
    "earnings": "earnings",
    "revenue": "revenue",
    "book": "book equity",
    "ebitda": "EBITDA",
    "dividends": "dividends",
}


def _date(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT:
        return "–"
    try:
        return pd.Timestamp(x).date().isoformat()
    except (TypeError, ValueError):
        return str(x)


def age_text(days: int) -> str:
    """'the same day' / '1 day' / 'N days' before the as-of date."""
    if days <= 0:
        return "taken on the as-of date"
    return f"{days} day{'s' if days != 1 else ''} before the as-of date"


def snapshot_line(snapshot: pd.Timestamp | None, as_of: pd.Timestamp) -> str:
    """'Snapshot 2026-08-02, 1 day before the as-of date 2026-08-03.'"""
    if snapshot is None:
        return "No fundamentals snapshot on or before the as-of date."
    days = int((as_of - snapshot).days)
    return f"Snapshot {snapshot.date()}, {age_text(days)} {as_of.date()}."


def spacing_text(sp: SnapshotSpacing, available: list[str], unavailable: list[str]) -> str:
    """One paragraph: how many snapshots, how spaced, which windows that allows."""
    if sp.n == 0 or sp.first is None or sp.last is None:
        return "No usable snapshots."
    gaps = "; ".join(f"{a.date()} to {b.date()} ({d:,} days)" for a, b, d in sp.largest_gaps[:3])
    text = (
        f"{sp.n} usable snapshots from {sp.first.date()} to {sp.last.date()}, median spacing "
        f"{sp.median_gap_days:.0f} day{'' if round(sp.median_gap_days) == 1 else 's'}"
    )
    if gaps:
        text += f"; longest gaps: {gaps}"
    text += ". "
    if available:
        text += f"Windows the spacing supports: {', '.join(available)}. "
    if unavailable:
        text += f"Not supported (no snapshot near the window start): {', '.join(unavailable)}."
    return text.strip()


def window_text(w: Any) -> str:
    """'over 1Y (2025-08-01 to 2026-08-02)' or, for a fallback, 'from A to B (1.50 years; the
    spacing allows no 1Y window)'."""
    span = f"{_date(w.start)} to {_date(w.end)}"
    if str(w.label).startswith("since"):
        wanted = str(w.reason).split(":", 1)[0] or "the requested"
        return f"from {span} ({w.years:.2f} years; the spacing allows no {wanted} window)"
    return f"over {w.label} ({span})"


def growth_sentence(ov: ValuationOverview) -> str:
    """'Over 1Y (...): 9 of 11 sectors grew earnings, ...; not in the snapshots: revenue.'"""
    r = ov.fundamentals
    w = r.window
    if not w.available:
        return f"Sector growth: unavailable ({w.reason})."
    parts = [
        f"{k} of {n} sectors grew {AMOUNT_LABELS[a]}"
        for a, (k, n) in r.grew.items()
        if n > 0 and a != "book"
    ]
    missing = [AMOUNT_LABELS[a] for a, (_, n) in r.grew.items() if n == 0]
    tail = f"; not in the snapshots: {', '.join(missing)}" if missing else ""
    head = window_text(w)
    body = ", ".join(parts) if parts else "no growth measurable"
    return f"{head[0].upper()}{head[1:]}: {body}{tail}."


def _gap_columns(ov: ValuationOverview) -> list[str]:
    return [b for b in ov.gap.baskets if b in ov.gap.windows.columns]


# --------------------------------------------------------------------------- terminal


def _rich(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", width=None, pad_edge=False)
    for i, c in enumerate(columns):
        t.add_column(c, no_wrap=True, justify="left" if i == 0 else "right")
    return t


def terminal_tables(
    ov: ValuationOverview | None, as_of: pd.Timestamp, snapshot: pd.Timestamp | None
) -> list[Table]:
    """Rich tables: P/E against its history, the earnings gap, fundamentals by basket."""
    if ov is None:
        return []
    out: list[Table] = []
    s = ov.pe_summary
    if not s.empty:
        t = _rich(
            f"P/E against its history (month-end snapshots since {s['since'].iloc[0]}). "
            + snapshot_line(ov.gap.end, as_of),
            "basket",
            "P/E",
            "average",
            "percentile",
            "min",
            "min on",
            "max",
            "max on",
        )
        for name, row in s.iterrows():
            t.add_row(
                str(name),
                num(row["current"]),
                num(row["average"]),
                pct(row["percentile"], 0),
                num(row["min"]),
                str(row["min_date"]),
                num(row["max"]),
                str(row["max_date"]),
            )
        out.append(t)
    g = ov.gap
    t = _rich(
        f"Earnings gap: like-for-like trailing earnings growth to the {g.end.date()} snapshot",
        "window",
        "from",
        "years",
        g.group,
        "Rest",
        f"{g.group} - Rest",
        f"{g.group} a.r.",
        "Rest a.r.",
    )
    for label, row in g.windows.iterrows():
        if row["reason"]:
            continue  # listed in the notes with the reason
        t.add_row(
            str(label),
            _date(row["start"]),
            num(row["years"], 2),
            pct(row.get(g.group), 1, True),
            pct(row.get("Rest"), 1, True),
            pct(row["gap"], 1, True),
            pct(row.get(f"{g.group} (annualised)"), 1, True),
            pct(row.get("Rest (annualised)"), 1, True),
        )
    out.append(t)
    r = ov.fundamentals
    lv = r.levels
    t = _rich(
        f"Fundamentals by basket on the {r.snapshot.date()} snapshot (sums over the names "
        "with both terms)",
        "basket",
        "P/E",
        "P/S",
        "P/B",
        "margin",
        "ROE",
        "EBITDA m.",
        "div. yld",
    )
    for name in lv.index:
        row = lv.loc[name]
        t.add_row(
            str(name),
            num(row["pe"]),
            num(row["ps"], 2),
            num(row["pb"], 2),
            pct(row["net_margin"]),
            pct(row["roe"]),
            pct(row["ebitda_margin"]),
            pct(row["dividend_yield"], 2),
        )
    out.append(t)
    if r.window.available:
        t = _rich(
            f"Like-for-like growth by basket, {window_text(r.window)}",
            "basket",
            "earnings",
            "revenue",
            "EBITDA",
            "dividends",
        )
        for name in r.growth.index:
            gr = r.growth.loc[name]
            t.add_row(
                str(name),
                *(pct(gr.get(a), 1, True) for a in ("earnings", "revenue", "ebitda", "dividends")),
            )
        out.append(t)
    notes = Table(
        title="Valuation notes",
        title_justify="left",
        title_style="bold",
        show_header=False,
        box=None,
        pad_edge=False,
    )
    notes.add_column("note", justify="left", overflow="fold")
    for line in terminal_lines(ov, snapshot):
        notes.add_row(f"- {line}")
    out.append(notes)
    return out


def mismatch_line(ov: ValuationOverview, snapshot: pd.Timestamp | None) -> str | None:
    """Say so when the valuation table's snapshot is not the last usable one used here."""
    if snapshot is None or snapshot == ov.gap.end:
        return None
    if snapshot > ov.gap.end:
        return (
            f"The valuation table uses the {snapshot.date()} snapshot; it carries earnings for "
            f"too few names to enter the history, which ends on {ov.gap.end.date()}."
        )
    return None


def terminal_lines(ov: ValuationOverview | None, snapshot: pd.Timestamp | None = None) -> list[str]:
    """Plain lines printed after the tables: unavailable windows, spacing, sector growth."""
    if ov is None:
        return []
    g = ov.gap
    unavailable = [f"{i}: {r}" for i, r in g.windows["reason"].items() if r]
    avail = [str(i) for i in g.windows.index[g.windows["reason"] == ""]]
    lines = [
        spacing_text(g.spacing, avail, [str(i) for i in g.windows.index if str(i) not in avail])
    ]
    lines += [f"earnings gap {u}" for u in unavailable]
    lines.append(growth_sentence(ov))
    lines += list(g.notes)
    mismatch = mismatch_line(ov, snapshot)
    return [mismatch, *lines] if mismatch else lines


# --------------------------------------------------------------------------- HTML


def _broken(frame: pd.DataFrame, gap_days: int = GAP_DAYS) -> pd.DataFrame:
    """Insert an empty row inside every gap longer than ``gap_days`` (breaks the lines)."""
    if len(frame) < 2:
        return frame
    idx = pd.DatetimeIndex(frame.index)
    mids = [
        idx[k] + (idx[k + 1] - idx[k]) / 2
        for k in range(len(idx) - 1)
        if (idx[k + 1] - idx[k]).days > gap_days
    ]
    if not mids:
        return frame
    blank = pd.DataFrame(float("nan"), index=pd.DatetimeIndex(mids), columns=frame.columns)
    return pd.concat([frame, blank]).sort_index()


def html_sections(
    ov: ValuationOverview | None, as_of: pd.Timestamp, snapshot: pd.Timestamp | None
) -> list[Any]:
    """The "Valuation over time" section: P/E history and earnings index charts, tables."""
    if ov is None:
        return []
    import plotly.graph_objects as go

    from counterweight.report.html import Section

    def fig(title: str, ytitle: str, fmt: str, log: bool = False) -> Any:
        f = go.Figure()
        f.update_layout(
            title=title,
            template="plotly_white",
            height=380,
            margin={"l": 60, "r": 20, "t": 50, "b": 40},
            legend={"orientation": "h", "y": -0.15},
            yaxis={"title": ytitle, "tickformat": fmt, "type": "log" if log else "linear"},
            hovermode="x unified",
        )
        return f

    pe = _broken(ov.pe)
    f1 = fig("Aggregate P/E on every snapshot (total cap / total earnings)", "P/E", ".0f")
    for b in pe.columns:
        f1.add_trace(
            go.Scatter(
                x=pe.index,
                y=pe[b].to_numpy(),
                name=str(b),
                mode="lines+markers",
                marker={"size": 4},
                line={"color": BASKET_COLORS.get(str(b))},
            )
        )
    g = ov.gap
    ix = _broken(g.index)
    f2 = fig(
        "Trailing earnings, like for like, chain-linked (1 = first snapshot; log scale)",
        "earnings index",
        ".2f",
        log=True,
    )
    for b in ix.columns:
        f2.add_trace(
            go.Scatter(
                x=ix.index,
                y=ix[b].to_numpy(),
                name=str(b),
                mode="lines+markers",
                marker={"size": 4},
                line={"color": BASKET_COLORS.get(str(b))},
            )
        )
    cols = _gap_columns(ov)
    gap_table = pd.DataFrame(
        {
            "from": [_date(x) for x in g.windows["start"]],
            "to": [_date(x) for x in g.windows["end"]],
            "years": [num(x, 2) for x in g.windows["years"]],
            **{c: [pct(x, 1, True) for x in g.windows[c]] for c in cols},
            f"{g.group} - Rest": [pct(x, 1, True) for x in g.windows["gap"]],
            f"{g.group} annualised": [
                pct(x, 1, True) for x in g.windows[f"{g.group} (annualised)"]
            ],
            "Rest annualised": [pct(x, 1, True) for x in g.windows["Rest (annualised)"]]
            if "Rest (annualised)" in g.windows
            else "–",
            "unavailable because": [r or "" for r in g.windows["reason"]],
        },
        index=pd.Index([str(i) for i in g.windows.index], name="window"),
    )
    s = ov.pe_summary
    hist_table = (
        pd.DataFrame(
            {
                "P/E": [num(x) for x in s["current"]],
                "average": [num(x) for x in s["average"]],
                "percentile": [pct(x, 0) for x in s["percentile"]],
                "min": [f"{num(a)} ({d})" for a, d in zip(s["min"], s["min_date"], strict=True)],
                "max": [f"{num(a)} ({d})" for a, d in zip(s["max"], s["max_date"], strict=True)],
            },
            index=pd.Index([str(i) for i in s.index], name="basket"),
        )
        if not s.empty
        else pd.DataFrame()
    )
    r = ov.fundamentals
    lv = r.levels
    fund_table = pd.DataFrame(
        {
            "P/E": [num(x) for x in lv["pe"]],
            "P/S": [num(x, 2) for x in lv["ps"]],
            "P/B": [num(x, 2) for x in lv["pb"]],
            "net margin": [pct(x) for x in lv["net_margin"]],
            "ROE": [pct(x) for x in lv["roe"]],
            "EBITDA margin": [pct(x) for x in lv["ebitda_margin"]],
            "dividend yield": [pct(x, 2) for x in lv["dividend_yield"]],
            **{
                f"{AMOUNT_LABELS[a]} growth": [pct(r.growth[a].get(i), 1, True) for i in lv.index]
                for a in ("earnings", "revenue", "ebitda", "dividends")
            },
        },
        index=pd.Index([str(i) for i in lv.index], name="basket"),
    )
    avail = [str(i) for i in g.windows.index[g.windows["reason"] == ""]]
    intro = (
        snapshot_line(ov.gap.end, as_of)
        + (" " + (mismatch_line(ov, snapshot) or ""))
        + " Aggregate ratios are sums over the names with both terms (share classes counted "
        "once): P/E = cap / earnings, P/S = cap / revenue with revenue = cap / (P/S), "
        "net margin = earnings / revenue, ROE = earnings / book = (P/B) / (P/E). Growth is "
        "like for like: the same companies' earnings on both snapshots, so index joins and "
        "leavers never read as growth. "
        + spacing_text(g.spacing, avail, [str(i) for i in g.windows.index if str(i) not in avail])
        + " "
        + growth_sentence(ov)
    )
    tables = [
        ("P/E against its own history (month-end snapshots)", hist_table),
        (f"Earnings gap: {g.group} against the rest, to the {g.end.date()} snapshot", gap_table),
        (
            f"Fundamentals by basket and sector ({r.snapshot.date()} snapshot; growth over "
            f"{r.window.label})",
            fund_table,
        ),
    ]
    return [
        Section(
            title="Valuation over time and the earnings gap",
            intro=intro,
            figures=[f1, f2],
            tables=[(c, t) for c, t in tables if not t.empty],
            anchor="valuation-history",
        )
    ]


# --------------------------------------------------------------------------- JSON


def _json(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return str(v)


def _frame_json(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(i): {str(k): (_json(v) if k != "reason" else str(v)) for k, v in row.items()}
        for i, row in frame.iterrows()
    }


def _history_json(frame: pd.DataFrame) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"dates": [d.date().isoformat() for d in frame.index]}
    for c in frame.columns:
        out[str(c)] = [_json(v) for v in frame[c].to_numpy()]
    return out


def json_dict(
    ov: ValuationOverview | None, as_of: pd.Timestamp, snapshot: pd.Timestamp | None
) -> dict[str, Any] | None:
    """The overview as JSON-ready data (fractions, ISO dates, NaN as null)."""
    if ov is None:
        return None
    g, r = ov.gap, ov.fundamentals
    return {
        "snapshot": g.end.date().isoformat(),
        "snapshot_age_days": int((as_of - g.end).days),
        "valuation_table_snapshot": None if snapshot is None else snapshot.date().isoformat(),
        "pe_history": _history_json(ov.pe),
        "pe_summary": _frame_json(ov.pe_summary),
        "earnings_gap": {
            "group": g.group,
            "end": g.end.date().isoformat(),
            "method": "like-for-like growth: sum of the same issuers' trailing earnings on both "
            "snapshots; a window starts on the snapshot nearest its start within 10% of its "
            "length (3 to 92 days), else it is unavailable with the reason",
            "windows": _frame_json(g.windows),
            "spacing": g.spacing.to_dict(),
            "earnings": _history_json(g.earnings),
            "earnings_index": _history_json(g.index),
            "trailing_growth": {"window": g.trailing_label, **_history_json(g.trailing)},
            "notes": list(g.notes),
        },
        "fundamentals": {
            "snapshot": r.snapshot.date().isoformat(),
            "window": {
                "label": r.window.label,
                "start": _json(r.window.start),
                "end": _json(r.window.end),
                "years": _json(r.window.years),
                "note": r.window.reason,
            },
            "levels": _frame_json(r.levels),
            "growth": _frame_json(r.growth),
            "sectors_grew": {a: {"grew": k, "of": n} for a, (k, n) in r.grew.items()},
            "fields": list(r.available),
        },
    }
