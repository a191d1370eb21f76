"""Rebalance on looked-through exposure: limits on what the book really holds, trades in funds.

For an account of value V, let y be the value of each instrument after trading as a fraction
of V (cash included as the instrument ``CASH``, y0 before). The looked-through exposure is
``e = H^T y`` with H the exposure matrix (:mod:`counterweight.exposure.matrix`). The problem,
one per account, is convex and solved with cvxpy (Clarabel):

    minimise   1/2 sum_k |y_k - y0_k|  +  eps * sum_k (y_k - y0_k)^2      (least trading)
    subject to sum_k y_k = 1,  y >= 0,  y_CASH >= cash_buffer
               e_i <= issuer_max                    for every issuer i        (e = H^T y)
               sum_{i in G} e_i <= max_G            for every group G (Mag 7 <= 20%)
               sum_{i in S} e_i <= bound_S          sector sets (IT + Comm. <= index - 10 pp)
               y_k = y0_k  for instruments outside the allowed list, y_k >= y0_k for no-sell,
               y_k <= y0_k for no-buy and restricted, y_k = 0 for instruments neither held nor
               in the buy list,
               1/2 sum_{k != CASH} |y_k - y0_k| <= turnover.

Trades are then turned into shares: sells rounded *away* from zero (never beyond the position)
and buys *toward* zero to the lot, buys below the minimum trade dropped and sells below it
raised to it. Every entry of H is non-negative, so selling a little more or buying a little
less can only lower every exposure: the limits that held for the solution still hold after
rounding. They are checked again on the looked-through exposure of the rounded book, and that
check is what the report shows.

When the limits cannot hold, the reason is given in words: what the instruments that may not
be sold (outside the allowed list, or no-sell) put in a limited name or group on their own
("holding 40.0% in QQQ alone puts Mag 7 at 21.0% of the book"), or, when only the turnover
limit is in the way, how far each limit can be brought with that turnover.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from counterweight.data.holdings import Holdings
from counterweight.errors import ConfigError, InfeasibleError
from counterweight.exposure.book import book_values, fund_price
from counterweight.exposure.matrix import CASH, ExposureMatrix, build_matrix
from counterweight.exposure.models import FundResolver
from counterweight.groups import MAG7
from counterweight.market import Market, normalize_ticker

TOL = 1e-9
EPS = 1e-4


# --------------------------------------------------------------------------- policy


class GroupLimitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    tickers: list[str] = Field(default_factory=list)
    max: float = Field(ge=0, le=1)


class SectorLimitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sectors: list[str]
    max: float | None = Field(default=None, ge=0, le=1)
    relative_to_index: float | None = Field(default=None, ge=-1, le=1)


class LimitsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer_max: float | None = Field(default=None, gt=0, le=1)
    group: list[GroupLimitSpec] = Field(default_factory=list)
    sector: list[SectorLimitSpec] = Field(default_factory=list)


class TradesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed: list[str] | None = None
    buy: list[str] = Field(default_factory=list)
    no_sell: list[str] = Field(default_factory=list)
    no_buy: list[str] = Field(default_factory=list)
    restricted: list[str] = Field(default_factory=list)
    turnover: float | None = Field(default=None, gt=0, le=1)
    min_trade: float = Field(default=0.0, ge=0)
    lots: Literal["whole", "fractional"] = "whole"
    cash_buffer: float = Field(default=0.0, ge=0, lt=1)
    cash_max: float | None = Field(default=None, ge=0, le=1)


class LookThroughPolicy(BaseModel):
    """``[limits]`` on the looked-through exposure and ``[trades]`` rules (see docs/exposure.md)."""

    model_config = ConfigDict(extra="forbid")
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    trades: TradesSpec = Field(default_factory=TradesSpec)


def load_policy(path: str | Path) -> LookThroughPolicy:
    """Read a look-through rebalance policy (TOML); errors name the file and the key."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: file not found")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    try:
        return LookThroughPolicy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{p}: {key}: {err['msg']}") from None


