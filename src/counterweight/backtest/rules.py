"""Weighting rules a backtest can follow: what the portfolio should hold at a rebalance.

A :class:`WeightRule` maps a market and rebalance positions (indices into its date axis) to a
(K, N) array of target weights over the market's tickers, using only data up to the close of
each position: the backtest trades to them at that close and they earn the next day's returns.
Targets are fractions summing to at most 1 (the remainder is held in cash); NaN means 0.

Built-ins: :class:`CapWeight`, :class:`EqualWeight` (one slot per company), :class:`CappedCapWeight`
(issuer-level cap with proportional redistribution, the kernel of
:mod:`counterweight.construct.capping`), and :class:`PolicyRule`, which adapts any construction
policy exposing ``target_weights(market, as_of) -> pd.Series`` (it sees the market sliced to
``as_of``). Only names that are index members with a price on the date can receive weight;
:func:`~counterweight.backtest.engine.run_backtest` hands the rules the market whose membership
on each date is the next day's basket (the one the trade at that close is for).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.market import Market
from counterweight.measure.leadership import company_equal_base


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
    """One equal slot per company: w_i = s_i / I over the I companies with an investable class.

    Share classes of one issuer (GOOG + GOOGL) split its slot, s_i, in proportion to their caps
    (equally when a class has no cap), as the S&P 500 Equal Weight Index (RSP's index) weights
    companies, not share lines (S&P U.S. Indices Methodology, S&P Equal Weight indices; S&P DJI,
    "S&P 500 Sectors: Equal-Weight and Cap-Weight Indices": "EW indices are equally weighted by
    companies, not by issues"). ``by_company=False`` gives every ticker its own 1/N slot.
    """

    name: str = "equal"
    by_company: bool = True

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.intp)
        held = investable(market, pos)
        if not self.by_company:
            return _normalise_rows(held.astype(np.float64))
        return _normalise_rows(company_equal_base(held, market.caps[pos], market.issuer_codes))


@dataclass(frozen=True)
class CapWeight:
    """w_i = cap_i / sum_j cap_j over investable members with a known market cap.

    Raises :class:`~counterweight.errors.DataUnavailableError` when a rebalance date has no
    investable member with a cap (a price-only store): cap weight needs caps, and an all-cash
    portfolio would print 0.00% for everything.
    """

    name: str = "cap"

    def targets(self, market: Market, positions: np.ndarray) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.intp)
        caps = market.caps[pos]
        can_hold = investable(market, pos)
        ok = can_hold & np.isfinite(caps) & (caps > 0)
        bare = ~ok.any(axis=1) & can_hold.any(axis=1)
        if bare.any():
            raise DataUnavailableError(_no_caps_message(market, int(pos[np.argmax(bare)])))
        return _normalise_rows(np.where(ok, caps, 0.0))


def _no_caps_message(market: Market, p: int) -> str:
    have = np.flatnonzero((market.members & np.isfinite(market.caps)).any(axis=1))
    if have.size == 0:
        return (
            "cap weight needs market caps, and this data has none "
            "(import caps, shares or fundamentals with market_cap)"
        )
    return (
        f"cap weight needs market caps: none for the members on {market.dates[p].date()} "
        f"(caps cover {market.dates[have[0]].date()} .. {market.dates[have[-1]].date()}; "
        "start the backtest there)"
    )


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
