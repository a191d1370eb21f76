"""Performance statistics against empyrical-reloaded on the same series (|difference| < 1e-10).

Where our definition differs on purpose the test states it: the information ratio is empyrical's
``excess_sharpe`` annualised by sqrt(252); rolling functions are NaN-padded to full length, so
their tail is compared with empyrical's ``roll_*`` output.
"""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from counterweight.measure import performance as pf

TOL = 1e-10


def _series(seed: int, n: int = 700, with_nan: bool = True) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0004, 0.011, n)
    r = 0.9 * b + rng.normal(0.0001, 0.006, n)
    if with_nan:
        r[[3, 50, 51]] = np.nan
        b[[10]] = np.nan
    idx = pd.bdate_range("2021-01-04", periods=n)
    return pd.Series(r, index=idx), pd.Series(b, index=idx)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_series_stats_match_empyrical(seed: int) -> None:
    r, _ = _series(seed)
    pairs = [
        (pf.cagr(r), ep.cagr(r)),
        (pf.total_return(r), ep.cum_returns_final(r)),
        (pf.annual_volatility(r), ep.annual_volatility(r)),
        (pf.sharpe_ratio(r), ep.sharpe_ratio(r)),
        (pf.sharpe_ratio(r, 0.0001), ep.sharpe_ratio(r, 0.0001)),
        (pf.sortino_ratio(r), ep.sortino_ratio(r)),
        (pf.downside_risk(r), ep.downside_risk(r)),
        (pf.max_drawdown(r), ep.max_drawdown(r)),
        (pf.calmar_ratio(r), ep.calmar_ratio(r)),
    ]
    for ours, theirs in pairs:
        assert abs(ours - float(theirs)) < TOL


@pytest.mark.parametrize("seed", [0, 3])
def test_relative_stats_match_empyrical(seed: int) -> None:
    r, b = _series(seed)
    assert abs(pf.beta(r, b) - ep.beta(r, b)) < TOL
    assert abs(pf.alpha(r, b) - ep.alpha(r, b)) < TOL
    assert abs(pf.up_capture(r, b) - ep.up_capture(r, b)) < TOL
    assert abs(pf.down_capture(r, b) - ep.down_capture(r, b)) < TOL
    # definition differs on purpose: annualised
    assert abs(pf.information_ratio(r, b) - ep.excess_sharpe(r, b) * np.sqrt(252)) < TOL
    # tracking error: empyrical has no function; the same sample std of active returns
    active = (r - b).dropna()
    assert abs(pf.tracking_error(r, b) - ep.annual_volatility(active)) < TOL


def test_calendar_year_returns_match_empyrical() -> None:
    r, _ = _series(4)
    ours = pf.calendar_year_returns(r)
    theirs = ep.aggregate_returns(r, "yearly")
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=TOL)
    assert list(ours.index) == list(theirs.index)


@pytest.mark.parametrize("window", [20, 63])
def test_rolling_match_empyrical(window: int) -> None:
    r, b = _series(5, n=400)
    ra, ba = r.to_numpy(), b.to_numpy()
    checks = [
        (pf.rolling_volatility(ra, window), ep.roll_annual_volatility(ra, window)),
        (pf.rolling_sharpe(ra, window), ep.roll_sharpe_ratio(ra, window)),
        (pf.rolling_max_drawdown(ra, window), ep.roll_max_drawdown(ra, window)),
        (pf.rolling_beta(ra, ba, window), ep.roll_beta(ra, ba, window)),
    ]
    for ours, theirs in checks:
        ours = np.asarray(ours)
        assert np.isnan(ours[: window - 1]).all()
        np.testing.assert_allclose(ours[window - 1 :], theirs, rtol=0, atol=TOL)


def test_rolling_return_and_tracking_error_brute_force() -> None:
    r, b = _series(6, n=120, with_nan=False)
    w = 30
    rr = np.asarray(pf.rolling_return(r, w))
    te = np.asarray(pf.rolling_tracking_error(r, b, w))
    rel = np.asarray(pf.rolling_relative_return(r, b, w))
    for t in range(w - 1, 120):
        seg, segb = r.iloc[t - w + 1 : t + 1], b.iloc[t - w + 1 : t + 1]
        assert rr[t] == pytest.approx(float(np.prod(1 + seg) - 1), abs=1e-13)
        assert te[t] == pytest.approx(float(np.std(seg - segb, ddof=1) * np.sqrt(252)), abs=1e-13)
        assert rel[t] == pytest.approx(float(np.prod(1 + seg) - np.prod(1 + segb)), abs=1e-13)


def test_max_drawdown_dates() -> None:
    idx = pd.bdate_range("2024-01-01", periods=6)
    r = pd.Series([0.10, -0.20, 0.05, 0.10, 0.10, -0.01], index=idx)
    info = pf.max_drawdown_info(r)
    assert info.depth == pytest.approx(-0.20, abs=1e-15)
    assert info.peak == idx[0] and info.trough == idx[1]
    # wealth: 1.1, .88, .924, 1.0164, 1.11804 >= 1.1 on day 4
    assert info.recovery == idx[4]
    assert pf.max_drawdown_info(pd.Series([0.01, 0.02], index=idx[:2])).depth == 0.0
    down = pf.max_drawdown_info(pd.Series([-0.1, 0.05], index=idx[:2]))
    assert down.peak is None and down.trough == idx[0] and down.recovery is None


