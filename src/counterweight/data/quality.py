"""Suspicious prints in price panels: one-day spikes that reverse, split-like jumps, extreme jumps.

Real price files carry bad prints (a single wrong close) and unadjusted splits. Either turns
into returns of hundreds of percent that dominate every equal-weighted measure and backtest.
:func:`detect_bad_prints` is a pure function of a (dates x tickers) price frame; it works on
log moves between consecutive *observed* prices of each ticker,

    d_t = ln(P_t / P_prev(t)),

and flags the print at ``t`` as

* ``spike``: ``|d_t| >= ln(spike_factor)`` and the next move reverses it, ``d_{t+1}`` of the
  opposite sign with ``|d_{t+1}| >= reversal * |d_t|`` (a wrong print that the next
  close undoes);
* ``split``: ``exp(|d_t|)`` within ``split_tolerance`` (relative) of a split ratio
  (2, 3, 4, 5, 8, 10, ...; up or down) and the new level persists: the next ``split_persist``
  observed prices stay closer to ``P_t`` than to ``P_prev`` in log terms (an unadjusted split);
* ``jump``: ``|d_t| >= ln(extreme_factor)`` whatever follows (a move of x10 or /10 in one day
  is not a fact an adjusted-close file should contain without a look).

A genuine large move that does not reverse and is not near a split ratio is not flagged.

:func:`exclude_bad_prints` sets the flagged prices to NaN: since returns are never bridged
across a gap (:attr:`counterweight.market.Market.returns`), no return is computed into or out
of an excluded print.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BAD_PRINT_ACTIONS = ("exclude", "keep")
DEFAULT_BAD_PRINTS = "exclude"

FLAG_COLUMNS = ("ticker", "date", "flag", "price", "previous", "next", "move")


@dataclass(frozen=True)
class BadPrintRule:
    """Thresholds of :func:`detect_bad_prints` (factors are price ratios, not percent)."""

    spike_factor: float = 2.0
    reversal: float = 0.5
    split_ratios: tuple[float, ...] = (2, 3, 4, 5, 8, 10, 15, 20, 25, 30, 40, 50, 100)
    split_tolerance: float = 0.015
    split_persist: int = 5
    extreme_factor: float = 10.0

    def __post_init__(self) -> None:
        if not (self.spike_factor > 1 and np.isfinite(self.spike_factor)):
            raise ValueError("spike_factor must be a finite ratio > 1")
        if not 0 < self.reversal <= 1:
            raise ValueError("reversal must be in (0, 1]")
        if not 0 <= self.split_tolerance < 0.2:
            raise ValueError("split_tolerance must be in [0, 0.2)")
        if self.split_persist < 1:
            raise ValueError("split_persist must be >= 1")
        if not self.extreme_factor > 1:
            raise ValueError("extreme_factor must be > 1")


def _empty_flags() -> pd.DataFrame:
    cols = {c: pd.Series(dtype=object if c in ("ticker", "flag") else float) for c in FLAG_COLUMNS}
    cols["date"] = pd.Series(dtype="datetime64[ns]")
    return pd.DataFrame(cols)


def detect_bad_prints(prices: pd.DataFrame, rule: BadPrintRule | None = None) -> pd.DataFrame:
    """Flagged prints of a wide price frame (DatetimeIndex x ticker, NaN = no price).

    Returns one row per flag: ``ticker``, ``date``, ``flag`` (spike | split | jump), ``price``
    (the flagged print), ``previous`` and ``next`` (the neighbouring observed prices, NaN at an
    end) and ``move`` = price / previous - 1 (a fraction), sorted by ticker and date.
    """
    rule = rule or BadPrintRule()
    if prices.empty:
        return _empty_flags()
    p = prices.to_numpy(dtype=np.float64, copy=True)
    p[~(p > 0)] = np.nan  # non-positive prices are the importers' business; never logged here
    prev_p = pd.DataFrame(p).ffill().shift(1).to_numpy()  # previous observed price
    next_p = pd.DataFrame(p).bfill().shift(-1).to_numpy()  # next observed price
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = p / prev_p
        ratio = np.where(ratio < 1.0, 1.0 / ratio, ratio)  # exp(|d_t|), NaN without a move
        smallest = min(
            rule.spike_factor,
            rule.extreme_factor,
            min(rule.split_ratios) * (1.0 - rule.split_tolerance),
        )
        ti, tj = np.nonzero(ratio >= smallest)  # the few candidates; the rest is quiet
    order = np.lexsort((ti, tj))
    ti, tj = ti[order], tj[order]
    price, prev, nxt = p[ti, tj], prev_p[ti, tj], next_p[ti, tj]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(price / prev)
        nd = np.log(nxt / price)
        ad = np.abs(d)
        spike = (
            (ad >= np.log(rule.spike_factor))
            & (np.sign(nd) == -np.sign(d))
            & (np.abs(nd) >= rule.reversal * ad)
        )
        r = np.exp(ad)
        near = np.zeros(len(ti), dtype=bool)
        for k in rule.split_ratios:
            near |= np.abs(r / k - 1.0) <= rule.split_tolerance
    near &= ~spike
    split = np.zeros(len(ti), dtype=bool)
    for c in np.flatnonzero(near):  # persistence: the next observed prices stay at the new level
        col = p[ti[c] + 1 :, tj[c]]
        after = np.log(col[np.isfinite(col)][: rule.split_persist])
        if len(after) == rule.split_persist and np.all(
            np.abs(after - np.log(price[c])) < np.abs(after - np.log(prev[c]))
        ):
            split[c] = True
    jump = (ad >= np.log(rule.extreme_factor)) & ~spike & ~split
    keep = spike | split | jump
    if not keep.any():
        return _empty_flags()
    kinds = np.where(spike, "spike", np.where(split, "split", "jump"))
    out = pd.DataFrame(
        {
            "ticker": [str(c) for c in prices.columns[tj[keep]]],
            "date": pd.DatetimeIndex(prices.index[ti[keep]]),
            "flag": kinds[keep].astype(object),
            "price": price[keep],
            "previous": prev[keep],
            "next": nxt[keep],
            "move": price[keep] / prev[keep] - 1.0,
        }
    )
    return out.sort_values(["ticker", "date"]).reset_index(drop=True)


def exclude_bad_prints(prices: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``prices`` with every flagged (date, ticker) set to NaN."""
    out = prices.copy()
    if flags.empty:
        return out
    rows = out.index.get_indexer(pd.DatetimeIndex(flags["date"]))
    cols = out.columns.get_indexer(pd.Index(flags["ticker"]))
    ok = (rows >= 0) & (cols >= 0)
    values = out.to_numpy(dtype=float, copy=True)
    values[rows[ok], cols[ok]] = np.nan
    return pd.DataFrame(values, index=out.index, columns=out.columns)


