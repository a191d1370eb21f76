"""Rebalance schedules: S&P quarterly dates from the NYSE calendar, month ends, drift-band specs."""

from __future__ import annotations

import pandas as pd
import pytest

from counterweight.backtest.schedule import (
    DriftBands,
    Monthly,
    Quarterly,
    parse_schedule,
    third_friday_sessions,
)
from counterweight.errors import ConfigError


def test_third_fridays_known_dates() -> None:
    # hand-checked on a calendar: third Fridays of Mar/Jun/Sep/Dec 2024 and 2025
    got = third_friday_sessions(pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31"))
    want = pd.DatetimeIndex(
        [
            "2024-03-15",
            "2024-06-21",
            "2024-09-20",
            "2024-12-20",
            "2025-03-21",
            "2025-06-20",
            "2025-09-19",
            "2025-12-19",
        ]
    )
    assert list(got) == list(want)


def test_third_friday_holiday_moves_to_previous_session() -> None:
    # 19 June 2026 is the third Friday of June and Juneteenth, an NYSE holiday: Thursday 18th
    got = third_friday_sessions(pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-30"))
    assert list(got) == [pd.Timestamp("2026-06-18")]


def test_quarterly_positions_on_data_dates() -> None:
    dates = pd.bdate_range("2024-01-02", "2024-12-31")
    dates = dates.drop(pd.Timestamp("2024-06-21"))  # data lacks the rebalance date
    pos = Quarterly().positions(dates)
    got = list(dates[pos])
    assert got[0] == dates[0]  # the initial investment
    assert got[1:] == [
        pd.Timestamp("2024-03-15"),
        pd.Timestamp("2024-06-20"),  # last data date on or before
        pd.Timestamp("2024-09-20"),
        pd.Timestamp("2024-12-20"),
    ]


def test_monthly_positions_are_last_dates_of_months() -> None:
    dates = pd.bdate_range("2024-01-02", "2024-04-30")
    got = dates[Monthly().positions(dates)]
    brute = [dates[0]] + [dates[dates.month == m][-1] for m in (1, 2, 3, 4)]
    assert list(got) == brute


def test_parse_schedule() -> None:
    assert isinstance(parse_schedule("Monthly"), Monthly)
    band = parse_schedule("band:0.02")
    assert isinstance(band, DriftBands) and band.absolute == 0.02
    rel = parse_schedule("relband:0.25")
    assert isinstance(rel, DriftBands) and rel.relative == 0.25
    with pytest.raises(ConfigError, match="unknown schedule"):
        parse_schedule("fortnightly")
    with pytest.raises(ConfigError, match="not a number"):
        parse_schedule("band:x")
    with pytest.raises(ConfigError, match="positive"):
        DriftBands(absolute=-1.0)
