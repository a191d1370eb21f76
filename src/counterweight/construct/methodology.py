"""Capped index methodologies and fund rules as constraints: S&P Select Sector, MSCI 10/40, 25/50.

All of them bound single issuers and the total of the issuers above a threshold; they differ in
the limits, the buffers and how the excess moves. Everything works on *issuer* weights (share
classes of one company are capped together) and redistributes in proportion.

S&P Select Sector Indices (S&P Dow Jones Indices, *S&P U.S. Indices Methodology*, section
"Select Sector Indices", Constituent Weightings / capping procedure; quarterly rebalancing
after the close of the third Friday of March, June, September and December, with prices of
the rebalancing reference date, the second Friday of the month; see
:mod:`counterweight.backtest.schedule`), designed so the sector SPDR funds meet the US RIC
rules:

1. cap-weight the companies (float-adjusted market cap, FMC);
2. a company above 24% (the trigger, a buffer under the 25% RIC limit) is capped at 23%, the
   excess going to the uncapped companies in proportion; repeat until none is above 24%;
3. the companies above 4.8% may not exceed 50% together. When they do:
   - legacy rule, to the June 2024 rebalance (``sp_select_sector_pre2024``): rank the
     companies by weight; the smallest company above 4.8% whose weight makes the running total
     breach 50% is cut to 4.5%, every company at or above 4.5% keeps its weight, the excess
     goes in proportion to the companies below 4.5% (none of which may pass 4.5%); repeat.
     This cut Apple to 4.5% in the Technology Select Sector index in June 2024 while
     Microsoft and Nvidia stayed near 21%;
   - 2024 rule, from the September 2024 rebalance (``sp_select_sector``): all companies above
     4.8% are scaled down *together, in proportion*, so that they hold **45%** (not 50%: the
     50% breach is the trigger, 45% the target), the excess going to the others in proportion
     (none of which may pass 4.8%). ``aggregate`` (50%) and ``aggregate_target`` (45%) are
     separate parameters.

Sources, as stored copies of public pages (no network at run time): the legacy procedure
(the methodology's numbered steps: "the rebalancing reference date is the second Friday";
a company above 24% "is capped at 23%"; step 6, "the sum of the companies with weights
greater than 4.8% cannot exceed 50%"; step 7, "reduce the weight of the smallest company
whose weight is greater than 4.8% that causes the step 6 breach to 4.5%", iteratively) is the
S&P U.S. Indices Methodology text as quoted in public discussion of the June 2024 XLK
rebalance; the 2024
change is S&P DJI's announcement of a "New Capping Mechanism" for the Select Sector indices
(September 2024, effective after the close of 20 September 2024; reported by etf.com, "S&P
Adjusts Rules for Tech-Heavy Sector Indexes"): when the companies above 4.8% breach 50%,
"the total weight of large companies will be reduced to 45%, with individual weights
determined by their relative sizes", after the single-company check. The current
methodology document itself (S&P U.S. Indices Methodology, 2025 editions) was not
available offline: every number is a keyword argument.

MSCI 10/40 Indexes Methodology (MSCI, section 3.2, "Constraint targets" and "Fixing capping
combinations (pivots)") and MSCI 25/50 Indexes Methodology: no group entity (issuer) above
10% (25%) and the entities above 5% together at most 40% (50%). At each index review a buffer
of 10% of the limits is used: 9% and 36% (22.5% and 45%) with the 5% threshold applied at
4.5%. MSCI picks the capping combination that keeps the index closest to its parent; here the
candidate combinations are the top-k issuers allowed above the threshold (k = 0, 1, ...,
floor(aggregate / threshold) + 1, whatever the parent holds above it), each solved exactly with
proportional redistribution (single cap on the k, their total at most the aggregate limit,
everyone else at most the threshold), and the feasible one closest to the parent in
``sum (w - b)^2 / b`` wins. :func:`top_k_capped` proves that this is the exact optimum of the
rule over *all* sets of issuers (tests check it against brute force over every subset).

``ric`` (25% / 5% / 50%) and ``ucits`` (10% / 5% / 40%) enforce the fund rules of
:mod:`counterweight.construct.rules` with the same top-k search; ``buffers=True`` applies the
same 10% internal compliance buffer (22.5% / 4.5% / 45% and 9% / 4.5% / 36%).

MSCI's 10% buffer (9% / 4.5% / 36%) is from the MSCI methodology books as recalled, not
re-read offline. All limits are keyword arguments, so a user with the current documents can
set them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from counterweight.construct.capping import GroupBound, _pct, bounded_weights, cap_weights
from counterweight.errors import ConfigError, InfeasibleError, InputError

_MAX_ROUNDS = 1000
_EPS = 1e-12  # 'above a threshold' ignores floating-point rounding


@dataclass(frozen=True)
class Limits:
    """A 'single / threshold / aggregate' rule: each issuer <= single; issuers > threshold sum <= aggregate."""

    single: float
    threshold: float
    aggregate: float

    def buffered(self, factor: float = 0.9) -> Limits:
        """Limits times ``factor`` (MSCI's 10% buffer: 0.9), rounded to 1e-12 so 4.5% is 0.045."""
        return Limits(
            round(self.single * factor, 12),
            round(self.threshold * factor, 12),
            round(self.aggregate * factor, 12),
        )


MSCI_10_40 = Limits(0.10, 0.05, 0.40)
MSCI_25_50 = Limits(0.25, 0.05, 0.50)
RIC_LIMITS = Limits(0.25, 0.05, 0.50)
UCITS_LIMITS = Limits(0.10, 0.05, 0.40)


def _aggregate(w: np.ndarray, codes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    w = np.asarray(w, dtype=float)
    ok = np.isfinite(w)
    if np.any(w[ok] < 0):
        raise InputError("weights must be non-negative")
    w = np.where(ok, w, 0.0)
    if not w.sum() > 0:
        raise InputError("no positive weight")
    w = w / w.sum()
    if codes is None:
        return w, None
    codes = np.asarray(codes, dtype=np.intp)
    return np.bincount(codes, weights=w, minlength=int(codes.max()) + 1), codes


def _split(wi: np.ndarray, w: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Issuer weights back to names, pro rata within each issuer; NaN inputs stay NaN."""
    w = np.asarray(w, dtype=float)
    ok = np.isfinite(w)
    b = np.where(ok, w, 0.0)
    b = b / b.sum()
    if codes is None:
        return np.where(ok, wi, np.nan)
    bi = np.bincount(codes, weights=b, minlength=wi.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(bi > 0, wi / bi, 0.0)
    return np.where(ok, b * ratio[codes], np.nan)


def _refill(w: np.ndarray, fixed: np.ndarray, receivers: np.ndarray, cap: float) -> np.ndarray:
    """Keep ``fixed`` names, scale ``receivers`` in proportion (each at most ``cap``) to sum to 1."""
    out = np.where(fixed, w, 0.0)
    room = 1.0 - float(out.sum())
    r = receivers & ~fixed & (w > 0)
    if room <= 0 or not r.any():
        return out
    part = w[r] / w[r].sum()
    if r.sum() * cap < room - 1e-12:
        raise InfeasibleError(
            f"{int(r.sum())} smaller names capped at {_pct(cap)} cannot hold the {_pct(room)} left over"
        )
    out[r] = cap_weights(part, cap / room) * room
    return out


def _single_cap(w: np.ndarray, trigger: float, cap: float) -> np.ndarray:
    """Cap names above ``trigger`` at ``cap`` (excess to the uncapped in proportion), until stable."""
    caps = np.full(w.size, np.inf)
    for _ in range(_MAX_ROUNDS):
        over = (w > trigger + _EPS) & ~np.isfinite(caps)
        if not over.any():
            return w
        caps[over] = cap
        w = cap_weights(w, caps)
    raise InfeasibleError("single-name capping did not settle")  # pragma: no cover


def _scale_large_together(
    x: np.ndarray, big: np.ndarray, single_cap: float, threshold: float, target: float
) -> np.ndarray:
    """2024 rule: the large companies scaled down together to hold ``target``, the rest up.

    ``min sum (y-x)^2/x`` with the large companies' total at most ``target`` (binding: they
    hold more), each at most ``single_cap``, everyone else at most ``threshold`` (they would
    join the large group): the large companies get ``x_i * target / sum_large x`` and the
    others ``x_i * s`` capped at ``threshold``. When the others cannot hold ``1 - target``,
    the smallest large companies are treated as others (held at most at the threshold) one at
    a time until it fits - the fewest possible.
    """
    order = np.flatnonzero(big)[np.argsort(-x[big], kind="stable")]
    for k in range(order.size, -1, -1):
        top = np.zeros(x.size, dtype=bool)
        top[order[:k]] = True
        caps = np.where(top, single_cap, threshold)
        try:
            return bounded_weights(x, cap=caps, groups=[GroupBound("large", top, 0.0, target)])
        except InfeasibleError:
            continue
    n = int(np.sum(x > 0))
    raise InfeasibleError(
        f"{n} companies cannot meet the Select Sector limits: the companies above "
        f"{_pct(threshold)} cut to {_pct(target)} together leave {_pct(1 - target)} to companies "
        f"of at most {_pct(threshold)} each, which takes at least "
        f"{int(np.ceil((1 - target) / threshold - 1e-9))} of them"
    )


def sp_select_sector(
    w: np.ndarray,
    *,
    issuer_codes: np.ndarray | None = None,
    rule: str = "2024",
    trigger: float = 0.24,
    single_cap: float = 0.23,
    threshold: float = 0.048,
    aggregate: float = 0.50,
    aggregate_target: float = 0.45,
    reduce_to: float = 0.045,
) -> np.ndarray:
    """S&P Select Sector capped weights (see the module docstring for the rules and sources).

    Issuers above ``trigger`` (24%) are capped at ``single_cap`` (23%). Then, when the
    companies above ``threshold`` (4.8%) hold more than ``aggregate`` (50%) together:
    ``rule="2024"`` scales them down together to ``aggregate_target`` (45%), the others up
    (each at most ``threshold``); ``rule="pre2024"`` cuts the company whose weight crosses
    ``aggregate`` in the ranking to ``reduce_to`` (4.5%), repeatedly. Fractions throughout.
    """
    if rule not in ("2024", "pre2024"):
        raise ConfigError(f"unknown Select Sector rule '{rule}' (2024 or pre2024)")
    if not 0 < threshold <= aggregate_target <= aggregate <= 1:
        raise ConfigError(
            "Select Sector limits must satisfy 0 < threshold <= aggregate_target <= aggregate "
            f"<= 1, got threshold {threshold}, aggregate_target {aggregate_target}, "
            f"aggregate {aggregate}"
        )
    wi, codes = _aggregate(w, issuer_codes)
    x = _single_cap(wi, trigger, single_cap)
    for _ in range(_MAX_ROUNDS):
        big = x > threshold + _EPS
        total = float(x[big].sum())
        if total <= aggregate + 1e-12:
            break
        if rule == "2024":
            x = _scale_large_together(x, big, single_cap, threshold, aggregate_target)
        else:
            order = np.flatnonzero(big)[np.argsort(-x[big], kind="stable")]
            cum = np.cumsum(x[order])
            j = int(np.argmax(cum > aggregate + 1e-12))
            cut = order[j]
            keep = x >= reduce_to  # the ranked-above companies and everyone at/over reduce_to stay
            y = x.copy()
            y[cut] = reduce_to
            keep[cut] = True
            x = _refill(y, keep, ~keep, reduce_to)
        x = _single_cap(x, trigger, single_cap)
    else:  # pragma: no cover
        raise InfeasibleError("Select Sector capping did not settle")
    return _split(x, w, codes)


def _objective(x: np.ndarray, b: np.ndarray) -> float:
    live = b > 0
    return float(np.sum((x[live] - b[live]) ** 2 / b[live]))


def _held_at_most(n: int, lim: Limits) -> tuple[float, int]:
    """Most weight ``n`` issuers can hold under ``lim``, and how many sit above the threshold.

    With k issuers above the threshold they hold at most ``min(k * single, aggregate)`` and the
    other n - k at most ``threshold`` each: ``g(k) = min(k s, A) + (n - k) t``, maximised over k.
    """
    k = np.arange(n + 1)
    g = np.minimum(k * lim.single, lim.aggregate) + (n - k) * lim.threshold
    best = int(np.argmax(g))
    return float(g[best]), best


def _infeasible_message(n: int, lim: Limits) -> str:
    """Why ``n`` issuers cannot hold 100% under ``lim``, in words, with the numbers."""
    held, k = _held_at_most(n, lim)
    big = min(k * lim.single, lim.aggregate)
    why = (
        f"each at most {_pct(lim.single)}"
        if k * lim.single <= lim.aggregate + 1e-12
        else f"each at most {_pct(lim.single)}, together at most {_pct(lim.aggregate)}"
    )
    # smallest issuer count that can hold 100%: n >= k + (1 - min(k s, A)) / t for some k
    ks = np.arange(int(np.ceil(lim.aggregate / lim.threshold)) + 2)
    need = int(
        np.min(
            ks + np.ceil((1.0 - np.minimum(ks * lim.single, lim.aggregate)) / lim.threshold - 1e-9)
        )
    )
    rest = (
        f"the other {n - k} at most {_pct(lim.threshold)} each"
        if n - k != 1
        else f"the other one at most {_pct(lim.threshold)}"
    )
    return (
        f"{n} issuers cannot hold 100% with each issuer at most {_pct(lim.single)} and the issuers "
        f"above {_pct(lim.threshold)} together at most {_pct(lim.aggregate)}: at best {k} issuers "
        f"above {_pct(lim.threshold)} hold {_pct(big)} ({why}) and {rest} "
        f"({_pct((n - k) * lim.threshold)}), {_pct(held)} in all; "
        f"it takes at least {max(need, n + 1)} issuers"
    )


def top_k_capped(
    w: np.ndarray, limits: Limits, *, issuer_codes: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Issuers capped so that each <= single and those > threshold sum to <= aggregate, optimally.

    Solves the (non-convex) problem ``min sum (x-b)^2/b`` over issuer weights x with
    ``sum x = 1``, ``x_i <= single`` and ``sum_{x_i > threshold} x_i <= aggregate`` exactly.
    For a set S of issuers *allowed* above the threshold the problem is convex (x_i <= single
    on S, x_i <= threshold off S, ``sum_S x <= aggregate``) and solved exactly by
    :func:`bounded_weights` (proportional redistribution); the optimum is the best S.

    Only the top-k sets of the issuers ranked by base weight need trying, for
    ``k = 0 .. floor(aggregate / threshold) + 1``. Proof: take an optimum x and
    S = {i : x_i > threshold}, so |S| * threshold < aggregate. If i in S ranks below j not in
    S (b_i <= b_j), then x_i > threshold >= x_j, and swapping x_i and x_j keeps every
    constraint (the swapped values stay on the same sides of the threshold, the sum over the
    new S is unchanged) and changes the objective by
    ``(x_j^2 - x_i^2) (1/b_i - 1/b_j) <= 0``. Repeating reaches a top-|S| set that is still
    optimal. Every candidate is feasible for the rule, so the best candidate is the optimum.
    (The number of issuers above the threshold in the *parent* is no bound: after capping,
    the redistribution often needs more of them.)

    Returns (name weights, k) of the best candidate (the smallest k on ties). Raises
    :class:`InfeasibleError` explaining, with the numbers, why the issuers cannot hold 100%.
    """
    lim = limits
    if not 0 < lim.threshold <= lim.single <= 1 or not lim.single <= lim.aggregate <= 1:
        raise ConfigError(
            f"limits must satisfy 0 < threshold <= single <= aggregate <= 1, got {lim}"
        )
    wi, codes = _aggregate(w, issuer_codes)
    n_live = int(np.sum(wi > 0))
    held, _ = _held_at_most(n_live, lim)
    if held < 1.0 - 1e-12:
        raise InfeasibleError(_infeasible_message(n_live, lim))
    order = np.argsort(-wi, kind="stable")
    k_max = min(n_live, int(np.floor(lim.aggregate / lim.threshold + 1e-9)) + 1)
    best: tuple[float, np.ndarray, int] | None = None
    for k in range(0, k_max + 1):
        room = min(k * lim.single, lim.aggregate) + (n_live - k) * lim.threshold
        if room < 1.0 - 1e-12:
            continue  # this k cannot hold 100%
        top = np.zeros(wi.size, dtype=bool)
        top[order[:k]] = True
        caps = np.where(top, lim.single, lim.threshold)
        try:
            x = bounded_weights(wi, cap=caps, groups=[GroupBound("large", top, 0.0, lim.aggregate)])
        except InfeasibleError:  # pragma: no cover - the room check above rules this out
            continue
        obj = _objective(x, wi)
        if best is None or obj < best[0] - 1e-15:
            best = (obj, x, k)
    if best is None:  # pragma: no cover - held >= 1 guarantees a feasible k <= k_max
        raise InfeasibleError(_infeasible_message(n_live, lim))
    return _split(best[1], w, codes), best[2]


NAMES = ("sp_select_sector", "sp_select_sector_pre2024", "msci_10_40", "msci_25_50", "ric", "ucits")


def limits_for(name: str, buffers: bool = True) -> Limits:
    """The (buffered) limits of a top-k methodology or fund rule."""
    base = {
        "msci_10_40": MSCI_10_40,
        "msci_25_50": MSCI_25_50,
        "ric": RIC_LIMITS,
        "ucits": UCITS_LIMITS,
    }.get(name)
    if base is None:
        raise ConfigError(f"unknown methodology '{name}' (known: {', '.join(NAMES)})")
    return base.buffered() if buffers else base


@dataclass(frozen=True)
class CapPlan:
    """A methodology's result and the constraints that describe it (at issuer level).

    ``caps`` (per issuer code, or per name without codes) and ``groups`` (the issuers allowed
    above the threshold, with their aggregate limit) are the convex constraints the result
    satisfies, so they can be combined with other groups on the exact or general path.
    """

    weights: np.ndarray
    caps: np.ndarray
    groups: tuple[GroupBound, ...]
    notes: tuple[str, ...]


def plan(
    w: np.ndarray,
    name: str,
    *,
    buffers: bool = True,
    issuer_codes: np.ndarray | None = None,
    cap: float | np.ndarray = np.inf,
    single: float | None = None,
    threshold: float | None = None,
    aggregate: float | None = None,
    aggregate_target: float | None = None,
) -> CapPlan:
    """Apply methodology ``name`` to base weights; return weights and equivalent constraints.

    ``single`` / ``threshold`` / ``aggregate`` override the methodology's (buffered) limits;
    for the S&P rules they are the 23% cap (trigger 1 pp above it), the 4.8% threshold (the
    pre-2024 cut 0.3 pp below it) and the 50% aggregate that triggers the reduction;
    ``aggregate_target`` (S&P 2024 rule only, default 45%) is what the companies above the
    threshold are reduced to.
    """
    if aggregate_target is not None and name != "sp_select_sector":
        raise ConfigError(
            f"aggregate_target applies to the S&P 2024 rule (sp_select_sector) only, not '{name}'"
        )
    if name in ("sp_select_sector", "sp_select_sector_pre2024"):
        rule = "2024" if name == "sp_select_sector" else "pre2024"
        single = 0.23 if single is None else single
        threshold = 0.048 if threshold is None else threshold
        aggregate = 0.50 if aggregate is None else aggregate
        target = 0.45 if aggregate_target is None else aggregate_target
        trigger = round(min(1.0, single + 0.01), 12)
        x = sp_select_sector(
            w,
            issuer_codes=issuer_codes,
            rule=rule,
            trigger=trigger,
            single_cap=single,
            threshold=threshold,
            aggregate=aggregate,
            aggregate_target=target,
            reduce_to=round(max(0.0, threshold - 0.003), 12),
        )
        note = f"S&P Select Sector capping ({'2024 rule' if rule == '2024' else 'pre-2024 rule'})"
        if rule == "2024":
            # when the 50% trigger fired, the large companies were cut to the 45% target: the
            # constraint passed on to a combined solve is the target, so it stays at 45%
            xs = _single_cap(_aggregate(w, issuer_codes)[0], trigger, single)
            if float(xs[xs > threshold + _EPS].sum()) > aggregate + 1e-12:
                aggregate = target
                note += f": the companies above {_pct(threshold)} cut to {_pct(target)} together"
    else:
        base = limits_for(name, buffers)
        lim = Limits(
            base.single if single is None else single,
            base.threshold if threshold is None else threshold,
            base.aggregate if aggregate is None else aggregate,
        )
        x, k = top_k_capped(w, lim, issuer_codes=issuer_codes)
        single, threshold, aggregate = lim.single, lim.threshold, lim.aggregate
        note = (
            f"{name}: {k} issuers allowed above {_pct(threshold)}, each at most {_pct(single)}, "
            f"together at most {_pct(aggregate)}"
        )
    xi, _ = _aggregate(x, issuer_codes)
    large = xi > threshold + _EPS
    caps = np.where(large, single, threshold)
    user = np.broadcast_to(np.asarray(cap, dtype=float), caps.shape)
    caps = np.minimum(caps, user)
    group_mask = large if issuer_codes is None else large[np.asarray(issuer_codes, dtype=np.intp)]
    return CapPlan(
        weights=x,
        caps=caps,
        groups=(GroupBound("issuers above threshold", group_mask, 0.0, aggregate),),
        notes=(note,),
    )
