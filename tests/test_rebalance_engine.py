"""Holdings -> trades: lots whole, cash never negative, limits met, restrictions honoured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterweight.construct.rules import GroupLimit, IssuerLimit
from counterweight.data.holdings import Holdings
from counterweight.errors import ConfigError, InputError
from counterweight.rebalance import TradeRules, rebalance, rebalance_arrays
from counterweight.rebalance.compliance import pre_trade_check, violations

TICKERS = ["AAPL", "MSFT", "NVDA", "XOM", "JPM", "KO"]
PRICES = pd.Series([210.5, 415.2, 120.3, 110.7, 245.9, 61.4], index=TICKERS)


def book(rows: list[tuple[str, str, float]], cash: dict[str, float] | None = None) -> Holdings:
    recs = [{"account": a, "ticker": t, "shares": s} for a, t, s in rows]
    for a, c in (cash or {}).items():
        recs.append({"account": a, "ticker": "CASH", "shares": c})
    return Holdings.from_frame(pd.DataFrame(recs))


def random_book(rng: np.random.Generator, accounts: int) -> Holdings:
    rows = []
    cash = {}
    for i in range(accounts):
        for t in TICKERS:
            if rng.random() < 0.7:
                rows.append((f"acct{i}", t, float(rng.integers(0, 400))))
        cash[f"acct{i}"] = float(rng.random() * 20_000)
    return book(rows, cash)


def test_fractional_unconstrained_hits_target_exactly() -> None:
    h = book([("a", "AAPL", 100), ("a", "XOM", 50)], {"a": 10_000})
    target = pd.Series({"AAPL": 0.5, "MSFT": 0.3, "NVDA": 0.2})
    res = rebalance(h, target, prices=PRICES, rules=TradeRules(lot=0, cash_buffer=0.01))
    value = 100 * PRICES["AAPL"] + 50 * PRICES["XOM"] + 10_000
    # closed form: shares after = 0.99 * target * value / price
    after = res.weights_after.loc["a"]
    np.testing.assert_allclose(after[target.index], 0.99 * target, atol=1e-12)
    assert after["XOM"] == 0.0
    assert res.summary.loc["a", "cash_after"] == pytest.approx(0.01 * value, rel=1e-9)
    assert res.summary.loc["a", "value"] == pytest.approx(value)
    # XOM sold in full, exactly
    xom = res.trades.set_index("ticker").loc["XOM"]
    assert xom["shares"] == -50 and xom["side"] == "SELL"


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    turnover=st.one_of(st.none(), st.floats(0.0, 0.5)),
    buffer=st.floats(0.0, 0.1),
    min_trade=st.sampled_from([0.0, 500.0, 5_000.0]),
    lot=st.sampled_from([1.0, 0.0, 10.0]),
)
def test_invariants_on_random_books(
    seed: int, turnover: float | None, buffer: float, min_trade: float, lot: float
) -> None:
    rng = np.random.default_rng(seed)
    h = random_book(rng, 5)
    raw = rng.random(len(TICKERS))
    target = pd.Series(raw / raw.sum(), index=TICKERS)
    rules = TradeRules(turnover=turnover, cash_buffer=buffer, min_trade=min_trade, lot=lot)
    res = rebalance(h, target, prices=PRICES, rules=rules)
    s = res.summary
    # cash never negative; never below the buffer unless it started below and stays >= start
    assert (s["cash_after"] >= -1e-9).all()
    # (1e-6 USD: floating noise of sums of notionals, far below a cent)
    ok = (s["cash_after"] >= buffer * s["value"] - 1e-6) | (
        s["cash_after"] >= s["cash_before"] - 1e-6
    )
    assert ok.all()
    if turnover is not None:
        assert (s["turnover"] <= turnover + 1e-12).all()
    tr = res.trades
    if len(tr):
        assert (tr["notional"].abs() >= min_trade - 1e-9).all()
        held = h.positions.set_index(["account", "ticker"])["shares"]
        key = pd.MultiIndex.from_frame(tr[["account", "ticker"]])
        have = held.reindex(key).fillna(0.0).to_numpy()
        assert (tr["shares"] >= -have - 1e-9).all()  # no sell beyond the holding
        if lot > 0:
            full = np.isclose(tr["shares"], -have)
            units = tr["shares"][~full] / lot
            np.testing.assert_array_equal(units, np.round(units))
        # weights after reconcile with shares and prices
        for _, row in tr.iterrows():
            assert row["notional"] == pytest.approx(row["shares"] * row["price"])


def test_restricted_lists_and_modes() -> None:
    h = book([("a", "AAPL", 200), ("a", "XOM", 300), ("a", "KO", 100)], {"a": 50_000})
    target = pd.Series({"MSFT": 0.4, "NVDA": 0.3, "JPM": 0.3})
    rules = TradeRules(
        no_buy=frozenset({"NVDA"}), no_sell=frozenset({"XOM"}), hold=frozenset({"KO"})
    )
    tr = rebalance(h, target, prices=PRICES, rules=rules).trades.set_index("ticker")
    assert "NVDA" not in tr.index and "XOM" not in tr.index and "KO" not in tr.index
    assert tr.loc["AAPL", "side"] == "SELL" and tr.loc["MSFT", "side"] == "BUY"
    sell_only = rebalance(h, target, prices=PRICES, rules=TradeRules(mode="sell_only")).trades
    assert (sell_only["side"] == "SELL").all() and len(sell_only) == 3
    buy_only = rebalance(h, target, prices=PRICES, rules=TradeRules(mode="buy_only"))
    assert (buy_only.trades["side"] == "BUY").all()
    # buy-only can spend only the cash it has
    assert buy_only.summary.loc["a", "cash_after"] >= 0
    assert buy_only.trades["notional"].sum() <= 50_000


def test_many_accounts_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(11)
    h = random_book(rng, 8)
    target = pd.Series([0.3, 0.2, 0.2, 0.1, 0.1, 0.1], index=TICKERS)
    rules = TradeRules(turnover=0.1, cash_buffer=0.02, min_trade=1_000)
    together = rebalance(h, target, prices=PRICES, rules=rules)
    lists = together.trade_lists()
    assert set(lists) == set(h.accounts)
    for account in h.accounts:
        pos = h.positions[h.positions["account"] == account]
        one = Holdings(pos.reset_index(drop=True), h.cash.loc[[account]])
        alone = rebalance(one, target, prices=PRICES, rules=rules).trades
        pd.testing.assert_frame_equal(
            lists[account].drop(columns="account").reset_index(drop=True),
            alone.drop(columns="account").reset_index(drop=True),
        )


def test_turnover_limit_binds_before_rounding() -> None:
    """Fractional shares, no other limit: the executed turnover equals the limit to 1e-12."""
    rng = np.random.default_rng(5)
    a, u = 50, 30
    shares = rng.integers(0, 300, size=(a, u)).astype(float)
    prices = rng.uniform(10, 500, size=u)
    cash = rng.uniform(0, 5_000, size=a)
    raw = rng.random(u)
    res = rebalance_arrays(shares, prices, cash, raw / raw.sum(), turnover=0.05, lot=0.0)
    executed = 0.5 * np.abs(res.notional).sum(axis=1) / res.value
    np.testing.assert_allclose(res.turnover_limited, 0.05, atol=1e-12)
    assert np.all(executed <= 0.05 + 1e-12)
    whole = rebalance_arrays(shares, prices, cash, raw / raw.sum(), turnover=0.05, lot=1.0)
    assert np.all(0.5 * np.abs(whole.notional).sum(axis=1) / whole.value <= 0.05 + 1e-12)
    assert np.all(whole.cash_after >= 0)


def test_compliance_catches_a_constructed_violation() -> None:
    h = book([("a", "AAPL", 10)], {"a": 100_000})
    target = pd.Series({"AAPL": 0.3, "MSFT": 0.3, "NVDA": 0.4})
    res = rebalance(h, target, prices=PRICES, rules=TradeRules(lot=0))
    sec = pd.DataFrame({"issuer": ["Apple", "Microsoft", "Nvidia"]}, index=["AAPL", "MSFT", "NVDA"])
    rules = [IssuerLimit(0.25), GroupLimit("Mag 7", ("Apple", "Microsoft", "Nvidia"), max=0.9)]
    report = pre_trade_check(res, sec, rules)
    bad = violations(report)
    assert len(bad) == 2
    single = bad[bad["rule"] == "single issuer"].iloc[0]
    assert "Nvidia 40.00%" in single["detail"] and "Microsoft 30.00%" in single["detail"]
    assert "Apple 30.00%" in single["detail"]
    # before the trades the account was almost all cash: no violation then
    assert report[report["stage"] == "before"]["passed"].all()
    # the RIC preset by name works too
    assert not violations(pre_trade_check(res, sec, "ric")).empty


def test_errors_are_clear() -> None:
    h = book([("a", "ZZZZ", 10)])
    with pytest.raises(InputError, match="no price for held ZZZZ"):
        rebalance(h, pd.Series({"AAPL": 1.0}), prices=PRICES)
    with pytest.raises(InputError, match="sum to"):
        rebalance(book([("a", "AAPL", 1)]), pd.Series({"AAPL": 0.8, "MSFT": 0.5}), prices=PRICES)
    with pytest.raises(ConfigError, match="cash_buffer"):
        TradeRules(cash_buffer=1.5)


def test_rounding_leftover_is_spent_by_rounding_to_the_nearest_share() -> None:
    """Whole shares: every buy is its exact size rounded down or, cash permitting, to the
    nearest share, never further up; the cash left cannot buy any rounding-up not taken."""
    rng = np.random.default_rng(2)
    u = 60
    prices = rng.uniform(20, 900, size=u)
    raw = rng.random(u)
    res = rebalance_arrays(
        np.zeros((3, u)), prices, np.array([50_000.0, 250_000.0, 1e6]), raw / raw.sum()
    )
    assert np.all(res.cash_after >= 0)
    exact = raw / raw.sum() * res.value[:, None] / prices
    base = np.floor(exact)
    up = res.shares == base + 1
    assert np.all((res.shares == base) | up)
    assert np.all(exact[up] - base[up] >= 0.5)  # rounded up only when that is the nearest
    skipped = (res.shares == base) & (exact - base >= 0.5)
    for a in range(3):  # maximal: no rounding-up not taken fits in the cash left
        assert np.all(prices[skipped[a]] > res.cash_after[a])
    np.testing.assert_allclose(res.cash_parts.sum(axis=1), res.cash_after, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    mode=st.sampled_from(["both", "sell_only", "buy_only"]),
    no_buy=st.sets(st.sampled_from(TICKERS), max_size=3),
    no_sell=st.sets(st.sampled_from(TICKERS), max_size=3),
    hold=st.sets(st.sampled_from(TICKERS), max_size=2),
    turnover=st.one_of(st.none(), st.floats(0.0, 0.3)),
)
def test_restrictions_hold_on_random_books(
    seed: int,
    mode: str,
    no_buy: set[str],
    no_sell: set[str],
    hold: set[str],
    turnover: float | None,
) -> None:
    rng = np.random.default_rng(seed)
    h = random_book(rng, 4)
    raw = rng.random(len(TICKERS))
    target = pd.Series(raw / raw.sum(), index=TICKERS)
    rules = TradeRules(
        turnover=turnover,
        no_buy=frozenset(no_buy),
        no_sell=frozenset(no_sell),
        hold=frozenset(hold),
        mode=mode,  # type: ignore[arg-type]
        cash_buffer=0.02,
    )
    res = rebalance(h, target, prices=PRICES, rules=rules)
    tr = res.trades
    buys, sells = tr[tr["side"] == "BUY"], tr[tr["side"] == "SELL"]
    assert not buys["ticker"].isin(no_buy | hold).any()
    assert not sells["ticker"].isin(no_sell | hold).any()
    if mode == "sell_only":
        assert buys.empty
    if mode == "buy_only":
        assert sells.empty
    assert (res.summary["cash_after"] >= -1e-9).all()
    if turnover is not None:
        assert (res.summary["turnover"] <= turnover + 1e-12).all()
    # no wrong-way trade: buys only below target, sells only above it
    assert (buys["weight_before"] < buys["target_weight"]).all()
    assert (sells["weight_before"] > sells["target_weight"]).all()


def test_vectorised_compliance_equals_the_rules_own_check() -> None:
    """The all-accounts evaluation agrees with construct.rules.check account by account."""
    from counterweight.construct.rules import RIC, AggregateLimit, check
    from counterweight.rebalance.compliance import check_weights

    rng = np.random.default_rng(4)
    tick = [*TICKERS, "GOOG", "GOOGL"]
    sec = pd.DataFrame(
        {
            "issuer": [
                "Apple",
                "Microsoft",
                "Nvidia",
                "Exxon",
                "JPMorgan",
                "Coca-Cola",
                "Alphabet",
                "Alphabet",
            ]
        },
        index=tick,
    )
    w = rng.dirichlet(np.ones(len(tick)) * 0.5, size=40) * rng.uniform(0.8, 1.0, size=(40, 1))
    w[rng.random(w.shape) < 0.2] = 0.0
    frame = pd.DataFrame(w, index=[f"a{i}" for i in range(40)], columns=tick)
    rules = [
        *RIC,
        AggregateLimit(0.05, 0.4),
        GroupLimit("Mega", ("Apple", "Alphabet"), max=0.3, min=0.1),
        IssuerLimit(0.2),
    ]
    fast = check_weights(frame, sec, rules)
    slow = [
        (acc, r.name, r.passed, r.value, r.limit)
        for acc, row in frame.iterrows()
        for r in check(row[row != 0], sec, rules)
    ]
    assert len(fast) == len(slow)
    for (_, f), (acc, name, passed, value, limit) in zip(fast.iterrows(), slow, strict=True):
        assert (f["account"], f["rule"], bool(f["passed"])) == (acc, name, passed)
        assert f["value"] == pytest.approx(value, abs=1e-12)
        assert f["limit"] == pytest.approx(limit, abs=1e-15)
    assert (~fast["passed"]).sum() > 5  # the case exercises failures too
