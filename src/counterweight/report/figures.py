"""HTML sections of the main report: Plotly charts and tables built from a MainReport.

:func:`main_sections` returns the list of :class:`~counterweight.report.html.Section` for the
concentration and leadership part; other areas append their own sections before
:func:`~counterweight.report.html.render_html`. Imports plotly, so only ``--html`` pays for it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from counterweight.report.caveats import unique_lines
from counterweight.report.formats import num, pct, txt
from counterweight.report.html import Section
from counterweight.report.main_report import MainReport
from counterweight.report.terminal import MEASURE_LABELS
from counterweight.report.valuation_section import html_sections

COLORS = {
    "Mag 7": "#d1495b",
    "Rest": "#00798c",
    "Index": "#14213d",
    "equal": "#edae49",
    "SPY": "#14213d",
    "RSP": "#edae49",
}


def _fig(title: str, yaxis: str = "", percent: bool = True) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        yaxis={"title": yaxis, "tickformat": ".0%" if percent else ","},
        hovermode="x unified",
    )
    return fig


def _line(
    fig: Any, s: pd.Series, name: str, color: str | None = None, dash: str | None = None
) -> None:
    import plotly.graph_objects as go

    fig.add_trace(
        go.Scatter(
            x=s.index,
            y=s.to_numpy(),
            name=name,
            mode="lines",
            line={"color": color, "dash": dash, "width": 2 if dash is None else 1.5},
        )
    )


def concentration_section(rep: MainReport) -> Section:
    m = rep.concentration.measures
    fig = _fig("Top-10 and Mag 7 share of the index, with the long-run average", "share of index")
    for col, color in (("top10", "#14213d"), ("Mag 7", COLORS["Mag 7"]), ("top5", "#8d99ae")):
        if col in m.columns:
            s = m[col].dropna()
            label = MEASURE_LABELS.get(col, f"{col} share")
            _line(fig, s, label, color)
            avg = rep.concentration_summary.loc[col, "average"]
            _line(fig, pd.Series(avg, index=s.index), f"{label}: average {pct(avg)}", color, "dash")
    figures = [fig]
    if rep.long_run is not None and rep.long_run_summary is not None:
        lm = rep.long_run.measures
        long_fig = _fig(
            f"Long-run context: {rep.long_run_label}, with the long-run average", "share of index"
        )
        for col, color in (("top10", "#14213d"), ("Mag 7", COLORS["Mag 7"])):
            if col in lm.columns and col in rep.long_run_summary.index:
                ls = lm[col].dropna()
                label = MEASURE_LABELS.get(col, f"{col} share")
                _line(long_fig, ls, label, color)
                lavg = rep.long_run_summary.loc[col, "average"]
                _line(
                    long_fig,
                    pd.Series(lavg, index=ls.index),
                    f"{label}: average {pct(lavg)}",
                    color,
                    "dash",
                )
        figures.append(long_fig)
    eff = _fig("Effective number of names (1 / HHI)", "names", percent=False)
    _line(eff, m["effective_n"].dropna(), "effective N", "#00798c")
    summ = rep.concentration_summary
    table = pd.DataFrame(
        {
            "today": [
                num(v) if i == "effective_n" else pct(v, 2) for i, v in summ["current"].items()
            ],
            "average": [
                num(v) if i == "effective_n" else pct(v, 2) for i, v in summ["average"].items()
            ],
            "percentile": [pct(v, 0) for v in summ["percentile"]],
            "max": [num(v) if i == "effective_n" else pct(v, 2) for i, v in summ["max"].items()],
            "max on": summ["max_date"].astype(str).to_numpy(),
        },
        index=pd.Index(
            [MEASURE_LABELS.get(str(i), f"{i} share") for i in summ.index], name="measure"
        ),
    )
    th = rep.top_holdings
    holdings = pd.DataFrame(
        {
            "tickers": th["tickers"].astype(str).to_numpy(),
            "sector": [txt(v) for v in th["sector"]],
            "weight": [pct(v, 2) for v in th["weight"]],
            "cumulative": [pct(v, 1) for v in th["cumulative"]],
        },
        index=pd.Index(th["name"].astype(str), name="name"),
    )
    return Section(
        title="Concentration today against its history",
        intro=(
            f"Cap weights of the index members ({rep.level} level: share classes of one company "
            f"count once), {rep.start.date()} to {rep.as_of.date()}. Percentile: share of days on "
            "record with a reading at or below today's."
        ),
        figures=[*figures, eff],
        tables=[
            ("Concentration measures", table),
            (f"Largest names on {rep.as_of.date()}", holdings),
        ],
        anchor="concentration",
    )


def _returns_table(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    cols = [c for c in columns if c in frame.columns]
    out = pd.DataFrame({c: [pct(v, 1, True) for v in frame[c]] for c in cols}, index=frame.index)
    out.index.name = "window"
    if "start" in frame.columns:
        out.insert(0, "from", frame["start"].astype(str).to_numpy())
    return out


def leadership_section(rep: MainReport) -> Section:
    from counterweight.measure.leadership import growth_index

    d = rep.daily_returns
    growth = growth_index(d) - 1.0
    fig = _fig(
        "Mag 7 vs the rest: cumulative return (cap and equal weight within each group)", "return"
    )
    for col, color, dash in (
        ("Mag 7 (cap)", COLORS["Mag 7"], None),
        ("Rest (cap)", COLORS["Rest"], None),
        ("Index (cap)", COLORS["Index"], None),
        ("Mag 7 (equal)", COLORS["Mag 7"], "dot"),
        ("Rest (equal)", COLORS["Rest"], "dot"),
    ):
        if col in growth.columns:
            _line(fig, growth[col], col, color, dash)
    for g in rep.groups:
        if g != "Mag 7" and f"{g} (cap)" in growth.columns:
            _line(fig, growth[f"{g} (cap)"], f"{g} (cap)")
    rel = _fig(str(rep.rolling_relative.name), "return difference")
    _line(rel, rep.rolling_relative.dropna(), "Mag 7 minus rest", COLORS["Mag 7"])
    returns = _returns_table(
        rep.returns,
        [
            "Index (cap)",
            "Index (equal)",
            "Mag 7 (cap)",
            "Mag 7 (equal)",
            "Rest (cap)",
            "Rest (equal)",
            *[f"{g} ({w})" for g in rep.groups if g != "Mag 7" for w in ("cap", "equal")],
            "SPY (ETF)",
            "RSP (ETF)",
            "QQQ (ETF)",
            "IWM (ETF)",
        ],
    )
    breadth = pd.DataFrame(
        {
            "window": [b.window.label for b in rep.breadth],
            "names up": [f"{b.n_up}/{b.n_names}" for b in rep.breadth],
            "beat the index": [f"{b.n_beat_index}/{b.n_names}" for b in rep.breadth],
            "best": [f"{b.best} {pct(b.best_return, 1, True)}" for b in rep.breadth],
            "worst": [f"{b.worst} {pct(b.worst_return, 1, True)}" for b in rep.breadth],
            "best - worst": [pct(b.spread, 1) for b in rep.breadth],
            "dispersion": [pct(b.dispersion, 1) for b in rep.breadth],
        },
        index=pd.Index([b.group for b in rep.breadth], name="group"),
    )
    return Section(
        title="Leadership: Mag 7 vs the rest",
        intro=(
            "Daily returns of the index members with previous-close weights, compounded over each "
            "window. 'Rest' is every member outside the Mag 7. Inside a group, names are issuers."
        ),
        figures=[fig, rel],
        tables=[("Returns by window", returns), ("Inside each group", breadth)],
        anchor="leadership",
    )


def equal_vs_cap_section(rep: MainReport) -> Section:
    from counterweight.measure.leadership import growth_index

    growth = growth_index(rep.daily_returns[["Index (cap)", "Index (equal)"]]) - 1.0
    fig = _fig("Equal vs cap weight: members (daily rebalanced) and RSP vs SPY", "return")
    _line(fig, growth["Index (cap)"], "members, cap weight", COLORS["Index"])
    _line(fig, growth["Index (equal)"], "members, equal weight", COLORS["equal"])
    if not rep.etf_growth.empty:
        _line(fig, rep.etf_growth["SPY"] - 1.0, "SPY", COLORS["SPY"], "dot")
        _line(fig, rep.etf_growth["RSP"] - 1.0, "RSP", COLORS["RSP"], "dot")
    labels = [w.label for w in rep.windows]
    pairs = pd.concat([rep.equal_vs_cap.T, rep.size_style.reindex(columns=labels)])
    table = pd.DataFrame(
        {c: [pct(v, 1, True) for v in pairs[c]] for c in labels}, index=pairs.index
    )
    table.index.name = "return difference"
    return Section(
        title="Equal vs cap weight, size and style",
        intro="Positive numbers mean the first named leg did better (equal weight, smaller, value).",
        figures=[fig],
        tables=[("Return differences by window", table)],
        anchor="equal-vs-cap",
    )


def contributions_section(rep: MainReport) -> Section:
    import plotly.graph_objects as go

    w = rep.contribution_window
    top = rep.contributions_top.iloc[::-1]
    fig = _fig(
        f"Largest contributions to the index return, {w.label} ({w.start.date()} to {w.end.date()})",
        "",
    )
    fig.add_trace(
        go.Bar(
            x=top["contribution"],
            y=top["name"],
            orientation="h",
            marker_color="#00798c",
            name="contribution",
        )
    )
    fig.update_layout(
        xaxis={"tickformat": ".1%"}, yaxis={"tickformat": ""}, height=420, hovermode="closest"
    )
    sec = rep.contributions_sectors.iloc[::-1]
    fig2 = _fig("Contribution by sector", "")
    fig2.add_trace(
        go.Bar(
            x=sec.to_numpy(),
            y=[str(i) for i in sec.index],
            orientation="h",
            marker_color="#14213d",
            name="sector",
        )
    )
    fig2.update_layout(
        xaxis={"tickformat": ".1%"}, yaxis={"tickformat": ""}, height=420, hovermode="closest"
    )
    total = pct(rep.contribution_total, 2, True)

    def _frame(series: pd.Series, first: str, with_total: bool) -> pd.DataFrame:
        rows = [(str(i), pct(v, 2, True)) for i, v in series.items()]
        if with_total:
            rows.append(("index return", total))
        return pd.DataFrame(
            {"contribution": [v for _, v in rows]},
            index=pd.Index([k for k, _ in rows], name=first),
        )

    tables = [
        (
            "By group: Mag 7 + rest sum to the index return",
            _frame(rep.contributions_groups, "group", True),
        ),
        (
            "By sector: sectors sum to the index return",
            _frame(rep.contributions_sectors, "sector", True),
        ),
    ]
    if len(rep.contributions_custom):
        tables.append(
            (
                "Custom groups (may overlap: not additive)",
                _frame(rep.contributions_custom, "group", False),
            )
        )
    return Section(
        title="Who drove the index",
        intro=(
            f"Index return {total} over {w.label}. Each name's daily "
            "contribution (previous-close weight x return) is scaled by the index's growth to the "
            "previous close, so the names' contributions add up exactly to the compounded index "
            "return; so do the sectors' and Mag 7 plus the rest, which partition the index. "
            "Custom groups may overlap and do not add up."
        ),
        figures=[fig, fig2],
        tables=tables,
        anchor="contributions",
    )


def sectors_section(rep: MainReport) -> Section | None:
    import plotly.graph_objects as go

    if rep.sector_summary.empty:
        return None

    sw = rep.concentration.sectors
    order = list(rep.sector_summary.index)
    fig = _fig("Sector weights over time", "weight")
    for s in reversed(order):
        fig.add_trace(
            go.Scatter(
                x=sw.index,
                y=sw[s].to_numpy(),
                name=s,
                mode="lines",
                stackgroup="one",
                line={"width": 0.5},
            )
        )
    sr = rep.sector_returns
    w = rep.contribution_window
    fig2 = _fig(f"Sector returns, {w.label}: members vs sector ETFs", "return")
    for col in ("members (cap)", "members (equal)", "sector ETF", "equal-weight ETF"):
        if col in sr.columns:
            fig2.add_trace(
                go.Bar(x=[str(i) for i in sr.index], y=sr[col].astype(float).to_numpy(), name=col)
            )
    fig2.update_layout(barmode="group", hovermode="closest", height=420)
    ss = rep.sector_summary
    table = pd.DataFrame(
        {
            "weight": [pct(v, 1) for v in ss["current"]],
            "average": [pct(v, 1) for v in ss["average"]],
            "percentile": [pct(v, 0) for v in ss["percentile"]],
            "return (members)": [pct(sr["members (cap)"].get(i), 1, True) for i in ss.index],
            "return (sector ETF)": [
                pct(sr["sector ETF"].get(i), 1, True) if "sector ETF" in sr else "–"
                for i in ss.index
            ],
        },
        index=pd.Index(ss.index, name="sector"),
    )
    return Section(
        title="Sectors",
        intro="GICS sector weights of the members and their returns; ETFs: Select Sector SPDRs and their equal-weight twins.",
        figures=[fig, fig2],
        tables=[("Sector weights and returns", table)],
        anchor="sectors",
    )


def valuation_section(rep: MainReport) -> Section | None:
    import plotly.graph_objects as go

    v = rep.valuation
    if v is None:
        return None
    fig = _fig(
        f"Aggregate P/E by basket ({'' if rep.valuation_date is None else rep.valuation_date.date()} snapshot)",
        "P/E",
        percent=False,
    )
    fig.add_trace(
        go.Bar(
            x=[str(i) for i in v.index],
            y=v["pe"].astype(float).to_numpy(),
            marker_color="#14213d",
            name="P/E",
        )
    )
    fig.update_layout(hovermode="closest")
    table = pd.DataFrame(
        {
            "P/E": [num(x) for x in v["pe"]],
            "earnings yield": [pct(x, 2) for x in v["earnings_yield"]],
            "cap $bn": [num(x / 1e9, 0) for x in v["market_cap"]],
            "names": [str(int(x)) for x in v["n_names"]],
            "lacking data": [str(int(x)) for x in v["n_missing"]],
        },
        index=pd.Index([str(i) for i in v.index], name="basket"),
    )
    return Section(
        title="Valuation",
        intro=(
            "Aggregate P/E = total market cap / total trailing earnings of the names with data "
            "(not an average of ratios); earnings = cap x EPS / price, so losses count."
        ),
        figures=[fig],
        tables=[("Valuation by basket", table)],
        anchor="valuation",
    )


def main_sections(rep: MainReport) -> list[Section]:
    """The report's sections in reading order (concentration, leadership, ..., valuation)."""
    sections = [
        concentration_section(rep),
        leadership_section(rep),
        equal_vs_cap_section(rep),
        contributions_section(rep),
    ]
    later = html_sections(rep.valuation_overview, rep.as_of, rep.valuation_date)
    for optional in (sectors_section(rep), valuation_section(rep), *later):
        if optional is not None:
            sections.append(optional)
    notes = unique_lines([*rep.skipped_windows, *rep.notes])
    if notes:
        from html import escape

        sections.append(
            Section(
                title="Notes",
                html_blocks=["<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"],
            )
        )
    return sections


def render_main_html(rep: MainReport, extra_sections: list[Section] | None = None) -> str:
    """The full self-contained HTML document of the main report."""
    from counterweight.report.html import render_html

    return render_html(
        rep.title,
        [*main_sections(rep), *(extra_sections or [])],
        rep.provenance,
        subtitle=f"{rep.provenance.name}: {rep.start.date()} to {rep.as_of.date()} ({rep.level} level)",
    )
