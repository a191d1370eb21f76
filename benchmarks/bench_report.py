"""`counterweight report` on the embedded data: wall time including Python start-up.

Runs the command as a user would (a fresh interpreter each time), takes the best and median
of several runs and compares with the 3 s budget; the HTML variant is timed too. In the same
process, the report's concentration and index-return numbers are recomputed with the plain
pandas reference of ``bench_concentration.py`` on the same sample, checked to agree, and the
ratio printed.

    python benchmarks/bench_report.py [--runs 5]

Needs no external data (the embedded sample ships with the package).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BUDGET_S = 3.0


def wall(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    floor = wall([py, "-c", "import pandas, numpy"], args.runs)
    plain = wall([py, "-m", "counterweight", "report"], args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        html = wall(
            [py, "-m", "counterweight", "report", "-q", "--html", str(Path(tmp) / "r.html")],
            max(1, args.runs // 2),
        )
    print(f"{'':40s} {'best s':>8s} {'median s':>9s}")
    print(
        f"{'python -c import pandas, numpy':40s} {min(floor):8.2f} {statistics.median(floor):9.2f}"
    )
    print(f"{'counterweight report':40s} {min(plain):8.2f} {statistics.median(plain):9.2f}")
    print(f"{'counterweight report --html':40s} {min(html):8.2f} {statistics.median(html):9.2f}")
    ratio = BUDGET_S / statistics.median(plain)
    print(
        f"budget {BUDGET_S:.1f} s / median report time: {ratio:.1f}x ({'within' if ratio >= 1 else 'OVER'} budget)"
    )

    # same numbers, pandas reference, same process
    sys.path.insert(0, str(Path(__file__).parent))
    import counterweight as cw
    from bench_concentration import ours, pandas_reference, timed
    from counterweight.report.main_report import build_report

    market = cw.load_sample()
    t0 = time.perf_counter()
    rep = build_report(market)
    t_build = time.perf_counter() - t0
    w_ours, _, _ = timed(ours, market, 5)
    w_ref, _, (ref, _, ref_idx, _) = timed(pandas_reference, market, 3)
    for col in ("top1", "top5", "top10", "hhi", "Mag 7"):
        got = rep.concentration.measures[col].to_numpy()
        np.testing.assert_allclose(got, ref[col].to_numpy(), rtol=1e-9, equal_nan=True)
    daily = rep.daily_returns["Index (cap)"].to_numpy()
    np.testing.assert_allclose(daily[1:], ref_idx.to_numpy()[1:], rtol=1e-9, atol=1e-15)
    print(
        "report numbers agree with the pandas reference (concentration history, daily index return)"
    )
    print(f"whole report build, every section: {t_build:.3f} s")
    print(
        f"concentration + contribution history on the sample: {w_ours:.3f} s vs pandas "
        f"{w_ref:.3f} s: {w_ref / w_ours:.1f}x"
    )


if __name__ == "__main__":
    main()
