"""The main report: every number of ``counterweight report``, computed once from a Market.

:func:`build_report` calls the measures (concentration, leadership, valuation) and collects
their results in a :class:`MainReport`. The renderers (:mod:`~counterweight.report.terminal`,
:mod:`~counterweight.report.json_report`, :mod:`~counterweight.report.figures`) only format
what is in it, so the terminal, JSON and HTML always show the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from counterweight.errors import DataUnavailableError
from counterweight.groups import MAG7, Group
from counterweight.market import Market, Provenance
from counterweight.measure.concentration import (
    ConcentrationHistory,
    concentration_history,
    top_holdings,
)
from counterweight.measure.leadership import (
    DEFAULT_WINDOWS,
    SIZE_PAIRS,
    STYLE_PAIRS,
    GroupBreadth,
    Window,
    attribution,
    contributions_by,
    etf_pairs,
    etf_window_returns,
    group_breadth,
    group_daily_returns,
    group_labels,
    resolve_window,
    resolve_windows,
    rolling_window_returns,
    sector_daily_returns,
    sector_etf_returns,
    window_returns,
)
from counterweight.measure.valuation import ValuationOverview, group_valuation, valuation_overview

ROLLING_DAYS = 63
"""Trading days of the rolling Mag 7 minus rest return in the charts (about 3 months)."""


@dataclass
class MainReport:
    """Everything the main report shows. Shares and returns are fractions."""

    title: str
    as_of: pd.Timestamp
    start: pd.Timestamp
    level: str
    provenance: Provenance
    groups: tuple[str, ...]
    concentration: ConcentrationHistory
    concentration_summary: pd.DataFrame
    sector_summary: pd.DataFrame
    top_holdings: pd.DataFrame
    windows: list[Window]
    skipped_windows: list[str]
    daily_returns: pd.DataFrame  # date x "<basket> (cap|equal)"
    returns: pd.DataFrame  # window x basket and ETF returns
    equal_vs_cap: pd.DataFrame  # window x [members, RSP - SPY]
    size_style: pd.DataFrame  # pair x window
    breadth: list[GroupBreadth]
    contribution_window: Window
    contribution_total: float
    contributions_top: pd.DataFrame  # issuer -> name, contribution, return share
    contributions_groups: pd.Series
    contributions_sectors: pd.Series
    sector_returns: pd.DataFrame  # sector x [members cap, members equal, SPDR, EW ETF]
    rolling_relative: pd.Series
    etf_growth: pd.DataFrame
    valuation: pd.DataFrame | None = None
    valuation_date: pd.Timestamp | None = None
    valuation_overview: ValuationOverview | None = None  # P/E history, earnings gap, fundamentals
    long_run: ConcentrationHistory | None = None  # a longer, coarser history (month ends)
    long_run_summary: pd.DataFrame | None = None
    long_run_label: str = ""
    notes: list[str] = field(default_factory=list)


def _member_window_row(daily: pd.DataFrame, window: Window) -> pd.Series:
    return window_returns(daily, [window]).iloc[0]


def build_report(
    market: Market,
    *,
    groups: Sequence[Group] = (),
    as_of: str | pd.Timestamp | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    windows: Sequence[str] = DEFAULT_WINDOWS,
    contribution_window: str = "YTD",
    issuer_level: bool = True,
    top: int = 10,
    long_history: Market | None = None,
    long_history_label: str = "month-end history",
) -> MainReport:
    """Compute the main report on ``market`` restricted to ``start .. min(end, as_of)``.

    Current readings are on ``as_of`` (default: the last date); their history is every date
    from ``start`` up to ``as_of``. ``groups`` are custom baskets reported beside the Mag 7.
    ``contribution_window`` is the window of the contribution tables (falls back to the whole
    range when the data cannot cover it). ``long_history`` (e.g. the embedded month-end panel)
    adds the concentration readings against a longer history, up to the same as-of date.
    """
    stop = end
    if as_of is not None:
        market.date_position(as_of)  # a clear error when as_of precedes the data
        a = pd.Timestamp(as_of)
        stop = a if end is None else min(a, pd.Timestamp(end))
    m = market.slice(start, stop) if (start is not None or stop is not None) else market
    if len(m.dates) < 2:
        raise DataUnavailableError("the report needs at least two dates of data")
    notes: list[str] = []
    all_groups: list[Group] = [MAG7, *[g for g in groups if g.name != MAG7.name]]
    for g in all_groups:
        if not g.mask(m).any():
            notes.append(f"group '{g.name}': none of its tickers are in the data")

    conc = concentration_history(m, groups=all_groups, issuer_level=issuer_level)
    summary = conc.summary()
    sectors = conc.sector_summary()
    tops = top_holdings(m, n=top, issuer_level=issuer_level)

    wins, skipped = resolve_windows(m.dates, windows)
    if not wins:
        wins = [resolve_window(m.dates, "ALL")]
    daily = group_daily_returns(m, [MAG7])
    custom = [g for g in all_groups if g is not MAG7]
    if custom:
        extra = group_daily_returns(m, custom, include_rest=False)
        daily = pd.concat(
            [daily, extra.drop(columns=[c for c in extra.columns if c in daily.columns])], axis=1
        )
    rets = window_returns(daily, wins)
    bench_cols = [t for t in ("SPY", "RSP", "QQQ", "IWM") if t in m.benchmarks.columns]
    etfs = etf_window_returns(m.benchmarks, bench_cols, wins)
    if not etfs.empty:
        rets = pd.concat([rets, etfs.add_suffix(" (ETF)")], axis=1)
    ew = pd.DataFrame(
        {"members: equal - cap": rets["Index (equal)"] - rets["Index (cap)"]}, index=rets.index
    )
    if {"RSP", "SPY"} <= set(m.benchmarks.columns):
        ew["RSP - SPY"] = etfs["RSP"] - etfs["SPY"]
    size_style = etf_pairs(
        m.benchmarks, [*SIZE_PAIRS[1:], *STYLE_PAIRS], wins
    )  # RSP-SPY shown above

    att = attribution(m, "cap")
    breadth = []
    for g in all_groups:
        for w in wins:
            try:
                breadth.append(group_breadth(m, g, w, att.window_return(w)))
            except DataUnavailableError as exc:
                notes.append(str(exc))

    try:
        cwin = resolve_window(m.dates, contribution_window)
    except DataUnavailableError:
        cwin = resolve_window(m.dates, "ALL")
        notes.append(
            f"contributions: {contribution_window} not covered by the data; using the whole range"
        )
    contrib = att.contributions(cwin)
    total = att.window_return(cwin)
    issuer_of = m.securities["issuer"].astype(str)
    by_issuer = (
        contributions_by(contrib, issuer_of)
        if issuer_level
        else contrib.sort_values(ascending=False)
    )
    name_of = (
        m.securities.groupby(issuer_of)["name"].first() if issuer_level else m.securities["name"]
    )
    top_c = by_issuer.reindex(by_issuer.abs().sort_values(ascending=False).index[:top])
    contributions_top = pd.DataFrame(
        {
            "name": [str(i) if issuer_level else str(name_of.get(i, i)) for i in top_c.index],
            "sector": [
                m.securities["sector"][issuer_of == i].iloc[0]
                if issuer_level
                else m.securities["sector"].get(i)
                for i in top_c.index
            ],
            "contribution": top_c.to_numpy(),
            "share_of_return": top_c.to_numpy() / total if total != 0 else np.nan,
        },
        index=top_c.index,
    )
    by_group = contributions_by(contrib, group_labels(m, [MAG7]))
    for g in custom:
        by_group[g.name] = float(contrib[g.mask(m)].sum())
    by_sector = contributions_by(contrib, m.securities["sector"], other="Unclassified")

    sec_cap = sector_daily_returns(m, "cap")
    sec_eq = sector_daily_returns(m, "equal")
    sec_ret = pd.DataFrame(
        {
            "members (cap)": window_returns(sec_cap, [cwin]).iloc[0].drop(["start", "end"]),
            "members (equal)": window_returns(sec_eq, [cwin]).iloc[0].drop(["start", "end"]),
        }
    ).astype(float)
    etf_sec = sector_etf_returns(m.benchmarks, cwin)
    if not etf_sec.empty:
        sec_ret = sec_ret.join(
            etf_sec.rename(
                columns={"cap_weight": "sector ETF", "equal_weight": "equal-weight ETF"}
            )[["etf", "sector ETF", "equal_etf", "equal-weight ETF"]],
            how="left",
        )
    sec_ret = sec_ret.sort_values("members (cap)", ascending=False)

    rel = pd.Series(
        rolling_window_returns(daily["Mag 7 (cap)"].to_numpy(), ROLLING_DAYS)
        - rolling_window_returns(daily["Rest (cap)"].to_numpy(), ROLLING_DAYS),
        index=m.dates,
        name=f"Mag 7 minus rest, rolling {ROLLING_DAYS}-day return",
    )
    etf_growth = pd.DataFrame()
    if {"RSP", "SPY"} <= set(m.benchmarks.columns):
        b = m.benchmarks[["SPY", "RSP"]]
        b = b[(b.index >= m.dates[0]) & (b.index <= m.dates[-1])].dropna()
        if not b.empty:
            etf_growth = b / b.iloc[0]

    valuation = None
    val_date = None
    val_overview = None
    if not m.fundamentals.empty:
        try:
            snap_dates = pd.to_datetime(m.fundamentals["date"])
            last = snap_dates[snap_dates <= m.dates[-1]].max()
            universe = m.members_on(last) if pd.notna(last) and last >= m.dates[0] else None
            valuation, val_date = group_valuation(
                m.fundamentals,
                all_groups,
                as_of=m.dates[-1],
                universe=universe,
                issuers=m.securities["issuer"].astype(str),
                sectors=m.securities["sector"],
            )
        except DataUnavailableError as exc:
            notes.append(f"valuation: {exc}")
        try:  # the valuation over time (see report/valuation_section.py)
            val_overview = valuation_overview(
                m.fundamentals,
                as_of=m.dates[-1],
                issuers=m.securities["issuer"].astype(str),
                sectors=m.securities["sector"],
            )
        except DataUnavailableError as exc:
            notes.append(f"valuation history: {exc}")
    else:
        notes.append("valuation: no fundamentals in the data")

    long_run = long_summary = None
    if long_history is not None:
        try:
            lh = long_history.slice(None, m.dates[-1])
            long_run = concentration_history(lh, groups=all_groups, issuer_level=issuer_level)
            long_summary = long_run.summary()
        except DataUnavailableError as exc:
            notes.append(f"long-run history: {exc}")
            long_run = long_summary = None

    return MainReport(
        title="counterweight: index concentration and leadership",
        as_of=m.dates[-1],
        start=m.dates[0],
        level=conc.level,
        provenance=conc.provenance,
        groups=tuple(g.name for g in all_groups),
        concentration=conc,
        concentration_summary=summary,
        sector_summary=sectors,
        top_holdings=tops,
        windows=wins,
        skipped_windows=skipped,
        daily_returns=daily,
        returns=rets,
        equal_vs_cap=ew,
        size_style=size_style,
        breadth=breadth,
        contribution_window=cwin,
        contribution_total=total,
        contributions_top=contributions_top,
        contributions_groups=by_group,
        contributions_sectors=by_sector,
        sector_returns=sec_ret,
        rolling_relative=rel,
        etf_growth=etf_growth,
        valuation=valuation,
        valuation_date=val_date,
        valuation_overview=val_overview,
        long_run=long_run,
        long_run_summary=long_summary,
        long_run_label=long_history_label,
        notes=notes,
    )
