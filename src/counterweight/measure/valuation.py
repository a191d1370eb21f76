"""Valuation by group from fundamentals snapshots: aggregate P/E, its history, the earnings gap.

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

:func:`valuation_at` reads the snapshot nearest on or before the as-of date and says how old
it is; :func:`valuation_history` gives the P/E of every basket on every snapshot;
:func:`earnings_gap` the like-for-like trailing earnings growth of the Mag 7 against the rest
over the report's windows, where the snapshot spacing allows (see
:mod:`counterweight.measure.fundamentals` for the amounts, ratios and growth rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError, DataUnavailableError, InputError
from counterweight.groups import MAG7, Group
from counterweight.market import normalize_ticker
from counterweight.measure.fundamentals import (
    FundamentalsReading,
    SnapshotData,
    SnapshotSpacing,
    SnapshotWindow,
    basket_membership,
    basket_table,
    check_no_look_ahead,
    fallback_window,
    fundamentals_reading,
    issuer_amounts,
    latest_snapshot,
    like_for_like_arrays,
    resolve_snapshot_window,
    snapshot_data,
    snapshot_spacing,
    window_pairs,
)
from counterweight.measure.fundamentals import (  # re-exported: it used to live here
    earnings_from_snapshot as earnings_from_snapshot,
)
from counterweight.measure.history import versus_history

VALUATION_COLUMNS = (
    "pe",
    "earnings_yield",
    "market_cap",
    "earnings",
    "n_names",
    "n_missing",
    "coverage",
)


def issuer_snapshot(
    snapshot: pd.DataFrame,
    issuers: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
) -> pd.DataFrame:
    """One row per issuer of one snapshot: ``market_cap``, ``earnings`` (USD) and its tickers.

    ``issuers`` maps ticker -> issuer (tickers not in it are their own issuer). Other amounts
    (revenue, book, ...) are in :func:`counterweight.measure.fundamentals.issuer_amounts`.
    """
    if "ticker" not in snapshot.columns or "market_cap" not in snapshot.columns:
        raise InputError("fundamentals need columns 'ticker' and 'market_cap'")
    panel = issuer_amounts(snapshot.drop(columns="date", errors="ignore"), issuers, class_caps)
    out = panel.droplevel("date")[["market_cap", "earnings", "tickers"]]
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


def _valuation_frame(table: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Basket rows of :func:`basket_table` (one date) as :data:`VALUATION_COLUMNS`."""
    t = table.droplevel("date").reindex(list(names))
    out = pd.DataFrame(
        {
            "pe": t["pe"],
            "earnings_yield": t["earnings_yield"],
            "market_cap": t["earnings_cap"].fillna(0.0),
            "earnings": t["earnings"].fillna(0.0),
            "n_names": t["n_names"].fillna(0).astype(int),
            "n_missing": t["n_missing"].fillna(0).astype(int),
            "coverage": t["coverage"],
        },
        index=pd.Index(list(names)),
    )
    return out[list(VALUATION_COLUMNS)]


def _basket_names(
    membership: pd.DataFrame, groups: Sequence[Group], include_index: bool
) -> list[str]:
    present = list(dict.fromkeys(membership["basket"]))
    names = (["Index"] if include_index else []) + [g.name for g in groups]
    return list(dict.fromkeys([*names, *present]))


def _one_snapshot(
    fundamentals: pd.DataFrame, when: pd.Timestamp, universe: Iterable[str] | None
) -> pd.DataFrame:
    snap = fundamentals[pd.to_datetime(fundamentals["date"]) == when]
    snap = snap.assign(ticker=snap["ticker"].map(normalize_ticker)).drop_duplicates(
        "ticker", keep="last"
    )
    if universe is not None:
        names = list(dict.fromkeys(normalize_ticker(t) for t in universe))
        snap = snap.set_index("ticker").reindex(names).rename_axis("ticker").reset_index()
    return snap.assign(date=when)


