"""The backtest tear sheet: sections of charts and tables for :mod:`counterweight.report.html`.

Formats a :class:`~counterweight.backtest.analysis.TearSheetData`; computes nothing. Sections:
summary table, ETF check, equity curves, drawdowns, rolling relative return, Mag 7 and top-10
weights over time, turnover, calendar-year returns.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from counterweight.backtest.analysis import TearSheetData
from counterweight.market import Provenance
from counterweight.report.html import Section, render_html, write_html

PERCENT_COLUMNS = (
    "total_return",
    "cagr",
    "volatility",
    "max_drawdown",
    "tracking_error",
    "turnover",
    "costs_per_year",
)
RATIO_COLUMNS = (
    "sharpe",
    "sortino",
    "calmar",
    "information_ratio",
    "beta",
    "up_capture",
    "down_capture",
)


def _line_figure(frame: pd.DataFrame, title: str, yaxis: str, percent: bool = False):  # type: ignore[no-untyped-def]
    import plotly.graph_objects as go

    fig = go.Figure()
    for col in frame.columns:
        s = frame[col].dropna()
        fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), mode="lines", name=str(col)))
    fig.update_layout(
        title=title,
        yaxis_title=yaxis,
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def _bar_figure(frame: pd.DataFrame, title: str, yaxis: str):  # type: ignore[no-untyped-def]
    import plotly.graph_objects as go

    fig = go.Figure()
    for col in frame.columns:
        s = frame[col].dropna()
        fig.add_trace(go.Bar(x=s.index, y=s.to_numpy(), name=str(col)))
    fig.update_layout(
        title=title,
        yaxis_title=yaxis,
        barmode="group",
        height=340,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    fig.update_yaxes(tickformat=".0%")
    return fig


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The comparison table in display units: percent strings, ratios to two decimals, dates."""
    out = pd.DataFrame(index=summary.index)
    out.index.name = "strategy"
    for col in summary.columns:
        s = summary[col]
        if col in PERCENT_COLUMNS:
            out[col] = [("–" if pd.isna(v) else f"{v:.2%}") for v in s]
        elif col in RATIO_COLUMNS:
            out[col] = [("–" if pd.isna(v) else f"{v:.2f}") for v in s]
        elif col.startswith("drawdown_"):
            out[col] = [
                ("–" if v is None or pd.isna(v) else pd.Timestamp(v).date().isoformat()) for v in s
            ]
        else:
            out[col] = [str(v) for v in s]
    return out.T


def tearsheet_sections(data: TearSheetData) -> list[Section]:
    """The tear sheet as report sections."""
    sections = [
        Section(
            "Comparison",
            "Net of trading costs. Percent figures are per year where annualised; ratios use "
            "daily returns with a zero risk-free rate; relative figures against "
            f"{data.relative_to}.",
            tables=[("Strategies", summary_display(data.summary))],
            anchor="summary",
        )
    ]
    if data.etf is not None:
        t = data.etf.table.copy()
        for col in ("strategy_cagr", "etf_cagr", "gap", "tracking_error"):
            t[col] = [f"{v:.2%}" for v in t[col]]
        t["correlation"] = [f"{v:.4f}" for v in t["correlation"]]
        t.index.name = "strategy"
        blocks = []
        if data.etf.spread is not None:
            label, strat, etf = data.etf.spread
            blocks.append(
                f"<p>{label}: backtest {strat:+.2%} a year, ETFs {etf:+.2%} a year, "
                f"difference {strat - etf:+.2%}.</p>"
            )
        blocks.extend(f"<p class='intro'>{n}</p>" for n in data.etf.notes)
        sections.append(
            Section(
                "Backtest against the real funds",
                "The built-in rules next to the ETFs that follow the same indexes, same dates.",
                tables=[("CAGR, backtest vs ETF", t)],
                html_blocks=blocks,
            )
        )
    sections.append(
        Section(
            "Growth of 1",
            "Value of 1 invested at the first close.",
            figures=[_line_figure(data.values, "Equity curves", "value")],
        )
    )
    sections.append(
        Section(
            "Drawdowns",
            "Fall from the running peak.",
            figures=[_line_figure(data.drawdowns, "Drawdown", "drawdown", percent=True)],
        )
    )
    if not data.rolling_relative.empty:
        span = (
            "one-year"
            if data.rolling_window == data.periods_per_year
            else f"{data.rolling_window}-period"
        )
        sections.append(
            Section(
                "Rolling relative return",
                f"Trailing {span} compounded return minus that of {data.relative_to}.",
                figures=[
                    _line_figure(
                        data.rolling_relative,
                        f"Rolling {span} relative return",
                        "difference",
                        percent=True,
                    )
                ],
            )
        )
    if not data.mag7_weight.empty:
        sections.append(
            Section(
                "Concentration held",
                "Weight in the Magnificent 7 (both Alphabet classes) and in the 10 largest "
                "issuers, at each close.",
                figures=[
                    _line_figure(data.mag7_weight, "Mag 7 weight", "weight", percent=True),
                    _line_figure(data.top10_weight, "Top-10 issuer weight", "weight", percent=True),
                ],
            )
        )
    sections.append(
        Section(
            "Turnover",
            "Two-sided traded value (buys plus sells) as a share of portfolio value on each "
            "trade date; one-sided annual turnover is half its yearly sum.",
            figures=[_bar_figure(data.traded, "Traded value per trade date", "traded / value")],
        )
    )
    years = data.years.map(lambda v: "–" if pd.isna(v) else f"{v:.2%}")
    sections.append(
        Section(
            "Calendar years",
            "Compounded return per calendar year (partial years at the ends).",
            tables=[("Returns", years)],
        )
    )
    return sections


def render_tearsheet(data: TearSheetData, provenance: Provenance | None = None) -> str:
    """The whole tear sheet as one self-contained HTML page (caveats listed first)."""
    prov = None if provenance is None else replace(provenance, caveats=data.caveats)
    return render_html(
        data.title, tearsheet_sections(data), prov, subtitle="counterweight backtest tear sheet"
    )


def write_tearsheet(
    path: str | Path, data: TearSheetData, provenance: Provenance | None = None
) -> Path:
    """Write the tear sheet atomically."""
    return write_html(path, render_tearsheet(data, provenance))
