"""Valuation by group from fundamentals snapshots: aggregate P/E and earnings yield.

For a group of names with market caps ``M_i`` and trailing earnings ``E_i``:

* aggregate P/E ``= sum_i M_i / sum_i E_i`` (the price of the whole basket over its whole
  earnings; *not* a mean of ratios, which over-weights small and loss-making names);
* earnings yield ``= sum_i E_i / sum_i M_i`` (defined even when earnings sum to <= 0, where
  the P/E is reported as NaN).

Earnings are ``E_i = shares_i x EPS_i = M_i x EPS_i / price_i`` (so losses count, negative),
falling back to ``M_i / PE_i`` where EPS or price is missing and the P/E is positive. Only names
with both a cap and earnings enter the sums; the others are counted as lacking data, and
``coverage`` is the share of the group's cap that has earnings.

Share classes: snapshots such as Yahoo's give each class of a company (GOOG, GOOGL) the
*whole company's* cap. With ``class_caps="company"`` (the default) an issuer's cap and earnings
are the mean over its classes, so the company counts once (rows a loader already split, marked
``cap_basis = "company-level split equally"``, are scaled back first); ``"class"`` sums the
classes (for data where each class carries only its own float).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError, InputError
from counterweight.groups import Group
from counterweight.market import normalize_ticker

VALUATION_COLUMNS = (
    "pe",
    "earnings_yield",
    "market_cap",
    "earnings",
    "n_names",
    "n_missing",
    "coverage",
)


def earnings_from_snapshot(snapshot: pd.DataFrame) -> pd.Series:
    """Trailing earnings in USD per row: cap x EPS / price, else cap / P/E (P/E > 0), else NaN."""
    cap = pd.to_numeric(snapshot["market_cap"], errors="coerce")
    eps = pd.to_numeric(
        snapshot.get("eps", pd.Series(np.nan, index=snapshot.index)), errors="coerce"
    )
    price = pd.to_numeric(
        snapshot.get("price", pd.Series(np.nan, index=snapshot.index)), errors="coerce"
    )
    pe = pd.to_numeric(snapshot.get("pe", pd.Series(np.nan, index=snapshot.index)), errors="coerce")
    by_eps = cap * eps / price.where(price > 0)
    by_pe = cap / pe.where(pe > 0)
    return by_eps.where(by_eps.notna(), by_pe)


def issuer_snapshot(
    snapshot: pd.DataFrame,
    issuers: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
) -> pd.DataFrame:
    """One row per issuer with ``market_cap`` and ``earnings`` (and its tickers).

    ``issuers`` maps ticker -> issuer (tickers not in it are their own issuer).
    """
    if "ticker" not in snapshot.columns or "market_cap" not in snapshot.columns:
        raise InputError("fundamentals need columns 'ticker' and 'market_cap'")
    snap = snapshot.copy()
    snap["ticker"] = snap["ticker"].map(normalize_ticker)
    snap["earnings"] = earnings_from_snapshot(snap)
    snap["market_cap"] = pd.to_numeric(snap["market_cap"], errors="coerce")
    snap.loc[~(snap["market_cap"] > 0), "market_cap"] = np.nan
    iss = snap["ticker"]
    if issuers is not None:
        mapped = snap["ticker"].map(issuers)
        iss = mapped.where(mapped.notna(), snap["ticker"])
    snap["issuer"] = iss.astype(str)
    grouped = snap.groupby("issuer", sort=False)
    if class_caps == "company":
        # rows a loader already split (cap_basis "company-level split equally") add up instead
        already_split = (
            snap["cap_basis"].astype(str).str.startswith("company-level")
            if "cap_basis" in snap.columns
            else pd.Series(False, index=snap.index)
        )
        n_classes = grouped["ticker"].transform("size")
        scale = np.where(already_split, n_classes, 1.0)
        snap["market_cap"] = snap["market_cap"] * scale
        snap["earnings"] = snap["earnings"] * scale
        grouped = snap.groupby("issuer", sort=False)
    agg = "mean" if class_caps == "company" else "sum"
    out = pd.DataFrame(
        {
            "market_cap": grouped["market_cap"].agg(agg),
            "earnings": grouped["earnings"].agg(agg),
            "tickers": grouped["ticker"].agg(lambda s: "+".join(s)),
        }
    )
    if class_caps == "class":  # a class without data makes the issuer's sum incomplete
        out.loc[grouped["market_cap"].count() < grouped.size(), "market_cap"] = np.nan
        out.loc[grouped["earnings"].count() < grouped.size(), "earnings"] = np.nan
    return out


def aggregate_valuation(frame: pd.DataFrame) -> dict[str, float]:
    """Aggregate P/E, earnings yield, totals and counts of one basket (rows: issuers)."""
    cap = frame["market_cap"].to_numpy(dtype=np.float64)
    earn = frame["earnings"].to_numpy(dtype=np.float64)
    ok = np.isfinite(cap) & np.isfinite(earn)
    m, e = float(cap[ok].sum()), float(earn[ok].sum())
    total_cap = float(np.nansum(cap))
    return {
        "pe": m / e if e > 0 else float("nan"),
        "earnings_yield": e / m if m > 0 else float("nan"),
        "market_cap": m,
        "earnings": e,
        "n_names": float(len(frame)),
        "n_missing": float(np.sum(~ok)),
        "coverage": m / total_cap if total_cap > 0 else float("nan"),
    }


def snapshot_dates(fundamentals: pd.DataFrame) -> pd.DatetimeIndex:
    """Sorted distinct snapshot dates in a long fundamentals frame."""
    if fundamentals.empty or "date" not in fundamentals.columns:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(sorted(pd.to_datetime(fundamentals["date"]).unique()))


def group_valuation(
    fundamentals: pd.DataFrame,
    groups: Iterable[Group],
    *,
    as_of: str | pd.Timestamp | None = None,
    universe: Iterable[str] | None = None,
    issuers: pd.Series | None = None,
    sectors: pd.Series | None = None,
    include_index: bool = True,
    include_rest: bool = True,
    class_caps: Literal["company", "class"] = "company",
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Valuation of each group (and the index, the rest, each sector) on the latest snapshot.

    Uses the last snapshot on or before ``as_of``. ``universe`` (e.g. the index members on
    that date) restricts the names; by default every name in the snapshot counts, and a
    universe name absent from the snapshot counts as lacking data. Returns the table (rows:
    baskets; columns :data:`VALUATION_COLUMNS`) and the snapshot date used.
    """
    dates = snapshot_dates(fundamentals)
    if as_of is not None:
        dates = dates[dates <= pd.Timestamp(as_of)]
    if len(dates) == 0:
        raise DataUnavailableError(f"no fundamentals snapshot on or before {as_of}")
    when = dates[-1]
    snap = fundamentals[pd.to_datetime(fundamentals["date"]) == when]
    snap = snap.assign(ticker=snap["ticker"].map(normalize_ticker)).drop_duplicates(
        "ticker", keep="last"
    )
    if universe is not None:
        names = [normalize_ticker(t) for t in universe]
        snap = snap.set_index("ticker").reindex(names).reset_index()
        snap["date"] = when
    by_issuer = issuer_snapshot(snap, issuers, class_caps)
    ticker_issuer = (
        snap["ticker"] if issuers is None else snap["ticker"].map(issuers).fillna(snap["ticker"])
    )
    ticker_issuer = pd.Series(ticker_issuer.astype(str).to_numpy(), index=snap["ticker"].to_numpy())

    def issuers_of(tickers: Iterable[str]) -> list[str]:
        wanted = set(tickers)
        return list(dict.fromkeys(ticker_issuer[[t for t in ticker_issuer.index if t in wanted]]))

    rows: dict[str, dict[str, float]] = {}
    if include_index:
        rows["Index"] = aggregate_valuation(by_issuer)
    in_groups: set[str] = set()
    for g in groups:
        members = issuers_of(g.tickers)
        in_groups.update(members)
        rows[g.name] = aggregate_valuation(by_issuer.loc[members])
    if include_rest and in_groups:
        rows["Rest"] = aggregate_valuation(
            by_issuer.loc[[i for i in by_issuer.index if i not in in_groups]]
        )
    if sectors is not None:
        sec = sectors.copy()
        sec.index = pd.Index([normalize_ticker(t) for t in sec.index])
        sec = sec[~sec.index.duplicated()]
        snap_sec = sec.reindex(ticker_issuer.index)
        for name in sorted(snap_sec.dropna().astype(str).unique()):
            rows[name] = aggregate_valuation(
                by_issuer.loc[issuers_of(snap_sec.index[snap_sec == name])]
            )
    table = pd.DataFrame(rows).T[list(VALUATION_COLUMNS)]
    for c in ("n_names", "n_missing"):
        table[c] = table[c].astype(int)
    return table, pd.Timestamp(when)


def valuation_history(
    fundamentals: pd.DataFrame,
    groups: Iterable[Group],
    *,
    issuers: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
) -> pd.DataFrame:
    """Aggregate P/E of the index, each group and the rest on every snapshot (date x basket).

    Each snapshot's names are its own universe (the constituents listed on that date).
    """
    group_list = list(groups)
    out: dict[pd.Timestamp, pd.Series] = {}
    for when in snapshot_dates(fundamentals):
        table, _ = group_valuation(
            fundamentals, group_list, as_of=when, issuers=issuers, class_caps=class_caps
        )
        out[when] = table["pe"]
    frame = pd.DataFrame(out).T
    frame.index.name = "date"
    return frame
