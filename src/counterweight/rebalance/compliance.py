"""Pre-trade compliance: the post-trade portfolio of every account checked against rules.

Rules are those of :mod:`counterweight.construct.rules` (RIC 25/50, UCITS 5/10/40, issuer and
group limits, or a policy's own rules), evaluated on issuer weights: share classes of one
company add up. Weights are fractions of the account's value including cash, so cash dilutes.
A violation names the account, the rule, its value and limit, and the issuers involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import pandas as pd

from counterweight.construct.rules import Rule, check
from counterweight.rebalance.engine import Rebalance

COLUMNS = ["account", "stage", "rule", "passed", "value", "limit", "detail"]


def check_weights(
    weights: pd.DataFrame,
    securities: pd.DataFrame,
    rules: Sequence[Rule] | str | Iterable[str],
    *,
    stage: str = "after",
) -> pd.DataFrame:
    """One row per (account, rule): ``weights`` is accounts x tickers (fractions)."""
    rows = []
    rule_list = cast("Sequence[Rule] | str", rules if isinstance(rules, str) else list(rules))
    for account, w in weights.iterrows():
        w = w[w != 0].dropna()
        for r in check(w, securities, rule_list):
            rows.append((str(account), stage, r.name, r.passed, r.value, r.limit, r.detail))
    return pd.DataFrame(rows, columns=COLUMNS)


def pre_trade_check(
    result: Rebalance,
    securities: pd.DataFrame,
    rules: Sequence[Rule] | str | Iterable[str],
) -> pd.DataFrame:
    """Rules checked before and after the trades of every account (see :func:`check_weights`).

    Read ``frame[~frame.passed & (frame.stage == 'after')]`` for the violations the trades
    would leave; a rule failing before and passing after is one the trades cure.
    """
    before = check_weights(result.weights_before, securities, rules, stage="before")
    after = check_weights(result.weights_after, securities, rules, stage="after")
    return pd.concat([before, after], ignore_index=True)


def violations(report: pd.DataFrame) -> pd.DataFrame:
    """The failing rules after the trades."""
    return report[(report["stage"] == "after") & ~report["passed"]].reset_index(drop=True)