@dataclass(frozen=True)
class Limit:
    """One upper bound on the exposure of a set of columns: sum_{j in cols} e_j <= bound."""

    name: str
    columns: np.ndarray  # (C,) bool
    bound: float
    kind: str = "group"  # 'group', 'sector' or 'issuer'


def resolve_limits(
    policy: LookThroughPolicy, matrix: ExposureMatrix, market: Market | None
) -> list[Limit]:
    """The policy's limits as column masks of H; sector bounds relative to the S&P 500."""
    lim = policy.limits
    out: list[Limit] = []
    for g in lim.group:
        tickers = g.tickers or (
            list(MAG7.tickers) if g.name.lower().replace(" ", "") == "mag7" else []
        )
        if not tickers:
            raise ConfigError(f"limits.group '{g.name}': give its tickers")
        out.append(Limit(g.name, matrix.tickers_mask(tickers), g.max))
    for s in lim.sector:
        if (s.max is None) == (s.relative_to_index is None):
            raise ConfigError(f"limits.sector {s.sectors}: give either max or relative_to_index")
        label = " + ".join(s.sectors)
        if s.max is not None:
            bound = s.max
            name = f"{label} <= {100 * bound:.1f}%"
        else:
            if market is None:
                raise ConfigError("limits.sector relative_to_index needs a Market")
            w = market.cap_weights(matrix.as_of)
            sec = market.securities["sector"].reindex(w.index)
            idx = float(w[sec.isin(s.sectors).to_numpy()].sum())
            rel = float(s.relative_to_index or 0.0)
            bound = idx + rel
            name = f"{label} (S&P 500 {100 * idx:.1f}% {100 * rel:+.1f} pp)"
            if bound < 0:
                raise ConfigError(
                    f"limits.sector {s.sectors}: the bound {100 * bound:.1f}% is below zero"
                )
        out.append(Limit(name, matrix.sector_mask(s.sectors), bound, "sector"))
    if lim.issuer_max is not None:
        issuer = matrix.issuer_mask()
        labels = [str(c) for c in matrix.columns.index]
        for j in np.flatnonzero(issuer).tolist():
            col = np.zeros(len(issuer), dtype=bool)
            col[j] = True
            out.append(
                Limit(
                    f"{labels[j]} <= {100 * lim.issuer_max:.1f}%",
                    col,
                    lim.issuer_max,
                    "issuer",
                )
            )
    return out


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class LookThroughRebalance:
    """Trades per account and the limits checked on the looked-through book after trading."""

    trades: pd.DataFrame  # account, ticker, shares, price, value, weight_before, weight_after
    checks: pd.DataFrame  # account, limit, before, after, bound, passed
    exposure_before: pd.DataFrame  # accounts x columns, fractions
    exposure_after: pd.DataFrame
    matrix: ExposureMatrix
    # account, rule, before, after, passed, detail
    compliance: pd.DataFrame = field(default_factory=pd.DataFrame)
    # looked-through exposure of all accounts together: column -> name, before, after (fractions)
    book: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return bool(self.checks["passed"].all()) if len(self.checks) else True

    def to_dict(self) -> dict[str, Any]:
        return {
            "trades": self.trades.to_dict("records"),
            "checks": self.checks.to_dict("records"),
            "passed": self.passed,
            "compliance": self.compliance.to_dict("records"),
            "notes": list(self.notes),
        }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- solver


