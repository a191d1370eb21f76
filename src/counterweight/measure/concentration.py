"""Index and portfolio concentration: top-N share, group share, HHI, effective N, sector weights.

Every measure is a function of one row of weights ``w`` (non-negative, summing to 1 over the
names held on that date):

* top-N share ``S_N = sum of the N largest w_i`` (ties at the boundary do not matter: the sum
  of the N largest values is the same whichever tied name is counted);
* group share ``G = sum_{i in group} w_i``;
* Herfindahl-Hirschman index ``HHI = sum_i w_i**2``, in ``[1/n, 1]`` for ``n`` names held;
* effective number of names ``N_eff = 1 / HHI``, in ``[1, n]``.

By default the names are **issuers**: share classes of one company (GOOG + GOOGL) are summed
before ranking, so Alphabet is counted once in a top-10 and in the HHI. Group and sector shares
are sums and do not depend on the level.

Kernels take (T, K) float arrays, treat NaN as "not held" and process rows in blocks so that a
5,000-name x 20-year panel never needs more than a few block-sized temporaries. The public API
(:func:`concentration_history`, :func:`portfolio_concentration`) takes a
:class:`~counterweight.market.Market` or labelled weights and returns labelled frames. A
reading against its own history is :mod:`counterweight.measure.history`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError, InputError
from counterweight.groups import MAG7, Group
from counterweight.market import Market, Provenance, normalize_ticker

# re-exported for compatibility: versus_history lives in measure/history.py
from counterweight.measure.history import HistoryReading as HistoryReading
from counterweight.measure.history import versus_history as versus_history

BLOCK_ROWS = 128
"""Rows processed at once by the row-wise kernels (bounds temporary memory)."""

TECH_PLUS_COMM = ("Information Technology", "Communication Services")
"""The two GICS sectors that hold most mega-cap growth names, reported combined."""

# --------------------------------------------------------------------------- kernels


def sum_columns_by_code(x: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the columns of ``x`` (T, N) that share a code into (T, n_groups).

    NaN counts as 0; a group with no finite value on a date is NaN. Runs as one pass of
    ``np.add.reduceat`` over the columns sorted by code (no Python loop over groups).
    """
    x = np.asarray(x, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.intp)
    t = x.shape[0]
    out = np.full((t, n_groups), np.nan)
    if x.shape[1] == 0:
        return out
    if n_groups == x.shape[1] and np.array_equal(np.sort(codes), np.arange(n_groups)):
        out[:, codes] = x  # one column per group: a permutation, nothing to add
        return out
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    for lo in range(0, t, BLOCK_ROWS):
        xs = x[lo : lo + BLOCK_ROWS][:, order]
        finite = np.isfinite(xs)
        sums = np.add.reduceat(np.where(finite, xs, 0.0), starts, axis=1)
        seen = np.logical_or.reduceat(finite, starts, axis=1)
        out[lo : lo + BLOCK_ROWS, sorted_codes[starts]] = np.where(seen, sums, np.nan)
    return out


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Weights ``w_ti = x_ti / sum_j x_tj`` over finite entries; rows without a positive sum are NaN.

    Entries that are NaN stay NaN (not held). Negative entries are rejected by the callers.
    """
    x = np.asarray(x, dtype=np.float64)
    total = np.nansum(x, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(total > 0, x / total, np.nan)
    return w


def top_n_shares(weights: np.ndarray, ns: Sequence[int]) -> np.ndarray:
    """Share of the ``n`` largest weights per row, for each ``n`` in ``ns``: (T, len(ns)).

    ``S_n = sum of the n largest w_ti`` with NaN as 0. With fewer than ``n`` names held the
    share is the sum of all of them (1 for normalised weights). Rows that are all NaN are NaN.
    One ``np.partition`` per block of rows isolates the largest ``max(ns)`` values, which are
    then sorted; cost O(T * K) rather than a full sort.
    """
    w = np.asarray(weights, dtype=np.float64)
    ns = [int(n) for n in ns]
    if any(n < 1 for n in ns):
        raise InputError("top-N needs N >= 1")
    t, k = w.shape
    out = np.full((t, len(ns)), np.nan)
    if k == 0 or not ns:
        return out
    m = min(max(ns), k)
    for lo in range(0, t, BLOCK_ROWS):
        block = w[lo : lo + BLOCK_ROWS]
        filled = np.where(np.isfinite(block), block, 0.0)
        if m < k:
            top = np.partition(filled, k - m, axis=1)[:, k - m :]
        else:
            top = filled
        top = -np.sort(-top, axis=1)  # descending
        csum = np.cumsum(top, axis=1)
        any_held = np.isfinite(block).any(axis=1)
        for j, n in enumerate(ns):
            vals = csum[:, min(n, m) - 1]
            out[lo : lo + BLOCK_ROWS, j] = np.where(any_held, vals, np.nan)
    return out


def hhi(weights: np.ndarray) -> np.ndarray:
    """Herfindahl-Hirschman index per row, ``HHI_t = sum_i w_ti**2`` (fraction, not 10,000 scale).

    NaN weights are not held; an all-NaN row is NaN. For ``n`` equal weights HHI = 1/n.
    """
    w = np.asarray(weights, dtype=np.float64)
    out = np.full(w.shape[0], np.nan)
    for lo in range(0, w.shape[0], BLOCK_ROWS):
        block = w[lo : lo + BLOCK_ROWS]
        finite = np.isfinite(block)
        sq = np.where(finite, block, 0.0)
        s = np.einsum("ij,ij->i", sq, sq)
        out[lo : lo + BLOCK_ROWS] = np.where(finite.any(axis=1), s, np.nan)
    return out


def effective_n(weights: np.ndarray) -> np.ndarray:
    """Effective number of names ``1 / HHI`` per row (NaN where HHI is NaN or 0)."""
    h = hhi(weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(h > 0, 1.0 / h, np.nan)


def masked_share(weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Share of the columns in ``mask`` (K,) per row: ``sum_{i in mask} w_ti`` (NaN as 0).

    Rows that are all NaN give NaN.
    """
    w = np.asarray(weights, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    any_held = np.isfinite(w).any(axis=1)
    s = np.nansum(w[:, mask], axis=1) if mask.any() else np.zeros(w.shape[0])
    return np.where(any_held, s, np.nan)


def count_held(weights: np.ndarray) -> np.ndarray:
    """Number of names with a finite positive weight per row."""
    w = np.asarray(weights, dtype=np.float64)
    return np.sum(np.isfinite(w) & (w > 0), axis=1)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ConcentrationHistory:
    """Concentration measures on every date.

    ``measures``: date x columns ``top1 top5 ...`` (shares), ``hhi``, ``effective_n``,
    ``n_names`` (names held), one column per group share (its name) and ``IT + Comm``.
    ``sectors``: date x GICS sector weights (sum to 1 where every name has a sector).
    ``level`` is "issuer" or "ticker"; ``provenance`` says what the numbers came from.
    """

    measures: pd.DataFrame
    sectors: pd.DataFrame
    level: str
    groups: tuple[str, ...]
    provenance: Provenance = field(default_factory=Provenance)

    def summary(self, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Each measure's current reading against its history up to ``as_of`` (one row each)."""
        rows = [
            versus_history(self.measures[c], as_of).to_dict()
            for c in self.measures.columns
            if c != "n_names" and self.measures[c].notna().any()
        ]
        if not rows:
            raise DataUnavailableError(
                "no date has index members with a market cap: concentration needs caps"
            )
        return pd.DataFrame(rows).set_index("name")

    def sector_summary(self, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Each sector's weight on ``as_of`` against its own history (largest first)."""
        rows = [
            versus_history(self.sectors[c], as_of).to_dict()
            for c in self.sectors.columns
            if self.sectors[c].notna().any()
        ]
        if not rows:  # no sector data: an empty table with the usual columns
            cols = [
                "date",
                "current",
                "average",
                "percentile",
                "min",
                "max",
                "max_date",
                "since",
                "n_obs",
            ]
            return pd.DataFrame(columns=cols, index=pd.Index([], name="name"))
        return pd.DataFrame(rows).set_index("name").sort_values("current", ascending=False)


@dataclass(frozen=True)
class _ColumnPlan:
    """How to add share-class columns into issuer columns: each issuer's first column, then
    the second, third, ... classes level by level (within a level an issuer appears once)."""

    n_groups: int
    present: np.ndarray
    first: np.ndarray
    levels: tuple[tuple[np.ndarray, np.ndarray], ...]  # (target codes, source columns)

    @classmethod
    def build(cls, codes: np.ndarray, n_groups: int) -> _ColumnPlan:
        codes = np.asarray(codes, dtype=np.intp)
        present, first = np.unique(codes, return_index=True)
        extra = np.setdiff1d(np.arange(len(codes)), first)
        levels = []
        while extra.size:
            _, idx = np.unique(codes[extra], return_index=True)
            cols = extra[idx]
            levels.append((codes[cols], cols))
            extra = np.delete(extra, idx)
        return cls(n_groups, present, first, tuple(levels))

    def merge_in_place(self, x: np.ndarray) -> np.ndarray:
        """Add each issuer's other classes into its first class's column and zero them.

        The columns of ``x`` then hold issuer totals (at the first class) and zeros: the same
        multiset of non-zero values as :meth:`apply`, without a new (T, I) array.
        """
        for targets, cols in self.levels:
            x[:, self.first[np.searchsorted(self.present, targets)]] += x[:, cols]
            x[:, cols] = 0.0
        return x

    def apply(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], self.n_groups))
        out[:, self.present] = x[:, self.first]
        for targets, cols in self.levels:
            out[:, targets] += x[:, cols]
        return out


def sum_issuer_columns(x: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the columns of a NaN-free (T, N) array by code into (T, n_groups).

    Fast path for share classes, where almost every group has one column: copy each group's
    first column, then add the second, third, ... classes level by level (a handful of
    narrow fancy-indexed additions instead of a full reorder of the panel).
    """
    return _ColumnPlan.build(codes, n_groups).apply(x)


def _top_n_nonneg(w: np.ndarray, ns: Sequence[int]) -> np.ndarray:
    """Top-N sums of a NaN-free non-negative block (T, K) -> (T, len(ns))."""
    k = w.shape[1]
    m = min(max(ns), k)
    top = np.partition(w, k - m, axis=1)[:, k - m :] if m < k else w
    csum = np.cumsum(-np.sort(-top, axis=1), axis=1)
    return csum[:, [min(n, m) - 1 for n in ns]]


def _measure_frame(
    raw: np.ndarray,
    codes: np.ndarray | None,
    n_issuers: int,
    dates: pd.DatetimeIndex,
    top: Sequence[int],
    group_masks: Sequence[tuple[str, np.ndarray]],
    ticker_sectors: np.ndarray,
    held: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shared core: raw (T, N) caps or weights -> (measures, sector weights).

    Each date's weights are ``x_ti / sum_j x_tj`` over the names ``held`` (default: all) with a
    finite positive value. Top-N, HHI, effective N and the name count use issuer weights when
    ``codes`` is given (share classes summed); group and sector shares are sums of ticker
    weights, so they do not depend on the level. Rows with no weight at all are NaN.
    The panel is processed in blocks of rows, so temporaries stay small whatever its size.
    """
    t = raw.shape[0]
    # row blocks of a Fortran-ordered panel (what DataFrame.to_numpy often returns) are strided
    raw = np.ascontiguousarray(raw)
    held = None if held is None else np.ascontiguousarray(held)
    labels = [x if isinstance(x, str) and x else "" for x in ticker_sectors]
    sector_names = sorted(set(labels) - {""})
    # group and sector shares in one matrix product: weights (T, N) @ indicators (N, G + S)
    ind = np.zeros((raw.shape[1], len(group_masks) + len(sector_names)))
    for k, (_, mask) in enumerate(group_masks):
        ind[np.asarray(mask, dtype=bool), k] = 1.0
    pos = {name: len(group_masks) + k for k, name in enumerate(sector_names)}
    for i, lab in enumerate(labels):
        if lab:
            ind[i, pos[lab]] = 1.0
    shares = np.full((t, len(top)), np.nan)
    h = np.full(t, np.nan)
    n_names = np.full(t, np.nan)
    sums = np.full((t, ind.shape[1]), np.nan)
    if any(n < 1 for n in top):
        raise InputError("top-N needs N >= 1")
    plan = None if codes is None else _ColumnPlan.build(codes, n_issuers)
    for lo in range(0, t, BLOCK_ROWS):
        sl = slice(lo, lo + BLOCK_ROWS)
        with np.errstate(invalid="ignore"):
            keep = raw[sl] > 0  # False for NaN
        if held is not None:
            keep &= held[sl]
        w = np.where(keep, raw[sl], 0.0)
        total = w.sum(axis=1)
        any_row = total > 0
        w *= np.where(any_row, 1.0 / np.where(any_row, total, 1.0), 0.0)[:, None]
        sums[sl] = np.where(any_row[:, None], w @ ind, np.nan)
        ranked = w if plan is None else plan.merge_in_place(w)
        if raw.shape[1]:
            shares[sl] = np.where(any_row[:, None], _top_n_nonneg(ranked, top), np.nan)
        h[sl] = np.where(any_row, np.einsum("ij,ij->i", ranked, ranked), np.nan)
        n_names[sl] = np.where(any_row, np.count_nonzero(ranked, axis=1), np.nan)
    cols: dict[str, np.ndarray] = {f"top{n}": shares[:, j] for j, n in enumerate(top)}
    cols["hhi"] = h
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["effective_n"] = np.where(h > 0, 1.0 / h, np.nan)
    cols["n_names"] = n_names
    for k, (name, _) in enumerate(group_masks):
        cols[name] = sums[:, k]
    sec_cols = {name: sums[:, pos[name]] for name in sector_names}
    if all(x in sec_cols for x in TECH_PLUS_COMM):
        cols["IT + Comm"] = sec_cols[TECH_PLUS_COMM[0]] + sec_cols[TECH_PLUS_COMM[1]]
    measures = pd.DataFrame(cols, index=dates)
    sectors = pd.DataFrame(sec_cols, index=dates)
    sectors.columns.name = "sector"
    return measures, sectors


def _issuer_attributes(market: Market) -> tuple[np.ndarray, np.ndarray]:
    """Sector of each issuer (first class's sector) and the first ticker of each issuer."""
    codes = market.issuer_codes
    first = np.full(len(market.issuers), -1, dtype=np.intp)
    for pos in range(len(codes) - 1, -1, -1):
        first[codes[pos]] = pos
    sectors = market.securities["sector"].to_numpy(dtype=object)[first]
    return sectors, first


def concentration_history(
    market: Market,
    *,
    groups: Iterable[Group] = (MAG7,),
    top: Sequence[int] = (1, 5, 10),
    issuer_level: bool = True,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> ConcentrationHistory:
    """Concentration of the index (point-in-time members, cap weights) on every date.

    Weights are ``cap_ti / sum_j cap_tj`` over members with a known cap; with
    ``issuer_level`` the weights of share classes are summed per issuer before ranking (top-N,
    HHI, effective N). Dates on which no member has a cap give NaN rows. A group's share
    counts its tickers that are members.
    """
    if start is not None or end is not None:
        market = market.slice(start, end)
    if np.any(market.caps < 0):
        raise InputError("negative market caps in the market data")
    group_list = list(groups)
    measures, sectors = _measure_frame(
        market.caps,
        market.issuer_codes if issuer_level else None,
        len(market.issuers),
        market.dates,
        top,
        [(g.name, g.mask(market)) for g in group_list],
        market.securities["sector"].to_numpy(dtype=object),
        held=market.members,
    )
    prov = market.provenance
    if market.caps_estimated.any() and not any("estimat" in c for c in prov.caveats):
        prov = prov.with_caveats(
            "Some market caps are estimated between snapshots (shares held fixed x price)."
        )
    return ConcentrationHistory(
        measures=measures,
        sectors=sectors,
        level="issuer" if issuer_level else "ticker",
        groups=tuple(g.name for g in group_list),
        provenance=prov,
    )


def portfolio_concentration(
    weights: pd.DataFrame | pd.Series,
    *,
    securities: pd.DataFrame | None = None,
    groups: Iterable[Group] = (MAG7,),
    top: Sequence[int] = (1, 5, 10),
    issuer_level: bool = True,
) -> ConcentrationHistory:
    """Concentration of any long-only portfolio: weights (date x ticker frame, or one Series).

    Weights are renormalised to sum to 1 over the names held (cash is left out); NaN or 0 is
    not held. ``securities`` (indexed by ticker, columns ``issuer`` and ``sector``) gives
    issuer merging and sectors; without it every ticker is its own issuer and sector weights
    are empty. Negative weights raise :class:`InputError`.
    """
    if isinstance(weights, pd.Series):
        when = weights.name if isinstance(weights.name, pd.Timestamp) else pd.Timestamp.today()
        frame = weights.to_frame().T
        frame.index = pd.DatetimeIndex([when.normalize()])
    else:
        frame = weights
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InputError("portfolio weights must be indexed by date (a DatetimeIndex)")
    frame = frame.copy()
    frame.columns = [normalize_ticker(c) for c in frame.columns]
    frame = frame.T.groupby(level=0, sort=False).sum(min_count=1).T  # repeated tickers add up
    raw = frame.to_numpy(dtype=np.float64)
    if np.any(raw < 0):
        bad = frame.columns[np.any(raw < 0, axis=0)][0]
        raise InputError(
            f"negative weight for {bad}: concentration measures need long-only weights"
        )
    tickers = pd.Index(frame.columns)
    sec = pd.DataFrame(index=tickers)
    if securities is not None:
        s = securities.copy()
        s.index = pd.Index([normalize_ticker(t) for t in s.index])
        sec = s[~s.index.duplicated()].reindex(tickers)
    issuer = sec["issuer"] if "issuer" in sec.columns else pd.Series(np.nan, index=tickers)
    issuer = issuer.astype(object).where(issuer.notna(), pd.Series(tickers, index=tickers))
    sector = (
        sec["sector"].to_numpy(dtype=object)
        if "sector" in sec.columns
        else np.full(len(tickers), np.nan, dtype=object)
    )
    codes, uniques = pd.factorize(issuer.astype(str), sort=False)
    group_list = list(groups)
    measures, sectors = _measure_frame(
        raw,
        codes.astype(np.intp) if issuer_level else None,
        len(uniques),
        pd.DatetimeIndex(frame.index),
        top,
        [(g.name, np.asarray(tickers.isin(list(g.tickers)))) for g in group_list],
        sector,
    )
    return ConcentrationHistory(
        measures=measures,
        sectors=sectors,
        level="issuer" if issuer_level else "ticker",
        groups=tuple(g.name for g in group_list),
    )


def top_holdings(
    market: Market,
    date: str | pd.Timestamp | None = None,
    n: int = 10,
    *,
    issuer_level: bool = True,
) -> pd.DataFrame:
    """The ``n`` largest index weights on ``date``: name, tickers, sector, weight, cumulative.

    Ties are broken by name so the list is deterministic.
    """
    i = market.date_position(date)
    caps = np.where(market.members[i] & np.isfinite(market.caps[i]), market.caps[i], np.nan)
    sec = market.securities
    if issuer_level:
        codes = market.issuer_codes
        summed = sum_columns_by_code(caps[None, :], codes, len(market.issuers))[0]
        sectors, _ = _issuer_attributes(market)
        names = np.asarray(market.issuers, dtype=object)  # the issuer, not one class's name
        joined: dict[int, list[str]] = {}
        for code, tk in zip(codes.tolist(), market.tickers, strict=True):
            joined.setdefault(code, []).append(str(tk))
        labels = market.issuers
        tickers = np.array(["+".join(joined.get(k, [])) for k in range(len(labels))], dtype=object)
    else:
        summed = caps
        sectors = sec["sector"].to_numpy(dtype=object)
        names = sec["name"].to_numpy(dtype=object)
        labels = market.tickers
        tickers = market.tickers.to_numpy(dtype=object)
    total = np.nansum(summed)
    if not total > 0:
        raise DataUnavailableError(f"no member market caps on {market.dates[i].date()}")
    w = summed / total
    frame = pd.DataFrame(
        {
            "name": [
                n_ if isinstance(n_, str) else str(lbl)
                for n_, lbl in zip(names, labels, strict=True)
            ],
            "tickers": tickers,
            "sector": sectors,
            "weight": w,
        },
        index=pd.Index(labels, name="issuer" if issuer_level else "ticker"),
    )
    frame = frame[np.isfinite(frame["weight"]) & (frame["weight"] > 0)]
    frame = frame.sort_values(["weight", "name"], ascending=[False, True]).head(n)
    frame["cumulative"] = frame["weight"].cumsum()
    return frame