def valuation_dates(fundamentals: pd.DataFrame) -> pd.DatetimeIndex:
    """Snapshot dates on which at least one name has earnings (EPS with a price, or a P/E).

    A snapshot that only carries caps (e.g. caps carried from another source) is not a
    valuation snapshot.
    """
    if fundamentals.empty or "date" not in fundamentals.columns:
        return pd.DatetimeIndex([])
    if "market_cap" not in fundamentals.columns:
        return snapshot_dates(fundamentals)
    has = earnings_from_snapshot(fundamentals).notna()
    d = pd.to_datetime(fundamentals["date"])[has.to_numpy()]
    return pd.DatetimeIndex(sorted(d.unique()))


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

    Uses the last snapshot on or before ``as_of`` that carries earnings
    (:func:`valuation_dates`). ``universe`` (e.g. the index members on
    that date) restricts the names; by default every name in the snapshot counts, and a
    universe name absent from the snapshot counts as lacking data. Returns the table (rows:
    baskets; columns :data:`VALUATION_COLUMNS`) and the snapshot date used. See
    :func:`valuation_at` for the same with the snapshot's age.
    """
    if "date" not in fundamentals.columns:
        raise InputError("fundamentals need a 'date' column (one row per snapshot and ticker)")
    when = latest_snapshot(valuation_dates(fundamentals), as_of)
    group_list = list(groups)
    snap = _one_snapshot(fundamentals, when, universe)
    panel = issuer_amounts(snap, issuers, class_caps)
    mem = basket_membership(
        panel["tickers"].droplevel("date"),
        group_list,
        sectors=sectors,
        include_index=include_index,
        include_rest=include_rest,
    )
    table = basket_table(panel, mem)
    return _valuation_frame(table, _basket_names(mem, group_list, include_index)), when


@dataclass(frozen=True)
class ValuationReading:
    """Valuation on the snapshot nearest on or before the as-of date, with that snapshot's age.

    ``table``: rows baskets, columns :data:`VALUATION_COLUMNS`; ``age_days`` = ``as_of`` minus
    ``snapshot`` in calendar days (0 when no as-of date was given).
    """

    table: pd.DataFrame
    snapshot: pd.Timestamp
    as_of: pd.Timestamp
    age_days: int

    def to_dict(self) -> dict[str, object]:
        return {
            "snapshot": self.snapshot.date().isoformat(),
            "as_of": self.as_of.date().isoformat(),
            "age_days": self.age_days,
        }


def valuation_at(
    fundamentals: pd.DataFrame,
    groups: Iterable[Group],
    as_of: str | pd.Timestamp | None = None,
    **kwargs: object,
) -> ValuationReading:
    """:func:`group_valuation` on the snapshot nearest on or before ``as_of``, with its age.

    ``kwargs`` go to :func:`group_valuation` (``universe``, ``issuers``, ``sectors``, ...).
    """
    table, when = group_valuation(fundamentals, groups, as_of=as_of, **kwargs)  # type: ignore[arg-type]
    ref = when if as_of is None else pd.Timestamp(as_of)
    return ValuationReading(table, when, ref, int((ref - when).days))


def valuation_history(
    fundamentals: pd.DataFrame,
    groups: Iterable[Group],
    *,
    issuers: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
    column: str = "pe",
) -> pd.DataFrame:
    """Aggregate P/E (or another :func:`basket_table` column) of the index, each group and the
    rest on every snapshot (date x basket).

    Each snapshot's names are its own universe (the constituents listed on that date).
    """
    group_list = list(groups)
    if fundamentals.empty or "date" not in fundamentals.columns:
        raise DataUnavailableError("no fundamentals snapshots")
    data = snapshot_data(fundamentals, group_list, issuers=issuers, class_caps=class_caps)
    wide = data.table[column].unstack("basket")
    names = [b for b in _basket_names(data.membership, group_list, True) if b in wide.columns]
    frame = wide[names]
    frame.columns.name = None
    frame.index.name = "date"
    return frame.astype(float)


EARNINGS_WINDOWS: tuple[str, ...] = ("1M", "3M", "YTD", "1Y", "3Y", "5Y", "10Y")
"""Default windows of the earnings gap: the report's windows plus multi-year ones."""


