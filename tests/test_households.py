"""Tax-aware household rebalance: tax per lot, holding-period boundary, gain budget (property
test and LP optimum), wash sales across accounts and runs, taxes off == today's rebalance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterweight.data.holdings import Holdings
from counterweight.data.lots import accounts_from_frame, lots_from_frame
from counterweight.errors import ConfigError
from counterweight.rebalance import TradeRules, rebalance
from counterweight.rebalance.households import rebalance_households
from counterweight.rebalance.tax import (
    TaxSettings,
    is_long_term,
    load_tax,
    lot_tax,
    open_wash_windows,
    record_wash_windows,
    wash_blocked,
)

DAY = "2026-03-01"


def tax(**kw: object) -> TaxSettings:
    base: dict[str, object] = dict(
        short_term_rate=0.37, long_term_rate=0.20, state_rate=0.05, trade_date=DAY
    )
    base.update(kw)
    return TaxSettings.model_validate(base)


def book(rows: list[tuple], accounts: list[tuple]):
    lots = lots_from_frame(
        pd.DataFrame(
            rows, columns=["account", "ticker", "lot", "shares", "cost_basis", "acquired", "price"]
        ).astype(str)
    )
    acc = accounts_from_frame(
        pd.DataFrame(accounts, columns=["account", "household", "type", "cash"]).astype(str)
    )
    return lots, acc


# --------------------------------------------------------------------------- tax per lot
def test_holding_period_boundary_irc_1222() -> None:
    # bought 2025-03-01: held "more than 1 year" only from 2026-03-02
    acq = np.array(["2025-03-01", "2025-03-01", "2024-02-29", "2024-02-29"], dtype="datetime64[ns]")
    sold = np.array(
        ["2026-03-01", "2026-03-02", "2025-02-28", "2025-03-01"], dtype="datetime64[ns]"
    )
    assert is_long_term(acq, sold).tolist() == [False, True, False, True]


def test_tax_per_lot_hand_computed() -> None:
    s = tax()
    gain, t = lot_tax(
        np.array([10.0, 10.0, 4.0, 5.0]),
        np.array([150.0, 150.0, 80.0, 150.0]),
        np.array([100.0, 100.0, 100.0, 100.0]),
        np.array([False, True, True, True]),
        np.array([True, True, True, False]),
        s,
    )
    # 10 x 50 = 500 at 37% + 5%; at 20% + 5%; 4 x -20 = -80 at 25%; IRA: nothing
    assert gain.tolist() == [500.0, 500.0, -80.0, 0.0]
    assert t == pytest.approx([210.0, 125.0, -20.0, 0.0], abs=1e-12)


def test_household_trades_tax_matches_hand_computation() -> None:
    # one taxable account: NVDA 2 lots, target 0 NVDA / 100% AAPL; no budget
    lots, acc = book(
        [
            ("T", "NVDA", "old", 10, 5, "2025-03-01", 100),  # sold 2026-03-01: short-term
            ("T", "NVDA", "new", 10, 120, "2025-06-01", 100),  # loss, short-term
            ("T", "AAPL", "x", 1, 100, "2020-01-01", 100),
        ],
        [("T", "H", "taxable", 0)],
    )
    res = rebalance_households(lots, acc, pd.Series({"AAPL": 1.0}), settings=tax())
    sells = res.trades[res.trades["side"] == "SELL"].set_index("lot_id")
    assert sells.loc["old", "term"] == "short" and sells.loc["new", "term"] == "short"
    assert sells.loc["old", "gain"] == pytest.approx(10 * 95)
    assert sells.loc["new", "gain"] == pytest.approx(10 * -20)
    assert sells.loc["old", "tax"] == pytest.approx(950 * 0.42)
    s = res.summary.loc["H"]
    assert s["short_term_gains"] == pytest.approx(950) and s["short_term_losses"] == pytest.approx(
        -200
    )
    assert s["estimated_tax"] == pytest.approx((950 - 200) * 0.42)
    # the next day the old lot is long-term
    res2 = rebalance_households(
        lots, acc, pd.Series({"AAPL": 1.0}), settings=tax(trade_date="2026-03-02")
    )
    old = res2.trades.set_index("lot_id").loc["old"]
    assert old["term"] == "long" and old["tax"] == pytest.approx(950 * 0.25)


def test_lot_order_least_tax_per_dollar_first_and_fifo() -> None:
    rows = [
        ("T", "NVDA", "a", 10, 10, "2020-01-01", 100),  # long, big gain
        ("T", "NVDA", "b", 10, 90, "2026-01-01", 100),  # short, small gain: 10/100*.42=.042
        ("T", "NVDA", "c", 10, 110, "2025-12-01", 100),  # loss
        ("T", "NVDA", "d", 10, 60, "2023-01-01", 100),  # long, 40/100*.25=.10
    ]
    lots, acc = book(rows, [("T", "H", "taxable", 0)])
    # sell 20 of 40 NVDA shares: target NVDA half
    tgt = pd.Series({"NVDA": 0.5, "AAPL": 0.5})
    px = pd.Series({"AAPL": 100.0})

    def sold(**kw: object) -> list[str]:
        r = rebalance_households(lots, acc, tgt, prices=px, settings=tax(**kw))
        return sorted(r.trades.loc[r.trades["side"] == "SELL", "lot_id"])

    assert sold() == ["b", "c"]
    assert sold(lot_order="fifo") == ["a", "d"]
    assert sold(lot_order="lifo") == ["b", "c"]
    assert sold(lot_order="hifo") == ["b", "c"]
    assert sold(lot_order="specific") == ["a", "b"]


# --------------------------------------------------------------------------- asset location
def test_overweight_trimmed_inside_the_ira_first() -> None:
    lots, acc = book(
        [
            ("T", "NVDA", "a", 100, 5, "2020-01-01", 100),
            ("T", "MSFT", "b", 100, 100, "2020-01-01", 100),
            ("I", "NVDA", "c", 50, 5, "2020-01-01", 100),
            ("I", "MSFT", "d", 50, 100, "2020-01-01", 100),
        ],
        [("T", "H", "taxable", 0), ("I", "H", "IRA", 0)],
    )
    # household 15k NVDA / 15k MSFT -> target 40% NVDA: sell 3k NVDA, all in the IRA
    r = rebalance_households(lots, acc, pd.Series({"NVDA": 0.4, "MSFT": 0.6}), settings=tax())
    sells = r.trades[r.trades["side"] == "SELL"]
    assert set(sells["account"]) == {"I"} and sells["shares"].sum() == -30
    assert r.summary.loc["H", "estimated_tax"] == 0.0
    assert r.summary.loc["H", "distance_after"] == pytest.approx(0.0, abs=1e-12)
    # taxes off: each account trades toward the target itself, the taxable one too
    off = rebalance_households(lots, acc, pd.Series({"NVDA": 0.4, "MSFT": 0.6}))
    assert set(off.trades.loc[off.trades["side"] == "SELL", "account"]) == {"I", "T"}


# --------------------------------------------------------------------------- taxes off
def _random_book(rng: np.random.Generator, n_acc: int, n_tk: int):
    tickers = [f"T{i}" for i in range(n_tk)]
    rows, accs = [], []
    for a in range(n_acc):
        accs.append(
            (
                f"A{a}",
                f"H{a // 2}",
                ["taxable", "IRA", "Roth"][a % 3],
                round(rng.uniform(0, 5000), 2),
            )
        )
        for t in rng.choice(tickers, size=rng.integers(1, n_tk + 1), replace=False):
            for k in range(rng.integers(1, 4)):
                rows.append(
                    (
                        f"A{a}",
                        t,
                        f"{t}-{k}",
                        int(rng.integers(1, 200)),
                        round(rng.uniform(1, 300), 2),
                        "2024-01-02",
                        0,
                    )
                )
    px = {t: round(rng.uniform(5, 400), 2) for t in tickers}
    rows = [(*r[:6], px[r[1]]) for r in rows]
    w = rng.dirichlet(np.ones(n_tk)) * 0.97
    return rows, accs, pd.Series(w, index=tickers), pd.Series(px)


@pytest.mark.parametrize("seed", range(6))
def test_taxes_off_equals_todays_rebalance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, accs, tgt, px = _random_book(rng, 7, 6)
    lots, acc = book(rows, accs)
    rules = TradeRules(
        turnover=[None, 0.1][seed % 2],
        min_trade=[0, 250][seed % 2],
        lot=[1, 0][seed % 3 == 2],
        cash_buffer=0.01,
        no_buy=frozenset({"T1"}) if seed == 3 else frozenset(),
    )
    mine = rebalance_households(lots, acc, tgt, prices=px, rules=rules)
    pos = lots.lots.groupby(["account", "ticker"], as_index=False)["shares"].sum()
    hold = Holdings(
        positions=pos.assign(price=np.nan, market_value=np.nan),
        cash=acc.table["cash"].rename("cash"),
    )
    ref = rebalance(hold, tgt, prices=px, rules=rules)
    a = mine.positions.set_index(["account", "ticker"])["shares"].sort_index()
    b = ref.trades.set_index(["account", "ticker"])["shares"].sort_index()
    pd.testing.assert_series_equal(a, b, check_exact=True)
    # every lot sale sums to its position's sale
    lot_sum = mine.trades.groupby(["account", "ticker"])["shares"].sum().sort_index()
    pd.testing.assert_series_equal(
        lot_sum, b, check_exact=False, rtol=0, atol=1e-9, check_names=False
    )
    assert (mine.summary["estimated_tax"] == 0).all()


# --------------------------------------------------------------------------- gain budget
@st.composite
def taxable_books(draw: st.DrawFn):
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        rows.append(
            (
                f"A{draw(st.integers(0, 2))}",
                draw(st.sampled_from(["NVDA", "MSFT", "AAPL"])),
                f"l{i}",
                draw(st.integers(1, 60)),
                draw(st.floats(1, 300)),
                draw(st.sampled_from(["2020-01-01", "2025-12-01", "2026-02-20"])),
                0,
            )
        )
    px = {"NVDA": 180.0, "MSFT": 400.0, "AAPL": 250.0, "XOM": 110.0}
    rows = [(*r[:6], px[r[1]]) for r in rows]
    accs = [
        (
            f"A{k}",
            "H" if k < 2 else "G",
            draw(st.sampled_from(["taxable", "taxable", "IRA"])),
            draw(st.integers(0, 3000)),
        )
        for k in range(3)
    ]
    budget = draw(st.floats(0, 20_000))
    realised = draw(st.floats(-5_000, 25_000))
    lot = draw(st.sampled_from([0.0, 1.0]))
    min_trade = draw(st.sampled_from([0.0, 500.0]))
    return rows, accs, budget, realised, lot, min_trade


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(taxable_books())
def test_gain_budget_never_exceeded(case) -> None:
    rows, accs, budget, realised, lot, min_trade = case
    lots, acc = book(rows, accs)
    s = tax(gain_budget=budget, realised=realised, harvest_losses=True)
    r = rebalance_households(
        lots,
        acc,
        pd.Series({"XOM": 0.6, "AAPL": 0.2}),
        rules=TradeRules(lot=lot, min_trade=min_trade),
        prices=pd.Series({"XOM": 110.0, "AAPL": 250.0}),
        settings=s,
    )
    room = max(budget - realised, 0.0)
    assert (r.summary["net_gain"] <= room + 1e-6).all()
    # gains are only realised in taxable accounts; no sell exceeds its lot
    sells = r.trades[r.trades["side"] == "SELL"]
    assert (sells.loc[sells["account_type"] != "taxable", "gain"] == 0).all()
    held = lots.lots.set_index(["account", "ticker", "lot_id"])["shares"]
    sold = -sells.set_index(["account", "ticker", "lot_id"])["shares"]
    assert (sold <= held.reindex(sold.index) + 1e-9).all()
    # cash never negative
    cash = acc.table["cash"].add(-r.positions.groupby("account")["notional"].sum(), fill_value=0)
    assert (cash >= -1e-6).all()


def test_budget_sells_the_most_dollars_for_the_gain_allowed() -> None:
    """Continuous case against scipy's LP: max dollars sold s.t. sum gain <= room."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(7)
    rows = [
        ("T", "NVDA", f"n{i}", 10, float(rng.uniform(20, 250)), "2020-01-01", 200.0)
        for i in range(6)
    ]
    rows += [
        ("T", "MSFT", f"m{i}", 10, float(rng.uniform(100, 450)), "2021-01-01", 400.0)
        for i in range(6)
    ]
    lots, acc = book(rows, [("T", "H", "taxable", 0)])
    room = 3000.0
    r = rebalance_households(
        lots,
        acc,
        pd.Series({"XOM": 1.0}),
        prices=pd.Series({"XOM": 100.0}),
        rules=TradeRules(lot=0),
        settings=tax(gain_budget=room),
    )
    lf = lots.lots
    g = (lf["price"] - lf["basis"]).to_numpy()
    lp = linprog(
        -lf["price"].to_numpy(),
        A_ub=[g],
        b_ub=[room],
        bounds=list(zip([0] * len(g), lf["shares"], strict=True)),
    )
    sold = -r.trades.loc[r.trades["side"] == "SELL", "notional"].sum()
    assert sold == pytest.approx(-lp.fun, rel=1e-9)
    assert r.summary.loc["H", "net_gain"] == pytest.approx(room, rel=1e-9)
    assert r.summary.loc["H", "sells_undone"] > 0 and r.summary.loc["H", "distance_after"] > 0


