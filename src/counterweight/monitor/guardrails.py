"""Guardrails: a condition on a signal that must hold for some sessions in a row.

For a guardrail ``(signal x, comparison op, threshold c, persistence p, change_over k)``:

* tested value ``y_t = x_t`` (or ``x_t - x_{t-k}`` when ``k > 0``);
* breached ``b_t = op(y_t, c)`` (a NaN value is not a breach);
* run ``n_t`` = number of consecutive breached sessions ending on ``t``;
* active ``a_t = n_t >= p``; it **fires** on ``t`` when ``a_t and not a_{t-1}`` and
  **clears** when ``a_{t-1} and not a_t``.

:func:`evaluate` gives the whole history (used by ``--replay`` and by the alert book on the
as-of date); nothing here looks ahead: ``a_t`` uses values up to ``t`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError
from counterweight.monitor.config import COMPARISONS, Guardrail
from counterweight.monitor.signals import SignalSet


@dataclass(frozen=True)
class GuardrailHistory:
    """Per-date tested value, breach, run length and active flag of one guardrail."""

    guardrail: Guardrail
    frame: pd.DataFrame  # columns: value, breached, run, active

    def state_on(self, date: pd.Timestamp) -> dict[str, Any]:
        pos = int(self.frame.index.searchsorted(date, side="right")) - 1
        if pos < 0:
            return {"active": False, "value": None, "run": 0, "since": None}
        row = self.frame.iloc[pos]
        run = int(row["run"])
        since = self.frame.index[pos - run + 1] if run > 0 else None
        val = float(row["value"])
        return {
            "active": bool(row["active"]),
            "value": None if not np.isfinite(val) else val,
            "run": run,
            "since": since,
            "date": self.frame.index[pos],
        }

    def events(
        self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Dates on which it fired or cleared (columns: guardrail, event, value, run)."""
        act = self.frame["active"].to_numpy()
        prev = np.r_[False, act[:-1]]
        fired = act & ~prev
        cleared = ~act & prev
        rows = []
        for i in (int(j) for j in np.flatnonzero(fired | cleared)):
            d = pd.Timestamp(self.frame.index[i])
            if (start is not None and d < start) or (end is not None and d > end):
                continue
            rows.append(
                {
                    "date": d,
                    "guardrail": self.guardrail.name,
                    "event": "fired" if fired[i] else "cleared",
                    "value": float(self.frame["value"].iloc[i]),
                    "run": int(self.frame["run"].iloc[i]),
                }
            )
        return pd.DataFrame(rows, columns=["date", "guardrail", "event", "value", "run"])


def run_lengths(breached: np.ndarray) -> np.ndarray:
    """Consecutive-True run length ending at each position (0 where False)."""
    b = np.asarray(breached, dtype=bool)
    idx = np.arange(len(b))
    last_false = np.maximum.accumulate(np.where(~b, idx, -1))
    return np.where(b, idx - last_false, 0)


def evaluate(guardrail: Guardrail, signals: SignalSet) -> GuardrailHistory:
    if guardrail.signal not in signals:
        raise ConfigError(
            f"guardrails.{guardrail.name}.signal: unknown or unavailable signal '{guardrail.signal}' "
            f"(available: {', '.join(sorted(signals.signals))})"
        )
    x = signals[guardrail.signal].series.to_numpy(dtype=np.float64)
    y = x.copy()
    k = guardrail.change_over
    if k:
        y = np.full(len(x), np.nan)
        y[k:] = x[k:] - x[:-k]
    op = COMPARISONS[guardrail.comparison]
    with np.errstate(invalid="ignore"):
        breached = np.isfinite(y) & op(y, guardrail.threshold)
    run = run_lengths(breached)
    frame = pd.DataFrame(
        {"value": y, "breached": breached, "run": run, "active": run >= guardrail.persistence},
        index=signals[guardrail.signal].series.index,
    )
    return GuardrailHistory(guardrail, frame)


def evaluate_all(guardrails: Sequence[Guardrail], signals: SignalSet) -> list[GuardrailHistory]:
    return [evaluate(g, signals) for g in guardrails]


def replay(
    histories: Sequence[GuardrailHistory], start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    """Every fire / clear event of every guardrail between ``start`` and ``end``, by date.

    A guardrail already active on ``start`` is listed as firing on ``start`` (event
    ``active at start``) so that the replay is complete on its own.
    """
    frames = []
    for h in histories:
        ev = h.events(start, end)
        if start is not None:
            st = h.state_on(start)
            d = st.get("date")
            if st["active"] and d is not None and (ev.empty or ev["date"].iloc[0] != d):
                head = pd.DataFrame(
                    [
                        {
                            "date": d,
                            "guardrail": h.guardrail.name,
                            "event": "active at start",
                            "value": st["value"],
                            "run": st["run"],
                        }
                    ]
                )
                ev = head if ev.empty else pd.concat([head, ev], ignore_index=True)
        frames.append(ev)
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["date", "guardrail", "event", "value", "run"])
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values(["date", "guardrail"], kind="stable")
        .reset_index(drop=True)
    )