@dataclass(frozen=True)
class EarningsGap:
    """Trailing earnings of a group (default the Mag 7) against the rest, from the snapshots.

    * ``earnings``: date x basket aggregate trailing earnings (USD, share classes once) on the
      usable snapshots, with ``coverage`` (share of the basket's cap with earnings) beside it;
    * ``windows``: one row per window, ending on snapshot ``end``: ``start``, ``end``, ``years``,
      each basket's like-for-like growth and, for windows of a year or more, its annualised
      rate ``(1 + g) ** (1 / years) - 1`` (``<basket> (annualised)``),
      ``gap`` (group minus rest growth), ``coverage`` (the lowest like-for-like coverage of the
      baskets) and ``reason`` (why a window is unavailable; empty when it is);
    * ``trailing``: date x basket like-for-like growth over ``trailing_label`` ending on each
      snapshot, NaN where no snapshot sits near enough the start;
    * ``index``: chain-linked like-for-like earnings (1.0 on the first usable snapshot);
    * ``spacing``: how the snapshots are spaced, i.e. what windows they can support.
    """

    group: str
    baskets: tuple[str, ...]
    earnings: pd.DataFrame
    coverage: pd.DataFrame
    windows: pd.DataFrame
    trailing: pd.DataFrame
    index: pd.DataFrame
    spacing: SnapshotSpacing
    end: pd.Timestamp
    as_of: pd.Timestamp
    age_days: int
    trailing_label: str = "1Y"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def available(self) -> list[str]:
        return [str(w) for w in self.windows.index[self.windows["reason"] == ""]]


def _growth_wide(growth: pd.DataFrame, baskets: Sequence[str]) -> pd.DataFrame:
    if growth.empty:
        return pd.DataFrame(columns=list(baskets), dtype=float)
    return growth["growth"].unstack("basket").reindex(columns=list(baskets)).astype(float)


