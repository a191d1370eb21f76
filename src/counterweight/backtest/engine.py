"""The backtest engine: target weights through history with drift, costs and membership.

Accounting, per strategy, in units of portfolio value (the portfolio starts as 1 in cash):

* **Timing (no look-ahead).** Trades happen at the close of a rebalance date s, at targets
  computed from prices and caps up to that close, over the basket in force on s + 1 (index
  changes are announced in advance; see Membership); the new holdings earn returns from s + 1
  on. Weights held over day t were therefore decided with data up to the close of t - 1. A
  schedule with a reference date (:class:`~counterweight.backtest.schedule.Quarterly`: S&P's
  second Friday) sets the scheduled targets at the reference close and carries them to the
  trade close as fixed shares (:func:`~counterweight.backtest.schedule.carry_to_effective`).
* **Drift.** Between trades each holding grows with its own return, h_{i,t} = h_{i,t-1}(1 + r_{i,t});
  cash earns nothing. Portfolio value V_t = cash_t + sum_i h_{i,t}; daily return V_t / V_{t-1} - 1.
* **Returns** come from forward-filled total-return prices, so a gap in a price is bridged by
  the first return after it and a name whose prices stop (a delisting) is held flat, like cash,
  at its last price until the next trade sells it.
* **Costs.** Trading to targets w at value V costs C = sum_i k_i |w_i (V - C) - h_i|, with
  k_i = (cost_bps + spread_bps_i / 2) / 1e4 (a full quoted spread costs half of it per trade).
  Targets apply to the value *after* costs; the equation is solved exactly by fixed-point
  iteration (a contraction with factor <= max k_i). The cost is booked on the trade date.
* **Membership** (the convention of :mod:`counterweight.measure.leadership`). ``members[t]`` is
  the basket in force over day ``t``; intervals are end-exclusive, so a name whose membership
  ends on ``X`` has ``X-1`` as its last member day and one that joins on ``X`` is a member from
  ``X``. An index fund trades a change at the close of ``X-1`` (S&P announces changes days
  ahead, effective "prior to the open of trading" on ``X``; e.g. the S&P DJI release of
  2024-12-06 for 2024-12-23), so that on ``X`` it holds the new basket: targets computed at the close of ``t`` are over the members of ``t + 1``
  (:func:`run_backtest` hands the rules the market with membership shifted one day), and at
  the close of ``t`` where ``members[t + 1]`` differs from ``members[t]`` the engine sells the
  held names that leave and buys the joiners at their target weights (the rule's targets at
  that close), scaling the continuing holdings pro rata so the invested fraction stays as it
  was (if the joiners' targets alone exceed it, they are scaled down to it). For cap weight this
  is exactly the cap-weighted index's own treatment: the joiner enters at its cap weight and
  everyone else shrinks in proportion. A leaver is thus never held on the day it is out, and a
  joiner earns its first member day. With ``trade_on_changes`` every membership change
  becomes a full rebalance to target instead.
* **Turnover.** ``traded_t`` = sum_i |trade_i| / V_t (two-sided, buys plus sells, as a fraction
  of the pre-trade value); one-sided annual turnover is sum_t traded_t / 2 / years.

The kernel :func:`simulate` works on plain arrays in cache-sized blocks of days: a block of
returns is turned into the holdings path once, and values, weights and band checks are
read from it, so the return panel streams from memory once per strategy. (Row-by-row
products beat ``np.multiply.accumulate(axis=0)``, which walks the block column by column.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from counterweight.backtest.rules import WeightRule
from counterweight.backtest.schedule import (
    DriftBands,
    Monthly,
    Schedule,
    carry_to_effective,
    reference_positions,
)
from counterweight.errors import ConfigError, DataUnavailableError
from counterweight.market import Market

BLOCK_DAYS = 32
"""Days per block of the drift kernel (32 x 3,000 float64 = 768 KB, within L2 cache)."""

_MAX_COST_ITER = 64


@dataclass
class SimulationArrays:
    """Raw output of :func:`simulate`, one value per date (T,) unless stated."""

    returns: np.ndarray  # net daily return (costs included on trade dates)
    value: np.ndarray  # portfolio value at each close, after trades, starting from 1
    traded: np.ndarray  # two-sided traded value / pre-trade value (0 on non-trade dates)
    costs: np.ndarray  # costs paid / pre-trade value
    cash: np.ndarray  # cash weight at each close
    rebalanced: np.ndarray  # bool: a full rebalance to target at this close
    weights: np.ndarray | None  # (T, N) weights at each close (after trades), if recorded


def trading_returns(prices: np.ndarray) -> np.ndarray:
    """Daily returns of forward-filled prices, 0 where there is no price yet (T, N).

    r_t = P~_t / P~_{t-1} - 1 with P~ the last known price: gaps are bridged on the first price
    after them, a name with no more prices returns 0 (held like cash at its last price).
    """
    px = np.asarray(prices, dtype=np.float64)
    gaps = np.isnan(px).any(axis=0)
    if gaps.any():  # forward-fill only the columns that need it
        px = px.copy()
        px[:, gaps] = pd.DataFrame(px[:, gaps]).ffill().to_numpy()
    r = np.zeros_like(px)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(px[1:], px[:-1], out=r[1:])
    r[1:] -= 1.0
    r[~np.isfinite(r)] = 0.0
    return r


def _trade_cost(h: np.ndarray, target: np.ndarray, value: float, k: np.ndarray) -> float:
    """Solve C = sum_i k_i |w_i (V - C) - h_i| by fixed-point iteration (exact to rounding)."""
    if value <= 0.0:
        return 0.0
    c = 0.0
    for _ in range(_MAX_COST_ITER):
        new = float(np.dot(k, np.abs(target * (value - c) - h)))
        if abs(new - c) <= 1e-17 * value:
            return new
        c = new
    return c


def simulate(
    returns: np.ndarray,
    rebalance: np.ndarray,
    target_at: Callable[[int], np.ndarray],
    *,
    cost_rate: np.ndarray | float = 0.0,
    members: np.ndarray | None = None,
    trade_on_changes: bool = False,
    bands: DriftBands | None = None,
    record_weights: bool = False,
    engine: str = "numpy",
) -> SimulationArrays:
    """Run one strategy over a (T, N) panel of finite daily returns.

    ``rebalance``: sorted positions of scheduled trades (close of those dates). ``target_at(t)``:
    the (N,) target weights at the close of ``t`` for the basket of ``t + 1`` (NaN = 0,
    sum <= 1). ``cost_rate``: k_i per unit traded (fraction). ``members``: (T, N) basket in force
    over each day; membership changes are traded at the close before they take effect (see the
    module doc). ``bands``: additionally rebalance whenever a weight leaves its drift band.
    ``engine="numba"``: the compiled one-pass kernel of :mod:`counterweight.backtest._numba`
    (needs numba; not with ``bands``).
    ``engine="auto"``: numba where it is installed, can run the schedule and the panel is large
    (see :func:`choose_engine`), else numpy. Both give the same returns (tested to 1e-12).
    """
    t_len, n = returns.shape
    k = np.broadcast_to(np.asarray(cost_rate, dtype=np.float64), (n,))
    if engine == "auto":
        engine = choose_engine(t_len * n, bands is not None)
    if engine == "numba":
        return _simulate_numba(
            returns, rebalance, target_at, k, members, trade_on_changes, bands, record_weights
        )
    if engine != "numpy":
        raise ConfigError(f"unknown engine '{engine}' (use numpy, numba or auto)")
    ret = np.zeros(t_len)
    val = np.ones(t_len)
    traded = np.zeros(t_len)
    costs = np.zeros(t_len)
    cash_w = np.ones(t_len)
    rebalanced = np.zeros(t_len, dtype=bool)
    weights = np.zeros((t_len, n)) if record_weights else None
    if t_len == 0:
        return SimulationArrays(ret, val, traded, costs, cash_w, rebalanced, weights)

    is_rebal = np.zeros(t_len, dtype=bool)
    is_rebal[np.asarray(rebalance, dtype=np.intp)] = True
    changes = membership_changes(members, t_len)
    if trade_on_changes:
        is_rebal |= changes
    events = is_rebal | changes
    event_pos = np.flatnonzero(events)

    h = np.zeros(n)
    cash = 1.0
    target = np.zeros(n)
    buf = np.empty((BLOCK_DAYS, n))
    prev_value = 1.0

    def trade(t: int, new_target: np.ndarray, scheduled: bool = True) -> None:
        nonlocal h, cash, target
        v = cash + float(h.sum())
        w = np.nan_to_num(np.asarray(new_target, dtype=np.float64), nan=0.0)
        c = _trade_cost(h, w, v, k)
        new_h = w * (v - c)
        traded[t] = float(np.abs(new_h - h).sum()) / v if v > 0 else 0.0
        costs[t] = c / v if v > 0 else 0.0
        h = new_h
        cash = (v - c) - float(new_h.sum())
        target = w
        rebalanced[t] = scheduled

    def trade_changes(t: int) -> None:
        assert members is not None
        stay = members[t + 1]
        joiners = stay & ~members[t]
        tw = target_at(t) if joiners.any() else np.zeros(n)
        w = index_fund_weights(h, cash, tw, stay, joiners)
        if w is not None:
            trade(t, w, scheduled=False)

    def close(t: int) -> None:
        nonlocal prev_value
        v = cash + float(h.sum())
        before = val[t - 1] if t > 0 else 1.0
        ret[t] = v / before - 1.0 if before != 0 else 0.0
        val[t] = v
        cash_w[t] = cash / v if v != 0 else 1.0
        if weights is not None:
            weights[t] = h / v if v != 0 else 0.0
        prev_value = v

    # day 0: the initial investment
    day = 0
    if is_rebal[0]:
        trade(0, target_at(0))
    close(0)
    ev_i = int(np.searchsorted(event_pos, 1))
    while day < t_len - 1:
        next_event = int(event_pos[ev_i]) if ev_i < event_pos.size else t_len - 1
        # drift day+1 .. next_event in blocks; drift bands may stop earlier
        start = day + 1
        stop_at = next_event
        while start <= stop_at:
            end = min(start + BLOCK_DAYS, stop_at + 1)
            m = end - start
            g = buf[:m]
            # holdings path: h_t = h_{t-1} * (1 + r_t), row by row (contiguous, in cache)
            np.add(returns[start:end], 1.0, out=g)
            np.multiply(g[0], h, out=g[0])
            for i in range(1, m):
                np.multiply(g[i], g[i - 1], out=g[i])
            vals = g.sum(axis=1)
            vals += cash
            if bands is not None:
                breach = _band_breach(g / vals[:, None], target, bands)
                hits = np.flatnonzero(breach)
                if hits.size:
                    m = int(hits[0]) + 1
                    end = start + m
                    stop_at = end - 1
                    is_rebal[stop_at] = True
            rows_v = vals[:m]
            ret[start] = rows_v[0] / prev_value - 1.0
            if m > 1:
                np.divide(rows_v[1:], rows_v[:-1], out=ret[start + 1 : end])
                ret[start + 1 : end] -= 1.0
            val[start:end] = rows_v
            if cash != 0.0:
                np.divide(cash, rows_v, out=cash_w[start:end])
            else:
                cash_w[start:end] = 0.0
            if weights is not None:
                np.divide(g[:m], rows_v[:, None], out=weights[start:end])
            h = g[m - 1].copy()
            prev_value = float(rows_v[-1])
            start = end
        day = stop_at
        if day >= t_len:
            break
        if is_rebal[day]:
            trade(day, target_at(day))
            close(day)
        elif changes[day]:
            trade_changes(day)
            close(day)
        if ev_i < event_pos.size and event_pos[ev_i] <= day:
            ev_i = int(np.searchsorted(event_pos, day + 1))
    return SimulationArrays(ret, val, traded, costs, cash_w, rebalanced, weights)


def membership_changes(members: np.ndarray | None, t_len: int) -> np.ndarray:
    """(T,) True at the close of ``t`` when the basket of ``t + 1`` differs from that of ``t``
    (the close an index fund trades a change effective on ``t + 1``); the last date is False."""
    out = np.zeros(t_len, dtype=bool)
    if members is not None and t_len > 1:
        out[:-1] = (members[1:] != members[:-1]).any(axis=1)
    return out


def index_fund_weights(
    h: np.ndarray, cash: float, target: np.ndarray, stay: np.ndarray, joiners: np.ndarray
) -> np.ndarray | None:
    """Weights after an index fund's membership trade, or None when there is nothing to trade.

    ``h``: holdings (value) before the trade, ``cash`` the cash; ``stay`` the members of the next
    day, ``joiners`` those of them that are not members today, ``target`` the rule's target at
    this close. Held names outside ``stay`` go to 0, joiners with a positive target get it, the
    continuing holdings are scaled pro rata so that the invested fraction f = sum h / V is
    unchanged (joiners are scaled down to f when their targets alone exceed it).
    """
    invested = float(h.sum())
    v = cash + invested
    if v <= 0.0 or invested == 0.0:
        return None
    tw = np.nan_to_num(np.asarray(target, dtype=np.float64), nan=0.0)
    buy = joiners & (tw > 0)
    held = h != 0.0
    leave = held & ~stay
    if not leave.any() and not buy.any():
        return None
    f = invested / v
    cont = held & stay & ~buy
    w = np.zeros_like(h)
    s_j = float(tw[buy].sum())
    room = f - s_j
    scale_j = 1.0 if room >= 0.0 else f / s_j
    w[buy] = tw[buy] * scale_j
    h_c = float(h[cont].sum())
    if h_c != 0.0 and room > 0.0:
        w[cont] = h[cont] * (room / h_c)
    elif s_j > 0.0 and room > 0.0:  # nothing continues: the joiners take the invested fraction
        w[buy] = tw[buy] * (f / s_j)
    return w


AUTO_NUMBA_MIN_CELLS = 1_000_000
"""Panels of at least this many (date, name) cells use the compiled engine under ``auto``: below
it the numpy engine's per-period overhead is smaller than numba's first-call start-up."""


def choose_engine(cells: int, needs_numpy: bool) -> str:
    """``"numba"`` when it is installed, the run needs no drift bands, and the panel has at least
    :data:`AUTO_NUMBA_MIN_CELLS` cells; otherwise ``"numpy"``."""
    if needs_numpy or cells < AUTO_NUMBA_MIN_CELLS:
        return "numpy"
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"


def _simulate_numba(
    returns: np.ndarray,
    rebalance: np.ndarray,
    target_at: Callable[[int], np.ndarray],
    k: np.ndarray,
    members: np.ndarray | None,
    trade_on_changes: bool,
    bands: DriftBands | None,
    record_weights: bool,
) -> SimulationArrays:
    if bands is not None:
        raise ConfigError("engine 'numba' runs fixed schedules only (no drift bands)")
    try:
        from counterweight.backtest._numba import simulate_compiled
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError("engine 'numba' needs numba: pip install numba") from None
    t_len, n = returns.shape
    full = np.zeros(t_len, dtype=bool)
    full[np.asarray(rebalance, dtype=np.intp)] = True
    changes = membership_changes(members, t_len)
    if trade_on_changes:
        full |= changes
    pos = np.flatnonzero(full | changes)
    is_full = full[pos]
    rows = []
    for p, f in zip(pos.tolist(), is_full.tolist(), strict=True):
        if f or (members is not None and bool((members[p + 1] & ~members[p]).any())):
            rows.append(np.asarray(target_at(p), dtype=np.float64))
        else:  # only leavers: no target needed
            rows.append(np.zeros(n))
    targets = np.stack(rows) if rows else np.zeros((0, n))
    return simulate_compiled(
        returns, pos, targets, np.ascontiguousarray(k), members, record_weights, is_full
    )


def _band_breach(w: np.ndarray, target: np.ndarray, bands: DriftBands) -> np.ndarray:
    """(L,) True on dates where some weight is outside its band around ``target``."""
    breach = np.zeros(w.shape[0], dtype=bool)
    dev = np.abs(w - target)
    if bands.absolute is not None:
        breach |= (dev > bands.absolute).any(axis=1)
    if bands.relative is not None:
        pos = target > 0
        if pos.any():
            breach |= (dev[:, pos] > bands.relative * target[pos]).any(axis=1)
    return breach


# ---------------------------------------------------------------------------- public API
@dataclass
class StrategyResult:
    """One strategy's backtest, labelled by date (and ticker for weights)."""

    name: str
    returns: pd.Series  # net daily returns
    value: pd.Series  # growth of 1
    traded: pd.Series  # two-sided traded value / pre-trade value
    costs: pd.Series  # costs paid / pre-trade value
    cash: pd.Series  # cash weight
    rebalance_dates: pd.DatetimeIndex
    weights: pd.DataFrame | None  # close weights after trades, dates x tickers


