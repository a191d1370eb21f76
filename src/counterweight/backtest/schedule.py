"""When a backtest rebalances: calendar schedules and drift bands.

A schedule turns a market's trading dates into *rebalance positions*: indices into the date axis
at whose close the portfolio trades to its target. The first date of a backtest is always a
rebalance (the initial investment), whatever the schedule says.

* :class:`Monthly`: the last trading date of each month in the data.
* :class:`Quarterly`: like the S&P Select Sector and S&P 500 Equal Weight indices, trades after
  the close of the third Friday of March, June, September and December (the *effective* date;
  when that Friday is not an NYSE session, the last session before it; sessions from the
  ``XNYS`` calendar of ``exchange_calendars``), with target weights computed from the close of
  the *reference* date, ``reference_lag_days`` calendar days before the third Friday (default
  7: the second Friday; the last session on or before it). If the data lacks a date, the last
  data date on or before it. The weights are fixed as shares at the reference close and
  carried to the effective close by each name's return in between
  (:func:`carry_to_effective`), as S&P assigns index shares from reference prices; the
  membership is the effective date's (the backtest engine passes it to the rule).
* :class:`Annually`: the last trading date of each year.
* :class:`Never`: buy and hold after the initial investment.
* :class:`OnDates`: given dates (each mapped to the last data date on or before it).
* :class:`DriftBands`: no calendar; trade back to target when any weight strays from its target
  by more than ``absolute`` (in weight) or by more than ``relative`` (as a fraction of the target).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError

SP_REFERENCE_LAG_DAYS = 7
"""S&P's quarterly rebalancing reference date: the second Friday, 7 days before the third.

S&P Dow Jones Indices, *S&P U.S. Indices Methodology*: the Select Sector (capped market cap)
indices "are rebalanced quarterly after the close of business on the third Friday of March,
June, September, and December ... The rebalancing reference date is the second Friday of
March, June, September, and December", weights computed "with prices reflected on the
rebalancing reference date ... and membership, shares outstanding and IWFs as of the
rebalancing effective date"; the S&P Equal Weight U.S. Indices likewise use "closing prices
as of the second Friday of the quarter-ending month as the reference price", so that "the
actual weight of each company at the rebalancing differs from the target equal weights due
to market movements" (methodology text as quoted in public discussion, 2024; the current
document was not available offline)."""


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


@functools.lru_cache(maxsize=16)
def _xnys_sessions_years(first_year: int, last_year: int) -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    with warnings.catch_warnings():  # exchange_calendars trips a pandas 3 deprecation warning
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=f"{first_year}-01-01", end=f"{last_year}-12-31")
    return pd.DatetimeIndex(cal.sessions).tz_localize(None)


def _xnys_sessions(lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE sessions covering [lo, hi] (whole calendar years, cached: building one is slow)."""
    return _xnys_sessions_years(lo.year, hi.year)


