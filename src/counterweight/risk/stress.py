"""Stress scenarios: parametric shocks propagated through the covariance, historical replays.

Parametric. A shock fixes a linear combination of returns: ``a' r = s``. With zero-mean
returns r ~ (0, Sigma) the best linear (for Gaussian returns, the conditional) expectation of
every name given k shocks A r = s (A is k x N) is

    E[r | A r = s] = Sigma A' (A Sigma A')^{-1} s,

so every shocked combination receives exactly its shock and the others move by their
covariance with it. The horizon cancels (Sigma scales out), so the daily covariance serves.

What a shock fixes (documented choice): a **group** or **sector** shock ("Mag 7=-0.30",
"Information Technology=-0.25") fixes the group's cap-weighted return (one equation; members
move with their own betas to the basket and the basket returns exactly s). ``mode="each"``
instead fixes every member at s (one equation per name). A **factor** shock ("small caps=+0.10")
fixes the return of a reference series from ``market.benchmarks`` (IWM for small caps, IJH
mid caps, any ETF by ticker), estimated jointly with the stocks. A single ticker fixes itself.

Historical. A replay applies each name's total return over a window of the data,
P(end) / P(day before start) - 1; names without prices over the window get the window's
return of a proxy series (SPY if present) and are listed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from counterweight.errors import ConfigError, DataUnavailableError, InputError
from counterweight.groups import GICS_SECTORS, MAG7, Group
from counterweight.market import Market, normalize_ticker
from counterweight.risk.covariance import periods_per_year

FACTOR_ALIASES: dict[str, str] = {
    "small caps": "IWM",
    "small cap": "IWM",
    "smallcaps": "IWM",
    "mid caps": "IJH",
    "mid cap": "IJH",
    "equal weight": "RSP",
    "market": "SPY",
    "s&p 500": "SPY",
    "nasdaq 100": "QQQ",
    "growth": "VUG",
    "value": "VTV",
}

HISTORICAL: dict[str, tuple[str, str]] = {
    "2022": ("2022-01-01", "2022-12-31"),
    "2022 bear market": ("2022-01-03", "2022-10-12"),
    "April 2025 sell-off": ("2025-04-02", "2025-04-08"),
    "March 2020": ("2020-02-20", "2020-03-23"),
    "2018 Q4": ("2018-10-01", "2018-12-24"),
    "2023 rally": ("2023-01-01", "2023-12-31"),
}
"""Named windows (inclusive): the first trading day's return is included."""


@dataclass(frozen=True)
class Shock:
    """A return ``size`` (fraction) applied to a group, a factor series or a ticker.

    ``kind``: "group" (``tickers`` is the basket), "factor" (``series`` a benchmark column)
    or "ticker". ``mode``: "basket" (cap-weighted basket return = size) or "each" (every
    member = size).
    """

    name: str
    size: float
    kind: Literal["group", "factor", "ticker"]
    tickers: tuple[str, ...] = ()
    series: str = ""
    mode: Literal["basket", "each"] = "basket"


