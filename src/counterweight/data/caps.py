"""Market caps on every date from occasional snapshots, and share classes counted once.

Estimation between snapshots
----------------------------
A snapshot gives a company's market cap ``C_s`` on snapshot date ``s``. It reflects the close of
the last trading session *strictly before* ``s`` (the anchor ``a(s)``): snapshots are taken
overnight or before the open (the sample's are; verified against its quoted prices). With
total-return prices ``P`` the implied holding is ``H_s = C_s / P_{a(s)}`` and the cap on date t is

    cap_t = H_{s*} * P_t,        s* = the latest snapshot with a(s*) <= t   (method "previous")

and, before the first snapshot, the first one (flagged as a backward estimate). Every value not
on an anchor date is flagged as estimated. Method ``"interpolate"`` interpolates log H linearly in
time between the surrounding snapshots; it uses a later snapshot, so it looks ahead and must not
feed a backtest (it is meant for descriptive history only).

Error of the estimate: with total-return prices, ``H`` absorbs the dividends, so the estimate
drifts from the true cap by the dividend yield per year (about 1.3%/yr for the S&P 500), and by
net share issuance or buybacks since the snapshot (a few % a year for heavy buyers). Splits do
not matter: prices are split-adjusted.

Share classes
-------------
Some sources (the sample's) report the *whole company's* cap on every share class: GOOGL and GOOG
each carry Alphabet's cap. :func:`split_company_level_caps` detects that case per issuer and
date — either the classes' caps agree within a tolerance (the source multiplied all shares by
one price) or their implied share counts ``cap / price`` do (it multiplied all shares by each
class's price) — and replaces it by the company cap (mean of the class figures) divided equally
among the classes, so that summing the classes gives the company once. Caps that really are per
class differ by the classes' share counts (Alphabet's A and C classes differ by about 5%, News
Corp's by a factor of two), far outside the 1% tolerance.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd

COMPANY_LEVEL_TOL = 0.01


def split_company_level_caps(
    snapshots: pd.DataFrame,
    issuer_of: Mapping[str, str],
    tol: float = COMPANY_LEVEL_TOL,
) -> tuple[pd.DataFrame, list[str]]:
    """Split company-level caps reported on each share class; returns (snapshots, notes).

    ``snapshots`` has columns date, ticker, market_cap and price (the quoted price). For each
    (date, issuer) with several classes whose caps, or implied share counts (market_cap / price),
    agree within ``tol`` (relative), each class gets mean(market_cap) / n_classes. Other rows are kept.
    A ``cap_basis`` column records "reported" or "company-level split equally".
    """
    out = snapshots.copy()
    out["cap_basis"] = "reported"
    if out.empty:
        return out, []
    issuer = out["ticker"].map(lambda t: issuer_of.get(t, t))
    out["_issuer"] = issuer
    notes: list[str] = []
    multi = out.groupby(["date", "_issuer"])["ticker"].transform("size") > 1
    if not multi.any():
        return out.drop(columns="_issuer"), notes
    sub = out[multi]
    keys = [sub["date"], sub["_issuer"]]

    def spread(values: pd.Series) -> pd.Series:
        grp = values.groupby(keys)
        return grp.transform("max") / grp.transform("min") - 1.0

    company = (spread(sub["market_cap"]) <= tol) | (spread(sub["market_cap"] / sub["price"]) <= tol)
    idx = sub.index[company.to_numpy()]
    if len(idx):
        g = out.loc[idx].groupby(["date", "_issuer"])["market_cap"]
        out.loc[idx, "market_cap"] = g.transform("mean") / g.transform("size")
        out.loc[idx, "cap_basis"] = "company-level split equally"
        names = sorted(set(out.loc[idx, "_issuer"]))
        notes.append(
            "company-level caps reported on each share class were split equally among the classes "
            f"({', '.join(names)}), so each issuer is counted once"
        )
    return out.drop(columns="_issuer"), notes


def anchor_positions(
    dates: pd.DatetimeIndex, snapshot_dates: pd.Series | pd.DatetimeIndex
) -> np.ndarray:
    """Position of the last trading date strictly before each snapshot date (-1 if none)."""
    return dates.searchsorted(pd.DatetimeIndex(snapshot_dates), side="left") - 1


def estimate_caps(
    prices: pd.DataFrame,
    snapshots: pd.DataFrame,
    method: str = "previous",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Caps on every date of ``prices`` from cap snapshots; returns (caps, estimated_mask).

    ``prices``: wide (dates x tickers) total-return prices. ``snapshots``: long with columns
    date, ticker, market_cap (USD; already split by share class). See the module docstring for
    the method. Tickers without any snapshot get NaN caps. A snapshot whose anchor price is
    missing is skipped.
    """
    if method not in ("previous", "interpolate"):
        raise ValueError(
            f"unknown cap estimation method {method!r}: use 'previous' or 'interpolate'"
        )
    dates = pd.DatetimeIndex(prices.index)
    tickers = pd.Index(prices.columns)
    t_count, n = len(dates), len(tickers)
    px = prices.to_numpy(dtype=float)
    holding = np.full((t_count, n), np.nan)
    anchor = np.zeros((t_count, n), dtype=bool)
    snaps = snapshots.dropna(subset=["market_cap"])
    snaps = snaps[snaps["ticker"].isin(tickers)]
    if len(snaps):
        rows = anchor_positions(dates, snaps["date"])
        cols = tickers.get_indexer(pd.Index(snaps["ticker"]))
        ok = rows >= 0
        rows, cols = rows[ok], cols[ok]
        caps = snaps["market_cap"].to_numpy(dtype=float)[ok]
        p = px[rows, cols]
        good = np.isfinite(p) & (p > 0) & np.isfinite(caps) & (caps >= 0)
        rows, cols, caps, p = rows[good], cols[good], caps[good], p[good]
        # later snapshots with the same anchor overwrite earlier ones (snapshots sorted by date)
        order = np.argsort(pd.DatetimeIndex(snaps["date"]).to_numpy()[ok][good], kind="stable")
        holding[rows[order], cols[order]] = caps[order] / p[order]
        anchor[rows, cols] = True
    h = pd.DataFrame(holding, index=dates, columns=tickers)
    if method == "previous":
        filled = h.ffill().bfill()
    else:
        logh = pd.DataFrame(np.log(h.to_numpy()), index=h.index, columns=h.columns)
        inside = logh.interpolate(method="index", limit_area="inside")
        filled = (
            pd.DataFrame(np.exp(inside.to_numpy()), index=dates, columns=tickers).ffill().bfill()
        )
    caps_out = filled * prices
    caps_out = caps_out.where(np.isfinite(caps_out))
    estimated = caps_out.notna() & ~pd.DataFrame(anchor, index=dates, columns=tickers)
    return caps_out, estimated


