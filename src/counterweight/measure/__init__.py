"""Pure measures over a Market or labelled weights: concentration, leadership, valuation, ...

The most used names are re-exported here; each module documents its formulas and units
(fractions throughout). Other measure modules (breadth, dispersion, performance) are imported
from their own modules so that importing this package stays light.
"""

from counterweight.measure.concentration import (
    ConcentrationHistory,
    concentration_history,
    effective_n,
    hhi,
    portfolio_concentration,
    top_holdings,
    top_n_shares,
)
from counterweight.measure.history import HistoryReading, versus_history
from counterweight.measure.leadership import (
    Attribution,
    GroupBreadth,
    Window,
    WindowLike,
    as_window,
    attribution,
    contributions_by,
    group_breadth,
    group_daily_returns,
    resolve_window,
    sector_daily_returns,
    window_returns,
)
from counterweight.measure.valuation import (
    earnings_gap,
    group_valuation,
    valuation_at,
    valuation_history,
    valuation_overview,
)

__all__ = [
    "Attribution",
    "ConcentrationHistory",
    "GroupBreadth",
    "HistoryReading",
    "Window",
    "WindowLike",
    "as_window",
    "attribution",
    "concentration_history",
    "contributions_by",
    "earnings_gap",
    "effective_n",
    "group_breadth",
    "group_daily_returns",
    "group_valuation",
    "hhi",
    "portfolio_concentration",
    "resolve_window",
    "sector_daily_returns",
    "top_holdings",
    "top_n_shares",
    "valuation_at",
    "valuation_history",
    "valuation_overview",
    "versus_history",
    "window_returns",
]
