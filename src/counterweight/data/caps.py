"""Market caps on every date from occasional snapshots, and share classes counted once.

Estimation between snapshots
----------------------------
A snapshot gives a company's market cap ``C_s`` on snapshot date ``s``. It reflects the close of
the last trading session *strictly before* ``s`` (the anchor ``a(s)``): snapshots are taken
overnight or before the open (the sample's are; verified against its quoted prices). With
total-return prices ``P`` the implied holding is ``H_s = C_s / P_{a(s)}`` and the cap on date t is

    cap_t = H_{s*} * P_t,        s* = the latest snapshot with a(s*) <= t   (method "previous")

and NaN before the ticker's first snapshot: a later snapshot is never carried backwards (that
would be a look-ahead; ``backfill=True`` allows it for descriptive use). Every value not
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
    issuer = _issuers(out["ticker"], issuer_of)
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
    *,
    backfill: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Caps on every date of ``prices`` from cap snapshots; returns (caps, estimated_mask).

    Before a ticker's first snapshot its cap is NaN (no look-ahead); ``backfill=True`` carries
    the first snapshot backwards instead (a look-ahead, for descriptive use only).

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
        filled = h.ffill() if not backfill else h.ffill().bfill()
    else:
        logh = pd.DataFrame(np.log(h.to_numpy()), index=h.index, columns=h.columns)
        inside = logh.interpolate(method="index", limit_area="inside")
        filled = pd.DataFrame(np.exp(inside.to_numpy()), index=dates, columns=tickers).ffill()
        if backfill:
            filled = filled.bfill()
    caps_out = filled * prices
    caps_out = caps_out.where(np.isfinite(caps_out))
    estimated = caps_out.notna() & ~pd.DataFrame(anchor, index=dates, columns=tickers)
    return caps_out, estimated


def caps_from_shares(
    prices: pd.DataFrame, shares: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Caps = shares x price, with shares given as snapshots (long: date, ticker, shares).

    Shares are carried forward from the latest snapshot on or before each date (NaN before the
    first one: no look-ahead); values not on a snapshot date are flagged estimated. ``prices`` should be
    unadjusted closes for exact caps; with total-return prices the dividend drift of
    :func:`estimate_caps` applies.
    """
    wide = shares.pivot_table(index="date", columns="ticker", values="shares", aggfunc="last")
    wide = wide.reindex(columns=prices.columns)
    on = wide.reindex(prices.index)
    filled = wide.reindex(prices.index.union(wide.index)).ffill().reindex(prices.index)
    caps = filled * prices
    estimated = caps.notna() & on.isna()
    return caps, estimated


def estimate_error(
    prices: pd.DataFrame, snapshots: pd.DataFrame, min_days: int = 0
) -> pd.DataFrame:
    """Out-of-sample check of :func:`estimate_caps`: estimate each snapshot's caps from the
    previous snapshot alone and compare with what it reports.

    Returns one row per consecutive pair of snapshots (both anchored inside the price history;
    with ``min_days``, pairs at least that many days apart, chosen greedily in date order):
    ``from``, ``to``, ``days``, ``names`` compared, ``median_abs_error``, ``p90_abs_error`` and
    ``mean_error`` of estimate / reported - 1 (positive: the estimate is too high, as with a
    company that bought back shares or paid dividends since).
    """
    dates = pd.DatetimeIndex(prices.index)
    snaps = snapshots.dropna(subset=["market_cap"])
    if "cap_flag" in snaps.columns:  # screened-out values are not estimates' targets
        snaps = snaps[snaps["cap_flag"].fillna("").astype(str) == ""]
    snap_dates = sorted(pd.DatetimeIndex(snaps["date"].unique()))
    # a snapshot is checkable only if the prices reach it: its anchor session is at most a long
    # weekend before it (a snapshot after the last price would be compared with a stale close)
    pos = anchor_positions(dates, pd.DatetimeIndex(snap_dates))
    usable = [
        d for d, k in zip(snap_dates, pos, strict=True) if k >= 0 and (d - dates[k]).days <= 4
    ]
    if min_days > 0 and usable:  # from each kept snapshot, the next one min_days or more later
        kept = [usable[0]]
        for d in usable[1:]:
            if (d - kept[-1]).days >= min_days:
                kept.append(d)
        usable = kept
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


