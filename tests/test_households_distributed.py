"""Many households: local and Dask runs give identical trades; a failing household is
reported and does not stop the others; a re-run redoes only households without a result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from counterweight.data.lots import accounts_from_frame
from counterweight.rebalance import TradeRules
from counterweight.rebalance.distributed import Job, done_households, read_results, run_households
from counterweight.rebalance.tax import TaxSettings

pytest.importorskip("distributed")


def make_book(tmp_path: Path, n_households: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tickers = ["NVDA", "MSFT", "AAPL", "AMZN", "XOM", "JPM"]
    px = pd.Series(rng.uniform(50, 400, len(tickers)).round(2), index=tickers)
    lots, accs = [], []
    for h in range(n_households):
        for k, typ in enumerate(["taxable", "IRA", "Roth"]):
            a = f"H{h:04d}-{k}"
            accs.append((a, f"H{h:04d}", typ, float(rng.integers(0, 3000))))
            for j in range(8):
                t = tickers[int(rng.integers(0, len(tickers)))]
                lots.append(
                    (
                        a,
                        t,
                        f"{a}-{j}",
                        float(rng.integers(1, 100)),
                        float(px[t] * rng.uniform(0.3, 1.5)),
                        str(
                            pd.Timestamp("2020-01-01")
                            + pd.Timedelta(days=int(rng.integers(0, 2200)))
                        )[:10],
                    )
                )
    lf = pd.DataFrame(
        lots, columns=["account", "ticker", "lot_id", "shares", "cost_basis", "acquired"]
    )
    path = tmp_path / "lots.parquet"
    lf.to_parquet(path, index=False)
    acc = accounts_from_frame(pd.DataFrame(accs, columns=["account", "household", "type", "cash"]))
    return path, acc, px


def job(path: Path, px: pd.Series, **kw) -> Job:
    s = TaxSettings(
        short_term_rate=0.37,
        long_term_rate=0.2,
        state_rate=0.05,
        gain_budget=3000,
        trade_date="2026-03-01",
    )
    tgt = pd.Series({"NVDA": 0.1, "MSFT": 0.2, "AAPL": 0.2, "AMZN": 0.1, "XOM": 0.2, "JPM": 0.19})
    return Job(
        lots_path=str(path),
        target=tgt,
        prices=px,
        rules=TradeRules(min_trade=100, cash_buffer=0.01),
        settings=s,
        **kw,
    )


def trades(out: Path) -> pd.DataFrame:
    t = pd.concat(list(read_results(out)), ignore_index=True)
    return t.sort_values(["household", "account", "ticker", "side", "lot_id"]).reset_index(
        drop=True
    )


def test_local_and_dask_identical_and_resume(tmp_path: Path) -> None:
    path, acc, px = make_book(tmp_path, 24)
    local = run_households(acc, job(path, px), tmp_path / "local", partition_size=5)
    assert local.households == 24 and not local.failures
    dask = run_households(
        acc, job(path, px), tmp_path / "dask", partition_size=5, workers=2, processes=False
    )
    assert dask.households == 24 and dask.mode.startswith("local cluster of 2")
    a, b = trades(tmp_path / "local"), trades(tmp_path / "dask")
    assert len(a) > 50
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # re-run: nothing left to do
    again = run_households(acc, job(path, px), tmp_path / "local", partition_size=5)
    assert again.households == 0 and again.skipped == 24
    # a crash that lost two partitions: only their households are redone
    for p in sorted((tmp_path / "local" / "summary").glob("part-*.parquet"))[:2]:
        p.unlink()
        (tmp_path / "local" / "trades" / p.name).unlink()
    redo = run_households(acc, job(path, px), tmp_path / "local", partition_size=5)
    assert redo.households == 10 and redo.skipped == 14
    pd.testing.assert_frame_equal(trades(tmp_path / "local"), a, check_exact=True)


def test_failed_household_reported_others_go_on(tmp_path: Path) -> None:
    path, acc, px = make_book(tmp_path, 6, seed=1)
    # one household holds a ticker without any price
    lf = pd.read_parquet(path)
    lf.loc[lf["account"] == "H0002-0", "ticker"] = "NOPRICE"
    lf.to_parquet(path, index=False)
    rep = run_households(acc, job(path, px), tmp_path / "out", partition_size=3)
    assert [h for h, _ in rep.failures] == ["H0002"]
    assert "no price" in rep.failures[0][1]
    assert rep.households == 5
    assert done_households(tmp_path / "out") == {f"H{i:04d}" for i in range(6)} - {"H0002"}
    fails = pd.concat(list(read_results(tmp_path / "out", "failures")))
    assert fails["household"].tolist() == ["H0002"]


def test_bad_lots_row_fails_only_its_partition(tmp_path: Path) -> None:
    path, acc, px = make_book(tmp_path, 6, seed=2)
    lf = pd.read_parquet(path)
    lf.loc[lf.index[lf["account"] == "H0004-1"][0], "shares"] = -3.0
    lf.to_parquet(path, index=False)
    rep = run_households(acc, job(path, px), tmp_path / "out", partition_size=3)
    failed = sorted({h for h, _ in rep.failures})
    assert failed == ["H0003", "H0004", "H0005"] and "shares must be positive" in rep.failures[0][1]
    assert rep.households == 3
