"""Rebalance schedules: S&P quarterly dates from the NYSE calendar, month ends, drift-band specs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.backtest import CapWeight, EqualWeight, run_backtest
from counterweight.backtest.schedule import (
    SP_REFERENCE_LAG_DAYS,
    DriftBands,
    Monthly,
    OnDates,
    Quarterly,
    carry_to_effective,
    parse_schedule,
    quarterly_rebalance_sessions,
    reference_positions,
    third_friday_sessions,
)
from counterweight.errors import ConfigError
from counterweight.market import Market


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
    assert parse_schedule("quarterly") == Quarterly(reference_lag_days=7)
    assert parse_schedule("Quarterly:0") == Quarterly(reference_lag_days=0)
    with pytest.raises(ConfigError, match="not a whole number of days"):
        parse_schedule("quarterly:-2")
    with pytest.raises(ConfigError, match="not a number"):
        parse_schedule("band:x")
    with pytest.raises(ConfigError, match="positive"):
        DriftBands(absolute=-1.0)


def test_reference_dates_are_the_second_friday() -> None:
    # S&P: effective after the close of the third Friday, reference date the second Friday
    # (hand-checked on a calendar, 2024-2025)
    eff, ref = quarterly_rebalance_sessions(pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31"))
    assert SP_REFERENCE_LAG_DAYS == 7
    assert list(eff) == list(third_friday_sessions(eff[0], eff[-1]))
    assert [d.strftime("%m-%d") for d in ref] == [
        "03-08", "06-14", "09-13", "12-13", "03-14", "06-13", "09-12", "12-12",
    ]  # fmt: skip
    assert all((e - r).days == 7 and r.day_of_week == 4 for e, r in zip(eff, ref, strict=True))


def test_reference_dates_on_xnys_holidays() -> None:
    # Juneteenth 2026 falls on the third Friday: the trade moves to Thursday 18 June, the
    # reference stays Friday 12 June (7 days before the third Friday, not before the trade)
    eff, ref = quarterly_rebalance_sessions(pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-30"))
    assert list(eff) == [pd.Timestamp("2026-06-18")] and list(ref) == [pd.Timestamp("2026-06-12")]
    # Good Friday 2008 was 21 March, the third Friday: trade Thursday 20 March, reference 14th
    eff, ref = quarterly_rebalance_sessions(pd.Timestamp("2008-03-01"), pd.Timestamp("2008-03-31"))
    assert list(eff) == [pd.Timestamp("2008-03-20")] and list(ref) == [pd.Timestamp("2008-03-14")]
    # a 2-day lag from Friday 21 June 2024 lands on Juneteenth (Wednesday 19th, closed): the
    # last session before it, Tuesday 18th
    _, ref = quarterly_rebalance_sessions(
        pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-30"), reference_lag_days=2
    )
    assert list(ref) == [pd.Timestamp("2024-06-18")]
    # 4 July 2025 (Independence Day, a Friday) is no quarterly date; September 2025 is plain
    _, ref = quarterly_rebalance_sessions(pd.Timestamp("2025-09-01"), pd.Timestamp("2025-09-30"))
    assert list(ref) == [pd.Timestamp("2025-09-12")]


def test_quarterly_reference_positions_on_data_dates() -> None:
    dates = pd.bdate_range("2024-01-02", "2024-12-31").drop(pd.Timestamp("2024-06-14"))
    q = Quarterly()
    got = dates[q.reference_positions(dates)]
    assert list(got) == [
        dates[0],  # the initial investment is its own reference
        pd.Timestamp("2024-03-08"),
        pd.Timestamp("2024-06-13"),  # data lacks the reference date: last data date before it
        pd.Timestamp("2024-09-13"),
        pd.Timestamp("2024-12-13"),
    ]
    # a reference before the first data date falls back to the first date
    short = pd.bdate_range("2024-03-11", "2024-03-29")
    assert list(short[q.positions(short)]) == [short[0], pd.Timestamp("2024-03-15")]
    assert list(short[q.reference_positions(short)]) == [short[0], short[0]]
    # lag 0: weights at the trade close; other schedules have no reference date
    same = Quarterly(reference_lag_days=0)
    np.testing.assert_array_equal(same.reference_positions(dates), same.positions(dates))
    np.testing.assert_array_equal(reference_positions(Monthly(), dates), Monthly().positions(dates))
    for bad in (-1, 1.5):
        with pytest.raises(ConfigError, match="reference_lag_days"):
            Quarterly(reference_lag_days=bad)  # type: ignore[arg-type]


def test_carry_to_effective_closed_form() -> None:
    # weights 0.5 / 0.3 / 0.2 (cash 0) at the reference close; name 0 gains 10% and then 10%,
    # name 1 loses 50%, name 2 is flat; name 2 is no member on the effective date
    rets = np.array([[0.0, 0.0, 0.0], [0.1, -0.5, 0.0], [0.1, 0.0, 0.0]])
    members = np.array([[True, True, True]] * 2 + [[True, True, False]])
    out = carry_to_effective(
        np.array([[0.5, 0.3, 0.2]]), rets, members, np.array([0]), np.array([2])
    )
    g = np.array([0.5 * 1.21, 0.3 * 0.5, 0.0])
    np.testing.assert_allclose(out[0], g / g.sum(), atol=1e-15)
    # partly invested targets keep their cash share; no lag and full membership: unchanged
    out = carry_to_effective(np.array([[0.6, 0.2, 0.0]]), rets, None, np.array([0]), np.array([1]))
    np.testing.assert_allclose(out[0], np.array([0.66, 0.1, 0.0]) / 0.76 * 0.8, atol=1e-15)
    same = carry_to_effective(np.array([[0.6, 0.4, 0.0]]), rets, None, np.array([1]), np.array([1]))
    np.testing.assert_allclose(same[0], [0.6, 0.4, 0.0], atol=0)


def _week_market() -> Market:
    """3 names over June 2024; A rises 10% on Monday 17 June (between the reference close of
    Friday 14 June and the trade close of Friday 21 June); C's shares double on the 17th."""
    dates = pd.bdate_range("2024-06-03", "2024-06-28").drop(pd.Timestamp("2024-06-19"))
    prices = pd.DataFrame(100.0, index=dates, columns=["A", "B", "C"])
    prices.loc[prices.index >= "2024-06-17", "A"] = 110.0
    shares = pd.DataFrame({"A": 1.0, "B": 2.0, "C": 1.0}, index=dates)
    shares.loc[shares.index >= "2024-06-17", "C"] = 2.0
    return Market.from_frames(prices, caps=prices * shares)


