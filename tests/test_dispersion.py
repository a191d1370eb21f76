"""Average correlation and dispersion against brute-force correlation matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.measure import dispersion as ds


def _returns(seed: int, t: int = 80, n: int = 10, gap_rate: float = 0.03):
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.01, size=(t, 1))
    r = 0.8 * common + rng.normal(0.0003, 0.015, size=(t, n))
    r[rng.random((t, n)) < gap_rate] = np.nan
    r[:25, 0] = np.nan  # enters late
    r[55:, 1] = np.nan  # leaves
    members = rng.random((t, n)) > 0.08
    members[20:40, 2] = False  # out of the index and back
    if n > 3:
        r[:, 3] = 0.0  # constant price: no correlation defined
    return r, members


def _brute_corr(r, m, w):
    t_len, n = r.shape
    out = np.full(t_len, np.nan)
    cnt = np.zeros(t_len, int)
    for t in range(w - 1, t_len):
        cols = []
        for i in range(n):
            win = r[t - w + 1 : t + 1, i]
            if m[t, i] and np.isfinite(win).all() and win.var() > ds.MIN_VARIANCE:
                cols.append(i)
        cnt[t] = len(cols)
        if len(cols) >= 2:
            c = np.corrcoef(r[t - w + 1 : t + 1, cols].T)
            k = len(cols)
            out[t] = (c.sum() - np.trace(c)) / (k * (k - 1))
    return out, cnt


@pytest.mark.parametrize("use_numba", [True, False])
@pytest.mark.parametrize("w", [2, 5, 21])
@pytest.mark.parametrize("block", [None, 1, 7, 100])
def test_average_correlation_matches_corrcoef(w, block, use_numba):
    r, m = _returns(11)
    r[30, 4] = np.inf  # a zero price: not a finite return
    got, cnt = ds.average_correlation(r, m, w, block=block, use_numba=use_numba)
    ref, rcnt = _brute_corr(r, m, w)
    np.testing.assert_array_equal(cnt, rcnt)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-11, equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), w=st.integers(2, 30), t=st.integers(1, 70), n=st.integers(1, 8))
def test_average_correlation_property(seed, w, t, n):
    r, m = _returns(seed, t=80, n=8, gap_rate=0.08)
    r, m = r[:t, :n], m[:t, :n]
    got, cnt = ds.average_correlation(r, m, w)
    got_np, cnt_np = ds.average_correlation(r, m, w, use_numba=False)
    ref, rcnt = _brute_corr(r, m, w)
    np.testing.assert_array_equal(cnt, rcnt)
    np.testing.assert_array_equal(cnt_np, rcnt)
    # correlations are means of terms in [-1, 1]; with a 2-day window each term is +-1 and a
    # mean of 0 comes out of streaming sums with ~1e-10 of cancellation, so the absolute
    # tolerance is 1e-9 (the relative one stays 1e-8)
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(got_np, ref, rtol=1e-8, atol=1e-9, equal_nan=True)
    assert np.all((got[np.isfinite(got)] >= -1 - 1e-9) & (got[np.isfinite(got)] <= 1 + 1e-9))


def test_perfectly_correlated_and_large_level_returns():
    rng = np.random.default_rng(3)
    base = rng.normal(0, 0.02, size=(50, 1))
    r = np.hstack([base, 2 * base + 0.5, 3 * base - 0.1])  # large means: centring must cope
    got, cnt = ds.average_correlation(r, np.ones_like(r, dtype=bool), 10)
    assert np.all(cnt[9:] == 3)
    np.testing.assert_allclose(got[9:], 1.0, atol=1e-9)


def test_cross_sectional_dispersion_brute_force():
    rng = np.random.default_rng(5)
    p = 50 * np.cumprod(1 + rng.normal(0, 0.02, size=(40, 7)), axis=0)
    p[rng.random(p.shape) < 0.05] = np.nan
    m = rng.random(p.shape) > 0.1
    for w in (1, 5):
        got = ds.cross_sectional_dispersion(p, m, w)
        for t in range(p.shape[0]):
            if t < w:
                assert np.isnan(got[t])
                continue
            vals = [
                p[t, i] / p[t - w, i] - 1
                for i in range(p.shape[1])
                if m[t, i] and np.isfinite(p[t, i]) and np.isfinite(p[t - w, i])
            ]
            if len(vals) < 2:
                assert np.isnan(got[t])
            else:
                assert got[t] == pytest.approx(np.std(vals), rel=1e-10)


def test_window_moments_match_direct():
    r, _ = _returns(8)
    n, mean, var = ds.window_moments(r, 6)
    for t in range(5, r.shape[0]):
        for i in range(r.shape[1]):
            win = r[t - 5 : t + 1, i]
            assert n[t, i] == np.isfinite(win).sum()
            if np.isfinite(win).all():
                assert mean[t, i] == pytest.approx(win.mean(), abs=1e-14)
                assert var[t, i] == pytest.approx(win.var(), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("use_numba", [True, False])
def test_bad_print_does_not_pollute_later_windows(use_numba):
    rng = np.random.default_rng(9)
    r = rng.normal(0, 0.02, size=(300, 6))
    r[10, 0] = 62_499.0  # a bad print, far before the windows checked
    r[:, 1] = 1e-6 * rng.normal(size=300)  # tiny but real variance (std 1e-6)
    m = np.ones(r.shape, dtype=bool)
    got, cnt = ds.average_correlation(r, m, 21, use_numba=use_numba)
    ref, rcnt = _brute_corr(r, m, 21)
    np.testing.assert_array_equal(cnt, rcnt)
    # rounding from the bad print stays within 2 windows of it (block-local sums)
    np.testing.assert_allclose(got[10 + 42 :], ref[10 + 42 :], rtol=1e-10, atol=1e-12)
    _, _, var = ds.window_moments(r, 21)
    np.testing.assert_allclose(
        var[60:, 1], [r[t - 20 : t + 1, 1].var() for t in range(60, 300)], rtol=1e-8
    )


def test_blas_thread_cap_gives_the_same_numbers():
    r, m = _returns(12)
    a, ca = ds.average_correlation(r, m, 10)
    b, cb = ds.average_correlation(r, m, 10, blas_threads=1)
    np.testing.assert_array_equal(ca, cb)
    np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)


def test_pure_python_kernel_matches_numpy_path():
    """Without numba the same loop runs as plain Python: check it on a tiny panel."""
    r, m = _returns(13, t=30, n=5)
    kernel = getattr(ds._inv_sd_loop, "py_func", ds._inv_sd_loop)
    _, _, centre = ds._centred(r)
    x, inv, cnt = kernel(r, centre, m, 6, ds.MIN_VARIANCE)
    n, _, var = ds.window_moments(r, 6)
    elig = (n == 6) & (var > ds.MIN_VARIANCE) & m
    elig[:5] = False
    np.testing.assert_array_equal(cnt, elig.sum(axis=1))
    np.testing.assert_allclose(inv[elig], 1 / np.sqrt(var[elig]), rtol=1e-9)
    assert np.all(inv[~elig] == 0)
    np.testing.assert_allclose(x, np.where(np.isfinite(r), r - centre, 0.0), rtol=0, atol=1e-15)
