"""Exact capping with proportional redistribution: single names, issuers and disjoint groups.

Every function here solves, without a solver, the weighted least-squares problem

    minimise   sum_i (w_i - b_i)^2 / b_i
    subject to sum_i w_i = 1,  0 <= w_i <= c_i,  lo_G <= sum_{i in G} w_i <= hi_G  (G disjoint)

whose optimum is *proportional redistribution*: by the KKT conditions every name not at its
cap is scaled by a common multiplier of its group, ``w_i = b_i * clip(s, a_G, z_G)`` capped at
``c_i``, where ``s`` is the global multiplier and ``a_G`` / ``z_G`` are the multipliers at
which group G reaches its floor / ceiling. The total ``H(s) = sum_i b_i clip(s, L_i, U_i)``
(``L_i = min(a_G, c_i/b_i)``, ``U_i = min(z_G, c_i/b_i)``) is piecewise linear and
non-decreasing in ``s``; sorting its 2n breakpoints gives the exact root in O(n log n).

Weights are fractions. Names with base weight 0 stay at 0 (they cannot receive weight in
proportion); NaN base weights are absent names and come back NaN.
:mod:`counterweight.construct.optimize` solves the same problems with cvxpy + Clarabel and the
tests check both agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from counterweight.errors import DataUnavailableError, InfeasibleError, InputError

_MAX_FIXPOINT_ITER = 8


def _pct(x: float) -> str:
    """A fraction as a short percent string for messages (0.05 -> '5%', 0.125 -> '12.5%')."""
    return f"{100.0 * x:.4g}%"


def _group_room_msg(name: str, caps: np.ndarray, need: float, room: float) -> str:
    """'7 names of 'Mag 7' capped at 5% cannot hold the 40% the group needs (at most 35%)'."""
    n = caps.size
    what = (
        f"capped at {_pct(float(caps[0]))}"
        if n and float(np.ptp(caps)) == 0
        else "under their caps"
    )
    return (
        f"{n} names of '{name}' {what} cannot hold the {_pct(need)} the group needs "
        f"(at most {_pct(room)})"
    )


def _check_room(caps: np.ndarray, unit: str = "names") -> None:
    """Raise '40 names capped at 2% cannot hold 100% (at most 80%)' when sum(caps) < 1."""
    room = float(np.minimum(caps, 1.0).sum())
    if room < 1.0 - 1e-12:
        n = caps.size
        what = (
            f"capped at {_pct(float(caps[0]))}"
            if n and float(np.ptp(caps)) == 0
            else "under their caps"
        )
        raise InfeasibleError(f"{n} {unit} {what} cannot hold 100% (at most {_pct(room)})")


def _prepare(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate base weights; return (normalised finite weights, finite mask)."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1:
        raise InputError(f"weights must be one-dimensional, got shape {w.shape}")
    ok = np.isfinite(w)
    clean = w if ok.all() else np.where(ok, w, 0.0)
    if clean.size and clean.min() < 0:
        raise InputError("weights must be non-negative (long-only capping)")
    total = float(clean.sum())
    if not total > 0:
        raise DataUnavailableError("no positive weight to cap (all weights are zero or missing)")
    return clean / total, ok


def _caps_array(cap: float | np.ndarray, n: int) -> np.ndarray:
    """One cap per name (a scalar is repeated); NaN or negative caps raise InputError."""
    if np.ndim(cap) == 0:
        value = float(cap)  # type: ignore[arg-type]
        if not value >= 0:
            raise InputError("caps must be non-negative numbers (use inf for 'no cap')")
        return np.full(n, value)
    c = np.array(cap, dtype=np.float64)
    if c.shape != (n,):
        raise InputError(f"caps have shape {c.shape}, expected ({n},)")
    if not (c >= 0).all():  # also catches NaN
        raise InputError("caps must be non-negative numbers (use inf for 'no cap')")
    return c


def _scale_fixpoint(b: np.ndarray, c: np.ndarray) -> float | None:
    """Multiplier s with sum_i min(c_i, s b_i) = 1 by the monotone fixed point, or None.

    s_{t+1} = (1 - sum_{r_i <= s_t} c_i) / sum_{r_i > s_t} b_i starting from s_0 = 1 rises
    monotonically to the exact root (each step caps every name the previous scale already
    pushed over its cap). Usually 1-4 O(n) passes; None after a few passes hands over to the
    sort-based solver, which is exact in every case.
    """
    s = 1.0
    capped = b > c  # r_i < 1 = s_0
    if not capped.any():
        return 1.0
    for _ in range(_MAX_FIXPOINT_ITER):
        free_b = float(b[~capped].sum())
        if free_b <= 0.0:
            return None
        s = (1.0 - float(c[capped].sum())) / free_b
        new = b * s > c
        if np.array_equal(new | capped, capped):
            return s
        capped |= new
    return None


def _scale_sorted(b: np.ndarray, c: np.ndarray) -> float:
    """Exact multiplier by sorting cap ratios: smallest k with s_k <= r_(k) (O(n log n))."""
    pos = b > 0
    bp, cp = b[pos], c[pos]
    r = cp / bp
    order = np.argsort(r, kind="stable")
    rs, bs, cs = r[order], bp[order], cp[order]
    capped_sum = np.concatenate(([0.0], np.cumsum(cs)[:-1]))
    free_b = np.cumsum(bs[::-1])[::-1]  # tail sums without cancellation
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (1.0 - capped_sum) / free_b
    ok = (free_b > 0) & (s <= rs)
    if not ok.any():  # every name at its cap: only when sum(c) == 1 up to rounding
        return float("inf")
    return float(s[int(np.argmax(ok))])


def _cap_scalar(w: np.ndarray, cap: float) -> np.ndarray | None:
    """Fast path for finite, non-negative weights and one scalar cap (None: use the general path).

    Same fixed point as :func:`_scale_fixpoint` on thresholds: the names above ``cap / s`` are
    capped, ``s = (1 - k cap) / (sum of the others)``; a few O(n) passes, no per-name cap array.
    """
    b = np.asarray(w, dtype=np.float64)
    if b.ndim != 1 or not cap >= 0:
        return None
    total = b.sum()
    if not (np.isfinite(total) and total > 0) or b.min() < 0:
        return None  # NaN, inf, negative or empty: the general path validates and explains
    b = b / total
    over = b > cap
    k = int(np.count_nonzero(over))
    if k == 0:
        return b
    if np.count_nonzero(b) * cap < 1.0 - 1e-12:
        return None  # infeasible: the general path raises the explanation
    for _ in range(_MAX_FIXPOINT_ITER):
        free = float(b.sum(where=~over))
        if free <= 0.0:
            return None
        s = (1.0 - k * cap) / free
        over = b * s > cap
        k_new = int(np.count_nonzero(over))
        if k_new == k:
            return np.minimum(b * s, cap)
        k = k_new
    return None


def cap_weights(
    w: np.ndarray,
    cap: float | np.ndarray,
    *,
    issuer_codes: np.ndarray | None = None,
) -> np.ndarray:
    """Cap weights at ``cap`` and redistribute the excess in proportion, exactly (no solver).

    Returns ``w*_i = min(c_i, s * b_i)`` with ``b = w / sum(w)`` and the unique ``s >= 1`` making
    the result sum to 1: the solution of ``min sum (w_i - b_i)^2 / b_i`` s.t. ``sum w = 1``,
    ``w <= c``. Idempotent (a fixed point). O(n) in the usual case, O(n log n) worst case.

    ``cap``: a fraction, or one per name (``np.inf`` = uncapped). ``issuer_codes``: optional
    integer issuer of each name; the cap then applies to each issuer's total (GOOG + GOOGL
    together) and each issuer's capped weight is split back pro rata over its names (``cap``
    must be a scalar or one value per *issuer code*). NaN weights come back NaN.

    Raises :class:`InfeasibleError` when the caps cannot hold 100% (e.g. n * cap < 1).
    """
    if issuer_codes is None and np.ndim(cap) == 0:
        fast = _cap_scalar(w, float(cap))
        if fast is not None:
            return fast
    b, ok = _prepare(w)
    if issuer_codes is not None:
        codes = np.asarray(issuer_codes, dtype=np.intp)
        if codes.shape != b.shape:
            raise InputError("issuer_codes must have one code per weight")
        n_iss = int(codes.max()) + 1 if codes.size else 0
        bi = np.bincount(codes, weights=b, minlength=n_iss)
        _check_room(_caps_array(cap, n_iss)[bi > 0], unit="issuers")
        wi = cap_weights(bi, cap)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(bi > 0, wi / bi, 0.0)
        out = b * ratio[codes]
        return np.where(ok, out, np.nan)

    c = _caps_array(cap, b.size)
    live = b > 0
    _check_room(c[live])
    s = _scale_fixpoint(b, c)
    if s is None:
        s = _scale_sorted(b, c)
    out = np.minimum(c, s * b) if np.isfinite(s) else np.where(b > 0, c, 0.0)
    return np.where(ok, out, np.nan)


# ---------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupBound:
    """Bounds on the total weight of a named set of names: ``lo <= sum_{i in mask} w_i <= hi``."""

    name: str
    mask: np.ndarray  # (N,) bool
    lo: float = 0.0
    hi: float = 1.0


def _level(b: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: float) -> float:
    """Root s of H(s) = sum_i b_i clip(s, lo_i, hi_i) = target (b > 0, lo <= hi, hi may be inf).

    Exact: H is piecewise linear with breakpoints lo_i (slope += b_i) and hi_i (slope -= b_i);
    sort them, accumulate H at each breakpoint and interpolate in the segment holding target.
    Returns NaN when H never reaches target (the bounds cannot hold it).
    """
    base = float(np.dot(b, lo))
    fin = np.isfinite(hi)
    if fin.all() and target > float(np.dot(b, hi)) * (1.0 + 1e-12) + 1e-15:
        return float("nan")  # even every name at its ceiling falls short
    if target <= base:
        return float(lo.min()) if target >= base - 1e-15 else float("nan")
    pos = np.concatenate((lo, hi[fin]))
    d = np.concatenate((b, -b[fin]))
    order = np.argsort(pos, kind="stable")
    pos, d = pos[order], d[order]
    slope = np.cumsum(d)
    h = base + np.concatenate(([0.0], np.cumsum(slope[:-1] * np.diff(pos))))
    j = int(np.searchsorted(h, target, side="left"))
    k = j - 1
    if j == len(h) and fin.all():
        return float(pos[-1])  # target within rounding of the total at every ceiling
    if slope[k] <= 0:
        return float("nan")
    return float(pos[k] + (target - h[k]) / slope[k])


def bounded_weights(
    w: np.ndarray,
    *,
    cap: float | np.ndarray = np.inf,
    groups: Sequence[GroupBound] = (),
    issuer_codes: np.ndarray | None = None,
) -> np.ndarray:
    """Proportional weights under single-name caps and bounds on *disjoint* groups, exactly.

    Solves ``min sum (w_i - b_i)^2 / b_i`` s.t. ``sum w = 1``, ``w_i <= cap_i`` and
    ``lo_G <= sum_G w <= hi_G`` for non-overlapping groups ("Mag 7 at most 20%": the Mag 7 are
    scaled down together, the excess goes to everyone else in proportion, names still capped).
    With ``issuer_codes`` the single-name cap applies to issuers and every group must contain
    whole issuers. Overlapping groups need :func:`counterweight.construct.optimize.optimize_weights`.

    Raises :class:`InfeasibleError` naming the binding constraints when no solution exists.
    """
    b, ok = _prepare(w)
    n = b.size
    masks = []
    for g in groups:
        m = np.asarray(g.mask, dtype=bool)
        if m.shape != (n,):
            raise InputError(f"group '{g.name}' mask has shape {m.shape}, expected ({n},)")
        if not 0.0 <= g.lo <= g.hi:
            raise InfeasibleError(
                f"group '{g.name}': floor {_pct(g.lo)} is above its ceiling {_pct(g.hi)}"
            )
        masks.append(m & ok)
    if masks:
        count = np.sum(masks, axis=0)
        if count.max() > 1:
            raise InputError(
                "groups overlap; use optimize_weights (the general path) for overlapping groups"
            )
    if issuer_codes is not None:
        codes = np.asarray(issuer_codes, dtype=np.intp)
        n_iss = int(codes.max()) + 1 if codes.size else 0
        bi = np.bincount(codes, weights=b, minlength=n_iss)
        igroups = []
        for g, m in zip(groups, masks, strict=True):
            im = np.bincount(codes, weights=m.astype(float), minlength=n_iss)
            tot = np.bincount(codes, weights=ok.astype(float), minlength=n_iss)
            if np.any((im > 0) & (im < tot)):
                raise InputError(f"group '{g.name}' splits an issuer's share classes")
            igroups.append(GroupBound(g.name, im > 0, g.lo, g.hi))
        _check_room(_caps_array(cap, n_iss)[bi > 0], unit="issuers")
        wi = bounded_weights(bi, cap=cap, groups=igroups)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(bi > 0, wi / bi, 0.0)
        return np.where(ok, b * ratio[codes], np.nan)

    c = _caps_array(cap, n)
    live = b > 0
    _check_room(c[live])
    with np.errstate(divide="ignore"):
        r = np.where(live, c / np.where(live, b, 1.0), 0.0)
    lo_s = np.zeros(n)
    hi_s = r.copy()
    for g, m in zip(groups, masks, strict=True):
        gm = m & live
        room = float(c[gm].sum())
        if g.lo > 0:
            if room < g.lo - 1e-12:
                raise InfeasibleError(_group_room_msg(g.name, c[gm], g.lo, room))
            a = _level(b[gm], np.zeros(int(gm.sum())), r[gm], g.lo)
            lo_s[gm] = np.minimum(a, r[gm])
        if room > g.hi:
            z = _level(b[gm], np.zeros(int(gm.sum())), r[gm], g.hi)
            hi_s[gm] = np.minimum(z, r[gm])
    if not any(g.lo > 0 for g in groups):
        # ceilings only: group G capped at z_G is the per-name cap min(c_i, z_G b_i)
        with np.errstate(invalid="ignore"):
            c2 = np.where(live, np.minimum(c, b * hi_s), 0.0)
        if float(np.minimum(c2[live], 1.0).sum()) >= 1.0 - 1e-12:
            s_fast = _scale_fixpoint(b, c2)
            if s_fast is None:
                s_fast = _scale_sorted(b, c2)
            out = np.minimum(c2, s_fast * b) if np.isfinite(s_fast) else c2
            return np.where(ok, out, np.nan)
    lo_s = np.minimum(lo_s, hi_s)
    L, U = lo_s[live], hi_s[live]
    s = _level(b[live], L, U, 1.0)
    if not np.isfinite(s):
        floor = float(np.dot(b[live], L))
        if floor > 1.0:
            raise InfeasibleError(f"group floors need {_pct(floor)}, more than 100%")
        parts = [f"{g.name} at most {_pct(g.hi)}" for g in groups if g.hi < 1.0]
        capped = int(np.sum(np.isfinite(c[live])))
        if capped:
            parts.append(f"{capped} capped names")
        raise InfeasibleError(
            f"the constraints ({', '.join(parts)}) hold at most "
            f"{_pct(float(np.dot(b[live], U)))} of the portfolio, not 100%"
        )
    out = np.zeros(n)
    out[live] = b[live] * np.clip(s, L, U)
    out = np.minimum(out, c)
    return np.where(ok, out, np.nan)
