"""Tax-aware rebalance of households: accounts of one household together, asset location,
lot selection under a realised-gain budget, wash sales and loss harvesting.

Per household (vectorised over every account of every household given, as (A, U) rows):

1. **Target.** Household value V_h = sum of its accounts' values; target dollars
   T_i = t_i V_h with t the target scaled as the engine scales it (to min(sum t, 1 - buffer)).
2. **Asset location** (taxes on): the tax-deferred / tax-exempt accounts trade first. Their
   target holds what the taxable accounts do not: D_i = max(T_i - X_i, 0) (X: taxable
   holdings), scaled to their investable value, the same weights in each sheltered account.
   So an overweight name is trimmed inside the IRA / Roth, where selling is free. The taxable
   accounts then aim at the rest: Y_i = max(T_i - S'_i, 0) (S': sheltered after trading).
   Each pass is :func:`~counterweight.rebalance.engine.rebalance_arrays` (turnover, minimum
   trade, lots, cash, restricted lists, as in the plain rebalance). Taxes off: every account
   aims at t itself, which is exactly today's rebalance.
3. **Lots.** The shares each sell needs are taken from the position's lots in the chosen
   order (:func:`counterweight.rebalance.tax.order_key`).
4. **Gain budget.** Within the budget room R = max(budget - realised, 0), the taxable lot
   sales of a household are accepted in ascending gain per dollar (price - basis) / price
   (losses first; a lot never before an earlier lot of its position) until their net gain
   reaches R; the crossing lot is sold in part. Under the L1 distance 1/2 sum|w - t| every
   dollar of an overweight sold (and re-invested in an underweight) lowers the distance by the
   same 1/V_h, so this fractional knapsack sells the most dollars for the gain allowed.
   Buys shrink to the cash the smaller sales leave. A final pass guarantees the run's net
   realised gain <= R after rounding and the minimum trade.
5. **Wash sales** (IRC §1091): a ticker sold at a loss in a taxable account, or with a loss
   sale in the last 30 days on record, is not bought in any account of the household (IRA
   included); a ticker bought in the household within the last 30 days (a lot acquired then,
   or a recorded buy) is not sold at a loss.
6. **Harvesting** (optional): remaining taxable lots with a loss of at least the threshold of
   their basis, in names the household does not need to buy, are sold and the proceeds buy a
   replacement: the user's map, else the largest same-sector peer of another issuer (a sector
   peer is the default; whether it is "substantially identical" is the user's judgement).

Estimated tax = sum over lots of gain x (short or long rate + state): losses offset at their
own rate (a simplification of the Schedule D netting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from counterweight.data.lots import Accounts, Lots
from counterweight.errors import DataUnavailableError, InputError
from counterweight.market import normalize_ticker
from counterweight.rebalance.engine import TradeRules, rebalance_arrays
from counterweight.rebalance.lots import drop_small, fit_cash
from counterweight.rebalance.tax import (
    WASH_DAYS,
    TaxSettings,
    is_long_term,
    lot_tax,
    no_tax,
    order_key,
)

TRADE_COLUMNS = [
    "household",
    "account",
    "account_type",
    "ticker",
    "lot_id",
    "side",
    "shares",
    "price",
    "notional",
    "basis",
    "acquired",
    "term",
    "gain",
    "tax",
    "reason",
]


@dataclass(frozen=True)
class HouseholdRebalance:
    """Result of :func:`rebalance_households`.

    ``trades``: one row per lot sold or position bought (columns :data:`TRADE_COLUMNS`;
    buys have no lot, term, gain). ``summary``: one row per household: value, distance before
    / after / without the budget, short- and long-term gains and losses, net gain, estimated
    tax, budget, realised before, room left, sells the budget left undone (USD) and the gain
    they would have realised. ``positions``: trades per (account, ticker) (engine layout).
    """

    trades: pd.DataFrame
    summary: pd.DataFrame
    positions: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class _Book:
    accounts: pd.Index
    tickers: pd.Index
    hh: np.ndarray  # (A,) household codes
    households: pd.Index
    taxable: np.ndarray  # (A,) bool
    types: np.ndarray  # (A,) str
    q0: np.ndarray  # (A, U)
    px: np.ndarray  # (A, U)
    cash: np.ndarray  # (A,)
    lots: pd.DataFrame  # + a_idx, u_idx


def _build_book(
    lots: Lots,
    accounts: Accounts,
    target: pd.Series,
    prices: pd.Series | None,
    extra: frozenset[str] = frozenset(),
) -> _Book:
    table = accounts.table
    lf = lots.lots
    used = pd.Index(pd.unique(pd.concat([lf["account"], pd.Series(lots.cash.index, dtype=str)])))
    missing = used.difference(table.index)
    if len(missing):
        raise InputError(
            f"accounts not in the accounts file: {', '.join(map(str, missing[:5]))}",
            file=lots.source or None,
        )
    tab = table.sort_values(["household"], kind="stable")
    acc_index = pd.Index(tab.index, name="account")
    tickers = pd.Index(
        sorted(set(lf["ticker"]) | set(target.index[target > 0]) | set(extra)), name="ticker"
    )
    a, u = len(acc_index), len(tickers)
    ai = acc_index.get_indexer(pd.Index(lf["account"]))
    ti = tickers.get_indexer(pd.Index(lf["ticker"]))
    q0 = np.zeros((a, u))
    np.add.at(q0, (ai, ti), lf["shares"].to_numpy(dtype=float))
    base = (
        pd.Series(np.nan, index=tickers)
        if prices is None
        else prices.rename(index=normalize_ticker).groupby(level=0).last().reindex(tickers)
    )
    file_px = lf.dropna(subset=["price"]).groupby("ticker")["price"].first().reindex(tickers)
    per = file_px.fillna(base.astype(float)).to_numpy(dtype=float)
    px = np.broadcast_to(per, (a, u)).copy()
    own = lf["price"].notna().to_numpy()
    px[ai[own], ti[own]] = lf["price"].to_numpy(dtype=float)[own]
    held = q0 > 0
    if (held & ~np.isfinite(px)).any():
        bad = sorted(set(tickers[np.nonzero(held & ~np.isfinite(px))[1]]))
        raise DataUnavailableError(
            f"no price for held {', '.join(bad[:10])}: add a price column to the lots file"
        )
    need = target.reindex(tickers).fillna(0.0).to_numpy() > 0
    if a and (need & ~np.isfinite(px[0])).any():
        bad = list(tickers[need & ~np.isfinite(px[0])][:10])
        raise DataUnavailableError(f"no price for target names {', '.join(bad)}: cannot size buys")
    cash = tab["cash"].to_numpy(dtype=float) + lots.cash.reindex(acc_index).fillna(0.0).to_numpy()
    hh_codes, households = pd.factorize(tab["household"], sort=False)
    lf = lf.assign(a_idx=ai, u_idx=ti, price=px[ai, ti])
    types = tab["type"].to_numpy().astype(str)
    return _Book(
        accounts=acc_index,
        tickers=tickers,
        hh=hh_codes,
        households=pd.Index(households, name="household"),
        taxable=types == "taxable",
        types=types,
        q0=q0,
        px=px,
        cash=cash,
        lots=lf,
    )


def _hsum(x: np.ndarray, hh: np.ndarray, h: int) -> np.ndarray:
    """Sum rows of ``x`` (A, ...) by household code -> (H, ...)."""
    out = np.zeros((h, *x.shape[1:]))
    np.add.at(out, hh, x)
    return out


def _engine(
    book: _Book,
    rows: np.ndarray,
    target: np.ndarray,
    rules: TradeRules,
    blocked: np.ndarray,
    frozen: np.ndarray | None = None,
) -> np.ndarray:
    """Engine shares (len(rows), U) of the accounts ``rows`` toward per-account ``target``
    (accounts worth nothing trade nothing)."""
    out = np.zeros((int(rows.sum()), book.q0.shape[1]))
    mv = np.where(book.q0[rows] != 0, book.q0[rows] * book.px[rows], 0.0)
    live = mv.sum(axis=1) + book.cash[rows] > 0
    if not live.any():
        return out
    target = np.broadcast_to(target, out.shape)[live]
    rows = rows.copy()
    rows[np.nonzero(rows)[0][~live]] = False
    can_buy, can_sell = rules.allowed(book.tickers)
    res = rebalance_arrays(
        book.q0[rows],
        book.px[rows],
        book.cash[rows],
        target,
        turnover=rules.turnover,
        min_trade=rules.min_trade,
        lot=rules.lot,
        cash_buffer=rules.cash_buffer,
        can_buy=can_buy[None, :] & ~blocked[rows],
        can_sell=can_sell[None, :] & (True if frozen is None else ~frozen[rows]),
        sell_only=rules.mode == "sell_only",
    )
    out[live] = res.shares
    return out


def _scaled(t: np.ndarray, buffer: float) -> np.ndarray:
    s = t.sum()
    return t * (min(s, 1.0 - buffer) / s) if s > 0 else t


def _fill(desired: np.ndarray, capacity: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Scale desired dollars (H, U) to the investable capacity (H,): down when above; the
    shortfall spread over the names still wanted, in proportion to the target."""
    tot = desired.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        down = np.where(tot > capacity, capacity / tot, 1.0)
    out = desired * down[:, None]
    short = np.maximum(capacity - out.sum(axis=1), 0.0)
    room = np.where(desired > 0, t[None, :], 0.0)
    rs = room.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        add = np.where(rs[:, None] > 0, room / rs[:, None], 0.0) * short[:, None]
    return out + add


