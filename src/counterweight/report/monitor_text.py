"""Text of the monitor: signal values in their units and alert messages.

Formats :class:`~counterweight.monitor.alerts.AlertStatus`; computes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

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