def screen_prices(
    prices: pd.DataFrame, action: str = DEFAULT_BAD_PRINTS, rule: BadPrintRule | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prices with the flagged prints excluded or kept as ``action`` says, the flags)."""
    if action not in BAD_PRINT_ACTIONS:
        raise ValueError(f"bad prints action {action!r}: expected one of {BAD_PRINT_ACTIONS}")
    flags = detect_bad_prints(prices, rule)
    if action == "exclude" and not flags.empty:
        return exclude_bad_prints(prices, flags), flags
    return prices, flags


def bad_print_caveat(flags: pd.DataFrame, action: str, *, examples: int = 3) -> str | None:
    """The provenance caveat for ``flags`` handled by ``action`` (exclude | keep); None if none."""
    if flags.empty:
        return None
    counts = flags["flag"].value_counts()
    kinds = ", ".join(f"{counts[k]} {k}" for k in ("spike", "split", "jump") if k in counts)
    order = flags.assign(size=np.abs(np.log1p(flags["move"].astype(float)))).sort_values(
        "size", ascending=False
    )
    top = order.head(examples)
    shown = "; ".join(
        f"{t} {d.date()} {k}"
        for t, d, k in zip(top["ticker"], pd.DatetimeIndex(top["date"]), top["flag"], strict=True)
    )
    n_t = flags["ticker"].nunique()
    head = f"suspicious prints: {len(flags)} price(s) of {n_t} ticker(s) flagged ({kinds}; e.g. {shown})"
    if action == "exclude":
        return head + "; excluded (set to missing, so no return is computed across them)"
    return head + "; kept as imported: measures and backtests include them"


__all__ = [
    "BAD_PRINT_ACTIONS",
    "DEFAULT_BAD_PRINTS",
    "BadPrintRule",
    "bad_print_caveat",
    "detect_bad_prints",
    "exclude_bad_prints",
    "screen_prices",
]