def test_backtest_weights_from_the_reference_close_traded_at_the_effective_close() -> None:
    m = _week_market()
    res = run_backtest(m, [EqualWeight(), CapWeight()], schedule=Quarterly(), cost_bps=0)
    eq, cap = res.strategies["equal"], res.strategies["cap"]
    assert list(eq.rebalance_dates) == [pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-21")]
    eff = pd.Timestamp("2024-06-21")
    assert eq.weights is not None and cap.weights is not None
    # equal: 1/3 each at the reference close, held as shares: A at 1.1 / 3.1 after the trade
    np.testing.assert_allclose(eq.weights.loc[eff], [1.1 / 3.1, 1 / 3.1, 1 / 3.1], atol=1e-15)
    # cap: reference caps 100 / 200 / 100 carried by price (A x 1.1): 110 / 200 / 100 of 410;
    # C's share issuance after the reference close is not seen (cap weight of the 21st:
    # 110 / 200 / 200)
    np.testing.assert_allclose(cap.weights.loc[eff], np.array([110, 200, 100]) / 410, atol=1e-15)
    # without the lag the trade uses the closes of the 21st itself
    now = run_backtest(m, [EqualWeight(), CapWeight()], schedule=Quarterly(reference_lag_days=0))
    w = now.strategies["cap"].weights
    assert w is not None
    np.testing.assert_allclose(w.loc[eff], np.array([110, 200, 200]) / 510, atol=1e-15)
    np.testing.assert_allclose(now.strategies["equal"].weights.loc[eff], [1 / 3] * 3, atol=1e-15)
    # a name leaving between the reference and the trade is dropped, the others scaled up
    members = pd.DataFrame(True, index=m.dates, columns=m.tickers)
    members.loc[members.index >= "2024-06-20", "B"] = False
    left = Market.from_frames(pd.DataFrame(m.prices, index=m.dates, columns=m.tickers),
                              caps=pd.DataFrame(m.caps, index=m.dates, columns=m.tickers),
                              members=members)  # fmt: skip
    w2 = run_backtest(left, [EqualWeight()], schedule=Quarterly(), cost_bps=0)
    we = w2.strategies["equal"].weights
    assert we is not None
    np.testing.assert_allclose(we.loc[eff], [1.1 / 2.1, 0.0, 1 / 2.1], atol=1e-15)
    # a name joining between the reference and the trade is in, weighted at its reference
    # close (S&P: prices of the reference date, membership of the effective date)
    joins = pd.DataFrame(True, index=m.dates, columns=m.tickers)
    joins.loc[joins.index < "2024-06-18", "C"] = False
    late = Market.from_frames(pd.DataFrame(m.prices, index=m.dates, columns=m.tickers),
                              caps=pd.DataFrame(m.caps, index=m.dates, columns=m.tickers),
                              members=joins)  # fmt: skip
    w3 = run_backtest(late, [EqualWeight(), CapWeight()], schedule=Quarterly(), cost_bps=0)
    we, wc = w3.strategies["equal"].weights, w3.strategies["cap"].weights
    assert we is not None and wc is not None
    np.testing.assert_allclose(we.loc[eff], [1.1 / 3.1, 1 / 3.1, 1 / 3.1], atol=1e-15)
    np.testing.assert_allclose(wc.loc[eff], np.array([110, 200, 100]) / 410, atol=1e-15)
    # OnDates and Monthly trade at their own closes (no reference date)
    od = OnDates((eff,))
    np.testing.assert_array_equal(reference_positions(od, m.dates), od.positions(m.dates))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lag=st.integers(0, 6), cash=st.floats(0.0, 0.5))
def test_property_carry_equals_shares_bought_at_the_reference(
    seed: int, lag: int, cash: float
) -> None:
    """Buying the target shares at the reference close and holding them to the effective close
    (a plain loop over prices) gives the carried weights, leavers dropped."""
    rng = np.random.default_rng(seed)
    t_len, n = 12, 6
    prices = 50 * np.cumprod(1 + rng.normal(0, 0.03, (t_len, n)), axis=0)
    rets = np.zeros_like(prices)
    rets[1:] = prices[1:] / prices[:-1] - 1
    members = rng.random((t_len, n)) < 0.8
    members[:, 0] = True
    eff = np.array([t_len - 1, 7])
    ref = eff - np.array([lag, min(lag, 7)])
    w = rng.dirichlet(np.ones(n), size=2) * (1 - cash)
    got = carry_to_effective(w, rets, members, ref, eff)
    for i in range(2):
        shares = w[i] / prices[ref[i]]  # per unit of portfolio value at the reference close
        value = [shares[j] * prices[eff[i], j] if members[eff[i], j] else 0.0 for j in range(n)]
        want = np.array(value) / sum(value) * w[i].sum()
        np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=1e-15)
