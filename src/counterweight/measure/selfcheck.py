"""Self-check of a market's data against the ETFs that track the real index.

Two member indices are rebuilt from the data and compared with their funds, per calendar year
and over the whole span:

* the cap-weighted member index against SPY: daily return ``r_t = sum_i w_{t-1,i} r_{t,i}``
  with ``w_{t-1}`` the (float-adjusted, on the market's basis) caps of the members on date t
  at the previous close, normalised over the members with a cap and a return on t;
* the issuer-level equal-weight index against RSP: every issuer equally weighted at each
  quarterly rebalance (after the close of the third Friday of March, June, September and
  December, S&P 500 Equal Weight Index methodology), share classes splitting their issuer's
  weight by cap, weights drifting with returns in between; a deletion's weight goes to the
  additions of the same day (or, if none, is spread pro rata over the others).

Per row: the member index's return, the fund's, ``gap = index - fee - fund`` (a fund trails its
index by its expense ratio), the annualised daily tracking error ``sqrt(252) std(r_idx - r_fund)``
and the correlation of daily returns; for SPY also the tracking error and correlation against
the S&P 500 price index level (GSPC) when the market has it: SPY's closing price strays from its
index's close on volatile days (2020-03, 2025-04), a floor under any tracking error measured
against the fund. Fees: SPY 0.0945%/yr, RSP 0.20%/yr (the funds'
prospectuses), charged per period as ``fee / periods per year`` (252 for daily data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from counterweight.market import Market
from counterweight.measure.performance import periods_per_year

FEES = {"SPY": 0.000945, "RSP": 0.0020}
"""Annual expense ratios (fractions) of the reference funds."""

TARGETS = {"SPY_tracking_error": 0.005, "SPY_annual_gap": 0.005, "RSP_annual_gap": 0.015}
"""Targets of issue 12: tracking error vs SPY under 0.5%/yr, each annual gap within 0.5 pp of
SPY after its fee, equal weight within 1.5 pp of RSP."""


def cap_weighted_returns(market: Market) -> pd.Series:
    """Daily returns of the cap-weighted index of the members (see module docstring): the
    basket kernel every measure uses (:func:`counterweight.measure.breadth.index_returns`)."""
    from counterweight.measure.breadth import index_returns

    _, cw = index_returns(market.returns, market.caps, market.members)
    return pd.Series(cw, index=market.dates, name="cap-weighted members")


def rebalance_positions(dates: pd.DatetimeIndex) -> np.ndarray:
    """Positions of the quarterly rebalance closes: the last trading date on or before the
    third Friday of March, June, September and December."""
    out = []
    for y in range(dates[0].year, dates[-1].year + 1):
        for m in (3, 6, 9, 12):
            first = pd.Timestamp(year=y, month=m, day=1)
            third_friday = first + pd.Timedelta(days=(4 - first.weekday()) % 7 + 14)
            p = int(dates.searchsorted(third_friday, side="right")) - 1
            if 0 <= p < len(dates) and dates[p] >= first:
                out.append(p)
    return np.array(sorted(set(out)), dtype=np.intp)


def equal_weight_returns(market: Market) -> pd.Series:
    """Daily returns of the issuer-level equal-weight index of the members, quarterly rebalanced."""
    r = np.nan_to_num(market.returns, nan=0.0)
    mem = market.members & np.isfinite(market.prices)
    caps = market.caps
    codes = market.issuer_codes
    t_count, n = r.shape
    reb = set(rebalance_positions(market.dates).tolist())
    out = np.full(t_count, np.nan)
    w = np.zeros(n)

    def fresh(t: int) -> np.ndarray:
        m = mem[t]
        k = np.zeros(n)
        issuers = np.unique(codes[m])
        if len(issuers) == 0:
            return k
        c = np.where(m & np.isfinite(caps[t]), caps[t], 0.0)
        for i in issuers:
            cls = np.flatnonzero(m & (codes == i))
            tot = c[cls].sum()
            k[cls] = (c[cls] / tot if tot > 0 else np.full(len(cls), 1.0 / len(cls))) / len(issuers)
        return k

    w = fresh(0)
    for t in range(1, t_count):
        if w.sum() > 0:
            out[t] = float(w @ r[t])
            w = w * (1.0 + r[t])
            w /= w.sum()
        leaving = (w > 0) & ~mem[t]
        joining = mem[t] & (w == 0) & mem[t]
        if t in reb or w.sum() == 0:
            w = fresh(t)
            continue
        if leaving.any() or joining.any():
            freed = w[leaving].sum()
            w[leaving] = 0.0
            if joining.any():
                share = freed / joining.sum() if freed > 0 else 1.0 / max(mem[t].sum(), 1)
                w[joining] = share
            w /= w.sum()
    return pd.Series(out, index=market.dates, name="equal-weight members")


@dataclass(frozen=True)
class SelfCheck:
    """Per-year and overall comparison tables, keyed by fund ("SPY", "RSP")."""

    tables: dict[str, pd.DataFrame]
    basis: str
    data_end: str

    def misses(self) -> list[str]:
        """Targets missed, in words (empty when all are met)."""
        out = []
        spy = self.tables.get("SPY")
        if spy is not None and not spy.empty:
            te = float(spy.at["all", "tracking_error"])  # type: ignore[arg-type]
            if te >= TARGETS["SPY_tracking_error"]:
                out.append(f"tracking error vs SPY {te:.2%}/yr (target < 0.50%)")
            years = spy.drop(index="all")
            bad = years[years["gap"].abs() > TARGETS["SPY_annual_gap"]]
            for y, row in bad.iterrows():
                out.append(f"{y}: gap vs SPY {row['gap']:+.2%} (target within 0.50 pp)")
        rsp = self.tables.get("RSP")
        if rsp is not None and not rsp.empty:
            years = rsp.drop(index="all")
            bad = years[years["gap"].abs() > TARGETS["RSP_annual_gap"]]
            for y, row in bad.iterrows():
                out.append(f"{y}: equal weight vs RSP {row['gap']:+.2%} (target within 1.50 pp)")
        return out


def compare(
    index: pd.Series, fund: pd.Series, fee: float, periods: int | None = None
) -> pd.DataFrame:
    """Per calendar year and "all": index, fund, gap (index - fee - fund), TE, correlation.

    Returns are compounded over the dates where both have a return; ``days`` counts them.
    ``periods`` per year (default: from the dates' spacing, 252 for daily data, 12 for month
    ends) annualises the tracking error and spreads the fee.
    """
    ppy = float(periods_per_year(index.index) if periods is None else periods)
    both = pd.concat([index, fund], axis=1, keys=["i", "f"]).dropna()
    rows = {}
    cal = pd.DatetimeIndex(both.index).year
    groups = [(str(y), g) for y, g in both.groupby(cal)] + [("all", both)]
    for label, g in groups:
        if len(g) < 2:
            continue
        gi = float(np.prod(1.0 + g["i"].to_numpy()) - 1.0)
        gf = float(np.prod(1.0 + g["f"].to_numpy()) - 1.0)
        net = float(np.prod(1.0 + g["i"].to_numpy() - fee / ppy) - 1.0)
        years = len(g) / ppy
        if label == "all":
            gi_a, gf_a, net_a = ((1 + x) ** (1 / years) - 1 for x in (gi, gf, net))
        else:
            gi_a, gf_a, net_a = gi, gf, net
        d = g["i"] - g["f"]
        rows[label] = {
            "days": len(g),
            "index": gi_a,
            "fund": gf_a,
            "gap": net_a - gf_a,
            "tracking_error": float(d.std(ddof=1) * np.sqrt(ppy)),
            "correlation": float(np.corrcoef(g["i"], g["f"])[0, 1]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def self_check(market: Market) -> SelfCheck:
    """Rebuild the member indices and compare them with SPY and RSP (where the market has them).

    "all" rows give annualised returns and gaps (CAGR over the common dates).
    """
    tables: dict[str, pd.DataFrame] = {}
    bm = market.benchmarks
    for fund, builder in (("SPY", cap_weighted_returns), ("RSP", equal_weight_returns)):
        if bm.empty or fund not in bm.columns:
            continue
        px = bm[fund].reindex(market.dates)
        fr = px / px.shift(1) - 1.0
        idx = builder(market)
        table = compare(idx, fr, FEES[fund])
        if fund == "SPY" and "GSPC" in bm.columns:
            # the index level itself: a fund's closing price strays from its index's close
            g = bm["GSPC"].reindex(market.dates)
            vs = compare(idx, g / g.shift(1) - 1.0, 0.0)
            table["tracking_error_vs_index"] = vs["tracking_error"]
            table["correlation_vs_index"] = vs["correlation"]
        tables[fund] = table
    end = market.provenance.data_end or (market.dates[-1] if len(market.dates) else None)
    return SelfCheck(
        tables=tables,
        basis=market.provenance.cap_basis,
        data_end="" if end is None else str(pd.Timestamp(end).date()),
    )