# --------------------------------------------------------------------------- wash sales
def test_wash_window_days() -> None:
    assert wash_blocked("2026-03-31", ["2026-03-01"])  # 30 days after
    assert not wash_blocked("2026-04-01", ["2026-03-01"])  # 31 days after
    assert wash_blocked("2026-01-30", ["2026-03-01"])  # 30 days before
    assert not wash_blocked("2026-03-01", [])


def _wash_book():
    return book(
        [
            ("T", "XOM", "loss", 100, 150, "2024-01-01", 100),  # loss, overweight in taxable
            ("T", "AAPL", "x", 10, 100, "2020-01-01", 100),
            ("I", "AAPL", "y", 100, 100, "2020-01-01", 100),  # IRA holds no XOM
        ],
        [("T", "H", "taxable", 0), ("I", "H", "IRA", 0)],
    )


def test_no_buy_in_the_ira_of_a_ticker_sold_at_a_loss() -> None:
    lots, acc = _wash_book()
    tgt = pd.Series({"XOM": 0.3, "AAPL": 0.7})
    off = rebalance_households(lots, acc, tgt, settings=tax(asset_location=False))
    t = off.trades
    # the taxable account sells XOM at a loss; the IRA may not buy XOM
    assert ((t["ticker"] == "XOM") & (t["side"] == "SELL") & (t["gain"] < 0)).any()
    assert not ((t["ticker"] == "XOM") & (t["side"] == "BUY")).any()
    # without the wash-sale rule the IRA would buy it
    nowash = rebalance_households(
        lots, acc, tgt, settings=tax(asset_location=False, wash_sales=False)
    )
    assert (
        (nowash.trades["ticker"] == "XOM")
        & (nowash.trades["side"] == "BUY")
        & (nowash.trades["account"] == "I")
    ).any()


