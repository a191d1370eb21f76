"""Text of the monitor: signal values in their units, alert messages, firing-rate tables.

Formats :class:`~counterweight.monitor.alerts.AlertStatus` and
:func:`~counterweight.monitor.guardrails.firing_rates` results; computes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

FORMATS: dict[str, Callable[[float], str]] = {
    "fraction": lambda v: f"{v:.1%}",
    "spread": lambda v: f"{v:+.2%}",
    "correlation": lambda v: f"{v:.3f}",
    "count": lambda v: f"{v:,.0f}",
    "sessions": lambda v: f"{v:+.0f}",
    "usd": lambda v: f"${v / 1e9:,.2f}bn",
    "sd": lambda v: f"{v:.1f} sd",
}
"""Display of a signal value by its unit (see :class:`counterweight.monitor.signals.Signal`)."""


def fmt_value(value: Any, unit: str) -> str:
    """Display a signal value in its unit ('-' for missing)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(v):
        return "-"
    return str(FORMATS.get(unit, lambda x: f"{x:.4g}")(v))


def alert_message(a: Any) -> str:
    """One line naming the guardrail, its signal, the value, the threshold and the group.

    e.g. ``group-shock: shocks.max_z = 7.8 sd > 5.0 sd (threshold) on Information Technology,
    -5.21% that day``; an abstaining guardrail says why.
    """
    if getattr(a, "abstains", False):
        return f"{a.guardrail}: abstains ({a.note})"
    what = a.signal if not a.change_over else f"change in {a.signal} over {a.change_over} sessions"
    value = fmt_value(a.value, a.unit)
    threshold = fmt_value(a.threshold, a.unit)
    test = (
        f"{value} {a.comparison} {threshold} (threshold)"
        if a.active
        else f"{value}, not {a.comparison} {threshold} (threshold)"
    )
    runs = ""
    if a.persistence > 1:
        runs = f", {a.run} of {a.persistence} sessions in a row"
    group = a.group or "-"
    if a.move is not None and math.isfinite(float(a.move)):
        group = f"{group}, {float(a.move):+.2%} that day"
    return f"{a.guardrail}: {what} = {test}{runs}; group: {group}"


def firing_rates_markdown(rates: pd.DataFrame, start: Any, end: Any) -> str:
    """The firing-rate table of :func:`~counterweight.monitor.guardrails.firing_rates` as
    Markdown (the block in docs/monitor.md is this text, checked by a test)."""
    lines = [
        f"Replay of the default guardrails on the embedded sample, {pd.Timestamp(start).date()}"
        f" to {pd.Timestamp(end).date()}:",
        "",
        "| guardrail | sessions | fired | per year | active | weekly runs with a new alert |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for rec in rates.reset_index().to_dict(orient="records"):
        if rec["guardrail"] == "any":
            lines += [
                "",
                f"A weekly run (every 5th session, {int(rec['weekly_runs'])} runs) reports at"
                f" least one new alert, and exits 3, on {rec['weekly_new_share']:.1%} of runs.",
            ]
            continue
        lines.append(
            f"| {rec['guardrail']} | {int(rec['sessions'])} | {int(rec['fired'])} | "
            f"{rec['per_year']:.1f} | {rec['active_share']:.1%} | {rec['weekly_new_share']:.1%} |",
        )
    return "\n".join(lines)
