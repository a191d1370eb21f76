"""Assemble validated frames into a :class:`~counterweight.market.Market`.

One place turns the importers' outputs (or the embedded sample's files, or the store's tables)
into the aligned panel, so every source follows the same rules:

* membership intervals become a (dates x tickers) mask with ``start <= date < end``;
* company-level caps on share classes are split once (:mod:`counterweight.data.caps`);
* caps between snapshots are estimated and flagged, the method recorded in the caveats;
* caps for tickers that have no prices are an error naming them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from counterweight.data.caps import (
    cap_age_days,
    caps_from_shares,
    estimate_caps,
    split_company_level_caps,
)
from counterweight.data.float_factors import iwf_panel
from counterweight.errors import InputError
from counterweight.market import Market, Provenance


def membership_mask(
    intervals: pd.DataFrame, dates: pd.DatetimeIndex, tickers: pd.Index
) -> np.ndarray:
    """(T, N) mask: True where ``start <= date < end`` for one of the ticker's intervals.

    ``end`` is the first date the ticker is no longer a member (NaT: still a member).
    """
    mask = np.zeros((len(dates), len(tickers)), dtype=bool)
    if intervals.empty:
        return mask
    cols = tickers.get_indexer(pd.Index(intervals["ticker"]))
    starts = dates.searchsorted(pd.DatetimeIndex(intervals["start"]), side="left")
    ends_raw = pd.DatetimeIndex(intervals["end"])
    ends = np.where(
        ends_raw.isna(),
        len(dates),
        dates.searchsorted(
            ends_raw.fillna(dates[-1] if len(dates) else pd.Timestamp(0)), side="left"
        ),
    )
    for c, s, e in zip(cols, starts, ends, strict=True):
        if c >= 0 and e > s:
            mask[s:e, c] = True
    return mask


def build_market(
    prices: pd.DataFrame,
    *,
    caps: pd.DataFrame | None = None,
    securities: pd.DataFrame | None = None,
    membership: pd.DataFrame | None = None,
    fundamentals: pd.DataFrame | None = None,
    benchmarks: pd.DataFrame | None = None,
    factors: pd.DataFrame | None = None,
    provenance: Provenance | None = None,
    cap_method: str = "previous",
    caps_file: str | None = None,
    float_factors: pd.DataFrame | None = None,
    iwf_before_first: str = "one",
    basis: str | None = None,
    price_return: pd.DataFrame | None = None,
    unpriced_caps: bool = False,
    cap_backfill: bool = False,
    coverage: pd.DataFrame | None = None,
    bad_prints: str | None = None,
) -> Market:
    """A Market from validated frames.

    ``caps`` is long (date, ticker, market_cap [, price]) or (date, ticker, shares). When it
    has no caps, fundamentals snapshots with a ``market_cap`` column are used instead. A snapshot
    is exact on its anchor date (the session before it); every other date is estimated and
    flagged (see :func:`counterweight.data.caps.estimate_caps`); before a ticker's first
    snapshot its cap is unknown. Rows of a ``cap_flag`` column other than "" (screened out, see
    :func:`counterweight.data.caps.screen_snapshots`) are not used.

    ``float_factors`` (long: ticker, date, iwf) makes the market float-adjusted by default
    (see :func:`counterweight.data.float_factors.iwf_panel` for ``iwf_before_first``);
    ``price_return`` (wide, like ``prices``) adds price-return closes. ``unpriced_caps`` accepts
    caps of tickers without prices (they only inform ``member_coverage``). ``cap_backfill``
    carries each ticker's first snapshot backwards (a look-ahead, for comparisons only).
    ``coverage``: a precomputed :func:`member_coverage` table for these inputs (the embedded
    sample ships one), else it is computed.

    ``bad_prints`` (``"exclude"`` | ``"keep"``): screen prices and benchmarks for suspicious
    prints (:mod:`counterweight.data.quality`), exclude or keep them, and say so in the
    caveats. ``None`` (the default) leaves them as given (the store has screened them already).
    """
    prov = provenance or Provenance()
    prices = prices.sort_index()
    if bad_prints is not None:  # screen the prices here (the store screens them at import)
        from counterweight.data.quality import bad_print_caveat, screen_prices

        for label, frame in (("prices", prices), ("benchmarks", benchmarks)):
            if frame is None or frame.empty:
                continue
            screened, flags = screen_prices(frame, bad_prints)
            note = bad_print_caveat(flags, bad_prints)
            if note:
                prov = prov.with_caveats(note if label == "prices" else f"reference ETFs: {note}")
            if label == "prices":
                prices = screened
            else:
                benchmarks = screened
    tickers = pd.Index(prices.columns)
    sec = securities
    issuer_of: dict[str, str] = {}
    if sec is not None and "issuer" in sec.columns:
        issuer_of = {str(k): str(v) for k, v in sec["issuer"].dropna().items()}

    cap_frame: pd.DataFrame | None = None
    est_frame: pd.DataFrame | None = None
    age_frame: pd.DataFrame | None = None
    all_snapshots: pd.DataFrame | None = None
    notes: list[str] = []
    if fundamentals is not None and {"market_cap", "price"} <= set(fundamentals.columns):
        # the same split as for caps, so valuation sums count an issuer once too
        fundamentals, split_notes = split_company_level_caps(fundamentals, issuer_of)
        notes.extend(split_notes)
    source = caps
    if (
        (source is None or source.empty)
        and fundamentals is not None
        and "market_cap" in fundamentals.columns
    ):
        keep = [
            c
            for c in ("date", "ticker", "market_cap", "price", "cap_basis")
            if c in fundamentals.columns
        ]
        source = fundamentals[keep]
    if source is not None and not source.empty:
        unknown = sorted(set(source["ticker"]) - set(tickers))
        if caps is not None and unknown and not unpriced_caps:
            raise InputError(
                f"caps for {len(unknown)} ticker(s) without prices: {', '.join(unknown[:8])}"
                + (" ..." if len(unknown) > 8 else ""),
                file=caps_file,
            )
        if "cap_flag" in source.columns:
            source = source[source["cap_flag"].fillna("") == ""]
        all_snapshots = source
        source = source[source["ticker"].isin(tickers)]
        if "shares" in source.columns and "market_cap" not in source.columns:
            cap_frame, est_frame = caps_from_shares(prices, source)
            notes.append(
                "market caps = shares outstanding (carried forward from the latest snapshot) x price"
            )
        else:
            snaps = source
            if "price" in snaps.columns and "cap_basis" not in snaps.columns:
                snaps, split_notes = split_company_level_caps(snaps, issuer_of)
                notes.extend(split_notes)
            cap_frame, est_frame = estimate_caps(
                prices, snaps, method=cap_method, backfill=cap_backfill
            )
            age_frame = cap_age_days(prices, snaps) if cap_method == "previous" else None
            n_snap = snaps["date"].nunique()
            notes.append(
                f"between the {n_snap} cap snapshot dates market caps "
                f"are estimated as (cap / price at the snapshot) x total-return price "
                f"(method '{cap_method}'), which drifts from the true cap by the dividend yield per year "
                "and by net buybacks or issuance since the snapshot; estimated values are flagged "
                "with their age; before a ticker's first snapshot its cap is unknown (never "
                "back-filled from a later one)"
            )
    mem = None
    if membership is not None:
        dates = pd.DatetimeIndex(prices.index).normalize()
        mem = pd.DataFrame(
            membership_mask(membership, dates, tickers), index=dates, columns=tickers
        )
        # members during the panel's span that have no prices at all: a stated gap
        span = membership[
            (membership["start"] <= dates[-1])
            & (membership["end"].isna() | (membership["end"] > dates[0]))
        ]
        outside = sorted(set(span["ticker"]) - set(tickers))
        if outside:
            shown = ", ".join(outside[:12]) + (" ..." if len(outside) > 12 else "")
            notes.append(
                f"{len(outside)} index members between {dates[0].date()} and {dates[-1].date()} "
                f"have no prices and are left out of every measure (survivorship, stated: "
                f"Market.member_coverage gives their count and share on each date): {shown}"
            )
    if cap_frame is not None and mem is not None and len(prices):
        last_caps = cap_frame.iloc[-1]
        last_mem = mem.iloc[-1]
        no_cap = sorted(
            t for t in tickers[last_mem.to_numpy()] if not np.isfinite(last_caps.get(t, np.nan))
        )
        if no_cap:
            notes.append(
                f"{len(no_cap)} members on {prices.index[-1].date()} have no market cap in the data and are "
                f"left out of cap weights: {', '.join(no_cap)}"
            )
    iwf = None
    if float_factors is not None and not float_factors.empty:
        dates_n = pd.DatetimeIndex(prices.index).normalize()
        iwf = iwf_panel(float_factors, dates_n, tickers, before_first=iwf_before_first)
        n_f = int(float_factors["ticker"].isin(tickers).sum())
        notes.append(
            f"float adjustment: investable weight factors for {n_f} tickers "
            f"({'carried back before their first date' if iwf_before_first == 'first' else 'IWF 1 before their first date'}); "
            "tickers without one count at their company cap (IWF 1)"
        )
    elif basis is None:
        notes.append(
            "market caps are company-level (not float-adjusted; S&P weights its indices by "
            "float-adjusted caps): no investable weight factors in the data"
        )
    if coverage is None and mem is not None and membership is not None and len(prices):
        coverage = member_coverage(membership, prices, cap_frame, all_snapshots)
    prov = prov.with_caveats(*notes)
    return Market.from_frames(
        prices,
        caps=cap_frame,
        caps_estimated=est_frame,
        members=mem,
        securities=sec,
        fundamentals=fundamentals,
        benchmarks=benchmarks,
        factors=factors,
        provenance=prov,
        iwf=iwf,
        basis=basis,
        price_return=price_return,
        cap_age=age_frame,
        member_coverage=coverage,
    )


def member_coverage(
    membership: pd.DataFrame,
    prices: pd.DataFrame,
    caps: pd.DataFrame | None,
    snapshots: pd.DataFrame | None,
) -> pd.DataFrame:
    """Per date: index members, members with a price, with a cap, and the priced share.

    Members are counted from the membership intervals, priced or not, so a member without
    prices is a stated gap: ``members - with_price`` of them on that date. ``cap_share_priced``
    is the cap of the members with a price and a cap over that plus the last reported cap
    (not carried by price: there is none) of the members without a price; NaN when no cap is
    known at all.
    """
    dates = pd.DatetimeIndex(prices.index).normalize()
    all_t = pd.Index(sorted(set(membership["ticker"])))
    mask = membership_mask(membership, dates, all_t)
    px = prices.reindex(columns=all_t).to_numpy(dtype=float)
    priced = mask & np.isfinite(px)
    cap = (
        np.full(mask.shape, np.nan)
        if caps is None
        else caps.reindex(index=prices.index, columns=all_t).to_numpy(dtype=float)
    )
    with_cap = priced & np.isfinite(cap)
    stale: np.ndarray = np.full(mask.shape, np.nan)
    if snapshots is not None and not snapshots.empty and "market_cap" in snapshots.columns:
        s = snapshots.dropna(subset=["market_cap"])
        s = s[s["ticker"].isin(all_t)]
        if len(s):
            pos = dates.searchsorted(pd.DatetimeIndex(s["date"]), side="left")
            ok = pos < len(dates)
            arr = np.full((len(dates), len(all_t)), np.nan)
            arr[pos[ok], all_t.get_indexer(pd.Index(s["ticker"]))[ok]] = s["market_cap"].to_numpy(
                float
            )[ok]
            stale = pd.DataFrame(arr).ffill().to_numpy()
    covered = np.where(with_cap, cap, 0.0).sum(axis=1)
    gap = np.where(mask & ~priced & np.isfinite(stale), stale, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = covered / (covered + gap)
    share[covered + gap == 0] = np.nan
    return pd.DataFrame(
        {
            "members": mask.sum(axis=1),
            "with_price": priced.sum(axis=1),
            "with_cap": with_cap.sum(axis=1),
            "cap_share_priced": share,
        },
        index=dates,
    )
