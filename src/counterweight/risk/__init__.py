"""What could go wrong: shrinkage covariance, risk contributions by stock, issuer, group and
sector, tracking error and beta, parametric and historical stress scenarios."""

from counterweight.risk.contributions import RiskReport, compare, risk_report
from counterweight.risk.covariance import Covariance, ledoit_wolf, market_covariance
from counterweight.risk.stress import (
    HISTORICAL,
    Scenario,
    Shock,
    StressResult,
    conditional_moves,
    named_replay,
    parametric,
    parse_shock,
    replay,
    stress,
)

__all__ = [
    "HISTORICAL",
    "Covariance",
    "RiskReport",
    "Scenario",
    "Shock",
    "StressResult",
    "compare",
    "conditional_moves",
    "ledoit_wolf",
    "market_covariance",
    "named_replay",
    "parametric",
    "parse_shock",
    "replay",
    "risk_report",
    "stress",
]