@dataclass
class BacktestResult:
    """Several strategies run on the same market, dates and costs."""

    strategies: dict[str, StrategyResult]
    market: Market
    schedule: str
    cost_bps: float
    caveats: tuple[str, ...]

    @property
    def returns(self) -> pd.DataFrame:
        """Daily net returns, one column per strategy."""
        return pd.DataFrame({k: s.returns for k, s in self.strategies.items()})

    @property
    def values(self) -> pd.DataFrame:
        return pd.DataFrame({k: s.value for k, s in self.strategies.items()})


def survivorship_caveat(market: Market) -> str | None:
    """A warning when the universe is today's members only (no former members in the data)."""
    if market.members.size == 0:
        return None
    ever = market.members.any(axis=0)
    last = market.members[-1]
    if ever.any() and np.array_equal(ever, last & ever) and not (ever & ~last).any():
        return (
            "Survivorship bias: every name in this universe is a member on the last date, so "
            "stocks that left the index (often after falling) are missing and the backtest "
            "overstates past returns, most for equal weight."
        )
    return None


def backtest_caveats(market: Market) -> tuple[str, ...]:
    """The data's caveats for a backtest, each said once.

    Exact repeats are dropped, and everything about survivorship becomes one caveat: the
    backtest's own warning (:func:`survivorship_caveat`) when it applies, else the first data
    caveat that mentions survivorship, followed by the other survivorship facts of the data.
    """
    prov = list(dict.fromkeys(c.strip() for c in market.provenance.caveats if c.strip()))
    surv = [c for c in prov if "survivorship" in c.lower()]
    rest = [c for c in prov if c not in surv]
    head = survivorship_caveat(market)
    details = [_without_prefix(c, "survivorship:") for c in surv]
    if head is None:
        if not details:
            return tuple(rest)
        head, details = surv[0].rstrip(".") + ".", details[1:]
    if not details:
        return (head, *rest)
    return (f"{head} In this data: {'; '.join(details)}.", *rest)


