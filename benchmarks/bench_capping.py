"""Exact capping vs cvxpy + Clarabel and vs ffn's ``limit_weights``, same inputs, same run.

    python benchmarks/bench_capping.py [--quick]

For 500 (the embedded sample's real cap weights on its last date), 3,000 and 10,000 names
(Zipf-like synthetic cap weights, seeded), every method caps the same weights at the same
single-name cap with proportional redistribution:

* counterweight: ``construct.capping.cap_weights`` (exact water-filling, no solver);
* cvxpy + Clarabel: ``min sum (w - b)^2 / b  s.t. sum w = 1, 0 <= w <= cap`` (the formulation
  whose optimum is proportional redistribution), timed as ``problem.solve()``;
* ffn: ``ffn.core.limit_weights`` (recursive cap-and-redistribute on a pandas Series).

Each result is checked against ours (cvxpy within 1e-8, ffn within 1e-12) before the timing
ratios are printed. Also times a group cap ("top 7 at most 20%" plus the name cap) against
cvxpy. Needs the ``bench`` extra (cvxpy, clarabel, ffn); no ``../shared`` data.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd


def best_time(fn: Callable[[], object], repeat: int, number: int = 1) -> float:
    """Best of ``repeat`` runs of ``number`` calls, seconds per call."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number)
    return min(out)


def zipf_weights(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, n + 1) ** 1.05 * rng.uniform(0.8, 1.2, n)
    rng.shuffle(w)
    return w / w.sum()


def cvx_cap(
    b: np.ndarray, cap: float, group: np.ndarray | None = None, hi: float = 1.0
) -> np.ndarray:
    import cvxpy as cp

    x = cp.Variable(b.size)
    cons = [cp.sum(x) == 1, x >= 0, x <= cap]
    if group is not None:
        cons.append(cp.sum(x[np.flatnonzero(group)]) <= hi)
    obj = cp.Minimize(cp.sum(cp.multiply(1.0 / b, cp.square(x - b))))
    prob = cp.Problem(obj, cons)
    prob.solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, tol_ktratio=1e-10
    )
    return np.asarray(x.value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    try:
        import cvxpy  # noqa: F401
        import ffn
    except ImportError as exc:
        print(
            f"skipped: needs the bench extra ({exc.name} missing): pip install 'counterweight[bench]'"
        )
        return 0

    import counterweight as cw
    from counterweight.construct.capping import GroupBound, bounded_weights, cap_weights

    rep = 3 if args.quick else 7
    sample = cw.load_sample().cap_weights().to_numpy()
    cases = [
        ("S&P 500 sample (real)", sample / sample.sum(), 0.03),
        ("3,000 synthetic", zipf_weights(3000, 1), 0.01),
        ("10,000 synthetic", zipf_weights(10000, 2), 0.005),
    ]
    rows = []
    for label, b, cap in cases:
        ours = cap_weights(b, cap)
        n_capped = int(np.sum(ours >= cap - 1e-15))
        t_ours = best_time(lambda b=b, cap=cap: cap_weights(b, cap), rep, number=200)
        ref_cvx = cvx_cap(b, cap)
        t_cvx = best_time(lambda b=b, cap=cap: cvx_cap(b, cap), 1 if args.quick else 3)
        s = pd.Series(b)
        ref_ffn = ffn.core.limit_weights(s, cap).to_numpy()
        t_ffn = best_time(lambda s=s, cap=cap: ffn.core.limit_weights(s, cap), rep, number=3)
        d_cvx = float(np.abs(ours - ref_cvx).max())
        d_ffn = float(np.abs(ours - ref_ffn).max())
        assert d_cvx <= 1e-8, f"{label}: differs from cvxpy by {d_cvx:.2e}"
        assert d_ffn <= 1e-12, f"{label}: differs from ffn by {d_ffn:.2e}"
        rows.append(
            {
                "case": label,
                "n": b.size,
                "cap": cap,
                "capped": n_capped,
                "ours_ms": 1e3 * t_ours,
                "cvxpy_ms": 1e3 * t_cvx,
                "ffn_ms": 1e3 * t_ffn,
                "x_cvxpy": t_cvx / t_ours,
                "x_ffn": t_ffn / t_ours,
                "max|d| cvxpy": d_cvx,
                "max|d| ffn": d_ffn,
            }
        )
    # group cap on the real sample: the 7 largest names at most 20% together, names at 3%
    b = sample / sample.sum()
    top7 = np.zeros(b.size, dtype=bool)
    top7[np.argsort(-b)[:7]] = True
    g = [GroupBound("top 7", top7, 0.0, 0.20)]
    ours = bounded_weights(b, cap=0.03, groups=g)
    ref = cvx_cap(b, 0.03, top7, 0.20)
    d = float(np.abs(ours - ref).max())
    assert d <= 1e-8, f"group cap differs from cvxpy by {d:.2e}"
    t_ours = best_time(lambda: bounded_weights(b, cap=0.03, groups=g), rep, number=100)
    t_cvx = best_time(lambda: cvx_cap(b, 0.03, top7, 0.20), 1 if args.quick else 3)
    rows.append(
        {
            "case": "sample, top 7 <= 20% + 3% cap",
            "n": b.size,
            "cap": 0.03,
            "capped": int(np.sum(ours >= 0.03 - 1e-15)),
            "ours_ms": 1e3 * t_ours,
            "cvxpy_ms": 1e3 * t_cvx,
            "ffn_ms": float("nan"),
            "x_cvxpy": t_cvx / t_ours,
            "x_ffn": float("nan"),
            "max|d| cvxpy": d,
            "max|d| ffn": float("nan"),
        }
    )
    table = pd.DataFrame(rows).set_index("case")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(
            table.to_string(
                float_format=lambda v: f"{v:.3g}" if abs(v) < 1e-3 or abs(v) >= 1e4 else f"{v:,.3f}"
            )
        )
    single = table.iloc[:3]
    worst_cvx = float(single["x_cvxpy"].min())
    worst_ffn = float(single["x_ffn"].min())
    print(
        f"\nsingle-name capping, slowest speed-up: {worst_cvx:,.0f}x vs cvxpy+Clarabel (goal 300x), "
        f"{worst_ffn:,.0f}x vs ffn.limit_weights (goal 30x)"
    )
    print(f"group + name caps: {float(table['x_cvxpy'].iloc[3]):,.0f}x vs cvxpy+Clarabel")
    print("all results agree with the references (checked above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