def test_wash_window_carried_across_runs_in_the_store(tmp_path: Path) -> None:
    from counterweight.data.store import Store

    lots, acc = _wash_book()
    tgt = pd.Series({"AAPL": 1.0})
    first = rebalance_households(lots, acc, tgt, settings=tax())
    with Store(tmp_path / "s.duckdb") as store:
        assert record_wash_windows(store, first.trades, DAY) >= 1
        assert record_wash_windows(store, first.trades, DAY) >= 1  # idempotent
        n = store.con.execute(
            "SELECT count(*) FROM wash_sale_windows WHERE kind='loss_sale'"
        ).fetchone()
        assert n == (1,)
    lots2, acc2 = book(
        [("T", "AAPL", "x", 100, 100, "2020-01-01", 100)],
        [("T", "H", "taxable", 1000), ("I", "H", "Roth", 0)],
    )
    for day, allowed in (("2026-03-11", False), ("2026-03-31", False), ("2026-04-01", True)):
        with Store(tmp_path / "s.duckdb", read_only=True) as store:
            win = open_wash_windows(store, day)
        r = rebalance_households(
            lots2,
            acc2,
            pd.Series({"XOM": 0.5, "AAPL": 0.5}),
            prices=pd.Series({"XOM": 100.0}),
            settings=tax(trade_date=day),
            windows=win,
        )
        bought = ((r.trades["ticker"] == "XOM") & (r.trades["side"] == "BUY")).any()
        assert bought == allowed, day