def _passes(
    book: _Book,
    t: np.ndarray,
    rules: TradeRules,
    blocked: np.ndarray,
    location: bool,
    frozen: np.ndarray | None = None,
) -> np.ndarray:
    """Engine shares (A, U) for all accounts: one pass (no location) or sheltered then taxable."""
    a, u = book.q0.shape
    q = np.zeros((a, u))
    if not location:
        allrows = np.ones(a, dtype=bool)
        return _engine(book, allrows, t, rules, blocked, frozen)
    nh = len(book.households)
    mv = np.where(book.q0 != 0, book.q0 * book.px, 0.0)
    value = mv.sum(axis=1) + book.cash
    ts = _scaled(t, rules.cash_buffer)
    vh = _hsum(value, book.hh, nh)
    big_t = ts[None, :] * vh[:, None]
    tx = book.taxable
    sh = ~tx
    v_sh = _hsum(np.where(sh, value, 0.0), book.hh, nh)
    cap_sh = v_sh * ts.sum()  # the target's cash share stays in cash
    held = _hsum(mv, book.hh, nh)
    s_now = _hsum(np.where(sh[:, None], mv, 0.0), book.hh, nh)
    # trim every overweight inside the shelter as far as it holds it; buy underweights
    # in proportion to their shortfall with the proceeds and the free cash
    trim = np.minimum(np.maximum(held - big_t, 0.0), s_now)
    need = np.maximum(big_t - held, 0.0)
    spend = trim.sum(axis=1) + np.maximum(cap_sh - s_now.sum(axis=1), 0.0)
    ns = need.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(ns > spend, spend / ns, 1.0)
    desired = np.where(held - big_t > 0, s_now - trim, s_now + need * f[:, None])
    d_sh = _fill(desired, cap_sh, ts)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_sh = np.where(v_sh[:, None] > 0, d_sh / v_sh[:, None], 0.0)
    if sh.any():
        q[sh] = _engine(book, sh, w_sh[book.hh[sh]], rules, blocked, frozen)
    s_after = _hsum(
        np.where(sh[:, None], mv + q * np.where(q != 0, book.px, 0.0), 0.0), book.hh, nh
    )
    v_tx = _hsum(np.where(tx, value, 0.0), book.hh, nh)
    y = _fill(np.maximum(big_t - s_after, 0.0), v_tx * ts.sum(), ts)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_tx = np.where(v_tx[:, None] > 0, y / v_tx[:, None], 0.0)
    if tx.any():
        q[tx] = _engine(book, tx, w_tx[book.hh[tx]], rules, blocked, frozen)
    return q


