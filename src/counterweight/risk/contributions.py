"""Ex-ante risk of a portfolio: volatility, tracking error, beta and who contributes the risk.

With weights w (fractions of value; cash has zero variance and is simply left out), benchmark
weights b and an annualised covariance Sigma:

* variance sigma^2 = w' Sigma w, volatility sigma (annual fraction);
* contribution of name i: c_i = w_i (Sigma w)_i, so sum_i c_i = sigma^2 exactly (Euler);
  its share of risk is c_i / sigma^2; a group's or sector's contribution is the sum over its
  names (the Mag 7's share of total risk = sum over its tickers / sigma^2);
* active weights a = w - b: tracking error TE = sqrt(a' Sigma a), with active contributions
  a_i (Sigma a)_i adding to TE^2;
* beta = w' Sigma b / b' Sigma b.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError
from counterweight.groups import MAG7, Group
from counterweight.risk.covariance import Covariance


def variance(w: np.ndarray, sigma: np.ndarray) -> float:
    """w' Sigma w."""
    return float(w @ sigma @ w)


def contributions(w: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """c_i = w_i (Sigma w)_i; sums to w' Sigma w."""
    return w * (sigma @ w)


def beta(w: np.ndarray, b: np.ndarray, sigma: np.ndarray) -> float:
    """w' Sigma b / b' Sigma b (NaN when the benchmark has no variance)."""
    sb = sigma @ b
    den = float(b @ sb)
    return float(w @ sb) / den if den > 0 else float("nan")


@dataclass(frozen=True)
class RiskReport:
    """Ex-ante risk of one portfolio (annual fractions).

    ``by_stock``: weight, contribution (to variance), share (of variance), marginal
    ((Sigma w)_i / sigma). ``by_issuer`` / ``by_group`` / ``by_sector``: weight, contribution,
    share. ``active``: the same by stock for active weights when a benchmark was given.
    """

    volatility: float
    variance: float
    tracking_error: float
    beta: float
    by_stock: pd.DataFrame
    by_issuer: pd.DataFrame
    by_group: pd.DataFrame
    by_sector: pd.DataFrame
    invested: float
    uncovered: tuple[str, ...] = ()

    def summary(self) -> pd.Series:
        return pd.Series(
            {
                "volatility": self.volatility,
                "tracking_error": self.tracking_error,
                "beta": self.beta,
                "invested": self.invested,
            }
        )


def _aggregate(frame: pd.DataFrame, labels: pd.Series, total: float) -> pd.DataFrame:
    g = (
        frame[["weight", "contribution"]]
        .groupby(labels.reindex(frame.index).fillna("Unknown"))
        .sum()
    )
    g["share"] = g["contribution"] / total if total > 0 else np.nan
    return g.sort_values("contribution", ascending=False)


def risk_report(
    weights: pd.Series,
    cov: Covariance,
    *,
    benchmark: pd.Series | None = None,
    securities: pd.DataFrame | None = None,
    groups: Sequence[Group] = (MAG7,),
) -> RiskReport:
    """Risk of ``weights`` (by ticker) under ``cov``; see the module docstring for formulas.

    Names without a covariance row raise unless their weight is zero. The benchmark is
    restricted to covered names and renormalised to its original total.
    """
    w = weights[weights != 0].dropna().astype(float)
    missing = [t for t in w.index if t not in cov.tickers]
    if missing:
        raise DataUnavailableError(
            f"no return history for held {', '.join(map(str, missing[:10]))}"
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        )
    names = list(w.index)
    b_full = pd.Series(dtype=float) if benchmark is None else benchmark[benchmark != 0].dropna()
    uncovered = tuple(str(t) for t in b_full.index if t not in cov.tickers)
    b_cov = b_full[[t for t in b_full.index if t in cov.tickers]]
    if len(b_cov) and b_cov.sum() > 0:
        b_cov = b_cov * (b_full.sum() / b_cov.sum())
    universe = list(dict.fromkeys([*names, *b_cov.index]))
    sigma = cov.sub(universe)
    wv = w.reindex(universe).fillna(0.0).to_numpy()
    var = variance(wv, sigma)
    c = contributions(wv, sigma)
    vol = float(np.sqrt(max(var, 0.0)))
    sw = sigma @ wv
    by_stock = pd.DataFrame(
        {
            "weight": wv,
            "contribution": c,
            "share": c / var if var > 0 else np.nan,
            "marginal": sw / vol if vol > 0 else np.nan,
        },
        index=pd.Index(universe, name="ticker"),
    )
    by_stock = by_stock[by_stock["weight"] != 0].sort_values("contribution", ascending=False)
    if len(b_cov):
        bv = b_cov.reindex(universe).fillna(0.0).to_numpy()
        a = wv - bv
        te = float(np.sqrt(max(variance(a, sigma), 0.0)))
        bt = beta(wv, bv, sigma)
    else:
        te, bt = float("nan"), float("nan")
    sec = securities if securities is not None else pd.DataFrame(index=pd.Index([], name="ticker"))
    issuer = sec["issuer"] if "issuer" in sec.columns else pd.Series(dtype=object)
    issuer = issuer.reindex(by_stock.index)
    issuer = issuer.where(issuer.notna(), pd.Series(by_stock.index, index=by_stock.index))
    sector = sec["sector"] if "sector" in sec.columns else pd.Series(dtype=object)
    by_issuer = _aggregate(by_stock, issuer, var)
    by_sector = _aggregate(by_stock, sector, var)
    grows = []
    in_any = np.zeros(len(by_stock), dtype=bool)
    for g in groups:
        m = by_stock.index.isin(g.tickers)
        in_any |= m
        grows.append((g.name, by_stock["weight"][m].sum(), by_stock["contribution"][m].sum()))
    if groups:
        rest = "Rest" if len(groups) > 1 else f"Rest (not {groups[0].name})"
        grows.append(
            (rest, by_stock["weight"][~in_any].sum(), by_stock["contribution"][~in_any].sum())
        )
    by_group = pd.DataFrame(grows, columns=["group", "weight", "contribution"]).set_index("group")
    by_group["share"] = by_group["contribution"] / var if var > 0 else np.nan
    return RiskReport(
        volatility=vol,
        variance=var,
        tracking_error=te,
        beta=bt,
        by_stock=by_stock,
        by_issuer=by_issuer,
        by_group=by_group,
        by_sector=by_sector,
        invested=float(w.sum()),
        uncovered=uncovered,
    )


def compare(before: RiskReport, after: RiskReport) -> pd.DataFrame:
    """Headline risk before vs after: volatility, tracking error, beta, group shares of risk."""
    rows = {
        "volatility": (before.volatility, after.volatility),
        "tracking_error": (before.tracking_error, after.tracking_error),
        "beta": (before.beta, after.beta),
    }
    for g in before.by_group.index.union(after.by_group.index, sort=False):
        rows[f"risk share: {g}"] = (
            float(before.by_group["share"].get(g, np.nan)),
            float(after.by_group["share"].get(g, np.nan)),
        )
    out = pd.DataFrame(rows, index=["before", "after"]).T
    out["change"] = out["after"] - out["before"]
    return out
