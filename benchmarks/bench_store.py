"""Store benchmark: import the 6,669 x 2,660 daily panel into DuckDB, then load it as a Market,
against a plain ``pandas.read_parquet`` of the same file, in the same run.

Needs ../shared/data/full/us_universe_daily_adjclose_2016_2026.parquet (skips cleanly without).
Run: python benchmarks/bench_store.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from timing import best_of

ROOT = Path(__file__).resolve().parents[1]
PANEL = ROOT.parent / "shared" / "data" / "full" / "us_universe_daily_adjclose_2016_2026.parquet"


def main() -> int:
    if not PANEL.exists():
        print(f"skipped: {PANEL} not found (this benchmark needs ../shared/data/full)")
        return 0
    from counterweight.data import market_from_store
    from counterweight.data.store import Store
    from counterweight.market import Market

    t_pd, frame = best_of(lambda: pd.read_parquet(PANEL), 3)
    assert isinstance(frame, pd.DataFrame)
    print(f"pandas.read_parquet            {t_pd:8.3f} s  shape {frame.shape}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        with Store(db) as st:  # keep the flagged prints: the values are compared below
            res = st.import_file(PANEL, "prices", bad_prints="keep")
        t_import = time.perf_counter() - t0
        print(
            f"import into the store          {t_import:8.3f} s  ({res.rows:,} rows, "
            f"{res.flagged:,} suspicious prints flagged and kept)"
        )
        t0 = time.perf_counter()
        with Store(db) as st:
            res2 = st.import_file(PANEL, "prices", bad_prints="keep")
        print(
            f"re-import (idempotent)         {time.perf_counter() - t0:8.3f} s  ({res2.changed:,} changed)"
        )
        t_load, market = best_of(lambda: market_from_store(str(db)), 3)
        assert isinstance(market, Market)
        print(f"market_from_store              {t_load:8.3f} s  {market}")
    # same numbers: the store keeps float64 of the float32 file's values
    ref = frame.copy()
    ref.index = pd.DatetimeIndex(ref.index)
    ref = ref.dropna(how="all").reindex(columns=market.tickers)
    got = market.prices_frame().reindex(ref.index)
    both = np.isfinite(ref.to_numpy(dtype=float))
    assert np.array_equal(both, np.isfinite(got.to_numpy())), "missing-value pattern differs"
    assert np.allclose(ref.to_numpy(dtype=float)[both], got.to_numpy()[both], rtol=0, atol=0)
    print(f"ratio load / read_parquet      {t_load / t_pd:8.2f}x  (values identical)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