def test_recent_buy_blocks_a_loss_sale() -> None:
    lots, acc = book(
        [
            ("T", "XOM", "old", 100, 150, "2024-01-01", 100),
            ("I", "XOM", "recent", 10, 100, "2026-02-15", 100),  # bought 14 days ago in the IRA
        ],
        [("T", "H", "taxable", 0), ("I", "H", "IRA", 0)],
    )
    r = rebalance_households(
        lots, acc, pd.Series({"AAPL": 1.0}), prices=pd.Series({"AAPL": 10.0}), settings=tax()
    )
    assert not ((r.trades["account"] == "T") & (r.trades["side"] == "SELL")).any()
    assert r.summary.loc["H", "sells_undone"] > 0


def test_harvest_with_sector_peer_and_user_map(tiny_market) -> None:
    lots, acc = book(
        [
            ("T", "CC-A", "l", 100, 10, "2025-01-01", 6.05),
            ("T", "BBB", "b", 10, 10, "2020-01-01", 19.8),
        ],
        [("T", "H", "taxable", 0)],
    )
    tgt = pd.Series({"CC-A": 0.5, "BBB": 0.3})  # CC-A (605) is at/over its target
    prices = pd.Series({"AAA": 13.31, "BBB": 19.8, "CC-A": 6.05, "CC-B": 6.05})
    r = rebalance_households(
        lots,
        acc,
        pd.Series({"CC-A": 0.7, "BBB": 0.3}) * 0 + tgt,
        prices=prices,
        settings=tax(harvest_losses=True),
        securities=tiny_market.securities,
    )
    h = r.trades[r.trades["reason"] != "rebalance"]
    # CC-B is the same issuer (C Co): never the replacement; no other Energy name -> skipped
    assert "CC-B" not in set(h["ticker"])
    r = rebalance_households(
        lots,
        acc,
        tgt,
        prices=prices,
        settings=tax(harvest_losses=True, replacements={"CC-A": "AAA"}),
        securities=tiny_market.securities,
    )
    h = r.trades[r.trades["reason"] != "rebalance"].set_index("reason")
    assert h.loc["harvest", "ticker"] == "CC-A" and h.loc["harvest", "gain"] < 0
    assert h.loc["replacement", "ticker"] == "AAA"


