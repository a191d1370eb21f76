"""Rebalancing on looked-through exposure: limits verified on the exposure after trading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from counterweight import load_sample
from counterweight.data.funds import default_library, embedded_holdings
from counterweight.data.holdings import Holdings
from counterweight.errors import ConfigError, InfeasibleError
from counterweight.exposure import FundResolver
from counterweight.groups import MAG7
from counterweight.market import Market
from counterweight.rebalance.lookthrough import policy_from_dict, rebalance_lookthrough

POLICY = {
    "limits": {
        "issuer_max": 0.05,
        "group": [{"name": "Mag 7", "max": 0.20}],
        "sector": [
            {
                "sectors": ["Information Technology", "Communication Services"],
                "relative_to_index": -0.10,
            }
        ],
    },
    "trades": {
        "allowed": ["SPY", "RSP", "NVDA", "AAPL", "QQQ", "XLK"],
        "buy": ["RSP"],
        "no_sell": ["SPY"],
        "min_trade": 100.0,
        "cash_buffer": 0.01,
        "cash_max": 0.02,
    },
}


@pytest.fixture(scope="module")
def sample() -> Market:
    return load_sample("daily")


@pytest.fixture(scope="module")
def resolver(sample: Market) -> FundResolver:
    return FundResolver(sample, default_library())


def _book(rows: list[tuple[str, str, float]], col: str = "shares") -> Holdings:
    return Holdings.from_frame(pd.DataFrame(rows, columns=["account", "ticker", col]))


BOOK = [
    ("A", "SPY", 100.0),
    ("A", "QQQ", 50.0),
    ("A", "XLK", 40.0),
    ("A", "NVDA", 30.0),
    ("A", "AAPL", 20.0),
    ("A", "CASH", 5000.0),
    ("B", "QQQ", 30.0),
    ("B", "SPY", 10.0),
    ("B", "CASH", 100.0),
]


def _independent_exposure(
    sample: Market, resolver: FundResolver, positions: pd.Series, cash: float
) -> pd.Series:
    """Issuer weights of a book from a pandas merge of positions and fund lines (no H)."""
    day = sample.dates[-1]
    px = {
        t: float(sample.benchmarks[t].iloc[-1]) for t in positions.index if t in sample.benchmarks
    }
    px.update(
        {
            t: float(sample.prices_frame().loc[day, t])
            for t in positions.index
            if t in sample.tickers
        }
    )
    value = positions * pd.Series(px)
    total = float(value.sum()) + cash
    parts = []
    for t, v in value.items():
        if t in sample.tickers:
            parts.append(pd.DataFrame({"ticker": [t], "usd": [v]}))
        else:
            w = resolver.look(str(t), day).weights
            parts.append(pd.DataFrame({"ticker": w.index, "usd": v * w.to_numpy()}))
    lines = pd.concat(parts)
    tk = lines["ticker"].astype(str).to_numpy()
    sec = sample.securities["issuer"]
    iss = np.array([str(sec[t]) if t in sec.index else t for t in tk], dtype=object)
    return lines.groupby(iss)["usd"].sum() / total


def test_a_rebalance_meets_the_caps_on_the_looked_through_book(
    sample: Market, resolver: FundResolver
) -> None:
    res = rebalance_lookthrough(_book(BOOK), sample, resolver, policy_from_dict(POLICY))
    assert res.passed and set(res.checks["account"]) == {"A", "B"}
    assert res.checks.loc[res.checks["limit"] == "Mag 7", "before"].min() > 0.20  # it had to act
    # only allowed instruments traded; SPY never sold; RSP bought
    assert set(res.trades["ticker"]) <= set(POLICY["trades"]["allowed"])  # type: ignore[arg-type]
    spy = res.trades[res.trades["ticker"] == "SPY"]
    assert (spy["shares"] >= 0).all()
    assert (res.trades["value"].abs() >= 100.0 - 1e-9).all()  # minimum trade
    comp = res.compliance[res.compliance["account"] == "A"].set_index("rule")
    ea = res.exposure_after.loc["A"][res.matrix.columns["kind"] == "issuer"]
    assert comp.loc["RIC: single issuer <= 25%", "after"] == pytest.approx(
        float(ea.max()), abs=1e-15
    )
    assert bool(comp.loc["UCITS: single issuer <= 10%", "passed"])  # 5% cap met => UCITS 10% met
    assert res.book["before"].sum() == pytest.approx(1.0, abs=1e-12)
    assert res.book["after"].sum() == pytest.approx(1.0, abs=1e-12)
    for acct, shares in (
        ("A", {"SPY": 100, "QQQ": 50, "XLK": 40, "NVDA": 30, "AAPL": 20}),
        ("B", {"QQQ": 30, "SPY": 10}),
    ):
        pos = pd.Series(shares, dtype=float)
        t = res.trades[res.trades["account"] == acct].set_index("ticker")
        after = pos.add(t["shares"], fill_value=0.0)
        after = after[after > 0]
        cash0 = 5000.0 if acct == "A" else 100.0
        cash1 = cash0 - float(t["value"].sum())
        w = _independent_exposure(sample, resolver, after, cash1)
        mag = sample.securities["issuer"].reindex(list(MAG7.tickers)).unique()
        assert float(w.reindex(mag).fillna(0).sum()) <= 0.20 + 1e-9
        assert float(w.max()) <= 0.05 + 1e-9
        # the engine's own after-exposure agrees with the independent one
        ours = res.exposure_after.loc[acct]
        ours = ours[res.matrix.columns["kind"] == "issuer"]
        ours = ours[ours > 0]
        np.testing.assert_allclose(
            ours.sort_index().to_numpy(),
            w.sort_index().reindex(ours.sort_index().index).to_numpy(),
            atol=1e-12,
        )
        assert cash1 >= 0


def test_closed_form_single_stock_into_an_equal_weight_fund(
    sample: Market, resolver: FundResolver
) -> None:
    """All in AAPL, cap 5%, only RSP to buy: y_AAPL = (0.05 - a) / (1 - a), a = Apple in RSP."""
    day = sample.dates[-1]
    px = float(sample.prices_frame().loc[day, "AAPL"])
    book = _book([("A", "AAPL", 1_000_000.0 / px)])
    pol = policy_from_dict(
        {
            "limits": {"issuer_max": 0.05},
            "trades": {"buy": ["RSP"], "lots": "fractional", "cash_max": 0.0},
        }
    )
    res = rebalance_lookthrough(book, sample, resolver, pol)
    rsp = resolver.look("RSP", day).weights
    a = float(rsp[["AAPL"]].sum())
    expected = (0.05 - a) / (1 - a)
    after = res.trades.set_index("ticker")["weight_after"]
    assert after["AAPL"] == pytest.approx(expected, abs=1e-6)
    assert after["RSP"] == pytest.approx(1 - expected, abs=1e-6)


def test_infeasible_in_words_a_fund_that_may_not_be_sold(
    sample: Market, resolver: FundResolver
) -> None:
    book = _book(
        [("X", "QQQ", 40_000.0), ("X", "SPY", 50_000.0), ("X", "CASH", 10_000.0)],
        col="market_value",
    )
    (qqq,) = [h for h in embedded_holdings() if h.fund == "QQQ"]
    mag_in_qqq = float(qqq.equity.reindex(list(MAG7.tickers)).fillna(0).sum())
    pol = policy_from_dict(
        {
            "limits": {"group": [{"name": "Mag 7", "max": 0.10}]},
            "trades": {"allowed": ["SPY", "RSP"], "buy": ["RSP"]},
        }
    )
    with pytest.raises(InfeasibleError) as ei:
        rebalance_lookthrough(book, sample, resolver, pol)
    msg = str(ei.value)
    assert (
        f"holding 40.0% in QQQ (not in the allowed list) alone puts Mag 7 at {100 * 0.4 * mag_in_qqq:.1f}% of the book"
        in msg
    )
    assert "above the 10.0% limit" in msg


def test_infeasible_in_words_the_turnover_binds(sample: Market, resolver: FundResolver) -> None:
    book = _book([("X", "QQQ", 40_000.0), ("X", "SPY", 60_000.0)], col="market_value")
    pol = policy_from_dict(
        {
            "limits": {"group": [{"name": "Mag 7", "max": 0.20}]},
            "trades": {"turnover": 0.01, "buy": ["RSP"]},
        }
    )
    with pytest.raises(
        InfeasibleError,
        match=r"with one-way turnover at most 1.0%, Mag 7 can be brought down to \d+\.\d% at best \(limit 20.0%\)",
    ):
        rebalance_lookthrough(book, sample, resolver, pol)


def test_restricted_never_bought_and_policy_errors(sample: Market, resolver: FundResolver) -> None:
    trades = {**POLICY["trades"], "restricted": ["RSP"], "buy": ["RSP", "XLK"]}  # type: ignore[dict-item]
    # with RSP restricted and cash at most 2%, the proceeds have nowhere to go: said in words
    with pytest.raises(
        InfeasibleError, match=r"cash at most 2.0%, Mag 7 can be brought down to \d+\.\d% at best"
    ):
        rebalance_lookthrough(
            _book(BOOK), sample, resolver, policy_from_dict({**POLICY, "trades": trades})
        )
    trades["cash_max"] = None
    res = rebalance_lookthrough(
        _book(BOOK), sample, resolver, policy_from_dict({**POLICY, "trades": trades})
    )
    assert (res.trades.loc[res.trades["ticker"] == "RSP", "shares"] <= 0).all()
    assert res.passed
    with pytest.raises(ConfigError, match=r"limits\.issuer_max"):
        policy_from_dict({"limits": {"issuer_max": 2}})
    with pytest.raises(ConfigError, match=r"trades\.bogus"):
        policy_from_dict({"trades": {"bogus": 1}})
