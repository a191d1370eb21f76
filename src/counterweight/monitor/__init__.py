"""Rotation monitor: signals, regime call, guardrails and alerts.

Typical use::

    from counterweight.monitor import run_monitor, load_config
    result = run_monitor(market, load_config())
    result.regime.call, result.signals.table(result.as_of)

Modules: :mod:`~counterweight.monitor.signals` (each signal a series with its current reading
and percentile), :mod:`~counterweight.monitor.regime` (the call with its votes),
:mod:`~counterweight.monitor.guardrails` (thresholds with persistence, replay),
:mod:`~counterweight.monitor.alerts` (state in the store so a breach alerts once),
:mod:`~counterweight.monitor.webhook` (POST with timeout and retries),
:mod:`~counterweight.monitor.flows` (fund flow CSV and buckets),
:mod:`~counterweight.monitor.config` (TOML rules, defaults in ``counterweight/config/monitor.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from counterweight.errors import InputError
from counterweight.market import Market, Provenance
from counterweight.monitor.alerts import AlertStatus
from counterweight.monitor.config import MonitorConfig, load_config
from counterweight.monitor.guardrails import GuardrailHistory, evaluate_all, replay
from counterweight.monitor.regime import RegimeCall, regime_call, regime_history
from counterweight.monitor.signals import SignalSet, compute_signals


def parse_date(value: Any, what: str) -> pd.Timestamp | None:
    """A user-given date (None stays None); a clear error instead of a traceback."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"{what}: '{value}' is not a date (use YYYY-MM-DD)") from None
    if ts is pd.NaT:
        raise InputError(f"{what}: '{value}' is not a date (use YYYY-MM-DD)")
    return ts


NEW_ALERT_EXIT_CODE = 3
"""Exit status of ``counterweight monitor`` when at least one new alert fired (for cron)."""


@dataclass
class MonitorResult:
    """Everything one monitor run computed, as of one date."""

    as_of: pd.Timestamp
    signals: SignalSet
    regime: RegimeCall
    guardrails: list[GuardrailHistory]
    config: MonitorConfig
    provenance: Provenance
    regime_history: pd.DataFrame  # date x votes, broadening, narrowing, score, call

    def replay(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Fire / clear events of every guardrail between ``start`` and ``end``."""
        lo, hi = parse_date(start, "replay start"), parse_date(end, "replay end")
        if lo is not None and hi is not None and hi < lo:
            raise InputError(f"replay: end {hi.date()} is before start {lo.date()}")
        return replay(self.guardrails, lo, hi)

    def to_dict(self, alerts: list[AlertStatus] | None = None) -> dict[str, Any]:
        """JSON-ready payload: as-of, regime with votes, signal readings, alerts, caveats."""
        table = self.signals.table(self.as_of)
        return {
            "as_of": self.as_of.date().isoformat(),
            "regime": self.regime.to_dict(),
            "signals": [] if table.empty else table.reset_index().to_dict(orient="records"),
            "alerts": [a.to_dict() for a in alerts or []],
            "new_alerts": [a.guardrail for a in alerts or [] if a.is_new],
            "notes": list(self.signals.notes),
            "provenance": self.provenance.to_dict(),
        }


def run_monitor(
    market: Market,
    config: MonitorConfig | None = None,
    *,
    flows: pd.DataFrame | None = None,
    as_of: Any = None,
) -> MonitorResult:
    """Compute signals on the whole history, the regime call and guardrail histories.

    ``as_of`` (default: the last date) selects the reading; signals use data up to each date
    only, so a reading on ``as_of`` equals the one a run on that day would have seen.
    """
    cfg = config or load_config()
    signals = compute_signals(market, cfg, flows)
    date = market.dates[market.date_position(parse_date(as_of, "as-of"))]
    guardrails = evaluate_all(cfg.guardrails, signals)
    for h in guardrails:
        if h.abstains:
            signals.notes.append(f"guardrail {h.guardrail.name} abstains: {h.unavailable}")
    return MonitorResult(
        as_of=pd.Timestamp(date),
        signals=signals,
        regime=regime_call(signals, cfg, pd.Timestamp(date)),
        guardrails=guardrails,
        config=cfg,
        provenance=market.provenance,
        regime_history=regime_history(signals, cfg),
    )


__all__ = [
    "NEW_ALERT_EXIT_CODE",
    "MonitorConfig",
    "MonitorResult",
    "load_config",
    "run_monitor",
]
