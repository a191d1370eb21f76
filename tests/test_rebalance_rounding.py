"""Minimum trade and whole shares: a trade under the minimum is dropped, never rounded up;
rounding up goes to the nearest share only; the cash left is stated with its causes.

References: a brute-force enumeration of every admissible share vector (small books), the
exact fractional solution of the same book (rounding is checked against it name by name), and
the reported case of a $235k account buying one NVR share against a 0.03% target.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.data.holdings import Holdings
from counterweight.rebalance import CASH_PARTS, TradeRules, rebalance, rebalance_arrays


def _admissible(exact: float, price: float, min_trade: float) -> list[float]:
    """Share counts a buy of ``exact`` shares may end as, by the documented rule."""
    if exact <= 0 or exact * price < min_trade:
        return [0.0]
    base = float(np.floor(exact))
    out = [0.0]
    if base > 0 and base * price >= min_trade:
        out.append(base)
    if exact - base >= 0.5 and (base + 1) * price >= min_trade:
        out.append(base + 1)
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(2, 6),
    min_trade=st.sampled_from([0.0, 300.0, 2_000.0]),
    buffer=st.sampled_from([0.0, 0.02]),
)
def test_whole_share_buys_against_brute_force(
    seed: int, n: int, min_trade: float, buffer: float
) -> None:
    """A cash-only account: the result is one of the admissible vectors, keeps every trade that
    rounding down keeps, and is maximal (no admissible rounding-up not taken fits the cash)."""
    rng = np.random.default_rng(seed)
    prices = rng.choice([35.0, 180.0, 950.0, 3_100.0, 6_181.0], size=n) * rng.uniform(0.9, 1.1, n)
    raw = rng.random(n) ** 3 + 1e-3
    target = raw / raw.sum() * rng.uniform(0.8, 1.0)
    cash = float(rng.uniform(5_000, 60_000))
    res = rebalance_arrays(
        np.zeros((1, n)),
        prices,
        np.array([cash]),
        target,
        min_trade=min_trade,
        cash_buffer=buffer,
    )
    q = res.shares[0]
    invest = min(target.sum(), 1 - buffer)
    exact = target / target.sum() * invest * cash / prices
    options = [_admissible(e, p, min_trade) for e, p in zip(exact, prices, strict=True)]
    budget = cash - buffer * cash
    feasible = [
        np.array(v)
        for v in itertools.product(*options)
        if float(np.dot(v, prices)) <= budget + 1e-6
    ]
    assert any(np.array_equal(q, v) for v in feasible), (q, options)
    for i, e in enumerate(exact):
        if e * prices[i] < min_trade:
            assert q[i] == 0  # under the minimum: dropped, never rounded up
        assert q[i] - e <= e - np.floor(e) + 1e-9  # never beyond the nearest share
        base = np.floor(e)
        if base > 0 and base * prices[i] >= min_trade:
            assert q[i] >= base  # rounding down keeps it, so it is kept
    left = cash - float(np.dot(q, prices))
    assert res.cash_after[0] == pytest.approx(left)
    for i, opts in enumerate(options):
        better = [o for o in opts if o > q[i]]
        for o in better:  # maximal: any admissible upgrade costs more than the spare cash
            assert (o - q[i]) * prices[i] > left - buffer * cash - 1e-6
    np.testing.assert_allclose(res.cash_parts.sum(axis=1), res.cash_after, atol=1e-6)


TICKERS = ["A", "B", "C", "D", "E", "F"]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    turnover=st.one_of(st.none(), st.floats(0.02, 0.5)),
    min_trade=st.sampled_from([0.0, 250.0, 2_500.0]),
    lot=st.sampled_from([1.0, 10.0]),
)
def test_rounding_against_the_exact_solution(
    seed: int, turnover: float | None, min_trade: float, lot: float
) -> None:
    """Books with holdings: each final trade is the exact (fractional, no minimum) trade of the
    same book dropped, rounded toward zero, or (buys) rounded up to the nearest lot; trades
    whose exact size is under the minimum never happen."""
    rng = np.random.default_rng(seed)
    prices = rng.uniform(15, 4_000, size=len(TICKERS))
    shares = rng.integers(0, 120, size=(4, len(TICKERS))).astype(float)
    cash = rng.uniform(0, 40_000, size=4)
    raw = rng.random(len(TICKERS))
    target = raw / raw.sum()
    kw = {"turnover": turnover, "cash_buffer": 0.01}
    exact = rebalance_arrays(shares, prices, cash, target, lot=0.0, **kw).shares
    res = rebalance_arrays(shares, prices, cash, target, lot=lot, min_trade=min_trade, **kw)
    q = res.shares
    small = np.abs(exact * prices) < min_trade
    assert np.all(q[small] == 0)
    base = np.trunc(exact / lot) * lot
    full_sale = (exact < 0) & np.isclose(exact, -shares)
    buy = exact > 0
    ok_buy = (q >= 0) & ((q <= base + 1e-9) | ((q == base + lot) & (exact - base >= lot / 2)))
    ok_sell = (q <= 0) & ((q >= base - 1e-9) | full_sale)
    assert np.all(np.where(buy, ok_buy, True))
    assert np.all(np.where(exact < 0, ok_sell, True))
    assert np.all(np.where(exact == 0, q == 0, True))
    assert np.all(res.cash_after >= -1e-9)
    np.testing.assert_allclose(res.cash_parts.sum(axis=1), res.cash_after, atol=1e-6)


def test_reported_case_no_nvr_for_a_small_target() -> None:
    """$235k in cash, a cap-weight-like target, minimum trade $500: NVR (one share $6,181 against
    a 0.03% target, $73) and AZO are not bought; the cash left is explained."""
    tickers = ["NVDA", "AAPL", "MSFT", "NVR", "AZO", "KO"]
    prices = pd.Series([207.0, 305.5, 481.7, 6_181.0, 2_990.0, 70.1], index=tickers)
    target = pd.Series([0.45, 0.30, 0.2434, 0.0003, 0.0009, 0.0054], index=tickers)
    book = Holdings.from_frame(
        pd.DataFrame([{"account": "A", "ticker": "CASH", "shares": 235_000}])
    )
    res = rebalance(book, target, prices=prices, rules=TradeRules(min_trade=500, lot=1))
    bought = set(res.trades["ticker"])
    assert "NVR" not in bought and "AZO" not in bought
    # KO: 0.54% of $235k = $1,269 = 18.1 shares -> 18 (rounding down keeps it)
    ko = res.trades.set_index("ticker").loc["KO", "shares"]
    assert ko == 18
    over = res.trades["weight_after"] - res.trades["target_weight"]
    half_share = 0.5 * res.trades["price"] / 235_000
    assert (over <= half_share + 1e-12).all()
    parts = res.cash_parts.loc["A"]
    assert list(parts.index) == list(CASH_PARTS)
    assert parts.sum() == pytest.approx(res.summary.loc["A", "cash_after"], abs=1e-6)
    # NVR and AZO exact buys ($70.5 and $211.5) are the minimum-trade part
    assert parts["min_trade"] == pytest.approx(235_000 * (0.0003 + 0.0009), rel=1e-9)
    assert res.summary.loc["A", "dropped_min_trade"] == 2


def test_sample_account_with_min_trade() -> None:
    """On the embedded sample: a $235k cash account toward the cap-weighted index with a $500
    minimum buys no name whose exact trade is under $500, and no weight ends above its target
    by more than half a share."""
    import counterweight as cw
    from counterweight.rebalance import last_prices

    m = cw.load_sample()
    target = m.cap_weights()
    target = target[target > 0]
    book = Holdings.from_frame(
        pd.DataFrame([{"account": "A", "ticker": "CASH", "shares": 235_000}])
    )
    res = rebalance(
        book, target, prices=last_prices(m.prices_frame()), rules=TradeRules(min_trade=500)
    )
    tr = res.trades
    assert (tr["target_weight"] * 235_000 >= 500 - 1e-6).all()
    assert ((tr["weight_after"] - tr["target_weight"]) * 235_000 <= 0.5 * tr["price"] + 1e-6).all()
    s = res.summary.loc["A"]
    parts = res.cash_parts.loc["A"]
    assert parts.sum() == pytest.approx(s["cash_after"], abs=1e-6)
    px = last_prices(m.prices_frame()).reindex(target.index)
    exact = target * 235_000 / px
    small = target * 235_000 < 500
    # exact size at least $500 but under it once rounded down, and not rounded up
    rounded_under = ~small & (np.floor(exact) * px < 500) & ~exact.index.isin(tr["ticker"])
    assert s["dropped_min_trade"] == small.sum() + rounded_under.sum()
    # a dropped trade counts whole: its exact size, target x value
    assert parts["min_trade"] == pytest.approx(
        float(target[small | rounded_under].sum()) * 235_000, rel=1e-9
    )
