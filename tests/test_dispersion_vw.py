"""Volatility-weighted average correlation: one pass, equal to the brute-force weighted mean."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.measure import dispersion as dp
from counterweight.measure.breadth import HAVE_NUMBA

PATHS = [False, True] if HAVE_NUMBA else [False]


def brute_vw(r: np.ndarray, mem: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Per date: eligible stocks, their window covariance matrix, sum_{i!=j} C_ij / sum s_i s_j."""
    t_len, n = r.shape
    out = np.full(t_len, np.nan)
    cnt = np.zeros(t_len, dtype=int)
    for t in range(w, t_len):
        win = r[t - w + 1 : t + 1]
        cols = [
            i
            for i in range(n)
            if mem[t, i] and np.isfinite(win[:, i]).all() and win[:, i].var() > dp.MIN_VARIANCE
        ]
        cnt[t] = len(cols)
        if len(cols) < 2:
            continue
        x = win[:, cols]
        c = np.cov(x, rowvar=False, ddof=0)
        sd = np.sqrt(np.diag(c))
        corr = c / np.outer(sd, sd)
        wts = np.outer(sd, sd)
        off = ~np.eye(len(cols), dtype=bool)
        out[t] = (wts * corr)[off].sum() / wts[off].sum()
    return out, cnt


def panel(seed: int, t_len: int = 120, n: int = 9, gaps: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.01, (t_len, 1))
    r = 0.6 * common + rng.normal(0, 0.01, (t_len, n)) * rng.uniform(0.5, 3, n)
    r[0] = np.nan
    mem = np.ones((t_len, n), dtype=bool)
    if gaps:
        r[rng.random((t_len, n)) < 0.02] = np.nan
        mem[: t_len // 3, 0] = False  # enters
        mem[t_len // 2 :, 1] = False  # leaves
        r[40:50, 2] = 0.0  # a halted (constant-price) stretch: variance 0, left out
    return r, mem


@pytest.mark.parametrize("use_numba", PATHS)
@pytest.mark.parametrize("window", [5, 21])
def test_matches_bruteforce(use_numba: bool, window: int) -> None:
    r, mem = panel(1)
    got, cnt = dp.average_correlation_vw(r, mem, window, use_numba=use_numba)
    want, wcnt = brute_vw(r, mem, window)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11, equal_nan=True)
    np.testing.assert_array_equal(cnt[window:], wcnt[window:])


def test_equal_volatilities_give_the_plain_mean() -> None:
    # one window over the whole sample of standardised returns: every volatility is 1
    r, mem = panel(2, gaps=False)
    w = len(r) - 1
    x = r[1:]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    r2 = np.vstack([np.full((1, r.shape[1]), np.nan), x])
    got, _ = dp.average_correlation_vw(r2, mem, w)
    corr = np.corrcoef(x, rowvar=False)
    off = ~np.eye(corr.shape[0], dtype=bool)
    assert got[-1] == pytest.approx(corr[off].mean(), abs=1e-12)
    plain, _ = dp.average_correlation(r2, mem, w)
    assert plain[-1] == pytest.approx(corr[off].mean(), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), window=st.integers(2, 30))
def test_paths_agree_and_match_bruteforce(seed: int, window: int) -> None:
    r, mem = panel(seed, t_len=80, n=6)
    want, _ = brute_vw(r, mem, window)
    for use_numba in PATHS:
        got, _ = dp.average_correlation_vw(r, mem, window, use_numba=use_numba)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10, equal_nan=True)


def test_a_bad_print_does_not_spread() -> None:
    r, mem = panel(3, t_len=300, gaps=False)
    clean, _ = dp.average_correlation_vw(r, mem, 21)
    r[50, 4] = 600.0  # a +60,000% print
    bad, _ = dp.average_correlation_vw(r, mem, 21)
    # windows that no longer contain the print agree with the clean panel to rounding
    np.testing.assert_allclose(bad[100:], clean[100:], rtol=0, atol=1e-9)
