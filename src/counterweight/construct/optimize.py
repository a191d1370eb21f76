"""The general path: any combination of caps and (overlapping) group bounds, with cvxpy + Clarabel.

    minimise   sum_i (w_i - b_i)^2 / b_i            (objective="proportional", default)
           or  (w - b)' Sigma (w - b)               (objective="tracking_error", Sigma given)
    subject to sum w = 1, 0 <= w_i <= c_i, lo_G <= sum_{i in G} w_i <= hi_G for every group G

The proportional objective is the one whose optimum is proportional redistribution, so on
problems the exact kernels of :mod:`counterweight.construct.capping` can solve (single-name
caps, disjoint groups) both agree to solver precision (tests check 1e-8). Names with zero base
weight are held at 0 under that objective. cvxpy and Clarabel are the ``optimize`` extra and are
imported lazily.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from counterweight.construct.capping import GroupBound, _group_room_msg, _pct
from counterweight.errors import CounterweightError, InfeasibleError, InputError


def _cvxpy():  # type: ignore[no-untyped-def]
    try:
        import cvxpy as cp
    except ImportError:  # pragma: no cover - depends on the environment
        raise CounterweightError(
            "the general constraint path needs cvxpy and clarabel: pip install 'counterweight[optimize]'"
        ) from None
    return cp


def diagnose(b: np.ndarray, cap: np.ndarray, groups: Sequence[GroupBound]) -> str | None:
    """Explain in words why the constraints cannot hold, or None when no simple reason is found.

    Checks: caps sum below 100%; a group floor above what its capped names can hold; group floors
    above 100%; everything outside capped groups plus the groups' ceilings below 100%.
    """
    live = b > 0
    c = np.where(live, cap, 0.0)
    room = float(np.minimum(c, 1.0).sum())
    n_live = int(live.sum())
    if room < 1.0 - 1e-9:
        uniq = np.unique(c[live])
        what = f"capped at {_pct(float(uniq[0]))}" if uniq.size == 1 else "under their caps"
        return f"{n_live} names {what} cannot hold 100% (at most {_pct(room)})"
    for g in groups:
        m = g.mask & live
        g_room = float(np.minimum(c[m], 1.0).sum())
        if g.lo > g_room + 1e-9:
            return _group_room_msg(g.name, c[m], g.lo, g_room)
        if g.lo > g.hi:
            return f"group '{g.name}': floor {_pct(g.lo)} is above its ceiling {_pct(g.hi)}"
    # upper bounds: maximum weight reachable by a greedy bound over group ceilings
    covered = np.zeros_like(live)
    reach = 0.0
    for g in sorted(groups, key=lambda g: g.hi):
        m = g.mask & live & ~covered
        if g.hi < 1.0:
            reach += min(g.hi, float(np.minimum(c[m], 1.0).sum()))
            covered |= m
    reach += float(np.minimum(c[live & ~covered], 1.0).sum())
    if reach < 1.0 - 1e-9:
        names = ", ".join(f"'{g.name}' at most {_pct(g.hi)}" for g in groups if g.hi < 1.0)
        return f"the caps and group ceilings ({names}) hold at most {_pct(reach)}, not 100%"
    floors = sum(g.lo for g in groups)
    if floors > 1.0 + 1e-9 and all(
        not np.any(a.mask & b_.mask) for i, a in enumerate(groups) for b_ in groups[i + 1 :]
    ):
        return f"the group floors need {_pct(floors)}, more than 100%"
    return None


def _polish(
    b: np.ndarray,
    cap: np.ndarray,
    bounds: Sequence[tuple[np.ndarray, float, float]],
    x: np.ndarray,
    tol: float = 1e-7,
) -> np.ndarray:
    """The exact proportional optimum on the solver's active set, when it certifies.

    An interior-point solver stops ~1e-7 from an optimum lying on a bound whose multiplier is
    zero (a group ceiling equal to the group's base share, say). With the constraints within
    ``tol`` of binding taken as equalities ``A x = c``, ``min sum (x-b)^2/b`` has the closed
    form ``x = b - b * (A' l) / 2``, ``(A diag(b) A') l = 2 (A b - c)``. The polished point is
    returned only if it is feasible (to 1e-13) and every inequality multiplier is >= 0, i.e.
    it satisfies the KKT conditions and so is the optimum; otherwise ``x`` comes back as is.
    ``bounds``: (mask, lo, hi) per group, on the same names as ``b``.
    """
    n = b.size
    eye = np.eye(n)
    rows, rhs, ineq = [np.ones(n)], [1.0], [False]

    def add(row: np.ndarray, value: float) -> None:
        rows.append(row)
        rhs.append(value)
        ineq.append(True)

    for i in range(n):
        if np.isfinite(cap[i]) and cap[i] - x[i] < tol:
            add(eye[i], float(cap[i]))
        elif x[i] < tol:
            add(-eye[i], 0.0)
    for mask, lo, hi in bounds:
        m = mask.astype(float)
        total = float(m @ x)
        if hi - total < tol:
            add(m, hi)
        elif lo > 0 and total - lo < tol:
            add(-m, -lo)
    a, c = np.array(rows), np.array(rhs)
    lam = np.linalg.lstsq((a * b) @ a.T, 2.0 * (a @ b - c), rcond=None)[0]
    y = b - b * (a.T @ lam) / 2.0
    ok = (
        abs(float(y.sum()) - 1.0) <= 1e-13
        and bool(np.all(y >= -1e-13))
        and bool(np.all(y <= cap + 1e-13))
        and all(lo - 1e-13 <= float(y[m].sum()) <= hi + 1e-13 for m, lo, hi in bounds)
        and bool(np.all(lam[np.array(ineq)] >= -1e-12))
    )
    return y if ok else x


def optimize_weights(
    w: np.ndarray,
    *,
    cap: float | np.ndarray = np.inf,
    groups: Sequence[GroupBound] = (),
    covariance: np.ndarray | None = None,
    objective: str = "proportional",
    tol: float = 1e-10,
) -> np.ndarray:
    """Weights closest to ``w`` under caps and any group bounds, by cvxpy + Clarabel.

    ``objective``: "proportional" (sum (w-b)^2/b, the exact paths' objective) or
    "tracking_error" ((w-b)' Sigma (w-b), needs ``covariance``; a tiny proportional term keeps
    the optimum unique). Raises :class:`InfeasibleError` naming binding constraints.
    """
    cp = _cvxpy()
    b = np.asarray(w, dtype=np.float64)
    ok = np.isfinite(b)
    if np.any(b[ok] < 0):
        raise InputError("weights must be non-negative")
    b = np.where(ok, b, 0.0)
    total = float(b.sum())
    if not total > 0:
        raise InputError("no positive weight to optimise")
    b = b / total
    n = b.size
    c = np.broadcast_to(np.asarray(cap, dtype=np.float64), (n,)).copy()
    reason = diagnose(b, c, groups)
    if reason is not None:
        raise InfeasibleError(reason)
    live = b > 0
    idx = np.flatnonzero(live)
    bl = b[idx]
    if objective not in ("proportional", "tracking_error"):
        raise InputError(f"unknown objective '{objective}' (proportional or tracking_error)")
    sub = None
    if objective == "tracking_error":
        if covariance is None:
            raise InputError("objective 'tracking_error' needs a covariance matrix")
        cov = np.asarray(covariance, dtype=float)
        if cov.shape != (n, n):
            raise InputError(f"covariance has shape {cov.shape}, expected ({n}, {n})")
        sub = cov[np.ix_(idx, idx)]
        sub = 0.5 * (sub + sub.T)
        tol = max(tol, 1e-8)  # variances are ~1e-4: a 1e-10 gap is below what Clarabel reaches

    def solve(scaled: bool) -> tuple[str, np.ndarray | None]:
        """One Clarabel solve. ``scaled``: in y = w / b (objective sum b (y - 1)^2, well
        conditioned when base weights span orders of magnitude); else directly in w
        (sum (w - b)^2 / b), which converges where the scaled form stalls (Clarabel can
        cycle on it until its iteration limit)."""
        v = cp.Variable(idx.size)
        x = cp.multiply(bl, v) if scaled else v
        cons = [cp.sum(x) == 1, v >= 0]
        fin = np.isfinite(c[idx])
        if fin.any():
            cons.append(x[np.flatnonzero(fin)] <= c[idx][fin])
        for g in groups:
            m = np.flatnonzero(np.asarray(g.mask, dtype=bool)[idx])
            if m.size == 0:
                if g.lo > 0:
                    raise InfeasibleError(f"group '{g.name}' needs {_pct(g.lo)} but holds no names")
                continue
            if g.hi < 1.0:
                cons.append(cp.sum(x[m]) <= g.hi)
            if g.lo > 0.0:
                cons.append(cp.sum(x[m]) >= g.lo)
        if scaled:
            prop = cp.sum(cp.multiply(bl, cp.square(v - 1.0)))
        else:
            prop = cp.sum_squares(cp.multiply(1.0 / np.sqrt(bl), v - bl))
        obj = prop
        if sub is not None:
            scale = float(np.trace(sub)) / idx.size if idx.size else 1.0
            obj = cp.quad_form(x - bl, cp.psd_wrap(sub)) + 1e-6 * scale * prop
        prob = cp.Problem(cp.Minimize(obj), cons)
        try:
            with warnings.catch_warnings():  # the status is checked below; no stray warning
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(
                    solver=cp.CLARABEL,
                    tol_gap_abs=tol,
                    tol_gap_rel=tol,
                    tol_feas=tol,
                    tol_ktratio=tol,
                )
        except cp.error.SolverError:
            return "solver_error", None  # the other formulation is tried next
        if v.value is None:
            return str(prob.status), None
        w = np.asarray(v.value, dtype=float)
        return str(prob.status), (bl * w if scaled else w)

    status, sol = solve(scaled=True)
    if status != "optimal":
        status, sol = solve(scaled=False)
    if sol is not None and sub is None and status == "optimal" and idx.size <= 2000:
        # O(n^2) memory: polish only problems of index size, not 10,000-name universes
        bounds = [(np.asarray(g.mask, dtype=bool)[idx], g.lo, g.hi) for g in groups]
        sol = _polish(bl, c[idx], bounds, sol)
    if status in ("infeasible", "infeasible_inaccurate"):
        raise InfeasibleError(
            f"the constraints cannot all hold (solver status: {status}); check that the caps "
            "and group bounds leave room for 100%"
        )
    if status not in ("optimal", "optimal_inaccurate") or sol is None:
        raise CounterweightError(f"the optimiser did not converge (solver status: {status})")
    out = np.zeros(n)
    out[idx] = np.clip(sol, 0.0, None)
    out = np.minimum(out, c)
    # solver residue (~tol): spread it over the names with room so the sum is 1 and caps hold
    residual = 1.0 - float(out.sum())
    room = np.where(live, np.minimum(c, 1.0) - out, 0.0)
    if residual > 0 and room.sum() > 0:
        out += room * min(1.0, residual / float(room.sum()))
    elif residual < 0:
        out *= 1.0 + residual / float(out.sum())
    return np.where(ok, out, np.nan)
