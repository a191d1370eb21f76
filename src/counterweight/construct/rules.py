"""Fund diversification rules as checks: US RIC 25/50, UCITS 5/10/40, and any issuer/group limit.

Rules are evaluated on *issuer* weights (share classes of one company add up): weights by
ticker are summed through the security master's ``issuer`` column first.

* US RIC (Internal Revenue Code s.851(b)(3), quarter-end asset diversification test, equity
  part): at most 25% in any one issuer, and the issuers above 5% together at most 50%
  (equivalently at least 50% of assets in issuers each below 5%).
* UCITS (Directive 2009/65/EC, Article 52(1)-(2), the "5/10/40" rule): at most 10% in one
  issuer, and the issuers above 5% together at most 40%.

A check never changes weights; :mod:`counterweight.construct.methodology` enforces the same
rules as constraints. Weights are fractions; a rule passes when the value is at most the limit
plus 1e-12 (floating-point slack).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError
from counterweight.market import Market

TOL = 1e-12


@dataclass(frozen=True)
class RuleCheck:
    """Result of one rule: ``value`` against ``limit`` (fractions) and the offenders in words."""

    name: str
    passed: bool
    value: float
    limit: float
    detail: str


class Rule(Protocol):
    """Anything with a name that evaluates issuer weights into a :class:`RuleCheck`."""

    @property
    def name(self) -> str: ...

    def evaluate(self, issuer_weights: pd.Series) -> RuleCheck: ...


def _fmt(x: float) -> str:
    return f"{100 * x:.2f}%"


def _list(s: pd.Series, k: int = 6) -> str:
    items = [f"{i} {_fmt(float(v))}" for i, v in s.sort_values(ascending=False).items()]
    more = f" and {len(items) - k} more" if len(items) > k else ""
    return ", ".join(items[:k]) + more


@dataclass(frozen=True)
class IssuerLimit:
    """No issuer above ``limit``: max_I w_I <= limit."""

    limit: float
    name: str = "single issuer"

    def evaluate(self, issuer_weights: pd.Series) -> RuleCheck:
        w = issuer_weights.dropna()
        top = float(w.max()) if len(w) else 0.0
        over = w[w > self.limit + TOL]
        detail = (
            f"largest issuer {w.idxmax()} at {_fmt(top)} (limit {_fmt(self.limit)})"
            if over.empty and len(w)
            else f"above {_fmt(self.limit)}: {_list(over)}"
        )
        return RuleCheck(self.name, over.empty, top, self.limit, detail)


@dataclass(frozen=True)
class AggregateLimit:
    """Issuers above ``threshold`` together at most ``limit``: sum_{w_I > threshold} w_I <= limit.

    'Above' ignores floating-point rounding (w_I > threshold + 1e-12).
    """

    threshold: float
    limit: float
    name: str = "large issuers together"

    def evaluate(self, issuer_weights: pd.Series) -> RuleCheck:
        w = issuer_weights.dropna()
        big = w[w > self.threshold + TOL]
        total = float(big.sum())
        passed = total <= self.limit + TOL
        names = _list(big) if len(big) else "none"
        detail = (
            f"{len(big)} issuers above {_fmt(self.threshold)} hold {_fmt(total)} "
            f"(limit {_fmt(self.limit)}): {names}"
        )
        return RuleCheck(self.name, passed, total, self.limit, detail)


@dataclass(frozen=True)
class GroupLimit:
    """A named set of issuers held between ``min`` and ``max`` in total."""

    group: str
    issuers: tuple[str, ...]
    max: float = 1.0
    min: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.group} bounds"

    def evaluate(self, issuer_weights: pd.Series) -> RuleCheck:
        w = issuer_weights.dropna()
        total = float(w[w.index.isin(self.issuers)].sum())
        passed = self.min - TOL <= total <= self.max + TOL
        limit = self.max if total > self.max + TOL or self.min == 0 else self.min
        detail = f"{self.group} holds {_fmt(total)} (bounds {_fmt(self.min)}..{_fmt(self.max)})"
        return RuleCheck(self.name, passed, total, limit, detail)


RIC: tuple[Rule, ...] = (
    IssuerLimit(0.25, name="RIC: single issuer <= 25%"),
    AggregateLimit(0.05, 0.50, name="RIC: issuers > 5% together <= 50%"),
)
UCITS: tuple[Rule, ...] = (
    IssuerLimit(0.10, name="UCITS: single issuer <= 10%"),
    AggregateLimit(0.05, 0.40, name="UCITS: issuers > 5% together <= 40%"),
)
PRESETS: dict[str, tuple[Rule, ...]] = {"ric": RIC, "ucits": UCITS}


def preset(name: str) -> tuple[Rule, ...]:
    """The rules of a named preset ('ric' or 'ucits')."""
    key = name.strip().lower()
    if key not in PRESETS:
        raise ConfigError(f"unknown rule set '{name}' (known: {', '.join(PRESETS)})")
    return PRESETS[key]


def issuer_weights(weights: pd.Series, securities: pd.DataFrame) -> pd.Series:
    """Sum ticker weights into issuer weights via ``securities['issuer']`` (unknown: the ticker)."""
    w = weights.dropna()
    if "issuer" in securities.columns:
        iss = securities["issuer"].reindex(w.index)
    else:
        iss = pd.Series(np.nan, index=w.index)
    iss = iss.astype(object).where(iss.notna(), pd.Series(w.index, index=w.index))
    out = w.groupby(iss.astype(str).to_numpy(), sort=False).sum()
    out.index.name = "issuer"
    return out


def check(
    weights: pd.Series,
    market_or_securities: Market | pd.DataFrame,
    rules: Sequence[Rule] | str | Iterable[str],
) -> list[RuleCheck]:
    """Evaluate ``rules`` on ticker ``weights`` aggregated to issuers.

    ``rules``: rule objects, a preset name ('ric', 'ucits') or several names.
    Returns one :class:`RuleCheck` per rule, in order.
    """
    sec = (
        market_or_securities.securities
        if isinstance(market_or_securities, Market)
        else market_or_securities
    )
    if isinstance(rules, str):
        resolved: list[Rule] = list(preset(rules))
    else:
        resolved = []
        for r in rules:
            if isinstance(r, str):
                resolved.extend(preset(r))
            else:
                resolved.append(r)
    iw = issuer_weights(weights, sec)
    return [r.evaluate(iw) for r in resolved]
