"""Rebalancing many accounts at once against a per-account pandas loop, on the same book.

    python benchmarks/bench_rebalance.py [--accounts 10000] [--holdings 500] [--universe 600]
                                         [--reference 200] [--reps 3]

Synthetic (seeded) book: ``--accounts`` accounts each holding ``--holdings`` names drawn from a
``--universe`` of tickers (whole shares, 0.5..5% cash), one Zipf-like target over the universe.
Rules: one-way turnover <= 10%, minimum trade 100 USD, whole shares, 1% cash buffer, 5 no-buy
and 5 no-sell names.

Timed in this process:

* ``kernel``: :func:`counterweight.rebalance.rebalance_arrays` on the (accounts x universe)
  arrays, best of ``--reps``;
* ``api``: :func:`counterweight.rebalance.rebalance` from a long holdings frame (one row per
  position, accounts x holdings rows) to the labelled trade list, once;
* ``rules``: pre-trade RIC checks of every account before and after, once;
* ``pandas loop``: a separate per-account implementation of the same method with pandas
  Series (sort_values / cumsum / where) on the first ``--reference`` accounts; its time
  per account is multiplied out to all accounts for the ratio (said in the output).

Agreement on the reference accounts: continuous trades (before rounding) within 1e-9 of
account value, and the share counts of the final trades identical (the count of differing
trades is printed and must be zero).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from counterweight.data.holdings import Holdings
from counterweight.rebalance import TradeRules, rebalance, rebalance_arrays
from counterweight.rebalance.compliance import pre_trade_check
from counterweight.rebalance.turnover import limit_trades

TURNOVER, MIN_TRADE, LOT, BUFFER = 0.10, 100.0, 1.0, 0.01


def make_book(accounts: int, holdings: int, universe: int, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    tickers = pd.Index([f"T{i:04d}" for i in range(universe)], name="ticker")
    prices = rng.lognormal(np.log(120), 0.8, universe).round(2)
    held = np.argsort(rng.random((accounts, universe)), axis=1)[:, :holdings]
    shares = np.zeros((accounts, universe))
    rows = np.arange(accounts)[:, None]
    shares[rows, held] = rng.integers(1, 400, size=(accounts, holdings))
    value = (shares * prices).sum(axis=1)
    cash = (value * rng.uniform(0.005, 0.05, accounts)).round(2)
    raw = 1.0 / np.arange(1, universe + 1) ** 0.9
    target = raw[rng.permutation(universe)] / raw.sum()
    can_buy = np.ones(universe, bool)
    can_sell = np.ones(universe, bool)
    can_buy[:5] = False
    can_sell[5:10] = False
    return tickers, prices, shares, cash, target, can_buy, can_sell


def _threshold(a: pd.Series, total: float) -> float:
    """theta with sum max(a - theta, 0) = total, the pandas way: sort, cumulate, find the cut."""
    if total >= a.sum():
        return 0.0
    s = a.sort_values(ascending=False).reset_index(drop=True)
    cand = (s.cumsum() - total) / (s.index + 1)
    k = int((s > cand).sum())
    return max(float(cand.iloc[k - 1]), 0.0) if k else float(s.iloc[0])


def reference_account(
    shares: pd.Series,
    cash: float,
    prices: pd.Series,
    target: pd.Series,
    no_buy: set[str],
    no_sell: set[str],
) -> tuple[pd.Series, pd.Series]:
    """(continuous trades as weights, final traded shares) of one account, with pandas."""
    mv = shares * prices
    value = mv.sum() + cash
    w0 = mv / value
    t = target * (min(target.sum(), 1 - BUFFER) / target.sum())
    d = t - w0
    nb = d.index.isin(list(no_buy))
    ns = d.index.isin(list(no_sell))
    d[nb] = d[nb].clip(upper=0)
    d[ns] = d[ns].clip(lower=0)
    buy, sell = d.clip(lower=0), (-d).clip(lower=0)
    bmax, smax = buy.sum(), sell.sum()
    n = float(np.clip(cash / value - BUFFER, -min(smax, 2 * TURNOVER), min(bmax, 2 * TURNOVER)))
    beta = max(min(bmax, smax + n, TURNOVER + n / 2), max(n, 0.0))
    sigma = float(np.clip(beta - n, 0.0, smax))
    xb = buy if beta >= bmax else (buy - _threshold(buy, beta)).clip(lower=0)
    xs = sell if sigma >= smax else (sell - _threshold(sell, sigma)).clip(lower=0)
    x = xb - xs
    q = pd.Series(0.0, index=x.index)
    sells = x < 0
    q[sells] = np.maximum((x[sells] / w0[sells]) * shares[sells], -shares[sells])
    q[x > 0] = x[x > 0] * value / prices[x > 0]
    wanted = q.clip(lower=0)

    def small(q: pd.Series) -> pd.Series:
        return q.where((q * prices).abs() >= MIN_TRADE, 0.0)

    q = small(q)
    full = (q < 0) & (q == -shares)
    q = np.trunc(q / LOT).where(~full, q) * 1.0
    q = small(q)
    notional = q * prices
    buys, sold = notional.clip(lower=0).sum(), -notional.clip(upper=0).sum()
    floor = BUFFER * value
    allowance = cash + sold - min(floor, cash + sold)
    if buys > allowance:
        f = np.nextafter(min(max(allowance / buys, 0.0), 1.0) * (1 - 4 * np.finfo(float).eps), 0.0)
        q = q.where(q <= 0, np.trunc(q * f / LOT) * LOT)
    q = small(q)
    n_ = q * prices
    cash_after = cash - n_.sum()
    spare = min(
        cash_after - max(min(floor, cash_after), 0.0), 2 * TURNOVER * value - n_.abs().sum()
    )
    spare = max(spare * (1 - 1e-12), 0.0)
    # round buys up to the nearest lot (never beyond, never one under the minimum), greedily
    base = np.trunc(wanted / LOT) * LOT
    frac = (wanted - base) / LOT
    up = base + LOT
    eligible = (
        (wanted > 0)
        & (wanted * prices >= MIN_TRADE)
        & (frac >= 0.5)
        & (q < up)
        & (up * prices >= MIN_TRADE)
    )
    ranked = frac[eligible].sort_values(ascending=False, kind="stable")
    for name in ranked.index:
        cost = (up[name] - q[name]) * prices[name]
        if cost <= spare:
            spare -= cost
            q[name] = up[name]
    return x, q


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--holdings", type=int, default=500)
    ap.add_argument("--universe", type=int, default=600)
    ap.add_argument("--reference", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    a, h, u = args.accounts, args.holdings, args.universe
    print(f"book: {a:,} accounts x {h} holdings from {u} tickers ({a * h:,} positions)")
    tickers, prices, shares, cash, target, can_buy, can_sell = make_book(a, h, u)

    best = best_cpu = np.inf
    res = None
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        res = rebalance_arrays(
            shares,
            prices,
            cash,
            target,
            turnover=TURNOVER,
            min_trade=MIN_TRADE,
            lot=LOT,
            cash_buffer=BUFFER,
            can_buy=can_buy,
            can_sell=can_sell,
        )
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert res is not None
    print(
        f"kernel  : {best:8.3f} s  = {1e6 * best / a:8.1f} us per account "
        f"(CPU {best_cpu:.3f} s = {1e6 * best_cpu / a:.1f} us per account)"
    )

    acc, tix = np.nonzero(shares)
    long = pd.DataFrame(
        {"account": acc.astype(str), "ticker": tickers[tix], "shares": shares[acc, tix]}
    )
    book = Holdings(
        positions=long.assign(price=np.nan, market_value=np.nan),
        cash=pd.Series(cash, index=pd.Index(np.arange(a).astype(str), name="account"), name="cash"),
    )
    rules = TradeRules(
        turnover=TURNOVER,
        min_trade=MIN_TRADE,
        lot=LOT,
        cash_buffer=BUFFER,
        no_buy=frozenset(tickers[~can_buy]),
        no_sell=frozenset(tickers[~can_sell]),
    )
    t0 = time.perf_counter()
    api = rebalance(
        book, pd.Series(target, index=tickers), prices=pd.Series(prices, index=tickers), rules=rules
    )
    t_api = time.perf_counter() - t0
    print(
        f"api     : {t_api:8.3f} s  = {1e6 * t_api / a:8.1f} us per account ({len(api.trades):,} trades)"
    )

    sec = pd.DataFrame({"issuer": tickers}, index=tickers)
    t0 = time.perf_counter()
    comp = pre_trade_check(api, sec, "ric")
    t_comp = time.perf_counter() - t0
    print(
        f"rules   : {t_comp:8.3f} s  = {1e6 * t_comp / a:8.1f} us per account "
        f"(RIC before and after, {int((~comp['passed']).sum())} failing checks)"
    )

    k = min(args.reference, a)
    px = pd.Series(prices, index=tickers)
    tgt = pd.Series(target, index=tickers)
    nb, ns = set(tickers[~can_buy]), set(tickers[~can_sell])
    t0, c0 = time.perf_counter(), time.process_time()
    ref = []
    for i in range(k):
        sh = pd.Series(shares[i], index=tickers)
        ref.append(reference_account(sh, float(cash[i]), px, tgt, nb, ns))
    t_ref = (time.perf_counter() - t0) / k
    c_ref = (time.process_time() - c0) / k
    print(
        f"pandas  : {t_ref * 1e6:8.1f} us per account (CPU {c_ref * 1e6:.1f} us; loop over {k} "
        f"accounts; x {a:,} accounts = {t_ref * a:8.1f} s)"
    )

    # agreement on the reference accounts
    w0 = shares[:k] * prices / ((shares[:k] * prices).sum(axis=1) + cash[:k])[:, None]
    t_scaled = target * (min(target.sum(), 1 - BUFFER) / target.sum())
    d = t_scaled - w0
    d = np.where(can_buy, d, np.minimum(d, 0))
    d = np.where(can_sell, d, np.maximum(d, 0))
    value = (shares[:k] * prices).sum(axis=1) + cash[:k]
    x = limit_trades(d, TURNOVER, cash[:k] / value - BUFFER)
    dx = max(float(np.abs(x[i] - ref[i][0].to_numpy()).max()) for i in range(k))
    diff = sum(int((res.shares[i] != ref[i][1].to_numpy()).sum()) for i in range(k))
    api_same = np.array_equal(api.weights_after.to_numpy(), res.weights_after)
    turn = 0.5 * np.abs(res.notional).sum(axis=1) / res.value
    print(
        f"agreement: continuous trades max |diff| = {dx:.2e}; differing share counts = {diff}; "
        f"api == kernel: {api_same}"
    )
    print(
        f"checks   : max turnover {turn.max():.6f} (limit {TURNOVER}); min cash {res.cash_after.min():,.2f} USD; "
        f"min cash weight {float((res.cash_after / res.value).min()):.4%} (buffer {BUFFER:.0%})"
    )
    print(
        f"ratio    : kernel is {t_ref * a / best:,.0f}x faster than the pandas loop "
        f"({t_ref * 1e6:,.0f} vs {1e6 * best / a:,.1f} us per account); api {t_ref * a / t_api:,.0f}x; "
        f"by CPU time {c_ref * a / best_cpu:,.0f}x"
    )
    ok = (
        dx < 1e-9
        and diff == 0
        and api_same
        and turn.max() <= TURNOVER + 1e-12
        and res.cash_after.min() >= 0
    )
    if not ok:
        print("FAILED: results disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