def _allocate(lots: pd.DataFrame, sell: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Shares taken from each lot (lots sorted by position then order): a prefix of the
    position's lots covering ``sell`` (A, U) shares; ``avail``: shares of each lot usable."""
    need = sell[lots["a_idx"].to_numpy(), lots["u_idx"].to_numpy()]
    pos = lots["pos"].to_numpy()
    cum = pd.Series(avail).groupby(pos).cumsum().to_numpy()
    before = cum - avail
    return np.clip(need - before, 0.0, avail)


def rebalance_households(
    lots: Lots,
    accounts: Accounts,
    target: pd.Series,
    *,
    prices: pd.Series | None = None,
    rules: TradeRules | None = None,
    settings: TaxSettings | None = None,
    windows: pd.DataFrame | None = None,
    securities: pd.DataFrame | None = None,
    trade_date: Any = None,
) -> HouseholdRebalance:
    """Tax-aware trades for every household of ``accounts`` that has lots or cash.

    ``target``: weights by ticker (fractions, sum <= 1); ``prices``: USD by ticker (the lots
    file's price column wins); ``settings``: :class:`TaxSettings` (None: taxes off, which
    reproduces :func:`~counterweight.rebalance.engine.rebalance` account by account);
    ``windows``: open wash-sale events (:func:`~counterweight.rebalance.tax.open_wash_windows`);
    ``securities``: sector / issuer per ticker for default harvest replacements;
    ``trade_date``: the sale date for holding periods (default settings.trade_date, else today).
    """
    rules = rules or TradeRules()
    settings = settings or no_tax()
    tgt = target.rename(index=normalize_ticker).groupby(level=0).sum()
    if (tgt < 0).any() or tgt.sum() > 1 + 1e-9:
        raise InputError("target weights must be non-negative and sum to at most 1")
    day = pd.Timestamp(trade_date or settings.trade_date or pd.Timestamp.today().normalize())
    notes: list[str] = []
    used = set(lots.lots["account"]) | set(map(str, lots.cash.index))
    tab = accounts.table
    live_hh = set(tab.loc[tab.index.isin(list(used)), "household"])
    accounts = Accounts(table=tab[tab["household"].isin(live_hh)], source=accounts.source)
    extra: frozenset[str] = frozenset()
    if settings.harvest_losses and prices is not None:  # replacements need a column
        priced = {normalize_ticker(x) for x in prices.dropna().index}
        wanted = {normalize_ticker(v) for v in settings.replacements.values()}
        if securities is not None and "sector" in securities:
            held_sectors = set(
                securities["sector"].reindex(pd.unique(lots.lots["ticker"])).dropna()
            )
            wanted |= set(securities.index[securities["sector"].isin(held_sectors)])
        extra = frozenset(wanted & priced)
    book = _build_book(lots, accounts, tgt, prices, extra)
    u = book.q0.shape[1]
    nh = len(book.households)
    t = tgt.reindex(book.tickers).fillna(0.0).to_numpy(dtype=float)
    lf = book.lots
    # lots in position order
    taxable_lot = book.taxable[lf["a_idx"].to_numpy()]
    long = is_long_term(lf["acquired"].to_numpy(), np.datetime64(day))
    key = order_key(lf, settings, long, taxable_lot)
    lf = lf.assign(long=long, taxable=taxable_lot, key=key, hh=book.hh[lf["a_idx"].to_numpy()])
    lf = lf.sort_values(["a_idx", "u_idx", "key"], kind="stable").reset_index(drop=True)
    hh_arr, tk_arr = lf["hh"].to_numpy(), lf["ticker"].to_numpy().astype(str)
    lf["pos"] = lf["a_idx"].to_numpy() * max(u, 1) + lf["u_idx"].to_numpy()
    px_l = lf["price"].to_numpy(dtype=float)
    gps = px_l - lf["basis"].to_numpy(dtype=float)  # gain per share
    gpd = np.where(lf["taxable"], gps / px_l, 0.0)  # gain per dollar
    # effective order across positions: never a lot before an earlier lot of its position
    eff = pd.Series(gpd).groupby(lf["pos"].to_numpy()).cummax().to_numpy()
    st, lt = settings.rates()
    tpd = np.where(lf["taxable"], gps / px_l * np.where(lf["long"], lt, st), 0.0)
    tpd_eff = pd.Series(tpd).groupby(lf["pos"].to_numpy()).cummax().to_numpy()
    avail = lf["shares"].to_numpy(dtype=float).copy()
    if settings.tax_weight > 0:  # lots whose tax per dollar exceeds 1 / lambda stay
        avail = np.where(lf["taxable"] & (tpd_eff > 1.0 / settings.tax_weight), 0.0, avail)

    # wash sales: recent buys block loss sales; loss sales block buys
    hh_names = book.households
    recent = lf[(lf["acquired"] > day - pd.Timedelta(days=WASH_DAYS)) & (lf["acquired"] <= day)]
    bought = set(zip(recent["hh"], recent["ticker"], strict=True))
    blocked_buy_h: set[tuple[int, str]] = set()
    if windows is not None and len(windows):
        hcode = {h: i for i, h in enumerate(hh_names)}
        for h, tk, kind in windows[["household", "ticker", "kind"]].itertuples(index=False):
            if str(h) in hcode:
                (blocked_buy_h if kind == "loss_sale" else bought).add((hcode[str(h)], str(tk)))
    if not settings.wash_sales:
        bought, blocked_buy_h = set(), set()
    if bought:
        keys = pd.MultiIndex.from_arrays([lf["hh"].to_numpy(), lf["ticker"].to_numpy()])
        no_loss = np.asarray(keys.isin(list(bought)))
        avail = np.where(no_loss & lf["taxable"].to_numpy() & (gps < 0), 0.0, avail)

    # harvest candidates
    mv0 = np.where(book.q0 != 0, book.q0 * book.px, 0.0)
    value0 = mv0.sum(axis=1) + book.cash
    vh0 = _hsum(value0, book.hh, nh)
    ts = _scaled(t, rules.cash_buffer)
    hold_h = _hsum(mv0, book.hh, nh)
    harvest = np.zeros(len(lf), dtype=bool)
    if settings.harvest_losses:
        under = hold_h < ts[None, :] * vh0[:, None] - 1e-9
        basis_l = lf["basis"].to_numpy(dtype=float)
        harvest = (
            lf["taxable"].to_numpy()
            & (gps < 0)
            & (-gps >= settings.harvest_threshold * basis_l)
            & (avail > 0)
            & ~under[lf["hh"].to_numpy(), lf["u_idx"].to_numpy()]
            & rules.allowed(book.tickers)[1][lf["u_idx"].to_numpy()]  # no_sell / hold / buy-only
            & (rules.mode == "both")
        )
        for h, tk in zip(hh_arr[harvest], tk_arr[harvest], strict=True):
            blocked_buy_h.add((int(h), str(tk)))

    def blocked_mask(pairs: set[tuple[int, str]]) -> np.ndarray:
        m = np.zeros((nh, u), dtype=bool)
        if pairs:
            hs = np.fromiter((h for h, _ in pairs), dtype=np.int64, count=len(pairs))
            js = book.tickers.get_indexer(pd.Index([tk for _, tk in pairs]))
            m[hs[js >= 0], js[js >= 0]] = True
        return m[book.hh]

    budget = np.array([settings.budget(str(h)) for h in hh_names]).reshape(-1, 2)
    room = np.maximum(budget[:, 0] - budget[:, 1], 0.0) if nh else np.zeros(0)
    location = settings.asset_location
    lot = rules.lot
    blocked_start = set(blocked_buy_h)
    while True:  # a harvest lot without a usable replacement is dropped and the run redone
        blocked_buy_h = blocked_start | {
            (int(h), str(tk)) for h, tk in zip(hh_arr[harvest], tk_arr[harvest], strict=True)
        }
        frozen = np.zeros(book.q0.shape, dtype=bool)  # positions the budget cannot sell
        for _ in range(8):
            blocked = blocked_mask(blocked_buy_h)
            q_eng = _passes(book, t, rules, blocked, location, frozen)
            sell = np.maximum(-q_eng, 0.0)
            take = _allocate(lf, sell, avail)
            # the budget: taxable lots in ascending effective gain per dollar per household
            room_h = room.copy()
            if settings.harvest_losses and harvest.any():
                sold_pos = sell[lf["a_idx"].to_numpy(), lf["u_idx"].to_numpy()] > 0
                loss_free = np.where(harvest & ~sold_pos, gps * avail, 0.0)
                room_h = room_h - _hsum(loss_free, lf["hh"].to_numpy(), nh)
            take = _budget(lf, take, gps, eff, room_h, lot)
            q = _apply(book, lf, q_eng, take, rules, lot)
            take = _allocate(lf, np.maximum(-q, 0.0), avail)
            take, q = _guard(book, lf, take, q, gps, eff, room_h, rules, avail)
            loss_sold = lf["taxable"].to_numpy() & (take > 0) & (gps < 0)
            new = (
                {
                    (int(h), str(tk))
                    for h, tk in zip(hh_arr[loss_sold], tk_arr[loss_sold], strict=True)
                }
                if settings.wash_sales
                else set()
            )
            bm = blocked_mask(blocked_buy_h | new)
            # a taxable position the budget left unsold is frozen and the engine re-solved,
            # so the sales move to positions it can afford (losses, sheltered accounts)
            sold_now = np.zeros_like(q)
            np.add.at(sold_now, (lf["a_idx"].to_numpy(), lf["u_idx"].to_numpy()), take)
            cut = (q_eng < 0) & (sold_now <= 0) & book.taxable[:, None] & ~frozen
            if not ((q > 0) & bm).any() and not cut.any():
                break
            blocked_buy_h |= new
            frozen |= cut
        else:  # still conflicting after the iterations: drop the offending buys
            q = np.where((q > 0) & bm, 0.0, q)
            notes.append("buys dropped to respect the wash-sale window after repeated passes")
        blocked_buy_h |= new
        q_free = _passes(book, t, rules, blocked_mask(blocked_buy_h), location)

        # harvesting: what is left of the harvest lots, replaced by a peer
        harvest_rows: list[dict[str, Any]] = []
        left0 = lf["shares"].to_numpy() - take
        if settings.harvest_losses and harvest.any():
            q, harvest_rows, hnotes = _harvest(
                book, lf, take, q, harvest, settings, securities, blocked_buy_h, rules, ts
            )
            notes.extend(hnotes)
        done = {r["i"] for r in harvest_rows}
        skipped = [i for i in np.nonzero(harvest & (left0 > 1e-12))[0] if i not in done]
        if not skipped:
            break
        harvest[skipped] = False
    notes = list(dict.fromkeys(notes))
    return _package(
        book, lf, take, q, q_eng, q_free, settings, budget, room, ts, day, harvest_rows, notes
    )


def _budget(
    lf: pd.DataFrame,
    take: np.ndarray,
    gps: np.ndarray,
    eff: np.ndarray,
    room: np.ndarray,
    lot: float,
) -> np.ndarray:
    """Cut the taxable lot sales of each household so that their net gain <= room (H,)."""
    tax = lf["taxable"].to_numpy() & (take > 0)
    if not tax.any():
        return take
    idx = np.nonzero(tax)[0]
    hh = lf["hh"].to_numpy()[idx]
    order = np.lexsort((np.arange(len(idx)), eff[idx], hh))
    idx, hh = idx[order], hh[order]
    g = gps[idx] * take[idx]
    cum = pd.Series(g).groupby(hh).cumsum().to_numpy()
    r = room[hh]
    before = cum - g
    full = cum <= r + 1e-9
    out = take.copy()
    cut = ~full
    # the first lot of each household past the room: sold in part
    first = cut & (before <= r + 1e-9) & (gps[idx] > 0)
    part = np.where(first, (r - before) / np.where(gps[idx] > 0, gps[idx], 1.0), 0.0)
    if lot > 0:
        part = np.floor(part / lot + 1e-9) * lot
    part = np.clip(part, 0.0, take[idx])
    out[idx] = np.where(full, take[idx], np.where(first, part, 0.0))
    # after a household's first cut, nothing later (ascending eff: only gains remain)
    seen = pd.Series(cut).groupby(hh).cummax().to_numpy()
    out[idx] = np.where(seen & ~first, 0.0, out[idx])
    return out


def _apply(
    book: _Book,
    lf: pd.DataFrame,
    q_eng: np.ndarray,
    take: np.ndarray,
    rules: TradeRules,
    lot: float,
) -> np.ndarray:
    """Position shares after the lot cuts; buys of cut accounts shrunk to the cash left."""
    sold = np.zeros_like(q_eng)
    np.add.at(sold, (lf["a_idx"].to_numpy(), lf["u_idx"].to_numpy()), take)
    same = np.abs(sold + q_eng) <= 1e-9 * np.maximum(1.0, np.abs(q_eng))
    q = np.where((q_eng < 0) & ~same, -np.minimum(sold, -q_eng), q_eng)
    changed = (q != q_eng).any(axis=1)
    if not changed.any():
        return q_eng
    q2 = drop_small(np.where(q < 0, q, 0.0), book.px, rules.min_trade) + np.where(q > 0, q, 0.0)
    mv = np.where(book.q0 != 0, book.q0 * book.px, 0.0)
    value = mv.sum(axis=1) + book.cash
    q2 = fit_cash(q2, book.px, book.cash, rules.cash_buffer * value, lot)
    q2 = drop_small(q2, book.px, rules.min_trade)
    return np.where(changed[:, None], q2, q_eng)


def _guard(
    book: _Book,
    lf: pd.DataFrame,
    take: np.ndarray,
    q: np.ndarray,
    gps: np.ndarray,
    eff: np.ndarray,
    room: np.ndarray,
    rules: TradeRules,
    avail: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """After rounding and the minimum trade: while a household's net gain exceeds its room,
    remove its last gain lot (highest effective gain per dollar); a position left below the
    minimum trade is dropped. Each step sells strictly less, so it ends."""
    taxable = lf["taxable"].to_numpy()
    hh = lf["hh"].to_numpy()
    a_arr, u_arr = lf["a_idx"].to_numpy(), lf["u_idx"].to_numpy()
    nh = len(room)
    for _ in range(10_000):
        net = _hsum(np.where(taxable, take * gps, 0.0), hh, nh)
        over = np.nonzero(net > room + 1e-6)[0]
        if not len(over):
            return take, q
        for h in over:
            cand = np.nonzero((hh == h) & taxable & (take > 0) & (gps > 0))[0]
            if not len(cand):
                continue
            i = cand[len(cand) - 1 - int(np.argmax(eff[cand][::-1]))]  # last of ties
            ai, ui = int(a_arr[i]), int(u_arr[i])
            new = -q[ai, ui] - take[i]
            if new * book.px[ai, ui] < rules.min_trade or new <= 1e-12:
                new = 0.0
            q[ai, ui] = -new
        take = _allocate(lf, np.maximum(-q, 0.0), avail)
        mv = np.where(book.q0 != 0, book.q0 * book.px, 0.0)
        value = mv.sum(axis=1) + book.cash
        q = fit_cash(q, book.px, book.cash, rules.cash_buffer * value, rules.lot)
        q = drop_small(q, book.px, rules.min_trade)
    raise AssertionError("gain budget guard did not converge")  # pragma: no cover


def _peers(
    securities: pd.DataFrame | None, tickers: pd.Index, ts: np.ndarray
) -> dict[str, list[str]]:
    """Default replacements: same-sector names of another issuer, largest target weight first."""
    if securities is None or "sector" not in securities:
        return {}
    sec = securities.reindex(tickers)
    sector = sec["sector"]
    issuer = (
        sec["issuer"].fillna(pd.Series(tickers, index=tickers))
        if "issuer" in sec
        else pd.Series(tickers, index=tickers)
    )
    w = pd.Series(ts, index=tickers)
    out: dict[str, list[str]] = {}
    for tk in tickers:
        s = sector.at[tk]
        if not isinstance(s, str):
            continue
        same = [x for x in tickers[(sector == s).to_numpy() & (issuer != issuer.at[tk]).to_numpy()]]
        out[str(tk)] = sorted(map(str, same), key=lambda x: (-float(w.get(x, 0.0)), x))
    return out


def _harvest(
    book: _Book,
    lf: pd.DataFrame,
    take: np.ndarray,
    q: np.ndarray,
    harvest: np.ndarray,
    settings: TaxSettings,
    securities: pd.DataFrame | None,
    blocked: set[tuple[int, str]],
    rules: TradeRules,
    ts: np.ndarray,
) -> tuple[np.ndarray, list[dict[str, Any]], list[str]]:
    peers = _peers(securities, book.tickers, ts)
    can_buy = rules.allowed(book.tickers)[0]
    repl_map = {normalize_ticker(k): normalize_ticker(v) for k, v in settings.replacements.items()}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    used_default = False
    left = lf["shares"].to_numpy() - take
    hh_a, a_a, u_a = lf["hh"].to_numpy(), lf["a_idx"].to_numpy(), lf["u_idx"].to_numpy()
    tk_a, acct_a, lot_a = (lf[c].to_numpy().astype(str) for c in ("ticker", "account", "lot_id"))
    for i in np.nonzero(harvest & (left > 1e-12))[0]:
        h, ai, ui = int(hh_a[i]), int(a_a[i]), int(u_a[i])
        tk = str(tk_a[i])
        cands = [repl_map[tk]] if tk in repl_map else peers.get(tk, [])
        rep = next(
            (
                c
                for c in cands
                if (h, c) not in blocked
                and c in book.tickers
                and bool(can_buy[book.tickers.get_loc(c)])
                and np.isfinite(book.px[ai, book.tickers.get_loc(c)])
            ),
            None,
        )
        if rep is None:
            notes.append(
                f"{acct_a[i]} {tk} lot {lot_a[i]}: loss not harvested (no replacement with a price)"
            )
            continue
        used_default |= tk not in repl_map
        proceeds = left[i] * book.px[ai, ui]
        rj = book.tickers.get_loc(rep)
        rpx = book.px[ai, rj]
        n = proceeds / rpx
        if rules.lot > 0:
            n = np.floor(n / rules.lot) * rules.lot
        if n * rpx < rules.min_trade or n <= 0:
            notes.append(
                f"{acct_a[i]} {tk}: loss not harvested (replacement below the minimum trade)"
            )
            continue
        take[i] += left[i]
        q[ai, ui] -= left[i]
        q[ai, rj] += n
        rows.append({"i": int(i), "replacement": rep, "a_idx": ai, "u_idx": rj})
    if used_default and rows:
        notes.append(
            "harvest replacements are same-sector peers of another issuer (the default; give a "
            "replacements map to choose them): whether a peer is 'substantially identical' "
            "under IRC §1091 is your judgement"
        )
    return q, rows, notes


def _package(
    book: _Book,
    lf: pd.DataFrame,
    take: np.ndarray,
    q: np.ndarray,
    q_eng: np.ndarray,
    q_free: np.ndarray,
    settings: TaxSettings,
    budget: np.ndarray,
    room: np.ndarray,
    ts: np.ndarray,
    day: pd.Timestamp,
    harvest_rows: list[dict[str, Any]],
    notes: list[str],
) -> HouseholdRebalance:
    nh = len(book.households)
    px_l = lf["price"].to_numpy(dtype=float)
    basis = lf["basis"].to_numpy(dtype=float)
    gain, tax = lot_tax(
        take, px_l, basis, lf["long"].to_numpy(), lf["taxable"].to_numpy(), settings
    )
    harvested = np.zeros(len(lf), dtype=bool)
    for r in harvest_rows:
        harvested[r["i"]] = True
    s = take > 0
    ai_l = lf["a_idx"].to_numpy()
    sells = pd.DataFrame(
        {
            "household": book.households[lf["hh"].to_numpy()[s]].astype(str),
            "account": book.accounts[ai_l[s]].astype(str),
            "account_type": book.types[ai_l[s]],
            "ticker": lf["ticker"].to_numpy()[s],
            "lot_id": lf["lot_id"].to_numpy()[s],
            "side": "SELL",
            "shares": -take[s],
            "price": px_l[s],
            "notional": -take[s] * px_l[s],
            "basis": basis[s],
            "acquired": lf["acquired"].to_numpy()[s],
            "term": np.where(
                lf["taxable"].to_numpy()[s], np.where(lf["long"].to_numpy()[s], "long", "short"), ""
            ),
            "gain": gain[s],
            "tax": tax[s],
            "reason": np.where(harvested[s], "harvest", "rebalance"),
        }
    )
    bi, bj = np.nonzero(q > 0)
    repl = {(r["a_idx"], r["u_idx"]) for r in harvest_rows}
    buys = pd.DataFrame(
        {
            "household": book.households[book.hh[bi]].astype(str),
            "account": book.accounts[bi].astype(str),
            "account_type": book.types[bi],
            "ticker": book.tickers[bj].astype(str),
            "lot_id": "",
            "side": "BUY",
            "shares": q[bi, bj],
            "price": book.px[bi, bj],
            "notional": q[bi, bj] * book.px[bi, bj],
            "basis": book.px[bi, bj],
            "acquired": np.datetime64(day, "ns"),
            "term": "",
            "gain": 0.0,
            "tax": 0.0,
            "reason": [
                "replacement" if (x, y) in repl else "rebalance"
                for x, y in zip(bi, bj, strict=True)
            ],
        }
    )
    trades = (
        pd.concat([x for x in (sells, buys) if len(x)], ignore_index=True)
        if len(sells) or len(buys)
        else pd.DataFrame(columns=TRADE_COLUMNS)
    )
    trades = trades.sort_values(
        ["household", "account", "ticker", "side", "lot_id"], kind="stable"
    ).reset_index(drop=True)
    # positions (engine layout)
    pi, pj = np.nonzero(q)
    positions = pd.DataFrame(
        {
            "household": book.households[book.hh[pi]].astype(str),
            "account": book.accounts[pi].astype(str),
            "ticker": book.tickers[pj].astype(str),
            "side": np.where(q[pi, pj] > 0, "BUY", "SELL"),
            "shares": q[pi, pj],
            "price": book.px[pi, pj],
            "notional": q[pi, pj] * book.px[pi, pj],
        }
    )
    # household summary
    mv0 = np.where(book.q0 != 0, book.q0 * book.px, 0.0)
    value = mv0.sum(axis=1) + book.cash
    vh = _hsum(value, book.hh, nh)

    def dist(qq: np.ndarray) -> np.ndarray:
        held = _hsum(mv0 + np.where(qq != 0, qq * book.px, 0.0), book.hh, nh)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(vh[:, None] > 0, held / vh[:, None], 0.0)
        return 0.5 * np.abs(w - ts[None, :]).sum(axis=1)

    hh_l = lf["hh"].to_numpy()
    tx = lf["taxable"].to_numpy()
    lg = lf["long"].to_numpy()

    def part(mask: np.ndarray) -> np.ndarray:
        return _hsum(np.where(mask & tx, gain, 0.0), hh_l, nh)

    sell_free = np.maximum(-q_free, 0.0) * book.px
    sell_done = np.maximum(-q, 0.0) * book.px
    avail_all = lf["shares"].to_numpy(dtype=float)
    take_free = _allocate(lf, np.maximum(-q_free, 0.0), avail_all)
    gain_free, _ = lot_tax(take_free, px_l, basis, lg, tx, settings)
    net = _hsum(np.where(tx, gain, 0.0), hh_l, nh)
    summary = pd.DataFrame(
        {
            "value": vh,
            "distance_before": dist(np.zeros_like(q)),
            "distance_after": dist(q),
            "distance_without_budget": dist(q_free),
            "short_term_gains": part((gain > 0) & ~lg),
            "short_term_losses": part((gain < 0) & ~lg),
            "long_term_gains": part((gain > 0) & lg),
            "long_term_losses": part((gain < 0) & lg),
            "net_gain": net,
            "estimated_tax": _hsum(tax, hh_l, nh),
            "gain_budget": budget[:, 0] if nh else np.zeros(0),
            "realised_before": budget[:, 1] if nh else np.zeros(0),
            "budget_left": np.where(np.isfinite(room), room - net, np.inf) if nh else np.zeros(0),
            "sells_undone": np.maximum(
                _hsum(sell_free.sum(axis=1), book.hh, nh)
                - _hsum(sell_done.sum(axis=1), book.hh, nh),
                0.0,
            ),
            "gain_undone": np.maximum(_hsum(np.where(tx, gain_free, 0.0), hh_l, nh) - net, 0.0),
            "trades": _hsum((q != 0).sum(axis=1).astype(float), book.hh, nh).astype(int),
        },
        index=pd.Index(book.households.astype(str), name="household"),
    )
    return HouseholdRebalance(
        trades=trades, summary=summary, positions=positions, notes=tuple(notes)
    )
