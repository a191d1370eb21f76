"""Look-through exposure of a large book against a plain pandas merge-and-groupby, same run.

    python benchmarks/bench_exposure.py [--accounts 2000] [--funds-each 10] [--pool 30]
                                        [--issuers 3000] [--direct 3] [--reps 3]
                                        [--rebalance 20]

Synthetic (seeded) book: a universe of ``--issuers`` issuers (one ticker each), a pool of
``--pool`` funds each holding 200 .. 2,000 of them with Zipf-like weights (and 0.5% cash), and
``--accounts`` accounts each holding ``--funds-each`` funds of the pool plus ``--direct``
stocks, with random dollar values and some cash.

Timed, each best / median / worst of ``--reps`` (wall and CPU seconds):

* ``build H``: :func:`counterweight.exposure.build_matrix`, the sparse (instruments x issuers)
  matrix, built once;
* ``exposure X H``: every account's exposure from the (accounts x instruments) values;
* ``lookthrough API``: :func:`counterweight.exposure.lookthrough` from the holdings frame
  (pricing, H, exposure and the split by source);
* ``pandas``: positions (account, instrument, value) merged with the funds' lines
  (instrument, issuer, weight) and grouped by (account, issuer), integer-coded columns.

The two results are compared cell by cell (largest absolute difference in USD printed).
With ``--rebalance K`` the first K accounts are also rebalanced on their looked-through
exposure (largest issuer <= 5%, the 7 largest issuers together <= 20%), timed per account,
and the result is verified with the pandas reference on the traded book.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from counterweight.data.funds import FundHoldings, HoldingsLibrary
from counterweight.data.holdings import Holdings
from counterweight.exposure import FundResolver, build_matrix, lookthrough
from counterweight.market import Market


def timed(fn: Callable[[], Any], reps: int) -> tuple[list[float], list[float], Any]:
    walls, cpus, out = [], [], None
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return walls, cpus, out


def spread(xs: list[float]) -> str:
    return f"{min(xs):8.3f} / {statistics.median(xs):8.3f} / {max(xs):8.3f}"


def make(args: argparse.Namespace) -> tuple[Market, HoldingsLibrary, Holdings]:
    rng = np.random.default_rng(14)
    n = args.issuers
    tickers = [f"S{i:04d}" for i in range(n)]
    dates = pd.bdate_range("2025-01-01", periods=2)
    prices = pd.DataFrame(rng.uniform(10, 500, size=(2, n)), index=dates, columns=tickers)
    sec = pd.DataFrame({"issuer": tickers, "sector": rng.choice(["A", "B", "C"], n)}, index=tickers)
    funds_px = {}
    files = []
    for f in range(args.pool):
        k = int(rng.integers(200, 2001))
        names = rng.choice(n, size=k, replace=False)
        w = 1.0 / np.arange(1, k + 1) ** 0.9
        w = 0.995 * w / w.sum()
        lines = pd.DataFrame(
            {
                "ticker": [tickers[i] for i in names] + ["USD"],
                "name": "",
                "weight": [*w, 0.005],
                "shares": np.nan,
                "sector": np.nan,
                "kind": ["equity"] * k + ["cash"],
            }
        )
        code = f"F{f:02d}"
        files.append(FundHoldings(fund=code, date=dates[0], lines=lines, source="synthetic"))
        funds_px[code] = float(rng.uniform(50, 600))
    bench = pd.DataFrame([funds_px, funds_px], index=dates)
    market = Market.from_frames(prices, securities=sec, benchmarks=bench)
    rows = []
    for a in range(args.accounts):
        acct = f"A{a:05d}"
        for fcode in rng.choice(args.pool, size=args.funds_each, replace=False):
            rows.append((acct, f"F{fcode:02d}", float(rng.uniform(1_000, 100_000))))
        for s in rng.choice(n, size=args.direct, replace=False):
            rows.append((acct, tickers[s], float(rng.uniform(500, 20_000))))
        rows.append((acct, "CASH", float(rng.uniform(0, 5_000))))
    book = Holdings.from_frame(pd.DataFrame(rows, columns=["account", "ticker", "market_value"]))
    return market, HoldingsLibrary(files), book


def pandas_reference(
    values: pd.DataFrame, lib: HoldingsLibrary, issuers: list[str]
) -> pd.DataFrame:
    """(account x column) USD by merge and groupby, integer-coded (the plain way)."""
    long = values.stack()
    long = long[long != 0].rename("value").reset_index()
    long.columns = ["account", "instrument", "value"]
    col_of = {t: i for i, t in enumerate(issuers)}
    n = len(issuers)
    parts = []
    for h in lib.files:
        eq = h.lines[h.lines["kind"] == "equity"]
        parts.append(
            pd.DataFrame(
                {
                    "instrument": h.fund,
                    "col": [col_of[t] for t in eq["ticker"]] + [n + 1 + len(parts)],
                    "w": [*eq["weight"].to_numpy(), 1.0 - float(eq["weight"].sum())],
                }
            )
        )
    for t in issuers:
        parts.append(pd.DataFrame({"instrument": [t], "col": [col_of[t]], "w": [1.0]}))
    parts.append(pd.DataFrame({"instrument": ["CASH"], "col": [n], "w": [1.0]}))
    lines = pd.concat(parts, ignore_index=True)
    acc_codes, acc_names = pd.factorize(long["account"])
    inst_codes, inst_names = pd.factorize(long["instrument"])
    pos = pd.DataFrame({"a": acc_codes, "i": inst_codes, "value": long["value"].to_numpy()})
    lines = lines.assign(i=pd.Index(inst_names).get_indexer(lines["instrument"]))
    lines = lines[lines["i"] >= 0][["i", "col", "w"]]
    merged = pos.merge(lines, on="i")
    merged["usd"] = merged["value"] * merged["w"]
    out = merged.groupby(["a", "col"], sort=False)["usd"].sum()
    return out.rename_axis(["a", "col"]).reset_index().assign(account=lambda d: acc_names[d["a"]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--funds-each", type=int, default=10)
    ap.add_argument("--pool", type=int, default=30)
    ap.add_argument("--issuers", type=int, default=3000)
    ap.add_argument("--direct", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rebalance", type=int, default=0)
    args = ap.parse_args(argv)
    market, lib, book = make(args)
    day = market.dates[-1]
    print(
        f"book: {args.accounts:,} accounts x ({args.funds_each} funds of a pool of {args.pool} + "
        f"{args.direct} stocks + cash), {len(book.positions):,} positions; {args.issuers:,} issuers; "
        f"fund lines {sum(len(h.lines) for h in lib.files):,}"
    )
    resolver = FundResolver(market, lib)
    lt = lookthrough(book, market, resolver, day)  # warm caches (fund looks) once
    m = lt.matrix
    X = lt.values.values.reindex(columns=m.instruments).to_numpy()
    rows = []
    w, c, _ = timed(
        lambda: build_matrix(list(m.instruments), market, FundResolver(market, lib), day), args.reps
    )
    rows.append(("build H (once per date)", w, c))
    w, c, E = timed(lambda: m.exposure(X), args.reps)
    rows.append(("exposure X H", w, c))
    w, c, _ = timed(lambda: lookthrough(book, market, FundResolver(market, lib), day), args.reps)
    rows.append(("lookthrough API", w, c))
    issuers = [str(t) for t in market.tickers]
    w, c, ref = timed(lambda: pandas_reference(lt.values.values, lib, issuers), args.reps)
    rows.append(("pandas merge + groupby", w, c))
    print(f"H: {m.shape[0]:,} x {m.shape[1]:,}, {m.H.nnz:,} nonzeros")
    print(f"{'step':28s} {'wall best / median / worst':>30s}   {'CPU best / median / worst':>30s}")
    for name, ws, cs in rows:
        print(f"{name:28s} {spread(ws):>30s}   {spread(cs):>30s}")
    # agreement, cell by cell
    col_label = {i: t for i, t in enumerate(issuers)} | {len(issuers): "cash"}
    for k, h in enumerate(lib.files):
        col_label[len(issuers) + 1 + k] = f"cash and other in {h.fund}"
    ref["label"] = ref["col"].map(col_label)
    got = pd.DataFrame(E, index=lt.values.values.index, columns=m.columns.index)
    want = ref.pivot_table(
        index="account", columns="label", values="usd", aggfunc="sum", fill_value=0.0
    )
    want = want.reindex(index=got.index, columns=got.columns, fill_value=0.0)
    diff = float(np.abs(got.to_numpy() - want.to_numpy()).max())
    print(f"largest difference, counterweight vs pandas: {diff:.3e} USD (book {lt.total:,.0f} USD)")
    for label, k in (("wall", 1), ("CPU", 2)):
        best = {r[0]: min(r[k]) for r in rows}
        pd_t = best["pandas merge + groupby"]
        print(
            f"{label}: pandas / (exposure X H) {pd_t / best['exposure X H']:.0f}x; "
            f"pandas / (build H + X H) {pd_t / (best['build H (once per date)'] + best['exposure X H']):.1f}x; "
            f"pandas / lookthrough API {pd_t / best['lookthrough API']:.1f}x"
        )
    if args.rebalance:
        from counterweight.rebalance.lookthrough import policy_from_dict, rebalance_lookthrough

        sub_accts = set(book.accounts[: args.rebalance])
        pos = book.positions[book.positions["account"].isin(sub_accts)].reset_index(drop=True)
        sub = Holdings(
            positions=pos, cash=book.cash.loc[list(book.accounts[: args.rebalance])], source="bench"
        )
        top7 = lt.weights()[m.columns["kind"] == "issuer"].nlargest(7).index.tolist()
        pol = policy_from_dict(
            {
                "limits": {
                    "issuer_max": 0.05,
                    "group": [{"name": "top 7", "tickers": top7, "max": 0.20}],
                },
                "trades": {"lots": "fractional"},
            }
        )
        w, c, res = timed(
            lambda: rebalance_lookthrough(sub, market, FundResolver(market, lib), pol, day), 1
        )
        print(
            f"rebalance on exposure, {args.rebalance} accounts: {w[0]:.2f} s wall, {c[0]:.2f} s CPU "
            f"({1000 * w[0] / args.rebalance:.0f} ms per account); {len(res.trades)} trades; "
            f"limits {'all hold' if res.passed else 'DO NOT all hold'} on the traded book"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