def earnings_gap(
    fundamentals: pd.DataFrame | SnapshotData,
    group: Group = MAG7,
    *,
    as_of: str | pd.Timestamp | None = None,
    windows: Sequence[str] = EARNINGS_WINDOWS,
    trailing: str = "1Y",
    issuers: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
    min_coverage: float = 0.8,
) -> EarningsGap:
    """Like-for-like trailing earnings growth of ``group`` against the rest and the index.

    ``fundamentals`` is the long snapshot table, or a :class:`SnapshotData` prepared with
    ``group`` as its only group (then ``issuers`` and ``class_caps`` were given there). Only
    snapshots on or before ``as_of`` are used (no look-ahead), and only usable ones
    (:func:`~counterweight.measure.fundamentals.usable_snapshots`: a partial snapshot never
    anchors a window). Windows end on the last usable snapshot; each starts on the snapshot
    nearest its start within :func:`~counterweight.measure.fundamentals.window_tolerance`,
    else it is unavailable with the reason. A window whose like-for-like names cover less than
    ``min_coverage`` of a basket's cap is unavailable too. When the trailing window is not
    available, a row ``since <date>`` measures growth from the last usable snapshot on or
    before its target start, so the spacing still yields one reading (``years`` says how long).
    """
    if isinstance(fundamentals, SnapshotData):
        data = fundamentals
        check_no_look_ahead(data, as_of)
        if data.groups != (group.name,):
            raise ConfigError(
                f"the prepared snapshots have groups {list(data.groups)}; the earnings gap "
                f"needs exactly ['{group.name}'] so that Rest is everything else"
            )
    else:
        if fundamentals.empty or "date" not in fundamentals.columns:
            raise DataUnavailableError(
                "no fundamentals snapshots: the earnings gap needs EPS snapshots"
            )
        data = snapshot_data(
            fundamentals, [group], as_of=as_of, issuers=issuers, class_caps=class_caps
        )
    mem, table, arr = data.membership, data.table, data.arrays
    baskets = tuple(b for b in (group.name, "Rest", "Index") if b in set(mem["basket"]))
    if group.name not in baskets:
        raise DataUnavailableError(f"none of the tickers of '{group.name}' are in the snapshots")
    usable = data.usable
    if len(usable) == 0:
        raise DataUnavailableError("no snapshot carries earnings (EPS or P/E)")
    dropped = sorted(set(data.dates) - set(usable))
    notes = (
        (
            f"{len(dropped)} snapshot(s) with too few names carrying earnings are not used: "
            + ", ".join(str(d.date()) for d in dropped[:5])
            + (" ..." if len(dropped) > 5 else ""),
        )
        if dropped
        else ()
    )
    end = pd.Timestamp(usable[-1])
    ref_raw = as_of if as_of is not None else data.as_of
    ref = end if ref_raw is None else pd.Timestamp(ref_raw)
    earn = table["earnings"].unstack("basket").reindex(index=usable, columns=list(baskets))
    cov = table["coverage"].unstack("basket").reindex(index=usable, columns=list(baskets))

    # windows ending on the last usable snapshot
    resolved: list[SnapshotWindow] = [resolve_snapshot_window(usable, w, end) for w in windows]
    fallback = fallback_window(usable, trailing, end)
    if fallback.label != trailing and fallback.available:
        resolved.append(replace(fallback, reason=""))
    g = like_for_like_arrays(arr, window_pairs(resolved), ["earnings"])["earnings"]
    rows = []
    for w in resolved:
        row: dict[str, object] = {
            "start": w.start,
            "end": w.end,
            "years": w.years,
            "reason": w.reason,
        }
        if w.available:
            sub = g.xs(w.label, level=0) if w.label in g.index.get_level_values(0) else None
            growth = sub["growth"] if sub is not None else pd.Series(dtype=float)
            cover = sub["coverage"] if sub is not None else pd.Series(dtype=float)
            low = [b for b in baskets if not cover.get(b, 0.0) >= min_coverage]
            if low:
                row["reason"] = (
                    f"like-for-like names cover {float(cover.get(low[0], 0.0)):.0%} of "
                    f"{low[0]}'s cap (minimum {min_coverage:.0%})"
                )
            for b in baskets:
                x = float(growth.get(b, np.nan)) if not low else float("nan")
                row[b] = x
                row[f"{b} (annualised)"] = (  # a rate per year only over a year or more
                    (1.0 + x) ** (1.0 / w.years) - 1.0 if w.years >= 1 and x > -1 else float("nan")
                )
            row["coverage"] = float(min(cover.get(b, 0.0) for b in baskets))
        rows.append(row)
    cols = ["start", "end", "years"]
    for b in baskets:
        cols += [b, f"{b} (annualised)"]
    table_w = pd.DataFrame(rows, index=pd.Index([w.label for w in resolved], name="window"))
    table_w = table_w.reindex(columns=[*cols, "gap", "coverage", "reason"])
    table_w["gap"] = table_w[group.name].astype(float) - (
        table_w["Rest"].astype(float) if "Rest" in table_w else np.nan
    )
    table_w["reason"] = table_w["reason"].fillna("").astype(str)

    # trailing growth ending on every usable snapshot
    trail_w = [resolve_snapshot_window(usable, trailing, pd.Timestamp(d)) for d in usable]
    ok = [w for w in trail_w if w.available]
    pairs = pd.DataFrame(
        {"start": [w.start for w in ok], "end": [w.end for w in ok]},
        index=pd.Index([w.end for w in ok], name="date"),
    )
    trailing_growth = _growth_wide(
        like_for_like_arrays(arr, pairs, ["earnings"])["earnings"], baskets
    )
    trailing_growth = trailing_growth.reindex(usable)
    trailing_growth.index.name = "date"

    # chain-linked like-for-like index over consecutive usable snapshots
    links = pd.DataFrame(
        {"start": usable[:-1], "end": usable[1:]}, index=pd.Index(usable[1:], name="date")
    )
    lg = _growth_wide(like_for_like_arrays(arr, links, ["earnings"])["earnings"], baskets).reindex(
        usable[1:]
    )
    factors = np.vstack([np.ones(len(baskets)), 1.0 + lg.to_numpy(dtype=float)])
    broken = np.cumsum(~np.isfinite(factors), axis=0) > 0  # a broken link ends the chain
    chain = np.where(broken, np.nan, np.cumprod(np.where(broken, 1.0, factors), axis=0))
    index = pd.DataFrame(chain, index=pd.Index(usable, name="date"), columns=list(baskets))

    return EarningsGap(
        group=group.name,
        baskets=baskets,
        earnings=earn,
        coverage=cov,
        windows=table_w,
        trailing=trailing_growth,
        index=index,
        spacing=snapshot_spacing(usable),
        end=end,
        as_of=ref,
        age_days=int((ref - end).days),
        trailing_label=trailing,
        notes=notes,
    )


