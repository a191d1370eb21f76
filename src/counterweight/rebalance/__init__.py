"""From holdings to trades: turnover-limited moves toward a target, lots, minimum trade,
cash buffer, restricted lists, pre-trade compliance, many accounts at once."""

from counterweight.rebalance.engine import (
    CASH_PARTS,
    Rebalance,
    TradeArrays,
    TradeRules,
    last_prices,
    rebalance,
    rebalance_arrays,
)
from counterweight.rebalance.turnover import (
    limit_trades,
    one_way_turnover,
    scale_trades,
    water_fill,
)

__all__ = [
    "CASH_PARTS",
    "Rebalance",
    "TradeArrays",
    "TradeRules",
    "last_prices",
    "limit_trades",
    "one_way_turnover",
    "rebalance",
    "rebalance_arrays",
    "scale_trades",
    "water_fill",
]
