"""Valuation over time: the dense-array fundamentals table against a plain pandas reference.

The reference computes the issuer collapse (mean over share classes, split rows scaled back)
and each basket's ratio of sums with ordinary pandas groupbys over (date, issuer) and date, as
one would write it without the package. Both give every (snapshot, basket) P/E, P/S, P/B, net margin, ROE, EBITDA margin
and dividend yield for the index, the Mag 7, the rest and the 11 sectors; the benchmark checks
they agree to 1e-12 and prints wall and CPU time (best of ``--repeat``) and the ratio.

    python benchmarks/bench_valuation.py [--repeat 2]

Uses the embedded sample's snapshots; with ``../shared/data/full`` present it also runs on all
142 snapshots of ``sp500_constituents_financials_history.parquet`` (P/S, P/B and EBITDA too).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FULL = next(
    (
        p / "shared" / "data" / "full" / "sp500_constituents_financials_history.parquet"
        for p in (ROOT.parent, ROOT.parents[1])  # a checkout beside shared/, or a worktree
        if (p / "shared" / "data" / "full").exists()
    ),
    ROOT.parent / "shared" / "data" / "full" / "sp500_constituents_financials_history.parquet",
)
RATIOS = ("pe", "ps", "pb", "net_margin", "roe", "ebitda_margin", "dividend_yield")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall and best CPU seconds of ``repeat`` calls, and the last result."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu, out


def reference(f: pd.DataFrame, issuer_of: pd.Series, baskets: dict[str, set[str]]) -> pd.DataFrame:
    """Plain pandas groupbys (amounts as documented in docs/measures.md)."""
    from counterweight.measure.fundamentals import amounts_from_snapshot

    a = amounts_from_snapshot(f)
    a["date"] = f["date"].to_numpy()
    a["issuer"] = f["ticker"].map(issuer_of).fillna(f["ticker"]).to_numpy()
    if "cap_basis" in f.columns:  # rows a loader split equally across classes: scale back
        split = f["cap_basis"].astype(str).str.startswith("company-level").to_numpy()
        n = a.groupby(["date", "issuer"])["market_cap"].transform("size").to_numpy()
        cols = [c for c in a.columns if c not in ("date", "issuer")]
        a.loc[split, cols] = a.loc[split, cols].mul(n[split], axis=0)
    iss = a.groupby(["date", "issuer"]).mean().reset_index()  # company figures on each class
    pairs = {
        "pe": ("market_cap", "earnings"),
        "ps": ("market_cap", "revenue"),
        "pb": ("market_cap", "book"),
        "net_margin": ("earnings", "revenue"),
        "roe": ("earnings", "book"),
        "ebitda_margin": ("ebitda", "revenue"),
        "dividend_yield": ("dividends", "market_cap"),
    }
    frames = []
    for name, members in baskets.items():
        b = iss[iss["issuer"].isin(members)]
        out = pd.DataFrame(index=pd.Index(sorted(b["date"].unique()), name="date"))
        for r, (n, d) in pairs.items():
            both = b[b[n].notna() & b[d].notna()]
            top = both.groupby("date")[n].sum().reindex(out.index, fill_value=0.0)
            bottom = both.groupby("date")[d].sum().reindex(out.index, fill_value=0.0)
            ok = bottom > 0 if r in ("pe", "pb", "roe") else bottom != 0
            out[r] = (top / bottom.where(ok)).where(ok)
        frames.append(out.assign(basket=name).set_index("basket", append=True))
    return pd.concat(frames)


def run(label: str, f: pd.DataFrame, repeat: int) -> None:
    from counterweight import load_sample
    from counterweight.groups import MAG7
    from counterweight.market import normalize_ticker
    from counterweight.measure.fundamentals import fundamentals_table

    sec = load_sample().securities
    issuer_of = sec["issuer"].astype(str)
    sectors = sec["sector"]
    f = f.assign(ticker=f["ticker"].map(normalize_ticker)).drop_duplicates(["date", "ticker"])
    tickers = set(f["ticker"])
    iss = {t: issuer_of.get(t, t) for t in tickers}
    mag = {iss[t] for t in tickers if t in MAG7.tickers}
    baskets: dict[str, set[str]] = {"Index": set(iss.values()), "Mag 7": mag}
    baskets["Rest"] = baskets["Index"] - mag
    for name in sorted(sectors.dropna().unique()):
        baskets[str(name)] = {iss[t] for t in tickers if sectors.get(t) == name}

    w1, c1, ours = timed(
        lambda: fundamentals_table(f, [MAG7], issuers=issuer_of, sectors=sectors), repeat
    )
    w2, c2, ref = timed(lambda: reference(f, issuer_of, baskets), repeat)
    both = ref.index.intersection(ours.index)
    diff = 0.0
    for r in RATIOS:
        a, b = ours.loc[both, r].to_numpy(float), ref.loc[both, r].to_numpy(float)
        same_nan = np.isnan(a) == np.isnan(b)
        if not same_nan.all():
            bad = both[~same_nan][:3]
            raise AssertionError(f"{r}: NaN pattern differs at {list(bad)}")
        ok = ~np.isnan(a)
        if not ok.any():
            continue  # a field the snapshots do not carry
        rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
        if rel.max() > 1e-9:
            k = int(np.argmax(rel))
            print(f"  {r}: differs at {both[ok][k]}: {a[ok][k]} vs {b[ok][k]}")
        diff = max(diff, float(rel.max()))
    n_snap = f["date"].nunique()
    print(
        f"{label}: {n_snap} snapshots, {len(both)} (snapshot, basket) rows, max rel. diff {diff:.1e}"
    )
    print(f"  fundamentals_table   wall {w1:7.3f} s  cpu {c1:7.3f} s")
    print(f"  plain pandas groupby wall {w2:7.3f} s  cpu {c2:7.3f} s")
    print(f"  ratio (reference / ours): wall {w2 / w1:5.1f}x  cpu {c2 / c1:5.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from counterweight import load_sample

    run("embedded sample", load_sample().fundamentals, args.repeat)
    if FULL.exists():
        fh = pd.read_parquet(FULL)
        f = pd.DataFrame(
            {
                "date": pd.to_datetime(fh["snapshot_date"]),
                "ticker": fh["symbol"],
                "price": fh["price"],
                "market_cap": fh["market_cap_usd"],
                "eps": fh["eps"],
                "pe": fh["pe"],
                "div_yield": fh["div_yield"],
                "price_sales": fh["price_sales"],
                "price_book": fh["price_book"],
                "ebitda": fh["ebitda_usd"],
            }
        )
        run("full history file", f, args.repeat)
    else:
        print(f"skipped the full history: {FULL} not found (needs ../shared/data/full)")


if __name__ == "__main__":
    main()