def caps_from_shares(
    prices: pd.DataFrame, shares: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Caps = shares x price, with shares given as snapshots (long: date, ticker, shares).

    Shares are carried forward from the latest snapshot on or before each date (before the first
    one, the first one); values not on a snapshot date are flagged estimated. ``prices`` should be
    unadjusted closes for exact caps; with total-return prices the dividend drift of
    :func:`estimate_caps` applies.
    """
    wide = shares.pivot_table(index="date", columns="ticker", values="shares", aggfunc="last")
    wide = wide.reindex(columns=prices.columns)
    on = wide.reindex(prices.index)
    filled = wide.reindex(prices.index.union(wide.index)).ffill().bfill().reindex(prices.index)
    caps = filled * prices
    estimated = caps.notna() & on.isna()
    return caps, estimated


def estimate_error(prices: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """Out-of-sample check of :func:`estimate_caps`: estimate each snapshot's caps from the
    previous snapshot alone and compare with what it reports.

    Returns one row per consecutive pair of snapshots (both anchored inside the price history):
    ``from``, ``to``, ``days``, ``names`` compared, ``median_abs_error``, ``p90_abs_error`` and
    ``mean_error`` of estimate / reported - 1 (positive: the estimate is too high, as with a
    company that bought back shares or paid dividends since).
    """
    dates = pd.DatetimeIndex(prices.index)
    snaps = snapshots.dropna(subset=["market_cap"])
    snap_dates = sorted(pd.DatetimeIndex(snaps["date"].unique()))
    # a snapshot is checkable only if the prices reach it: its anchor session is at most a long
    # weekend before it (a snapshot after the last price would be compared with a stale close)
    pos = anchor_positions(dates, pd.DatetimeIndex(snap_dates))
    usable = [
        d for d, k in zip(snap_dates, pos, strict=True) if k >= 0 and (d - dates[k]).days <= 4
    ]
    rows = []
    for a, b in itertools.pairwise(usable):
        pos_a = int(anchor_positions(dates, pd.DatetimeIndex([a]))[0])
        pos_b = int(anchor_positions(dates, pd.DatetimeIndex([b]))[0])
        if pos_a < 0 or pos_b <= pos_a:
            continue
        first = snaps[snaps["date"] == a]
        est, _ = estimate_caps(prices, first[["date", "ticker", "market_cap"]])
        actual = snaps[snaps["date"] == b].set_index("ticker")["market_cap"]
        err = (
            (est.iloc[pos_b].reindex(actual.index) / actual - 1.0)
            .replace([np.inf, -np.inf], np.nan)
            .dropna()
        )
        if err.empty:
            continue
        rows.append(
            {
                "from": a.date(),
                "to": b.date(),
                "days": int((b - a).days),
                "names": len(err),
                "median_abs_error": float(err.abs().median()),
                "p90_abs_error": float(err.abs().quantile(0.9)),
                "mean_error": float(err.mean()),
            }
        )
    return pd.DataFrame(rows)
