"""The monitor's part of the HTML report: regime call, breadth and correlation history charts.

:func:`monitor_sections` formats a finished :class:`~counterweight.monitor.MonitorResult`
into report :class:`~counterweight.report.html.Section` objects; it computes nothing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from counterweight.report.html import Section

BREADTH_LINES = (
    ("breadth.above_50d", "Above 50-day average"),
    ("breadth.above_200d", "Above 200-day average"),
    ("breadth.participation_3m", "Beating cap-weight index, 3m"),
)
CORRELATION_LINES = (
    ("correlation.21d", "Average correlation, 21d"),
    ("correlation.63d", "Average correlation, 63d"),
)
ROTATION_LINES = (
    ("rotation.mag7_vs_rest_3m", "Mag 7 minus rest, 3m"),
    ("rotation.ew_minus_cw_3m", "Equal minus cap weight, 3m"),
    ("concentration.top10_change_3m", "Change in top-10 share, 3m"),
)


def _lines(result: Any, lines: tuple[tuple[str, str], ...], title: str, percent: bool) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, label in lines:
        if name not in result.signals:
            continue
        s = result.signals[name].series.dropna()
        fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), mode="lines", name=label))
    fig.update_layout(
        title=title,
        height=360,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        yaxis={"tickformat": ".0%" if percent else ".2f"},
        hovermode="x unified",
    )
    return fig


def _regime_figure(result: Any) -> Any:
    import plotly.graph_objects as go

    h = result.regime_history
    colours = {"broadening": "#2a9d8f", "narrowing": "#e63946", "mixed": "#adb5bd"}
    fig = go.Figure(
        go.Bar(
            x=h.index,
            y=h["score"],
            marker_color=[colours[c] for c in h["call"]],
            name="broadening minus narrowing votes",
            hovertext=h["call"],
        )
    )
    for level in (result.config.margin, -result.config.margin):
        fig.add_hline(y=level, line_dash="dot", line_color="#6c757d")
    fig.update_layout(
        title="Regime score (bars coloured by the call; dotted lines: the margin)",
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        bargap=0,
    )
    return fig


def monitor_sections(result: Any, alerts: list[Any] | None = None) -> list[Section]:
    """Sections: regime with its votes, breadth history, correlation history, rotation spreads,
    and (when given) the guardrail statuses."""
    reg = result.regime
    votes = pd.DataFrame(
        [
            {
                "signal": v.signal,
                "value": v.value if v.value is not None else float("nan"),
                "rule": v.rule,
                "vote": v.verdict,
            }
            for v in reg.votes
        ]
    ).set_index("signal")
    readings = result.signals.table(result.as_of)
    table = (
        readings[["label", "value", "percentile"]].rename(
            columns={"percentile": "percentile (0-1)"}
        )
        if not readings.empty
        else readings
    )
    intro = (
        f"As of {result.as_of.date()}: regime {reg.call.upper()} "
        f"({reg.broadening} broadening vs {reg.narrowing} narrowing votes, margin {reg.margin}; "
        f"{reg.abstained} vote(s) without data). Shares and spreads are fractions."
    )
    sections = [
        Section(
            title="Rotation monitor",
            intro=intro,
            figures=[_regime_figure(result)],
            tables=[("Regime votes", votes), ("Signals (value, percentile in own history)", table)],
            anchor="monitor",
        ),
        Section(
            title="Breadth history",
            intro="Share of index members above their 50- and 200-day averages (all 50 / 200 "
            "prices required) and share beating the cap-weight index over 63 sessions.",
            figures=[_lines(result, BREADTH_LINES, "Breadth", True)],
            anchor="monitor-breadth",
        ),
        Section(
            title="Correlation history",
            intro="Average pairwise correlation of members' daily returns over rolling 21 and 63 "
            "sessions (exact, via the variance of the sum of standardised returns).",
            figures=[_lines(result, CORRELATION_LINES, "Average pairwise correlation", False)],
            anchor="monitor-correlation",
        ),
        Section(
            title="Rotation spreads",
            intro="Compounded 63-session return spreads and the change in the top-10 issuer share.",
            figures=[_lines(result, ROTATION_LINES, "Rotation", True)],
            anchor="monitor-rotation",
        ),
    ]
    if alerts:
        from counterweight.report.monitor_text import alert_message

        frame = pd.DataFrame(
            [{**a.to_dict(), "message": alert_message(a)} for a in alerts]
        ).set_index("guardrail")
        sections[0].tables.append(
            (
                "Guardrails",
                frame[["description", "message", "sessions", "status"]],
            )
        )
    return sections
