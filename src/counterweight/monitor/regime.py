"""The regime call: broadening, narrowing or mixed, from transparent signal votes.

Each :class:`~counterweight.monitor.config.Vote` looks at one signal on the as-of date (its
value, or its percentile in its own history) and votes ``+1`` broadening when the broadening
condition holds, ``-1`` narrowing when the narrowing condition holds, ``0`` otherwise; a vote
whose signal is unavailable abstains. With ``B`` broadening and ``N`` narrowing votes the call
is ``broadening`` if ``B - N >= margin``, ``narrowing`` if ``N - B >= margin``, else ``mixed``.
The votes are returned with the call so a reader can see exactly why.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from counterweight.monitor.config import COMPARISONS, MonitorConfig, Vote
from counterweight.monitor.signals import SignalSet


@dataclass(frozen=True)
class VoteResult:
    signal: str
    label: str
    value: float | None
    tested: float | None  # the value or the percentile, as configured
    on: str
    vote: int  # +1 broadening, -1 narrowing, 0 neutral
    rule: str
    available: bool

    @property
    def verdict(self) -> str:
        if not self.available:
            return "n/a"
        return {1: "broadening", -1: "narrowing", 0: "neutral"}[self.vote]

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "label": self.label,
            "value": self.value,
            "tested": self.tested,
            "on": self.on,
            "vote": self.verdict,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class RegimeCall:
    call: str  # broadening | narrowing | mixed
    broadening: int
    narrowing: int
    neutral: int
    abstained: int
    margin: int
    votes: tuple[VoteResult, ...]
    as_of: pd.Timestamp

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "as_of": self.as_of.date().isoformat(),
            "broadening_votes": self.broadening,
            "narrowing_votes": self.narrowing,
            "neutral_votes": self.neutral,
            "abstained": self.abstained,
            "margin": self.margin,
            "votes": [v.to_dict() for v in self.votes],
        }


def _rule_text(v: Vote) -> str:
    parts = []
    if v.broadening:
        parts.append(f"broadening if {v.on} {v.broadening[0]} {v.broadening[1]:g}")
    if v.narrowing:
        parts.append(f"narrowing if {v.on} {v.narrowing[0]} {v.narrowing[1]:g}")
    return "; ".join(parts)


def cast_vote(v: Vote, value: float, percentile: float) -> int:
    """+1 / -1 / 0 for one vote; NaN is neutral. (The config rejects overlapping conditions,
    so at most one holds.)"""
    x = percentile if v.on == "percentile" else value
    if not np.isfinite(x):
        return 0
    if v.broadening and COMPARISONS[v.broadening[0]](x, v.broadening[1]):
        return 1
    if v.narrowing and COMPARISONS[v.narrowing[0]](x, v.narrowing[1]):
        return -1
    return 0


def regime_call(signals: SignalSet, config: MonitorConfig, as_of: pd.Timestamp) -> RegimeCall:
    """The call on ``as_of`` (uses only data up to it)."""
    results = []
    for v in config.votes:
        if v.signal not in signals or not signals[v.signal].available(as_of):
            results.append(
                VoteResult(v.signal, v.label or v.signal, None, None, v.on, 0, _rule_text(v), False)
            )
            continue
        s = signals[v.signal]
        r = s.reading(as_of)
        x = r["percentile"] if v.on == "percentile" else r["value"]
        results.append(
            VoteResult(
                v.signal,
                v.label or s.label,
                r["value"],
                x,
                v.on,
                cast_vote(v, r["value"], r["percentile"]),
                _rule_text(v),
                True,
            )
        )
    b = sum(1 for r in results if r.available and r.vote > 0)
    n = sum(1 for r in results if r.available and r.vote < 0)
    neutral = sum(1 for r in results if r.available and r.vote == 0)
    abstained = sum(1 for r in results if not r.available)
    call = (
        "broadening"
        if b - n >= config.margin
        else ("narrowing" if n - b >= config.margin else "mixed")
    )
    return RegimeCall(
        call, b, n, neutral, abstained, config.margin, tuple(results), pd.Timestamp(as_of)
    )


def expanding_percentile(values: np.ndarray) -> np.ndarray:
    """Per date, the share of finite observations up to that date that are <= its value.

    The same definition as a reading's percentile, on every date (NaN where the value is NaN).
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.full(len(v), np.nan)
    seen: list[float] = []
    for t, x in enumerate(v):
        if not np.isfinite(x):
            continue
        bisect.insort(seen, float(x))
        out[t] = bisect.bisect_right(seen, float(x)) / len(seen)
    return out


def regime_history(signals: SignalSet, config: MonitorConfig) -> pd.DataFrame:
    """The call on every date: one column per vote (+1 / -1 / 0, NaN when abstaining), the
    ``broadening`` and ``narrowing`` counts, ``score`` (their difference) and ``call``.

    Row ``t`` uses data up to ``t`` only, so it equals :func:`regime_call` run on that date
    (a signal without a value on ``t`` uses its last earlier value, as a reading does).
    """
    index = next(iter(signals)).series.index
    cols: dict[str, np.ndarray] = {}
    for k, v in enumerate(config.votes):
        name = f"{k}:{v.signal}"
        if v.signal not in signals:
            cols[name] = np.full(len(index), np.nan)
            continue
        x = signals[v.signal].series.to_numpy(dtype=np.float64)
        tested = expanding_percentile(x) if v.on == "percentile" else x
        # as a reading does: a date without a value uses the last value before it
        tested = pd.Series(tested).ffill().to_numpy()
        vote = np.zeros(len(x))
        with np.errstate(invalid="ignore"):
            if v.narrowing:
                vote[COMPARISONS[v.narrowing[0]](tested, v.narrowing[1])] = -1.0
            if v.broadening:
                vote[COMPARISONS[v.broadening[0]](tested, v.broadening[1])] = 1.0
        vote[~np.isfinite(tested)] = np.nan
        cols[name] = vote
    frame = pd.DataFrame(cols, index=index)
    b = (frame > 0).sum(axis=1)
    n = (frame < 0).sum(axis=1)
    frame["broadening"] = b
    frame["narrowing"] = n
    frame["score"] = b - n
    frame["call"] = np.where(
        b - n >= config.margin, "broadening", np.where(n - b >= config.margin, "narrowing", "mixed")
    )
    return frame
