"""Optional compiled kernel of the backtest engine (numba), for scheduled rebalances.

Same accounting as :func:`counterweight.backtest.engine.simulate` (see that module), fused into
one pass over the return panel: each day updates h_i <- h_i (1 + r_i) and sums the value in the
same loop (sums may be reassociated for SIMD: results agree with the numpy engine to
rounding, ~1e-14). Used when ``engine="numba"``; needs numba (a core dependency; the numpy engine remains where numba cannot be imported). Drift bands and
``trade_on_changes`` need targets computed on the fly and stay on the numpy engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from counterweight.backtest.engine import SimulationArrays

_KERNEL: Any = None


def _build() -> Any:
    from numba import njit

    @njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract"})
    def kernel(  # type: ignore[no-untyped-def]
        returns,
        target_row,
        targets,
        k,
        members,
        use_members,
        record,
        weights,
        ret,
        val,
        traded,
        costs,
        cash_w,
        rebalanced,
    ):
        t_len, n = returns.shape
        h = np.zeros(n)
        cash = 1.0
        prev = 1.0
        for t in range(t_len):
            v = cash
            if t > 0:
                for i in range(n):
                    h[i] *= 1.0 + returns[t, i]
                    v += h[i]
            j = target_row[t]
            if j >= 0:
                c = 0.0
                if v > 0.0:
                    for _ in range(64):
                        new = 0.0
                        for i in range(n):
                            new += k[i] * abs(targets[j, i] * (v - c) - h[i])
                        done = abs(new - c) <= 1e-17 * v
                        c = new
                        if done:
                            break
                vc = v - c
                tr = 0.0
                s = 0.0
                for i in range(n):
                    nh = targets[j, i] * vc
                    tr += abs(nh - h[i])
                    h[i] = nh
                    s += nh
                cash = vc - s
                if v > 0.0:
                    traded[t] = tr / v
                    costs[t] = c / v
                rebalanced[t] = True
            elif use_members and t > 0:
                sold = 0.0
                c = 0.0
                for i in range(n):
                    if members[t - 1, i] and not members[t, i] and h[i] != 0.0:
                        sold += abs(h[i])
                        c += k[i] * abs(h[i])
                        cash += h[i]
                        h[i] = 0.0
                if sold > 0.0:
                    cash -= c
                    traded[t] = sold / v
                    costs[t] = c / v
            v = cash
            for i in range(n):
                v += h[i]
            ret[t] = v / prev - 1.0 if prev != 0.0 else 0.0
            val[t] = v
            cash_w[t] = cash / v if v != 0.0 else 1.0
            if record:
                for i in range(n):
                    weights[t, i] = h[i] / v if v != 0.0 else 0.0
            prev = v

    return kernel


def simulate_compiled(
    returns: np.ndarray,
    rebalance: np.ndarray,
    targets: np.ndarray,
    cost_rate: np.ndarray,
    members: np.ndarray | None,
    record_weights: bool,
) -> SimulationArrays:
    """Run the compiled kernel; ``targets[j]`` is the target at ``rebalance[j]``.

    Fills the same :class:`~counterweight.backtest.engine.SimulationArrays` as the numpy engine.
    """
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _build()
    t_len, n = returns.shape
    row = np.full(t_len, -1, dtype=np.int64)
    row[np.asarray(rebalance, dtype=np.intp)] = np.arange(len(rebalance))
    mem = np.zeros((1, 1), dtype=np.bool_) if members is None else np.ascontiguousarray(members)
    weights = np.zeros((t_len, n)) if record_weights else np.zeros((1, 1))
    out = [np.zeros(t_len) for _ in range(5)]
    out[1][:] = 1.0
    out[4][:] = 1.0
    rebalanced = np.zeros(t_len, dtype=np.bool_)
    _KERNEL(
        np.ascontiguousarray(returns, dtype=np.float64),
        row,
        np.ascontiguousarray(np.nan_to_num(targets, nan=0.0), dtype=np.float64),
        np.ascontiguousarray(cost_rate, dtype=np.float64),
        mem,
        members is not None,
        record_weights,
        weights,
        *out,
        rebalanced,
    )
    ret, val, traded, costs, cash_w = out
    return SimulationArrays(
        ret, val, traded, costs, cash_w, rebalanced, weights if record_weights else None
    )
