"""Before vs after a rebalance: risk, stress and compliance of the book, in one object.

The book is all accounts together, value-weighted: w_book = sum_a V_a w_a / sum_a V_a
(cash is the remainder). The CLI and the HTML section only render a :class:`RebalanceReview`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from counterweight.construct.rules import Rule
from counterweight.groups import MAG7, Group
from counterweight.market import Market
from counterweight.rebalance.compliance import pre_trade_check, violations
from counterweight.rebalance.engine import Rebalance
from counterweight.risk.contributions import RiskReport, compare, risk_report
from counterweight.risk.covariance import market_covariance
from counterweight.risk.stress import Scenario, StressResult, stress


def book_weights(result: Rebalance) -> tuple[pd.Series, pd.Series]:
    """(before, after) value-weighted weights of all accounts together, by ticker."""
    v = result.summary["value"]
    total = float(v.sum())
    if total <= 0:
        empty = pd.Series(dtype=float)
        return empty, empty
    before = result.weights_before.mul(v, axis=0).sum() / total
    after = result.weights_after.mul(v, axis=0).sum() / total
    return before[before != 0], after[after != 0]


@dataclass(frozen=True)
class RebalanceReview:
    """Risk (before, after, comparison), stress results and the compliance report of a rebalance."""

    result: Rebalance
    risk_before: RiskReport | None
    risk_after: RiskReport | None
    risk_change: pd.DataFrame
    stress: list[StressResult] = field(default_factory=list)
    compliance: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    @property
    def violations(self) -> pd.DataFrame:
        return violations(self.compliance) if len(self.compliance) else self.compliance


def review(
    result: Rebalance,
    market: Market,
    *,
    rules: Sequence[Rule] | str | None = None,
    scenarios: Sequence[Scenario] = (),
    benchmark: pd.Series | None = None,
    groups: Sequence[Group] = (MAG7,),
    as_of: str | pd.Timestamp | None = None,
    window: int = 252,
    with_risk: bool = True,
) -> RebalanceReview:
    """Risk of the book before and after (Ledoit-Wolf on ``window`` days to ``as_of``),
    P&L of each scenario before and after, and the rules checked per account."""
    before, after = book_weights(result)
    notes: list[str] = []
    bench = market.cap_weights(as_of) if benchmark is None else benchmark
    rb = ra = None
    change = pd.DataFrame()
    if with_risk and len(before) + len(after):
        names = sorted(set(before.index) | set(after.index) | set(bench.index))
        known = [t for t in names if t in market.tickers]
        unknown = [t for t in names if t not in market.tickers]
        if unknown:
            notes.append(f"no return history for {', '.join(unknown[:10])}: left out of risk")
        cov = market_covariance(market, as_of=as_of, window=window, tickers=known)
        keep = set(cov.tickers)
        dropped = [t for t in set(before.index) | set(after.index) if t in known and t not in keep]
        if dropped:
            notes.append(
                f"{len(dropped)} held names lack {window}-day history and are left out of risk: "
                + ", ".join(sorted(dropped)[:10])
            )
        rb = risk_report(
            before[before.index.isin(list(keep))],
            cov,
            benchmark=bench,
            securities=market.securities,
            groups=groups,
        )
        ra = risk_report(
            after[after.index.isin(list(keep))],
            cov,
            benchmark=bench,
            securities=market.securities,
            groups=groups,
        )
        change = compare(rb, ra)
    results = [
        stress(sc, {"before": before, "after": after}, securities=market.securities, groups=groups)
        for sc in scenarios
    ]
    comp = pre_trade_check(result, market.securities, rules) if rules else pd.DataFrame()
    return RebalanceReview(result, rb, ra, change, results, comp, tuple(notes))