def parse_shock(spec: str, market: Market, *, mode: Literal["basket", "each"] = "basket") -> Shock:
    """Parse "NAME=SIZE": NAME a group (Mag 7, a GICS sector), a factor alias (small caps ->
    IWM), a benchmark ETF column, or a ticker; SIZE a fraction ("-0.30") or percent ("-30%").

    A fraction must lie in (-1, 1]: "Mag 7=30" is refused rather than read as +3000%. With a
    percent sign a rise may exceed +100% (up to +1000%); a fall must stay above -100%.
    """
    if "=" not in spec:
        raise ConfigError(f"scenario '{spec}': expected NAME=SIZE, e.g. 'Mag 7=-0.30'")
    name, _, raw = spec.rpartition("=")
    name = name.strip()
    raw = raw.strip()
    percent = raw.endswith("%")
    number = raw[:-1].strip() if percent else raw
    try:
        size = float(number) / 100 if percent else float(number)
    except ValueError:
        raise ConfigError(f"scenario '{spec}': '{raw}' is not a number") from None
    if not math.isfinite(size):
        raise ConfigError(f"scenario '{spec}': '{raw}' is not a finite number")
    if not percent and abs(size) > 1:
        raise ConfigError(
            f"scenario '{spec}': {raw} would be {size:+.0%}; for {size:+g}% write "
            f"{size / 100:g} or {raw}%"
        )
    if not (size > -1):
        raise ConfigError(f"scenario '{spec}': a return of -100% or below is impossible")
    if size > 10:
        raise ConfigError(f"scenario '{spec}': a rise above +1000% is not a stress scenario")
    key = re.sub(r"\s+", " ", name.lower())
    if key in {"mag 7", "mag7", "magnificent 7", "magnificent seven"}:
        return Shock(MAG7.name, size, "group", MAG7.tickers, mode=mode)
    sectors = market.securities["sector"].dropna().astype(str)
    for sector in (*GICS_SECTORS, *sorted(sectors.unique())):
        if key == sector.lower():
            members = tuple(sectors.index[sectors == sector])
            if not members:
                raise DataUnavailableError(f"scenario '{spec}': no {sector} names in the market")
            return Shock(sector, size, "group", members, mode=mode)
    if key in FACTOR_ALIASES:
        return Shock(name, size, "factor", series=FACTOR_ALIASES[key])
    sym = normalize_ticker(name)
    if sym in market.benchmarks.columns:
        return Shock(sym, size, "factor", series=sym)
    if sym in market.tickers:
        return Shock(sym, size, "ticker", (sym,))
    raise ConfigError(
        f"scenario '{spec}': unknown name '{name}' (use Mag 7, a GICS sector, small caps, "
        "a benchmark ETF or a ticker)"
    )


def conditional_moves(sigma: np.ndarray, a: np.ndarray, s: np.ndarray) -> np.ndarray:
    """E[r | A r = s] = Sigma A' (A Sigma A')^{-1} s for zero-mean r (A: k x N, s: k)."""
    a = np.atleast_2d(a)
    sa = sigma @ a.T  # N x k
    m = a @ sa  # k x k
    try:
        lam = np.linalg.solve(m, s)
    except np.linalg.LinAlgError:
        raise ConfigError("the shocks are redundant (one is a combination of others)") from None
    if np.linalg.cond(m) > 1e12:
        raise ConfigError("the shocks are nearly redundant (one is almost a combination of others)")
    return sa @ lam


@dataclass(frozen=True)
class Scenario:
    """Returns of every name under a scenario, with how they were obtained."""

    name: str
    moves: pd.Series  # ticker -> return (fraction)
    kind: Literal["parametric", "historical"]
    detail: str = ""
    proxied: tuple[str, ...] = field(default_factory=tuple)
    fallback: float | None = None  # return of names the scenario does not cover (a proxy's)


def _basket_weights(market: Market, tickers: Sequence[str], as_of: int) -> pd.Series:
    caps = pd.Series(market.caps[as_of], index=market.tickers).reindex(list(tickers))
    if caps.notna().sum() == 0:
        return pd.Series(1.0 / len(tickers), index=list(tickers))
    caps = caps.fillna(0.0)
    return caps / caps.sum()