# --------------------------------------------------------------------------- settings
def test_tax_toml_validated(tmp_path: Path) -> None:
    p = tmp_path / "tax.toml"
    p.write_text(
        "[tax]\nshort_term_rate = 0.37\nlong_term_rate = 0.2\ngain_budget = 10000\n[tax.households.H1]\ngain_budget = 5000\nrealised = 1200\n"
    )
    s = load_tax(p)
    assert s.budget("H1") == (5000.0, 1200.0) and s.budget("other") == (10000.0, 0.0)
    p.write_text("short_term_rate = 1.5\nlong_term_rate = 0.2\n")
    with pytest.raises(ConfigError, match="short_term_rate"):
        load_tax(p)
    p.write_text("short_term_rate = 0.3\nlong_term_rate = 0.2\nlot_order = 'random'\n")
    with pytest.raises(ConfigError, match="lot_order"):
        load_tax(p)
    p.write_text("short_term_rate = 0.3\nlong_term_rate = 0.2\nbudget = 3\n")
    with pytest.raises(ConfigError, match="budget"):
        load_tax(p)


def test_harvest_respects_restricted_lists(tiny_market) -> None:
    lots, acc = book(
        [
            ("T", "CC-A", "l", 100, 10, "2025-01-01", 6.05),
            ("T", "BBB", "b", 10, 10, "2020-01-01", 19.8),
        ],
        [("T", "H", "taxable", 0)],
    )
    tgt = pd.Series({"CC-A": 0.5, "BBB": 0.3})
    prices = pd.Series({"AAA": 13.31, "BBB": 19.8, "CC-A": 6.05, "CC-B": 6.05})
    s = tax(harvest_losses=True, replacements={"CC-A": "AAA"})
    for rules in (TradeRules(no_sell=frozenset({"CC-A"})), TradeRules(no_buy=frozenset({"AAA"}))):
        r = rebalance_households(
            lots,
            acc,
            tgt,
            prices=prices,
            settings=s,
            rules=rules,
            securities=tiny_market.securities,
        )
        assert not (r.trades["reason"] == "harvest").any()
        assert not ((r.trades["ticker"] == "AAA") & (r.trades["side"] == "BUY")).any()
