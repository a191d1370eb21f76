"""Tax-aware household rebalance at scale: single process against a Dask LocalCluster of 1 and
2 workers, on the same generated book, in the same run.

    python benchmarks/bench_households.py [--households 400 1600] [--lots-per-account 200]
                                          [--partition 100] [--reps 2] [--workers 1 2]

Book (seeded): each household has 3 accounts (taxable, IRA, Roth) with ``--lots-per-account``
lots each over a 60-name universe (Mag 7 heavy, basis 0.2x..1.6x the price, acquired over 6
years), written to a Parquet lots file in household order, one row group per 50 households,
in chunks (the generator never holds the whole book either). Target: 60 names, Mag 7 at 20%.
Tax: 37% / 20% + 5% state, 25,000 USD gain budget per household, harvesting on, whole shares,
minimum trade 100 USD, 1% cash buffer.

For each book size and mode, best and worst of ``--reps``: wall seconds, households per
second, driver CPU seconds, summed task CPU seconds, and the peak resident memory of each
process that ran tasks (the single-process path runs in this process, so its peak includes
the driver). The trades of every mode are compared with the single-process run (must be
identical).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from counterweight.data.lots import accounts_from_frame
from counterweight.rebalance import TradeRules
from counterweight.rebalance.distributed import Job, read_results, run_households
from counterweight.rebalance.tax import TaxSettings

MAG7 = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA"]
UNIVERSE = MAG7 + [f"S{i:03d}" for i in range(53)]


def generate(
    path: Path, households: int, per_account: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    prices = pd.Series(rng.lognormal(np.log(150), 0.6, len(UNIVERSE)).round(2), index=UNIVERSE)
    pop = np.r_[np.full(7, 4.0), np.ones(53)]
    pop /= pop.sum()
    writer = None
    accs = []
    chunk = 50
    for start in range(0, households, chunk):
        rows = []
        for h in range(start, min(start + chunk, households)):
            for k, typ in enumerate(("taxable", "IRA", "Roth")):
                a = f"H{h:07d}-{k}"
                accs.append((a, f"H{h:07d}", typ, float(rng.integers(0, 5000))))
                tk = rng.choice(len(UNIVERSE), size=per_account, p=pop)
                px = prices.to_numpy()[tk]
                rows.append(
                    pd.DataFrame(
                        {
                            "account": a,
                            "ticker": np.array(UNIVERSE)[tk],
                            "lot_id": [f"{a}-{j}" for j in range(per_account)],
                            "shares": rng.integers(1, 60, per_account).astype(float),
                            "cost_basis": (px * rng.uniform(0.2, 1.6, per_account)).round(2),
                            "acquired": pd.Timestamp("2020-01-01")
                            + pd.to_timedelta(rng.integers(0, 2200, per_account), unit="D"),
                        }
                    )
                )
        table = pa.Table.from_pandas(pd.concat(rows, ignore_index=True), preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return pd.DataFrame(accs, columns=["account", "household", "type", "cash"]), prices


def job(path: Path, prices: pd.Series) -> Job:
    tgt = pd.Series(np.r_[np.full(7, 0.20 / 7), np.full(53, 0.79 / 53)], index=UNIVERSE)
    s = TaxSettings(
        short_term_rate=0.37,
        long_term_rate=0.20,
        state_rate=0.05,
        gain_budget=25_000,
        harvest_losses=True,
        trade_date="2026-03-02",
    )
    sec = pd.DataFrame(
        {"sector": ["Tech"] * 30 + ["Other"] * 30, "issuer": UNIVERSE}, index=UNIVERSE
    )
    return Job(
        lots_path=str(path),
        target=tgt,
        prices=prices,
        rules=TradeRules(min_trade=100, cash_buffer=0.01),
        settings=s,
        securities=sec,
    )


def trades_of(out: Path) -> pd.DataFrame:
    t = pd.concat(list(read_results(out)), ignore_index=True)
    return t.sort_values(["household", "account", "ticker", "side", "lot_id"]).reset_index(
        drop=True
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, nargs="+", default=[400, 1600])
    ap.add_argument("--lots-per-account", type=int, default=200)
    ap.add_argument("--partition", type=int, default=100)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_households_"))
    try:
        for n in args.households:
            path = tmp / f"lots_{n}.parquet"
            t0 = time.perf_counter()
            accs, prices = generate(path, n, args.lots_per_account)
            acc = accounts_from_frame(accs)
            print(
                f"\nbook: {n:,} households x 3 accounts x {args.lots_per_account} lots = "
                f"{n * 3 * args.lots_per_account:,} lots ({path.stat().st_size / 1e6:.0f} MB Parquet, "
                f"generated in {time.perf_counter() - t0:.1f} s); partitions of {args.partition}"
            )
            modes: list[tuple[str, int | None]] = [("single process", None)] + [
                (f"LocalCluster {w} worker(s)", w) for w in args.workers
            ]
            ref = None
            base_rate = None
            for label, w in modes:
                walls, cpus, task_cpu, peaks = [], [], [], []
                for r in range(args.reps):
                    out = tmp / f"out_{n}_{w}_{r}"
                    c0, t1 = time.process_time(), time.perf_counter()
                    rep = run_households(
                        acc, job(path, prices), out, workers=w, partition_size=args.partition
                    )
                    walls.append(time.perf_counter() - t1)
                    cpus.append(time.process_time() - c0)
                    task_cpu.append(sum(rep.task_cpu))
                    peaks.append(max(rep.peak_rss.values()) if rep.peak_rss else 0)
                    assert rep.households == n and not rep.failures, rep.failures[:3]
                    t = trades_of(out)
                    if ref is None:
                        ref = t
                    else:
                        pd.testing.assert_frame_equal(t, ref, check_exact=True)
                    shutil.rmtree(out)
                rate = n / min(walls)
                base_rate = base_rate or rate
                print(
                    f"  {label:<24} wall {min(walls):6.2f}-{max(walls):6.2f} s  "
                    f"{rate:7.1f} households/s ({rate / base_rate:4.2f}x single)  "
                    f"driver CPU {min(cpus):6.2f} s  task CPU {min(task_cpu):6.2f} s "
                    f"({1e3 * min(task_cpu) / n:5.1f} ms/household)  "
                    f"peak RSS per task process {max(peaks) / 2**20:5.0f} MiB"
                )
            print(f"  trades identical in every mode: {len(ref):,} trade rows")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
