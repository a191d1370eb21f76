"""Turnover-limited trades: exact against brute force and cvxpy, better than scaling down."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from counterweight.rebalance.turnover import (
    limit_trades,
    one_way_turnover,
    scale_trades,
    water_fill,
)


def brute_threshold(a: np.ndarray, total: float) -> float:
    """Bisection on theta: sum max(a - theta, 0) = total (independent of the sort formula)."""
    if total >= a.sum():
        return 0.0
    lo, hi = 0.0, float(a.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(a - mid, 0).sum() > total:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1, allow_subnormal=False)),
    st.floats(0, 1),
)
def test_water_fill_matches_bisection_and_is_exact(a: np.ndarray, frac: float) -> None:
    total = frac * a.sum()
    theta = water_fill(a[None], total)[0]
    assert theta == pytest.approx(brute_threshold(a, total), abs=1e-9)
    if a.sum() > 0:
        assert np.maximum(a - theta, 0).sum() == pytest.approx(total, abs=1e-12)


def _reachable(d: np.ndarray, tau: float, net: float) -> float:
    bmax, smax = np.maximum(d, 0).sum(), np.maximum(-d, 0).sum()
    return float(np.clip(net, -min(smax, 2 * tau), min(bmax, 2 * tau)))


def _cvxpy_reference(d: np.ndarray, tau: float, net: float) -> np.ndarray:
    cp = pytest.importorskip("cvxpy")
    n = d.size
    lo, hi = np.minimum(d, 0), np.maximum(d, 0)
    x = cp.Variable(n)
    cons = [0.5 * cp.norm1(x) <= tau, cp.sum(x) == _reachable(d, tau, net), x >= lo, x <= hi]
    cp.Problem(cp.Minimize(cp.sum_squares(x - d)), cons).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(x.value)


def test_matches_cvxpy_on_random_problems() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(2, 25))
        d = rng.normal(size=n) * rng.random(n) * 0.05
        d[rng.random(n) < 0.2] = 0.0
        tau = float(rng.random() * 0.5 * np.abs(d).sum())
        net = float(rng.normal() * 0.05)
        x = limit_trades(d[None], tau, net)[0]
        ref = _cvxpy_reference(d, tau, net)
        np.testing.assert_allclose(x, ref, atol=1e-7)


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 60), elements=st.floats(-0.2, 0.2, allow_subnormal=False)),
    st.floats(0.0, 1.0),
    st.floats(-0.1, 0.3),
)
def test_turnover_limit_met_exactly(d: np.ndarray, frac: float, net: float) -> None:
    tau = frac * 0.5 * np.abs(d).sum()
    x = limit_trades(d[None], tau, net)[0]
    turn = one_way_turnover(x[None])[0]
    assert turn <= tau + 1e-12
    # never a wrong-way trade, never more than wanted
    assert np.all(x * d >= 0) and np.all(np.abs(x) <= np.abs(d) + 1e-15)
    # the net flow (cash deployed or raised) is the reachable one, exactly
    assert x.sum() == pytest.approx(_reachable(d, tau, net), abs=1e-12)
    # the turnover limit is used in full unless a side runs out of wanted trades
    n = _reachable(d, tau, net)
    bmax, smax = np.maximum(d, 0).sum(), np.maximum(-d, 0).sum()
    if tau + n / 2 <= min(bmax, smax + n):
        assert turn == pytest.approx(tau, abs=1e-12)


def test_best_move_beats_proportional_scaling() -> None:
    """Same turnover, strictly closer to the target (least squares) and fewer trades."""
    rng = np.random.default_rng(3)
    d = rng.normal(size=(200, 50)) * 0.01
    d -= d.mean(axis=1, keepdims=True)  # a fully invested rebalance: buys = sells
    tau = 0.3 * 0.5 * np.abs(d).sum(axis=1)
    best = limit_trades(d, tau, 0.0)
    prop = scale_trades(d, tau)
    np.testing.assert_allclose(one_way_turnover(best), tau, rtol=0, atol=1e-12)
    np.testing.assert_allclose(one_way_turnover(prop), tau, rtol=0, atol=1e-12)
    dist_best = ((best - d) ** 2).sum(axis=1)
    dist_prop = ((prop - d) ** 2).sum(axis=1)
    assert np.all(dist_best < dist_prop)
    assert np.all((best != 0).sum(axis=1) < (prop != 0).sum(axis=1))


def test_worked_example() -> None:
    """d = (+0.06, +0.02, -0.05, -0.03), tau = 0.04: each side trades 0.04, cut by theta."""
    d = np.array([[0.06, 0.02, -0.05, -0.03]])
    x = limit_trades(d, 0.04, 0.0)[0]
    # buys: max(0.06 - t, 0) + max(0.02 - t, 0) = 0.04 -> t = 0.02 -> (0.04, 0)
    # sells: max(0.05 - t, 0) + max(0.03 - t, 0) = 0.04 -> t = 0.02 -> (0.03, 0.01)
    np.testing.assert_allclose(x, [0.04, 0.0, -0.03, -0.01], atol=1e-15)
    np.testing.assert_allclose(scale_trades(d, 0.04)[0], [0.03, 0.01, -0.025, -0.015])


def test_unconstrained_returns_desired_and_net_flow() -> None:
    d = np.array([[0.05, -0.02]])
    np.testing.assert_array_equal(limit_trades(d), d)
    # only 1% of cash beyond the buffer: buys = sells + 0.01
    x = limit_trades(d, np.inf, 0.01)[0]
    np.testing.assert_allclose(x, [0.03, -0.02], atol=1e-15)
    # cash below the buffer and nothing to sell: no buys at all
    x = limit_trades(np.array([[0.05, 0.0]]), np.inf, -0.01)[0]
    np.testing.assert_array_equal(x, [0.0, 0.0])
    # sell-only (net -inf): every wanted sell within the limit, no buy
    x = limit_trades(np.array([[0.05, -0.03, -0.01]]), 0.01, -np.inf)[0]
    np.testing.assert_allclose(x, [0.0, -0.02, 0.0], atol=1e-15)