class _Problem:
    """One cvxpy problem with parameters (y0, lower, upper bounds), re-solved per account."""

    def __init__(
        self,
        M: np.ndarray,
        bounds: np.ndarray,
        n: int,
        cash_pos: int,
        turnover: float | None,
        buffer: float,
        cash_max: float | None = None,
    ):
        import cvxpy as cp

        self.y = cp.Variable(n)
        self.y0 = cp.Parameter(n)
        self.lo = cp.Parameter(n)
        self.hi = cp.Parameter(n)
        d = self.y - self.y0
        noncash = np.ones(n, dtype=bool)
        noncash[cash_pos] = False
        cons = [cp.sum(self.y) == 1, self.y >= self.lo, self.y <= self.hi]
        if cash_pos >= 0:
            cons.append(self.y[cash_pos] >= buffer)
            if cash_max is not None:
                cons.append(self.y[cash_pos] <= max(cash_max, buffer))
        if M.shape[0]:
            cons.append(M @ self.y <= bounds)
        if turnover is not None:
            cons.append(0.5 * cp.sum(cp.abs(d[np.flatnonzero(noncash)])) <= turnover)
        obj = 0.5 * cp.sum(cp.abs(d)) + EPS * cp.sum_squares(d)
        self.prob = cp.Problem(cp.Minimize(obj), cons)

    def solve(self, y0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        import cvxpy as cp

        self.y0.value, self.lo.value, self.hi.value = y0, lo, hi
        try:
            self.prob.solve(solver=cp.CLARABEL)
        except cp.error.SolverError:
            return None
        if self.prob.status not in ("optimal", "optimal_inaccurate") or self.y.value is None:
            return None
        return np.asarray(self.y.value, dtype=float)


def _explain(
    M: np.ndarray,
    limits: list[Limit],
    y0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    names: list[str],
    fixed_reason: dict[str, str],
    turnover: float | None,
    cash_pos: int,
    buffer: float,
    account: str,
    cash_max: float | None = None,
) -> str:
    """Why the limits cannot hold for this account, in words."""
    bounds = np.array([lim.bound for lim in limits])
    floor = M @ lo  # what the instruments that cannot be reduced hold on their own
    over = np.flatnonzero(floor > bounds + TOL)
    if over.size:
        j = int(over[np.argmax(floor[over] - bounds[over])])
        contrib = M[j] * lo
        k = int(np.argmax(contrib))
        lead = (
            f"holding {_pct(lo[k])} in {names[k]} ({fixed_reason.get(names[k], 'may not be sold')}) "
            f"alone puts {limits[j].name.split(' <=')[0]} at {_pct(contrib[k])} of the book"
        )
        if contrib[k] <= bounds[j] + TOL:
            others = [names[i] for i in np.flatnonzero(contrib > 0)]
            lead = (
                f"the positions that may not be sold ({', '.join(others)}) put "
                f"{limits[j].name.split(' <=')[0]} at {_pct(floor[j])} of the book"
            )
        return f"account {account}: {lead}, above the {_pct(bounds[j])} limit"
    # per-limit floors fit: the turnover (or the budget) is what binds; measure how far we get
    import cvxpy as cp

    n = len(y0)
    y = cp.Variable(n)
    s = cp.Variable(len(limits), nonneg=True)
    cons = [cp.sum(y) == 1, y >= lo, y <= hi, M @ y <= bounds + s]
    if cash_pos >= 0:
        cons.append(y[cash_pos] >= buffer)
        if cash_max is not None:
            cons.append(y[cash_pos] <= max(cash_max, buffer))
    if turnover is not None:
        nc = [i for i in range(n) if i != cash_pos]
        cons.append(0.5 * cp.sum(cp.abs(y[nc] - y0[nc])) <= turnover)
    cp.Problem(cp.Minimize(cp.sum(s)), cons).solve(solver=cp.CLARABEL)
    slack = np.asarray(s.value if s.value is not None else np.zeros(len(limits)))
    worst = np.argsort(-slack)[:3]
    parts = [
        f"{limits[j].name.split(' <=')[0]} can be brought down to {_pct(bounds[j] + slack[j])} at best "
        f"(limit {_pct(bounds[j])})"
        for j in worst
        if slack[j] > 1e-7
    ]
    why = "with the trades allowed"
    if turnover is not None:
        why = f"with one-way turnover at most {_pct(turnover)}"
    if cash_max is not None:
        why += f" and cash at most {_pct(max(cash_max, buffer))}"
    return f"account {account}: {why}, " + ("; ".join(parts) or "the limits cannot all hold")


def rebalance_lookthrough(
    holdings: Holdings,
    market: Market | None,
    resolver: FundResolver,
    policy: LookThroughPolicy,
    as_of: str | pd.Timestamp | None = None,
) -> LookThroughRebalance:
    """Trades per account meeting the policy's limits on looked-through exposure (module doc)."""
    tr = policy.trades
    bv = book_values(holdings, market, as_of)
    day = bv.as_of
    held = [c for c in bv.values.columns if c != CASH]
    buy = [normalize_ticker(t) for t in tr.buy]
    insts = list(dict.fromkeys([*held, *buy, CASH]))
    prices = np.array(bv.prices.reindex(insts).to_numpy(dtype=float), dtype=float)
    for k, t in enumerate(insts):
        if t == CASH:
            prices[k] = 1.0
        elif not np.isfinite(prices[k]):
            px = float("nan")
            if market is not None and t in market.tickers:
                px = float(market.prices[market.date_position(day), market.tickers.get_loc(t)])
            if not np.isfinite(px):
                px, _ = fund_price(market, t, day)
            if not np.isfinite(px):
                held_mv = bv.values[t].sum() if t in bv.values.columns else 0.0
                if held_mv > 0 and t in holdings.positions["ticker"].to_numpy():
                    pos = holdings.positions[holdings.positions["ticker"] == t]
                    sh = float(pos["shares"].sum())
                    px = held_mv / sh if sh > 0 else float("nan")
            if not np.isfinite(px):
                raise ConfigError(f"trades.buy: no price for {t} on {day.date()}")
            prices[k] = px
    m = build_matrix(insts, market, resolver, day)
    limits = resolve_limits(policy, m, market)
    n = len(insts)
    cash_pos = insts.index(CASH)
    Ht = m.H.T.tocsr()
    A = (
        sp.csr_matrix(np.array([lim.columns for lim in limits], dtype=float))
        if limits
        else sp.csr_matrix((0, m.shape[1]))
    )
    M = np.asarray((A @ Ht).todense()) if limits else np.zeros((0, n))
    bounds = np.array([lim.bound for lim in limits])
    # issuer caps that no instrument can breach on its own need no constraint
    keep = M.max(axis=1) > bounds + TOL if limits else np.zeros(0, dtype=bool)
    live = [lim for lim, k in zip(limits, keep, strict=True) if k]
    M_live, b_live = M[keep], bounds[keep]
    allowed = None if tr.allowed is None else {normalize_ticker(t) for t in tr.allowed} | set(buy)
    no_sell = {normalize_ticker(t) for t in tr.no_sell}
    no_buy = {normalize_ticker(t) for t in tr.no_buy} | {normalize_ticker(t) for t in tr.restricted}
    problems: dict[tuple[tuple[int, ...], tuple[int, ...]], _Problem] = {}
    values = bv.values.reindex(columns=insts, fill_value=0.0)
    shares_held = np.zeros((len(values), n))
    pos = holdings.positions
    acc_idx = values.index.get_indexer(pd.Index(pos["account"].astype(str)))
    tk_idx = pd.Index(insts).get_indexer(pd.Index(pos["ticker"].astype(str)))
    sh_file = pos["shares"].to_numpy(dtype=float)
    held_q = np.where(
        np.isfinite(sh_file), sh_file, pos["market_value"].to_numpy(dtype=float) / prices[tk_idx]
    )
    np.add.at(shares_held, (acc_idx, tk_idx), held_q)
    lot = 1.0 if tr.lots == "whole" else 0.0
    trades_rows: list[dict[str, Any]] = []
    check_rows: list[dict[str, Any]] = []
    before_rows, after_rows = [], []
    notes: list[str] = []
    errors: list[str] = []
    book_usd = [np.zeros(m.shape[1]), np.zeros(m.shape[1])]
    for a, acct in enumerate(values.index.astype(str)):
        x0 = values.iloc[a].to_numpy(dtype=float)
        V = float(x0.sum())
        if not V > 0:
            continue
        y0 = x0 / V
        lo = np.zeros(n)
        hi = np.ones(n)
        reason: dict[str, str] = {}
        for k, t in enumerate(insts):
            if t == CASH:
                continue
            tradable = allowed is None or t in allowed
            if not tradable:
                lo[k] = hi[k] = y0[k]
                reason[t] = "not in the allowed list"
                continue
            if t in no_sell:
                lo[k] = y0[k]
                reason[t] = "kept: no-sell"
            if t in no_buy:
                hi[k] = y0[k]
            if y0[k] == 0 and t not in buy:
                hi[k] = 0.0
        # only what can be held after trading enters the problem (the rest stays at zero), and
        # only the limits that those instruments can breach (sum y = 1 => e_L <= max_k M_Lk)
        S = np.flatnonzero((hi > 0) | (np.arange(n) == cash_pos))
        rows = (
            np.flatnonzero(M_live[:, S].max(axis=1) > b_live + TOL)
            if len(live)
            else np.zeros(0, int)
        )
        key = (tuple(S.tolist()), tuple(rows.tolist()))
        problem = problems.get(key)
        cash_s = int(np.flatnonzero(S == cash_pos)[0])
        if problem is None:
            problem = _Problem(
                M_live[np.ix_(rows, S)],
                b_live[rows],
                len(S),
                cash_s,
                tr.turnover,
                tr.cash_buffer,
                tr.cash_max,
            )
            problems[key] = problem
        ys = problem.solve(y0[S], lo[S], hi[S])
        if ys is None:
            errors.append(
                _explain(
                    M_live[np.ix_(rows, S)],
                    [live[r] for r in rows.tolist()],
                    y0[S],
                    lo[S],
                    hi[S],
                    [insts[k] for k in S.tolist()],
                    reason,
                    tr.turnover,
                    cash_s,
                    tr.cash_buffer,
                    acct,
                    tr.cash_max,
                )
            )
            continue
        y = np.zeros(n)
        y[S] = ys
        y = np.clip(y, lo, hi)
        # to shares: sells away from zero (within the position), buys toward zero
        dv = (y - y0) * V
        q = np.where(prices > 0, dv / prices, 0.0)
        q[cash_pos] = 0.0
        q[np.abs(dv) < 1e-6 * V] = 0.0
        if lot > 0:
            q = np.where(q < 0, np.floor(q / lot) * lot, np.floor(q / lot + 1e-9) * lot)
        q = np.maximum(q, -shares_held[a])
        notional = q * prices
        if tr.min_trade > 0:
            small_buy = (notional > 0) & (notional < tr.min_trade)
            q[small_buy] = 0.0
            small_sell = (notional < 0) & (-notional < tr.min_trade)
            need = tr.min_trade / prices
            if lot > 0:
                need = np.ceil(need / lot - 1e-9) * lot
            q[small_sell] = np.maximum(-need[small_sell], -shares_held[a][small_sell])
            notional = q * prices
        short = notional.sum() - x0[cash_pos]  # buys beyond cash + sells (solver tolerance)
        buys = notional > 0
        if short > 0 and buys.any():
            q[buys] *= max(0.0, 1.0 - short / float(notional[buys].sum()))
            if lot > 0:
                q[buys] = np.floor(q[buys] / lot) * lot
            notional = q * prices
        x1 = x0 + notional
        x1[cash_pos] = x0[cash_pos] - notional.sum()
        if x1[cash_pos] < -1e-6 * V:
            errors.append(f"account {acct}: rounding to lots leaves cash at {x1[cash_pos]:,.2f}")
            continue
        e0 = m.exposure(x0) / V
        e1 = m.exposure(x1) / V
        book_usd[0] += e0 * V
        book_usd[1] += e1 * V
        before_rows.append(pd.Series(e0, index=m.columns.index, name=acct))
        after_rows.append(pd.Series(e1, index=m.columns.index, name=acct))
        for k in np.flatnonzero(q != 0).tolist():
            trades_rows.append(
                {
                    "account": acct,
                    "ticker": insts[k],
                    "shares": float(q[k]),
                    "price": float(prices[k]),
                    "value": float(notional[k]),
                    "weight_before": float(x0[k] / V),
                    "weight_after": float(x1[k] / V),
                }
            )
        for lim in limits:
            if lim.kind == "issuer":
                continue  # one row for all issuers below
            b, af = float(e0[lim.columns].sum()), float(e1[lim.columns].sum())
            check_rows.append(
                {
                    "account": acct,
                    "limit": lim.name,
                    "before": b,
                    "after": af,
                    "bound": lim.bound,
                    "passed": af <= lim.bound + 1e-9,
                }
            )
        if policy.limits.issuer_max is not None:
            iss = m.issuer_mask()
            top = int(np.argmax(np.where(iss, e1, -1)))
            check_rows.append(
                {
                    "account": acct,
                    "limit": f"largest issuer ({m.columns.index[top]}) <= {100 * policy.limits.issuer_max:.1f}%",
                    "before": float(np.max(np.where(iss, e0, 0))),
                    "after": float(e1[top]),
                    "bound": float(policy.limits.issuer_max),
                    "passed": float(e1[top]) <= policy.limits.issuer_max + 1e-9,
                }
            )
        if tr.turnover is not None:
            to = 0.5 * float(np.abs(notional[np.arange(n) != cash_pos]).sum()) / V
            if to > tr.turnover + 1e-9:
                notes.append(
                    f"account {acct}: rounding sells up to whole lots makes turnover {_pct(to)}"
                )
    compliance = _compliance(before_rows, after_rows, m)
    total = float(book_usd[0].sum())
    book = pd.DataFrame(
        {
            "name": m.columns["name"],
            "before": book_usd[0] / total if total > 0 else np.nan,
            "after": book_usd[1] / total if total > 0 else np.nan,
        },
        index=m.columns.index,
    )
    if errors:
        raise InfeasibleError(
            "; ".join(errors[:5])
            + (f" (and {len(errors) - 5} more accounts)" if len(errors) > 5 else "")
        )
    trades = pd.DataFrame(
        trades_rows,
        columns=["account", "ticker", "shares", "price", "value", "weight_before", "weight_after"],
    )
    checks = pd.DataFrame(
        check_rows, columns=["account", "limit", "before", "after", "bound", "passed"]
    )
    return LookThroughRebalance(
        trades=trades,
        checks=checks,
        exposure_before=pd.DataFrame(before_rows),
        exposure_after=pd.DataFrame(after_rows),
        matrix=m,
        compliance=compliance,
        book=book,
        notes=tuple(dict.fromkeys(notes)),
    )


def _compliance(before: list[pd.Series], after: list[pd.Series], m: ExposureMatrix) -> pd.DataFrame:
    """RIC 25/50 and UCITS 5/10/40 on each account's looked-through issuer weights, before/after."""
    from counterweight.construct.rules import RIC, UCITS

    issuer = m.issuer_mask()
    rows = []
    for b, a in zip(before, after, strict=True):
        for rule in (*RIC, *UCITS):
            cb, ca = rule.evaluate(b[issuer]), rule.evaluate(a[issuer])
            rows.append(
                {
                    "account": a.name,
                    "rule": rule.name,
                    "before": cb.value,
                    "after": ca.value,
                    "passed": ca.passed,
                    "detail": ca.detail,
                }
            )
    return pd.DataFrame(rows, columns=["account", "rule", "before", "after", "passed", "detail"])


def policy_from_dict(data: dict[str, Any]) -> LookThroughPolicy:
    """A policy from a dict (the TOML's tables), errors as :class:`ConfigError`."""
    try:
        return LookThroughPolicy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}") from None


__all__ = (
    "Limit",
    "LookThroughPolicy",
    "LookThroughRebalance",
    "load_policy",
    "policy_from_dict",
    "rebalance_lookthrough",
    "resolve_limits",
)
