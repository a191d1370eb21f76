"""versus_history in its own module: hand-checked readings and the compatibility re-export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight.errors import DataUnavailableError
from counterweight.measure.history import HistoryReading, versus_history


def test_reading_by_hand() -> None:
    idx = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-28", "2024-04-30", "2024-05-31"])
    s = pd.Series([0.30, 0.10, np.nan, 0.30, 0.20], index=idx, name="top10")
    r = versus_history(s)
    assert r.current == 0.20 and r.date == idx[4]
    assert r.average == pytest.approx((0.30 + 0.10 + 0.30 + 0.20) / 4)
    assert r.percentile == pytest.approx(2 / 4)  # 0.10 and 0.20 are <= 0.20
    assert (r.minimum, r.min_date) == (0.10, idx[1])
    assert (r.maximum, r.max_date) == (0.30, idx[0])  # first date the max was reached
    assert r.since == idx[0] and r.n_obs == 4
    d = r.to_dict()
    assert d["min_date"] == "2024-02-29" and d["max_date"] == "2024-01-31"


def test_no_look_ahead_and_empty() -> None:
    idx = pd.bdate_range("2024-01-01", periods=5)
    s = pd.Series([1.0, 5.0, 2.0, 9.0, 0.0], index=idx, name="x")
    r = versus_history(s, as_of=idx[2])
    assert (
        r.current == 2.0
        and r.maximum == 5.0
        and r.n_obs == 3
        and r.percentile == pytest.approx(2 / 3)
    )
    with pytest.raises(DataUnavailableError, match="no history of 'x'"):
        versus_history(s, as_of="2023-12-01")


def test_concentration_re_exports_the_same_objects() -> None:
    from counterweight.measure import concentration

    assert concentration.versus_history is versus_history
    assert concentration.HistoryReading is HistoryReading
