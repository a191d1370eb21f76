"""A reading against its own history: current value, average, percentile, min and max (and when).

Used alike by the measures (concentration, valuation) and by the monitor's signals. For a
series ``x_1 .. x_n`` (NaN dropped) up to the as-of date, with ``c = x_n`` the current reading:

* ``average = (1/n) sum_k x_k``;
* ``percentile = #{k : x_k <= c} / n`` (the "weak" percentile of score: 1.0 means the highest
  reading on record, ties count as at or below);
* ``minimum``, ``maximum`` and the first date each was reached.

Only observations on or before the as-of date enter (no look-ahead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError


@dataclass(frozen=True)
class HistoryReading:
    """A current reading placed in its own history (values in the series' units).

    ``percentile`` is the share of observations up to the as-of date that are <= the current
    value (1.0 = the highest reading on record), ``average`` the mean of those observations,
    ``min_date`` / ``max_date`` the first dates the minimum / maximum were reached.
    """

    name: str
    date: pd.Timestamp
    current: float
    average: float
    percentile: float
    minimum: float
    maximum: float
    max_date: pd.Timestamp | None
    since: pd.Timestamp
    n_obs: int
    min_date: pd.Timestamp | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "date": self.date.date().isoformat(),
            "current": self.current,
            "average": self.average,
            "percentile": self.percentile,
            "min": self.minimum,
            "min_date": None if self.min_date is None else self.min_date.date().isoformat(),
            "max": self.maximum,
            "max_date": None if self.max_date is None else self.max_date.date().isoformat(),
            "since": self.since.date().isoformat(),
            "n_obs": self.n_obs,
        }


def versus_history(series: pd.Series, as_of: str | pd.Timestamp | None = None) -> HistoryReading:
    """The reading on ``as_of`` (last date on or before it) against the series up to that date.

    Only observations up to ``as_of`` are used (no look-ahead). NaN observations are ignored.
    Raises :class:`DataUnavailableError` when no observation is left.
    """
    s = series.dropna()
    if as_of is not None:
        s = s[s.index <= pd.Timestamp(as_of)]
    if s.empty:
        raise DataUnavailableError(f"no history of '{series.name}' up to {as_of}")
    vals = s.to_numpy(dtype=np.float64)
    cur = float(vals[-1])
    return HistoryReading(
        name=str(series.name),
        date=pd.Timestamp(s.index[-1]),
        current=cur,
        average=float(vals.mean()),
        percentile=float(np.mean(vals <= cur)),
        minimum=float(vals.min()),
        maximum=float(vals.max()),
        max_date=pd.Timestamp(s.index[int(np.argmax(vals))]),
        since=pd.Timestamp(s.index[0]),
        n_obs=len(vals),
        min_date=pd.Timestamp(s.index[int(np.argmin(vals))]),
    )