def test_turnover_convention() -> None:
    traded = np.zeros(504)
    traded[[0, 252]] = 0.4  # two trades of 40% two-sided over two years
    assert pf.annual_turnover(traded, 504) == pytest.approx(0.2)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(5, 80), elements=st.floats(-0.2, 0.2)))
def test_property_matches_empyrical(r: np.ndarray) -> None:
    assert abs(pf.max_drawdown(r) - ep.max_drawdown(r)) < TOL
    c, ec = pf.cagr(r), ep.cagr(r)  # can be astronomically large on 5 periods: relative
    assert abs(c - ec) < TOL * max(1.0, abs(ec))
    v, ev = pf.annual_volatility(r), ep.annual_volatility(r)
    assert (np.isnan(v) and np.isnan(ev)) or abs(v - ev) < TOL
    s, es = pf.sharpe_ratio(r), ep.sharpe_ratio(r)
    assert (np.isnan(s) and np.isnan(es)) or s == es or abs(s - es) < 1e-8 * max(1.0, abs(es))


def test_summary_table_shape() -> None:
    r, b = _series(7)
    table = pf.summary_table(pd.DataFrame({"a": r, "b": b}), benchmark=b)
    assert list(table.columns) == list(pf.SUMMARY_COLUMNS)
    assert table.loc["b", "tracking_error"] == 0.0
    assert table.loc["b", "beta"] == pytest.approx(1.0, abs=1e-12)
    assert table.loc["a", "cagr"] == pytest.approx(ep.cagr(r), abs=TOL)


def test_periods_per_year_from_spacing() -> None:
    assert pf.periods_per_year(pd.bdate_range("2024-01-01", periods=30)) == 252
    assert pf.periods_per_year(pd.date_range("2014-01-31", periods=40, freq="ME")) == 12
    assert pf.periods_per_year(pd.date_range("2014-01-03", periods=40, freq="W-FRI")) == 52
    assert pf.periods_per_year(pd.date_range("2014-03-31", periods=8, freq="QE")) == 4
    assert pf.periods_per_year(pd.date_range("2014-01-03", periods=40, freq="2W-FRI")) == 26
    assert pf.periods_per_year(pd.date_range("2014-12-31", periods=8, freq="YE")) == 1
    # monthly data annualised with 12 matches empyrical's 'monthly' period
    r = pd.Series(np.random.default_rng(1).normal(0.01, 0.04, 60))
    assert abs(pf.cagr(r, 12) - ep.cagr(r, period="monthly")) < TOL
    assert abs(pf.sharpe_ratio(r, 0.0, 12) - ep.sharpe_ratio(r, period="monthly")) < TOL


SPACING_CASES = {
    # frequency alias, periods a year, what a holiday does (shift the date back a day or drop it)
    "daily": ("B", 252),
    "weekly": ("W-FRI", 52),
    "biweekly": ("2W-FRI", 26),
    "monthly": ("BME", 12),
    "quarterly": ("BQE", 4),
    "semiannual": ("2BQE", 2),
    "annual": ("BYE", 1),
}


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(sorted(SPACING_CASES)),
    start=st.dates(pd.Timestamp("1990-01-01").date(), pd.Timestamp("2030-01-01").date()),
    n=st.integers(8, 120),
    seed=st.integers(0, 10_000),
    drop=st.floats(0.0, 0.2),
    shift=st.floats(0.0, 0.2),
)
def test_property_periods_per_year_of_each_spacing(
    kind: str, start, n: int, seed: int, drop: float, shift: float
) -> None:
    """Regular dates of each spacing, with up to 20% of them missing and up to 20% moved a day
    early (a holiday), give the spacing's periods a year; risk uses the same function."""
    freq, expected = SPACING_CASES[kind]
    dates = pd.date_range(pd.Timestamp(start), periods=n, freq=freq)
    rng = np.random.default_rng(seed)
    keep = rng.random(n) >= drop
    keep[[0, -1]] = True
    days = dates[keep].to_numpy().copy()
    moved = rng.random(days.size) < shift
    if kind != "daily":  # a holiday on a weekly or longer schedule moves the date back a day
        days[moved] = days[moved] - np.timedelta64(1, "D")
    idx = pd.DatetimeIndex(days)
    assert pf.periods_per_year(idx) == expected
    assert pf.periods_per_year(idx[::-1]) == expected  # order does not matter

    from counterweight.risk import covariance

    assert covariance.periods_per_year is pf.periods_per_year


def test_periods_per_year_degenerate_axes() -> None:
    assert pf.periods_per_year(pd.DatetimeIndex([])) == 252
    assert pf.periods_per_year(pd.DatetimeIndex(["2024-01-02"])) == 252
    assert pf.periods_per_year(pd.DatetimeIndex(["2024-01-02", "2025-01-02"])) == 1
