"""Breadth kernels against brute-force loops on small panels with entries, exits and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.market import Market
from counterweight.measure import breadth as br


def _panel(seed: int, t: int = 90, n: int = 12, gap_rate: float = 0.03):
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0005, 0.02, size=(t, n))
    p = 100 * np.cumprod(1 + r, axis=0)
    p[rng.random((t, n)) < gap_rate] = np.nan  # isolated gaps
    p[:20, 0] = np.nan  # listed late
    p[60:, 1] = np.nan  # delisted
    members = rng.random((t, n)) > 0.1
    members[:, 2] = False
    members[30:50, 3] = False  # leaves and re-enters the index
    caps = p * rng.uniform(1e9, 5e9, size=n)
    return p, members, caps


def _brute_above(p, m, w):
    t_len, n = p.shape
    above = np.zeros(t_len, int)
    elig = np.zeros(t_len, int)
    for t in range(t_len):
        for i in range(n):
            if t < w - 1 or not m[t, i]:
                continue
            win = p[t - w + 1 : t + 1, i]
            if np.isnan(win).any():
                continue
            elig[t] += 1
            above[t] += p[t, i] > win.mean()
    return above, elig


@pytest.mark.parametrize("use_numba", [True, False])
@pytest.mark.parametrize("w", [1, 5, 20])
def test_above_ma_matches_brute_force(use_numba, w):
    p, m, _ = _panel(1)
    a, e = br.above_moving_average_counts(p, m, w, use_numba=use_numba)
    ba, be = _brute_above(p, m, w)
    np.testing.assert_array_equal(e, be)
    np.testing.assert_array_equal(a, ba)


def test_above_ma_pure_python_kernel_and_float32():
    p, m, _ = _panel(2, t=40, n=6)
    kernel = getattr(br._above_ma_loop, "py_func", br._above_ma_loop)
    a, e = kernel(p, m, 10)
    ba, be = _brute_above(p, m, 10)
    np.testing.assert_array_equal(a, ba)
    np.testing.assert_array_equal(e, be)
    a32, e32 = br.above_moving_average_counts(p.astype(np.float32), m, 10)
    ba32, be32 = _brute_above(p.astype(np.float32).astype(np.float64), m, 10)
    np.testing.assert_array_equal(a32, ba32)
    np.testing.assert_array_equal(e32, be32)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    w=st.integers(1, 30),
    t=st.integers(1, 60),
    n=st.integers(1, 7),
)
def test_above_ma_property(seed, w, t, n):
    p, m, _ = _panel(seed, t=max(t, 61), n=max(n, 4), gap_rate=0.1)
    p, m = p[:t, :n], m[:t, :n]
    a, e = br.above_moving_average_counts(p, m, w)
    a2, e2 = br.above_moving_average_counts(p, m, w, use_numba=False)
    ba, be = _brute_above(p, m, w)
    np.testing.assert_array_equal(a, ba)
    np.testing.assert_array_equal(e, be)
    np.testing.assert_array_equal(a2, ba)
    np.testing.assert_array_equal(e2, be)


def test_moving_average_matches_pandas_rolling():
    p, _, _ = _panel(3)
    got = br.moving_average(p, 10)
    ref = pd.DataFrame(p).rolling(10, min_periods=10).mean().to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("w", [1, 3, 7, 25])
def test_highs_lows_brute_force(w):
    p, m, _ = _panel(4, t=80, n=9, gap_rate=0.05)
    p[40:50, 5] = 100.0  # flat run: ties count as both high and low
    hi, lo, el = br.highs_lows_counts(p, m, w)
    t_len, n = p.shape
    for t in range(t_len):
        h = lw = e = 0
        for i in range(n):
            if t < w - 1 or not m[t, i]:
                continue
            win = p[t - w + 1 : t + 1, i]
            if np.isnan(win).any():
                continue
            e += 1
            h += p[t, i] >= win.max()
            lw += p[t, i] <= win.min()
        assert (hi[t], lo[t], el[t]) == (h, lw, e), t


def test_advance_decline_and_index_returns_brute_force():
    p, m, caps = _panel(5)
    mk = Market.from_frames(
        pd.DataFrame(p, index=pd.bdate_range("2024-01-01", periods=p.shape[0])),
        caps=pd.DataFrame(caps, index=pd.bdate_range("2024-01-01", periods=p.shape[0])),
        members=pd.DataFrame(m, index=pd.bdate_range("2024-01-01", periods=p.shape[0])),
    )
    r = mk.returns
    adv, dec, cnt = br.advance_decline_counts(r, mk.members)
    ew, cw = br.index_returns(r, mk.caps, mk.members)
    for t in range(1, p.shape[0]):
        rs = [r[t, i] for i in range(p.shape[1]) if mk.members[t, i] and np.isfinite(r[t, i])]
        assert adv[t] == sum(x > 0 for x in rs) and dec[t] == sum(x < 0 for x in rs)
        assert cnt[t] == len(rs)
        # the day-t basket is the members on t (end-exclusive intervals), weighted at t-1
        basket = [i for i in range(p.shape[1]) if mk.members[t, i] and np.isfinite(r[t, i])]
        assert ew[t] == pytest.approx(np.mean([r[t, i] for i in basket]), rel=1e-12)
        wts = np.array([mk.caps[t - 1, i] for i in basket])
        ok = np.isfinite(wts)
        ref = np.dot(wts[ok], np.array([r[t, i] for i in basket])[ok]) / wts[ok].sum()
        assert cw[t] == pytest.approx(ref, rel=1e-12)
    assert np.isnan(ew[0]) and np.isnan(cw[0])
    hist = br.breadth_history(mk, ma_windows=(5,), high_low_window=10, participation_window=5)
    assert hist["ad_line"].iloc[-1] == pytest.approx(float((adv - dec)[1:].sum()))
    assert set(hist.columns) >= {
        "above_5d",
        "new_highs",
        "new_lows",
        "ew_minus_cw",
        "participation",
    }


def test_compound_and_participation_brute_force():
    p, m, caps = _panel(6)
    idx = pd.bdate_range("2024-01-01", periods=p.shape[0])
    mk = Market.from_frames(
        pd.DataFrame(p, index=idx),
        caps=pd.DataFrame(caps, index=idx),
        members=pd.DataFrame(m, index=idx),
    )
    _, cw = br.index_returns(mk.returns, mk.caps, mk.members)
    c = br.compound(cw, 5)
    for t in range(p.shape[0]):
        win = cw[max(t - 4, 0) : t + 1]
        if t < 4 or np.isnan(win).any():
            assert np.isnan(c[t])
        else:
            assert c[t] == pytest.approx(np.prod(1 + win) - 1, rel=1e-10)
    part = br.participation(mk, 5)
    for t in range(5, p.shape[0]):
        if np.isnan(c[t]):
            assert np.isnan(part[t])
            continue
        rets = [
            p[t, i] / p[t - 5, i] - 1
            for i in range(p.shape[1])
            if m[t, i] and np.isfinite(p[t, i]) and np.isfinite(p[t - 5, i])
        ]
        assert part[t] == pytest.approx(np.mean([x > c[t] for x in rets]))


@pytest.mark.parametrize("use_numba", [True, False])
def test_bad_print_and_flat_prices(use_numba):
    p, m, _ = _panel(7, t=400, n=6, gap_rate=0.0)
    p[5, 2] = 1e12  # a bad print far before the windows checked (leak <= ANCHOR_EVERY + 1 windows)
    p[60:, 3] = 42.0  # a halted stock: price equals its average, never "above"
    p[70, 4] = np.inf  # an infinite price is not a price
    a, e = br.above_moving_average_counts(p, m, 20, use_numba=use_numba)
    p_ref = np.where(np.isfinite(p), p, np.nan)
    ba, be = _brute_above(p_ref, m, 20)
    np.testing.assert_array_equal(e, be)
    start = 5 + (br.ANCHOR_EVERY + 1) * 20
    np.testing.assert_array_equal(a[start:], ba[start:])