def _without_prefix(text: str, prefix: str) -> str:
    t = text.strip().rstrip(".")
    return t[len(prefix) :].strip() if t.lower().startswith(prefix) else t


def next_day_basket(market: Market) -> Market:
    """The market with each date's membership replaced by the next date's (the last date keeps
    its own): what a rule sees at the close of ``t`` is the basket it trades into for ``t + 1``.

    Index changes are announced days before they take effect, so this is no look-ahead: an
    index fund trades them at the close before the effective date.
    """
    mem = market.members
    if mem.shape[0] < 2:
        return market
    nxt = np.empty_like(mem)
    nxt[:-1] = mem[1:]
    nxt[-1] = mem[-1]
    return market.with_members(nxt)


def _reference_targets(
    rule: WeightRule, basket: Market, refs: np.ndarray, planned: np.ndarray
) -> np.ndarray:
    """Targets at the reference positions with the membership of the trade's basket.

    S&P weights a rebalance "with prices reflected on the rebalancing reference date ... and
    membership ... as of the rebalancing effective date": the rule sees the reference close's
    prices and caps, and on that row the basket it trades into at ``planned``. References
    shared by two trades (only the first date) are done one batch per pass.
    """
    out = np.empty((len(planned), basket.members.shape[1]))
    todo = np.arange(len(planned))
    while todo.size:
        _, first = np.unique(refs[todo], return_index=True)
        now = todo[first]
        mem = basket.members.copy()
        mem[refs[now]] = basket.members[planned[now]]
        out[now] = rule.targets(basket.with_members(mem), refs[now])
        todo = np.setdiff1d(todo, now)
    return out


