"""Weighting rules a backtest can follow: what the portfolio should hold at a rebalance.

A :class:`WeightRule` maps a market and rebalance positions (indices into its date axis) to a
(K, N) array of target weights over the market's tickers, using only data up to the close of
each position: the backtest trades to them at that close and they earn the next day's returns.
Targets are fractions summing to at most 1 (the remainder is held in cash); NaN means 0.

Built-ins: :class:`CapWeight`, :class:`EqualWeight`, :class:`CappedCapWeight` (issuer-level
cap with proportional redistribution, the kernel of :mod:`counterweight.construct.capping`), and
:class:`PolicyRule`, which adapts any construction policy exposing
``target_weights(market, as_of) -> pd.Series`` (it sees the market sliced to ``as_of``).
Only names that are index members with a price on the date can receive weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from counterweight.errors import ConfigError
from counterweight.market import Market


@runtime_checkable
class WeightRule(Protocol):
    """Target weights at rebalance positions, from data up to each position's close."""

    @property
    def name(self) -> str:
        """Label of this object in tables and charts."""
        ...

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        """(len(positions), N) target weights, fractions summing to <= 1."""
        ...


def investable(market: Market, positions: np.ndarray) -> np.ndarray:
    """(K, N) mask of names that can be held at those closes: members with a finite price."""
    pos = np.asarray(positions, dtype=np.intp)
    return market.members[pos] & np.isfinite(market.prices[pos])


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, x / total, 0.0)
    return np.asarray(out)


@dataclass(frozen=True)
class EqualWeight:
    """w_i = 1 / n over the n investable members (each share class is a separate name, as RSP)."""

    name: str = "equal"

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        return _normalise_rows(investable(market, positions).astype(np.float64))


@dataclass(frozen=True)
class CapWeight:
    """w_i = cap_i / sum_j cap_j over investable members with a known market cap."""

    name: str = "cap"

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.intp)
        caps = market.caps[pos]
        ok = investable(market, pos) & np.isfinite(caps) & (caps > 0)
        return _normalise_rows(np.where(ok, caps, 0.0))


@dataclass(frozen=True)
class CappedCapWeight:
    """Cap weight with every issuer capped at ``cap`` and the excess redistributed pro rata.

    w = argmin sum (w_i - b_i)^2 / b_i s.t. sum w = 1, issuer totals <= cap (b: cap weights);
    each issuer's weight is split over its share classes in proportion to their caps.
    """

    cap: float = 0.05
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.cap <= 1:
            raise ConfigError(f"cap must be a fraction in (0, 1], got {self.cap}")
        if not self.name:
            object.__setattr__(self, "name", f"cap-weight capped {100 * self.cap:g}%")

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        from counterweight.construct.capping import cap_weights

        base = CapWeight().targets(market, positions)
        codes = market.issuer_codes
        out = np.zeros_like(base)
        for k in range(base.shape[0]):
            row = base[k]
            live = row > 0
            if not live.any():
                continue
            out[k, live] = cap_weights(row[live], self.cap, issuer_codes=_dense(codes[live]))
        return out


def _dense(codes: np.ndarray) -> np.ndarray:
    """Renumber issuer codes 0..m-1 (the capping kernel counts issuers from the largest code)."""
    _, inv = np.unique(codes, return_inverse=True)
    return inv.astype(np.intp)


@dataclass(frozen=True)
class PolicyRule:
    """Adapter for a construction policy: ``policy.target_weights(market, as_of) -> Series``.

    The policy sees the market sliced to the rebalance date, so it cannot look ahead; tickers it
    returns that the market lacks are an error, missing tickers get 0.
    """

    policy: Any
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            label = getattr(self.policy, "name", None) or type(self.policy).__name__
            object.__setattr__(self, "name", str(label))

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.intp)
        out = np.zeros((pos.size, len(market.tickers)))
        for k, p in enumerate(pos):
            as_of = market.dates[p]
            w = self.policy.target_weights(market.slice(end=as_of), as_of)
            unknown = w.index.difference(market.tickers)
            if len(unknown):
                raise ConfigError(
                    f"policy '{self.name}' returned tickers not in the market: "
                    f"{', '.join(map(str, unknown[:5]))}"
                )
            out[k] = w.reindex(market.tickers).fillna(0.0).to_numpy(dtype=np.float64)
        return out


def parse_rule(spec: str) -> WeightRule:
    """A rule from a short spec: ``cap``, ``equal``, ``capped:0.05`` (issuer cap 5%), or the
    path of a policy TOML file (loaded by ``counterweight.construct.policy.load_policy``)."""
    s = spec.strip()
    low = s.lower()
    if low in ("cap", "cap-weight", "capweight"):
        return CapWeight()
    if low in ("equal", "equal-weight", "equalweight", "ew"):
        return EqualWeight()
    if low.startswith("capped"):
        _, _, val = low.partition(":")
        try:
            cap = float(val) if val else 0.05
        except ValueError:
            raise ConfigError(f"policy '{spec}': cap '{val}' is not a number") from None
        return CappedCapWeight(cap=cap, name=s if val else "")
    if low.endswith(".toml"):
        try:
            from counterweight.construct.policy import load_policy
        except ImportError:  # pragma: no cover - construct.policy ships with the package
            raise ConfigError("policy files need counterweight.construct.policy") from None
        return PolicyRule(load_policy(s))
    raise ConfigError(
        f"unknown policy '{spec}' (use cap, equal, capped:0.05 or a policy .toml file)"
    )