def parametric(
    market: Market,
    shocks: Sequence[Shock],
    *,
    as_of: str | pd.Timestamp | None = None,
    window: int = 252,
    tickers: Sequence[str] | None = None,
    proxy: str = "SPY",
) -> Scenario:
    """Moves of ``tickers`` (default: all with history) given ``shocks`` (see module doc).

    The covariance is Ledoit-Wolf on the last ``window`` daily returns of the stocks and the
    factor series the shocks name, estimated jointly. The ``proxy`` series (SPY) is estimated
    with them; its conditional move is the scenario's ``fallback`` for names without history.
    """
    from counterweight.risk.covariance import market_covariance

    if not shocks:
        raise ConfigError("no shocks given")
    pos = market.date_position(as_of)
    factors = sorted({s.series for s in shocks if s.kind == "factor"})
    if proxy in market.benchmarks.columns and proxy not in factors and proxy not in market.tickers:
        factors.append(proxy)  # names without history move as the proxy does
    names = list(market.tickers if tickers is None else [normalize_ticker(t) for t in tickers])
    for s in shocks:
        names.extend(t for t in s.tickers if t in market.tickers)
    names = list(dict.fromkeys(names))
    cov = market_covariance(
        market, as_of=market.dates[pos], window=window, tickers=names, extra=factors
    )
    labels = cov.matrix.index
    sigma = cov.matrix.to_numpy()
    rows: list[np.ndarray] = []
    sizes: list[float] = []
    for s in shocks:
        if s.kind == "factor":
            if s.series not in labels:
                raise DataUnavailableError(
                    f"{s.series} has too little history before {market.dates[pos].date()}"
                )
            rows.append((labels == s.series).astype(float))
            sizes.append(s.size)
            continue
        present = [t for t in s.tickers if t in labels]
        if not present:
            raise DataUnavailableError(f"no {s.name} names with return history in the market")
        if s.mode == "each":
            for t in present:
                rows.append((labels == t).astype(float))
                sizes.append(s.size)
        else:
            bw = _basket_weights(market, present, pos)
            rows.append(bw.reindex(labels).fillna(0.0).to_numpy())
            sizes.append(s.size)
    a = np.vstack(rows)
    moves = conditional_moves(sigma, a, np.asarray(sizes))
    out = pd.Series(moves, index=labels, name="return")
    fallback = float(out[proxy]) if proxy in out.index and proxy not in market.tickers else None
    out = out.drop(labels=[f for f in factors if f in out.index and f not in market.tickers])
    detail = (
        "; ".join(
            f"{s.name} {s.size:+.1%}"
            + (" (each)" if s.mode == "each" and s.kind == "group" else "")
            for s in shocks
        )
        + f"; Ledoit-Wolf covariance of {cov.observations} daily returns to {market.dates[pos].date()}"
    )
    if fallback is not None:
        detail += f"; names without history move as {proxy} ({fallback:+.1%})"
    return Scenario(
        " & ".join(f"{s.name} {s.size:+.0%}" for s in shocks),
        out,
        "parametric",
        detail,
        fallback=fallback,
    )