def run_backtest(
    market: Market,
    rules: Sequence[WeightRule],
    *,
    schedule: Schedule | None = None,
    cost_bps: float = 5.0,
    spread_bps: pd.Series | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    trade_on_changes: bool = False,
    record_weights: bool = True,
    engine: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Backtest each rule on ``market`` between ``start`` and ``end`` (see the module doc).

    ``schedule`` defaults to :class:`Monthly`; ``cost_bps`` is charged on traded value plus half of
    the per-ticker quoted ``spread_bps`` (a Series by ticker; missing tickers pay none).
    ``engine``: ``"auto"`` (default: the compiled engine for large panels when numba is
    installed), ``"numpy"`` or ``"numba"`` (see :func:`simulate`).
    """
    if not rules:
        raise ConfigError("give at least one policy to backtest")
    if cost_bps < 0:
        raise ConfigError(f"cost_bps must be non-negative, got {cost_bps}")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ConfigError(f"policy names must be distinct, got {', '.join(names)}")
    mkt = market.slice(start, end) if (start is not None or end is not None) else market
    if len(mkt.dates) < 2:
        raise DataUnavailableError("a backtest needs at least two dates")
    sched = schedule or Monthly()
    k = np.full(len(mkt.tickers), cost_bps / 1e4)
    if spread_bps is not None:
        sp = spread_bps.reindex(mkt.tickers).fillna(0.0).to_numpy(dtype=np.float64)
        if np.any(sp < 0):
            raise ConfigError("spreads must be non-negative")
        k = k + sp / 2e4
    rets = trading_returns(mkt.prices)
    planned = sched.positions(mkt.dates)
    refs = reference_positions(sched, mkt.dates)  # weights from here (S&P: the second Friday)
    lagged = not np.array_equal(refs, planned)
    basket = next_day_basket(mkt)
    # closes where joiners are bought need the rule's targets too: computed in one batch
    mem = mkt.members
    joins = np.flatnonzero((mem[1:] & ~mem[:-1]).any(axis=1)) if len(mem) > 1 else np.empty(0)
    # scheduled trades with a reference date get their targets below, not here
    needed = np.union1d(planned if not lagged else [], joins).astype(np.intp)
    if trade_on_changes:
        needed = np.union1d(needed, np.flatnonzero(membership_changes(mem, len(mem)))).astype(
            np.intp
        )
    bands = sched if isinstance(sched, DriftBands) else None
    out: dict[str, StrategyResult] = {}
    for rule in rules:
        if progress is not None:
            progress(rule.name)
        cache: dict[int, np.ndarray] = {}
        if needed.size:
            batch = rule.targets(basket, needed)
            cache.update({int(p): batch[i] for i, p in enumerate(needed)})
        if lagged:  # scheduled trades: targets of the reference close, carried as shares
            carried = carry_to_effective(
                _reference_targets(rule, basket, refs, planned),
                rets,
                basket.members,
                refs,
                planned,
            )
            cache.update({int(p): carried[i] for i, p in enumerate(planned)})

        def target_at(
            t: int, rule: WeightRule = rule, cache: dict[int, np.ndarray] = cache
        ) -> np.ndarray:
            if t not in cache:
                cache[t] = rule.targets(basket, np.array([t]))[0]
            return cache[t]

        sim = simulate(
            rets,
            planned,
            target_at,
            cost_rate=k,
            members=mkt.members,
            trade_on_changes=trade_on_changes,
            bands=bands,
            record_weights=record_weights,
            engine=engine,
        )
        idx = mkt.dates
        out[rule.name] = StrategyResult(
            name=rule.name,
            returns=pd.Series(sim.returns, index=idx, name=rule.name),
            value=pd.Series(sim.value, index=idx, name=rule.name),
            traded=pd.Series(sim.traded, index=idx, name=rule.name),
            costs=pd.Series(sim.costs, index=idx, name=rule.name),
            cash=pd.Series(sim.cash, index=idx, name=rule.name),
            rebalance_dates=idx[sim.rebalanced],
            weights=None if sim.weights is None else mkt.frame(sim.weights),
        )
    return BacktestResult(
        strategies=out,
        market=mkt,
        schedule=sched.name,
        cost_bps=cost_bps,
        caveats=backtest_caveats(mkt),
    )
