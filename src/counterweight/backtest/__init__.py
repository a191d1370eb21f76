"""counterweight.backtest: weighting rules through history, with drift, costs and membership.

Quick use::

    from counterweight.backtest import run_backtest, EqualWeight, CapWeight, Quarterly
    res = run_backtest(market, [CapWeight(), EqualWeight()], schedule=Quarterly(), cost_bps=5)
    res.returns  # daily net returns, one column per strategy
"""

from __future__ import annotations

from counterweight.backtest.engine import (
    BacktestResult,
    SimulationArrays,
    StrategyResult,
    backtest_caveats,
    index_fund_weights,
    next_day_basket,
    run_backtest,
    simulate,
    survivorship_caveat,
    trading_returns,
)
from counterweight.backtest.rules import (
    CappedCapWeight,
    CapWeight,
    EqualWeight,
    PolicyRule,
    WeightRule,
    parse_rule,
)
from counterweight.backtest.schedule import (
    Annually,
    DriftBands,
    Monthly,
    Never,
    OnDates,
    Quarterly,
    Schedule,
    parse_schedule,
)

__all__ = [
    "Annually",
    "BacktestResult",
    "CapWeight",
    "CappedCapWeight",
    "DriftBands",
    "EqualWeight",
    "Monthly",
    "Never",
    "OnDates",
    "PolicyRule",
    "Quarterly",
    "Schedule",
    "SimulationArrays",
    "StrategyResult",
    "WeightRule",
    "backtest_caveats",
    "index_fund_weights",
    "next_day_basket",
    "parse_rule",
    "parse_schedule",
    "run_backtest",
    "simulate",
    "survivorship_caveat",
    "trading_returns",
]