@dataclass(frozen=True)
class ValuationOverview:
    """Everything the report shows about valuation over time, from one pass over the snapshots.

    * ``pe``: date x basket (Index, the group, Rest) aggregate P/E on the usable snapshots,
      each snapshot's own names as its universe;
    * ``pe_summary``: each basket's latest P/E against its own history
      (:func:`~counterweight.measure.history.versus_history`: average, percentile, min, max and
      when) over the last snapshot of each calendar month, so that a burst of daily snapshots
      weighs as one month;
    * ``gap``: the :class:`EarningsGap`; ``fundamentals``: the
      :class:`~counterweight.measure.fundamentals.FundamentalsReading` (levels and growth by
      basket and sector).
    """

    pe: pd.DataFrame
    pe_summary: pd.DataFrame
    gap: EarningsGap
    fundamentals: FundamentalsReading


def valuation_overview(
    fundamentals: pd.DataFrame,
    group: Group = MAG7,
    *,
    as_of: str | pd.Timestamp | None = None,
    windows: Sequence[str] = EARNINGS_WINDOWS,
    growth_window: str = "1Y",
    issuers: pd.Series | None = None,
    sectors: pd.Series | None = None,
    class_caps: Literal["company", "class"] = "company",
) -> ValuationOverview:
    """P/E history, earnings gap and fundamentals on the snapshots up to ``as_of`` (one pass)."""
    data = snapshot_data(
        fundamentals, [group], as_of=as_of, issuers=issuers, sectors=sectors, class_caps=class_caps
    )
    gap = earnings_gap(data, group, as_of=as_of, windows=windows)
    reading = fundamentals_reading(data, [group], as_of=as_of, window=growth_window)
    baskets = [b for b in ("Index", group.name, "Rest") if b in set(data.membership["basket"])]
    pe = data.table["pe"].unstack("basket").reindex(index=data.usable, columns=baskets)
    pe.index.name = "date"
    pe.columns.name = None
    monthly = pe.groupby(pd.DatetimeIndex(pe.index).to_period("M")).tail(
        1
    )  # a burst of daily snapshots counts once
    rows = [
        versus_history(monthly[b].rename(b)).to_dict() for b in baskets if monthly[b].notna().any()
    ]
    summary = pd.DataFrame(rows).set_index("name") if rows else pd.DataFrame()
    return ValuationOverview(pe=pe, pe_summary=summary, gap=gap, fundamentals=reading)
