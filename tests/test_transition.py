"""Multi-year transition: hand-computed path under a yearly gain budget, with drift."""

from __future__ import annotations

import pandas as pd
import pytest

from counterweight.data.lots import accounts_from_frame, lots_from_frame
from counterweight.rebalance import TradeRules
from counterweight.rebalance.tax import TaxSettings
from counterweight.rebalance.transition import plan_transition


def _book(extra_ira: bool = False):
    rows = [("T", "NVDA", "a", "100", "50", "2020-01-01")]
    accs = [("T", "H", "taxable", "0")]
    if extra_ira:
        rows.append(("I", "XOM", "b", "10", "100", "2020-01-01"))
        accs.append(("I", "H", "IRA", "0"))
    lots = lots_from_frame(
        pd.DataFrame(rows, columns=["account", "ticker", "lot", "shares", "cost_basis", "acquired"])
    )
    acc = accounts_from_frame(pd.DataFrame(accs, columns=["account", "household", "type", "cash"]))
    return lots, acc


S = TaxSettings(short_term_rate=0.37, long_term_rate=0.20, state_rate=0.05, trade_date="2026-01-05")
PX = pd.Series({"NVDA": 100.0, "XOM": 100.0})
TGT = pd.Series({"NVDA": 0.2, "XOM": 0.8})


def test_four_years_at_1000_a_year() -> None:
    # 10,000 USD of NVDA with 50 USD gain a share: 20 shares a year fit a 1,000 USD budget
    lots, acc = _book()
    tr = plan_transition(
        lots,
        acc,
        TGT,
        household="H",
        group=["NVDA"],
        limit=0.2,
        budget=1000,
        prices=PX,
        settings=S,
        rules=TradeRules(lot=1),
    )
    assert tr.reached == 4
    p = tr.path
    assert p["group_weight_after"].tolist() == pytest.approx([0.8, 0.6, 0.4, 0.2])
    assert p["net_gain"].tolist() == pytest.approx([1000.0] * 4)
    assert p["estimated_tax"].tolist() == pytest.approx([250.0] * 4)  # long-term 20% + 5%
    assert (p["net_gain"] <= 1000 + 1e-9).all()
    assert "no price change" in tr.assumptions[0]
    assert list(tr.trades["year"].unique()) == [1, 2, 3, 4]


def test_budget_large_reaches_in_one_year_and_zero_never() -> None:
    lots, acc = _book()
    assert (
        plan_transition(
            lots,
            acc,
            TGT,
            household="H",
            group=["NVDA"],
            limit=0.2,
            budget=1e9,
            prices=PX,
            settings=S,
        ).reached
        == 1
    )
    tr = plan_transition(
        lots,
        acc,
        TGT,
        household="H",
        group=["NVDA"],
        limit=0.2,
        budget=0,
        prices=PX,
        settings=S,
        max_years=3,
    )
    assert tr.reached is None and tr.path["sells"].sum() == 0


def test_drift_slows_the_path() -> None:
    lots, acc = _book()
    flat = plan_transition(
        lots, acc, TGT, household="H", group=["NVDA"], limit=0.2, budget=1000, prices=PX, settings=S
    )
    up = plan_transition(
        lots,
        acc,
        TGT,
        household="H",
        group=["NVDA"],
        limit=0.2,
        budget=1000,
        prices=PX,
        settings=S,
        returns=pd.Series({"NVDA": 0.3, "XOM": 0.0}),
    )
    assert up.reached is None or up.reached > flat.reached
    assert "drift" in up.assumptions[0]
