"""Optional compiled kernel of the backtest engine (numba), for scheduled rebalances.

Same accounting as :func:`counterweight.backtest.engine.simulate` (see that module), fused into
one pass over the return panel: each day updates h_i <- h_i (1 + r_i) and sums the value in the
same loop (sums may be reassociated for SIMD: results agree with the numpy engine to
rounding, ~1e-14). Used when ``engine="numba"``; needs numba (a core dependency; the numpy engine remains where
numba cannot be imported). Drift bands need targets computed on the fly and stay on the numpy
engine; scheduled rebalances and membership trades (targets precomputed) run here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from counterweight.backtest.engine import SimulationArrays

_KERNEL: Any = None


def _build() -> Any:
    from numba import njit

    @njit(cache=True, nogil=True)
    def index_fund_weights(h, cash, target, stay, now, w):  # type: ignore[no-untyped-def]
        """Numba twin of :func:`counterweight.backtest.engine.index_fund_weights` into ``w``;
        returns False when there is nothing to trade."""
        n = h.shape[0]
        invested = 0.0
        for i in range(n):
            invested += h[i]
        v = cash + invested
        if v <= 0.0 or invested == 0.0:
            return False
        any_trade = False
        s_j = 0.0
        h_c = 0.0
        for i in range(n):
            buy = stay[i] and not now[i] and target[i] > 0.0
            if buy:
                s_j += target[i]
                any_trade = True
            elif h[i] != 0.0:
                if stay[i]:
                    h_c += h[i]
                else:
                    any_trade = True
        if not any_trade:
            return False
        f = invested / v
        room = f - s_j
        scale_j = 1.0 if room >= 0.0 else f / s_j
        if not (h_c != 0.0 and room > 0.0) and s_j > 0.0 and room > 0.0:
            scale_j = f / s_j
        scale_c = room / h_c if (h_c != 0.0 and room > 0.0) else 0.0
        for i in range(n):
            if stay[i] and not now[i] and target[i] > 0.0:
                w[i] = target[i] * scale_j
            elif h[i] != 0.0 and stay[i]:
                w[i] = h[i] * scale_c
            else:
                w[i] = 0.0
        return True

    @njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract"})
    def kernel(  # type: ignore[no-untyped-def]
        returns,
        target_row,
        targets,
        is_full,
        k,
        members,
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
        w = np.zeros(n)
        cash = 1.0
        prev = 1.0
        for t in range(t_len):
            v = cash
            if t > 0:
                for i in range(n):
                    h[i] *= 1.0 + returns[t, i]
                    v += h[i]
            j = target_row[t]
            do = False
            if j >= 0:
                if is_full[j]:
                    for i in range(n):
                        w[i] = targets[j, i]
                    do = True
                else:
                    do = index_fund_weights(h, cash, targets[j], members[t + 1], members[t], w)
            if do:
                c = 0.0
                if v > 0.0:
                    for _ in range(64):
                        new = 0.0
                        for i in range(n):
                            new += k[i] * abs(w[i] * (v - c) - h[i])
                        done = abs(new - c) <= 1e-17 * v
                        c = new
                        if done:
                            break
                vc = v - c
                tr = 0.0
                s = 0.0
                for i in range(n):
                    nh = w[i] * vc
                    tr += abs(nh - h[i])
                    h[i] = nh
                    s += nh
                cash = vc - s
                if v > 0.0:
                    traded[t] = tr / v
                    costs[t] = c / v
                rebalanced[t] = is_full[j]
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
    positions: np.ndarray,
    targets: np.ndarray,
    cost_rate: np.ndarray,
    members: np.ndarray | None,
    record_weights: bool,
    is_full: np.ndarray | None = None,
) -> SimulationArrays:
    """Run the compiled kernel; ``targets[j]`` is the target at the close of ``positions[j]``.

    ``is_full[j]`` (default all True): a full rebalance to ``targets[j]``; False: the membership
    trade of an index fund at that close (``members[p + 1]`` against ``members[p]``, see
    :func:`counterweight.backtest.engine.index_fund_weights`). Fills the same
    :class:`~counterweight.backtest.engine.SimulationArrays` as the numpy engine.
    """
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _build()
    t_len, n = returns.shape
    pos = np.asarray(positions, dtype=np.intp)
    full = np.ones(pos.size, dtype=np.bool_) if is_full is None else np.asarray(is_full, np.bool_)
    row = np.full(t_len, -1, dtype=np.int64)
    row[pos] = np.arange(len(pos))
    mem = (
        np.zeros((max(t_len, 1), max(n, 1)), dtype=np.bool_)
        if members is None
        else np.ascontiguousarray(members, dtype=np.bool_)
    )
    weights = np.zeros((t_len, n)) if record_weights else np.zeros((1, 1))
    out = [np.zeros(t_len) for _ in range(5)]
    out[1][:] = 1.0
    out[4][:] = 1.0
    rebalanced = np.zeros(t_len, dtype=np.bool_)
    _KERNEL(
        np.ascontiguousarray(returns, dtype=np.float64),
        row,
        np.ascontiguousarray(np.nan_to_num(targets, nan=0.0), dtype=np.float64),
        np.ascontiguousarray(full),
        np.ascontiguousarray(cost_rate, dtype=np.float64),
        mem,
        record_weights,
        weights,
        *out,
        rebalanced,
    )
    ret, val, traded, costs, cash_w = out
    return SimulationArrays(
        ret, val, traded, costs, cash_w, rebalanced, weights if record_weights else None
    )