def cap_age_days(prices: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """Age in calendar days of the snapshot behind each carried cap of :func:`estimate_caps`.

    ``age_t = t - a(s*)`` with ``a(s*)`` the anchor session of the snapshot in use on date t
    (0 on an anchor date), NaN before a ticker's first snapshot. Same inputs and the same
    skipping rules as :func:`estimate_caps` (method ``"previous"``).
    """
    dates = pd.DatetimeIndex(prices.index)
    tickers = pd.Index(prices.columns)
    px = prices.to_numpy(dtype=float)
    anchor_day = np.full((len(dates), len(tickers)), np.nan)
    snaps = snapshots.dropna(subset=["market_cap"])
    snaps = snaps[snaps["ticker"].isin(tickers)]
    if len(snaps):
        rows = anchor_positions(dates, snaps["date"])
        cols = tickers.get_indexer(pd.Index(snaps["ticker"]))
        caps = snaps["market_cap"].to_numpy(dtype=float)
        ok = rows >= 0
        p = np.where(ok, px[np.maximum(rows, 0), cols], np.nan)
        good = ok & np.isfinite(p) & (p > 0) & np.isfinite(caps) & (caps >= 0)
        day = (dates.to_numpy().astype("datetime64[D]").astype(np.int64)).astype(float)
        anchor_day[rows[good], cols[good]] = day[rows[good]]
    filled = pd.DataFrame(anchor_day, index=dates, columns=tickers).ffill()
    today = dates.to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
    return pd.DataFrame(today[:, None] - filled.to_numpy(), index=dates, columns=tickers)


# ---------------------------------------------------------------------- snapshot screens
UNIT_FLOOR_USD = 1.0e9
"""Caps below this are not used as a reference level (no S&P 500 member since 2013 was
this small; a cap reported in thousands instead of units falls far below it)."""
UNIT_RATIO = 100.0
"""A snapshot whose implied holding differs from the ticker's reference level by this factor or
more is a unit error (units vs thousands differ by 1000x; genuine share-count changes between
snapshots are far smaller)."""
SINGLE_CLASS_RATIO = 1.6
"""A share class whose implied holding is this many times its usual (split) level, on a date when
the issuer's other classes carry no cap, carries the whole company's cap."""
JUMP_LOG = float(np.log(1.25))
"""Largest change of log implied holding (log(cap/price)) between neighbouring snapshots that
is not questioned: a snapshot more than 25% off both neighbours in the same direction, while the
neighbours agree with each other, is inconsistent with the price move and is rejected."""


def implied_holdings(prices: pd.DataFrame, snapshots: pd.DataFrame) -> pd.Series:
    """H_s = C_s / P_{a(s)} for each snapshot row (NaN where the anchor price is missing)."""
    dates = pd.DatetimeIndex(prices.index)
    rows = anchor_positions(dates, snapshots["date"])
    cols = pd.Index(prices.columns).get_indexer(pd.Index(snapshots["ticker"]))
    px = prices.to_numpy(dtype=float)
    ok = (rows >= 0) & (cols >= 0)
    p = np.full(len(snapshots), np.nan)
    p[ok] = px[rows[ok], cols[ok]]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = snapshots["market_cap"].to_numpy(dtype=float) / p
    h[~(np.isfinite(h) & (h > 0))] = np.nan
    return pd.Series(h, index=snapshots.index)


def screen_unit_errors(
    snapshots: pd.DataFrame,
    holdings: pd.Series,
    *,
    floor: float = UNIT_FLOOR_USD,
    ratio: float = UNIT_RATIO,
) -> pd.Series:
    """Flag snapshots reported in the wrong unit (e.g. thousands of USD): boolean Series.

    Reference level per ticker: the median implied holding ``H`` of its snapshots with a cap of
    at least ``floor`` USD. A snapshot is a unit error when ``max(H / ref, ref / H) >= ratio``,
    or when its cap is below ``floor`` and the ticker has no reference at all.
    """
    big = snapshots["market_cap"] >= floor
    ref = holdings.where(big).groupby(snapshots["ticker"]).transform("median")
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.abs(np.log(holdings / ref))
    flag = off >= np.log(ratio)
    flag |= ref.isna() & ~big & snapshots["market_cap"].notna()
    return flag.fillna(False).astype(bool)


def screen_single_class(
    snapshots: pd.DataFrame,
    holdings: pd.Series,
    issuer_of: Mapping[str, str],
    *,
    ratio: float = SINGLE_CLASS_RATIO,
) -> pd.Series:
    """Flag share-class rows carrying the whole company's cap while the other classes have none.

    For an issuer with several classes, a row is flagged when it is the only class with a cap in
    its snapshot (date and source) and its implied holding is at least ``ratio`` times the
    class's median holding over the snapshots where several classes carry caps (after the
    equal split of :func:`split_company_level_caps`). Returns a boolean Series.
    """
    issuer = _issuers(snapshots["ticker"], issuer_of)
    classes = issuer.map(
        issuer.groupby(issuer).agg(lambda s: snapshots.loc[s.index, "ticker"].nunique())
    )
    src = (
        snapshots["source"]
        if "source" in snapshots.columns
        else pd.Series("", index=snapshots.index)
    )
    has_cap = snapshots["market_cap"].notna()
    per_snap = has_cap.groupby([snapshots["date"], src, issuer]).transform("sum")
    multi = (classes > 1) & has_cap
    ref = holdings.where(multi & (per_snap > 1)).groupby(snapshots["ticker"]).transform("median")
    flag = multi & (per_snap == 1) & (holdings >= ratio * ref)
    return flag.fillna(False).astype(bool)


def screen_jumps(
    snapshots: pd.DataFrame, holdings: pd.Series, *, jump: float = JUMP_LOG
) -> pd.Series:
    """Flag snapshots inconsistent with the price move since both neighbouring snapshots.

    Per ticker in date order with x = log H: row i is flagged when x_i - x_{i-1} and
    x_i - x_{i+1} exceed ``jump`` in absolute value with the same sign and
    |x_{i+1} - x_{i-1}| <= ``jump`` (an isolated spike; a lasting change such as a merger moves
    the later neighbours too and is kept). The first and last snapshot are compared with their one
    neighbour at twice the threshold. Returns a boolean Series.
    """
    flag = pd.Series(False, index=snapshots.index)
    x = np.log(holdings)
    frame = pd.DataFrame({"ticker": snapshots["ticker"], "date": snapshots["date"], "x": x})
    frame = frame.dropna(subset=["x"]).sort_values(["ticker", "date"], kind="stable")
    for _, g in frame.groupby("ticker", sort=False):
        v = g["x"].to_numpy()
        if len(v) < 2:
            continue
        prev = np.r_[np.nan, v[:-1]]
        nxt = np.r_[v[1:], np.nan]
        d1, d2 = v - prev, v - nxt
        spike = (np.abs(d1) > jump) & (np.abs(d2) > jump) & (np.sign(d1) == np.sign(d2))
        spike &= np.abs(nxt - prev) <= jump
        ends = np.zeros(len(v), dtype=bool)
        ends[0] = np.abs(d2[0]) > 2 * jump and len(v) > 2 and abs(v[1] - v[2]) <= jump
        ends[-1] = np.abs(d1[-1]) > 2 * jump and len(v) > 2 and abs(v[-2] - v[-3]) <= jump
        flag.loc[g.index[spike | ends]] = True
    return flag


def screen_snapshots(
    snapshots: pd.DataFrame, prices: pd.DataFrame, issuer_of: Mapping[str, str]
) -> pd.DataFrame:
    """Run the three screens in order and return the snapshots with a ``cap_flag`` column.

    ``cap_flag`` is "" for a usable cap, else the reason it is not used: "unit error",
    "jump vs neighbours", or "no cap". A whole-company cap on a single class (see
    :func:`screen_single_class`) is kept but divided by the issuer's number of classes, with
    ``cap_basis`` = "single class carried the company; split equally". The unit screen runs
    first so that its outliers do not distort the later references; the jump screen runs last on
    what is left.
    """
    out = snapshots.copy()
    if "cap_basis" not in out.columns:
        out["cap_basis"] = "reported"
    out["cap_flag"] = np.where(out["market_cap"].notna(), "", "no cap")
    h = implied_holdings(prices, out)
    unit = screen_unit_errors(out, h)
    out.loc[unit, "cap_flag"] = "unit error"
    live = out["cap_flag"] == ""
    single = screen_single_class(out[live], h[live], issuer_of)
    idx = single[single].index
    if len(idx):
        issuer = _issuers(out.loc[idx, "ticker"], issuer_of)
        n_cls = issuer.map(
            pd.Series(issuer_of).groupby(pd.Series(issuer_of)).size().to_dict()
        ).fillna(1)
        out.loc[idx, "market_cap"] = out.loc[idx, "market_cap"] / n_cls.clip(lower=1)
        out.loc[idx, "cap_basis"] = "single class carried the company; split equally"
        h = implied_holdings(prices, out)
    live = out["cap_flag"] == ""
    jumps = screen_jumps(out[live], h[live])
    out.loc[jumps[jumps].index, "cap_flag"] = "jump vs neighbours"
    return out


def _issuers(tickers: pd.Series, issuer_of: Mapping[str, str]) -> pd.Series:
    """Issuer of each ticker (the ticker itself where unknown), vectorised."""
    mapped = tickers.map(dict(issuer_of))
    return mapped.astype(object).where(mapped.notna(), tickers).astype(str)
