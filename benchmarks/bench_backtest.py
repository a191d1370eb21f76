"""Backtest speed against vectorbt and bt, and against the memory floor, on the same data.

    python benchmarks/bench_backtest.py [--sizes 500,3000] [--years 20] [--bt-years 20,2] [--reps 5]

For each size: a synthetic (generated, seeded) daily panel of N names x ``years`` of 252 days,
geometric Brownian prices and Zipf-distributed shares outstanding (so a 5% cap binds). Two
strategies, rebalanced at each month end with 5 bps costs: equal weight and 5%-capped cap weight.

Timed, best of ``--reps`` runs, in this process:

* ``floor``: streaming the (T, N) return panel from memory once (``np.add.reduce`` over it);
* ``ours``: :func:`counterweight.backtest.simulate` (numpy engine) from the return panel and the
  targets (``ours+targets`` adds computing the targets with the built-in rules;
  ``run_backtest`` is the whole public call from a Market, prices to result, weights not
  recorded); ``ours_numba``: the same with ``engine="numba"`` (compiled beforehand);
* ``vectorbt``: ``Portfolio.from_orders(close, size=targets, size_type="targetpercent",
  group_by=True, cash_sharing=True, call_seq="auto", fees=0.0005)`` (warm: numba compiled
  beforehand on a small panel), then its daily returns;
* ``bt``: ``Strategy([RunOnDate, SelectAll, WeighTarget, Rebalance])`` with fractional positions
  and a proportional commission. bt is slow; ``--bt-years`` shortens its run (its time is then
  scaled by the ratio of days and marked as such).

Agreement of daily returns (max |difference|):

* vectorbt without costs must agree within 1e-9. With costs, vectorbt sizes target-percent orders
  on the value *before* fees and partially fills the last buy when cash runs short, while we
  apply targets to the value after costs (C = sum k |w (V - C) - h|). Passing vectorbt the targets
  scaled by (1 - cost fraction we computed) makes the two conventions coincide exactly: its own
  fee arithmetic then leaves exactly zero cash, which only happens if our cost is right.
* bt without costs must agree within 1e-9; with costs bt nets each buy's commission out of the
  amount bought (and each sale's out of the proceeds), a different convention: the difference is
  printed, not asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from counterweight.backtest import CappedCapWeight, EqualWeight, Monthly, run_backtest, simulate
from counterweight.market import Market
from timing import best_of

COST = 0.0005


def make_market(n: int, years: int, seed: int = 7) -> Market:
    """Generated panel: GBM prices (annual drift 8%, vol 30%), Zipf shares outstanding."""
    rng = np.random.default_rng(seed)
    t_len = 252 * years
    dates = pd.bdate_range("2004-01-02", periods=t_len)
    vol = rng.uniform(0.15, 0.45, n) / np.sqrt(252)
    rets = rng.normal(0.08 / 252, 1.0, size=(t_len, n)) * vol
    rets[0] = 0.0
    prices = 20.0 * np.cumprod(1.0 + rets, axis=0)
    shares = 1e9 / np.arange(1, n + 1) ** 1.1
    tickers = pd.Index([f"S{i:04d}" for i in range(n)], name="ticker")
    sec = pd.DataFrame({"issuer": tickers}, index=tickers)
    for col in ("name", "sector", "industry"):
        sec[col] = np.nan
    return Market(
        dates=pd.DatetimeIndex(dates, name="date"),
        tickers=tickers,
        prices=prices,
        caps=prices * shares,
        caps_estimated=np.zeros((t_len, n), dtype=bool),
        members=np.ones((t_len, n), dtype=bool),
        securities=sec,
    )


def run_vectorbt(prices: pd.DataFrame, targets: pd.DataFrame, fees: float) -> np.ndarray:
    import vectorbt as vbt

    pf = vbt.Portfolio.from_orders(
        close=prices,
        size=targets,
        size_type="targetpercent",
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        fees=fees,
        init_cash=1e6,  # large: vectorbt treats share sizes within 1e-8 of zero as no order
        freq="1D",
    )
    return np.asarray(pf.returns(), dtype=np.float64)


def run_bt(prices: pd.DataFrame, targets: pd.DataFrame, fees: float) -> np.ndarray:
    import bt

    strat = bt.Strategy(
        "s",
        [
            bt.algos.RunOnDate(*targets.index),
            bt.algos.SelectAll(),
            bt.algos.WeighTarget(targets),
            bt.algos.Rebalance(),
        ],
    )
    commission = (lambda q, p: abs(q) * p * fees) if fees else (lambda q, p: 0.0)
    test = bt.Backtest(
        strat, prices, integer_positions=False, commissions=commission, progress_bar=False
    )
    res = bt.run(test)
    values = res.prices["s"]
    values = values.loc[values.index >= prices.index[0]]
    r = values.pct_change().to_numpy().copy()
    r[0] = values.iloc[0] / 100.0 - 1.0
    return np.asarray(r, dtype=np.float64)


def have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def bench_size(
    n: int, years: int, bt_years: int, reps: int, use_vbt: bool, use_bt: bool, use_numba: bool
) -> list[dict[str, Any]]:
    market = make_market(n, years)
    t_len = len(market.dates)
    returns = np.zeros_like(market.prices)
    returns[1:] = market.prices[1:] / market.prices[:-1] - 1.0
    pos = Monthly().positions(market.dates)
    floor, _ = best_of(lambda: np.add.reduce(returns, axis=None), max(reps, 5))
    prices_df = market.prices_frame()
    rows = []
    for rule in (EqualWeight(), CappedCapWeight(0.05)):
        t_targets, tw = best_of(lambda rule=rule: rule.targets(market, pos), reps)
        lookup = {int(p): tw[i] for i, p in enumerate(pos)}

        def ours(lookup: dict[int, np.ndarray] = lookup, fee: float = COST) -> Any:
            return simulate(returns, pos, lookup.__getitem__, cost_rate=fee)

        t_ours, sim = best_of(ours, reps)
        t_nb = float("nan")
        if use_numba:

            def ours_nb(lookup: dict[int, np.ndarray] = lookup) -> Any:
                return simulate(returns, pos, lookup.__getitem__, cost_rate=COST, engine="numba")

            t_nb, sim_nb = best_of(ours_nb, reps)
        t_full, full = best_of(
            lambda rule=rule: run_backtest(
                market, [rule], cost_bps=COST * 1e4, record_weights=False
            ),
            1,
        )
        full_r = full.strategies[rule.name].returns.to_numpy()
        row: dict[str, Any] = {
            "N": n,
            "strategy": rule.name,
            "floor_s": floor,
            "ours_s": t_ours,
            "ours+targets_s": t_ours + t_targets,
            "run_backtest_s": t_full,
            "ours/floor": t_ours / floor,
            "diff_run_backtest": float(np.max(np.abs(full_r - sim.returns))),
        }
        if use_numba:
            row["ours_numba_s"] = t_nb
            row["ours_numba/floor"] = t_nb / floor
            row["diff_numba_numpy"] = float(np.max(np.abs(sim_nb.returns - sim.returns)))
        target_df = pd.DataFrame(tw, index=market.dates[pos], columns=market.tickers)
        if use_vbt:
            sized = pd.DataFrame(np.nan, index=market.dates, columns=market.tickers)
            sized.iloc[pos] = tw * (1.0 - sim.costs[pos])[:, None]
            t_vbt, vr = best_of(
                lambda sized=sized: run_vectorbt(prices_df, sized, COST), max(1, reps // 2)
            )
            row["vectorbt_s"] = t_vbt
            row["vectorbt/ours"] = t_vbt / t_ours
            if use_numba:
                row["vectorbt/ours_numba"] = t_vbt / t_nb
            row["diff_vbt_costs"] = float(np.max(np.abs(vr - sim.returns)))
            plain = pd.DataFrame(np.nan, index=market.dates, columns=market.tickers)
            plain.iloc[pos] = tw
            vr0 = run_vectorbt(prices_df, plain, 0.0)
            sim0 = simulate(returns, pos, lookup.__getitem__, cost_rate=0.0)
            row["diff_vbt_nocost"] = float(np.max(np.abs(vr0 - sim0.returns)))
            vr_plain = run_vectorbt(prices_df, plain, COST)
            row["diff_vbt_plain_targets"] = float(np.max(np.abs(vr_plain - sim.returns)))
        if use_bt:
            days = min(t_len, 252 * bt_years)
            sub_pos = pos[pos < days]
            sub_t = target_df.iloc[: sub_pos.size]
            sub_px = prices_df.iloc[:days]
            t0 = time.perf_counter()
            br = run_bt(sub_px, sub_t, COST)
            t_bt = (time.perf_counter() - t0) * (t_len / days)
            sub_lookup = {int(p): tw[i] for i, p in enumerate(sub_pos)}
            sim_sub = simulate(returns[:days], sub_pos, sub_lookup.__getitem__, cost_rate=COST)
            br0 = run_bt(sub_px, sub_t, 0.0)
            sim0 = simulate(returns[:days], sub_pos, sub_lookup.__getitem__, cost_rate=0.0)
            row["bt_s"] = t_bt
            row["bt_days"] = days
            row["bt/ours"] = t_bt / t_ours
            if use_numba:
                row["bt/ours_numba"] = t_bt / t_nb
            row["diff_bt_nocost"] = float(np.max(np.abs(br0 - sim0.returns)))
            row["diff_bt_costs"] = float(np.max(np.abs(br - sim_sub.returns)))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,3000")
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument(
        "--bt-years", default="20,2", help="years bt runs per size (comma list, last one repeats)"
    )
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-bt", action="store_true")
    ap.add_argument("--no-vbt", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    use_vbt = not args.no_vbt and have("vectorbt")
    use_bt = not args.no_bt and have("bt")
    if not use_vbt:
        print("vectorbt skipped (not installed, or --no-vbt)")
    if not use_bt:
        print("bt skipped (not installed, or --no-bt)")
    use_numba = have("numba")
    if use_numba:  # compile our kernel outside the timings
        tiny = np.zeros((3, 2))
        simulate(
            tiny, np.array([0]), lambda t: np.array([0.5, 0.5]), cost_rate=COST, engine="numba"
        )
    else:
        print("numba not installed: the compiled engine is skipped")
    if use_vbt:  # compile vectorbt's numba kernels outside the timings
        small = make_market(20, 1)
        tw = pd.DataFrame(np.nan, index=small.dates, columns=small.tickers)
        tw.iloc[0] = 1 / 20
        run_vectorbt(small.prices_frame(), tw, COST)
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    bt_years = [int(s) for s in str(args.bt_years).split(",")]
    for i, n in enumerate(sizes):
        bty = min(args.years, bt_years[min(i, len(bt_years) - 1)])
        rows.extend(bench_size(n, args.years, bty, args.reps, use_vbt, use_bt, use_numba))
        print(f"done N={n}", file=sys.stderr)
    table = pd.DataFrame(rows).set_index(["N", "strategy"])
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    print(f"\nDaily panel: {args.years} years x N names, monthly rebalance, {COST * 1e4:g} bps\n")
    times = [c for c in table.columns if c.endswith("_s")]
    print(table[times].map(lambda v: f"{v * 1e3:,.1f} ms").to_string())
    ratios = [c for c in table.columns if "/" in c]
    print()
    print(table[ratios].map(lambda v: f"{v:,.1f}x").to_string())
    diffs = [c for c in table.columns if c.startswith("diff_")]
    print()
    print(table[diffs].map(lambda v: f"{v:.2e}").to_string())
    if "bt_days" in table.columns:
        span = 252 * args.years
        for n, days in table["bt_days"].groupby(level=0).first().items():
            if days < span:
                print(
                    f"N={n}: bt ran on the first {days} of {span} days; its time is scaled by "
                    f"{span / days:g} (it grows linearly with the number of days)."
                )
    ok = True
    for col in (
        "diff_vbt_nocost",
        "diff_vbt_costs",
        "diff_bt_nocost",
        "diff_run_backtest",
        "diff_numba_numpy",
    ):
        if col in table.columns and (table[col] > 1e-9).any():
            print(f"DISAGREEMENT: {col} above 1e-9")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
