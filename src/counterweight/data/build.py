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

from counterweight.data.caps import caps_from_shares, estimate_caps, split_company_level_caps
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
    bad_prints: str | None = None,
) -> Market:
    """A Market from validated frames.

    ``caps`` is long (date, ticker, market_cap [, price]) or (date, ticker, shares). When it
    has no caps, fundamentals snapshots with a ``market_cap`` column are used instead. A snapshot
    is exact on its anchor date (the session before it); every other date is estimated and
    flagged (see :func:`counterweight.data.caps.estimate_caps`).

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
        if caps is not None and unknown:
            raise InputError(
                f"caps for {len(unknown)} ticker(s) without prices: {', '.join(unknown[:8])}"
                + (" ..." if len(unknown) > 8 else ""),
                file=caps_file,
            )
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
            cap_frame, est_frame = estimate_caps(prices, snaps, method=cap_method)
            n_snap = snaps["date"].nunique()
            notes.append(
                f"market caps are company-level and not float-adjusted; between the {n_snap} cap snapshots "
                f"they are estimated as (cap / price at the snapshot) x total-return price "
                f"(method '{cap_method}'), which drifts from the true cap by the dividend yield per year "
                "and by net buybacks or issuance since the snapshot; estimated values are flagged"
            )
    mem = None
    if membership is not None:
        dates = pd.DatetimeIndex(prices.index).normalize()
        mem = pd.DataFrame(
            membership_mask(membership, dates, tickers), index=dates, columns=tickers
        )
        outside = sorted(set(membership["ticker"]) - set(tickers))
        if outside:
            notes.append(
                f"{len(outside)} tickers in the membership data have no prices and are left out of every "
                "measure (survivorship: mostly former members)"
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
    )