def replay(
    market: Market,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    name: str = "",
    proxy: str = "SPY",
) -> Scenario:
    """Each name's total return from the close before ``start`` to the close on/before ``end``."""
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    if e < s:
        raise InputError(f"replay window ends ({e.date()}) before it starts ({s.date()})")
    first = market.dates[0] if len(market.dates) else None
    if first is None or s <= first or e > market.dates[-1] + pd.Timedelta(days=7):
        span = "no dates" if first is None else f"{first.date()} .. {market.dates[-1].date()}"
        raise DataUnavailableError(
            f"the window {s.date()} .. {e.date()} is not in the data ({span}); "
            "it needs a price on the trading day before the window"
        )
    i0 = int(market.dates.searchsorted(s, side="left")) - 1
    i1 = market.date_position(e)
    coarse = periods_per_year(market.dates) != 252
    if coarse:  # monthly data: the nearest dates that cover the window
        i1 = min(int(market.dates.searchsorted(e, side="left")), len(market.dates) - 1)
    if i1 <= i0:
        raise DataUnavailableError(f"no trading dates between {s.date()} and {e.date()}")
    p0, p1 = market.prices[i0], market.prices[i1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = p1 / p0 - 1.0
    moves = pd.Series(r, index=market.tickers, name="return")
    bad = moves.index[~np.isfinite(moves.to_numpy())]
    proxied: tuple[str, ...] = ()
    note = ""
    fallback: float | None = None
    bm = market.benchmarks
    if proxy in bm.columns:
        px = bm[proxy].dropna()
        a = px.loc[: market.dates[i0]]
        b = px.loc[: market.dates[i1]]
        if len(a) and len(b):
            fallback = float(b.iloc[-1] / a.iloc[-1] - 1.0)
    if len(bad) and fallback is not None:
        moves.loc[bad] = fallback
        proxied = tuple(map(str, bad))
        note = f"; {len(bad)} names without prices take {proxy}'s return"
    d0, d1 = market.dates[i0].date(), market.dates[i1].date()
    detail = f"total returns from the close of {d0} to the close of {d1}{note}"
    if coarse:
        detail += " (coarse data: the nearest dates covering the window)"
    return Scenario(
        name or f"{s.date()} .. {e.date()}", moves, "historical", detail, proxied, fallback
    )


def named_replay(market: Market, name: str, *, proxy: str = "SPY") -> Scenario:
    """A replay of a window in :data:`HISTORICAL` (or "YYYY-MM-DD..YYYY-MM-DD")."""
    key = {k.lower(): k for k in HISTORICAL}.get(name.strip().lower())
    if key is not None:
        start, end = HISTORICAL[key]
        return replay(market, start, end, name=key, proxy=proxy)
    if ".." in name:
        start, _, end = name.partition("..")
        return replay(market, start.strip(), end.strip(), proxy=proxy)
    raise ConfigError(
        f"unknown historical scenario '{name}' (known: {', '.join(HISTORICAL)}, or START..END)"
    )


@dataclass(frozen=True)
class StressResult:
    """P&L (fractions of portfolio value; USD where values were given) of one scenario.

    ``by_stock``: weight and P&L per portfolio (columns ``<portfolio> weight`` /
    ``<portfolio> pnl``); ``by_group`` and ``by_sector`` the same summed; ``total`` per portfolio.
    """

    scenario: Scenario
    total: pd.Series
    by_stock: pd.DataFrame
    by_group: pd.DataFrame
    by_sector: pd.DataFrame
    uncovered: tuple[str, ...] = ()


def stress(
    scenario: Scenario,
    portfolios: dict[str, pd.Series],
    *,
    securities: pd.DataFrame | None = None,
    groups: Sequence[Group] = (MAG7,),
) -> StressResult:
    """P&L_i = w_i r_i for each portfolio (weights by ticker); totals by group and sector.

    A held name without a move in the scenario takes the scenario's ``fallback`` (a replay's
    proxy return) and is listed in ``uncovered``; without a fallback it raises (it would
    silently count as 0).
    """
    tickers = sorted(set().union(*(set(w[w != 0].dropna().index) for w in portfolios.values())))
    uncovered = tuple(t for t in tickers if t not in scenario.moves.index)
    if uncovered and scenario.fallback is None:
        raise DataUnavailableError(
            f"scenario '{scenario.name}' has no return for held {', '.join(uncovered[:10])}"
        )
    r = scenario.moves.reindex(tickers)
    if uncovered:
        r = r.fillna(scenario.fallback)
    cols: dict[str, pd.Series] = {"return": r}
    for name, w in portfolios.items():
        wt = w.reindex(tickers).fillna(0.0)
        cols[f"{name} weight"] = wt
        cols[f"{name} pnl"] = wt * r
    by_stock = pd.DataFrame(cols)
    by_stock.index.name = "ticker"
    value_cols = [c for c in by_stock.columns if c != "return"]
    grows = []
    in_any = pd.Series(False, index=by_stock.index)
    for g in groups:
        m = by_stock.index.isin(g.tickers)
        in_any |= m
        grows.append(by_stock.loc[m, value_cols].sum().rename(g.name))
    if groups:
        grows.append(by_stock.loc[~in_any.to_numpy(), value_cols].sum().rename("Rest"))
    by_group = pd.DataFrame(grows)
    sec = (
        securities["sector"].reindex(by_stock.index).fillna("Unknown")
        if securities is not None and "sector" in securities.columns
        else pd.Series("Unknown", index=by_stock.index)
    )
    by_sector = by_stock[value_cols].groupby(sec).sum()
    total = pd.Series(
        {name: float(by_stock[f"{name} pnl"].sum()) for name in portfolios}, name="pnl"
    )
    order = f"{next(iter(portfolios))} pnl"
    return StressResult(
        scenario=scenario,
        total=total,
        by_stock=by_stock.sort_values(order),
        by_group=by_group,
        by_sector=by_sector.sort_values(order),
        uncovered=uncovered,
    )
