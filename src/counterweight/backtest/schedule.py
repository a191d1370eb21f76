"""When a backtest rebalances: calendar schedules and drift bands.

A schedule turns a market's trading dates into *rebalance positions*: indices into the date axis
at whose close the portfolio trades to its target. The first date of a backtest is always a
rebalance (the initial investment), whatever the schedule says.

* :class:`Monthly`: the last trading date of each month in the data.
* :class:`Quarterly`: like the S&P 500 Equal Weight index, after the close of the third Friday
  of March, June, September and December; when that Friday is not an NYSE session, the last
  session before it (sessions from the ``XNYS`` calendar of ``exchange_calendars``). If the data
  lacks that date, the last data date on or before it.
* :class:`Annually`: the last trading date of each year.
* :class:`Never`: buy and hold after the initial investment.
* :class:`OnDates`: given dates (each mapped to the last data date on or before it).
* :class:`DriftBands`: no calendar; trade back to target when any weight strays from its target
  by more than ``absolute`` (in weight) or by more than ``relative`` (as a fraction of the target).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError


@runtime_checkable
class Schedule(Protocol):
    """Anything that maps trading dates to rebalance positions."""

    @property
    def name(self) -> str:
        """Label of this object in tables and charts."""
        ...

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """Sorted unique integer positions into ``dates`` (the first date included)."""
        ...


def _with_first(pos: np.ndarray, n: int) -> np.ndarray:
    pos = np.asarray(pos, dtype=np.intp)
    pos = pos[(pos >= 0) & (pos < n)]
    return np.unique(np.concatenate(([0], pos))) if n else np.empty(0, dtype=np.intp)


def _last_of_period(dates: pd.DatetimeIndex, freq: str) -> np.ndarray:
    if len(dates) == 0:
        return np.empty(0, dtype=np.intp)
    periods = dates.to_period(freq).asi8
    last = np.flatnonzero(np.r_[periods[1:] != periods[:-1], True])
    return last.astype(np.intp)


def _on_or_before(dates: pd.DatetimeIndex, targets: Iterable[pd.Timestamp]) -> np.ndarray:
    t = pd.DatetimeIndex(list(targets))
    if len(t) == 0:
        return np.empty(0, dtype=np.intp)
    pos = dates.searchsorted(t, side="right") - 1
    return np.asarray(pos[pos >= 0], dtype=np.intp)


@dataclass(frozen=True)
class Monthly:
    """Rebalance at the close of the last trading date of each month."""

    name: str = "monthly"

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        return _with_first(_last_of_period(dates, "M"), len(dates))


@dataclass(frozen=True)
class Annually:
    """Rebalance at the close of the last trading date of each year."""

    name: str = "annually"

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        return _with_first(_last_of_period(dates, "Y"), len(dates))


def third_friday_sessions(
    start: pd.Timestamp, end: pd.Timestamp, months: tuple[int, ...] = (3, 6, 9, 12)
) -> pd.DatetimeIndex:
    """The S&P quarterly rebalance dates between ``start`` and ``end``: the third Friday of each
    of ``months``, or the last NYSE session before it when that Friday is a holiday."""
    import exchange_calendars as xcals

    lo = pd.Timestamp(start).normalize() - pd.Timedelta(days=40)
    hi = pd.Timestamp(end).normalize() + pd.Timedelta(days=40)
    with warnings.catch_warnings():  # exchange_calendars trips a pandas 3 deprecation warning
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=lo, end=hi)
    sessions = pd.DatetimeIndex(cal.sessions).tz_localize(None)
    out = []
    for month_start in pd.date_range(lo.replace(day=1), hi, freq="MS"):
        if month_start.month not in months:
            continue
        fridays = pd.date_range(month_start, month_start + pd.offsets.MonthEnd(0), freq="W-FRI")
        third = fridays[2]
        pos = int(sessions.searchsorted(third, side="right")) - 1
        if pos >= 0:
            out.append(sessions[pos])
    days = pd.DatetimeIndex(out)
    return days[(days >= pd.Timestamp(start).normalize()) & (days <= pd.Timestamp(end).normalize())]


@dataclass(frozen=True)
class Quarterly:
    """Rebalance after the close of the third Friday of March, June, September, December (S&P)."""

    name: str = "quarterly"
    months: tuple[int, ...] = (3, 6, 9, 12)

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        if len(dates) == 0:
            return np.empty(0, dtype=np.intp)
        days = third_friday_sessions(dates[0], dates[-1], self.months)
        return _with_first(_on_or_before(dates, days), len(dates))


@dataclass(frozen=True)
class Never:
    """Buy and hold: only the initial investment."""

    name: str = "buy-and-hold"

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        return _with_first(np.empty(0, dtype=np.intp), len(dates))


@dataclass(frozen=True)
class OnDates:
    """Rebalance at the close of the given dates (each on or before in the data)."""

    dates: tuple[pd.Timestamp, ...]
    name: str = "custom dates"

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        return _with_first(_on_or_before(dates, self.dates), len(dates))


@dataclass(frozen=True)
class DriftBands:
    """Trade back to target only when a weight strays outside its band.

    Breach on a date t when, for some name, ``|w_t - w*| > absolute`` or, for a name with a
    positive target, ``|w_t / w* - 1| > relative`` (either bound may be None). ``w*`` is the
    target set at the last trade. Checked at every close.
    """

    absolute: float | None = None
    relative: float | None = None
    name: str = "drift bands"

    def __post_init__(self) -> None:
        if self.absolute is None and self.relative is None:
            raise ConfigError("drift bands need an absolute or a relative band")
        for key in ("absolute", "relative"):
            v = getattr(self, key)
            if v is not None and not v > 0:
                raise ConfigError(f"drift band '{key}' must be positive, got {v}")

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        return _with_first(np.empty(0, dtype=np.intp), len(dates))


def parse_schedule(spec: str) -> Schedule:
    """Schedule from a short spec: ``monthly``, ``quarterly``, ``annually``, ``never``,
    ``band:0.02`` (absolute band of 2 points of weight) or ``relband:0.25`` (25% of target)."""
    s = spec.strip().lower()
    simple: dict[str, Schedule] = {
        "monthly": Monthly(),
        "quarterly": Quarterly(),
        "annually": Annually(),
        "annual": Annually(),
        "never": Never(),
        "buy-and-hold": Never(),
    }
    if s in simple:
        return simple[s]
    for prefix, key in (("band:", "absolute"), ("relband:", "relative")):
        if s.startswith(prefix):
            try:
                value = float(s[len(prefix) :])
            except ValueError:
                raise ConfigError(
                    f"schedule '{spec}': '{s[len(prefix) :]}' is not a number"
                ) from None
            return DriftBands(**{key: value}, name=spec)  # type: ignore[arg-type,misc]
    raise ConfigError(
        f"unknown schedule '{spec}' (use monthly, quarterly, annually, never, band:X or relband:X)"
    )
