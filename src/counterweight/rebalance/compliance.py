"""Pre-trade compliance: the post-trade portfolio of every account checked against rules.

Rules are those of :mod:`counterweight.construct.rules` (RIC 25/50, UCITS 5/10/40, issuer and
group limits, or a policy's own rules), evaluated on issuer weights: share classes of one
company add up. Weights are fractions of the account's value including cash, so cash dilutes.
A violation names the account, the rule, its value and limit, and the issuers involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from counterweight.construct.rules import TOL, AggregateLimit, GroupLimit, IssuerLimit, Rule, preset
from counterweight.rebalance.engine import Rebalance

COLUMNS = ["account", "stage", "rule", "passed", "value", "limit", "detail"]


def _issuer_matrix(weights: pd.DataFrame, securities: pd.DataFrame) -> pd.DataFrame:
    """Accounts x issuers: ticker weights summed by ``securities['issuer']`` (unknown: ticker)."""
    cols = weights.columns
    iss = (
        securities["issuer"].reindex(cols)
        if "issuer" in securities.columns
        else pd.Series(index=cols)
    )
    iss = iss.astype(object).where(iss.notna(), pd.Series(cols, index=cols)).astype(str)
    codes, uniques = pd.factorize(iss.to_numpy())
    out = np.zeros((len(weights), len(uniques)))
    vals = np.nan_to_num(weights.to_numpy(dtype=float), nan=0.0)
    np.add.at(out.T, codes, vals.T)
    return pd.DataFrame(out, index=weights.index, columns=pd.Index(uniques, name="issuer"))


def _vector_rule(
    rule: Rule, iw: np.ndarray, issuers: pd.Index
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(value, passed, limit) per account for the known rule types; None for others."""
    held = iw != 0
    if isinstance(rule, IssuerLimit):
        value = np.where(held, iw, -np.inf).max(axis=1, initial=-np.inf)
        value = np.where(np.isfinite(value), value, 0.0)
        passed = ~(held & (iw > rule.limit + TOL)).any(axis=1)
        return value, passed, np.full(len(iw), rule.limit)
    if isinstance(rule, AggregateLimit):
        big = held & (iw > rule.threshold + TOL)
        value = np.where(big, iw, 0.0).sum(axis=1)
        return value, value <= rule.limit + TOL, np.full(len(iw), rule.limit)
    if isinstance(rule, GroupLimit):
        mask = issuers.isin(list(rule.issuers))
        value = np.where(held[:, mask], iw[:, mask], 0.0).sum(axis=1)
        passed = (rule.min - TOL <= value) & (value <= rule.max + TOL)
        limit = np.where((value > rule.max + TOL) | (rule.min == 0), rule.max, rule.min)
        return value, passed, limit
    return None


def _resolve(rules: Sequence[Rule] | str | Iterable[str]) -> list[Rule]:
    if isinstance(rules, str):
        return list(preset(rules))
    out: list[Rule] = []
    for r in rules:
        out.extend(preset(r) if isinstance(r, str) else [r])
    return out


def check_weights(
    weights: pd.DataFrame,
    securities: pd.DataFrame,
    rules: Sequence[Rule] | str | Iterable[str],
    *,
    stage: str = "after",
) -> pd.DataFrame:
    """One row per (account, rule): ``weights`` is accounts x tickers (fractions).

    Issuer, aggregate and group limits are evaluated for all accounts at once; a failing
    account (and any other rule type) goes through the rule's own ``evaluate`` for the wording
    that names the issuers involved.
    """
    rule_list = _resolve(rules)
    iw_frame = _issuer_matrix(weights, securities)
    iw = iw_frame.to_numpy()
    accounts = [str(a) for a in weights.index]
    frames = []
    for rule in rule_list:
        vec = _vector_rule(rule, iw, iw_frame.columns)
        if vec is None:
            value = np.zeros(len(iw))
            passed = np.ones(len(iw), dtype=bool)
            limit = np.zeros(len(iw))
            slow = np.ones(len(iw), dtype=bool)
        else:
            value, passed, limit = vec
            slow = ~passed
        detail = np.array(
            [f"{v:.2%} (limit {lim:.2%})" for v, lim in zip(value, limit, strict=True)],
            dtype=object,
        )
        for i in np.flatnonzero(slow):
            row = iw_frame.iloc[i]
            res = rule.evaluate(row[row != 0])
            value[i], passed[i], limit[i], detail[i] = res.value, res.passed, res.limit, res.detail
        frames.append(
            pd.DataFrame(
                {
                    "account": accounts,
                    "stage": stage,
                    "rule": rule.name,
                    "passed": passed.astype(bool),
                    "value": value,
                    "limit": limit,
                    "detail": detail,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    order = np.argsort(np.tile(np.arange(len(accounts)), len(frames)), kind="stable")
    return out.iloc[order].reset_index(drop=True)[COLUMNS]


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
