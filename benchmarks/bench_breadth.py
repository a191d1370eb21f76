"""Benchmark: share above the 200-day average and rolling average correlation on a large panel.

Needs ``../shared/data/full/us_universe_daily_adjclose_2016_2026.parquet`` (2,660 days x 6,669
tickers, float32; path relative to the repository root) and exits 0 with a message when it is
absent. Everything runs in one process on the same arrays:

* floor: streaming the panel from memory once (``np.nansum(panel, axis=0)``, and a plain copy);
* share above the 200-day average: counterweight (numba streaming kernel; numpy cumulative-sum
  fallback also timed) against pandas ``rolling(200).mean()``; counts must agree exactly;
* rolling 21- and 63-session average pairwise correlation: counterweight (variance identity,
  blocked BLAS) against a per-date reference loop with pandas (standardise the window, sum
  across stocks), timed on every ``STRIDE``-th end date and scaled to all dates; values must
  agree to 1e-9, and two dates are also checked against the brute-force mean of
  ``np.corrcoef``;
* rolling volatility-weighted average correlation (one pass, ``average_correlation_vw``) against
  the same per-date pandas loop computing that measure (window std per stock, variance of the
  eligible stocks' summed return), and on two dates against the s_i s_j-weighted mean of
  ``np.corrcoef``; its floor is one pass over the float64 return panel it reads.

Run: ``python benchmarks/bench_breadth.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from counterweight.measure import breadth as br
from counterweight.measure import dispersion as ds
from timing import best_of

PANEL = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "full"
    / "us_universe_daily_adjclose_2016_2026.parquet"
)
STRIDE = 10


def eligible_window(df: pd.DataFrame, members: np.ndarray, window: int, t: int) -> pd.DataFrame:
    """The window's returns of the stocks eligible on ``t``: members with every return finite
    and a positive window variance (the rule counterweight applies)."""
    win = df.iloc[t - window + 1 : t + 1]
    ok = win.notna().all() & (win.var(ddof=0) > ds.MIN_VARIANCE) & members[t]
    return win.loc[:, ok.to_numpy()]


def pandas_avg_corr(
    df: pd.DataFrame, members: np.ndarray, window: int, ends: np.ndarray
) -> np.ndarray:
    out = np.full(len(ends), np.nan)
    for k, t in enumerate(ends):
        w = eligible_window(df, members, window, t)
        n = w.shape[1]
        if n < 2:
            continue
        z = (w - w.mean()) / w.std(ddof=0)
        s = z.sum(axis=1)
        out[k] = ((s * s).sum() / window - n) / (n * (n - 1))
    return out


def pandas_vw_corr(
    df: pd.DataFrame, members: np.ndarray, window: int, ends: np.ndarray
) -> np.ndarray:
    out = np.full(len(ends), np.nan)
    for k, t in enumerate(ends):
        w = eligible_window(df, members, window, t)
        if w.shape[1] < 2:
            continue
        sd = w.std(ddof=0)
        var_sum = w.sum(axis=1).var(ddof=0)
        out[k] = (var_sum - (sd * sd).sum()) / (sd.sum() ** 2 - (sd * sd).sum())
    return out


def main() -> int:
    if not PANEL.exists():
        print(f"skipped: {PANEL} not found (this benchmark needs ../shared/data/full)")
        return 0
    df = pd.read_parquet(PANEL)
    panel = np.ascontiguousarray(df.to_numpy(dtype=np.float32))
    t_len, n = panel.shape
    members = np.ones(panel.shape, dtype=bool)
    print(
        f"panel: {t_len:,} dates x {n:,} tickers, float32, {panel.nbytes / 1e6:.0f} MB, "
        f"{np.isnan(panel).mean():.1%} NaN; numba: {br.HAVE_NUMBA}"
    )

    floor_nansum, _ = best_of(lambda: np.nansum(panel, axis=0))
    floor_copy, _ = best_of(lambda: panel.copy())
    print(
        f"floor  one streaming pass: nansum {floor_nansum * 1e3:7.1f} ms | copy {floor_copy * 1e3:7.1f} ms"
    )

    # ---------------------------------------------------------------- share above 200-day MA
    br.above_moving_average_counts(panel[:300], members[:300], 200)  # compile (cached on disk)
    t_cw, (above, elig) = best_of(lambda: br.above_moving_average_counts(panel, members, 200))
    t_np, (above_np, elig_np) = best_of(
        lambda: br.above_moving_average_counts(panel, members, 200, use_numba=False), 2
    )

    def pandas_ma() -> tuple[np.ndarray, np.ndarray]:
        ma = df.rolling(200, min_periods=200).mean()
        return (df > ma).sum(axis=1).to_numpy(), ma.notna().sum(axis=1).to_numpy()

    t_pd, (above_pd, elig_pd) = best_of(pandas_ma, 2)
    assert np.array_equal(elig, elig_pd) and np.array_equal(elig_np, elig_pd), (
        "eligible counts differ"
    )
    diff = int(np.abs(above - above_pd).max())
    diff_np = int(np.abs(above_np - above_pd).max())
    print(
        f"\nshare above 200d MA (max count difference vs pandas: numba {diff}, numpy {diff_np})\n"
        f"  counterweight (numba)   {t_cw * 1e3:8.1f} ms\n"
        f"  counterweight (numpy)   {t_np * 1e3:8.1f} ms\n"
        f"  pandas rolling          {t_pd * 1e3:8.1f} ms\n"
        f"  speed-up vs pandas      {t_pd / t_cw:8.1f}x   (target >= 10x)\n"
        f"  vs floor nansum         {t_cw / floor_nansum:8.2f}x   vs copy {t_cw / floor_copy:.2f}x   (target <= 3x)"
    )
    assert diff <= 0 or diff <= 2, "share above MA disagrees with pandas"

    # ---------------------------------------------------------------- average correlation
    returns = np.full(panel.shape, np.nan)
    p64 = panel.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns[1:] = p64[1:] / p64[:-1] - 1.0
    rdf = pd.DataFrame(returns)
    for w in (21, 63):
        t_c, (rho, cnt) = best_of(lambda w=w: ds.average_correlation(returns, members, w), 3)
        t_c1, (rho1, _) = best_of(
            lambda w=w: ds.average_correlation(returns, members, w, blas_threads=1), 3
        )
        assert np.allclose(rho1, rho, rtol=0, atol=1e-12, equal_nan=True)
        ends = np.arange(w - 1, t_len, STRIDE)
        t0 = time.perf_counter()
        ref = pandas_avg_corr(rdf, members, w, ends)
        t_ref = (time.perf_counter() - t0) * (t_len - w + 1) / len(ends)
        err = np.nanmax(np.abs(rho[ends] - ref))
        assert np.array_equal(np.isnan(rho[ends]), np.isnan(ref)) and err < 1e-9, err
        for t in (ends[len(ends) // 2], ends[-1]):
            win = returns[t - w + 1 : t + 1]
            ok = np.isfinite(win).all(axis=0) & (win.var(axis=0) > ds.MIN_VARIANCE)
            c = np.corrcoef(win[:, ok].T)
            k = c.shape[0]
            brute = (c.sum() - k) / (k * (k - 1))
            assert abs(brute - rho[t]) < 1e-9, (brute, rho[t])
        print(
            f"\naverage pairwise correlation, {w}d (max |diff| vs pandas loop {err:.1e}; "
            f"corrcoef check on 2 dates with {int(cnt[ends[-1]]):,} stocks)\n"
            f"  counterweight           {t_c * 1e3:8.1f} ms   (BLAS default threads)\n"
            f"  counterweight           {t_c1 * 1e3:8.1f} ms   (blas_threads=1)\n"
            f"  pandas per-date loop    {t_ref * 1e3:8.1f} ms  (timed on 1/{STRIDE} of the dates, scaled)\n"
            f"  speed-up vs pandas      {t_ref / t_c:8.1f}x / {t_ref / t_c1:.1f}x   (target >= 10x)\n"
            f"  vs floor nansum         {min(t_c, t_c1) / floor_nansum:8.1f}x   (target <= 3x; exact rolling "
            f"correlation needs O(T N w) flops, see docs/monitor.md)"
        )
    floor_r64, _ = best_of(lambda: np.nansum(returns, axis=0), 5)
    ds.average_correlation_vw(returns[:100], members[:100], 21)  # compile outside the timing
    for w in (21, 63):
        t_v, (rho_v, cnt_v) = best_of(lambda w=w: ds.average_correlation_vw(returns, members, w), 3)
        ends = np.arange(w, t_len, STRIDE)
        t0 = time.perf_counter()
        ref = pandas_vw_corr(rdf, members, w, ends)
        t_ref = (time.perf_counter() - t0) * (t_len - w) / len(ends)
        err = np.nanmax(np.abs(rho_v[ends] - ref))
        assert np.array_equal(np.isnan(rho_v[ends]), np.isnan(ref)) and err < 1e-9, err
        for t in (ends[len(ends) // 2], ends[-1]):
            win = returns[t - w + 1 : t + 1]
            ok = np.isfinite(win).all(axis=0) & (win.var(axis=0) > ds.MIN_VARIANCE) & members[t]
            c = np.corrcoef(win[:, ok].T)
            sd = win[:, ok].std(axis=0)
            wts = np.outer(sd, sd)
            off = ~np.eye(len(sd), dtype=bool)
            brute = (wts * c)[off].sum() / wts[off].sum()
            assert abs(brute - rho_v[t]) < 1e-9, (brute, rho_v[t])
        print(
            f"\nvolatility-weighted average correlation, {w}d (one pass; max |diff| vs pandas loop "
            f"{err:.1e}; weighted corrcoef check on 2 dates with {int(cnt_v[ends[-1]]):,} stocks)\n"
            f"  counterweight           {t_v * 1e3:8.1f} ms\n"
            f"  pandas per-date loop    {t_ref * 1e3:8.1f} ms  (timed on 1/{STRIDE} of the dates, scaled)\n"
            f"  speed-up vs pandas      {t_ref / t_v:8.1f}x   (target >= 10x)\n"
            f"  vs floor                {t_v / floor_r64:8.2f}x   (one nansum over the float64 "
            f"returns it reads, {floor_r64 * 1e3:.1f} ms; target <= 3x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
