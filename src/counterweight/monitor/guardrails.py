"""Guardrails: a condition on a signal that must hold for some sessions in a row.

For a guardrail ``(signal x, comparison op, threshold c, persistence p, change_over k)``:

* tested value ``y_t = x_t`` (or ``x_t - x_{t-k}`` when ``k > 0``);
* breached ``b_t = op(y_t, c)`` (a NaN value is not a breach);
* run ``n_t`` = number of consecutive breached sessions ending on ``t``;
* active ``a_t = n_t >= p``; it **fires** on ``t`` when ``a_t and not a_{t-1}`` and
  **clears** when ``a_{t-1} and not a_t``.

:func:`evaluate` gives the whole history (used by ``--replay`` and by the alert book on the
as-of date); nothing here looks ahead: ``a_t`` uses values up to ``t`` only.

A guardrail whose signal the data cannot give (a known signal listed in
:attr:`~counterweight.monitor.signals.SignalSet.unavailable`, e.g. the Mag 7 share on a market
without caps) **abstains**: its history is never breached, never active, and carries the
reason (:attr:`GuardrailHistory.unavailable`), as a regime vote without data abstains. A
signal name that is not known at all is a configuration error.

:func:`firing_rates` summarises a replay: how often each guardrail fired, per year, and the
share of weekly runs that would have exited with a new alert.
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
    unavailable: str = ""  # why the guardrail abstains ("" when it is evaluated)
    unit: str = ""  # the signal's unit (see :class:`~counterweight.monitor.signals.Signal`)

    @property
    def abstains(self) -> bool:
        return bool(self.unavailable)

    def state_on(self, date: pd.Timestamp) -> dict[str, Any]:
        pos = int(self.frame.index.searchsorted(date, side="right")) - 1
        if pos < 0:
            return {"active": False, "value": None, "run": 0, "since": None}
        row = self.frame.iloc[pos]
        run = int(row["run"])
        since = self.frame.index[pos - run + 1] if run > 0 else None
        val = float(row["value"])
        move = float(row["move"]) if "move" in row.index else float("nan")
        group = row["group"] if "group" in row.index else ""
        return {
            "active": bool(row["active"]),
            "value": None if not np.isfinite(val) else val,
            "run": run,
            "since": since,
            "date": self.frame.index[pos],
            "group": "" if not isinstance(group, str) else group,
            "move": None if not np.isfinite(move) else move,
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
    """The guardrail's history on every date of ``signals`` (abstaining if its signal is
    unavailable in this data; a :class:`ConfigError` if the signal is unknown)."""
    if guardrail.signal not in signals:
        why = signals.unavailable.get(guardrail.signal)
        if why is None:
            raise ConfigError(
                f"guardrails.{guardrail.name}.signal: unknown signal '{guardrail.signal}' "
                f"(available: {', '.join(sorted(signals.signals))})"
            )
        index = next(iter(signals)).series.index if signals.signals else pd.DatetimeIndex([])
        n = len(index)
        frame = pd.DataFrame(
            {
                "value": np.full(n, np.nan),
                "breached": np.zeros(n, bool),
                "run": np.zeros(n, int),
                "active": np.zeros(n, bool),
                "group": np.full(n, "", dtype=object),
                "move": np.full(n, np.nan),
            },
            index=index,
        )
        return GuardrailHistory(guardrail, frame, f"{guardrail.signal} unavailable: {why}")
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
    sig = signals[guardrail.signal]
    index = sig.series.index
    group = (
        sig.groups.reindex(index).where(lambda g: g.notna(), sig.group)
        if sig.groups is not None
        else pd.Series(sig.group, index=index, dtype=object)
    )
    move = (
        sig.moves.reindex(index).to_numpy(dtype=np.float64)
        if sig.moves is not None
        else np.full(len(index), np.nan)
    )
    frame = pd.DataFrame(
        {
            "value": y,
            "breached": breached,
            "run": run,
            "active": run >= guardrail.persistence,
            "group": group.to_numpy(dtype=object),
            "move": move,
        },
        index=index,
    )
    return GuardrailHistory(guardrail, frame, unit=sig.unit)


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


def firing_rates(
    histories: Sequence[GuardrailHistory],
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    every: int = 5,
) -> pd.DataFrame:
    """Per guardrail between ``start`` and ``end``: ``sessions`` with a value of its signal,
    times ``fired`` (inactive -> active), fires ``per_year`` (x 252 / sessions),
    ``active_share`` of those sessions, and ``weekly_new_share``: the share of runs every
    ``every`` sessions (5: a weekly cron job) that report it as a new alert (active on the
    run's date and not on the previous run's, the alert book's rule). A last row ``any``
    gives the share of those runs with at least one new alert (the runs exiting 3).
    """
    rows: list[dict[str, Any]] = []
    news: list[np.ndarray] = []
    sessions: list[int] = []
    fires: list[int] = []
    for h in histories:
        f = h.frame
        if start is not None:
            f = f[f.index >= start]
        if end is not None:
            f = f[f.index <= end]
        act = f["active"].to_numpy(dtype=bool)
        has = np.isfinite(f["value"].to_numpy(dtype=np.float64))
        n = int(has.sum())
        fired = int((act & ~np.r_[False, act[:-1]]).sum())
        runs = act[::every]
        new = runs & ~np.r_[False, runs[:-1]]
        news.append(new)
        sessions.append(n)
        fires.append(fired)
        rows.append(
            {
                "guardrail": h.guardrail.name,
                "sessions": n,
                "fired": fired,
                "per_year": fired * 252.0 / n if n else np.nan,
                "active_share": float(act[has].mean()) if n else np.nan,
                "weekly_runs": len(runs),
                "weekly_new_share": float(new.mean()) if len(runs) else np.nan,
            }
        )
    if news and len({len(x) for x in news}) == 1 and len(news[0]):
        anyn = np.logical_or.reduce(news)
        rows.append(
            {
                "guardrail": "any",
                "sessions": max(sessions),
                "fired": sum(fires),
                "per_year": np.nan,
                "active_share": np.nan,
                "weekly_runs": len(anyn),
                "weekly_new_share": float(anyn.mean()),
            }
        )
    return pd.DataFrame(rows).set_index("guardrail")