def quarterly_rebalance_sessions(
    start: pd.Timestamp,
    end: pd.Timestamp,
    months: tuple[int, ...] = (3, 6, 9, 12),
    reference_lag_days: int = SP_REFERENCE_LAG_DAYS,
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(effective, reference) NYSE sessions of the S&P quarterly rebalances in [start, end].

    Effective: the third Friday of each of ``months``, or the last session before it when it
    is not a session. Reference: the last session on or before the third Friday minus
    ``reference_lag_days`` calendar days (7: the second Friday). Pairs are kept by their
    effective date.
    """
    if reference_lag_days < 0:
        raise ConfigError(f"reference_lag_days must be >= 0, got {reference_lag_days}")
    lo = pd.Timestamp(start).normalize() - pd.Timedelta(days=40 + reference_lag_days)
    hi = pd.Timestamp(end).normalize() + pd.Timedelta(days=40)
    sessions = _xnys_sessions(lo, hi)
    eff, ref = [], []
    for month_start in pd.date_range(lo.replace(day=1), hi, freq="MS"):
        if month_start.month not in months:
            continue
        fridays = pd.date_range(month_start, month_start + pd.offsets.MonthEnd(0), freq="W-FRI")
        third = fridays[2]
        pos = int(sessions.searchsorted(third, side="right")) - 1
        rpos = int(
            sessions.searchsorted(third - pd.Timedelta(days=reference_lag_days), side="right")
        )
        if pos >= 0 and rpos >= 1:
            eff.append(sessions[pos])
            ref.append(sessions[rpos - 1])
    e, r = pd.DatetimeIndex(eff), pd.DatetimeIndex(ref)
    keep = (e >= pd.Timestamp(start).normalize()) & (e <= pd.Timestamp(end).normalize())
    return e[keep], r[keep]


def third_friday_sessions(
    start: pd.Timestamp, end: pd.Timestamp, months: tuple[int, ...] = (3, 6, 9, 12)
) -> pd.DatetimeIndex:
    """The S&P quarterly rebalance (effective) dates between ``start`` and ``end``: the third
    Friday of each of ``months``, or the last NYSE session before it when that Friday is a
    holiday."""
    return quarterly_rebalance_sessions(start, end, months)[0]


@dataclass(frozen=True)
class Quarterly:
    """S&P quarterly rebalances: trade after the close of the third Friday of March, June,
    September, December, at weights computed from the close ``reference_lag_days`` before it.

    ``reference_lag_days`` defaults to S&P's reference date, the second Friday
    (:data:`SP_REFERENCE_LAG_DAYS`); 0 computes the weights at the trade close itself.
    """

    name: str = "quarterly"
    months: tuple[int, ...] = (3, 6, 9, 12)
    reference_lag_days: int = SP_REFERENCE_LAG_DAYS

    def __post_init__(self) -> None:
        if not isinstance(self.reference_lag_days, int) or self.reference_lag_days < 0:
            raise ConfigError(
                f"reference_lag_days must be a whole number of days >= 0, "
                f"got {self.reference_lag_days!r}"
            )

    def _pairs(self, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        eff, ref = quarterly_rebalance_sessions(
            dates[0], dates[-1], self.months, self.reference_lag_days
        )
        pe = dates.searchsorted(eff, side="right") - 1
        pr = dates.searchsorted(ref, side="right") - 1
        ok = pe >= 0
        return np.asarray(pe[ok], dtype=np.intp), np.asarray(np.maximum(pr[ok], 0), dtype=np.intp)

    def positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        if len(dates) == 0:
            return np.empty(0, dtype=np.intp)
        return _with_first(self._pairs(dates)[0], len(dates))

    def reference_positions(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """For each of :meth:`positions`, the data position whose close sets the weights.

        The initial investment (position 0) is its own reference; a reference before the first
        data date falls back to it.
        """
        pos = self.positions(dates)
        if len(dates) == 0:
            return pos
        eff, ref = self._pairs(dates)
        lookup = dict(zip(eff.tolist(), ref.tolist(), strict=True))
        return np.array([min(lookup.get(int(p), int(p)), int(p)) for p in pos], dtype=np.intp)


def reference_positions(schedule: Schedule, dates: pd.DatetimeIndex) -> np.ndarray:
    """Where each rebalance's weights come from: the schedule's reference positions when it has
    them (:class:`Quarterly`), else the trade positions themselves. Same length as
    ``schedule.positions(dates)``, each at or before its trade."""
    pos = schedule.positions(dates)
    get = getattr(schedule, "reference_positions", None)
    if get is None:
        return pos
    ref = np.asarray(get(dates), dtype=np.intp)
    if ref.shape != pos.shape or np.any(ref > pos) or np.any(ref < 0):
        raise ConfigError(f"schedule '{schedule.name}': reference positions must precede trades")
    return ref


def carry_to_effective(
    targets: np.ndarray,
    returns: np.ndarray,
    members: np.ndarray | None,
    reference: np.ndarray,
    effective: np.ndarray,
) -> np.ndarray:
    """Targets set at reference closes, carried to the effective closes as fixed shares.

    ``w_e,i = w_r,i G_i / sum_j w_r,j G_j * sum_j w_r,j`` with ``G_i = prod_{s=r+1..e} (1 +
    r_s,i)`` the growth of name i from the reference close to the effective close (the cash
    share stays as it was). Names that are not members at the effective date are dropped and
    the others scaled up to the same invested total. ``targets``: (K, N) at the ``reference``
    positions; ``returns``: (T, N) finite daily returns. Returns (K, N).
    """
    out = np.array(targets, dtype=np.float64, copy=True)
    for i, (r, e) in enumerate(zip(reference.tolist(), effective.tolist(), strict=True)):
        w = np.nan_to_num(out[i], nan=0.0)
        total = float(w.sum())
        if r != e:
            w = w * np.prod(1.0 + returns[r + 1 : e + 1], axis=0)
        if members is not None:
            w = np.where(members[e], w, 0.0)
        s = float(w.sum())
        out[i] = w * (total / s) if s > 0 else w
    return out


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
    """Schedule from a short spec: ``monthly``, ``quarterly`` (S&P: weights from the
    second-Friday reference close), ``quarterly:N`` (reference N calendar days before the third
    Friday; ``quarterly:0`` = the trade close), ``annually``, ``never``, ``band:0.02``
    (absolute band of 2 points of weight) or ``relband:0.25`` (25% of target)."""
    s = spec.strip().lower()
    if s.startswith("quarterly:"):
        lag = s[len("quarterly:") :]
        if not lag.isdigit():
            raise ConfigError(
                f"schedule '{spec}': the reference lag '{lag}' is not a whole number of days"
            )
        return Quarterly(reference_lag_days=int(lag))
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
        f"unknown schedule '{spec}' (use monthly, quarterly, quarterly:N, annually, never, "
        "band:X or relband:X)"
    )
